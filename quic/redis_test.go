package quic_test

import (
	"context"
	"testing"

	"github.com/tlsticket/tlsticket/engine"
	"github.com/tlsticket/tlsticket/internal/redistest"
	"github.com/tlsticket/tlsticket/quic/internal/loopback"
	"github.com/tlsticket/tlsticket/resumption/redisreplay"
)

// fleet is two replicas sharing one key ring and one real Redis replay
// store, each logging its 0-RTT answers.
type fleet struct {
	id    *loopback.Identity
	redis *redistest.Server
	nodes [2]*loopback.Node
	logs  [2]*earlyLog
}

func newFleet(t *testing.T) *fleet {
	t.Helper()
	f := &fleet{id: newIdentity(t), redis: redistest.Start(t)}
	keys := testKeys(t)
	for i := range f.nodes {
		// One store per replica, as on separate machines, on one Redis.
		store, err := redisreplay.New(context.Background(), f.redis.NewClient(t), redisreplay.Options{Prefix: t.Name() + ":"})
		if err != nil {
			t.Fatal(err)
		}
		f.logs[i] = new(earlyLog)
		f.nodes[i] = startNode(t, nodeConfig(f.id, keys, store, f.logs[i]))
	}
	return f
}

// TestReplicasResumeEachOther: each replica resumes the other's tickets,
// with 0-RTT, and each ticket's 0-RTT is accepted once in the fleet.
func TestReplicasResumeEachOther(t *testing.T) {
	f := newFleet(t)
	cache := loopback.NewSessionCache()
	firstTicket(t, f.id, cache, f.nodes[0].Addr.String())
	for i := range 4 {
		n := f.nodes[(i+1)%2] // the replica that did not issue the ticket
		used := cache.Clone()
		res := exchange(t, f.id, cache, n.Addr.String(), newPayload("early"))
		if !res.Resumed || !res.Used0RTT {
			t.Fatalf("resumption %d on replica %d: resumed %v, 0-RTT %v; want 0-RTT", i, (i+1)%2, res.Resumed, res.Used0RTT)
		}
		// The same ticket on the replica that issued it: 1-RTT only.
		res = exchange(t, f.id, used, f.nodes[i%2].Addr.String(), newPayload("again"))
		if !res.Resumed || res.Used0RTT {
			t.Fatalf("ticket %d again on the other replica: resumed %v, 0-RTT %v; want 1-RTT", i, res.Resumed, res.Used0RTT)
		}
		f.logs[i%2].wantAnswer(t, engine.ErrEarlyDataReplay)
	}
}

// TestReplayAcrossReplicas replays a first flight accepted by one replica
// to the other, which shares the Redis store: the application sees the
// 0-RTT request once in the fleet.
func TestReplayAcrossReplicas(t *testing.T) {
	f := newFleet(t)
	relay := startRelay(t, f.nodes[0])
	cache := loopback.NewSessionCache()
	firstTicket(t, f.id, cache, relay.Addr.String())
	p := newPayload("early")
	relay.HoldUntilEarlyData()
	res := exchange(t, f.id, cache, relay.Addr.String(), p)
	if !res.Resumed || !res.Used0RTT {
		t.Fatalf("resumed %v, 0-RTT %v: want a 0-RTT resumption", res.Resumed, res.Used0RTT)
	}
	flight := relay.FirstFlight(res.Local)
	for i, n := range f.nodes {
		if err := loopback.ReplayUntilAsked(n.Addr, flight, &f.logs[i].EarlyLog); err != nil {
			t.Fatal(err)
		}
		f.logs[i].wantAnswer(t, engine.ErrEarlyDataReplay)
	}
	got0 := f.nodes[0].WaitReceived(p, 2, settle)
	got1 := f.nodes[1].WaitReceived(p, 1, settle)
	if len(got0)+len(got1) != 1 {
		t.Fatalf("the 0-RTT request reached the fleet's application %d times: %+v %+v", len(got0)+len(got1), got0, got1)
	}
}

// TestRedisDown: with Redis stopped, or hung, 0-RTT is rejected within the
// adapter's time limit and resumption goes on in 1-RTT.
func TestRedisDown(t *testing.T) {
	for _, down := range []string{"stopped", "paused"} {
		t.Run(down, func(t *testing.T) {
			f := newFleet(t)
			cache := loopback.NewSessionCache()
			firstTicket(t, f.id, cache, f.nodes[0].Addr.String())
			if down == "stopped" {
				f.redis.Stop()
			} else {
				f.redis.Pause(t)
			}
			for i := range 2 {
				res := exchange(t, f.id, cache, f.nodes[1].Addr.String(), newPayload("early"))
				if !res.Resumed || res.Used0RTT {
					t.Fatalf("resumption %d: resumed %v, 0-RTT %v; want 1-RTT", i, res.Resumed, res.Used0RTT)
				}
				f.logs[1].wantAnswer(t, engine.ErrReplayStore)
			}
		})
	}
}
