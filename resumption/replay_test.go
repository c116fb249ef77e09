package resumption_test

import (
	"context"
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tlsticket/tlsticket/format"
	"github.com/tlsticket/tlsticket/internal/fakeclock"
	"github.com/tlsticket/tlsticket/resumption"
	"github.com/tlsticket/tlsticket/resumption/replaytest"
)

// maxBytesPerEntry is the documented memory of a MemoryStore record at
// most: 16-byte slots in a table at least three-eighths full.
const maxBytesPerEntry = 48

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

// TestMemoryStoreStartup checks RFC 8446, Section 8.2: for one window after
// creation the store answers not fresh, but still records what it sees.
func TestMemoryStoreStartup(t *testing.T) {
	clock := newFakeClock()
	window := 5 * time.Second
	s := resumption.NewMemoryStore(resumption.MemoryStoreConfig{Window: window, Time: clock.Now})
	replaytest.Check(t, s, "seen-at-startup", time.Minute, false)
	clock.Advance(window - time.Nanosecond)
	replaytest.Check(t, s, "late-startup", time.Minute, false)
	clock.Advance(time.Nanosecond)
	replaytest.Check(t, s, "seen-at-startup", time.Minute, false) // recorded while warming up
	replaytest.Check(t, s, "new", time.Minute, true)
}

func TestMemoryStoreDefaultWindow(t *testing.T) {
	clock := newFakeClock()
	s := resumption.NewMemoryStore(resumption.MemoryStoreConfig{Time: clock.Now})
	clock.Advance(resumption.DefaultFreshnessWindow - time.Nanosecond)
	replaytest.Check(t, s, "a", time.Minute, false)
	clock.Advance(time.Nanosecond)
	replaytest.Check(t, s, "b", time.Minute, true)
}

// TestMemoryStoreFull checks the behaviour at the cap: not fresh, no error,
// nothing recorded, and new records again once old ones expire.
func TestMemoryStoreFull(t *testing.T) {
	s, clock := newWarmStore(t, resumption.MemoryStoreConfig{MaxEntries: 3})
	if got := s.Cap(); got != 3 {
		t.Errorf("Cap() = %d, want 3", got)
	}
	for _, k := range []string{"a", "b", "c"} {
		replaytest.Check(t, s, k, time.Second, true)
	}
	replaytest.Check(t, s, "d", time.Second, false) // full: reject 0-RTT, no error
	replaytest.Check(t, s, "a", time.Second, false)
	if got := s.Len(); got != 3 {
		t.Errorf("Len() = %d after refusing an entry, want 3", got)
	}
	clock.Advance(time.Second)
	replaytest.Check(t, s, "d", time.Second, true) // room again after expiry
	if got := s.LiveLen(); got != 1 {
		t.Errorf("LiveLen() = %d, want 1", got)
	}
}

// TestMemoryStoreFullRecovers fills a store with records of spread
// lifetimes, as single-use records are, and checks that it admits new
// records again as they expire, and never holds more than its cap. The
// store waits for a sampled eighth of its records to expire; the bound
// here, half of them, leaves a margin that 64 random samples miss with
// probability below 10^-9.
func TestMemoryStoreFullRecovers(t *testing.T) {
	const n = 4096
	s, clock := newWarmStore(t, resumption.MemoryStoreConfig{MaxEntries: n})
	key := make([]byte, 8)
	for i := range n { // record i expires at i+1 seconds
		binary.BigEndian.PutUint64(key, uint64(i))
		if fresh, err := s.CheckAndStore(t.Context(), key, time.Duration(i+1)*time.Second); !fresh || err != nil {
			t.Fatalf("record %d: %v, %v", i, fresh, err)
		}
	}
	next := uint64(n)
	attempt := func() bool {
		binary.BigEndian.PutUint64(key, next)
		next++
		fresh, err := s.CheckAndStore(t.Context(), key, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		return fresh
	}
	if attempt() {
		t.Fatalf("a full store recorded a new key")
	}
	// Step through time; count when the store admits again.
	admitted := 0
	var firstAdmit time.Duration
	const bound = n / 2 * time.Second
	for elapsed := time.Duration(0); elapsed < bound; elapsed += time.Second {
		clock.Advance(time.Second)
		if attempt() {
			if admitted == 0 {
				firstAdmit = elapsed + time.Second
			}
			admitted++
		}
		if got := s.Len(); got > n {
			t.Fatalf("Len() = %d, over the cap %d", got, n)
		}
	}
	t.Logf("first admitted after %v; %d admitted", firstAdmit, admitted)
	if admitted == 0 || !attempt() {
		t.Errorf("%d admitted within %v of the first expiry, and not admitting at the end", admitted, bound)
	}
}

// TestMemoryStoreClockSteps: records age on the store's clock, the one the
// engine judges freshness by; a step back keeps them longer, never shorter.
func TestMemoryStoreClockSteps(t *testing.T) {
	s, clock := newWarmStore(t, resumption.MemoryStoreConfig{})
	replaytest.Check(t, s, "k", 10*time.Second, true)
	clock.Advance(-time.Hour)
	replaytest.Check(t, s, "k", 10*time.Second, false)
	clock.Advance(time.Hour + 10*time.Second - time.Nanosecond)
	replaytest.Check(t, s, "k", 10*time.Second, false)
	clock.Advance(time.Nanosecond)
	replaytest.Check(t, s, "k", 10*time.Second, true)
}

// TestMemoryStoreModel runs random checks against a map of live records:
// the table (probing, reuse of expired slots, sweeps, growth) must answer
// exactly as the map does.
func TestMemoryStoreModel(t *testing.T) {
	s, clock := newWarmStore(t, resumption.MemoryStoreConfig{MaxEntries: 1 << 16})
	rnd := rand.New(rand.NewPCG(1, 2))
	model := make(map[uint64]time.Time)
	key := make([]byte, 8)
	ops := 200_000
	if testing.Short() {
		ops = 20_000
	}
	for i := range ops {
		k := rnd.Uint64N(20_000)
		ttl := time.Duration(1+rnd.IntN(2000)) * time.Millisecond
		now := clock.Now()
		exp, live := model[k]
		live = live && exp.After(now)
		binary.BigEndian.PutUint64(key, k)
		fresh, err := s.CheckAndStore(t.Context(), key, ttl)
		if err != nil {
			t.Fatal(err)
		}
		if fresh == live {
			t.Fatalf("op %d: key %d: fresh %v, model live %v", i, k, fresh, live)
		}
		if !live {
			model[k] = now.Add(ttl)
		}
		clock.Advance(time.Duration(rnd.IntN(200)) * time.Microsecond)
		if i%10_000 == 0 {
			n := 0
			for _, e := range model {
				if e.After(clock.Now()) {
					n++
				}
			}
			if held := s.Len(); held < n {
				t.Fatalf("op %d: Len() = %d, below the %d live records", i, held, n)
			}
			if got := s.LiveLen(); got != n {
				t.Fatalf("op %d: LiveLen() = %d, model %d", i, got, n)
			}
		}
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
	replaytest.Check(t, s, "trigger", time.Hour, true)
	if got, want := s.LiveLen(), 500+1; got != want {
		t.Errorf("LiveLen() = %d, want %d", got, want)
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
	replaytest.Check(t, s, "trigger2", time.Second, true)
	if got := s.LiveLen(); got != 1 {
		t.Errorf("LiveLen() = %d after everything expired, want 1", got)
	}
}

// TestUseOnceLifetime checks that a single-use record lives for the
// ticket's remaining lifetime, no longer.
func TestUseOnceLifetime(t *testing.T) {
	s, clock := newWarmStore(t, resumption.MemoryStoreConfig{})
	identity := []byte("ticket identity")
	for i, want := range []bool{true, false} {
		if first, err := resumption.UseOnce(t.Context(), s, identity, time.Hour); err != nil || first != want {
			t.Errorf("use %d: UseOnce = %v, %v; want %v, nil", i, first, err, want)
		}
	}
	clock.Advance(time.Hour - time.Nanosecond)
	if first, _ := resumption.UseOnce(t.Context(), s, identity, time.Hour); first {
		t.Errorf("the ticket's record expired before its lifetime")
	}
	clock.Advance(time.Nanosecond)
	if got := s.LiveLen(); got != 0 {
		t.Errorf("LiveLen() = %d after the ticket's lifetime, want 0", got)
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
	if s.LiveLen() != n {
		t.Fatalf("LiveLen() = %d, want %d", s.LiveLen(), n)
	}
	runtime.KeepAlive(s)
	return float64(int64(after.HeapAlloc)-int64(before.HeapAlloc)) / float64(n)
}

// TestMemoryStoreContract runs the ReplayStore contract.
func TestMemoryStoreContract(t *testing.T) {
	const window = time.Second
	replaytest.TestStore(t, replaytest.Options{Warmup: window}, func(t *testing.T, now func() time.Time) resumption.ReplayStore {
		return resumption.NewMemoryStore(resumption.MemoryStoreConfig{Window: window, Time: now})
	})
}

// stepClock is a clock for benchmarks: it moves by step on every call,
// with no lock, so that it costs little next to the store.
type stepClock struct {
	t    time.Time
	step time.Duration
}

func (c *stepClock) now() time.Time {
	c.t = c.t.Add(c.step)
	return c.t
}

// BenchmarkMemoryStore measures CheckAndStore on a store holding a steady
// 100k live records: NewRecord records a new key per call (the clock moves
// 100µs per call and records live 10s, so one record expires per call),
// Replay checks a key that is held. Run it with -benchmem.
func BenchmarkMemoryStore(b *testing.B) {
	const live = 100_000
	const ttl = resumption.DefaultFreshnessWindow
	setup := func(b *testing.B) (*resumption.MemoryStore, []byte) {
		b.Helper()
		c := &stepClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
		s := resumption.NewMemoryStore(resumption.MemoryStoreConfig{Time: c.now})
		c.t = c.t.Add(resumption.DefaultFreshnessWindow)
		c.step = ttl / live
		key := make([]byte, 32)
		for i := range 2 * live { // into the steady state
			binary.BigEndian.PutUint64(key[8:], uint64(i))
			s.CheckAndStore(context.Background(), key, ttl)
		}
		return s, key
	}
	b.Run("NewRecord", func(b *testing.B) {
		s, key := setup(b)
		ctx := context.Background()
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			binary.BigEndian.PutUint64(key, uint64(i)+1)
			if fresh, err := s.CheckAndStore(ctx, key, ttl); !fresh || err != nil {
				b.Fatalf("call %d: %v, %v", i, fresh, err)
			}
		}
	})
	b.Run("NewRecordParallel", func(b *testing.B) {
		// As NewRecord, from GOMAXPROCS goroutines sharing one store and
		// one clock, to show what its single lock costs under contention.
		var ticks atomic.Int64
		base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano()
		s := resumption.NewMemoryStore(resumption.MemoryStoreConfig{Window: time.Nanosecond, Time: func() time.Time {
			return time.Unix(0, base+ticks.Add(int64(ttl/live)))
		}})
		var goroutine atomic.Uint64
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			key := make([]byte, 32)
			binary.BigEndian.PutUint64(key[8:], goroutine.Add(1))
			for i := uint64(0); pb.Next(); i++ {
				binary.BigEndian.PutUint64(key, i)
				if _, err := s.CheckAndStore(context.Background(), key, ttl); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
	b.Run("Replay", func(b *testing.B) {
		s, _ := setup(b)
		ctx := context.Background()
		key := []byte("held")
		s.CheckAndStore(ctx, key, format.MaxTicketLifetime)
		b.ReportAllocs()
		for b.Loop() {
			if fresh, err := s.CheckAndStore(ctx, key, format.MaxTicketLifetime); fresh || err != nil {
				b.Fatal(fresh, err)
			}
		}
	})
}
