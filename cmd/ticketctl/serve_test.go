package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/tlsticket/tlsticket/internal/fakeclock"
	"github.com/tlsticket/tlsticket/internal/promtest"
	"github.com/tlsticket/tlsticket/internal/testkit"
	"github.com/tlsticket/tlsticket/keyfile"
	"github.com/tlsticket/tlsticket/seal"
)

// syncBuffer is the shared one of internal/testkit.
type syncBuffer = testkit.SyncBuffer

// The tests of this file run `ticketctl serve` in-process, with real
// crypto/tls clients; those of key files run the key loop on a fake clock.

// runningServe is a serve started by startServe.
type runningServe struct {
	addr   string
	out    *syncBuffer
	cancel context.CancelFunc
	done   chan error
}

// startServe starts serve with env and args and returns once it listens.
// It stops it at the end of the test.
func startServe(t *testing.T, env serveEnv, args ...string) *runningServe {
	t.Helper()
	s := &runningServe{out: new(syncBuffer), done: make(chan error, 1)}
	var errOut syncBuffer
	ctx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	go func() { s.done <- env.serve(ctx, append([]string{"-addr", "127.0.0.1:0"}, args...), s.out, &errOut) }()
	s.addr = waitListening(t, s.out, &errOut)
	t.Cleanup(func() {
		cancel()
		<-s.done
	})
	return s
}

// waitListening returns the address serve prints once it listens.
func waitListening(t *testing.T, out, errOut *syncBuffer) string {
	t.Helper()
	addrRE := regexp.MustCompile(`listening on (\S+) `)
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if m := addrRE.FindStringSubmatch(out.String()); m != nil {
			return m[1]
		}
	}
	t.Fatalf("serve did not start: %s %s", out.String(), errOut.String())
	return ""
}

// stop stops serve and fails the test if serve returned an error.
func (s *runningServe) stop(t *testing.T) {
	t.Helper()
	s.cancel()
	err := <-s.done
	s.done <- err // for the cleanup
	if err != nil {
		t.Fatal(err)
	}
}

// sessionCache is a ClientSessionCache that holds one session.
type sessionCache struct {
	mu sync.Mutex
	cs *tls.ClientSessionState
}

func (c *sessionCache) Get(string) (*tls.ClientSessionState, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.cs, c.cs != nil
}

func (c *sessionCache) Put(_ string, cs *tls.ClientSessionState) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.cs = cs
}

// handshake is what a client saw and what serve logged of one connection.
type handshake struct {
	resumed   bool
	status    string // the status of the offered ticket, if any
	key       string // the key named by the offered ticket, if any
	issuedKey string // the key that sealed the new ticket
	session   *tls.ClientSessionState
}

var (
	logKeyRE    = regexp.MustCompile(` key=([0-9a-f]+)`)
	logIssuedRE = regexp.MustCompile(` issued_key=([0-9a-f]+)`)
	logStatusRE = regexp.MustCompile(` status=(\S+)`)
)

// connect makes one connection in version v, offering session if not nil,
// and returns what the client saw and serve logged.
func (s *runningServe) connect(t *testing.T, v uint16, session *tls.ClientSessionState) handshake {
	t.Helper()
	cache := &sessionCache{cs: session}
	before := strings.Count(s.out.String(), "msg=handshake")
	c, err := tls.Dial("tcp", s.addr, &tls.Config{InsecureSkipVerify: true, MinVersion: v, MaxVersion: v, ClientSessionCache: cache})
	if err != nil {
		t.Fatal(err)
	}
	io.ReadAll(c) // the tickets arrive before close_notify
	h := handshake{resumed: c.ConnectionState().DidResume}
	c.Close()
	lines := regexp.MustCompile(`.*msg=handshake.*`).FindAllString(s.out.String(), -1)
	if len(lines) != before+1 {
		t.Fatalf("serve logged %d handshakes, want %d", len(lines), before+1)
	}
	line := lines[len(lines)-1]
	if m := logKeyRE.FindStringSubmatch(line); m != nil {
		h.key = m[1]
	}
	if m := logStatusRE.FindStringSubmatch(line); m != nil {
		h.status = m[1]
	}
	if m := logIssuedRE.FindStringSubmatch(line); m != nil {
		h.issuedKey = m[1]
	}
	cache.mu.Lock()
	h.session = cache.cs
	cache.mu.Unlock()
	if h.session == nil {
		t.Fatalf("no ticket from serve: %s", line)
	}
	return h
}

// resume makes two connections in version v, the second offering the
// ticket of the first, and checks that only the second resumes.
func (s *runningServe) resume(t *testing.T, v uint16) {
	t.Helper()
	first := s.connect(t, v, nil)
	second := s.connect(t, v, first.session)
	if first.resumed || !second.resumed {
		t.Errorf("%s: resumed %v then %v, want false then true", tls.VersionName(v), first.resumed, second.resumed)
	}
}

// eventually calls cond every few milliseconds until it is true, and
// fails the test with msg if it is not within 10 seconds.
func eventually(t *testing.T, msg string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal(msg)
		}
	}
}

// activeEntry returns a new key active at t0: announced 2 hours before,
// active from 1 hour before to 1 hour after, retired retire after t0.
func activeEntry(t *testing.T, a seal.AEAD, t0 time.Time, retire time.Duration) keyfile.KeyEntry {
	t.Helper()
	entry, err := keyfile.GenerateEntry(a, seal.Phases{
		Announce: t0.Add(-2 * time.Hour), Activate: t0.Add(-time.Hour),
		DecryptOnly: t0.Add(time.Hour), Retire: t0.Add(retire),
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return entry
}

// writeKeyFile writes a key file of entries at path, mode 0600.
func writeKeyFile(t *testing.T, path string, entries ...keyfile.KeyEntry) {
	t.Helper()
	var b bytes.Buffer
	if err := keyfile.Write(&b, entries); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
}

// keyNames returns the names of the keys of the key file at path, as serve
// logs them.
func keyNames(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sched, err := keyfile.Parse(f)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, k := range sched.Keys() {
		names = append(names, k.Key.Name().String())
	}
	return names
}

// versions are the TLS versions the tests run, by name.
var versions = []struct {
	name string
	v    uint16
}{{"TLSv12", tls.VersionTLS12}, {"TLSv13", tls.VersionTLS13}}

// TestServeRetiredKey is the regression test for a serve whose key file's
// schedule runs out: the key went on sealing after it became decrypt-only,
// and opening after it retired. Now a local key seals once the file's key
// is decrypt-only, and the retired key opens nothing.
func TestServeRetiredKey(t *testing.T) {
	for _, tt := range versions {
		t.Run(tt.name, func(t *testing.T) {
			t0 := time.Now().Truncate(time.Second)
			clock := fakeclock.New(t0)
			entry := activeEntry(t, seal.AES256GCM, t0, 2*time.Hour)
			path := filepath.Join(t.TempDir(), "keys.txt")
			writeKeyFile(t, path, entry)
			k1 := keyNames(t, path)[0]
			s := startServe(t, serveEnv{now: clock.Now, interval: time.Millisecond}, "-keys", path)

			first := s.connect(t, tt.v, nil)
			if first.issuedKey != k1 {
				t.Fatalf("issued with %q, want the file's key %s", first.issuedKey, k1)
			}

			// Decrypt-only: the key opens its tickets and seals no more.
			clock.Set(t0.Add(time.Hour + time.Second))
			eventually(t, "the decrypt-only key still seals", func() bool {
				return s.connect(t, tt.v, nil).issuedKey != k1
			})
			if h := s.connect(t, tt.v, first.session); !h.resumed || h.key != k1 || h.issuedKey == k1 {
				t.Errorf("ticket of the decrypt-only key: resumed %v with key %s, renewed with %s; want resumed with %s, renewed with the local key", h.resumed, h.key, h.issuedKey, k1)
			}
			if !strings.Contains(s.out.String(), "sealing with a local key") {
				t.Errorf("no warning for the local key:\n%s", s.out.String())
			}

			// Retired: the key opens nothing.
			clock.Set(t0.Add(2*time.Hour + time.Second))
			eventually(t, "the retired key still opens", func() bool {
				return !s.connect(t, tt.v, first.session).resumed
			})
			if h := s.connect(t, tt.v, first.session); h.resumed || h.status != "NoDecrypt" {
				t.Errorf("ticket of the retired key: resumed %v, status %s; want a full handshake, NoDecrypt", h.resumed, h.status)
			}
		})
	}
}

// TestServeReload checks that a running serve picks up a key file
// rewritten by `ticketctl rotate`, without a restart: replaced by a rename,
// through a Kubernetes Secret's symlink swap, and on SIGHUP. Clients resume
// across the change.
func TestServeReload(t *testing.T) {
	tests := []struct {
		name string
		// setup returns the path serve reads and the function that runs
		// `ticketctl rotate` and makes serve see it.
		setup func(t *testing.T, dir string, now time.Time) (path string, rotate func(s *runningServe))
		poll  time.Duration
		want  string // the log line of the reload
	}{
		{"rename", setupRename, time.Millisecond, "key file loaded"},
		{"symlink", setupSymlink, time.Millisecond, "key file loaded"},
		{"SIGHUP", setupSIGHUP, time.Hour, "SIGHUP: key file reloaded"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t0 := time.Now().Truncate(time.Second)
			clock := fakeclock.New(t0)
			entry := activeEntry(t, seal.AES256GCM, t0, 13*time.Hour)
			path, rotate := tt.setup(t, t.TempDir(), t0)
			writeKeyFile(t, path, entry)
			k1 := keyNames(t, path)[0]
			s := startServe(t, serveEnv{now: clock.Now, interval: time.Millisecond, poll: tt.poll}, "-keys", path)
			var before []handshake
			for _, v := range versions {
				h := s.connect(t, v.v, nil)
				if h.issuedKey != k1 {
					t.Fatalf("%s: issued with %q, want %s", v.name, h.issuedKey, k1)
				}
				before = append(before, h)
			}

			rotate(s)
			eventually(t, "serve did not reload the key file", func() bool {
				return strings.Contains(s.out.String(), tt.want)
			})
			names := keyNames(t, path)
			if len(names) != 2 || names[0] != k1 {
				t.Fatalf("rotated file has keys %v, want %s and a new one", names, k1)
			}
			k2 := names[1]

			// The new key activates when the old one stops sealing.
			clock.Set(t0.Add(time.Hour + time.Second))
			eventually(t, "the new key does not seal", func() bool {
				return s.connect(t, tls.VersionTLS13, nil).issuedKey == k2
			})
			for i, v := range versions {
				h := s.connect(t, v.v, before[i].session)
				if !h.resumed || h.key != k1 || h.issuedKey != k2 {
					t.Errorf("%s: ticket from before the change: resumed %v with key %s, renewed with %s; want resumed with %s, renewed with %s",
						v.name, h.resumed, h.key, h.issuedKey, k1, k2)
				}
				fresh := s.connect(t, v.v, nil)
				if h := s.connect(t, v.v, fresh.session); !h.resumed || h.key != k2 {
					t.Errorf("%s: ticket of the new key: resumed %v with key %s", v.name, h.resumed, h.key)
				}
			}
			select {
			case err := <-s.done:
				t.Fatalf("serve stopped: %v", err)
			default:
			}
		})
	}
}

// rotateFile runs `ticketctl rotate -force` on the key file at path at time now:
// a new key whether or not the schedule needs one.
func rotateFile(t *testing.T, path string, now time.Time) {
	t.Helper()
	var out, errOut bytes.Buffer
	if code := run([]string{"rotate", "-force", "-keys", path, "-announce", "30m", "-now", now.Format(time.RFC3339)}, &out, &errOut); code != 0 {
		t.Fatalf("ticketctl rotate: exit %d: %s%s", code, out.String(), errOut.String())
	}
}

// setupRename has serve read a key file that `ticketctl rotate` replaces by
// a rename.
func setupRename(t *testing.T, dir string, now time.Time) (string, func(*runningServe)) {
	path := filepath.Join(dir, "keys.txt")
	return path, func(*runningServe) { rotateFile(t, path, now) }
}

// setupSymlink lays out a key file as Kubernetes mounts a Secret:
// keys.txt -> ..data/keys.txt, ..data -> a versioned directory. The update
// writes a new directory and renames a new ..data link over the old one.
func setupSymlink(t *testing.T, dir string, now time.Time) (string, func(*runningServe)) {
	mustDo := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	mustDo(os.Mkdir(filepath.Join(dir, "..v1"), 0o700))
	mustDo(os.Symlink("..v1", filepath.Join(dir, "..data")))
	mustDo(os.Symlink(filepath.Join("..data", "keys.txt"), filepath.Join(dir, "keys.txt")))
	// serve writes through the links first: ..v1/keys.txt.
	return filepath.Join(dir, "keys.txt"), func(*runningServe) {
		mustDo(os.Mkdir(filepath.Join(dir, "..v2"), 0o700))
		data, err := os.ReadFile(filepath.Join(dir, "..v1", "keys.txt"))
		mustDo(err)
		next := filepath.Join(dir, "..v2", "keys.txt")
		mustDo(os.WriteFile(next, data, 0o600))
		rotateFile(t, next, now)
		mustDo(os.Symlink("..v2", filepath.Join(dir, "..data_tmp")))
		mustDo(os.Rename(filepath.Join(dir, "..data_tmp"), filepath.Join(dir, "..data")))
	}
}

// setupSIGHUP has serve read a key file that `ticketctl rotate` replaces,
// and sends SIGHUP; serve polls the file only every hour.
func setupSIGHUP(t *testing.T, dir string, now time.Time) (string, func(*runningServe)) {
	path := filepath.Join(dir, "keys.txt")
	return path, func(s *runningServe) {
		rotateFile(t, path, now)
		if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
	}
}

// TestServeSIGTERM checks that SIGTERM stops serve gracefully, with its
// counters.
func TestServeSIGTERM(t *testing.T) {
	s := startServe(t, serveEnv{})
	s.connect(t, tls.VersionTLS13, nil)
	if err := syscall.Kill(os.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-s.done:
		if err != nil {
			t.Fatal(err)
		}
		s.done <- nil // for the cleanup
	case <-time.After(10 * time.Second):
		t.Fatal("serve did not stop on SIGTERM")
	}
	if out := s.out.String(); !strings.Contains(out, `msg="ticketctl serve: shutting down" signal=terminated`) || !strings.Contains(out, "engine counters") {
		t.Errorf("output:\n%s", out)
	}
}

// TestServeRefusesInsecureKeyFile: serve refuses a key file that others may
// read, naming the fix.
func TestServeRefusesInsecureKeyFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keys.txt")
	writeKeyFile(t, path, activeEntry(t, seal.AES256GCM, time.Now(), 2*time.Hour))
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	code := run([]string{"serve", "-addr", "127.0.0.1:0", "-keys", path}, &out, &errOut)
	if code != 1 || !strings.Contains(errOut.String(), "chmod") || !strings.Contains(errOut.String(), "-insecure-key-perms") {
		t.Fatalf("exit %d, stderr %q; want 1 and the fix", code, errOut.String())
	}
}

// TestServe runs `ticketctl serve`, resumes a session with a Go client in
// each version, and checks the per-handshake log and the counters on exit.
func TestServe(t *testing.T) {
	s := startServe(t, serveEnv{}, "-policy", "renew")
	for _, v := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
		s.resume(t, v)
	}
	s.stop(t)
	log := s.out.String()
	for _, want := range []string{
		`msg=handshake version="TLS 1.2" resumed=true offered=true status=Success return=UseRenew outcome=use+renew tickets_sent=1`,
		`msg=handshake version="TLS 1.3" resumed=true offered=true status=SuccessRenew return=UseRenew outcome=use+renew tickets_sent=1`,
		`msg=handshake version="TLS 1.3" resumed=false offered=false outcome="no ticket" tickets_sent=1`,
		`"TLS1.2/Success/UseRenew/use+renew": 1`,
		`engine counters`,
	} {
		if !strings.Contains(log, want) {
			t.Errorf("output lacks %q:\n%s", want, log)
		}
	}
}

// TestServeKeyFiles serves with a tlsticket key file and an nginx key file
// for migration.
func TestServeKeyFiles(t *testing.T) {
	dir := t.TempDir()
	entry := activeEntry(t, seal.AES128GCM, time.Now(), 2*time.Hour)
	keysPath, nginxPath := filepath.Join(dir, "keys.txt"), filepath.Join(dir, "nginx.key")
	writeKeyFile(t, keysPath, entry)
	if err := os.WriteFile(nginxPath, bytes.Repeat([]byte{9, 8, 7, 6}, 20), 0o600); err != nil {
		t.Fatal(err)
	}
	s := startServe(t, serveEnv{}, "-keys", keysPath, "-nginx-keys", nginxPath)
	s.resume(t, tls.VersionTLS13)
	s.stop(t)
	key, err := entry.Key()
	if err != nil {
		t.Fatal(err)
	}
	if out := s.out.String(); !strings.Contains(out, "1 keys from "+keysPath+", primary "+key.Name().String()) ||
		!strings.Contains(out, "key="+key.Name().String()) {
		t.Errorf("output:\n%s", out)
	}
}

func TestServeFlags(t *testing.T) {
	var out, errOut syncBuffer
	for _, args := range [][]string{{"-versions", "1.1"}, {"-policy", "sometimes"}, {"-aead", "ROT13"},
		{"-keys", "/nonexistent"}, {"-nginx-keys", "/nonexistent"}, {"-keys", "x", "-rotate", "1h"}} {
		if err := serve(context.Background(), append([]string{"-addr", "127.0.0.1:0"}, args...), &out, &errOut); err == nil {
			t.Errorf("serve %v: no error", args)
		}
	}
}

// TestServeMetrics runs serve with -metrics-addr, makes a fresh TLS 1.3
// connection and a resumption, and scrapes /metrics as Prometheus does.
func TestServeMetrics(t *testing.T) {
	s := startServe(t, serveEnv{}, "-metrics-addr", "127.0.0.1:0")
	s.resume(t, tls.VersionTLS13)
	defer s.stop(t)
	m := regexp.MustCompile(`Prometheus metrics at (http://\S+)`).FindStringSubmatch(s.out.String())
	if m == nil {
		t.Fatalf("serve did not print the metrics address:\n%s", s.out.String())
	}
	got := promtest.Scrape(t, m[1])
	for _, name := range []string{`tlsticket_no_ticket_total{version="TLS1.3"}`, `tlsticket_resumed_total{version="TLS1.3"}`} {
		if got[name] != 1 {
			t.Errorf("%s = %v, want 1", name, got[name])
		}
	}
	keys := 0
	for name := range got {
		if strings.HasPrefix(name, "tlsticket_key_tickets_sealed_total{") {
			keys++
		}
	}
	if keys != 1 {
		t.Errorf("%d keys in tlsticket_key_tickets_sealed_total, want 1", keys)
	}
}
