package keydist

import (
	"errors"
	"fmt"
	"io"
	"slices"
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

	// Rand is the source of ticket nonces and of the local key's secret.
	// Nil means crypto/rand. It must be safe for concurrent use.
	Rand io.Reader

	// LocalAEAD is the AEAD of the local key (see [Member]). Zero means
	// [seal.DefaultAEAD].
	LocalAEAD seal.AEAD

	// MinEpoch is the epoch the member installed before it restarted, if
	// it kept it: bundles of this epoch or older are refused
	// ([ErrRollback]). Zero accepts any authentic bundle first, including
	// an old one replayed to a member that just started.
	MinEpoch uint64
}

// A Member is one server of a fleet: it installs the key schedules that the
// fleet's publisher seals to it and keeps a [seal.Keyring] on the Ring of the
// current time. Give [Member.Keyring] to the engine; call [Member.Install]
// with each new sealed bundle, and [Member.Maintain] often (every
// [seal.MaintainInterval]) so that keys enter and leave the Ring as their
// phases say: an announced key opens before any member seals with it.
//
// A Member never drops keys because it cannot get a bundle: it keeps the
// schedule it has. When no key of its schedule is active (before the first
// bundle, or after missing every publication for a whole rotation), it
// seals with a local key that it generates and that only it can open, so
// that it keeps issuing tickets; other members answer those tickets with a
// full handshake, never a failure. Once a distributed key is active again,
// the local key opens for [seal.DefaultDecryptOnly] more and then retires.
//
// A Member is safe for concurrent use. It prints its fleet, epoch and Ring,
// never key bytes.
type Member struct {
	cfg     MemberConfig
	keyring *seal.Keyring

	mu    sync.Mutex // serialises Install and Maintain
	epoch uint64
	sched *seal.Schedule     // the installed keys, or nil
	local *seal.ScheduledKey // the local key, or nil
	next  time.Time          // when Maintain must next rebuild the Ring
}

var _ fmt.Formatter = (*Member)(nil)

// farFuture is the end of a local key's active phase while it seals.
var farFuture = time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC)

// NewMember returns a Member with no installed keys: its Keyring seals and
// opens with a local key until the first [Member.Install].
func NewMember(cfg MemberConfig) (*Member, error) {
	if cfg.Key == nil || cfg.Publisher == nil {
		return nil, errors.New("keydist: member needs a key and a publisher key")
	}
	if err := checkFleet(cfg.Fleet); err != nil {
		return nil, err
	}
	if cfg.LocalAEAD == 0 {
		cfg.LocalAEAD = seal.DefaultAEAD
	}
	m := &Member{cfg: cfg, epoch: cfg.MinEpoch}
	// The first local key is active from the zero Time, so that any clock
	// gives a Ring.
	if err := m.rebuild(time.Time{}); err != nil {
		return nil, err
	}
	return m, nil
}

// Keyring returns the Keyring that the Member keeps current. It is the same
// Keyring for the Member's whole life.
func (m *Member) Keyring() *seal.Keyring { return m.keyring }

// Epoch returns the epoch of the last installed bundle, or
// [MemberConfig.MinEpoch] before the first. Keep it across restarts for
// roll-back protection.
func (m *Member) Epoch() uint64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.epoch
}

// Schedule returns the schedule of the last installed bundle, or nil.
func (m *Member) Schedule() *seal.Schedule {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.sched
}

// NextChange returns the time at which Maintain will next replace the Ring.
func (m *Member) NextChange() time.Time {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.next
}

// Install opens a sealed bundle ([Open], with the member's last epoch) and,
// if it is of the member's fleet, replaces the member's schedule with its
// keys and stores the Ring of now: its announced keys open at once, its
// active key seals. On error nothing changes, and the error wraps one of
// the errors of [Open] or [ErrWrongFleet].
func (m *Member) Install(sealed []byte, now time.Time) error {
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
	old := m.sched
	m.sched = sched
	if err := m.rebuild(now); err != nil {
		m.sched = old
		return err
	}
	m.epoch = b.Epoch
	return nil
}

// Maintain stores the Ring of now if a key has changed phase since the
// last one. It costs a lock and a time comparison when there is nothing to
// do. On error the Keyring keeps its Ring.
func (m *Member) Maintain(now time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if now.Before(m.next) {
		return nil
	}
	return m.rebuild(now)
}

// rebuild stores the Ring of m.sched and the local key at now. m.mu must be
// held (or m not yet shared).
func (m *Member) rebuild(now time.Time) error {
	var keys []seal.ScheduledKey
	if m.sched != nil {
		keys = m.sched.Keys()
	}
	active := slices.ContainsFunc(keys, func(k seal.ScheduledKey) bool { return k.At(now) == seal.PhaseActive })
	local := m.local
	switch {
	case !active && (local == nil || local.At(now) != seal.PhaseActive):
		k, err := seal.GenerateKey(m.cfg.LocalAEAD, m.cfg.Rand)
		if err != nil {
			return fmt.Errorf("keydist: failed to generate local key: %w", err)
		}
		local = &seal.ScheduledKey{Key: k, Phases: seal.Phases{Announce: now, Activate: now, DecryptOnly: farFuture, Retire: farFuture}}
	case active && local != nil && local.At(now) == seal.PhaseActive:
		if local.Key.Seals() == 0 {
			local = nil
			break
		}
		end := *local
		end.DecryptOnly, end.Retire = now, now.Add(seal.DefaultDecryptOnly)
		local = &end
	}
	if local != nil && local.At(now) == seal.PhaseRetired {
		local = nil
	}
	if local != nil {
		keys = append(keys, *local)
	}
	sched, err := seal.NewSchedule(keys...)
	if err != nil {
		return fmt.Errorf("keydist: %w", err)
	}
	ring, err := sched.RingAt(now, m.cfg.Rand)
	if err != nil {
		return fmt.Errorf("keydist: %w", err)
	}
	if m.keyring == nil {
		m.keyring = seal.NewKeyring(ring)
	} else {
		m.keyring.Store(ring)
	}
	m.local, m.next = local, sched.NextChange(now)
	if m.next.IsZero() {
		m.next = farFuture
	}
	return nil
}

// String returns a description such as "keydist.Member{fleet edge epoch 7
// seal.Ring{…}}". It never contains key bytes.
func (m *Member) String() string {
	return fmt.Sprintf("keydist.Member{fleet %q epoch %d %v}", m.cfg.Fleet, m.Epoch(), m.keyring.Load())
}

// GoString returns the same description as [Member.String].
func (m *Member) GoString() string { return m.String() }

// Format implements [fmt.Formatter] so that every verb prints
// [Member.String] and never key bytes.
func (m *Member) Format(f fmt.State, verb rune) { io.WriteString(f, m.String()) }
