// Package redistest starts a real redis-server on a loopback port for a
// test. Without redis-server the test is skipped, or fails when CI=true
// (`make test` installs it).
package redistest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tlsticket/tlsticket/internal/testkit"
)

// replicationArgs make a master send its first full copy to a new replica
// at once, from memory.
var replicationArgs = []string{"--repl-diskless-sync", "yes", "--repl-diskless-sync-delay", "0"}

// serverStartTimeout bounds the wait for a new redis-server to answer PING.
const serverStartTimeout = 10 * time.Second

// Server is a real redis-server on a loopback port, private to a test.
type Server struct {
	// Addr is the server's host:port.
	Addr string
	// Dir is the server's working directory, private to it.
	Dir string

	proc     *os.Process
	exited   chan struct{} // closed once the process is reaped
	stopOnce sync.Once
}

// Start starts redis-server in t.TempDir() and stops it in t.Cleanup.
// Without redis-server the test is skipped, or fails when CI=true. args are
// extra server arguments, for example "--maxmemory", "2mb",
// "--maxmemory-policy", "allkeys-lru", or "--rename-command", "CONFIG", "".
func Start(t testing.TB, args ...string) *Server {
	t.Helper()
	bin := lookPath(t, "redis-server")
	return startAll(t, bin, 1, func(_ int, port, dir string) ([]string, error) {
		return serverArgs(port, dir, args...), nil
	})[0]
}

// lookPath returns the path of the Redis program name, or ends the test
// (testkit.LookPath: a failure under CI=true, a skip otherwise).
func lookPath(t testing.TB, name string) string {
	t.Helper()
	return testkit.LookPath(t, name, "redis-server (apt-get install redis-server)")
}

// serverArgs returns the arguments of a redis-server on port, in dir,
// without persistence, followed by extra.
func serverArgs(port, dir string, extra ...string) []string {
	return append([]string{"--port", port, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
		"--dir", dir, "--logfile", filepath.Join(dir, "redis.log")}, extra...)
}

// startAll starts n processes of bin in parallel, process i with the
// arguments argv(i, port, dir), and fails the test unless all start.
func startAll(t testing.TB, bin string, n int, argv func(i int, port, dir string) ([]string, error)) []*Server {
	t.Helper()
	servers, errs := make([]*Server, n), make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			for range 3 { // a probed free port can be taken before it is bound
				servers[i], errs[i] = startProcess(t, bin, func(port, dir string) ([]string, error) { return argv(i, port, dir) })
				if errs[i] == nil {
					return
				}
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatalf("redistest: starting %s: %v", filepath.Base(bin), err)
	}
	return servers
}

// addrs returns the servers' addresses.
func addrs(servers []*Server) []string {
	a := make([]string, len(servers))
	for i, s := range servers {
		a[i] = s.Addr
	}
	return a
}

// freePort returns a loopback port that was free a moment ago. Another
// process can take it before it is bound again: callers retry.
func freePort() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return strconv.Itoa(l.Addr().(*net.TCPAddr).Port), nil
}

// startProcess starts bin with the arguments that argv returns for a free
// port and a new directory (whose redis.log it reads on an early exit), and
// waits until it answers PING. It stops the process in t.Cleanup.
func startProcess(t testing.TB, bin string, argv func(port, dir string) ([]string, error)) (*Server, error) {
	t.Helper()
	s, err := launch(bin, t.TempDir(), argv)
	if err != nil {
		return nil, err
	}
	t.Cleanup(s.Stop)
	return s, nil
}

// Launch starts the redis-server at bin on a free loopback port, with its
// files in dir and the extra server arguments args, and waits until it
// answers PING. The caller must Stop it. It is for programs (demos) that
// have no testing.T; tests use Start.
func Launch(bin, dir string, args ...string) (*Server, error) {
	return launch(bin, dir, func(port, dir string) ([]string, error) { return serverArgs(port, dir, args...), nil })
}

// launch starts bin with the arguments argv(port, dir) on a free port and
// waits until it answers PING.
func launch(bin, dir string, argv func(port, dir string) ([]string, error)) (*Server, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	args, err := argv(port, dir)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, args...)
	cmd.SysProcAttr = procAttr()
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	s := &Server{Addr: net.JoinHostPort("127.0.0.1", port), Dir: dir, proc: cmd.Process, exited: make(chan struct{})}
	go func() {
		cmd.Wait()
		close(s.exited)
	}()
	if err := s.waitPing(); err != nil {
		s.Stop()
		return nil, err
	}
	return s, nil
}

// waitPing waits until s answers PING, for at most serverStartTimeout.
func (s *Server) waitPing() error {
	client := redis.NewClient(&redis.Options{Addr: s.Addr, MaxRetries: -1})
	defer client.Close()
	deadline := time.Now().Add(serverStartTimeout)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err := client.Ping(ctx).Err()
		cancel()
		if err == nil {
			return nil
		}
		select {
		case <-s.exited:
			log, _ := os.ReadFile(filepath.Join(s.Dir, "redis.log"))
			return fmt.Errorf("redis-server exited early: %s", log)
		default:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("redis-server on %s did not answer PING within %v: %v", s.Addr, serverStartTimeout, err)
		}
		time.Sleep(20 * time.Millisecond) // polling a real process's startup
	}
}

// Stop kills the server and waits for it to exit. It is idempotent.
func (s *Server) Stop() {
	s.stopOnce.Do(func() {
		s.proc.Kill() // SIGKILL also ends a SIGSTOPped process
		<-s.exited
	})
}

// Pause stops the server process (SIGSTOP): connections stay open but
// nothing answers, as with a hung or overloaded server.
func (s *Server) Pause(t testing.TB) {
	t.Helper()
	if err := s.proc.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
}

// Resume continues a server stopped by Pause (SIGCONT).
func (s *Server) Resume(t testing.TB) {
	t.Helper()
	if err := s.proc.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
}

// NewClient returns a client for the server with go-redis defaults (no
// ContextTimeoutEnabled: Store must bound its calls itself).
func (s *Server) NewClient(t testing.TB) *redis.Client {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: s.Addr})
	t.Cleanup(func() { c.Close() })
	return c
}

// stopped reports whether the server's process has exited.
func (s *Server) stopped() bool {
	select {
	case <-s.exited:
		return true
	default:
		return false
	}
}

// info returns the server's INFO section.
func (s *Server) info(ctx context.Context, section string) (string, error) {
	client := redis.NewClient(&redis.Options{Addr: s.Addr, MaxRetries: -1})
	defer client.Close()
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	return client.Info(ctx, section).Result()
}
