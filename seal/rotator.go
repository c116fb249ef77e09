package seal

import (
	"context"
	cryptorand "crypto/rand"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"
	"time"
)

// Defaults of [RotatorConfig]. docs/keys.md compares them with other TLS
// stacks.
const (
	// DefaultRotation is how long a key seals: 6 hours, as rustls rotates.
	DefaultRotation = 6 * time.Hour

	// DefaultAnnounce is how long a key opens before it seals: 1 hour,
	// far more than the clock skew and key distribution delay of a fleet.
	DefaultAnnounce = 1 * time.Hour

	// DefaultDecryptOnly is how long a key opens after it stops sealing:
	// 12 hours, six times the engine's default ticket lifetime of 2 hours,
	// so that a client that comes back within 12 hours resumes and gets a
	// fresh ticket. A leaked key exposes at most 18 hours of tickets.
	DefaultDecryptOnly = 12 * time.Hour

	// DefaultAEAD is the AEAD of generated keys.
	DefaultAEAD = AES256GCM

	// MaxRandomNonceSeals is the default [RotatorConfig.MaxSeals] of the
	// AEADs with 96-bit nonces (AES-GCM and ChaCha20-Poly1305): 2^31, half
	// the 2^32 random nonces after which NIST SP 800-38D, Section 8.3 bounds
	// the collision probability (about 2^-33 at 2^32 nonces, 2^-35 here),
	// leaving room for the seals between two maintenances.
	MaxRandomNonceSeals = 1 << 31

	// MaintainInterval is how often [Rotator.Run] calls [Rotator.Maintain].
	MaintainInterval = time.Second
)

// RotatorConfig configures a [Rotator]. The zero value uses the defaults.
type RotatorConfig struct {
	// AEAD is the AEAD of the keys. Zero means DefaultAEAD.
	AEAD AEAD

	// Rotation is how long each key seals (its active phase), and the
	// epoch period of an epoch Rotator, which must be a whole number of
	// seconds. Zero means DefaultRotation.
	Rotation time.Duration

	// Announce is how long each key opens tickets before it seals. Zero
	// means DefaultAnnounce; a negative value means none.
	Announce time.Duration

	// DecryptOnly is how long each key opens tickets after it stops
	// sealing. It should be at least the lifetime of the tickets the server
	// issues. Zero means DefaultDecryptOnly; a negative value means none.
	DecryptOnly time.Duration

	// Time returns the current time. Nil means time.Now.
	Time func() time.Time

	// Rand is the source of key secrets and nonces. Nil means crypto/rand.
	// It must be safe for concurrent use.
	Rand io.Reader

	// MaxSeals is the number of tickets after which the primary key is
	// replaced, at the next Maintain, by a new key that seals at once.
	// Zero means MaxRandomNonceSeals for AEADs with 96-bit nonces and no
	// limit for XChaCha20-Poly1305 and XAES-256-GCM, whose 192-bit random
	// nonces allow about 2^80 tickets per key.
	MaxSeals uint64
}

// withDefaults returns c with its zero fields set to the defaults.
func (c RotatorConfig) withDefaults() (RotatorConfig, error) {
	if c.AEAD == 0 {
		c.AEAD = DefaultAEAD
	}
	if !c.AEAD.valid() {
		return c, fmt.Errorf("seal: unknown AEAD %v", c.AEAD)
	}
	switch {
	case c.Rotation == 0:
		c.Rotation = DefaultRotation
	case c.Rotation < 0:
		return c, errors.New("seal: negative rotation period")
	}
	switch {
	case c.Announce == 0:
		c.Announce = DefaultAnnounce
	case c.Announce < 0:
		c.Announce = 0
	}
	switch {
	case c.DecryptOnly == 0:
		c.DecryptOnly = DefaultDecryptOnly
	case c.DecryptOnly < 0:
		c.DecryptOnly = 0
	}
	if c.Time == nil {
		c.Time = time.Now
	}
	if c.Rand == nil {
		c.Rand = cryptorand.Reader
	}
	if c.MaxSeals == 0 {
		c.MaxSeals = 1<<64 - 1
		if c.AEAD.NonceSize() == 12 {
			c.MaxSeals = MaxRandomNonceSeals
		}
	}
	return c, nil
}

// A Rotator keeps a [Keyring] current: it generates (or derives) keys on a
// schedule of [Phases] and stores the [Ring] of the current time in the
// Keyring whenever a key changes phase, or when the primary key has sealed
// [RotatorConfig.MaxSeals] tickets.
//
// The Rotator does nothing by itself: the caller runs [Rotator.Maintain]
// often (every [MaintainInterval] through [Rotator.Run]) and decides what
// to do with its errors. Maintain takes a lock that Seal and Open never
// take: they load the current Ring atomically, so rotation never blocks or
// tears a ticket operation, and a seal count past MaxSeals is acted on at
// the next Maintain, never on the seal path.
//
// A retired key leaves the schedule and the Ring at the first Maintain
// after its Retire time, and the Rotator drops every reference to it; it
// is garbage once the calls that loaded an older Ring return. Go cannot
// zero the cipher state of a Key (see docs/keys.md).
//
// Rotators print their current Ring, never key bytes or the epoch root.
type Rotator struct {
	cfg     RotatorConfig
	root    *rootBox // the epoch root, or nil for generated keys
	keyring *Keyring

	mu    sync.Mutex      // serialises Maintain; Seal and Open never take it
	keys  []ScheduledKey  // generated keys, not yet retired
	cache map[uint64]*Key // epoch keys by epoch, not yet retired
	sched *Schedule       // the schedule of the current Ring
	next  time.Time       // when Maintain must next rebuild the Ring
}

var _ fmt.Formatter = (*Rotator)(nil)

// rootBox keeps the epoch root one pointer away from the Rotator, where fmt
// prints only an address even when it prints a Rotator by reflection (as
// the unexported field of a struct).
type rootBox struct{ b []byte }

// NewRotator returns a Rotator that generates a key for cfg.AEAD every
// cfg.Rotation, announced cfg.Announce before it activates and retired
// cfg.DecryptOnly after it stops sealing. The first key is active at once
// (it is not announced: nothing else holds it). Generated keys live only in
// this process; for a fleet, use [NewEpochRotator] or a key file.
func NewRotator(cfg RotatorConfig) (*Rotator, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	r := &Rotator{cfg: cfg}
	if err := r.rebuild(cfg.Time(), false); err != nil {
		return nil, err
	}
	return r, nil
}

// NewEpochRotator returns a Rotator whose keys are the epoch keys of root
// ([EpochKey], [EpochSchedule]) with period cfg.Rotation, announced
// cfg.Announce before their epoch and decrypt-only for cfg.DecryptOnly
// after it. Servers that share root and whose clocks differ by less than
// cfg.Announce open each other's tickets. NewEpochRotator copies root; the
// caller should clear its copy.
//
// Epoch keys cannot be replaced early on one server alone: when the primary
// passes cfg.MaxSeals, the Rotator seals with a generated key, which only
// this server can open, until the next epoch key activates.
func NewEpochRotator(root []byte, cfg RotatorConfig) (*Rotator, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if _, err := EpochKey(root, cfg.AEAD, 0); err != nil {
		return nil, err
	}
	r := &Rotator{cfg: cfg, root: &rootBox{slices.Clone(root)}, cache: make(map[uint64]*Key)}
	if err := r.rebuild(cfg.Time(), false); err != nil {
		return nil, err
	}
	return r, nil
}

// Keyring returns the Keyring that the Rotator keeps current, for Seal and
// Open.
func (r *Rotator) Keyring() *Keyring { return r.keyring }

// Schedule returns the schedule of the current Ring.
func (r *Rotator) Schedule() *Schedule {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.sched
}

// NextChange returns the time at which Maintain will next replace the Ring,
// unless the primary key reaches MaxSeals first.
func (r *Rotator) NextChange() time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.next
}

// Maintain replaces the Keyring's Ring if a key has changed phase since the
// last replacement or if the primary key has sealed MaxSeals tickets. It
// costs a lock, a clock read and an atomic load when there is nothing to do.
// On error the Keyring keeps its current Ring and the next Maintain tries
// again.
func (r *Rotator) Maintain() error {
	now := r.cfg.Time()
	r.mu.Lock()
	defer r.mu.Unlock()
	over := r.keyring.Load().Primary().Seals() >= r.cfg.MaxSeals
	if now.Before(r.next) && !over {
		return nil
	}
	return r.rebuild(now, over)
}

// Run calls Maintain every MaintainInterval (on the real clock; decisions
// use the configured Time) until ctx is done, when it returns ctx.Err(), or
// until Maintain fails, when it returns that error. Call Run again to
// retry.
func (r *Rotator) Run(ctx context.Context) error {
	tick := time.NewTicker(MaintainInterval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
			if err := r.Maintain(); err != nil {
				return err
			}
		}
	}
}

// rebuild recomputes the schedule at now, adding a key that seals at once if
// over, and stores its Ring. r.mu must be held (or r not yet shared).
func (r *Rotator) rebuild(now time.Time, over bool) error {
	keys := slices.DeleteFunc(slices.Clone(r.keys), func(k ScheduledKey) bool {
		return k.At(now) == PhaseRetired
	})
	if over || (r.root == nil && !anyActive(keys, now)) {
		k, err := r.generate(now, now)
		if err != nil {
			return err
		}
		keys = append(keys, k)
	}
	var next time.Time // when the next key must be generated, if any
	all := keys
	if r.root == nil {
		// Generate each key when its announce time comes.
		for {
			last := slices.MaxFunc(keys, func(a, b ScheduledKey) int { return a.Activate.Compare(b.Activate) })
			next = last.Activate.Add(r.cfg.Rotation)
			if next.Add(-r.cfg.Announce).After(now) {
				next = next.Add(-r.cfg.Announce)
				break
			}
			k, err := r.generate(next.Add(-r.cfg.Announce), next)
			if err != nil {
				return err
			}
			keys = append(keys, k)
		}
		all = keys
	} else {
		es, err := epochSchedule(r.root.b, r.cfg.AEAD, r.cfg.Rotation, r.cfg.Announce, r.cfg.DecryptOnly, now, r.cache)
		if err != nil {
			return err
		}
		all = append(es.Keys(), keys...)
	}
	sched, err := NewSchedule(all...)
	if err != nil {
		return err
	}
	ring, err := sched.RingAt(now, r.cfg.Rand)
	if err != nil {
		return err
	}
	if r.keyring == nil {
		r.keyring = NewKeyring(ring)
	} else {
		r.keyring.Store(ring)
	}
	r.keys, r.sched = keys, sched
	r.next = sched.NextChange(now)
	if !next.IsZero() && (r.next.IsZero() || next.Before(r.next)) {
		r.next = next
	}
	return nil
}

// generate returns a new key announced at announce and active from activate
// for the rotation period.
func (r *Rotator) generate(announce, activate time.Time) (ScheduledKey, error) {
	k, err := GenerateKey(r.cfg.AEAD, r.cfg.Rand)
	if err != nil {
		return ScheduledKey{}, err
	}
	end := activate.Add(r.cfg.Rotation)
	return ScheduledKey{Key: k, Phases: Phases{
		Announce:    announce,
		Activate:    activate,
		DecryptOnly: end,
		Retire:      end.Add(r.cfg.DecryptOnly),
	}}, nil
}

// anyActive reports whether a key of keys is active at t.
func anyActive(keys []ScheduledKey, t time.Time) bool {
	return slices.ContainsFunc(keys, func(k ScheduledKey) bool { return k.At(t) == PhaseActive })
}

// String returns "seal.Rotator{" followed by [Ring.String] of the current
// Ring. It never contains key bytes or the epoch root.
func (r *Rotator) String() string {
	if r.keyring == nil {
		return "seal.Rotator{<nil>}"
	}
	return "seal.Rotator{" + r.keyring.Load().String() + "}"
}

// GoString returns the same description as [Rotator.String].
func (r *Rotator) GoString() string {
	return r.String()
}

// Format implements [fmt.Formatter] so that every verb prints
// [Rotator.String] and never key bytes.
func (r *Rotator) Format(f fmt.State, verb rune) {
	io.WriteString(f, r.String())
}
