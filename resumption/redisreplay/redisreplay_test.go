package redisreplay_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/redis/go-redis/v9"

	"github.com/tlsticket/tlsticket/internal/redistest"
	"github.com/tlsticket/tlsticket/resumption"
	"github.com/tlsticket/tlsticket/resumption/redisreplay"
	"github.com/tlsticket/tlsticket/resumption/replaytest"
)

// testTimeout is Options.Timeout in tests: long enough for a loaded CI
// machine, far below go-redis's own 3-5 s socket timeouts.
const testTimeout = 500 * time.Millisecond

// boundSlack is what a check may take beyond Options.Timeout before a test
// calls it unbounded; the client's own read timeout is several seconds.
const boundSlack = time.Second

func newStore(t *testing.T, srv *redistest.Server, prefix string) *redisreplay.Store {
	t.Helper()
	return mustNew(t, srv.NewClient(t), redisreplay.Options{Prefix: prefix, Timeout: testTimeout})
}

// TestPrefixes checks that Stores on one server, on their own clients,
// share their records when their prefixes are equal (each key is fresh at
// most once between them) and are isolated when their prefixes differ.
func TestPrefixes(t *testing.T) {
	srv := redistest.Start(t)
	a1, a2 := newStore(t, srv, "tenant-a:"), newStore(t, srv, "tenant-a:")
	b := newStore(t, srv, "tenant-b:")
	checkTwoStores(t, a1, a2, "binder-1", true)
	checkTwoStores(t, a2, a1, "binder-2", true)
	checkTwoStores(t, a1, b, "binder-3", false)
	checkTwoStores(t, b, a2, "binder-4", false)
}

// checkTwoStores checks key first in x, then in y, which sees it fresh
// unless the two share their records, then in both again.
func checkTwoStores(t *testing.T, x, y *redisreplay.Store, key string, shared bool) {
	t.Helper()
	replaytest.Check(t, x, key, time.Minute, true)
	replaytest.Check(t, y, key, time.Minute, !shared)
	replaytest.Check(t, x, key, time.Minute, false)
	replaytest.Check(t, y, key, time.Minute, false)
}

// TestConcurrentAcrossStores checks that of concurrent checks through two
// Stores on one server, exactly one sees each key fresh.
func TestConcurrentAcrossStores(t *testing.T) {
	srv := redistest.Start(t)
	replaytest.TestConcurrent(t, newStore(t, srv, "conc:"), newStore(t, srv, "conc:"))
}

// redisKey is the key layout documented on Store.
func redisKey(prefix, key string) string {
	sum := sha256.Sum256([]byte(key))
	return prefix + hex.EncodeToString(sum[:16])
}

// countingHook counts the commands a client sends.
type countingHook struct {
	mu        sync.Mutex
	commands  [][]any
	pipelines int
}

func (h *countingHook) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h *countingHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		h.mu.Lock()
		h.commands = append(h.commands, cmd.Args())
		h.mu.Unlock()
		return next(ctx, cmd)
	}
}

func (h *countingHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		h.mu.Lock()
		h.pipelines++
		h.mu.Unlock()
		return next(ctx, cmds)
	}
}

// TestOneRoundTrip checks that each check is exactly one SET NX PX command.
func TestOneRoundTrip(t *testing.T) {
	srv := redistest.Start(t)
	client := srv.NewClient(t)
	// Dial first: setting up a connection sends its own commands (HELLO,
	// CLIENT ...), which are not part of a check.
	if err := client.Ping(t.Context()).Err(); err != nil {
		t.Fatal(err)
	}
	s := mustNew(t, client, redisreplay.Options{Prefix: "rt:", Timeout: testTimeout})
	hook := &countingHook{} // after New, which reads the eviction policy
	client.AddHook(hook)

	const checks = 10
	for i := range checks {
		replaytest.Check(t, s, "k", 1500*time.Microsecond+time.Minute, i == 0)
	}
	hook.mu.Lock()
	defer hook.mu.Unlock()
	if len(hook.commands) != checks || hook.pipelines != 0 {
		t.Fatalf("%d checks sent %d commands and %d pipelines, want %d and 0",
			checks, len(hook.commands), hook.pipelines, checks)
	}
	// 60001.5 ms rounds up to 60002.
	want := []any{"set", redisKey("rt:", "k"), "1", "nx", "px", int64(60002)}
	if diff := cmp.Diff(want, hook.commands[0]); diff != "" {
		t.Errorf("command (-want +got):\n%s", diff)
	}
}

// TestServerStopped checks that a dead server makes checks fail closed,
// quickly and without a panic.
func TestServerStopped(t *testing.T) {
	srv := redistest.Start(t)
	s := newStore(t, srv, "stop:")
	replaytest.Check(t, s, "before", time.Minute, true)
	srv.Stop()
	for _, key := range []string{"before", "after"} {
		start := time.Now()
		fresh, err := s.CheckAndStore(t.Context(), []byte(key), time.Minute)
		elapsed := time.Since(start)
		if fresh || !errors.Is(err, redisreplay.ErrUnavailable) {
			t.Errorf("CheckAndStore(%q) on a stopped server = %v, %v; want false, ErrUnavailable", key, fresh, err)
		}
		if elapsed > testTimeout+boundSlack {
			t.Errorf("CheckAndStore took %v, want at most about Timeout (%v)", elapsed, testTimeout)
		}
	}
}

// TestServerHung checks that Options.Timeout bounds a check when the server
// accepts the command but never answers, even though the client is not
// built with ContextTimeoutEnabled.
func TestServerHung(t *testing.T) {
	srv := redistest.Start(t)
	s := newStore(t, srv, "hung:")
	replaytest.Check(t, s, "warm", time.Minute, true) // open a pooled connection
	srv.Pause(t)
	start := time.Now()
	fresh, err := s.CheckAndStore(t.Context(), []byte("k"), time.Minute)
	elapsed := time.Since(start)
	if fresh || !errors.Is(err, redisreplay.ErrUnavailable) || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("CheckAndStore on a hung server = %v, %v; want false, ErrUnavailable and DeadlineExceeded", fresh, err)
	}
	if elapsed < testTimeout || elapsed > testTimeout+boundSlack {
		t.Errorf("CheckAndStore took %v, want about Timeout (%v)", elapsed, testTimeout)
	}
}

func TestUnreachable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens there now
	client := redis.NewClient(&redis.Options{Addr: addr})
	t.Cleanup(func() { client.Close() })
	s := mustNew(t, client, redisreplay.Options{Timeout: testTimeout, AssumeNoEviction: true})
	fresh, err := s.CheckAndStore(t.Context(), []byte("k"), time.Minute)
	if fresh || !errors.Is(err, redisreplay.ErrUnavailable) || !strings.HasPrefix(err.Error(), "redisreplay: ") {
		t.Errorf("CheckAndStore = %v, %v; want false, ErrUnavailable", fresh, err)
	}
}

func TestDefaultPrefix(t *testing.T) {
	srv := redistest.Start(t)
	client := srv.NewClient(t)
	s := mustNew(t, client, redisreplay.Options{})
	replaytest.Check(t, s, "k", time.Minute, true)
	n, err := client.Exists(t.Context(), redisKey(redisreplay.DefaultPrefix, "k")).Result()
	if err != nil || n != 1 {
		t.Errorf("key under DefaultPrefix: exists = %d, %v; want 1", n, err)
	}
}

// TestInvalidTTL needs no server: the ttl is refused before any round trip.
func TestInvalidTTL(t *testing.T) {
	client := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"})
	t.Cleanup(func() { client.Close() })
	hook := &countingHook{}
	client.AddHook(hook)
	s := mustNew(t, client, redisreplay.Options{AssumeNoEviction: true})
	for _, ttl := range []time.Duration{0, -time.Second} {
		fresh, err := s.CheckAndStore(t.Context(), []byte("k"), ttl)
		if fresh || !errors.Is(err, resumption.ErrInvalidTTL) {
			t.Errorf("ttl %v: %v, %v; want false, ErrInvalidTTL", ttl, fresh, err)
		}
	}
	if len(hook.commands) != 0 {
		t.Errorf("sent %d commands for invalid ttls", len(hook.commands))
	}
}

func TestNewNilClientPanics(t *testing.T) {
	defer func() {
		msg, _ := recover().(string)
		if !strings.HasPrefix(msg, "redisreplay: internal error: ") {
			t.Errorf("panic = %q, want a redisreplay internal error", msg)
		}
	}()
	redisreplay.New(t.Context(), nil, redisreplay.Options{})
}

// mustNew returns a Store, failing the test if New refuses the server.
func mustNew(t *testing.T, client redis.UniversalClient, opts redisreplay.Options) *redisreplay.Store {
	t.Helper()
	s, err := redisreplay.New(t.Context(), client, opts)
	if err != nil {
		t.Fatal(err)
	}
	return s
}
