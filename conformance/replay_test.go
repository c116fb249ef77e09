package conformance

import (
	"bytes"
	"context"
	"crypto"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/tlsticket/tlsticket/engine"
	"github.com/tlsticket/tlsticket/format"
	"github.com/tlsticket/tlsticket/internal/fakeclock"
	"github.com/tlsticket/tlsticket/internal/redistest"
	"github.com/tlsticket/tlsticket/internal/testkit"
	"github.com/tlsticket/tlsticket/resumption"
	"github.com/tlsticket/tlsticket/resumption/redisreplay"
	"github.com/tlsticket/tlsticket/seal"
)

// fleet is engines sharing one key ring and one replay store, each with
// its own clock.
type fleet struct {
	engines []*engine.Engine
	clocks  []func() time.Time
	rms     *resumption.ResumptionMasterSecret
}

// newFleet returns one engine per clock, all sharing keys and the replay
// stores that newStore returns, with cfg adjusted by adjust.
func newFleet(t *testing.T, newStore func() resumption.ReplayStore, adjust func(*engine.Config), clocks ...func() time.Time) *fleet {
	t.Helper()
	keys := seal.NewKeyring(testkit.Ring(t, testkit.Key(t, seal.AES256GCM, "fleet")))
	f := &fleet{clocks: clocks}
	for _, clock := range clocks {
		cfg := &engine.Config{Keys: keys, Time: clock, MaxEarlyData: 4096, ReplayStore: newStore()}
		if adjust != nil {
			adjust(cfg)
		}
		e, err := engine.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		f.engines = append(f.engines, e)
	}
	var err error
	if f.rms, err = resumption.NewResumptionMasterSecret(crypto.SHA256, bytes.Repeat([]byte{3}, 32)); err != nil {
		t.Fatal(err)
	}
	return f
}

// newRedisFleet is two engines sharing a real Redis replay store, with
// clocks fixed at one time.
func newRedisFleet(t *testing.T, srv *redistest.Server) *fleet {
	t.Helper()
	now := time.Now()
	clock := func() time.Time { return now }
	return newFleet(t, redisStores(t, srv, "fleet:"), nil, clock, clock)
}

// redisStores returns a constructor of Stores, each on its own client of
// srv, under one prefix.
func redisStores(t *testing.T, srv *redistest.Server, prefix string) func() resumption.ReplayStore {
	return func() resumption.ReplayStore {
		// A generous timeout: a loaded CI machine must not turn a slow answer
		// into a rejected 0-RTT and a flaky test.
		s, err := redisreplay.New(t.Context(), srv.NewClient(t), redisreplay.Options{Prefix: prefix, Timeout: 5 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
}

// earlyHello issues a ticket on engine i and returns a 0-RTT ClientHello
// offering it, sent as soon as the ticket arrived (by engine i's clock).
func (f *fleet) earlyHello(t *testing.T, i int) *engine.ClientHelloTLS13 {
	t.Helper()
	ti, err := f.engines[i].NewTicketIssuer(f.rms, &format.State{Version: format.VersionTLS13, CipherSuite: 0x1301, ServerName: "example.com", ALPN: "h2"})
	if err != nil {
		t.Fatal(err)
	}
	iss, err := ti.Issue()
	if err != nil {
		t.Fatal(err)
	}
	now := f.clocks[i]()
	ct, err := testkit.StoreTicket(iss.Message, f.rms, 0x1301, now)
	if err != nil {
		t.Fatal(err)
	}
	msg, err := testkit.OfferHello([]*resumption.ClientTicket{ct}, now, func(c *testkit.ClientHello) { c.EarlyData = true })
	if err != nil {
		t.Fatal(err)
	}
	return &engine.ClientHelloTLS13{Message: msg, CipherSuite: 0x1301, ServerName: "example.com", ALPN: "h2"}
}

// selectEarly runs ch through engine i; 1-RTT resumption must go on.
func (f *fleet) selectEarly(t *testing.T, i int, ch *engine.ClientHelloTLS13) engine.Selection {
	t.Helper()
	sel, err := f.engines[i].SelectTLS13(context.Background(), ch)
	if err != nil || !sel.Resumed {
		t.Fatalf("engine %d: resumed %v, err %v; a 0-RTT check must never stop 1-RTT resumption", i, sel.Resumed, err)
	}
	return sel
}

// TestReplayAcrossFleet: two engines sharing a real Redis accept a given
// 0-RTT ClientHello at most once between them, even when it is replayed to
// both at the same time.
func TestReplayAcrossFleet(t *testing.T) {
	srv := redistest.Start(t)
	f := newRedisFleet(t, srv)
	for round := 0; round < 3; round++ {
		ch := f.earlyHello(t, 0)
		var mu sync.Mutex
		accepted, resumed := 0, 0
		var wg sync.WaitGroup
		for i := 0; i < 20; i++ {
			wg.Go(func() {
				sel, err := f.engines[i%2].SelectTLS13(context.Background(), ch)
				mu.Lock()
				defer mu.Unlock()
				if err == nil && sel.Resumed {
					resumed++
				}
				if sel.EarlyData {
					accepted++
				} else if !errors.Is(sel.EarlyDataErr, engine.ErrEarlyDataReplay) {
					t.Errorf("0-RTT rejected for %v, want ErrEarlyDataReplay", sel.EarlyDataErr)
				}
			})
		}
		wg.Wait()
		if accepted != 1 || resumed != 20 {
			t.Fatalf("round %d: 0-RTT accepted %d times, resumed %d of 20; want 1 and 20", round, accepted, resumed)
		}
	}
}

// TestReplayAcrossSkewedFleet: two engines sharing a real Redis, with clocks
// apart by at most the configured MaxClockSkew, accept a 0-RTT ClientHello
// at most once, whichever sees it first. The replay arrives after the
// record would have expired had it lived only until the accepting server's
// window closed (expected arrival + window - now), while the second server,
// whose clock is behind the first's, still finds it fresh: only the replay
// record can stop it (resumption.ReplayTTL gives the margin). Redis expires
// records on real time, so the clocks are the real clock plus an offset,
// and the test waits for real.
func TestReplayAcrossSkewedFleet(t *testing.T) {
	const window, skew = 2 * time.Second, 3 * time.Second
	tests := []struct {
		name string
		// offsets of the engines' clocks; engine 0 issues the ticket.
		offsets [2]time.Duration
		// first and second are the engines that see the ClientHello, the
		// second after wait.
		first, second int
		wait          time.Duration
	}{
		// The record without the margin lives 2 s; B, 1 s behind, finds
		// the ClientHello fresh until 3 s.
		{"B 1s behind A, A first", [2]time.Duration{0, -time.Second}, 0, 1, 2500 * time.Millisecond},
		// The record without the margin lives 2 s; B, 3 s behind, finds
		// the ClientHello fresh from 1 s to 5 s.
		{"B 3s behind A, A first", [2]time.Duration{0, -3 * time.Second}, 0, 1, 2500 * time.Millisecond},
		// B, 1 s ahead of the issuer, sees an age 1 s off: the record
		// without the margin lives 1 s; A finds it fresh until 2 s.
		{"B 1s ahead of A, B first", [2]time.Duration{0, time.Second}, 1, 0, 1500 * time.Millisecond},
	}
	srv := redistest.Start(t)
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var clocks []func() time.Time
			for _, off := range tt.offsets {
				clocks = append(clocks, func() time.Time { return time.Now().Add(off) })
			}
			prefix := "skew" + string(rune('a'+i)) + ":"
			f := newFleet(t, redisStores(t, srv, prefix), func(c *engine.Config) {
				c.FreshnessWindow, c.MaxClockSkew = window, skew
			}, clocks...)
			ch := f.earlyHello(t, 0)
			if sel := f.selectEarly(t, tt.first, ch); !sel.EarlyData {
				t.Fatalf("engine %d, first sighting: 0-RTT rejected: %v", tt.first, sel.EarlyDataErr)
			}
			time.Sleep(tt.wait) // Redis expires on its own real clock
			if sel := f.selectEarly(t, tt.second, ch); sel.EarlyData || !errors.Is(sel.EarlyDataErr, engine.ErrEarlyDataReplay) {
				t.Fatalf("engine %d, %v later: early data %v (%v), want a rejected replay (ErrEarlyDataReplay)",
					tt.second, tt.wait, sel.EarlyData, sel.EarlyDataErr)
			}
		})
	}
}

// TestReplayClockStepsBack: one engine and a memory store; the engine's
// wall clock steps back 3 s (an NTP step) after it accepted a 0-RTT
// ClientHello. The store is not given the engine's clock: it keeps the real
// one and so measures elapsed time, as Redis does, and expires a record
// that covers only the accepting instant's window; the engine, its clock
// set back, finds the ClientHello fresh again. The skew margin of
// resumption.ReplayTTL must cover the step.
func TestReplayClockStepsBack(t *testing.T) {
	const window, skew = time.Second, 3 * time.Second
	wall := fakeclock.New(time.Now())
	store := resumption.NewMemoryStore(resumption.MemoryStoreConfig{Window: time.Millisecond})
	time.Sleep(2 * time.Millisecond) // the store's startup window
	f := newFleet(t, func() resumption.ReplayStore { return store }, func(c *engine.Config) {
		c.FreshnessWindow, c.MaxClockSkew = window, skew
	}, wall.Now)
	ch := f.earlyHello(t, 0)
	if sel := f.selectEarly(t, 0, ch); !sel.EarlyData {
		t.Fatalf("first sighting: 0-RTT rejected: %v", sel.EarlyDataErr)
	}
	const elapsed = 2500 * time.Millisecond
	time.Sleep(elapsed)
	wall.Advance(elapsed - 3*time.Second) // real time went on; the wall clock stepped back 3 s
	if sel := f.selectEarly(t, 0, ch); sel.EarlyData || !errors.Is(sel.EarlyDataErr, engine.ErrEarlyDataReplay) {
		t.Fatalf("after the step: early data %v (%v), want a rejected replay (ErrEarlyDataReplay)", sel.EarlyData, sel.EarlyDataErr)
	}
}

// TestReplayStoreFull: at its cap the memory store fails closed. 0-RTT is
// rejected and 1-RTT resumption goes on; a single-use ticket gets a full
// handshake, with no abort. Both recover when the records expire: 0-RTT
// records after the window plus twice the skew, single-use records after
// the ticket's remaining lifetime.
func TestReplayStoreFull(t *testing.T) {
	const window, skew = 2 * time.Second, time.Second
	clock := fakeclock.New(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	newFull := func(singleUse bool) *fleet {
		store := resumption.NewMemoryStore(resumption.MemoryStoreConfig{Window: window, MaxEntries: 2, Time: clock.Now})
		return newFleet(t, func() resumption.ReplayStore { return store }, func(c *engine.Config) {
			c.FreshnessWindow, c.MaxClockSkew, c.SingleUseTickets = window, skew, singleUse
			if singleUse {
				c.MaxEarlyData = 0 // one record per resumption: the ticket's
			}
		}, clock.Now)
	}
	early, once := newFull(false), newFull(true)
	clock.Advance(window) // the stores' startup window

	t.Run("EarlyData", func(t *testing.T) {
		for i := range 2 {
			if sel := early.selectEarly(t, 0, early.earlyHello(t, 0)); !sel.EarlyData {
				t.Fatalf("hello %d, store not full: 0-RTT rejected: %v", i, sel.EarlyDataErr)
			}
		}
		if sel := early.selectEarly(t, 0, early.earlyHello(t, 0)); sel.EarlyData || !errors.Is(sel.EarlyDataErr, engine.ErrEarlyDataReplay) {
			t.Fatalf("store full: early data %v (%v), want rejected as a possible replay", sel.EarlyData, sel.EarlyDataErr)
		}
		clock.Advance(window + 2*skew + time.Millisecond) // ReplayTTL of a hello on time
		if sel := early.selectEarly(t, 0, early.earlyHello(t, 0)); !sel.EarlyData {
			t.Fatalf("records expired: 0-RTT rejected: %v", sel.EarlyDataErr)
		}
	})
	t.Run("SingleUse", func(t *testing.T) {
		resume := func() engine.Selection {
			t.Helper()
			ch := once.earlyHello(t, 0)
			sel, err := once.engines[0].SelectTLS13(context.Background(), ch)
			if err != nil {
				t.Fatalf("a full replay store must not abort the handshake: %v", err)
			}
			return sel
		}
		for i := range 2 {
			if sel := resume(); !sel.Resumed {
				t.Fatalf("ticket %d, store not full: not resumed (%v)", i, sel.Fallback)
			}
		}
		if sel := resume(); sel.Resumed || !errors.Is(sel.Fallback, engine.ErrTicketReused) {
			t.Fatalf("store full: resumed %v (%v), want a full handshake for ErrTicketReused", sel.Resumed, sel.Fallback)
		}
		clock.Advance(engine.DefaultLifetime) // the tickets' remaining lifetime
		if sel := resume(); !sel.Resumed {
			t.Fatalf("records expired: not resumed (%v)", sel.Fallback)
		}
	})
}

// TestReplayRedisDown: with Redis stopped mid-test, 0-RTT is rejected (the
// store fails closed) and 1-RTT resumption goes on.
func TestReplayRedisDown(t *testing.T) {
	srv := redistest.Start(t)
	f := newRedisFleet(t, srv)
	if sel := f.selectEarly(t, 0, f.earlyHello(t, 0)); !sel.EarlyData {
		t.Fatalf("before the stop: early data rejected: %v", sel.EarlyDataErr)
	}
	srv.Stop()
	for i := range f.engines {
		sel := f.selectEarly(t, i, f.earlyHello(t, 0))
		if sel.EarlyData || !errors.Is(sel.EarlyDataErr, engine.ErrReplayStore) {
			t.Fatalf("engine %d with Redis down: early data %v (%v), want ErrReplayStore", i, sel.EarlyData, sel.EarlyDataErr)
		}
	}
}
