// Package replaytest checks that a [resumption.ReplayStore] keeps the
// contract of RFC 8446, Section 8.2, as golang.org/x/net/nettest checks a
// net.Conn: every store runs the same tests, so the stores cannot drift
// apart.
package replaytest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tlsticket/tlsticket/format"
	"github.com/tlsticket/tlsticket/internal/fakeclock"
	"github.com/tlsticket/tlsticket/resumption"
)

// Options describes the store under test.
type Options struct {
	// RealClock reports that the store ages records on a real clock of its
	// own and ignores the now it is given (Redis expires keys on the
	// server's clock). The tests then wait for real, with ttls of a few
	// hundred milliseconds, and do not test exact expiry instants.
	RealClock bool

	// Warmup is how long after its creation the store answers every key as
	// not fresh (resumption.MemoryStoreConfig.Window). The tests let it pass
	// before they start.
	Warmup time.Duration
}

// NewStore returns an empty store for one test, with no record shared with
// any other store it returned, whose records age on now unless
// Options.RealClock is set.
type NewStore func(t *testing.T, now func() time.Time) resumption.ReplayStore

// TestStore runs the [resumption.ReplayStore] contract tests against the
// stores newStore returns: first sighting, replay, expiry, concurrent
// checks (exactly one fresh), ttl validation, a done context and
// [resumption.UseOnce].
func TestStore(t *testing.T, opts Options, newStore NewStore) {
	tests := []struct {
		name string
		f    func(t *testing.T, h *harness)
	}{
		{"FirstSighting", testFirstSighting},
		{"Expiry", testExpiry},
		{"Concurrent", testConcurrent},
		{"InvalidTTL", testInvalidTTL},
		{"ShortAndLongTTL", testShortAndLongTTL},
		{"DoneContext", testDoneContext},
		{"UseOnce", testUseOnce},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := &harness{real: opts.RealClock}
			now := time.Now
			if !h.real {
				h.clock = fakeclock.New(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
				now = h.clock.Now
			}
			h.s = newStore(t, now)
			h.wait(opts.Warmup)
			tt.f(t, h)
		})
	}
}

// harness is one store under test and its clock.
type harness struct {
	s     resumption.ReplayStore
	real  bool
	clock *fakeclock.Clock // nil if real
}

// wait lets d pass on the store's clock.
func (h *harness) wait(d time.Duration) {
	if d <= 0 {
		return
	}
	if h.real {
		time.Sleep(d) // the store expires records on its own real clock
		return
	}
	h.clock.Advance(d)
}

func (h *harness) check(t *testing.T, key string, ttl time.Duration, want bool) {
	t.Helper()
	Check(t, h.s, key, ttl, want)
}

// Check calls s.CheckAndStore(key, ttl) and fails the test on an error or
// an answer other than want.
func Check(t *testing.T, s resumption.ReplayStore, key string, ttl time.Duration, want bool) {
	t.Helper()
	fresh, err := s.CheckAndStore(t.Context(), []byte(key), ttl)
	if err != nil {
		t.Fatalf("CheckAndStore(%q, %v): %v", key, ttl, err)
	}
	if fresh != want {
		t.Errorf("CheckAndStore(%q, %v) = %v, want %v", key, ttl, fresh, want)
	}
}

func testFirstSighting(t *testing.T, h *harness) {
	h.check(t, "binder-a", time.Minute, true)
	h.check(t, "binder-a", time.Minute, false)
	h.check(t, "binder-b", time.Minute, true)
	h.check(t, "binder-a", time.Hour, false) // another ttl is the same key
	h.check(t, "binder-b", time.Minute, false)
}

func testExpiry(t *testing.T, h *harness) {
	if h.real {
		const ttl = 300 * time.Millisecond
		h.check(t, "short", ttl, true)
		h.check(t, "long", time.Minute, true)
		h.check(t, "short", ttl, false)
		h.wait(ttl + 200*time.Millisecond)
		h.check(t, "short", ttl, true) // expired: a new record
		h.check(t, "short", ttl, false)
		h.check(t, "long", time.Minute, false)
		return
	}
	const ttl = 10 * time.Second
	h.check(t, "short", ttl, true)
	h.check(t, "long", time.Hour, true)
	h.wait(ttl - time.Nanosecond)
	h.check(t, "short", ttl, false)
	h.wait(time.Nanosecond)
	h.check(t, "short", ttl, true) // expired at exactly ttl: a new record
	h.check(t, "short", ttl, false)
	h.check(t, "long", time.Hour, false)
}

func testConcurrent(t *testing.T, h *harness) { TestConcurrent(t, h.s) }

// TestConcurrent checks 20 keys from 32 goroutines spread over stores
// (which share one record, as a fleet's stores do): each key must be fresh
// exactly once among them all.
func TestConcurrent(t *testing.T, stores ...resumption.ReplayStore) {
	t.Helper()
	const goroutines, keys = 32, 20
	var fresh [keys]atomic.Int32
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			s := stores[g%len(stores)]
			for i := range keys {
				k := (i + g) % keys // goroutines start on different keys
				ok, err := s.CheckAndStore(t.Context(), fmt.Appendf(nil, "key-%d", k), time.Minute)
				if err != nil {
					t.Error(err)
					return
				}
				if ok {
					fresh[k].Add(1)
				}
			}
		})
	}
	wg.Wait()
	for k := range fresh {
		if n := fresh[k].Load(); n != 1 {
			t.Errorf("key %d fresh %d times across %d goroutines and %d stores, want 1", k, n, goroutines, len(stores))
		}
	}
}

func testInvalidTTL(t *testing.T, h *harness) {
	for _, ttl := range []time.Duration{0, -time.Nanosecond, -time.Hour} {
		fresh, err := h.s.CheckAndStore(t.Context(), []byte("k"), ttl)
		if fresh || !errors.Is(err, resumption.ErrInvalidTTL) {
			t.Errorf("ttl %v: %v, %v; want false, ErrInvalidTTL", ttl, fresh, err)
		}
	}
	h.check(t, "k", time.Minute, true) // nothing was recorded above
}

func testShortAndLongTTL(t *testing.T, h *harness) {
	// A ttl below the store's resolution is still a record (Redis rounds
	// it up to a millisecond).
	h.check(t, "nanosecond", time.Nanosecond, true)
	h.check(t, "lifetime", format.MaxTicketLifetime, true)
	h.check(t, "forever", time.Duration(1<<63-1), true)
	h.wait(time.Second)
	h.check(t, "lifetime", time.Minute, false)
	h.check(t, "forever", time.Minute, false)
}

func testDoneContext(t *testing.T, h *harness) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	fresh, err := h.s.CheckAndStore(ctx, []byte("k"), time.Minute)
	if fresh || !errors.Is(err, context.Canceled) {
		t.Errorf("done ctx: %v, %v; want false and an error wrapping context.Canceled", fresh, err)
	}
}

func testUseOnce(t *testing.T, h *harness) {
	identity := []byte("ticket identity")
	use := func(remaining time.Duration, want bool) {
		t.Helper()
		first, err := resumption.UseOnce(t.Context(), h.s, identity, remaining)
		if err != nil || first != want {
			t.Errorf("UseOnce(remaining %v) = %v, %v; want %v, nil", remaining, first, err, want)
		}
	}
	// A binder record with the identity's bytes must not consume the ticket.
	h.check(t, string(identity), time.Minute, true)
	use(time.Hour, true)
	use(time.Hour, false)
	use(0, false)
	use(-time.Second, false)
}
