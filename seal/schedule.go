package seal

import (
	"fmt"
	"io"
	"slices"
	"strconv"
	"time"
)

// Phases are the times at which a key moves from one phase of its life to
// the next. Each phase is a half-open interval: a key is announced in
// [Announce, Activate), active in [Activate, DecryptOnly), decrypt-only in
// [DecryptOnly, Retire), and retired from Retire on.
//
//	time:   Announce     Activate      DecryptOnly      Retire
//	          |  announced  |   active    | decrypt-only  |  retired
//	seals:    no            yes (if newest) no              no
//	opens:    yes           yes           yes             no
//
// An announced key opens tickets but does not seal them, so that every
// member of a fleet can open a key's tickets before any member seals with
// it: the announce period must cover the skew between the members' clocks
// and the time a new key takes to reach them. A decrypt-only key opens the
// tickets it sealed until they expire, and a server should renew them.
//
// The times must be in order (equal times skip a phase); see [NewSchedule].
type Phases struct {
	Announce    time.Time // the key joins the ring, decrypt-only
	Activate    time.Time // the key may seal
	DecryptOnly time.Time // the key stops sealing
	Retire      time.Time // the key leaves the ring
}

// Phase is one phase of a key's life; see [Phases].
type Phase uint8

// The phases of a key, in order. Before Announce a key is pending and in no
// ring; an announced key opens tickets but does not seal; an active key
// opens, and seals if it is the newest active key; a decrypt-only key opens,
// and its tickets should be renewed; a retired key is in no ring, for ever.
const (
	PhasePending     Phase = 1 + iota // pending
	PhaseAnnounced                    // announced
	PhaseActive                       // active
	PhaseDecryptOnly                  // decrypt-only
	PhaseRetired                      // retired
)

// phaseNames are the names of the phases, indexed by [Phase].
var phaseNames = [...]string{
	PhasePending:     "pending",
	PhaseAnnounced:   "announced",
	PhaseActive:      "active",
	PhaseDecryptOnly: "decrypt-only",
	PhaseRetired:     "retired",
}

// String returns the name of p, such as "decrypt-only", or "Phase(n)" for
// an unknown value n.
func (p Phase) String() string {
	if p == 0 || int(p) >= len(phaseNames) {
		return "Phase(" + strconv.Itoa(int(p)) + ")"
	}
	return phaseNames[p]
}

// At returns the phase of a key with phases p at time t.
func (p Phases) At(t time.Time) Phase {
	switch {
	case t.Before(p.Announce):
		return PhasePending
	case t.Before(p.Activate):
		return PhaseAnnounced
	case t.Before(p.DecryptOnly):
		return PhaseActive
	case t.Before(p.Retire):
		return PhaseDecryptOnly
	}
	return PhaseRetired
}

// check returns an error if the times of p are out of order.
func (p Phases) check() error {
	switch {
	case p.Activate.Before(p.Announce):
		return fmt.Errorf("seal: key phases out of order: activate %s is before announce %s", stamp(p.Activate), stamp(p.Announce))
	case p.DecryptOnly.Before(p.Activate):
		return fmt.Errorf("seal: key phases out of order: decrypt-only %s is before activate %s", stamp(p.DecryptOnly), stamp(p.Activate))
	case p.Retire.Before(p.DecryptOnly):
		return fmt.Errorf("seal: key phases out of order: retire %s is before decrypt-only %s", stamp(p.Retire), stamp(p.DecryptOnly))
	}
	return nil
}

// next returns the earliest of p's times strictly after t, and false if
// there is none.
func (p Phases) next(t time.Time) (time.Time, bool) {
	for _, b := range [...]time.Time{p.Announce, p.Activate, p.DecryptOnly, p.Retire} {
		if b.After(t) {
			return b, true
		}
	}
	return time.Time{}, false
}

// stamp formats t for error messages and String methods.
func stamp(t time.Time) string {
	return t.UTC().Format(time.RFC3339Nano)
}

// A ScheduledKey is a [Key] and the times of its phases.
type ScheduledKey struct {
	Key *Key
	Phases
}

// A Schedule is an immutable list of keys and their phases, from which a
// server builds the [Ring] for any time with [Schedule.RingAt].
//
// Schedules print their keys' AEADs, name prefixes and phases, never key
// bytes.
type Schedule struct {
	keys []ScheduledKey // sorted by Activate, then by the order given
}

var _ fmt.Formatter = Schedule{}

// NewSchedule returns a Schedule of keys. Every key must have been made by
// [NewKey], [GenerateKey] or [EpochKey], the phases of each must be in order,
// and no two keys may share a [KeyName] ([ErrDuplicateKey]). NewSchedule
// copies keys, so the caller may reuse the slice.
func NewSchedule(keys ...ScheduledKey) (*Schedule, error) {
	s := &Schedule{keys: slices.Clone(keys)}
	seen := make(map[KeyName]bool, len(keys))
	for i, k := range s.keys {
		if k.Key == nil || k.Key.c == nil {
			return nil, fmt.Errorf("seal: scheduled key %d was not made by NewKey, GenerateKey or EpochKey", i)
		}
		if err := k.check(); err != nil {
			return nil, fmt.Errorf("%w (key %d, %v)", err, i, k.Key.name)
		}
		if seen[k.Key.name] {
			return nil, fmt.Errorf("%w: %v", ErrDuplicateKey, k.Key.name)
		}
		seen[k.Key.name] = true
	}
	slices.SortStableFunc(s.keys, func(a, b ScheduledKey) int {
		return a.Activate.Compare(b.Activate)
	})
	return s, nil
}

// Keys returns a copy of the schedule's keys, in order of activation.
func (s *Schedule) Keys() []ScheduledKey {
	return slices.Clone(s.keys)
}

// Prune returns the schedule without the keys retired at t, so that a
// holder of the schedule drops its references to them: s itself if no key
// is retired at t, and nil if s is nil.
func (s *Schedule) Prune(t time.Time) *Schedule {
	if s == nil || !slices.ContainsFunc(s.keys, func(k ScheduledKey) bool { return k.At(t) == PhaseRetired }) {
		return s
	}
	return &Schedule{keys: slices.DeleteFunc(slices.Clone(s.keys), func(k ScheduledKey) bool { return k.At(t) == PhaseRetired })}
}

// RingAt returns the Ring of the schedule at time t, with nonces from rand
// (crypto/rand if nil). Its primary key is the active key (Activate <= t <
// DecryptOnly) with the latest Activate; if two share it, the one given
// last to [NewSchedule], so that a key added to replace another at once
// supersedes it. Every other key in [Announce, Retire) is
// decrypt-only, newest Activate first: announced keys, active keys
// superseded by a newer one, and decrypt-only keys. An announced key never
// seals.
//
// RingAt returns an error wrapping [ErrNoPrimaryKey] if no key is active at
// t.
func (s *Schedule) RingAt(t time.Time, rand io.Reader) (*Ring, error) {
	primary := -1
	for i, k := range s.keys {
		if k.At(t) == PhaseActive && (primary < 0 || !k.Activate.Before(s.keys[primary].Activate)) {
			primary = i
		}
	}
	if primary < 0 {
		return nil, fmt.Errorf("%w: no key is active at %s", ErrNoPrimaryKey, stamp(t))
	}
	var others []*Key
	for i := len(s.keys) - 1; i >= 0; i-- {
		if p := s.keys[i].At(t); i != primary && p != PhasePending && p != PhaseRetired {
			others = append(others, s.keys[i].Key)
		}
	}
	r, err := NewRing(rand, s.keys[primary].Key, others...)
	if err != nil {
		return nil, err
	}
	r.deadline = s.keys[primary].Retire
	return r, nil
}

// NextChange returns the earliest phase time of any key of the schedule
// that is strictly after t: the first time after t at which
// [Schedule.RingAt] may return a different Ring. It returns the zero Time if
// no key changes phase after t.
func (s *Schedule) NextChange(t time.Time) time.Time {
	var next time.Time
	for _, k := range s.keys {
		if b, ok := k.next(t); ok && (next.IsZero() || b.Before(next)) {
			next = b
		}
	}
	return next
}

// String returns a description of the schedule, one key per line, such as
// "seal.Schedule{AES-256-GCM 0123abcd… announce=… activate=… decrypt-only=…
// retire=…}". It never contains key bytes.
func (s Schedule) String() string {
	return "seal.Schedule{" + joinDescs(s.keys, ScheduledKey.desc) + "}"
}

// desc describes k by its key's AEAD and name prefix and its phase times.
func (k ScheduledKey) desc() string {
	return k.Key.desc() + " announce=" + stamp(k.Announce) + " activate=" + stamp(k.Activate) +
		" decrypt-only=" + stamp(k.DecryptOnly) + " retire=" + stamp(k.Retire)
}

// GoString returns the same description as [Schedule.String].
func (s Schedule) GoString() string {
	return s.String()
}

// Format implements [fmt.Formatter] so that every verb prints
// [Schedule.String] and never key bytes.
func (s Schedule) Format(f fmt.State, verb rune) {
	io.WriteString(f, s.String())
}
