package resumption_test

import (
	"context"
	"encoding/binary"
	"errors"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tlsticket/tlsticket/internal/fakeclock"

	"github.com/tlsticket/tlsticket/resumption"
)

// maxBytesPerEntry is the documented memory cap of a MemoryStore record.
const maxBytesPerEntry = 128

// fakeClock is the shared fake clock of internal/fakeclock.
type fakeClock = fakeclock.Clock

func newFakeClock() *fakeClock {
	return fakeclock.New(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
}

// newWarmStore returns a store whose startup window has passed.
func newWarmStore(t *testing.T, cfg resumption.MemoryStoreConfig) (*resumption.MemoryStore, *fakeClock) {
	t.Helper()
	clock := newFakeClock()
	cfg.Time = clock.Now
	s := resumption.NewMemoryStore(cfg)
	window := cfg.Window
	if window <= 0 {
		window = resumption.DefaultFreshnessWindow
	}
	clock.Advance(window)
	return s, clock
}

func mustCheck(t *testing.T, s resumption.ReplayStore, key string, ttl time.Duration, want bool) {
	t.Helper()
	fresh, err := s.CheckAndStore(t.Context(), []byte(key), ttl)
	if err != nil {
		t.Fatalf("CheckAndStore(%q): %v", key, err)
	}
	if fresh != want {
		t.Errorf("CheckAndStore(%q) = %v, want %v", key, fresh, want)
	}
}

func TestMemoryStoreReplay(t *testing.T) {
	s, clock := newWarmStore(t, resumption.MemoryStoreConfig{})
	ttl := resumption.DefaultFreshnessWindow
	mustCheck(t, s, "binder-a", ttl, true)
	mustCheck(t, s, "binder-a", ttl, false)
	mustCheck(t, s, "binder-b", ttl, true)
	clock.Advance(ttl - time.Nanosecond)
	mustCheck(t, s, "binder-a", ttl, false)
	clock.Advance(time.Nanosecond)
	mustCheck(t, s, "binder-a", ttl, true) // expired: a new record
	mustCheck(t, s, "binder-a", ttl, false)
}

// TestMemoryStoreStartup checks RFC 8446, Section 8.2: for one window after
// creation the store answers not fresh, but still records what it sees.
func TestMemoryStoreStartup(t *testing.T) {
	clock := newFakeClock()
	window := 5 * time.Second
	s := resumption.NewMemoryStore(resumption.MemoryStoreConfig{Window: window, Time: clock.Now})
	mustCheck(t, s, "seen-at-startup", time.Minute, false)
	clock.Advance(window - time.Nanosecond)
	mustCheck(t, s, "late-startup", time.Minute, false)
	clock.Advance(time.Nanosecond)
	mustCheck(t, s, "seen-at-startup", time.Minute, false) // recorded while warming up
	mustCheck(t, s, "new", time.Minute, true)
}

func TestMemoryStoreDefaultWindow(t *testing.T) {
	clock := newFakeClock()
	s := resumption.NewMemoryStore(resumption.MemoryStoreConfig{Time: clock.Now})
	clock.Advance(resumption.DefaultFreshnessWindow - time.Nanosecond)
	mustCheck(t, s, "a", time.Minute, false)
	clock.Advance(time.Nanosecond)
	mustCheck(t, s, "b", time.Minute, true)
}

func TestMemoryStoreFull(t *testing.T) {
	s, clock := newWarmStore(t, resumption.MemoryStoreConfig{MaxEntries: 3})
	for _, k := range []string{"a", "b", "c"} {
		mustCheck(t, s, k, time.Second, true)
	}
	mustCheck(t, s, "d", time.Second, false) // full: reject 0-RTT, no error
	mustCheck(t, s, "a", time.Second, false)
	if got := s.Len(); got != 3 {
		t.Errorf("Len() = %d after refusing an entry, want 3", got)
	}
	clock.Advance(time.Second)
	mustCheck(t, s, "d", time.Second, true) // room again after expiry
	if got := s.Len(); got != 1 {
		t.Errorf("Len() = %d, want 1", got)
	}
}

// TestMemoryStoreSweep checks that expired records are removed as the clock
// moves, in expiry order, whatever their insertion order.
func TestMemoryStoreSweep(t *testing.T) {
	s, clock := newWarmStore(t, resumption.MemoryStoreConfig{})
	key := make([]byte, 8)
	for i := range 1000 {
		binary.BigEndian.PutUint64(key, uint64(i))
		ttl := time.Duration(1000-i) * time.Millisecond // later keys expire first
		if fresh, err := s.CheckAndStore(t.Context(), key, ttl); !fresh || err != nil {
			t.Fatalf("key %d: %v, %v", i, fresh, err)
		}
	}
	clock.Advance(500 * time.Millisecond)
	mustCheck(t, s, "trigger", time.Hour, true)
	if got, want := s.Len(), 500+1; got != want {
		t.Errorf("Len() = %d, want %d", got, want)
	}
	binary.BigEndian.PutUint64(key, 0) // ttl 1000ms: still recorded
	if fresh, _ := s.CheckAndStore(t.Context(), key, time.Second); fresh {
		t.Errorf("key 0 expired early")
	}
	binary.BigEndian.PutUint64(key, 999) // ttl 1ms: expired
	if fresh, _ := s.CheckAndStore(t.Context(), key, time.Second); !fresh {
		t.Errorf("key 999 not expired")
	}
	clock.Advance(time.Hour)
	mustCheck(t, s, "trigger2", time.Second, true)
	if got := s.Len(); got != 1 {
		t.Errorf("Len() = %d after everything expired, want 1", got)
	}
}

func TestMemoryStoreHugeTTL(t *testing.T) {
	s, clock := newWarmStore(t, resumption.MemoryStoreConfig{})
	mustCheck(t, s, "forever", time.Duration(1<<63-1), true)
	clock.Advance(100 * 365 * 24 * time.Hour)
	mustCheck(t, s, "forever", time.Second, false)
}

func TestMemoryStoreErrors(t *testing.T) {
	s, _ := newWarmStore(t, resumption.MemoryStoreConfig{})
	for _, ttl := range []time.Duration{0, -time.Second} {
		fresh, err := s.CheckAndStore(t.Context(), []byte("k"), ttl)
		if fresh || !errors.Is(err, resumption.ErrInvalidTTL) {
			t.Errorf("ttl %v: %v, %v; want false, ErrInvalidTTL", ttl, fresh, err)
		}
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	fresh, err := s.CheckAndStore(ctx, []byte("k"), time.Second)
	if fresh || !errors.Is(err, context.Canceled) || !strings.HasPrefix(err.Error(), "resumption: ") {
		t.Errorf("cancelled ctx: %v, %v; want false, context.Canceled", fresh, err)
	}
	mustCheck(t, s, "k", time.Second, true) // nothing was recorded above
}

// TestMemoryStoreConcurrent checks that a key is fresh exactly once among
// concurrent callers (run with -race).
func TestMemoryStoreConcurrent(t *testing.T) {
	s, clock := newWarmStore(t, resumption.MemoryStoreConfig{})
	const goroutines, keys = 50, 100
	var fresh [keys]atomic.Int32
	var wg sync.WaitGroup
	for range goroutines {
		wg.Go(func() {
			key := make([]byte, 8)
			for k := range keys {
				binary.BigEndian.PutUint64(key, uint64(k))
				ok, err := s.CheckAndStore(t.Context(), key, time.Minute)
				if err != nil {
					t.Error(err)
					return
				}
				if ok {
					fresh[k].Add(1)
				}
				clock.Advance(time.Microsecond)
			}
		})
	}
	wg.Wait()
	for k := range fresh {
		if n := fresh[k].Load(); n != 1 {
			t.Errorf("key %d fresh %d times, want 1", k, n)
		}
	}
}

func TestUseOnce(t *testing.T) {
	s, clock := newWarmStore(t, resumption.MemoryStoreConfig{})
	ctx := t.Context()
	identity := []byte("ticket identity")
	check := func(remaining time.Duration, want bool) {
		t.Helper()
		first, err := resumption.UseOnce(ctx, s, identity, remaining)
		if err != nil || first != want {
			t.Errorf("UseOnce(remaining %v) = %v, %v; want %v, nil", remaining, first, err, want)
		}
	}
	// A binder record with the identity's bytes must not consume the ticket.
	mustCheck(t, s, string(identity), time.Minute, true)
	check(time.Hour, true)
	check(time.Hour, false)
	clock.Advance(time.Hour)
	check(time.Hour, true) // the record lived for the ticket's remaining lifetime
	check(0, false)
	check(-time.Second, false)
	if got, want := s.Len(), 1; got != want { // the binder expired, one ticket record
		t.Errorf("Len() = %d, want %d", got, want)
	}
}

// failingStore is a ReplayStore that cannot answer.
type failingStore struct{}

func (failingStore) CheckAndStore(context.Context, []byte, time.Duration) (bool, error) {
	return false, errors.New("resumption: test store unavailable")
}

func TestUseOnceFailsClosed(t *testing.T) {
	first, err := resumption.UseOnce(t.Context(), failingStore{}, []byte("id"), time.Hour)
	if first || err == nil {
		t.Errorf("UseOnce = %v, %v; want false and an error", first, err)
	}
}

var _ resumption.ReplayStore = (*resumption.MemoryStore)(nil)

// TestMemoryStoreBytesPerEntry measures the heap held per record and checks
// it against the cap documented on MemoryStore.
func TestMemoryStoreBytesPerEntry(t *testing.T) {
	if testing.Short() {
		t.Skip("allocates 100k records")
	}
	const n = 100_000
	perEntry := measureBytesPerEntry(t, n)
	t.Logf("MemoryStore: %.1f bytes per entry (%d entries)", perEntry, n)
	if perEntry > maxBytesPerEntry {
		t.Errorf("%.1f bytes per entry, want at most %d", perEntry, maxBytesPerEntry)
	}
}

func measureBytesPerEntry(t *testing.T, n int) float64 {
	t.Helper()
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)

	s, _ := newWarmStore(t, resumption.MemoryStoreConfig{MaxEntries: n})
	key := make([]byte, 32)
	for i := range n {
		binary.BigEndian.PutUint64(key, uint64(i))
		if fresh, err := s.CheckAndStore(t.Context(), key, time.Minute); !fresh || err != nil {
			t.Fatalf("entry %d: %v, %v", i, fresh, err)
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	if s.Len() != n {
		t.Fatalf("Len() = %d, want %d", s.Len(), n)
	}
	runtime.KeepAlive(s)
	return float64(int64(after.HeapAlloc)-int64(before.HeapAlloc)) / float64(n)
}

func BenchmarkMemoryStore(b *testing.B) {
	b.Run("CheckAndStore", func(b *testing.B) {
		// Distinct keys; the clock moves 100µs per call and records live
		// 10s, so the store holds a steady 100k records and sweeps one
		// expired record per call.
		clock := newFakeClock()
		s := resumption.NewMemoryStore(resumption.MemoryStoreConfig{Time: clock.Now})
		clock.Advance(resumption.DefaultFreshnessWindow)
		ctx := context.Background()
		key := make([]byte, 32)
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			binary.BigEndian.PutUint64(key, uint64(i))
			clock.Advance(100 * time.Microsecond)
			if fresh, err := s.CheckAndStore(ctx, key, resumption.DefaultFreshnessWindow); !fresh || err != nil {
				b.Fatalf("call %d: %v, %v", i, fresh, err)
			}
		}
	})
	b.Run("Replay", func(b *testing.B) {
		clock := newFakeClock()
		s := resumption.NewMemoryStore(resumption.MemoryStoreConfig{Time: clock.Now})
		clock.Advance(resumption.DefaultFreshnessWindow)
		ctx := context.Background()
		key := make([]byte, 32)
		b.ReportAllocs()
		for b.Loop() {
			if _, err := s.CheckAndStore(ctx, key, time.Hour); err != nil {
				b.Fatal(err)
			}
		}
	})
}
