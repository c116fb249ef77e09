package resumption

import (
	"context"
	"crypto/sha256"
	"fmt"
	"hash/maphash"
	"math"
	"slices"
	"sync"
	"time"
)

// DefaultMaxEntries is the default capacity of a [MemoryStore]: 2^20
// records, which take a table of 32 MiB when full (32 bytes per record),
// RFC 8446, Section 8.2.
const DefaultMaxEntries = 1 << 20

// ticketKeyPrefix namespaces the keys [UseOnce] records. With the SHA-256 of
// the identity the key is 39 bytes long; a validated binder is Hash.length
// (32 or 48) bytes long, so the two kinds of key never collide.
const ticketKeyPrefix = "ticket:"

// ReplayStore records the validated binders of accepted 0-RTT ClientHellos,
// RFC 8446, Section 8.2, and the identities of single-use tickets, RFC 8446,
// Section 8.1 (through [UseOnce]).
//
// The server follows the order of RFC 8446, Section 8.2: it verifies the
// binder of the selected PSK, checks freshness with [Fresh] (not fresh: reject
// 0-RTT), and only then calls CheckAndStore with the validated binder and a
// ttl that covers the rest of the freshness window (at least the window).
// The key must come only from validated parts of the ClientHello. A store
// that answers not fresh for a key it never saw (a false positive) is safe:
// the server rejects 0-RTT and never aborts.
type ReplayStore interface {
	// CheckAndStore records key for ttl and reports whether this is its first
	// sighting. A non-nil error means the store could not answer: the caller
	// rejects 0-RTT (fails closed) and goes on with 1-RTT. A ttl of zero or
	// less is an error (ErrInvalidTTL).
	CheckAndStore(ctx context.Context, key []byte, ttl time.Duration) (fresh bool, err error)
}

// UseOnce enforces single-use tickets, RFC 8446, Section 8.1: it reports
// whether this is the first use of the ticket with the given PSK identity.
// remaining is the rest of the ticket's lifetime; the record is kept that
// long. A ticket with no lifetime left (remaining <= 0) is never a first use,
// and the store is not consulted.
//
// The key is "ticket:" || SHA-256(ticketIdentity), so ticket records never
// collide with binder records in the same store. On an error the caller
// treats the ticket as used: it does a full handshake.
func UseOnce(ctx context.Context, s ReplayStore, ticketIdentity []byte, remaining time.Duration) (firstUse bool, err error) {
	if remaining <= 0 {
		return false, nil
	}
	sum := sha256.Sum256(ticketIdentity)
	key := make([]byte, 0, len(ticketKeyPrefix)+len(sum))
	key = append(append(key, ticketKeyPrefix...), sum[:]...)
	return s.CheckAndStore(ctx, key, remaining)
}

// MemoryStoreConfig configures a [MemoryStore]. The zero value gives the
// defaults.
type MemoryStoreConfig struct {
	// Window is the recording window of RFC 8446, Section 8.2: for one Window
	// after its creation the store answers every key as not fresh. Zero or
	// less means DefaultFreshnessWindow.
	Window time.Duration

	// MaxEntries bounds the number of live records. Zero or less means
	// DefaultMaxEntries.
	MaxEntries int

	// Time returns the current time. Nil means time.Now. Records age on
	// this clock's wall time: give the store the same clock as the engine
	// that judges freshness (engine.Config.Time). Tests inject a fake clock
	// here.
	Time func() time.Time
}

// MemoryStore is a [ReplayStore] for a single server instance, RFC 8446,
// Section 8.2. It is safe for concurrent use. Create it with
// [NewMemoryStore]; the zero value is not usable.
//
// # Records and memory
//
// The store is an open-addressing hash table (linear probing) of 16-byte
// slots: a 63-bit fingerprint of the key, from [hash/maphash] under a random
// seed chosen by NewMemoryStore, and the record's expiry. The table starts
// small, doubles as the live records need (amortised, with no allocation
// otherwise), and stops at the smallest power of two that holds MaxEntries
// at three-quarters load: 32 bytes per record at the default 2^20, between
// 24 and 48 for other bounds. Memory is not returned when records expire,
// so the peak is set by the traffic, at most by MaxEntries. Expired records
// are reclaimed when a probe meets them, by an incremental sweep of 512
// slots every 64 checks and, when the table reaches its load limit (after
// a burst, or at the bound), by a sweep of the whole table: amortised O(1)
// per check, with a pause of a few milliseconds per million slots on those
// rare full sweeps.
//
// Two keys with one fingerprint count as one: the second answers not fresh.
// That is safe, as every not-fresh answer is (0-RTT is rejected, 1-RTT goes
// on, or a single-use ticket gives a full handshake), and it is rare and not
// steerable: with the seed secret, a given key meets a collision with
// probability about Len()/2^63.
//
// # Clock
//
// Records age on the wall time of MemoryStoreConfig.Time, the clock by which
// the engine judges freshness ([Fresh]), so a step of that clock cannot
// shorten a record against the window it protects: a step back keeps
// records longer, and a step forward moves the window with them. (A store
// that aged records on the monotonic clock while freshness used the wall
// clock accepted a replay after the wall clock stepped back.) The skew
// margin of [ReplayTTL] covers steps within the allowed skew for the other
// members of a fleet, whose stores, like Redis, measure elapsed time.
//
// # When full
//
// When it holds MaxEntries records the store answers not fresh (reject
// 0-RTT) without recording anything: it never grows past the bound and
// never makes the caller abort. It admits new records again when old ones
// expire; a table at its bound that a sweep frees less than an eighth of
// waits until, by a sample of the records, an eighth of them have expired,
// so that each sweep pays for itself. For one Window after creation it
// records keys but answers not fresh, because a restarted server cannot
// know what it accepted before the restart (RFC 8446, Section 8.2).
//
// MemoryStore protects one instance only: a fleet that shares tickets needs
// a shared store (the redisreplay package) or one authoritative zone per
// ticket (RFC 8446, Section 8.2).
type MemoryStore struct {
	window     int64 // nanoseconds
	maxEntries int
	maxSlots   int
	now        func() time.Time
	start      int64 // wall time of creation, Unix nanoseconds
	seed       maphash.Seed

	mu    sync.Mutex
	slots []slot // a power of two long
	used  int    // occupied slots, live or expired
	// cursor is the next slot the incremental sweep looks at; calls
	// counts checks, to run it every sweepEvery.
	cursor int
	calls  uint
	// gate is the wall time before which a full table is not swept again.
	gate int64
}

// slot is one entry of the table. A zero fingerprint marks an empty slot.
type slot struct {
	fp     uint64
	expiry int64 // wall time, Unix nanoseconds
}

// minSlots is the size of a new table.
const minSlots = 256

// Every sweepEvery checks, the incremental sweep deletes the expired
// records among the next sweepStep slots. A pass over the table takes
// len/8 checks, so at most len/8 expired records wait under steady traffic:
// with at most 9/16 of the table live after growth, that stays below the
// 3/4 load limit, and a full sweep is needed only for bursts and at the
// bound. One run of 512 slots in a tight loop (a few microseconds) costs
// less than 8 slots at every check, whose cache misses the prefetcher
// cannot hide (measured: about 160 against 250 ns of thread CPU per new
// record on a loaded machine).
const (
	sweepEvery = 64
	sweepStep  = 8 * sweepEvery
)

// NewMemoryStore returns an empty [MemoryStore], RFC 8446, Section 8.2. Its
// recording window starts now, by cfg.Time.
func NewMemoryStore(cfg MemoryStoreConfig) *MemoryStore {
	s := &MemoryStore{
		window:     int64(cfg.Window),
		maxEntries: cfg.MaxEntries,
		now:        cfg.Time,
		seed:       maphash.MakeSeed(),
	}
	if s.window <= 0 {
		s.window = int64(DefaultFreshnessWindow)
	}
	if s.maxEntries <= 0 {
		s.maxEntries = DefaultMaxEntries
	}
	if s.now == nil {
		s.now = time.Now
	}
	s.maxSlots = minSlots
	for s.maxSlots/4*3 < s.maxEntries {
		s.maxSlots *= 2
	}
	s.slots = make([]slot, min(minSlots, s.maxSlots))
	s.start = s.now().UnixNano()
	return s
}

// CheckAndStore implements [ReplayStore.CheckAndStore], RFC 8446, Section 8.2.
// It answers not fresh, with a nil error, while the store is warming up and
// when it is full. It returns an error only for a non-positive ttl or a done
// ctx.
func (s *MemoryStore) CheckAndStore(ctx context.Context, key []byte, ttl time.Duration) (bool, error) {
	if ttl <= 0 {
		return false, fmt.Errorf("resumption: MemoryStore: ttl %v: %w", ttl, ErrInvalidTTL)
	}
	if err := ctx.Err(); err != nil {
		return false, fmt.Errorf("resumption: MemoryStore: %w", err)
	}
	if s.slots == nil {
		panic("resumption: internal error: MemoryStore not created by NewMemoryStore")
	}
	fp := maphash.Bytes(s.seed, key) | 1<<63 // never 0, the empty mark; the low bits index

	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now().UnixNano()
	expiry := int64(math.MaxInt64)
	if int64(ttl) <= math.MaxInt64-now {
		expiry = now + int64(ttl)
	}
	if !s.insert(fp, now, expiry) {
		return false, nil
	}
	return now-s.start >= s.window, nil
}

// insert records fp until expiry and reports whether it was new (not held
// live). It returns false without recording when the store is full.
func (s *MemoryStore) insert(fp uint64, now, expiry int64) bool {
	if s.calls++; s.calls%sweepEvery == 0 {
		s.sweepSome(now) // before the probe: deleting moves records
	}
	mask := len(s.slots) - 1
	reuse := -1 // the first expired slot on the probe path
	i := int(fp) & mask
	for ; s.slots[i].fp != 0; i = (i + 1) & mask {
		sl := &s.slots[i]
		if sl.fp == fp {
			if sl.expiry > now {
				return false
			}
			sl.expiry = expiry // the same key, expired: a new record
			return true
		}
		if reuse < 0 && sl.expiry <= now {
			reuse = i
		}
	}
	if reuse >= 0 {
		s.slots[reuse] = slot{fp, expiry}
		return true
	}
	if s.used >= s.limit() {
		if !s.makeRoom(now) {
			return false
		}
		return s.insertNew(fp, expiry) // the table changed
	}
	s.slots[i] = slot{fp, expiry}
	s.used++
	return true
}

// insertNew records fp, known not to be held, until expiry, in the first
// empty slot from its home.
func (s *MemoryStore) insertNew(fp uint64, expiry int64) bool {
	mask := len(s.slots) - 1
	i := int(fp) & mask
	for s.slots[i].fp != 0 {
		i = (i + 1) & mask
	}
	s.slots[i] = slot{fp, expiry}
	s.used++
	return true
}

// limit is the number of occupied slots at which the table is swept.
func (s *MemoryStore) limit() int {
	return min(len(s.slots)/4*3, s.maxEntries)
}

// makeRoom sweeps expired records out of a table at its limit, and grows
// it if it is still more than three-quarters of its limit full. It reports
// whether there is room for one more record.
func (s *MemoryStore) makeRoom(now int64) bool {
	if now < s.gate {
		return false
	}
	s.sweep(now)
	if s.used > len(s.slots)/16*9 && len(s.slots) < s.maxSlots {
		s.grow()
	}
	s.gate = 0
	if s.limit()-s.used < max(s.limit()/8, 1) {
		// Little was expired: do not sweep again before an eighth of the
		// records have, so that each sweep frees a share of the table.
		s.gate = s.eighthExpiry()
	}
	return s.used < s.limit()
}

// sweepSome deletes the expired records among the next sweepStep slots
// from the cursor (a deletion counts as one of them).
func (s *MemoryStore) sweepSome(now int64) {
	mask := len(s.slots) - 1
	for n := 0; n < sweepStep; n++ {
		if sl := s.slots[s.cursor]; sl.fp != 0 && sl.expiry <= now {
			s.delete(s.cursor) // a later record may move into the cursor's slot
			continue
		}
		s.cursor = (s.cursor + 1) & mask
	}
}

// sweep deletes every expired record, in place.
func (s *MemoryStore) sweep(now int64) {
	mask := len(s.slots) - 1
	// Start after an empty slot, so that no cluster wraps past the end of
	// the scan; there is one, as the table is never more than 3/4 full.
	e := 0
	for s.slots[e].fp != 0 {
		e++
	}
	for n, i := 0, (e+1)&mask; n < len(s.slots); {
		if sl := s.slots[i]; sl.fp != 0 && sl.expiry <= now {
			s.delete(i) // a later record may have moved into i: look again
			continue
		}
		n, i = n+1, (i+1)&mask
	}
}

// delete empties slot i by backward-shift deletion (Knuth's Algorithm R):
// later records of the cluster move back so that every record stays
// reachable from its home slot without tombstones.
func (s *MemoryStore) delete(i int) {
	mask := len(s.slots) - 1
	for j := (i + 1) & mask; s.slots[j].fp != 0; j = (j + 1) & mask {
		home := int(s.slots[j].fp) & mask
		// The record at j may move to i unless its home lies cyclically in
		// (i, j].
		if i <= j && (i < home && home <= j) || i > j && (i < home || home <= j) {
			continue
		}
		s.slots[i] = s.slots[j]
		i = j
	}
	s.slots[i] = slot{}
	s.used--
}

// grow doubles the table.
func (s *MemoryStore) grow() {
	old := s.slots
	s.slots = make([]slot, 2*len(old))
	s.cursor = 0
	s.used = 0
	for _, sl := range old {
		if sl.fp != 0 {
			s.insertNew(sl.fp, sl.expiry)
		}
	}
}

// eighthExpiry estimates, from a sample of up to 64 records, the time by
// which an eighth of the records will have expired.
func (s *MemoryStore) eighthExpiry() int64 {
	var sample [64]int64
	n := 0
	stride := max(len(s.slots)/len(sample), 1)
	for i := 0; i < len(s.slots) && n < len(sample); i += stride {
		for j := i; j < len(s.slots) && j < i+stride; j++ {
			if s.slots[j].fp != 0 {
				sample[n] = s.slots[j].expiry
				n++
				break
			}
		}
	}
	if n == 0 {
		return 0
	}
	slices.Sort(sample[:n])
	return sample[n/8]
}

// Len returns the number of records the store holds: its fill level, for
// metrics, RFC 8446, Section 8.2. It counts the expired records that the
// incremental sweep has not reached yet, at most an eighth of the table
// under steady traffic; they are reclaimed before the store refuses a
// record for want of room. Len takes the store's lock briefly.
func (s *MemoryStore) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.used
}

// liveLen sweeps out every expired record and returns the number of live
// ones. It costs a pass over the table.
func (s *MemoryStore) liveLen() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sweep(s.now().UnixNano())
	return s.used
}

// Cap returns the number of live records at which the store is full: the
// MaxEntries it was created with, or DefaultMaxEntries.
func (s *MemoryStore) Cap() int { return s.maxEntries }
