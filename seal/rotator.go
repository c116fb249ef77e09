package seal

import (
	"context"
	cryptorand "crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
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

	// MaintainInterval is how often [Rotator.Run] calls [Rotator.Maintain]
	// by default: a retired key leaves the Ring at most this long after its
	// Retire time.
	MaintainInterval = time.Second
)

// RotatorConfig configures a [Rotator]. The zero value uses the defaults.
type RotatorConfig struct {
	// AEAD is the AEAD of generated and epoch keys, and of the local key
	// that seals when the key source has no usable key. Zero means
	// DefaultAEAD.
	AEAD AEAD

	// Rotation is how long each generated key seals (its active phase),
	// and the epoch period of an epoch Rotator, which must be a whole
	// number of seconds. Zero means DefaultRotation. Other key sources
	// ignore it.
	Rotation time.Duration

	// Announce is how long each generated or epoch key opens tickets
	// before it seals. Zero means DefaultAnnounce; a negative value means
	// none.
	Announce time.Duration

	// DecryptOnly is how long each generated, epoch or local key opens
	// tickets after it stops sealing. It should be at least the lifetime
	// of the tickets the server issues. Zero means DefaultDecryptOnly; a
	// negative value means none.
	DecryptOnly time.Duration

	// Time returns the current time. Nil means time.Now.
	Time func() time.Time

	// Rand is the source of key secrets and nonces. Nil means crypto/rand.
	// It must be safe for concurrent use.
	Rand io.Reader

	// MaxSeals is the number of tickets after which the primary key is
	// replaced, at the next Maintain, by a local key that seals at once
	// (see [Rotator]).
	// Zero means MaxRandomNonceSeals for AEADs with 96-bit nonces and no
	// limit for XChaCha20-Poly1305 and XAES-256-GCM, whose 192-bit random
	// nonces allow about 2^80 tickets per key.
	MaxSeals uint64

	// Interval is how often [Rotator.Run] calls [Rotator.Maintain]. Zero
	// means MaintainInterval.
	Interval time.Duration

	// Logger receives the Rotator's warnings (a local key seals because
	// the source has no active key or the primary reached MaxSeals; the
	// source failed) and, at Info, each change of primary key. Records
	// name keys by [KeyName], never by their bytes. Nil means
	// slog.Default().
	Logger *slog.Logger
}

// periodOrDefault returns d, def if d is zero, or zero if d is negative
// (a negative period means none).
func periodOrDefault(d, def time.Duration) time.Duration {
	switch {
	case d == 0:
		return def
	case d < 0:
		return 0
	}
	return d
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
	case c.Interval == 0:
		c.Interval = MaintainInterval
	case c.Interval < 0:
		return c, errors.New("seal: negative maintain interval")
	}
	c.Announce = periodOrDefault(c.Announce, DefaultAnnounce)
	c.DecryptOnly = periodOrDefault(c.DecryptOnly, DefaultDecryptOnly)
	if c.Time == nil {
		c.Time = time.Now
	}
	if c.Rand == nil {
		c.Rand = cryptorand.Reader
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.MaxSeals == 0 {
		c.MaxSeals = 1<<64 - 1
		if c.AEAD.NonceSize() == 12 {
			c.MaxSeals = MaxRandomNonceSeals
		}
	}
	return c, nil
}

// A KeySource supplies the key schedule that a [Rotator] follows: keys it
// generates, derives or reads, each with its [Phases].
//
// The Rotator calls Schedule with the current time when it starts, when a
// key of the last schedule changes phase, and when a [Notifier] source
// says it changed; it never calls it concurrently. Schedule returns the
// keys to use around now, including, if the source knows it, the next key
// not yet announced, so that [Schedule.NextChange] tells the Rotator when
// to ask again. A nil schedule and nil error mean that the source has no
// keys yet. On error the Rotator keeps the last schedule it got, moves its
// keys through their phases all the same, and asks again at the next
// Maintain.
type KeySource interface {
	Schedule(now time.Time) (*Schedule, error)
}

// A Notifier is a [KeySource] whose schedule changes at times of its own:
// a key file rewritten on disk, a bundle pushed by a fleet's publisher.
// Changed returns a channel on which the source sends (without blocking,
// with a buffer of one) after each change; [Rotator.Run] then rebuilds the
// Ring at once, and [Rotator.Maintain] at its next call. One Rotator
// receives from it.
type Notifier interface {
	KeySource
	Changed() <-chan struct{}
}

// A Rotator keeps a [Keyring] current: it asks a [KeySource] for a
// [Schedule] of keys and [Phases] and stores the [Ring] of the current time
// in the Keyring whenever a key changes phase, when the source reports a
// change, or when the primary key has sealed [RotatorConfig.MaxSeals]
// tickets. Every source of keys goes through it: generated keys
// ([NewRotator]), epoch keys ([NewEpochRotator]), a key file
// (package keyfile) and a fleet's bundles (package keydist), through
// [NewSourceRotator].
//
// # Local key
//
// The Rotator applies one policy when the source gives no key that may
// seal: before its first keys arrive, after its schedule runs out (every
// key decrypt-only or retired), or when the primary key has sealed MaxSeals
// tickets. It then seals with a local key that it generates and that only
// this process holds, and logs a warning: the server keeps issuing
// tickets and resuming its own clients, and the other servers of a fleet
// answer those tickets with a full handshake, never a failure. Once a key
// of the source may seal again, the local key stops sealing and opens for
// [RotatorConfig.DecryptOnly] more (or is dropped at once if it sealed
// nothing). Whatever the source says, a key past its Retire time is never
// in the Ring: it neither seals nor opens.
//
// # Concurrency
//
// The Rotator does nothing by itself: the caller runs [Rotator.Maintain]
// often (every [RotatorConfig.Interval] through [Rotator.Run]). Maintain
// takes a lock that Seal and Open never take: they load the current Ring
// atomically, so rotation never blocks or tears a ticket operation, and a
// seal count past MaxSeals is acted on at the next Maintain, never on the
// seal path.
//
// A retired key leaves the schedule and the Ring at the first Maintain
// after its Retire time, and the Rotator drops every reference to it (the
// sources of this module drop theirs when the Rotator next asks them, see
// [Schedule.Prune]); it is garbage once the calls that loaded an older Ring
// return. Go cannot zero the cipher state of a Key (see docs/keys.md).
//
// Rotators print their current Ring, never key bytes or the epoch root.
type Rotator struct {
	cfg     RotatorConfig
	src     KeySource
	changed <-chan struct{} // the source's notifications, or nil
	keyring *Keyring

	mu     sync.Mutex     // serialises Maintain; Seal and Open never take it
	source *Schedule      // the source's last schedule, or nil
	retry  bool           // the source failed: ask it again at the next Maintain
	locals []ScheduledKey // local keys, not yet retired; at most one active
	sched  *Schedule      // the schedule of the current Ring
	next   time.Time      // when Maintain must next rebuild the Ring

	changes atomic.Uint64 // Rings stored after the first, for Changes
}

var _ fmt.Formatter = (*Rotator)(nil)

// localForever is the end of a local key's active phase while it seals.
var localForever = time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC)

// NewSourceRotator returns a Rotator that follows src, and stores the Ring
// of cfg.Time() in its Keyring at once: the source's keys if one is
// active, a local key otherwise. Of cfg, it uses AEAD and DecryptOnly for
// the local key, and Time, Rand, MaxSeals, Interval and Logger.
func NewSourceRotator(src KeySource, cfg RotatorConfig) (*Rotator, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if src == nil {
		return nil, errors.New("seal: nil key source")
	}
	r := &Rotator{cfg: cfg, src: src}
	if n, ok := src.(Notifier); ok {
		r.changed = n.Changed()
	}
	if err := r.rebuild(cfg.Time(), true); err != nil {
		return nil, err
	}
	return r, nil
}

// NewRotator returns a Rotator that generates a key for cfg.AEAD every
// cfg.Rotation, announced cfg.Announce before it activates and retired
// cfg.DecryptOnly after it stops sealing. The first key is active at once
// (it is not announced: nothing else holds it). Generated keys live only in
// this process; for a fleet, use [NewEpochRotator], a key file or a fleet's
// bundles.
func NewRotator(cfg RotatorConfig) (*Rotator, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	return NewSourceRotator(&generatedSource{cfg: cfg}, cfg)
}

// NewEpochRotator returns a Rotator whose keys are the epoch keys of root
// ([EpochKey], [EpochSchedule]) with period cfg.Rotation, announced
// cfg.Announce before their epoch and decrypt-only for cfg.DecryptOnly
// after it. Servers that share root and whose clocks differ by less than
// cfg.Announce open each other's tickets. NewEpochRotator copies root; the
// caller should clear its copy.
//
// Epoch keys cannot be replaced early on one server alone: when the primary
// passes cfg.MaxSeals, the Rotator seals with a local key, which only
// this server can open, until the next epoch key activates.
func NewEpochRotator(root []byte, cfg RotatorConfig) (*Rotator, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if _, err := EpochKey(root, cfg.AEAD, 0); err != nil {
		return nil, err
	}
	src := &epochSource{cfg: cfg, root: &rootBox{slices.Clone(root)}, cache: make(map[uint64]*Key)}
	return NewSourceRotator(src, cfg)
}

// Keyring returns the Keyring that the Rotator keeps current, for Seal and
// Open. It is the same Keyring for the Rotator's whole life.
func (r *Rotator) Keyring() *Keyring { return r.keyring }

// Changes returns the number of times the Rotator has replaced its
// Keyring's Ring since it was created: when a key changed phase, the
// source's keys changed, or the primary key reached MaxSeals. It is for
// metrics; it takes no lock.
func (r *Rotator) Changes() uint64 { return r.changes.Load() }

// Schedule returns the schedule of the current Ring: the source's keys and
// the local keys.
func (r *Rotator) Schedule() *Schedule {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.sched
}

// NextChange returns the time at which Maintain will next replace the Ring,
// unless the primary key reaches MaxSeals or the source changes first. It
// is the zero Time if no key changes phase any more, and the year 9999
// while a local key seals and no key of the source is due.
func (r *Rotator) NextChange() time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.next
}

// Maintain replaces the Keyring's Ring if a key has changed phase since the
// last replacement, if the source has notified a change, or if the primary
// key has sealed MaxSeals tickets. It costs a lock, a clock read, a channel
// poll and an atomic load when there is nothing to do.
//
// An error of the source is returned after the Ring is rebuilt from the
// source's previous schedule (keys still move through their phases); any
// other error leaves the current Ring. The next Maintain tries again.
func (r *Rotator) Maintain() error {
	changed := false
	select {
	case <-r.changed: // a nil channel never receives
		changed = true
	default:
	}
	return r.maintain(changed)
}

// maintain is Maintain, asking the source again if changed.
func (r *Rotator) maintain(changed bool) error {
	now := r.cfg.Time()
	r.mu.Lock()
	defer r.mu.Unlock()
	over := r.keyring.Load().Primary().Seals() >= r.cfg.MaxSeals
	due := !r.next.IsZero() && !now.Before(r.next)
	if !due && !over && !changed && !r.retry {
		return nil
	}
	return r.rebuild(now, due || changed || r.retry)
}

// Run calls Maintain every [RotatorConfig.Interval] (on the real clock;
// decisions use the configured Time), and at once when a [Notifier]
// source reports a change, until ctx is done; then it returns ctx.Err().
// It logs the errors of Maintain as warnings and goes on with the Ring it
// has.
func (r *Rotator) Run(ctx context.Context) error {
	tick := time.NewTicker(r.cfg.Interval)
	defer tick.Stop()
	for {
		var err error
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
			err = r.Maintain()
		case <-r.changed:
			err = r.maintain(true)
		}
		if err != nil {
			r.cfg.Logger.Warn("tlsticket keys: rotation failed, keeping the current keys", slog.Any("error", err))
		}
	}
}

// rebuild asks the source for its schedule if ask, adds or ends the local
// key as the policy says, and stores the Ring of now. r.mu must be held
// (or r not yet shared).
func (r *Rotator) rebuild(now time.Time, ask bool) error {
	var srcErr error
	if ask {
		s, err := r.src.Schedule(now)
		if err != nil {
			srcErr = err
			if r.keyring == nil {
				return srcErr
			}
		} else {
			r.source = s
		}
		r.retry = err != nil
	}
	r.source = r.source.Prune(now)
	var keys []ScheduledKey
	if r.source != nil {
		keys = r.source.Keys()
	}
	locals, err := r.localKeys(now, keys)
	if err != nil {
		return err
	}
	sched, err := NewSchedule(append(keys, locals...)...)
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
		if old := r.keyring.Load().Primary(); old != ring.Primary() {
			r.cfg.Logger.Info("tlsticket keys: primary key changed",
				slog.String("from", old.Name().String()), slog.String("to", ring.Primary().Name().String()))
		}
		r.keyring.Store(ring)
		r.changes.Add(1)
	}
	r.locals, r.sched = locals, sched
	r.next = sched.NextChange(now)
	return srcErr
}

// localKeys returns the local keys at now given the source's keys: a new
// local key that seals at once if no source key may seal (none is active,
// or the newest active one has sealed MaxSeals tickets) and no local key
// may either; the active local key ended if a source key may seal again.
func (r *Rotator) localKeys(now time.Time, keys []ScheduledKey) ([]ScheduledKey, error) {
	locals := slices.DeleteFunc(slices.Clone(r.locals), func(k ScheduledKey) bool { return k.At(now) == PhaseRetired })
	active := slices.IndexFunc(locals, func(k ScheduledKey) bool { return k.At(now) == PhaseActive })
	primary := newestActive(keys, now)
	sourceSeals := primary >= 0 && keys[primary].Key.Seals() < r.cfg.MaxSeals
	localSeals := active >= 0 && locals[active].Key.Seals() < r.cfg.MaxSeals
	switch {
	case !sourceSeals && !localSeals:
		why := "no key of the source is active"
		if primary >= 0 {
			why = "the primary key reached MaxSeals"
		}
		k, err := GenerateKey(r.cfg.AEAD, r.cfg.Rand)
		if err != nil {
			return nil, fmt.Errorf("seal: failed to generate a local key: %w", err)
		}
		if active >= 0 {
			locals[active] = endLocal(locals[active], now, r.cfg.DecryptOnly)
		}
		locals = append(locals, ScheduledKey{Key: k, Phases: Phases{Announce: now, Activate: now, DecryptOnly: localForever, Retire: localForever}})
		r.cfg.Logger.Warn("tlsticket keys: sealing with a local key that only this server opens; other servers answer its tickets with a full handshake",
			slog.String("reason", why), slog.String("key", k.Name().String()))
	case sourceSeals && active >= 0:
		if locals[active].Key.Seals() == 0 {
			locals = slices.Delete(locals, active, active+1)
			break
		}
		locals[active] = endLocal(locals[active], now, r.cfg.DecryptOnly)
		r.cfg.Logger.Info("tlsticket keys: a key of the source is active again; the local key is decrypt-only",
			slog.String("key", locals[active].Key.Name().String()))
	}
	return locals, nil
}

// endLocal returns k, a local key, decrypt-only from now for decryptOnly.
func endLocal(k ScheduledKey, now time.Time, decryptOnly time.Duration) ScheduledKey {
	k.DecryptOnly, k.Retire = now, now.Add(decryptOnly)
	return k
}

// newestActive returns the index of the key of keys that [Schedule.RingAt]
// makes primary at t (the active key with the latest Activate, the last
// one given if two share it), or -1 if none is active.
func newestActive(keys []ScheduledKey, t time.Time) int {
	primary := -1
	for i, k := range keys {
		if k.At(t) == PhaseActive && (primary < 0 || !k.Activate.Before(keys[primary].Activate)) {
			primary = i
		}
	}
	return primary
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

// generatedSource is the [KeySource] of [NewRotator]: it generates a key
// every cfg.Rotation, each one when the previous one's successor is
// announced, so that its schedule always ends with a key not yet
// announced.
type generatedSource struct {
	cfg  RotatorConfig
	keys []ScheduledKey // not yet retired
}

// Schedule drops the retired keys, generates a key that seals at once if
// none is active (at the start, or after a pause longer than a key's
// life), and generates keys until one is not yet announced.
func (g *generatedSource) Schedule(now time.Time) (*Schedule, error) {
	keys := slices.DeleteFunc(slices.Clone(g.keys), func(k ScheduledKey) bool { return k.At(now) == PhaseRetired })
	if !slices.ContainsFunc(keys, func(k ScheduledKey) bool { return k.At(now) == PhaseActive }) {
		k, err := g.generate(now, now)
		if err != nil {
			return nil, err
		}
		keys = append(keys, k)
	}
	for {
		last := slices.MaxFunc(keys, func(a, b ScheduledKey) int { return a.Activate.Compare(b.Activate) })
		if last.Announce.After(now) {
			break
		}
		next := last.Activate.Add(g.cfg.Rotation)
		k, err := g.generate(next.Add(-g.cfg.Announce), next)
		if err != nil {
			return nil, err
		}
		keys = append(keys, k)
	}
	g.keys = keys
	return NewSchedule(keys...)
}

// generate returns a new key announced at announce and active from activate
// for the rotation period.
func (g *generatedSource) generate(announce, activate time.Time) (ScheduledKey, error) {
	k, err := GenerateKey(g.cfg.AEAD, g.cfg.Rand)
	if err != nil {
		return ScheduledKey{}, err
	}
	end := activate.Add(g.cfg.Rotation)
	return ScheduledKey{Key: k, Phases: Phases{
		Announce:    announce,
		Activate:    activate,
		DecryptOnly: end,
		Retire:      end.Add(g.cfg.DecryptOnly),
	}}, nil
}

// epochSource is the [KeySource] of [NewEpochRotator]: the epoch keys of
// root around now, reusing the keys it derived before (by epoch) so that
// they keep their seal counts.
type epochSource struct {
	cfg   RotatorConfig
	root  *rootBox
	cache map[uint64]*Key
}

// rootBox keeps the epoch root one pointer away from its holder, where fmt
// prints only an address even when it prints the holder by reflection (as
// the unexported field of a struct).
type rootBox struct{ b []byte }

func (e *epochSource) Schedule(now time.Time) (*Schedule, error) {
	return epochSchedule(e.root.b, e.cfg.AEAD, e.cfg.Rotation, e.cfg.Announce, e.cfg.DecryptOnly, now, e.cache)
}
