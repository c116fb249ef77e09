package conformance

import (
	"bytes"
	"context"
	"crypto"
	"crypto/sha256"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/tlsticket/tlsticket/engine"
	"github.com/tlsticket/tlsticket/format"
	"github.com/tlsticket/tlsticket/internal/redistest"
	"github.com/tlsticket/tlsticket/internal/testkit"
	"github.com/tlsticket/tlsticket/resumption"
	"github.com/tlsticket/tlsticket/resumption/redisreplay"
	"github.com/tlsticket/tlsticket/seal"
)

// fleet is two engines sharing one key ring and one real Redis replay store.
type fleet struct {
	engines [2]*engine.Engine
	rms     *resumption.ResumptionMasterSecret
	now     time.Time
}

func newFleet(t *testing.T, srv *redistest.Server) *fleet {
	t.Helper()
	sum := sha256.Sum256([]byte("fleet key"))
	key, err := seal.NewKey(seal.AES256GCM, sum[:])
	if err != nil {
		t.Fatal(err)
	}
	ring, err := seal.NewRing(nil, key)
	if err != nil {
		t.Fatal(err)
	}
	keys := seal.NewKeyring(ring)
	f := &fleet{now: time.Now()}
	clock := func() time.Time { return f.now }
	for i := range f.engines {
		// A generous timeout: a loaded CI machine must not turn a slow answer
		// into a rejected 0-RTT and a flaky test.
		store := redisreplay.New(srv.NewClient(t), redisreplay.Options{Prefix: "fleet:", Timeout: 5 * time.Second})
		e, err := engine.New(&engine.Config{Keys: keys, Time: clock, MaxEarlyData: 4096, ReplayStore: store})
		if err != nil {
			t.Fatal(err)
		}
		f.engines[i] = e
	}
	if f.rms, err = resumption.NewResumptionMasterSecret(crypto.SHA256, bytes.Repeat([]byte{3}, 32)); err != nil {
		t.Fatal(err)
	}
	return f
}

// earlyHello issues a ticket on engine 0 and returns a 0-RTT ClientHello
// offering it.
func (f *fleet) earlyHello(t *testing.T) *engine.ClientHelloTLS13 {
	t.Helper()
	ti, err := f.engines[0].NewTicketIssuer(f.rms, &format.State{Version: format.VersionTLS13, CipherSuite: 0x1301, ServerName: "example.com", ALPN: "h2"})
	if err != nil {
		t.Fatal(err)
	}
	iss, err := ti.Issue()
	if err != nil {
		t.Fatal(err)
	}
	ct, err := testkit.StoreTicket(iss.Message, f.rms, 0x1301, f.now)
	if err != nil {
		t.Fatal(err)
	}
	msg, err := testkit.OfferHello([]*resumption.ClientTicket{ct}, f.now, func(c *testkit.ClientHello) { c.EarlyData = true })
	if err != nil {
		t.Fatal(err)
	}
	return &engine.ClientHelloTLS13{Message: msg, CipherSuite: 0x1301, ServerName: "example.com", ALPN: "h2"}
}

// TestReplayAcrossFleet: two engines sharing a real Redis accept a given
// 0-RTT ClientHello at most once between them, even when it is replayed to
// both at the same time.
func TestReplayAcrossFleet(t *testing.T) {
	srv := redistest.Start(t)
	f := newFleet(t, srv)
	for round := 0; round < 3; round++ {
		ch := f.earlyHello(t)
		var mu sync.Mutex
		accepted, resumed := 0, 0
		var wg sync.WaitGroup
		for i := 0; i < 20; i++ {
			wg.Add(1)
			go func(e *engine.Engine) {
				defer wg.Done()
				sel, err := e.SelectTLS13(context.Background(), ch)
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
			}(f.engines[i%2])
		}
		wg.Wait()
		if accepted != 1 || resumed != 20 {
			t.Fatalf("round %d: 0-RTT accepted %d times, resumed %d of 20; want 1 and 20", round, accepted, resumed)
		}
	}
}

// TestReplayRedisDown: with Redis stopped mid-test, 0-RTT is rejected (the
// store fails closed) and 1-RTT resumption goes on.
func TestReplayRedisDown(t *testing.T) {
	srv := redistest.Start(t)
	f := newFleet(t, srv)
	if sel, err := f.engines[0].SelectTLS13(context.Background(), f.earlyHello(t)); err != nil || !sel.EarlyData {
		t.Fatalf("before the stop: early data %v (%v) err %v", sel.EarlyData, sel.EarlyDataErr, err)
	}
	srv.Stop()
	for i, e := range f.engines {
		sel, err := e.SelectTLS13(context.Background(), f.earlyHello(t))
		if err != nil || !sel.Resumed {
			t.Fatalf("engine %d with Redis down: resumed %v err %v; 1-RTT must go on", i, sel.Resumed, err)
		}
		if sel.EarlyData || !errors.Is(sel.EarlyDataErr, engine.ErrReplayStore) {
			t.Fatalf("engine %d with Redis down: early data %v (%v), want ErrReplayStore", i, sel.EarlyData, sel.EarlyDataErr)
		}
	}
}
