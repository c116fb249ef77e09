package keydist

import (
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/tlsticket/tlsticket/seal"
)

// MemberConfig configures a [Member].
type MemberConfig struct {
	// Fleet is the name of the member's fleet. Bundles of another fleet
	// are refused with [ErrWrongFleet]. Required.
	Fleet string

	// Key is the member's private key. Required.
	Key *MemberKey

	// Publisher is the public key of the fleet's publisher, which must
	// have signed every bundle. Required.
	Publisher *PublisherPublicKey

	// MinEpoch is the epoch the member installed before it restarted, if
	// it kept it: bundles of this epoch or older are refused
	// ([ErrRollback]). Zero accepts any authentic bundle first, including
	// an old one replayed to a member that just started.
	MinEpoch uint64
}

// A Member is one server of a fleet, as a [seal.KeySource]: it installs
// the key schedules that the fleet's publisher seals to it, and a
// [seal.Rotator] made with [seal.NewSourceRotator] keeps the server's
// [seal.Keyring] on the Ring of the current time. Give the Rotator's
// Keyring to the engine, run the Rotator ([seal.Rotator.Run]), and call
// [Member.Install] with each new sealed bundle: the Member notifies the
// Rotator, which installs the bundle's keys at once. An announced key
// opens before any member seals with it.
//
// A Member never drops keys because it cannot get a bundle: it keeps the
// schedule it has. When no key of its schedule is active (before the first
// bundle, or after missing every publication for a whole rotation), the
// Rotator seals with a local key that only this server can open, so that it
// keeps issuing tickets; other members answer those tickets with a full
// handshake, never a failure (see [seal.Rotator]).
//
// A Member is safe for concurrent use. It prints its fleet and epoch, never
// key bytes.
type Member struct {
	cfg     MemberConfig
	changed chan struct{} // [Member.Changed], buffered: one pending change

	mu    sync.Mutex // serialises Install
	epoch uint64
	sched *seal.Schedule // the installed keys, or nil
}

var (
	_ fmt.Formatter = (*Member)(nil)
	_ seal.Notifier = (*Member)(nil)
)

// NewMember returns a Member with no installed keys: until the first
// [Member.Install], a Rotator that follows it seals and opens with a local
// key.
func NewMember(cfg MemberConfig) (*Member, error) {
	if cfg.Key == nil || cfg.Publisher == nil {
		return nil, errors.New("keydist: member needs a key and a publisher key")
	}
	if err := checkFleet(cfg.Fleet); err != nil {
		return nil, err
	}
	return &Member{cfg: cfg, epoch: cfg.MinEpoch, changed: make(chan struct{}, 1)}, nil
}

// Epoch returns the epoch of the last installed bundle, or
// [MemberConfig.MinEpoch] before the first. Keep it across restarts for
// roll-back protection.
func (m *Member) Epoch() uint64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.epoch
}

// Schedule returns the schedule of the last installed bundle, without the
// keys retired at now, which the Member drops, or nil before the first
// bundle: it implements [seal.KeySource]. It never fails.
func (m *Member) Schedule(now time.Time) (*seal.Schedule, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sched = m.sched.Prune(now)
	return m.sched, nil
}

// Changed returns the channel on which the Member notifies each installed
// bundle: it implements [seal.Notifier].
func (m *Member) Changed() <-chan struct{} { return m.changed }

// ErrWrongFleet means a bundle is for another fleet than the member's.
var ErrWrongFleet = errors.New("keydist: bundle for another fleet")

// Install opens a sealed bundle ([Open], with the member's last epoch) and,
// if it is of the member's fleet, replaces the member's schedule with its
// keys and notifies the Rotator that follows the Member. On error nothing
// changes, and the error wraps one of the errors of [Open] or
// [ErrWrongFleet].
func (m *Member) Install(sealed []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	b, err := Open(sealed, m.cfg.Key, m.cfg.Publisher, m.epoch)
	if err != nil {
		return err
	}
	defer b.Clear()
	if b.Fleet != m.cfg.Fleet {
		return fmt.Errorf("%w: bundle for %q, member of %q", ErrWrongFleet, b.Fleet, m.cfg.Fleet)
	}
	sched, err := b.Schedule()
	if err != nil {
		return err
	}
	m.sched, m.epoch = sched, b.Epoch
	select {
	case m.changed <- struct{}{}:
	default: // a change is pending already
	}
	return nil
}

// String returns a description such as "keydist.Member{fleet edge epoch
// 7, 3 keys}". It never contains key bytes.
func (m *Member) String() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	if m.sched != nil {
		n = len(m.sched.Keys())
	}
	return fmt.Sprintf("keydist.Member{fleet %q epoch %d, %d keys}", m.cfg.Fleet, m.epoch, n)
}

// GoString returns the same description as [Member.String].
func (m *Member) GoString() string { return m.String() }

// Format implements [fmt.Formatter] so that every verb prints
// [Member.String] and never key bytes.
func (m *Member) Format(f fmt.State, verb rune) { io.WriteString(f, m.String()) }
