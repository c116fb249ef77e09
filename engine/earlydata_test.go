package engine

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/tlsticket/tlsticket/internal/testkit"
	"github.com/tlsticket/tlsticket/resumption"
)

func withEarlyData(c *testkit.ClientHello) { c.EarlyData = true }

// failingStore is a replay store whose backend is down.
type failingStore struct{}

func (failingStore) CheckAndStore(context.Context, []byte, time.Duration) (bool, error) {
	return false, errors.New("connection refused")
}

func TestEarlyData(t *testing.T) {
	tests := []struct {
		name    string
		adjust  func(*Config)
		prepare func(t *testing.T, f *tls13Fixture) []byte // returns the ClientHello
		want    error                                      // nil: accepted
	}{
		{"accepted", nil, func(t *testing.T, f *tls13Fixture) []byte {
			return f.hello(t, []*resumption.ClientTicket{f.ticket(t, f.e, "x")}, withEarlyData)
		}, nil},
		{"not the first identity", nil, func(t *testing.T, f *tls13Fixture) []byte {
			return f.hello(t, []*resumption.ClientTicket{f.ticket(t, f.other, "x"), f.ticket(t, f.e, "y")}, withEarlyData)
		}, ErrEarlyDataNotFirst},
		{"server allows none", func(c *Config) { c.MaxEarlyData = 0 }, func(t *testing.T, f *tls13Fixture) []byte {
			return f.hello(t, []*resumption.ClientTicket{f.ticket(t, f.e, "x")}, withEarlyData)
		}, ErrEarlyDataDisabled},
		{"no replay store", func(c *Config) { c.ReplayStore = nil }, func(t *testing.T, f *tls13Fixture) []byte {
			return f.hello(t, []*resumption.ClientTicket{f.ticket(t, f.e, "x")}, withEarlyData)
		}, ErrNoReplayStore},
		{"store down", func(c *Config) { c.ReplayStore = failingStore{} }, func(t *testing.T, f *tls13Fixture) []byte {
			return f.hello(t, []*resumption.ClientTicket{f.ticket(t, f.e, "x")}, withEarlyData)
		}, ErrReplayStore},
		{"client age too old", nil, func(t *testing.T, f *tls13Fixture) []byte {
			ct := f.ticket(t, f.e, "x")
			ct.ReceivedAt = ct.ReceivedAt.Add(-time.Minute) // the client claims the ticket is a minute older
			return f.hello(t, []*resumption.ClientTicket{ct}, withEarlyData)
		}, ErrEarlyDataStale},
		{"held back past the window", nil, func(t *testing.T, f *tls13Fixture) []byte {
			msg := f.hello(t, []*resumption.ClientTicket{f.ticket(t, f.e, "x")}, withEarlyData)
			f.clock.Advance(resumption.DefaultFreshnessWindow + time.Millisecond)
			return msg
		}, ErrEarlyDataStale},
		{"server restarted", func(c *Config) {
			// A store created now, as after a restart: it refuses 0-RTT for a window.
			c.ReplayStore = resumption.NewMemoryStore(resumption.MemoryStoreConfig{Time: c.Time})
		}, func(t *testing.T, f *tls13Fixture) []byte {
			return f.hello(t, []*resumption.ClientTicket{f.ticket(t, f.e, "x")}, withEarlyData)
		}, ErrEarlyDataReplay},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newTLS13Fixture(t, tt.adjust)
			sel, err := f.selectHello(t, tt.prepare(t, f))
			if err != nil || !sel.Resumed {
				t.Fatalf("resumed %v err %v: a 0-RTT check must never stop 1-RTT resumption", sel.Resumed, err)
			}
			if sel.EarlyData != (tt.want == nil) || !errors.Is(sel.EarlyDataErr, tt.want) {
				t.Fatalf("early data %v (%v), want error %v", sel.EarlyData, sel.EarlyDataErr, tt.want)
			}
		})
	}
}

// TestEarlyDataReplay: one engine accepts a given 0-RTT ClientHello at most
// once, within the window; outside it, freshness rejects it.
func TestEarlyDataReplay(t *testing.T) {
	f := newTLS13Fixture(t, nil)
	msg := f.hello(t, []*resumption.ClientTicket{f.ticket(t, f.e, "x")}, withEarlyData)
	accepted := 0
	for i := 0; i < 5; i++ {
		sel, err := f.selectHello(t, msg)
		if err != nil || !sel.Resumed {
			t.Fatalf("replay %d: resumed %v err %v", i, sel.Resumed, err)
		}
		if sel.EarlyData {
			accepted++
		} else if !errors.Is(sel.EarlyDataErr, ErrEarlyDataReplay) {
			t.Errorf("replay %d rejected for %v, want ErrEarlyDataReplay", i, sel.EarlyDataErr)
		}
		f.clock.Advance(time.Second)
	}
	f.clock.Advance(resumption.DefaultFreshnessWindow)
	if sel, _ := f.selectHello(t, msg); sel.EarlyData || !errors.Is(sel.EarlyDataErr, ErrEarlyDataStale) {
		t.Errorf("after the window: early data %v (%v), want ErrEarlyDataStale", sel.EarlyData, sel.EarlyDataErr)
	}
	if accepted != 1 {
		t.Fatalf("0-RTT accepted %d times, want exactly 1", accepted)
	}
}
