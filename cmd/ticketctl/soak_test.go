package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/tlsticket/tlsticket/engine"
)

// The soak test runs the ticketctl binary as an operator would: it builds
// it, writes a key file with `ticketctl keygen`, starts `ticketctl serve`
// and drives Go clients that resume TLS 1.2 and TLS 1.3 sessions over
// loopback while `ticketctl rotate` rewrites the key file. Its short form
// runs in `make test`; `make soak` runs the long form.
var (
	soakDuration   = flag.Duration("soak.duration", 5*time.Second, "how long TestSoak drives handshakes")
	soakHandshakes = flag.Int("soak.handshakes", 2000, "TestSoak stops after this many handshakes, if that comes before -soak.duration")
)

// soakGOGC is the GOGC of the soaked server: low enough that the HeapAlloc
// it reports stays close to its live heap, so that a heap that grows with
// the number of handshakes shows between the middle and the end.
const soakGOGC = "25"

// soakAfterRotation is the number of sessions the key added by the rotation
// must resume before the soak ends.
const soakAfterRotation = 200

// soakHeapSlack is how much the server's heap may grow from the middle of
// the soak to its end. A server that kept 280 bytes per handshake grew by
// about 7 MB over the second half of the long form.
const soakHeapSlack = 2 << 20

// TestSoak is the soak test of `ticketctl serve`: resumptions on four
// connections at a time across a key rotation, with no failed resumption
// and a server heap that does not grow with the handshakes.
func TestSoak(t *testing.T) {
	dir := t.TempDir()
	bin := buildTicketctl(t, dir)
	keys := filepath.Join(dir, "keys.txt")
	t0 := time.Now()
	// The first key seals until one second after the middle; the rotation
	// at the middle announces a second key one second ahead, and it takes
	// over when the first stops sealing.
	half := *soakDuration / 2
	if _, err := runBin(t, bin, "keygen", "-rotation", (half + time.Second).String(), "-o", keys); err != nil {
		t.Fatal(err)
	}
	k1 := keyNames(t, keys)[0]

	s := startSoakServe(t, bin, "-addr", "127.0.0.1:0", "-debug", "127.0.0.1:0", "-keys", keys)
	heapStart := s.heap(t)
	load := startSoakLoad(s.addr)
	defer load.stop()

	for time.Since(t0) < half && load.handshakes.Load() < int64(*soakHandshakes/2) && !load.failed() {
		time.Sleep(10 * time.Millisecond)
	}
	heapMid := s.heap(t)
	midHandshakes := load.handshakes.Load()
	k2 := rotateKeys(t, bin, keys)

	// Run to the end, and then until the second key has opened
	// soakAfterRotation tickets, which it seals once the first key stops
	// sealing, after the middle.
	hardStop := t0.Add(*soakDuration + 30*time.Second)
	for (time.Since(t0) < *soakDuration && load.handshakes.Load() < int64(*soakHandshakes) ||
		s.log.resumedWith(k2) < soakAfterRotation) && time.Now().Before(hardStop) && !load.failed() {
		time.Sleep(10 * time.Millisecond)
	}
	heapEnd := s.heap(t)
	load.stop()
	counters := s.stop(t)
	elapsed := time.Since(t0)

	c := &load.counts
	log := &s.log
	t.Logf("soak: %d handshakes in %v (%d before the rotation), %d resumed (%d TLS 1.2, %d TLS 1.3), %d failed resumptions, %d errors",
		c.handshakes(), elapsed.Round(time.Millisecond), midHandshakes, c.resumed(), c.resumedV[0], c.resumedV[1], c.failed, c.errors)
	t.Logf("soak: serve logged %d handshakes, %d resumed, %d offered but not resumed; resumed with key %s: %d, with key %s: %d; issued with %s: %d, with %s: %d",
		log.handshakes, log.resumed, log.notResumed, k1, log.resumedKey[k1], k2, log.resumedKey[k2], k1, log.issuedKey[k1], k2, log.issuedKey[k2])
	t.Logf("soak: serve heap (HeapAlloc, GOGC=%s) start %d, middle %d, end %d bytes", soakGOGC, heapStart, heapMid, heapEnd)

	if c.failed != 0 || log.notResumed != 0 || c.errors != 0 {
		t.Errorf("%d failed resumptions seen by the clients, %d by serve, %d connection errors; first: %s",
			c.failed, log.notResumed, c.errors, c.firstErr)
	}
	if log.issuedKey[k2] == 0 || log.resumedKey[k2] < soakAfterRotation || log.resumedKey[k1] == 0 {
		t.Errorf("the rotation did not take effect before the end: serve log:\n%s", log.lines())
	}
	if want := c.handshakes(); log.handshakes != want {
		t.Errorf("serve logged %d handshakes, the clients made %d", log.handshakes, want)
	}
	if got, want := counters.Resumed["TLS1.2"]+counters.Resumed["TLS1.3"], uint64(c.resumed()); got != want {
		t.Errorf("serve's counters: %d resumed, the clients saw %d", got, want)
	}
	if heapEnd > heapMid+soakHeapSlack {
		t.Errorf("serve's heap grew from %d bytes in the middle to %d at the end, more than %d", heapMid, heapEnd, soakHeapSlack)
	}
}

// buildTicketctl builds this command into dir and returns the binary.
func buildTicketctl(t *testing.T, dir string) string {
	t.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the soak test builds ticketctl with the go command: %v", err)
	}
	bin := filepath.Join(dir, "ticketctl")
	if out, err := exec.Command(goTool, "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// runBin runs the binary with args to its end and returns its output.
func runBin(t *testing.T, bin string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, args...).CombinedOutput()
	if err != nil {
		err = fmt.Errorf("ticketctl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out), err
}

// rotateKeys runs `ticketctl rotate` on the key file and returns the name of
// the key it added. A rotate that adds no key unless forced is run again
// with -force.
func rotateKeys(t *testing.T, bin, keys string) string {
	t.Helper()
	before := keyNames(t, keys)
	args := []string{"rotate", "-keys", keys, "-announce", "1s"}
	_, err := runBin(t, bin, args...)
	after := keyNames(t, keys)
	if len(after) <= len(before) {
		if _, ferr := runBin(t, bin, append(args, "-force")...); ferr != nil {
			t.Fatalf("rotate added no key (%v), and with -force: %v", err, ferr)
		}
		after = keyNames(t, keys)
	}
	for _, k := range after {
		if !slices.Contains(before, k) {
			return k
		}
	}
	t.Fatalf("rotate added no key: %v before, %v after", before, after)
	return ""
}

// soakServe is a running `ticketctl serve` process.
type soakServe struct {
	cmd        *exec.Cmd
	addr, vars string
	log        soakLog
	stderr     syncBuffer
	done       chan struct{} // closed when stdout is read to its end
}

// startSoakServe starts `ticketctl serve` with args and returns once it
// listens and serves its counters.
func startSoakServe(t *testing.T, bin string, args ...string) *soakServe {
	t.Helper()
	s := &soakServe{cmd: exec.Command(bin, append([]string{"serve"}, args...)...), done: make(chan struct{})}
	s.cmd.Env = append(os.Environ(), "GOGC="+soakGOGC)
	s.cmd.Stderr = &s.stderr
	stdout, err := s.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if s.cmd.ProcessState == nil {
			s.cmd.Process.Kill()
			s.cmd.Wait()
		}
	})
	go func() {
		defer close(s.done)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			s.log.add(sc.Text())
		}
		io.Copy(io.Discard, stdout)
	}()
	for deadline := time.Now().Add(30 * time.Second); s.addr == "" || s.vars == ""; time.Sleep(10 * time.Millisecond) {
		s.addr, s.vars = s.log.addrs()
		if time.Now().After(deadline) {
			t.Fatalf("serve did not start:\n%s%s", s.log.lines(), s.stderr.String())
		}
	}
	return s
}

// heap returns the HeapAlloc that serve reports at /debug/vars.
func (s *soakServe) heap(t *testing.T) uint64 {
	t.Helper()
	c := &http.Client{Timeout: 10 * time.Second}
	resp, err := c.Get(s.vars)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var vars struct {
		Memstats struct{ HeapAlloc uint64 } `json:"memstats"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&vars); err != nil {
		t.Fatalf("%s: %v", s.vars, err)
	}
	if vars.Memstats.HeapAlloc == 0 {
		t.Fatalf("%s: no memstats.HeapAlloc", s.vars)
	}
	return vars.Memstats.HeapAlloc
}

// stop sends SIGTERM and returns the counters serve prints as it stops.
func (s *soakServe) stop(t *testing.T) engine.Snapshot {
	t.Helper()
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-s.done:
	case <-time.After(30 * time.Second):
		t.Fatalf("serve did not stop on SIGTERM:\n%s", s.log.lines())
	}
	if err := s.cmd.Wait(); err != nil {
		t.Fatalf("serve: %v\n%s", err, s.stderr.String())
	}
	var counters engine.Snapshot
	if err := json.Unmarshal([]byte(s.log.counters()), &counters); err != nil {
		t.Fatalf("serve's counters on exit: %v\n%s", err, s.log.lines())
	}
	return counters
}

var (
	soakListenRE = regexp.MustCompile(`listening on (\S+) `)
	soakVarsRE   = regexp.MustCompile(`counters at (\S+)`)
)

// soakLog reads serve's output: it counts the handshake lines and keeps
// the others, and what follows "engine counters".
type soakLog struct {
	mu                              sync.Mutex
	handshakes, resumed, notResumed int
	resumedKey, issuedKey           map[string]int
	other                           []string
	inCounters                      bool
	counterText                     strings.Builder
	listenAddr, varsURL             string
}

func (l *soakLog) add(line string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.resumedKey == nil {
		l.resumedKey, l.issuedKey = map[string]int{}, map[string]int{}
	}
	switch {
	case l.inCounters:
		l.counterText.WriteString(line + "\n")
	case strings.Contains(line, " msg=handshake "):
		l.handshakes++
		resumed := strings.Contains(line, " resumed=true ")
		if resumed {
			l.resumed++
			if m := logKeyRE.FindStringSubmatch(line); m != nil {
				l.resumedKey[m[1]]++
			}
		} else if strings.Contains(line, " offered=true ") {
			l.notResumed++
			l.keep(line)
		}
		if m := logIssuedRE.FindStringSubmatch(line); m != nil {
			l.issuedKey[m[1]]++
		}
	default:
		if m := soakListenRE.FindStringSubmatch(line); m != nil {
			l.listenAddr = m[1]
		}
		if m := soakVarsRE.FindStringSubmatch(line); m != nil {
			l.varsURL = m[1]
		}
		l.inCounters = strings.HasSuffix(line, "engine counters:")
		l.keep(line)
	}
}

// keep keeps line for the test's messages, up to a thousand lines.
func (l *soakLog) keep(line string) {
	if len(l.other) < 1000 {
		l.other = append(l.other, line)
	}
}

func (l *soakLog) addrs() (listen, vars string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.listenAddr, l.varsURL
}

// resumedWith returns the number of resumptions with key k serve logged.
func (l *soakLog) resumedWith(k string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.resumedKey[k]
}

// lines returns the lines that are not successful handshakes.
func (l *soakLog) lines() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.other, "\n")
}

func (l *soakLog) counters() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.counterText.String()
}

// soakLoad is the clients of the soak: two per version, each resuming its
// latest session in a loop until stop.
type soakLoad struct {
	addr       string
	handshakes atomic.Int64
	quit       chan struct{}
	once       sync.Once
	wg         sync.WaitGroup
	counts     soakCounts
}

// soakCounts is what the clients saw.
type soakCounts struct {
	mu           sync.Mutex
	full, failed int
	resumedV     [2]int // TLS 1.2, TLS 1.3
	errors       int
	firstErr     string
}

func (c *soakCounts) handshakes() int { return c.full + c.failed + c.resumedV[0] + c.resumedV[1] }
func (c *soakCounts) resumed() int    { return c.resumedV[0] + c.resumedV[1] }

func startSoakLoad(addr string) *soakLoad {
	l := &soakLoad{addr: addr, quit: make(chan struct{})}
	for _, v := range []uint16{tls.VersionTLS12, tls.VersionTLS13, tls.VersionTLS12, tls.VersionTLS13} {
		l.wg.Go(func() { l.client(v) })
	}
	return l
}

// client makes connections in version v until stop, offering the latest
// session it holds.
func (l *soakLoad) client(v uint16) {
	cache := new(sessionCache)
	cfg := &tls.Config{InsecureSkipVerify: true, MinVersion: v, MaxVersion: v, ClientSessionCache: cache}
	d := &net.Dialer{Timeout: 10 * time.Second}
	for {
		select {
		case <-l.quit:
			return
		default:
		}
		_, offered := cache.Get("")
		c, err := tls.DialWithDialer(d, "tcp", l.addr, cfg)
		if err == nil {
			c.SetDeadline(time.Now().Add(10 * time.Second))
			_, err = io.ReadAll(c) // the tickets arrive before close_notify
			c.Close()
		}
		l.handshakes.Add(1)
		l.counts.add(v, offered, c, err)
	}
}

func (c *soakCounts) add(v uint16, offered bool, conn *tls.Conn, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case err != nil:
		c.errors++
		if c.firstErr == "" {
			c.firstErr = err.Error()
		}
	case conn.ConnectionState().DidResume:
		c.resumedV[v-tls.VersionTLS12]++
	case offered:
		c.failed++
		if c.firstErr == "" {
			c.firstErr = tls.VersionName(v) + ": a session was offered and not resumed"
		}
	default:
		c.full++
	}
}

// failed reports whether a client saw an error or a failed resumption.
func (l *soakLoad) failed() bool {
	l.counts.mu.Lock()
	defer l.counts.mu.Unlock()
	return l.counts.failed+l.counts.errors > 0
}

// stop stops the clients and waits for them.
func (l *soakLoad) stop() {
	l.once.Do(func() { close(l.quit) })
	l.wg.Wait()
}
