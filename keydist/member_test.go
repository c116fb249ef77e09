package keydist

import (
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tlsticket/tlsticket/internal/fakeclock"
	"github.com/tlsticket/tlsticket/keyfile"
	"github.com/tlsticket/tlsticket/seal"
)

// memberNode is a Member and the Rotator that follows it on a fake clock,
// as a server runs them.
type memberNode struct {
	*Member
	rot   *seal.Rotator
	clock *fakeclock.Clock
}

func newTestMember(t testing.TB, fleet string, mk *MemberKey, pk *PublisherKey) *memberNode {
	t.Helper()
	m, err := NewMember(MemberConfig{Fleet: fleet, Key: mk, Publisher: pk.Public()})
	if err != nil {
		t.Fatal(err)
	}
	n := &memberNode{Member: m, clock: fakeclock.New(testStart)}
	n.rot, err = seal.NewSourceRotator(m, seal.RotatorConfig{Time: n.clock.Now, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// Keyring returns the Keyring of the node's Rotator.
func (n *memberNode) Keyring() *seal.Keyring { return n.rot.Keyring() }

// install installs sealed and runs the Rotator at now.
func (n *memberNode) install(sealed []byte, now time.Time) error {
	if err := n.Install(sealed); err != nil {
		return err
	}
	return n.maintain(now)
}

// maintain runs the Rotator at now.
func (n *memberNode) maintain(now time.Time) error {
	n.clock.Set(now)
	return n.rot.Maintain()
}

// names returns the key names of entries.
func names(t testing.TB, keys []keyfile.KeyEntry) []seal.KeyName {
	t.Helper()
	var out []seal.KeyName
	for _, e := range keys {
		k, err := e.Key()
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, k.Name())
	}
	return out
}

// checkRing checks the primary and the decrypt-only keys of r, by name.
func checkRing(t testing.TB, r *seal.Ring, primary seal.KeyName, others ...seal.KeyName) {
	t.Helper()
	keys := r.Keys()
	if keys[0].Name() != primary {
		t.Errorf("primary %v, want %v", keys[0].Name(), primary)
	}
	if len(keys)-1 != len(others) {
		t.Fatalf("ring %v has %d decrypt-only keys, want %d", r, len(keys)-1, len(others))
	}
	for i, want := range others {
		if keys[1+i].Name() != want {
			t.Errorf("decrypt-only key %d is %v, want %v", i, keys[1+i].Name(), want)
		}
	}
}

func TestMemberPhases(t *testing.T) {
	mk, pk := testParties(t, "phases")
	keys := testEntries(t, "phases", 4)
	n := names(t, keys)
	m := newTestMember(t, "edge", mk, pk)
	if s, _ := m.Schedule(testStart); m.Epoch() != 0 || s != nil {
		t.Fatal("new member has keys")
	}
	if err := m.install(mustSeal(t, "edge", 1, keys, mk.Public(), pk), testStart.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if m.Epoch() != 1 {
		t.Errorf("epoch %d, want 1", m.Epoch())
	}
	checkRing(t, m.Keyring().Load(), n[0])
	if got, want := m.rot.NextChange(), testPhases(1).Announce; !got.Equal(want) {
		t.Errorf("NextChange %v, want %v", got, want)
	}
	steps := []struct {
		at      time.Duration
		primary seal.KeyName
		others  []seal.KeyName
	}{
		{5*time.Hour + 30*time.Minute, n[0], []seal.KeyName{n[1]}},        // key 1 announced
		{6*time.Hour + 30*time.Minute, n[1], []seal.KeyName{n[0]}},        // key 1 active
		{11*time.Hour + 30*time.Minute, n[1], []seal.KeyName{n[2], n[0]}}, // key 2 announced
		{12*time.Hour + 30*time.Minute, n[2], []seal.KeyName{n[1], n[0]}}, // key 2 active
		{18*time.Hour + 30*time.Minute, n[3], []seal.KeyName{n[2], n[1]}}, // key 0 retired
		{23*time.Hour + 30*time.Minute, n[3], []seal.KeyName{n[2], n[1]}},
	}
	for _, s := range steps {
		if err := m.maintain(testStart.Add(s.at)); err != nil {
			t.Fatal(err)
		}
		checkRing(t, m.Keyring().Load(), s.primary, s.others...)
	}
	// The Member dropped the retired key 0 when the Rotator asked.
	if got, want := m.String(), `keydist.Member{fleet "edge" epoch 1, 3 keys}`; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
}

func TestMemberRefuses(t *testing.T) {
	mk, pk := testParties(t, "refuses")
	_, otherPub := testParties(t, "refuses other")
	keys := testEntries(t, "refuses", 2)
	now := testStart.Add(time.Hour)
	m := newTestMember(t, "edge", mk, pk)
	e1 := mustSeal(t, "edge", 1, keys[:1], mk.Public(), pk)
	e2 := mustSeal(t, "edge", 2, keys, mk.Public(), pk)
	if err := m.install(e2, now); err != nil {
		t.Fatal(err)
	}
	before := m.Keyring().Load()
	tests := []struct {
		name   string
		sealed []byte
		want   error
	}{
		{"replayed older epoch", e1, ErrRollback},
		{"replayed same epoch", e2, ErrRollback},
		{"other fleet", mustSeal(t, "core", 3, keys, mk.Public(), pk), ErrWrongFleet},
		{"other publisher", mustSeal(t, "edge", 3, keys, mk.Public(), otherPub), ErrAuth},
		{"garbage", []byte("not a bundle"), ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := m.install(tt.sealed, now); !errors.Is(err, tt.want) {
				t.Fatalf("Install: %v, want %v", err, tt.want)
			}
			if m.Epoch() != 2 || m.Keyring().Load() != before {
				t.Error("a refused bundle changed the member")
			}
		})
	}
}

// TestMembersShareTickets checks that two members of a fleet open each
// other's tickets, and that the announced key lets a member that is behind
// open the tickets of one that is ahead.
func TestMembersShareTickets(t *testing.T) {
	pub, err := GeneratePublisherKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	keys := testEntries(t, "share", 2)
	var members [2]*memberNode
	for i := range members {
		mk, err := GenerateMemberKey(nil)
		if err != nil {
			t.Fatal(err)
		}
		members[i] = newTestMember(t, "edge", mk, pub)
		if err := members[i].install(mustSeal(t, "edge", 1, keys, mk.Public(), pub), testStart); err != nil {
			t.Fatal(err)
		}
	}
	ahead, behind := members[0], members[1]
	if err := ahead.maintain(testStart.Add(testRotation)); err != nil { // key 1 active
		t.Fatal(err)
	}
	if err := behind.maintain(testStart.Add(testRotation - 30*time.Minute)); err != nil { // key 1 announced
		t.Fatal(err)
	}
	ticket, err := ahead.Keyring().Seal(nil, []byte("state"), nil)
	if err != nil {
		t.Fatal(err)
	}
	_, o, err := behind.Keyring().OpenKey(nil, ticket, nil)
	if err != nil || o.Primary {
		t.Fatalf("member behind: %v, %+v", err, o)
	}
	ticket, _ = behind.Keyring().Seal(nil, []byte("state"), nil)
	if _, err := ahead.Keyring().Open(nil, ticket, nil); err != nil {
		t.Fatalf("member ahead: %v", err)
	}
}

// TestMemberConcurrent installs and maintains while tickets are sealed and
// opened, for the race detector.
func TestMemberConcurrent(t *testing.T) {
	mk, pk := testParties(t, "concurrent")
	keys := testEntries(t, "concurrent", 4)
	m := newTestMember(t, "edge", mk, pk)
	var bundles [][]byte
	for e := range 4 {
		bundles = append(bundles, mustSeal(t, "edge", uint64(e+1), keys[:e+1], mk.Public(), pk))
	}
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for range 4 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				tk, err := m.Keyring().Seal(nil, []byte("state"), nil)
				if err != nil {
					t.Error(err)
					return
				}
				if _, err := m.Keyring().Open(nil, tk, nil); err != nil && !errors.Is(err, seal.ErrUnknownKey) {
					t.Error(err)
					return
				}
				_ = m.String()
			}
		})
	}
	for i, b := range bundles {
		now := testStart.Add(time.Duration(i) * testRotation)
		if err := m.install(b, now); err != nil {
			t.Error(err)
		}
		if err := m.maintain(now.Add(time.Minute)); err != nil {
			t.Error(err)
		}
	}
	close(stop)
	wg.Wait()
	if m.Epoch() != 4 {
		t.Errorf("epoch %d, want 4", m.Epoch())
	}
	if s := m.String(); !strings.Contains(s, "epoch 4") {
		t.Errorf("String() = %q", s)
	}
}

// TestMemberMinEpoch checks that a restarted member given its last epoch
// refuses the bundles up to it.
func TestMemberMinEpoch(t *testing.T) {
	mk, pk := testParties(t, "minepoch")
	keys := testEntries(t, "minepoch", 1)
	m, err := NewMember(MemberConfig{Fleet: "edge", Key: mk, Publisher: pk.Public(), MinEpoch: 5})
	if err != nil {
		t.Fatal(err)
	}
	if m.Epoch() != 5 {
		t.Errorf("Epoch() = %d before any install, want 5", m.Epoch())
	}
	if err := m.Install(mustSeal(t, "edge", 5, keys, mk.Public(), pk)); !errors.Is(err, ErrRollback) {
		t.Fatalf("epoch 5 after MinEpoch 5: %v, want ErrRollback", err)
	}
	if err := m.Install(mustSeal(t, "edge", 6, keys, mk.Public(), pk)); err != nil {
		t.Fatal(err)
	}
}

func TestNewMemberRejects(t *testing.T) {
	mk, pk := testParties(t, "new")
	for _, cfg := range []MemberConfig{
		{Fleet: "edge", Key: mk},
		{Fleet: "edge", Publisher: pk.Public()},
		{Fleet: "", Key: mk, Publisher: pk.Public()},
	} {
		if _, err := NewMember(cfg); err == nil {
			t.Errorf("NewMember(%+v) succeeded", cfg)
		}
	}
}
