package seal

import (
	"crypto/rand"
	"fmt"
	"io"
	"testing"
)

// benchSizes are the plaintext sizes of the Seal, Open and BareAEAD
// benchmarks: realistic ticket plaintexts, from a TLS 1.3 session without
// extras (128) to one with a client certificate chain (2048).
var benchSizes = []int{128, 256, 512, 2048}

// BenchmarkSeal measures [Ring.Seal] of an n-byte plaintext under a one-key
// ring, reusing the output buffer: Seal/<AEAD>/<n>.
func BenchmarkSeal(b *testing.B) {
	for _, a := range aeads {
		for _, n := range benchSizes {
			b.Run(fmt.Sprintf("%s/%d", aeadName(a), n), func(b *testing.B) {
				r := newTestRing(b, a, 1)
				pt := testPlaintext(b, n)
				out := make([]byte, 0, tagOverhead(a)+n)
				var err error
				b.ReportAllocs()
				b.SetBytes(int64(n))
				for b.Loop() {
					if out, err = r.Seal(out[:0], pt, nil); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// BenchmarkOpen measures [Ring.Open] of a ticket holding an n-byte
// plaintext under a one-key ring, reusing the output buffer:
// Open/<AEAD>/<n>.
func BenchmarkOpen(b *testing.B) {
	for _, a := range aeads {
		for _, n := range benchSizes {
			b.Run(fmt.Sprintf("%s/%d", aeadName(a), n), func(b *testing.B) {
				r := newTestRing(b, a, 1)
				ticket := mustSeal(b, r, testPlaintext(b, n), nil)
				out := make([]byte, 0, n)
				var err error
				b.ReportAllocs()
				b.SetBytes(int64(n))
				for b.Loop() {
					if out, err = r.Open(out[:0], ticket, nil); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// BenchmarkBareAEAD measures the cipher.AEAD that a ring's key wraps, on
// the same plaintexts as BenchmarkSeal and BenchmarkOpen, with no header
// and no additional data: the floor that Seal and Open are compared with.
// Each seal reads a fresh nonce from crypto/rand, the ring's default
// source (12 bytes for AES-GCM and ChaCha20-Poly1305, 24 for the X
// variants). Names are BareAEAD/Seal/<AEAD>/<n> and BareAEAD/Open/<AEAD>/<n>.
func BenchmarkBareAEAD(b *testing.B) {
	for _, op := range []string{"Seal", "Open"} {
		for _, a := range aeads {
			for _, n := range benchSizes {
				b.Run(fmt.Sprintf("%s/%s/%d", op, aeadName(a), n), func(b *testing.B) {
					benchBareAEAD(b, op, a, n)
				})
			}
		}
	}
}

func benchBareAEAD(b *testing.B, op string, a AEAD, n int) {
	aead, err := newCipher(a, testPlaintext(b, a.KeySize()))
	if err != nil {
		b.Fatal(err)
	}
	pt := testPlaintext(b, n)
	nonce := testPlaintext(b, aead.NonceSize())
	ciphertext := aead.Seal(nil, nonce, pt, nil)
	out := make([]byte, 0, n+aead.Overhead())
	b.ReportAllocs()
	b.SetBytes(int64(n))
	if op == "Seal" {
		for b.Loop() {
			if _, err := io.ReadFull(rand.Reader, nonce); err != nil {
				b.Fatal(err)
			}
			out = aead.Seal(out[:0], nonce, pt, nil)
		}
		return
	}
	for b.Loop() {
		if out, err = aead.Open(out[:0], nonce, ciphertext, nil); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRingSize measures [Ring.Open] of a 256-byte plaintext under a
// ring of n AES-256-GCM keys, the ticket sealed by the oldest key:
// RingSize/<n>keys. Open should not slow down as the ring grows.
func BenchmarkRingSize(b *testing.B) {
	for _, n := range []int{1, 8, 48} {
		b.Run(fmt.Sprintf("%dkeys", n), func(b *testing.B) {
			keys := generateKeys(b, AES256GCM, n)
			oldest, err := NewRing(nil, keys[n-1])
			if err != nil {
				b.Fatal(err)
			}
			ticket := mustSeal(b, oldest, testPlaintext(b, 256), nil)
			r, err := NewRing(nil, keys[0], keys[1:]...)
			if err != nil {
				b.Fatal(err)
			}
			out := make([]byte, 0, 256)
			b.ReportAllocs()
			b.SetBytes(256)
			for b.Loop() {
				if out, err = r.Open(out[:0], ticket, nil); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkParallel measures [Keyring.Seal] and [Keyring.Open] of a
// 256-byte plaintext under four AES-256-GCM keys from GOMAXPROCS
// goroutines, each with its own output buffer: Parallel/Seal and
// Parallel/Open. Run it with -cpu=1,2 for the speed-up.
func BenchmarkParallel(b *testing.B) {
	for _, op := range []string{"Seal", "Open"} {
		b.Run(op, func(b *testing.B) {
			kr := NewKeyring(newTestRing(b, AES256GCM, 4))
			pt := testPlaintext(b, 256)
			ticket, err := kr.Seal(nil, pt, nil)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.SetBytes(int64(len(pt)))
			b.RunParallel(func(pb *testing.PB) {
				out := make([]byte, 0, len(ticket))
				var err error
				for pb.Next() {
					if op == "Seal" {
						out, err = kr.Seal(out[:0], pt, nil)
					} else {
						out, err = kr.Open(out[:0], ticket, nil)
					}
					if err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}
