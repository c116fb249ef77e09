package quic_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tlsticket/tlsticket/internal/testkit"
	"github.com/tlsticket/tlsticket/quic/internal/loopback"
	"github.com/tlsticket/tlsticket/resumption"
	"github.com/tlsticket/tlsticket/seal"
)

// exchangeTimeout bounds one client exchange; on loopback one takes
// milliseconds.
const exchangeTimeout = 5 * time.Second

// closedConnGrace is how long a test waits after a connection closed
// before replaying its first flight: quic-go answers a closed connection's
// IDs with CONNECTION_CLOSE for 3 PTO (under 100 ms on loopback); after
// that a replayed Initial starts a new connection, as it would reaching
// another server.
const closedConnGrace = 300 * time.Millisecond

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

func testKeys(t *testing.T) *seal.Keyring {
	t.Helper()
	return seal.NewKeyring(testkit.Ring(t, testkit.Key(t, seal.AES256GCM, "quic")))
}

func newIdentity(t *testing.T) *loopback.Identity {
	t.Helper()
	id, err := loopback.NewIdentity()
	if err != nil {
		t.Fatal(err)
	}
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

// firstTicket runs a full handshake against addr and waits for its ticket.
func firstTicket(t *testing.T, id *loopback.Identity, cache *loopback.SessionCache, addr string) {
	t.Helper()
	if res := exchange(t, id, cache, addr, newPayload("full")); res.Resumed {
		t.Fatal("the first handshake resumed")
	}
	waitTicket(t, cache)
}

func waitTicket(t *testing.T, cache *loopback.SessionCache) {
	t.Helper()
	select {
	case <-cache.Stored():
	case <-time.After(exchangeTimeout):
		t.Fatal("no session ticket received")
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
