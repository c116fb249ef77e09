package conformance

import (
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tlsticket/tlsticket/engine"
	"github.com/tlsticket/tlsticket/format"
	"github.com/tlsticket/tlsticket/internal/testkit"
	"github.com/tlsticket/tlsticket/resumption"
)

// TestAdversarialReplay: a 0-RTT ClientHello is accepted at most once, on
// one engine and across engines sharing a store, and never outside the
// freshness window; a single-use ticket resumes once. (Redis-backed fleets:
// conformance/replay_test.go.)
func TestAdversarialReplay(t *testing.T) {
	early := func(c *testkit.ClientHello) { c.EarlyData = true }
	selectEarly := func(t *testing.T, a *adv, e *engine.Engine, msg []byte) engine.Selection {
		t.Helper()
		sel, err := a.selectHello(e, msg, advSuite, advSNI, advALPN)
		if err != nil || !sel.Resumed {
			t.Fatalf("1-RTT resumption must go on: resumed %v, error %v", sel.Resumed, err)
		}
		return sel
	}
	tests := []struct {
		name string
		run  func(t *testing.T, a *adv)
	}{
		{"same-engine-within-window", func(t *testing.T, a *adv) {
			msg := a.hello(t, []*resumption.ClientTicket{a.clientTicket(t, a.e)}, early)
			if sel := selectEarly(t, a, a.e, msg); !sel.EarlyData {
				t.Fatalf("control: first 0-RTT rejected: %v", sel.EarlyDataErr)
			}
			a.clock.Advance(time.Second)
			if sel := selectEarly(t, a, a.e, msg); sel.EarlyData || !errors.Is(sel.EarlyDataErr, engine.ErrEarlyDataReplay) {
				t.Fatalf("replay: 0-RTT %v (%v), want ErrEarlyDataReplay", sel.EarlyData, sel.EarlyDataErr)
			}
		}},
		{"same-engine-outside-window", func(t *testing.T, a *adv) {
			msg := a.hello(t, []*resumption.ClientTicket{a.clientTicket(t, a.e)}, early)
			if sel := selectEarly(t, a, a.e, msg); !sel.EarlyData {
				t.Fatalf("control: first 0-RTT rejected: %v", sel.EarlyDataErr)
			}
			for _, wait := range []time.Duration{resumption.DefaultFreshnessWindow + time.Millisecond, time.Hour} {
				a.clock.Advance(wait)
				if sel := selectEarly(t, a, a.e, msg); sel.EarlyData || !errors.Is(sel.EarlyDataErr, engine.ErrEarlyDataStale) {
					t.Fatalf("replay after %v: 0-RTT %v (%v), want ErrEarlyDataStale", wait, sel.EarlyData, sel.EarlyDataErr)
				}
			}
		}},
		{"two-engines-one-store", func(t *testing.T, a *adv) {
			msg := a.hello(t, []*resumption.ClientTicket{a.clientTicket(t, a.e)}, early)
			if sel := selectEarly(t, a, a.e, msg); !sel.EarlyData {
				t.Fatalf("control: first 0-RTT rejected: %v", sel.EarlyDataErr)
			}
			if sel := selectEarly(t, a, a.engine(t, nil), msg); sel.EarlyData || !errors.Is(sel.EarlyDataErr, engine.ErrEarlyDataReplay) {
				t.Fatalf("replay to the second engine: 0-RTT %v (%v), want ErrEarlyDataReplay", sel.EarlyData, sel.EarlyDataErr)
			}
		}},
		{"two-engines-one-store-concurrent", func(t *testing.T, a *adv) {
			msg := a.hello(t, []*resumption.ClientTicket{a.clientTicket(t, a.e)}, early)
			engines := []*engine.Engine{a.e, a.engine(t, nil)}
			var accepted atomic.Int64
			var wg sync.WaitGroup
			for i := range 32 {
				wg.Go(func() {
					if sel, err := a.selectHello(engines[i%2], msg, advSuite, advSNI, advALPN); err == nil && sel.EarlyData {
						accepted.Add(1)
					}
				})
			}
			wg.Wait()
			if n := accepted.Load(); n != 1 {
				t.Fatalf("0-RTT accepted %d times, want once", n)
			}
		}},
		{"restarted-server-fresh-store", func(t *testing.T, a *adv) {
			msg := a.hello(t, []*resumption.ClientTicket{a.clientTicket(t, a.e)}, early)
			if sel := selectEarly(t, a, a.e, msg); !sel.EarlyData {
				t.Fatalf("control: first 0-RTT rejected: %v", sel.EarlyDataErr)
			}
			// The restarted instance cannot know what it accepted before:
			// its store answers not fresh for a window (RFC 8446, 8.2).
			store := resumption.NewMemoryStore(resumption.MemoryStoreConfig{Time: a.clock.Now})
			restarted := a.engine(t, func(c *engine.Config) { c.ReplayStore = store })
			if sel := selectEarly(t, a, restarted, msg); sel.EarlyData || !errors.Is(sel.EarlyDataErr, engine.ErrEarlyDataReplay) {
				t.Fatalf("replay after restart: 0-RTT %v (%v), want ErrEarlyDataReplay", sel.EarlyData, sel.EarlyDataErr)
			}
		}},
		{"single-use-ticket", func(t *testing.T, a *adv) {
			e := a.engine(t, func(c *engine.Config) { c.SingleUseTickets = true })
			tk := a.issue(t, e, format.VersionTLS12, nil)
			mustResume(t, e, format.VersionTLS12, tk)
			if d, err := e.Open(advConn(format.VersionTLS12), true, tk); err != nil || d.Resumed || !errors.Is(d.Fallback, engine.ErrTicketReused) {
				t.Fatalf("second use: resumed %v, fallback %v, error %v; want ErrTicketReused", d.Resumed, d.Fallback, err)
			}
			msg := a.hello(t, []*resumption.ClientTicket{a.clientTicket(t, e)}, nil)
			selectEarly(t, a, e, msg)
			if sel, err := a.selectHello(e, msg, advSuite, advSNI, advALPN); err != nil || sel.Resumed || !errors.Is(sel.Fallback, engine.ErrTicketReused) {
				t.Fatalf("second use: resumed %v, fallback %v, error %v; want ErrTicketReused", sel.Resumed, sel.Fallback, err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.run(t, newAdv(t, nil)) })
	}
}
