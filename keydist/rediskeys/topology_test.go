package rediskeys_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tlsticket/tlsticket/internal/redistest"
	"github.com/tlsticket/tlsticket/keydist"
	"github.com/tlsticket/tlsticket/keydist/rediskeys"
	"github.com/tlsticket/tlsticket/keyfile"
	"github.com/tlsticket/tlsticket/seal"
)

// failoverTimeout bounds the wait for a promotion, and then for Redis to
// answer a publisher or install a bundle.
const failoverTimeout = 20 * time.Second

// run runs a new Subscriber for nd on client, polling every poll, until the
// test ends.
func (f *fleet) run(t *testing.T, nd *node, client redis.UniversalClient, poll time.Duration) {
	t.Helper()
	opts := rediskeys.Options{Prefix: f.prefix, Timeout: testTimeout, PollInterval: poll,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	sub, err := rediskeys.NewSubscriber(client, nd.member, nd.id, opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		sub.Run(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
}

// waitEpoch waits until every member has installed epoch, for at most
// timeout.
func (f *fleet) waitEpoch(t *testing.T, epoch uint64, timeout time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	for _, nd := range f.nodes {
		for nd.member.Epoch() != epoch {
			if time.Since(start) > timeout {
				t.Fatalf("%s at epoch %d %v later, want %d", nd.id, nd.member.Epoch(), timeout, epoch)
			}
			time.Sleep(5 * time.Millisecond) // Run installs in its own goroutine
		}
	}
	return time.Since(start)
}

// publishRetry publishes until Redis answers, as a publisher must after a
// failover, for at most failoverTimeout.
func (f *fleet) publishRetry(t *testing.T, epoch uint64, keys ...keyfile.KeyEntry) {
	t.Helper()
	deadline := time.Now().Add(failoverTimeout)
	b := &keydist.Bundle{Fleet: "edge", Epoch: epoch, Keys: keys}
	for _, nd := range f.nodes {
		for {
			err := f.publisher.Publish(t.Context(), nd.id, nd.key.Public(), b)
			if err == nil {
				break
			}
			if !errors.Is(err, rediskeys.ErrUnavailable) || time.Now().After(deadline) {
				t.Fatalf("Publish(%s, epoch %d): %v", nd.id, epoch, err)
			}
			time.Sleep(50 * time.Millisecond) // the client finding the new master
		}
	}
}

// allInstalled reports whether every member has installed a bundle.
func (f *fleet) allInstalled() bool {
	for _, nd := range f.nodes {
		if nd.member.Epoch() == 0 {
			return false
		}
	}
	return true
}

func activeEntry(t *testing.T, now time.Time) keyfile.KeyEntry {
	return entry(t, seal.Phases{Announce: now, Activate: now, DecryptOnly: now.Add(6 * time.Hour), Retire: now.Add(18 * time.Hour)})
}

// TestClusterNotified runs members on a Redis Cluster: their keys are on
// different masters, and the publisher's notification (PUBLISH from the
// script, which a cluster broadcasts to every node) reaches subscribers
// connected to other nodes, long before their next poll.
func TestClusterNotified(t *testing.T) {
	c := redistest.StartCluster(t)
	start := time.Now()
	f := newFleetOn(t, 4, start, func() redis.UniversalClient { return c.NewClient(t) })
	masters := map[*redistest.Server]bool{}
	for _, nd := range f.nodes {
		masters[c.MasterFor(t, f.prefix+"member:"+nd.id)] = true
		f.run(t, nd, c.NewClient(t), time.Hour)
	}
	if len(masters) < 2 {
		t.Fatal("every member's key is on one master; pick other member IDs")
	}
	a := activeEntry(t, start)
	// The subscriptions may not be in place yet: publish until installed.
	for epoch := uint64(1); !f.allInstalled(); epoch++ {
		if epoch > 50 {
			t.Fatal("Run did not install a notified bundle on the cluster")
		}
		f.publish(t, epoch, a)
		time.Sleep(100 * time.Millisecond) // waiting for a notification of a real server
	}
}

// TestClusterFailover kills the master holding a member's key: the
// publisher's next publication, once the replica is promoted, reaches the
// member (by notification or by polling).
func TestClusterFailover(t *testing.T) {
	c := redistest.StartCluster(t)
	start := time.Now()
	f := newFleetOn(t, 1, start, func() redis.UniversalClient { return c.NewClient(t) })
	f.run(t, f.nodes[0], c.NewClient(t), 200*time.Millisecond)
	a := activeEntry(t, start)
	f.publish(t, 1, a)
	f.waitEpoch(t, 1, 5*time.Second)
	victim := c.MasterFor(t, f.prefix+"member:m1")
	victim.Stop()
	took := c.WaitPromoted(t, f.prefix+"member:m1", victim, failoverTimeout)
	f.publishRetry(t, 2, a)
	t.Logf("promotion %v after the SIGKILL; epoch 2 installed %v after it was stored", took, f.waitEpoch(t, 2, 5*time.Second))
}

// TestSentinelFailover proves on a real failover that a member never goes
// back: the replica misses epoch 2, the member installs it from the
// master, the master dies and the stale replica is promoted. The member
// keeps epoch 2 while Redis holds epoch 1, and catches up by polling with
// the publisher's next epoch.
func TestSentinelFailover(t *testing.T) {
	d := redistest.StartSentinel(t)
	start := time.Now()
	f := newFleetOn(t, 1, start, func() redis.UniversalClient { return d.NewClient(t) })
	const poll = 200 * time.Millisecond
	f.run(t, f.nodes[0], d.NewClient(t), poll)
	a := activeEntry(t, start)
	f.publish(t, 1, a)
	f.waitEpoch(t, 1, 5*time.Second)
	master := d.Master.NewClient(t)
	if n, err := master.Wait(t.Context(), 1, time.Second).Result(); err != nil || n != 1 {
		t.Fatalf("WAIT for epoch 1 on the replica: %d, %v", n, err)
	}

	// Cut the replica off before epoch 2: paused, it cannot reconnect
	// before the master dies.
	d.Replica.Pause(t)
	if err := master.ClientKillByFilter(t.Context(), "TYPE", "replica").Err(); err != nil {
		t.Fatal(err)
	}
	f.publish(t, 2, a)
	f.waitEpoch(t, 2, 5*time.Second)
	d.Master.Stop()
	d.Replica.Resume(t)
	promoted, took := d.WaitFailover(t, d.Master, failoverTimeout)
	t.Logf("promotion %v after the SIGKILL", took)

	key := f.prefix + "member:m1"
	if epoch, err := promoted.NewClient(t).HGet(t.Context(), key, "epoch").Result(); err != nil || epoch != "00000000000000000001" {
		t.Fatalf("promoted replica holds epoch %q (%v), want epoch 1: the test did not make it miss epoch 2", epoch, err)
	}
	// The member polls the rolled-back Redis and keeps epoch 2.
	time.Sleep(5 * poll)
	if err := f.nodes[0].sub.Poll(t.Context()); err != nil {
		t.Fatalf("Poll of the rolled-back Redis: %v", err)
	}
	if e := f.nodes[0].member.Epoch(); e != 2 {
		t.Fatalf("member at epoch %d after a failover to a replica holding epoch 1, want 2", e)
	}
	// The publisher still knows epoch 2 and publishes 3, which the
	// rolled-back Redis accepts; the member catches up.
	f.publishRetry(t, 3, a)
	t.Logf("epoch 3 installed %v after it was stored", f.waitEpoch(t, 3, 5*time.Second))
}

// TestMissedNotificationsCatchUp: a member that gets no notification (here
// its Redis user may not subscribe at all, as a member whose subscription
// is down through a failover gets none) still installs each bundle, by
// polling.
func TestMissedNotificationsCatchUp(t *testing.T) {
	srv := redistest.Start(t)
	admin := srv.NewClient(t)
	if err := admin.Do(t.Context(), "ACL", "SETUSER", "nosub", "on", "nopass", "~*", "resetchannels", "+@all").Err(); err != nil {
		t.Fatal(err)
	}
	member := redis.NewClient(&redis.Options{Addr: srv.Addr, Username: "nosub", Password: "x", MaxRetries: -1})
	t.Cleanup(func() { member.Close() })
	ps := member.Subscribe(t.Context(), "probe")
	if _, err := ps.Receive(t.Context()); err == nil || !strings.Contains(err.Error(), "NOPERM") {
		t.Fatalf("the member's user can subscribe (%v): the test would not isolate polling", err)
	}
	ps.Close()

	start := time.Now()
	f := newFleetOn(t, 1, start, func() redis.UniversalClient { return srv.NewClient(t) })
	const poll = 300 * time.Millisecond
	f.run(t, f.nodes[0], member, poll)
	a := activeEntry(t, start)
	for epoch := uint64(1); epoch <= 2; epoch++ {
		f.publish(t, epoch, a)
		took := f.waitEpoch(t, epoch, 10*poll)
		t.Logf("epoch %d installed by polling %v after it was stored", epoch, took)
	}
}
