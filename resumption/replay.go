package resumption

import (
	"context"
	"crypto/sha256"
	"fmt"
	"math"
	"sync"
	"time"
)

// DefaultMaxEntries is the default capacity of a [MemoryStore]: 2^20
// records, about 63 MiB when full (measured: 62.5 bytes per record at 2^20),
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

	// Time returns the current time. Nil means time.Now. Tests inject a fake
	// clock here.
	Time func() time.Time
}

// MemoryStore is a [ReplayStore] for a single server instance, RFC 8446,
// Section 8.2. It is safe for concurrent use. Create it with
// [NewMemoryStore]; the zero value is not usable.
//
// Each record holds a 16-byte digest of the key (SHA-256 truncated to 128
// bits) and its expiry: 16 bytes in a map slot plus 24 bytes in an expiry
// heap. With map and slice growth that measures 53 bytes per record at 100k
// records and 63 at 2^20; TestMemoryStoreBytesPerEntry holds it under 128.
// The memory is not returned when records expire, so the peak is set by
// MaxEntries. Expired records are removed at the start of each call, in
// expiry order, at amortised O(log n) cost each. A digest collision answers
// not fresh, which is safe.
//
// When it holds MaxEntries live records the store answers not fresh (reject
// 0-RTT) without recording anything: it never grows past the bound and never
// makes the caller abort. For one Window after creation it records keys but
// answers not fresh, because a restarted server cannot know what it accepted
// before the restart (RFC 8446, Section 8.2).
//
// MemoryStore protects one instance only: a fleet that shares tickets needs
// a shared store (the redisreplay package) or one authoritative zone per
// ticket (RFC 8446, Section 8.2).
type MemoryStore struct {
	window     time.Duration
	maxEntries int
	now        func() time.Time
	start      time.Time

	mu      sync.Mutex
	seen    map[digest]struct{}
	expires expiryHeap
}

// digest is the stored form of a key.
type digest [16]byte

// record is one live entry in the expiry heap; expiry is measured from the
// store's creation, so a wall-clock step does not move it.
type record struct {
	expiry time.Duration
	key    digest
}

// NewMemoryStore returns an empty [MemoryStore], RFC 8446, Section 8.2. Its
// recording window starts now, by cfg.Time.
func NewMemoryStore(cfg MemoryStoreConfig) *MemoryStore {
	s := &MemoryStore{
		window:     cfg.Window,
		maxEntries: cfg.MaxEntries,
		now:        cfg.Time,
		seen:       make(map[digest]struct{}),
	}
	if s.window <= 0 {
		s.window = DefaultFreshnessWindow
	}
	if s.maxEntries <= 0 {
		s.maxEntries = DefaultMaxEntries
	}
	if s.now == nil {
		s.now = time.Now
	}
	s.start = s.now()
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
	if s.seen == nil {
		panic("resumption: internal error: MemoryStore not created by NewMemoryStore")
	}
	sum := sha256.Sum256(key)
	d := digest(sum[:16])

	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now().Sub(s.start)
	s.expireUntil(now)
	if _, ok := s.seen[d]; ok || len(s.seen) >= s.maxEntries {
		return false, nil
	}
	expiry := now + ttl
	if now > 0 && ttl > math.MaxInt64-now {
		expiry = math.MaxInt64
	}
	s.seen[d] = struct{}{}
	s.expires.push(record{expiry: expiry, key: d})
	return now >= s.window, nil
}

// expireUntil removes every record whose expiry is at or before now.
func (s *MemoryStore) expireUntil(now time.Duration) {
	for len(s.expires) > 0 && s.expires[0].expiry <= now {
		delete(s.seen, s.expires.pop().key)
	}
}

// len returns the number of records held, expired or not.
func (s *MemoryStore) len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.seen)
}

// expiryHeap is a binary min-heap of records ordered by expiry. It avoids
// container/heap, whose interface boxing allocates on every push.
type expiryHeap []record

func (h *expiryHeap) push(r record) {
	*h = append(*h, r)
	a := *h
	for i := len(a) - 1; i > 0; {
		parent := (i - 1) / 2
		if a[parent].expiry <= a[i].expiry {
			break
		}
		a[parent], a[i] = a[i], a[parent]
		i = parent
	}
}

func (h *expiryHeap) pop() record {
	a := *h
	top := a[0]
	last := len(a) - 1
	a[0] = a[last]
	a = a[:last]
	for i := 0; ; {
		smallest, l, r := i, 2*i+1, 2*i+2
		if l < len(a) && a[l].expiry < a[smallest].expiry {
			smallest = l
		}
		if r < len(a) && a[r].expiry < a[smallest].expiry {
			smallest = r
		}
		if smallest == i {
			break
		}
		a[i], a[smallest] = a[smallest], a[i]
		i = smallest
	}
	*h = a
	return top
}
