package rediskeys_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tlsticket/tlsticket/engine"
	"github.com/tlsticket/tlsticket/format"
	"github.com/tlsticket/tlsticket/internal/fakeclock"
	"github.com/tlsticket/tlsticket/internal/redistest"
	"github.com/tlsticket/tlsticket/internal/testkit"
	"github.com/tlsticket/tlsticket/keydist"
	"github.com/tlsticket/tlsticket/keydist/rediskeys"
	"github.com/tlsticket/tlsticket/keyfile"
	"github.com/tlsticket/tlsticket/seal"
	"github.com/tlsticket/tlsticket/status"
)

// testTimeout bounds each Redis call in tests.
const testTimeout = 500 * time.Millisecond

// node is one fleet member with its engine.
type node struct {
	id     string
	key    *keydist.MemberKey
	member *keydist.Member
	rot    *seal.Rotator // follows member, on the fleet's clock
	sub    *rediskeys.Subscriber
	engine *engine.Engine
}

// fleet is a publisher and its members on one Redis.
type fleet struct {
	srv       *redistest.Server
	clock     *clock
	prefix    string
	publisher *rediskeys.Publisher
	nodes     []*node
}

// clock is the shared fake clock of internal/fakeclock.
type clock = fakeclock.Clock

func newFleet(t *testing.T, n int, start time.Time) *fleet {
	t.Helper()
	srv := redistest.Start(t)
	f := newFleetOn(t, n, start, func() redis.UniversalClient { return srv.NewClient(t) })
	f.srv = srv
	return f
}

// newFleetOn is a publisher and n members, each on its own client from
// newClient.
func newFleetOn(t *testing.T, n int, start time.Time, newClient func() redis.UniversalClient) *fleet {
	t.Helper()
	pub, err := keydist.GeneratePublisherKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	f := &fleet{clock: fakeclock.New(start), prefix: "test:" + t.Name() + ":"}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	opts := rediskeys.Options{Prefix: f.prefix, Timeout: testTimeout, Logger: quiet}
	f.publisher = rediskeys.NewPublisher(newClient(), pub, opts)
	for i := range n {
		nd := &node{id: "m" + string(rune('1'+i))}
		if nd.key, err = keydist.GenerateMemberKey(nil); err != nil {
			t.Fatal(err)
		}
		nd.member, err = keydist.NewMember(keydist.MemberConfig{Fleet: "edge", Key: nd.key, Publisher: pub.Public()})
		if err != nil {
			t.Fatal(err)
		}
		if nd.rot, err = seal.NewSourceRotator(nd.member, seal.RotatorConfig{Time: f.clock.Now, Logger: quiet}); err != nil {
			t.Fatal(err)
		}
		if nd.sub, err = rediskeys.NewSubscriber(newClient(), nd.member, nd.id, opts); err != nil {
			t.Fatal(err)
		}
		nd.engine, err = engine.New(&engine.Config{Keys: nd.rot.Keyring(), Time: f.clock.Now, Lifetime: 24 * time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		f.nodes = append(f.nodes, nd)
	}
	return f
}

// publish publishes keys at epoch to every member.
func (f *fleet) publish(t *testing.T, epoch uint64, keys ...keyfile.KeyEntry) {
	t.Helper()
	b := &keydist.Bundle{Fleet: "edge", Epoch: epoch, Keys: keys}
	for _, nd := range f.nodes {
		if err := f.publisher.Publish(t.Context(), nd.id, nd.key.Public(), b); err != nil {
			t.Fatalf("Publish(%s, epoch %d): %v", nd.id, epoch, err)
		}
	}
}

// pollAll polls every member, checks that it installed epoch, and runs
// its Rotator (as Rotator.Run does at once when the Member notifies).
func (f *fleet) pollAll(t *testing.T, epoch uint64) {
	t.Helper()
	for _, nd := range f.nodes {
		if err := nd.sub.Poll(t.Context()); err != nil {
			t.Fatalf("Poll(%s): %v", nd.id, err)
		}
		if got := nd.member.Epoch(); got != epoch {
			t.Fatalf("%s installed epoch %d, want %d", nd.id, got, epoch)
		}
	}
	f.maintainAll(t)
}

// maintainAll moves every member's ring to the clock's time.
func (f *fleet) maintainAll(t *testing.T) {
	t.Helper()
	for _, nd := range f.nodes {
		if err := nd.rot.Maintain(); err != nil {
			t.Fatal(err)
		}
	}
}

// issue issues a TLS 1.2 ticket on nd.
func issue(t *testing.T, nd *node) []byte {
	t.Helper()
	iss, err := nd.engine.Issue(&format.State{
		Version:     format.VersionTLS12,
		CipherSuite: 0xc02f,
		Secret:      bytes.Repeat([]byte{0x42}, 48),
	}, nil)
	if err != nil {
		t.Fatalf("%s: Issue: %v", nd.id, err)
	}
	return iss.Ticket
}

// mustResume checks that nd resumes ticket with status want.
func mustResume(t *testing.T, nd *node, ticket []byte, want status.Status) {
	t.Helper()
	d, err := nd.engine.Open(engine.ConnInfo{Version: format.VersionTLS12}, true, ticket)
	if err != nil || !d.Resumed || d.Status != want {
		t.Fatalf("%s: Open: resumed %v, status %v, fallback %v, err %v; want resumed with %v", nd.id, d.Resumed, d.Status, d.Fallback, err, want)
	}
}

// keyName returns the key name of a sealed ticket.
func keyName(t *testing.T, ticket []byte) [16]byte {
	t.Helper()
	h, err := seal.ParseHeader(ticket)
	if err != nil {
		t.Fatal(err)
	}
	return h.KeyName
}

func entry(t *testing.T, p seal.Phases) keyfile.KeyEntry {
	t.Helper()
	e, err := keyfile.GenerateEntry(seal.AES256GCM, p, nil)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func nameOf(t *testing.T, e keyfile.KeyEntry) [16]byte {
	t.Helper()
	k, err := e.Key()
	if err != nil {
		t.Fatal(err)
	}
	return k.Name()
}

// TestFleetRotation runs two engines on keys distributed through a real
// Redis across a rotation, a replayed bundle and a Redis outage.
func TestFleetRotation(t *testing.T) {
	start := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	f := newFleet(t, 2, start)
	n1, n2 := f.nodes[0], f.nodes[1]

	// Epoch 1: key A active.
	a := entry(t, seal.Phases{Announce: start.Add(-time.Hour), Activate: start.Add(-time.Hour), DecryptOnly: start.Add(6 * time.Hour), Retire: start.Add(18 * time.Hour)})
	f.publish(t, 1, a)
	epoch1, err := f.srv.NewClient(t).HGet(t.Context(), f.prefix+"member:m1", "bundle").Bytes()
	if err != nil {
		t.Fatal(err)
	}
	f.pollAll(t, 1)
	ticketA := issue(t, n1)
	if keyName(t, ticketA) != nameOf(t, a) {
		t.Fatal("engine 1 did not seal with key A")
	}
	mustResume(t, n2, ticketA, status.Success)

	// Epoch 2, published an hour ahead: key B announced at 1 h, active
	// at 2 h; A decrypt-only from 2 h.
	a2 := a
	a2.DecryptOnly, a2.Retire = start.Add(2*time.Hour), start.Add(14*time.Hour)
	b := entry(t, seal.Phases{Announce: start.Add(time.Hour), Activate: start.Add(2 * time.Hour), DecryptOnly: start.Add(8 * time.Hour), Retire: start.Add(20 * time.Hour)})
	f.clock.Set(start.Add(time.Hour))
	f.publish(t, 2, a2, b)
	f.pollAll(t, 2)
	if tk := issue(t, n2); keyName(t, tk) != nameOf(t, a) {
		t.Fatal("an announced key sealed")
	}
	if _, ok := n1.rot.Keyring().Load().Lookup(nameOf(t, b)); !ok {
		t.Fatal("announced key B is not in the ring")
	}

	// 2 h: B seals on both; A opens on both, and its tickets are renewed.
	f.clock.Set(start.Add(2*time.Hour + time.Minute))
	f.maintainAll(t)
	ticketB := issue(t, n2)
	if keyName(t, ticketB) != nameOf(t, b) {
		t.Fatal("engine 2 did not seal with key B")
	}
	mustResume(t, n1, ticketB, status.Success)
	mustResume(t, n1, ticketA, status.SuccessRenew)
	mustResume(t, n2, ticketA, status.SuccessRenew)

	// A replayed epoch-1 bundle, even stored as a newer epoch, is refused.
	client := f.srv.NewClient(t)
	if err := client.HSet(t.Context(), f.prefix+"member:m1", "epoch", "00000000000000000009", "bundle", epoch1).Err(); err != nil {
		t.Fatal(err)
	}
	if err := n1.sub.Poll(t.Context()); !errors.Is(err, keydist.ErrRollback) {
		t.Fatalf("replayed bundle: %v, want ErrRollback", err)
	}
	if n1.member.Epoch() != 2 {
		t.Fatal("replayed bundle changed the member")
	}
	mustResume(t, n1, ticketB, status.Success)
	// The publisher refuses to go back too.
	if err := f.publisher.Publish(t.Context(), "m2", n2.key.Public(), &keydist.Bundle{Fleet: "edge", Epoch: 2, Keys: []keyfile.KeyEntry{a2, b}}); !errors.Is(err, rediskeys.ErrStaleEpoch) {
		t.Fatalf("Publish of a stale epoch: %v, want ErrStaleEpoch", err)
	}

	// Redis stops: members keep their keys and keep serving.
	f.srv.Stop()
	for _, nd := range f.nodes {
		if err := nd.sub.Poll(t.Context()); !errors.Is(err, rediskeys.ErrUnavailable) {
			t.Fatalf("%s: Poll with Redis down: %v, want ErrUnavailable", nd.id, err)
		}
	}
	f.clock.Set(start.Add(3 * time.Hour))
	f.maintainAll(t)
	ticket := issue(t, n1)
	mustResume(t, n2, ticket, status.Success)
	mustResume(t, n2, ticketA, status.SuccessRenew)
	mustResume(t, n1, ticketB, status.Success)
}

// TestRunNotified checks that Run installs a bundle when the publisher
// notifies, long before the next poll, and keeps serving when Redis goes
// away.
func TestRunNotified(t *testing.T) {
	start := time.Now()
	f := newFleet(t, 1, start)
	nd := f.nodes[0]
	var logs syncBuffer
	opts := rediskeys.Options{
		Prefix: f.prefix, Timeout: testTimeout, PollInterval: time.Hour,
		Logger: slog.New(slog.NewTextHandler(&logs, nil)),
	}
	sub, err := rediskeys.NewSubscriber(f.srv.NewClient(t), nd.member, nd.id, opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- sub.Run(ctx) }()
	go nd.rot.Run(ctx)

	a := entry(t, seal.Phases{Announce: start, Activate: start, DecryptOnly: start.Add(6 * time.Hour), Retire: start.Add(18 * time.Hour)})
	// The subscription may not be in place yet: publish until installed.
	for epoch := uint64(1); nd.member.Epoch() == 0; epoch++ {
		if epoch > 50 {
			t.Fatal("Run did not install a notified bundle")
		}
		f.publish(t, epoch, a)
		time.Sleep(100 * time.Millisecond) // waiting for a notification of a real server
	}
	ticket := issue(t, nd)

	f.srv.Stop()
	f.publisher = nil
	time.Sleep(1500 * time.Millisecond) // at least one Maintain tick of the Rotator with Redis down
	mustResume(t, nd, ticket, status.Success)
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Run returned %v, want context.Canceled", err)
	}
	if !strings.Contains(logs.String(), "installed bundle") {
		t.Errorf("logs lack the installation:\n%s", logs.String())
	}
}

// syncBuffer is the shared one of internal/testkit.
type syncBuffer = testkit.SyncBuffer

// TestPollNothingPublished checks that a member with nothing published
// keeps its local key.
func TestPollNothingPublished(t *testing.T) {
	f := newFleet(t, 1, time.Now())
	nd := f.nodes[0]
	if err := nd.sub.Poll(t.Context()); err != nil {
		t.Fatal(err)
	}
	ticket := issue(t, nd)
	mustResume(t, nd, ticket, status.Success)
}

// TestPollPaused checks that a hung Redis costs a poll its timeout, not
// the client's socket timeouts.
func TestPollPaused(t *testing.T) {
	f := newFleet(t, 1, time.Now())
	f.srv.Pause(t)
	begin := time.Now()
	err := f.nodes[0].sub.Poll(t.Context())
	if !errors.Is(err, rediskeys.ErrUnavailable) {
		t.Fatalf("Poll: %v, want ErrUnavailable", err)
	}
	if d := time.Since(begin); d > testTimeout+time.Second {
		t.Errorf("Poll took %v with a %v timeout", d, testTimeout)
	}
}

func TestBadIDs(t *testing.T) {
	f := newFleet(t, 1, time.Now())
	nd := f.nodes[0]
	for _, id := range []string{"", "a b", "x\n", strings.Repeat("a", 256)} {
		if _, err := rediskeys.NewSubscriber(f.srv.NewClient(t), nd.member, id, rediskeys.Options{}); err == nil {
			t.Errorf("NewSubscriber(%q) succeeded", id)
		}
		b := &keydist.Bundle{Fleet: "edge", Epoch: 1}
		if err := f.publisher.Publish(t.Context(), id, nd.key.Public(), b); err == nil {
			t.Errorf("Publish(%q) succeeded", id)
		}
	}
}

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
