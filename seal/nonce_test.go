package seal

import (
	cryptorand "crypto/rand"
	"encoding/binary"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// systemRand reads from crypto/rand without being its Reader: a ring with
// it reads every nonce from the operating system, as NewRing documents.
type systemRand struct{}

func (systemRand) Read(p []byte) (int, error) { return cryptorand.Read(p) }

func TestNewRingDefaultNonces(t *testing.T) {
	k := generateKeys(t, AES256GCM, 1)[0]
	for _, tt := range []struct {
		name     string
		rand     io.Reader
		wantRand bool
	}{
		{"nil", nil, false},
		{"crypto/rand.Reader", cryptorand.Reader, false},
		{"other reader", systemRand{}, true},
	} {
		r, err := NewRing(tt.rand, k)
		if err != nil {
			t.Fatal(err)
		}
		if got := r.rand != nil; got != tt.wantRand {
			t.Errorf("%s: ring reads every nonce from its reader = %v, want %v", tt.name, got, tt.wantRand)
		}
		rr, err := r.Rotate(k, 0)
		if err != nil {
			t.Fatal(err)
		}
		if rr.rand != r.rand {
			t.Errorf("%s: Rotate changed the nonce source", tt.name)
		}
	}
}

// TestDefaultNoncesUnique seals concurrently on two "servers" that share
// one key secret (two Keys from the same secret, as a fleet has), and
// checks that no nonce repeats, within a server or across them, and that
// each key counted exactly its seals.
func TestDefaultNoncesUnique(t *testing.T) {
	for _, a := range []AEAD{AES256GCM, XChaCha20Poly1305} {
		t.Run(aeadName(a), func(t *testing.T) {
			secret := countingSecret(a)
			const servers, goroutines = 2, 4
			perGoroutine := 2 * nonceReseedInterval // every shard reseeds
			if testing.Short() {
				perGoroutine = 500
			}
			var mu sync.Mutex
			seen := make(map[string]bool, servers*goroutines*perGoroutine)
			var wg sync.WaitGroup
			keys := make([]*Key, servers)
			for s := range keys {
				k, err := NewKey(a, secret)
				if err != nil {
					t.Fatal(err)
				}
				keys[s] = k
				r, err := NewRing(nil, k)
				if err != nil {
					t.Fatal(err)
				}
				for range goroutines {
					wg.Go(func() {
						nonces := make([]string, 0, perGoroutine)
						out := make([]byte, 0, 128)
						for range perGoroutine {
							var err error
							if out, err = r.Seal(out[:0], []byte("state"), nil); err != nil {
								t.Error(err)
								return
							}
							nonces = append(nonces, string(out[HeaderSize:HeaderSize+a.NonceSize()]))
						}
						mu.Lock()
						defer mu.Unlock()
						for _, n := range nonces {
							if seen[n] {
								t.Errorf("nonce %x repeated", n)
							}
							seen[n] = true
						}
					})
				}
			}
			wg.Wait()
			if want := servers * goroutines * perGoroutine; len(seen) != want {
				t.Errorf("%d distinct nonces, want %d", len(seen), want)
			}
			for s, k := range keys {
				if got, want := k.Seals(), uint64(goroutines*perGoroutine); got != want {
					t.Errorf("server %d: Seals() = %d, want %d", s, got, want)
				}
			}
		})
	}
}

// TestNonceShardReseeds checks that a shard seeds before its first nonce
// and reseeds after nonceReseedInterval nonces.
func TestNonceShardReseeds(t *testing.T) {
	var sh nonceShard
	nonce := make([]byte, 12)
	sh.read(nonce)
	if sh.left != nonceReseedInterval-1 {
		t.Fatalf("left = %d after the first nonce, want %d", sh.left, nonceReseedInterval-1)
	}
	if nonce == nil || string(nonce) == string(make([]byte, 12)) {
		t.Fatalf("first nonce %x", nonce)
	}
	// The next nonce of the current stream, from a copy of the generator,
	// is not what the shard gives after a reseed.
	sh.left = 1
	sh.read(nonce)
	next := sh.gen
	want := make([]byte, 12)
	next.Read(want)
	sh.read(nonce)
	if sh.left != nonceReseedInterval-1 {
		t.Fatalf("left = %d after a reseed, want %d", sh.left, nonceReseedInterval-1)
	}
	if string(nonce) == string(want) {
		t.Fatal("the shard did not reseed: its nonce continues the old stream")
	}
}

// TestNonceShardsLockWaits checks that when every shard is busy, a seal
// waits for one instead of spinning or failing.
func TestNonceShardsLockWaits(t *testing.T) {
	x := newNonceShards()
	for i := range x.s {
		x.s[i].mu.Lock()
	}
	got := make(chan *nonceShard)
	go func() { got <- x.lock() }()
	select {
	case sh := <-got:
		t.Fatalf("lock returned shard %p while every shard was locked", sh)
	case <-time.After(20 * time.Millisecond):
	}
	for i := range x.s {
		x.s[i].mu.Unlock()
	}
	sh := <-got
	sh.mu.Unlock()
	if len(x.s) < 2 || len(x.s)&(len(x.s)-1) != 0 || int(x.mask) != len(x.s)-1 {
		t.Errorf("%d shards, mask %#x: want a power of two of at least 2", len(x.s), x.mask)
	}
}

// counterNonces is the alternative that BenchmarkNonce measures against
// the chosen design: a random 32-bit prefix and a 64-bit counter (NIST SP
// 800-38D, Section 8.2.1), one atomic add per nonce on one shared cache
// line.
type counterNonces struct {
	prefix uint32
	n      atomic.Uint64
}

func (c *counterNonces) read(nonce []byte) {
	binary.BigEndian.PutUint32(nonce, c.prefix)
	binary.BigEndian.PutUint64(nonce[4:], c.n.Add(1))
}

// BenchmarkNonce measures 12-byte nonce sources alone, from parallel
// goroutines: run it with -cpu 1,2 to see how each scales.
func BenchmarkNonce(b *testing.B) {
	b.Run("crypto-rand", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			var nonce [12]byte
			for pb.Next() {
				cryptorand.Read(nonce[:])
			}
		})
	})
	b.Run("chacha8-shards", func(b *testing.B) {
		x := newNonceShards()
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			var nonce [12]byte
			for pb.Next() {
				sh := x.lock()
				sh.read(nonce[:])
				sh.seals.Store(sh.seals.Load() + 1)
				sh.mu.Unlock()
			}
		})
	})
	b.Run("prefix-counter", func(b *testing.B) {
		c := new(counterNonces)
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			var nonce [12]byte
			for pb.Next() {
				c.read(nonce[:])
			}
		})
	})
}

// BenchmarkSealParallel measures Seal from parallel goroutines sharing one
// ring, with the default nonces and with every nonce read from crypto/rand:
// run it with -cpu 1,2 for the speed-up from one goroutine to two.
func BenchmarkSealParallel(b *testing.B) {
	for _, src := range []struct {
		name string
		rand io.Reader
	}{{"nonce=default", nil}, {"nonce=crypto-rand", systemRand{}}} {
		for _, size := range []int{256} {
			b.Run(fmt.Sprintf("AES256GCM/%d/%s", size, src.name), func(b *testing.B) {
				r, err := NewRing(src.rand, generateKeys(b, AES256GCM, 1)[0])
				if err != nil {
					b.Fatal(err)
				}
				pt := make([]byte, size)
				b.ReportAllocs()
				b.SetBytes(int64(size))
				b.RunParallel(func(pb *testing.PB) {
					out := make([]byte, 0, size+64)
					for pb.Next() {
						out, _ = r.Seal(out[:0], pt, nil)
					}
				})
			})
		}
	}
}
