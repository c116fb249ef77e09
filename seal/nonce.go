package seal

import (
	cryptorand "crypto/rand"
	"io"
	mrand "math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
)

// The nonces of the default random source.
//
// Every ticket takes a 96-bit (or 192-bit) nonce that must never repeat
// under one key. Reading each nonce from crypto/rand costs about 5 ns per
// byte on Linux (the vDSO getrandom runs a generic ChaCha20 per call), as
// much as AES-GCM over the whole ticket. So by default a key draws its
// nonces from a few ChaCha8 generators (math/rand/v2.ChaCha8, the C2SP
// chacha8rand construction, a cryptographically strong generator), each
// seeded with 256 bits from crypto/rand and reseeded after
// nonceReseedInterval nonces. Their outputs are indistinguishable from
// random, so the random-nonce bound of the package documentation holds
// unchanged, and servers that share a key draw independent streams. See
// docs/keys.md for the argument and the measurements.
//
// The generators are sharded so that concurrent seals seldom share one, and
// each P keeps using the shard it used last (a sync.Pool holds a pointer to
// it per P), so that a generator's cache lines stay on one core: reading
// crypto/rand writes a shared word on every call (sysrand.Read's firstUse
// compare-and-swap), and one shared cache line written by every seal is
// what held parallel Seal back. A seal whose shard is busy tries a few at
// random (math/rand/v2's per-thread runtime generator, which only spreads
// the load) with TryLock before it waits. Each shard also counts the nonces
// it hands out, which is the key's seal count ([Key.Seals]). The pool holds
// only pointers into the shards, so when it drops them (at garbage
// collection) nothing is lost but the affinity.

// nonceReseedInterval is the number of nonces a shard's generator gives
// before it is reseeded from crypto/rand.
const nonceReseedInterval = 1 << 12

// nonceTries is the number of random shards a seal tries with TryLock,
// after its own, before it waits for the lock of the last.
const nonceTries = 4

// nonceShard is one nonce generator and its counter, with the lock that
// guards the generator. Shards are padded so that two never share a cache
// line.
type nonceShard struct {
	mu    sync.Mutex
	left  uint32        // nonces before the next reseed; 0: seed first
	seals atomic.Uint64 // nonces handed out; written under mu, read without
	gen   mrand.ChaCha8
	_     [cacheLine]byte
}

// nonceShards are the nonce generators and seal counters of a Key. They
// are made on the key's first seal, so a key that only opens has none.
type nonceShards struct {
	s    []nonceShard
	mask uint32
	last sync.Pool // *nonceShard: the shard a P used last
}

// newNonceShards returns twice as many shards as GOMAXPROCS, rounded up to
// a power of two, between 2 and 256. No generator is seeded yet.
func newNonceShards() *nonceShards {
	n := 2
	for n < 2*runtime.GOMAXPROCS(0) && n < 256 {
		n *= 2
	}
	x := &nonceShards{s: make([]nonceShard, n), mask: uint32(n - 1)}
	x.last.New = func() any { return &x.s[mrand.Uint32()&x.mask] }
	return x
}

// lock returns a locked shard: the one this P used last if it is free, so
// that a core keeps the generator's cache lines to itself, or else the
// first free one of a few picked at random, which becomes this P's shard.
// If those are all busy it waits for the last one picked.
func (x *nonceShards) lock() *nonceShard {
	sh := x.last.Get().(*nonceShard)
	for try := 0; !sh.mu.TryLock(); try++ {
		sh = &x.s[mrand.Uint32()&x.mask]
		if try == nonceTries {
			sh.mu.Lock()
			break
		}
	}
	x.last.Put(sh)
	return sh
}

// read fills nonce from the shard's generator, reseeding it first if it is
// due. The shard must be locked.
func (sh *nonceShard) read(nonce []byte) {
	if sh.left == 0 {
		var seed [32]byte
		cryptorand.Read(seed[:])
		sh.gen.Seed(seed)
		clear(seed[:])
		sh.left = nonceReseedInterval
	}
	sh.left--
	sh.gen.Read(nonce)
}

// shards returns the key's nonce shards, making them on first use.
func (b *aeadBox) shards() *nonceShards {
	if x := b.nonces.Load(); x != nil {
		return x
	}
	b.nonces.CompareAndSwap(nil, newNonceShards())
	return b.nonces.Load()
}

// nonce fills nonce, from rand if it is not nil and otherwise from the
// key's generators, and counts one seal.
func (b *aeadBox) nonce(nonce []byte, rand io.Reader) error {
	sh := b.shards().lock()
	if rand != nil {
		if _, err := io.ReadFull(rand, nonce); err != nil {
			sh.mu.Unlock()
			return err
		}
	} else {
		sh.read(nonce)
	}
	// Only the holder of the lock writes the counter, so a plain store
	// will do; Key.Seals loads it without the lock.
	sh.seals.Store(sh.seals.Load() + 1)
	sh.mu.Unlock()
	return nil
}

// seals returns the number of nonces the key handed out.
func (b *aeadBox) seals() uint64 {
	x := b.nonces.Load()
	if x == nil {
		return 0
	}
	var n uint64
	for i := range x.s {
		n += x.s[i].seals.Load()
	}
	return n
}
