package seal

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// pushSource is a KeySource whose schedule the test sets, as a key file or
// a fleet's bundles set theirs, notifying the Rotator of each change.
type pushSource struct {
	mu      sync.Mutex
	sched   *Schedule
	err     error
	changed chan struct{}
}

func newPushSource(s *Schedule) *pushSource {
	return &pushSource{sched: s, changed: make(chan struct{}, 1)}
}

func (p *pushSource) Schedule(time.Time) (*Schedule, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.sched, p.err
}

func (p *pushSource) Changed() <-chan struct{} { return p.changed }

// set replaces the schedule and the error and notifies the Rotator.
func (p *pushSource) set(s *Schedule, err error) {
	p.mu.Lock()
	p.sched, p.err = s, err
	p.mu.Unlock()
	select {
	case p.changed <- struct{}{}:
	default:
	}
}

var _ Notifier = (*pushSource)(nil)

// mustSchedule returns the schedule of keys and fails the test on error.
func mustSchedule(t testing.TB, keys ...ScheduledKey) *Schedule {
	t.Helper()
	s, err := NewSchedule(keys...)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// checkSealsWith checks that kr seals with k: its ticket opens with a
// ring of k alone.
func checkSealsWith(t testing.TB, kr *Keyring, k *Key) []byte {
	t.Helper()
	ticket := mustSealKeyring(t, kr)
	only, err := NewRing(nil, k)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := only.Open(nil, ticket, nil); err != nil {
		t.Fatalf("sealed with %v, want key %v", kr.Load().Primary().Name(), k.Name())
	}
	return ticket
}

// TestRotatorScheduleRunsOut is the policy for a source whose schedule
// runs out: the retired key neither seals nor opens, a local key seals
// with a warning, and when the source has an active key again the local
// key goes decrypt-only and then retires.
func TestRotatorScheduleRunsOut(t *testing.T) {
	clock := newFakeClock(t0)
	var log bytes.Buffer // written by Maintain, on this goroutine
	cfg := testRotatorConfig(clock)
	cfg.Logger = slog.New(slog.NewTextHandler(&log, nil))
	k1, k2 := fixedKey(t, 1), fixedKey(t, 2)
	src := newPushSource(mustSchedule(t, ScheduledKey{k1, phasesHours(0, 0, 6, 12)}))
	r, err := NewSourceRotator(src, cfg)
	if err != nil {
		t.Fatal(err)
	}
	kr := r.Keyring()
	ticket1 := checkSealsWith(t, kr, k1)
	if got := r.NextChange(); !got.Equal(hours(6)) {
		t.Errorf("NextChange = %s, want 6h", stamp(got))
	}

	// At 6h key 1 is decrypt-only: it opens, and a local key seals.
	clock.Set(hours(6))
	maintain(t, r)
	local := kr.Load().Primary()
	if local == k1 {
		t.Fatal("the decrypt-only key 1 still seals at 6h")
	}
	if _, o, err := kr.OpenKey(nil, ticket1, nil); err != nil || o.Primary {
		t.Errorf("ticket of key 1 at 6h: %+v, %v, want decrypt-only", o, err)
	}
	ticketL := checkSealsWith(t, kr, local)
	if !strings.Contains(log.String(), `level=WARN msg="tlsticket keys: sealing with a local key`) ||
		!strings.Contains(log.String(), `reason="no key of the source is active" key=`+local.Name().String()) {
		t.Errorf("log lacks the local key warning:\n%s", log.String())
	}

	// At 12h key 1 is retired: it neither seals nor opens, and it is in
	// neither the Ring nor the schedule.
	clock.Set(hours(12))
	maintain(t, r)
	checkOpenFails(t, kr.Load(), ticket1, nil, ErrUnknownKey)
	if _, ok := kr.Load().Lookup(k1.Name()); ok {
		t.Error("the retired key 1 is in the ring")
	}
	for _, sk := range r.Schedule().Keys() {
		if sk.Key == k1 {
			t.Error("the retired key 1 is in the schedule")
		}
	}
	checkSealsWith(t, kr, local)
	if got := r.NextChange(); got.Before(localForever) {
		t.Errorf("NextChange with only the local key = %s, want none before the year 9999", stamp(got))
	}

	// A new schedule arrives at 13h: key 2 seals at once, the local key
	// is decrypt-only for DecryptOnly (12h) and then retires.
	clock.Set(hours(13))
	src.set(mustSchedule(t, ScheduledKey{k2, phasesHours(12, 12, 18, 24)}), nil)
	maintain(t, r)
	checkSealsWith(t, kr, k2)
	if _, o, err := kr.OpenKey(nil, ticketL, nil); err != nil || o.Primary {
		t.Errorf("ticket of the local key at 13h: %+v, %v, want decrypt-only", o, err)
	}
	if got := r.NextChange(); !got.Equal(hours(18)) {
		t.Errorf("NextChange = %s, want 18h", stamp(got))
	}
	clock.Set(hours(18))
	maintain(t, r) // key 2 decrypt-only: a second local key seals
	local2 := kr.Load().Primary()
	if local2 == k2 || local2 == local {
		t.Fatalf("primary at 18h = %v, want a new local key", local2)
	}
	clock.Set(hours(25))
	maintain(t, r)
	checkOpenFails(t, kr.Load(), ticketL, nil, ErrUnknownKey)
	if keys := kr.Load().Keys(); len(keys) != 1 || keys[0] != local2 {
		t.Errorf("ring at 25h = %v, want only the second local key", kr.Load())
	}
}

// TestRotatorNoKeysYet starts from a source without keys (a fleet member
// before its first bundle): a local key seals, and is dropped without a
// decrypt-only phase if it sealed nothing when the source's keys arrive.
func TestRotatorNoKeysYet(t *testing.T) {
	clock := newFakeClock(t0)
	src := newPushSource(nil)
	r, err := NewSourceRotator(src, testRotatorConfig(clock))
	if err != nil {
		t.Fatal(err)
	}
	local := r.Keyring().Load().Primary()
	k1 := fixedKey(t, 1)
	src.set(mustSchedule(t, ScheduledKey{k1, phasesHours(0, 0, 6, 12)}), nil)
	maintain(t, r)
	if keys := r.Keyring().Load().Keys(); len(keys) != 1 || keys[0] != k1 {
		t.Errorf("ring = %v, want key 1 alone (the local key %v sealed nothing)", r.Keyring().Load(), local.Name())
	}
}

// TestRotatorSourceError checks that a failing source keeps its previous
// schedule, whose keys still move through their phases.
func TestRotatorSourceError(t *testing.T) {
	clock := newFakeClock(t0)
	k1, k2 := fixedKey(t, 1), fixedKey(t, 2)
	src := newPushSource(mustSchedule(t, ScheduledKey{k1, phasesHours(0, 0, 6, 12)}, ScheduledKey{k2, phasesHours(5, 6, 12, 18)}))
	r, err := NewSourceRotator(src, testRotatorConfig(clock))
	if err != nil {
		t.Fatal(err)
	}
	errBroken := errors.New("test: broken key file")
	src.set(nil, errBroken)
	clock.Set(hours(6))
	if err := r.Maintain(); !errors.Is(err, errBroken) {
		t.Errorf("Maintain = %v, want the source's error", err)
	}
	checkSealsWith(t, r.Keyring(), k2)
	clock.Set(hours(12))
	r.Maintain()
	if _, ok := r.Keyring().Load().Lookup(k1.Name()); ok {
		t.Error("key 1 retired at 12h is still in the ring after a source error")
	}
	if _, err := NewSourceRotator(src, testRotatorConfig(clock)); !errors.Is(err, errBroken) {
		t.Errorf("NewSourceRotator(failing source) = %v, want its error", err)
	}
	if _, err := NewSourceRotator(nil, testRotatorConfig(clock)); err == nil {
		t.Error("NewSourceRotator(nil) succeeded")
	}
}

// TestRotatorRunNotified checks that Run rebuilds the Ring as soon as the
// source notifies a change, long before its next tick.
func TestRotatorRunNotified(t *testing.T) {
	clock := newFakeClock(t0)
	cfg := testRotatorConfig(clock)
	cfg.Interval = time.Hour
	k1, k2 := fixedKey(t, 1), fixedKey(t, 2)
	src := newPushSource(mustSchedule(t, ScheduledKey{k1, phasesHours(0, 0, 6, 12)}))
	r, err := NewSourceRotator(src, cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	src.set(mustSchedule(t, ScheduledKey{k1, phasesHours(0, 0, 6, 12)}, ScheduledKey{k2, phasesHours(0, 0, 6, 12)}), nil)
	for deadline := time.Now().Add(10 * time.Second); r.Keyring().Load().Primary() != k2; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("Run did not install the notified schedule")
		}
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("Run = %v, want context.Canceled", err)
	}
}

// TestRotatorRetiredNeverInRing follows a schedule that runs out, minute by
// minute for two days: the primary is always an active key of the source
// or the local key, and no key outside [Announce, Retire) is in the Ring.
func TestRotatorRetiredNeverInRing(t *testing.T) {
	clock := newFakeClock(t0)
	keys := []ScheduledKey{
		{fixedKey(t, 1), phasesHours(0, 0, 6, 18)},
		{fixedKey(t, 2), phasesHours(5, 6, 12, 24)},
		{fixedKey(t, 3), phasesHours(11, 12, 18, 30)},
	}
	r, err := NewSourceRotator(newPushSource(mustSchedule(t, keys...)), testRotatorConfig(clock))
	if err != nil {
		t.Fatal(err)
	}
	for m := 0; m < 48*60; m++ {
		clock.Set(t0.Add(time.Duration(m) * time.Minute))
		maintain(t, r)
		now, ring := clock.Now(), r.Keyring().Load()
		for _, k := range keys {
			_, in := ring.Lookup(k.Key.Name())
			if p := k.At(now); in != (p != PhasePending && p != PhaseRetired) {
				t.Fatalf("at %s a %v key of the source is in the ring: %v", stamp(now), p, in)
			}
			if ring.Primary() == k.Key && k.At(now) != PhaseActive {
				t.Fatalf("at %s a %v key of the source seals", stamp(now), k.At(now))
			}
		}
		if local := now.Compare(hours(18)) >= 0; local != !slices.ContainsFunc(keys, func(k ScheduledKey) bool { return k.Key == ring.Primary() }) {
			t.Fatalf("at %s the primary is %v", stamp(now), ring.Primary().Name())
		}
	}
}
