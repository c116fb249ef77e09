package quic_test

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tlsticket/tlsticket/engine/tlsadapter"
	"github.com/tlsticket/tlsticket/internal/testkit"
	"github.com/tlsticket/tlsticket/quic/internal/loopback"
	"github.com/tlsticket/tlsticket/resumption"
	"github.com/tlsticket/tlsticket/seal"
)

// exchangeTimeout bounds one client exchange; on loopback one takes
// milliseconds.
const exchangeTimeout = 5 * time.Second

// settle is how long a test waits, after the server answered a replayed
// flight, for the replayed 0-RTT data to reach the application if the
// server accepted it. On loopback it arrives in well under a millisecond.
const settle = 300 * time.Millisecond

var payloadSeq atomic.Uint64

// newPayload returns a request payload no other request of the test run uses.
func newPayload(name string) string {
	return fmt.Sprintf("%s-%d", name, payloadSeq.Add(1))
}

// testStore returns a memory replay store without its start-up window,
// which would refuse 0-RTT for the first seconds of every test.
func testStore() *resumption.MemoryStore {
	return resumption.NewMemoryStore(resumption.MemoryStoreConfig{Window: time.Nanosecond})
}

func testKeys(t testing.TB) *seal.Keyring {
	t.Helper()
	return seal.NewKeyring(testkit.Ring(t, testkit.Key(t, seal.AES256GCM, "quic")))
}

func newIdentity(t *testing.T) *loopback.Identity {
	t.Helper()
	id := loopback.NewIdentity()
	return id
}

func startNode(t *testing.T, cfg loopback.NodeConfig) *loopback.Node {
	t.Helper()
	n, err := loopback.StartNode(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	return n
}

func startRelay(t *testing.T, n *loopback.Node) *loopback.Relay {
	t.Helper()
	r, err := loopback.NewRelay(n.Addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

// exchange runs one client exchange with payload p against addr.
func exchange(t *testing.T, id *loopback.Identity, cache *loopback.SessionCache, addr, p string) loopback.Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), exchangeTimeout)
	defer cancel()
	res, err := loopback.Exchange(ctx, addr, id.ClientTLS(cache), nil, p)
	if err != nil {
		t.Fatalf("exchange %q: %v", p, err)
	}
	if want := "ok " + p; res.Reply != want {
		t.Fatalf("reply %q, want %q", res.Reply, want)
	}
	return res
}

// firstTicket runs a full handshake against addr, which stores a ticket.
func firstTicket(t *testing.T, id *loopback.Identity, cache *loopback.SessionCache, addr string) {
	t.Helper()
	if res := exchange(t, id, cache, addr, newPayload("full")); res.Resumed {
		t.Fatal("the first handshake resumed")
	}
}

// countEarly returns how many of rs were read on connections that used 0-RTT.
func countEarly(rs []loopback.Received) int {
	n := 0
	for _, r := range rs {
		if r.Used0RTT {
			n++
		}
	}
	return n
}

// earlyLog is the adapter's 0-RTT log, with the tests' assertion.
type earlyLog struct{ loopback.EarlyLog }

func (l *earlyLog) install(a *tlsadapter.Adapter) { l.Install(a) }

// wantAnswer checks the adapter's last 0-RTT answer: want nil for an
// approval, or the reason for a refusal.
func (l *earlyLog) wantAnswer(t *testing.T, want error) {
	t.Helper()
	got, ok := l.Last()
	if !ok {
		t.Fatalf("the adapter was not asked about 0-RTT, want answer %v", want)
	}
	if (want == nil) != (got == nil) || !errors.Is(got, want) {
		t.Fatalf("adapter's 0-RTT answer %v, want %v", got, want)
	}
}

// nodeConfig is the configuration of a 0-RTT server sharing keys and store,
// logging to log (if not nil).
func nodeConfig(id *loopback.Identity, keys *seal.Keyring, store resumption.ReplayStore, log *earlyLog) loopback.NodeConfig {
	cfg := loopback.NodeConfig{Identity: id, Keys: keys, ReplayStore: store, MaxEarlyData: 16384, Allow0RTT: true}
	if log != nil {
		cfg.Adjust = log.install
	}
	return cfg
}
