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
