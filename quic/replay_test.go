package quic_test

import (
	"testing"

	"github.com/tlsticket/tlsticket/engine"
	"github.com/tlsticket/tlsticket/quic/internal/loopback"
)

// TestReplayedFirstFlight replays a resuming client's first flight (its
// Initial and 0-RTT packets, captured by a UDP relay) from another source
// port after the connection closed: the server application must see the
// 0-RTT request at most once (RFC 8446, Section 8; RFC 9001, Section 9.2).
func TestReplayedFirstFlight(t *testing.T) {
	id := newIdentity(t)
	var log earlyLog
	n := startNode(t, nodeConfig(id, testKeys(t), testStore(), &log))
	relay := startRelay(t, n)
	cache := loopback.NewSessionCache()
	firstTicket(t, id, cache, relay.Addr.String())

	p := newPayload("early")
	relay.HoldUntilEarlyData()
	res := exchange(t, id, cache, relay.Addr.String(), p)
	if !res.Resumed || !res.Used0RTT {
		t.Fatalf("resumed %v, 0-RTT %v: want a 0-RTT resumption", res.Resumed, res.Used0RTT)
	}
	flight := relay.FirstFlight(res.Local)
	if len(flight) == 0 {
		t.Fatal("no first flight captured")
	}
	if err := loopback.ReplayUntilAsked(n.Addr, flight, &log.EarlyLog); err != nil {
		t.Fatal(err)
	}
	got := n.WaitReceived(p, 2, settle)
	if len(got) != 1 || countEarly(got) != 1 {
		t.Fatalf("the 0-RTT request reached the application %d times (%d in 0-RTT) after a replay of its %d-datagram first flight: %+v",
			len(got), countEarly(got), len(flight), got)
	}
	// The server resumed the replayed ticket and refused its 0-RTT.
	log.wantAnswer(t, engine.ErrEarlyDataReplay)
}

// TestTwoClientsOneTicket: two clients present the same ticket with 0-RTT;
// at most one of them gets its 0-RTT data accepted, and both resume.
func TestTwoClientsOneTicket(t *testing.T) {
	id := newIdentity(t)
	n := startNode(t, loopback.NodeConfig{Identity: id, Keys: testKeys(t), ReplayStore: testStore(),
		MaxEarlyData: 16384, Allow0RTT: true})
	cache := loopback.NewSessionCache()
	firstTicket(t, id, cache, n.Addr.String())

	accepted := 0
	for i := range 2 {
		res := exchange(t, id, cache.Clone(), n.Addr.String(), newPayload("shared"))
		if !res.Resumed {
			t.Errorf("client %d did not resume", i)
		}
		if res.Used0RTT {
			accepted++
		}
	}
	if accepted > 1 {
		t.Fatalf("0-RTT accepted for %d clients presenting one ticket, want at most 1", accepted)
	}
}
