// Package redistest starts a real redis-server on a loopback port for a
// test. Without redis-server the test is skipped, or fails when CI=true
// (`make test` installs it).
package redistest

import (
	"context"
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
)

// serverStartTimeout bounds the wait for a new redis-server to answer PING.
const serverStartTimeout = 10 * time.Second

// Server is a real redis-server on a loopback port, private to a test.
type Server struct {
	// Addr is the server's host:port.
	Addr     string
	proc     *os.Process
	exited   chan struct{} // closed once the process is reaped
	stopOnce sync.Once
}

// Start starts redis-server in t.TempDir() and stops it in t.Cleanup.
// Without redis-server the test is skipped, or fails when CI=true. args are
// extra server arguments, for example "--maxmemory", "2mb",
// "--maxmemory-policy", "allkeys-lru", or "--rename-command", "CONFIG", "".
func Start(t *testing.T, args ...string) *Server {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("redis-server not found (CI=true, so this is a failure; `make test` installs it): %v", err)
		}
		t.Skipf("redis-server not found; install it (apt-get install redis-server) to run the Redis store tests: %v", err)
	}
	var lastErr error
	for range 3 { // a probed free port can be taken before redis-server binds it
		s, err := tryStartRedis(t, bin, args)
		if err == nil {
			return s
		}
		lastErr = err
	}
	t.Fatalf("starting redis-server: %v", lastErr)
	return nil
}

func tryStartRedis(t *testing.T, bin string, args []string) (*Server, error) {
	t.Helper()
	s, err := Launch(bin, t.TempDir(), args...)
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
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	port := strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
	l.Close()

	logPath := filepath.Join(dir, "redis.log")
	cmd := exec.Command(bin, append([]string{"--port", port, "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--dir", dir, "--logfile", logPath}, args...)...)
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	s := &Server{Addr: net.JoinHostPort("127.0.0.1", port), proc: cmd.Process, exited: make(chan struct{})}
	go func() {
		cmd.Wait()
		close(s.exited)
	}()

	client := redis.NewClient(&redis.Options{Addr: s.Addr, MaxRetries: -1})
	defer client.Close()
	deadline := time.Now().Add(serverStartTimeout)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err := client.Ping(ctx).Err()
		cancel()
		if err == nil {
			return s, nil
		}
		select {
		case <-s.exited:
			log, _ := os.ReadFile(logPath)
			s.Stop()
			return nil, fmt.Errorf("redis-server exited early: %s", log)
		default:
		}
		if time.Now().After(deadline) {
			s.Stop()
			return nil, fmt.Errorf("redis-server on %s did not answer PING within %v: %v", s.Addr, serverStartTimeout, err)
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
func (s *Server) Pause(t *testing.T) {
	t.Helper()
	if err := s.proc.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
}

// NewClient returns a client for the server with go-redis defaults (no
// ContextTimeoutEnabled: Store must bound its calls itself).
func (s *Server) NewClient(t *testing.T) *redis.Client {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: s.Addr})
	t.Cleanup(func() { c.Close() })
	return c
}
