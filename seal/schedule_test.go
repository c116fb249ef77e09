package seal

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tlsticket/tlsticket/internal/fakeclock"
	"github.com/tlsticket/tlsticket/internal/testkit/secretscan"
)

// t0 is the base time of the schedule tests.
var t0 = time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)

// fakeClock is the shared fake clock of internal/fakeclock.
type fakeClock = fakeclock.Clock

func newFakeClock(t time.Time) *fakeClock { return fakeclock.New(t) }

// hours returns t0 plus h hours.
func hours(h float64) time.Time {
	return t0.Add(time.Duration(h * float64(time.Hour)))
}

// phasesHours returns Phases at t0 plus the given hours.
func phasesHours(announce, activate, decryptOnly, retire float64) Phases {
	return Phases{hours(announce), hours(activate), hours(decryptOnly), hours(retire)}
}

// fixedKey returns the AES-256-GCM key of the secret i, i+1, i+2, ….
func fixedKey(t testing.TB, i byte) *Key {
	t.Helper()
	secret := make([]byte, 32)
	for j := range secret {
		secret[j] = i + byte(j)
	}
	k, err := NewKey(AES256GCM, secret)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestPhasesAt(t *testing.T) {
	p := phasesHours(1, 2, 3, 4)
	ns := time.Nanosecond
	tests := []struct {
		t    time.Time
		want Phase
	}{
		{time.Time{}, PhasePending},
		{p.Announce.Add(-ns), PhasePending},
		{p.Announce, PhaseAnnounced},
		{p.Activate.Add(-ns), PhaseAnnounced},
		{p.Activate, PhaseActive},
		{p.DecryptOnly.Add(-ns), PhaseActive},
		{p.DecryptOnly, PhaseDecryptOnly},
		{p.Retire.Add(-ns), PhaseDecryptOnly},
		{p.Retire, PhaseRetired},
		{p.Retire.Add(1000 * time.Hour), PhaseRetired},
	}
	for _, tt := range tests {
		if got := p.At(tt.t); got != tt.want {
			t.Errorf("At(%s) = %v, want %v", stamp(tt.t), got, tt.want)
		}
	}
	// Equal times skip phases.
	q := phasesHours(1, 1, 3, 3)
	if got := q.At(hours(1)); got != PhaseActive {
		t.Errorf("At(announce = activate) = %v, want active", got)
	}
	if got := q.At(hours(3)); got != PhaseRetired {
		t.Errorf("At(decrypt-only = retire) = %v, want retired", got)
	}
	names := []string{"pending", "announced", "active", "decrypt-only", "retired", "Phase(0)", "Phase(6)", "Phase(255)"}
	for i, p := range []Phase{PhasePending, PhaseAnnounced, PhaseActive, PhaseDecryptOnly, PhaseRetired, 0, 6, 255} {
		if p.String() != names[i] {
			t.Errorf("Phase(%d).String() = %q, want %q", p, p.String(), names[i])
		}
	}
}

func TestNewScheduleRefuses(t *testing.T) {
	a, b := fixedKey(t, 1), fixedKey(t, 2)
	good := phasesHours(0, 1, 2, 3)
	tests := []struct {
		name string
		keys []ScheduledKey
		want error
	}{
		{"nil-key", []ScheduledKey{{nil, good}}, nil},
		{"zero-key", []ScheduledKey{{&Key{}, good}}, nil},
		{"activate-before-announce", []ScheduledKey{{a, phasesHours(1, 0, 2, 3)}}, nil},
		{"decrypt-only-before-activate", []ScheduledKey{{a, phasesHours(0, 2, 1, 3)}}, nil},
		{"retire-before-decrypt-only", []ScheduledKey{{a, phasesHours(0, 1, 3, 2)}}, nil},
		{"duplicate", []ScheduledKey{{a, good}, {b, good}, {fixedKey(t, 1), good}}, ErrDuplicateKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := NewSchedule(tt.keys...)
			if s != nil || err == nil {
				t.Fatalf("NewSchedule = %v, %v, want error", s, err)
			}
			if tt.want != nil && !errors.Is(err, tt.want) {
				t.Errorf("error = %v, want %v", err, tt.want)
			}
			if !strings.HasPrefix(err.Error(), "seal: ") {
				t.Errorf("error %q lacks the seal: prefix", err)
			}
		})
	}
	if _, err := NewSchedule(ScheduledKey{a, phasesHours(1, 1, 1, 1)}); err != nil {
		t.Errorf("NewSchedule(all phases equal): %v", err)
	}
	if s, err := NewSchedule(); err != nil || len(s.Keys()) != 0 {
		t.Errorf("NewSchedule() = %v, %v", s, err)
	}
}

// ringNames returns the ring's keys as indexes into keys, primary first:
// "1|02" is primary keys[1], decrypt-only keys[0] then keys[2].
func ringNames(r *Ring, keys []*Key) string {
	names := ""
	for i, k := range r.Keys() {
		if i == 1 {
			names += "|"
		}
		names += strconv.Itoa(slices.Index(keys, k)) // -1 for a key not in keys
	}
	if len(r.Keys()) == 1 {
		names += "|"
	}
	return names
}

func TestScheduleRingAt(t *testing.T) {
	keys := []*Key{fixedKey(t, 0), fixedKey(t, 1), fixedKey(t, 2)}
	// Key 0 is active for [0, 6), key 1 for [6, 12), key 2 for [12, 18);
	// each is announced 1 hour before and decrypt-only 12 hours after.
	s, err := NewSchedule(
		ScheduledKey{keys[2], phasesHours(11, 12, 18, 30)},
		ScheduledKey{keys[0], phasesHours(0, 0, 6, 18)},
		ScheduledKey{keys[1], phasesHours(5, 6, 12, 24)},
	)
	if err != nil {
		t.Fatal(err)
	}
	ns := time.Nanosecond
	tests := []struct {
		t    time.Time
		want string // see ringNames; "" for ErrNoPrimaryKey
	}{
		{hours(0).Add(-ns), ""},
		{hours(0), "0|"},
		{hours(5).Add(-ns), "0|"},
		{hours(5), "0|1"},
		{hours(6).Add(-ns), "0|1"},
		{hours(6), "1|0"},
		{hours(11), "1|20"},
		{hours(12), "2|10"},
		{hours(18).Add(-ns), "2|10"},
		{hours(18), ""}, // key 2 is decrypt-only and no key is active
		{hours(30), ""},
	}
	for _, tt := range tests {
		r, err := s.RingAt(tt.t, nil)
		if tt.want == "" {
			if r != nil || !errors.Is(err, ErrNoPrimaryKey) {
				t.Errorf("RingAt(%s) = %v, %v, want ErrNoPrimaryKey", stamp(tt.t), r, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("RingAt(%s): %v", stamp(tt.t), err)
			continue
		}
		if got := ringNames(r, keys); got != tt.want {
			t.Errorf("RingAt(%s) = %s, want %s", stamp(tt.t), got, tt.want)
		}
	}

	// Overlapping active keys: the latest Activate seals.
	over, err := NewSchedule(
		ScheduledKey{keys[0], phasesHours(0, 0, 10, 20)},
		ScheduledKey{keys[1], phasesHours(0, 2, 4, 20)},
	)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		h    float64
		want string
	}{{1, "0|1"}, {2, "1|0"}, {4, "0|1"}} {
		r, err := over.RingAt(hours(tt.h), nil)
		if err != nil {
			t.Fatal(err)
		}
		if got := ringNames(r, keys); got != tt.want {
			t.Errorf("overlapping RingAt(%vh) = %s, want %s", tt.h, got, tt.want)
		}
	}
	// A tie on Activate goes to the key given last.
	tie, err := NewSchedule(
		ScheduledKey{keys[2], phasesHours(0, 1, 10, 20)},
		ScheduledKey{keys[0], phasesHours(0, 1, 10, 20)},
	)
	if err != nil {
		t.Fatal(err)
	}
	if r, err := tie.RingAt(hours(1), nil); err != nil || ringNames(r, keys) != "0|2" {
		t.Errorf("tie RingAt = %v, %v, want 0|2", r, err)
	}
}

func TestScheduleNextChange(t *testing.T) {
	s, err := NewSchedule(
		ScheduledKey{fixedKey(t, 0), phasesHours(0, 0, 6, 18)},
		ScheduledKey{fixedKey(t, 1), phasesHours(5, 6, 12, 24)},
	)
	if err != nil {
		t.Fatal(err)
	}
	var got []time.Time
	for tm := hours(-1); ; {
		tm = s.NextChange(tm)
		if tm.IsZero() {
			break
		}
		got = append(got, tm)
	}
	want := []time.Time{hours(0), hours(5), hours(6), hours(12), hours(18), hours(24)}
	if !slices.EqualFunc(got, want, time.Time.Equal) {
		t.Errorf("NextChange sequence = %v, want %v", got, want)
	}
	if got := s.NextChange(hours(5).Add(-time.Nanosecond)); !got.Equal(hours(5)) {
		t.Errorf("NextChange(5h-1ns) = %v, want 5h", got)
	}
	if got := new(Schedule).NextChange(t0); !got.IsZero() {
		t.Errorf("empty NextChange = %v, want zero", got)
	}
}

// TestScheduleTicketLifecycle follows one key's tickets through its phases:
// an announced key never seals, a decrypt-only key opens with Primary
// false, and a retired key's tickets fail with ErrUnknownKey.
func TestScheduleTicketLifecycle(t *testing.T) {
	k0, k1 := fixedKey(t, 0), fixedKey(t, 1)
	s, err := NewSchedule(
		ScheduledKey{k0, phasesHours(0, 0, 6, 18)},
		ScheduledKey{k1, phasesHours(5, 6, 12, 24)},
		ScheduledKey{fixedKey(t, 2), phasesHours(11, 12, 24, 36)},
	)
	if err != nil {
		t.Fatal(err)
	}
	ringAt := func(h float64) *Ring {
		t.Helper()
		r, err := s.RingAt(hours(h), nil)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	pt := []byte("state")
	ticket := mustSeal(t, ringAt(1), pt, nil)
	if !bytes.Equal(ticket[2:HeaderSize], nameBytes(k0)) {
		t.Fatalf("ticket at 1h sealed by %x, want key 0", ticket[2:HeaderSize])
	}
	// Throughout key 1's announce period, every seal uses key 0.
	for _, h := range []float64{5, 5.5, 5.999} {
		got := mustSeal(t, ringAt(h), pt, nil)
		if !bytes.Equal(got[2:HeaderSize], nameBytes(k0)) {
			t.Errorf("ticket at %vh sealed by %x, want key 0 (key 1 is only announced)", h, got[2:HeaderSize])
		}
	}
	checkOpened := func(h float64, ticket []byte, wantPrimary bool, wantErr error) {
		t.Helper()
		got, o, err := ringAt(h).OpenKey(nil, ticket, nil)
		if !errors.Is(err, wantErr) {
			t.Fatalf("OpenKey at %vh: error %v, want %v", h, err, wantErr)
		}
		if err == nil && (!bytes.Equal(got, pt) || o.Primary != wantPrimary || !o.Known) {
			t.Errorf("OpenKey at %vh = %q, %+v, want primary %v", h, got, o, wantPrimary)
		}
	}
	checkOpened(5.9, ticket, true, nil)
	checkOpened(6, ticket, false, nil)            // decrypt-only from 6h: renew
	checkOpened(17.999, ticket, false, nil)       // still decrypt-only
	checkOpened(18, ticket, false, ErrUnknownKey) // retired
}

// nameBytes returns k's name as a slice.
func nameBytes(k *Key) []byte {
	n := k.Name()
	return n[:]
}

// TestScheduleSkewedMembers simulates two fleet members that share a
// schedule but whose clocks differ by 10 minutes, less than the 1-hour
// announce period: the member ahead seals with the new key before the
// other activates it, and the other opens those tickets because the key is
// already announced there.
func TestScheduleSkewedMembers(t *testing.T) {
	k0, k1 := fixedKey(t, 0), fixedKey(t, 1)
	s, err := NewSchedule(
		ScheduledKey{k0, phasesHours(0, 0, 6, 18)},
		ScheduledKey{k1, phasesHours(5, 6, 12, 24)},
	)
	if err != nil {
		t.Fatal(err)
	}
	skew := 10 * time.Minute
	for _, now := range []time.Time{hours(6).Add(-skew), hours(6).Add(-time.Minute), hours(6).Add(-time.Nanosecond)} {
		ahead, err := s.RingAt(now.Add(skew), nil)
		if err != nil {
			t.Fatal(err)
		}
		behind, err := s.RingAt(now, nil)
		if err != nil {
			t.Fatal(err)
		}
		if ahead.Primary() != k1 || behind.Primary() != k0 {
			t.Fatalf("at %s: primaries %v and %v, want key 1 ahead and key 0 behind", stamp(now), ahead.Primary(), behind.Primary())
		}
		fromAhead := mustSeal(t, ahead, []byte("ahead"), nil)
		got, o, err := behind.OpenKey(nil, fromAhead, nil)
		if err != nil || string(got) != "ahead" || o.Primary || !o.Known {
			t.Errorf("behind opens ahead's ticket = %q, %+v, %v; want it opened by the announced key", got, o, err)
		}
		fromBehind := mustSeal(t, behind, []byte("behind"), nil)
		got, o, err = ahead.OpenKey(nil, fromBehind, nil)
		if err != nil || string(got) != "behind" || o.Primary || !o.Known {
			t.Errorf("ahead opens behind's ticket = %q, %+v, %v; want it opened by a decrypt-only key", got, o, err)
		}
	}
	// With a skew beyond the announce period, the member behind cannot
	// open the new key's tickets yet: the announce period must cover it.
	ahead, _ := s.RingAt(hours(6), nil)
	behind, _ := s.RingAt(hours(6).Add(-2*time.Hour), nil)
	checkOpenFails(t, behind, mustSeal(t, ahead, []byte("x"), nil), nil, ErrUnknownKey)
}

func TestScheduleFormat(t *testing.T) {
	secret := bytes.Repeat([]byte{0x5a, 0x17}, 16)
	k, err := NewKey(AES256GCM, secret)
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewSchedule(ScheduledKey{k, phasesHours(0, 1, 2, 3)})
	if err != nil {
		t.Fatal(err)
	}
	want := "seal.Schedule{AES-256-GCM " + k.name.short() +
		" announce=2030-01-01T00:00:00Z activate=2030-01-01T01:00:00Z decrypt-only=2030-01-01T02:00:00Z retire=2030-01-01T03:00:00Z}"
	forbidden := append(secretscan.Forms(secret), secretscan.Forms(derivedKey(t, AES256GCM, secret))...)
	for _, v := range []any{s, *s, s.Keys(), struct{ s Schedule }{*s}, &struct{ s *Schedule }{s}} {
		secretscan.Check(t, fmt.Sprintf("%T", v), v, forbidden)
	}
	if got := fmt.Sprint(s); got != want {
		t.Errorf("Sprint(schedule) = %q, want %q", got, want)
	}
}

func TestSchedulePrune(t *testing.T) {
	k1, k2 := fixedKey(t, 1), fixedKey(t, 2)
	s, err := NewSchedule(ScheduledKey{k1, phasesHours(0, 0, 6, 12)}, ScheduledKey{k2, phasesHours(5, 6, 12, 18)})
	if err != nil {
		t.Fatal(err)
	}
	if got := s.Prune(hours(12).Add(-time.Nanosecond)); got != s {
		t.Error("Prune with no retired key did not return the schedule itself")
	}
	p := s.Prune(hours(12))
	if keys := p.Keys(); len(keys) != 1 || keys[0].Key != k2 {
		t.Errorf("Prune at 12h = %v, want key 2 alone", p)
	}
	if keys := s.Keys(); len(keys) != 2 {
		t.Errorf("Prune changed the schedule: %v", s)
	}
	if keys := s.Prune(hours(18)).Keys(); len(keys) != 0 {
		t.Errorf("Prune at 18h kept %d keys", len(keys))
	}
	if (*Schedule)(nil).Prune(hours(0)) != nil {
		t.Error("Prune of a nil schedule is not nil")
	}
}
