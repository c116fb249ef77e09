package benchsuite

import (
	"crypto/rand"
	"io"
	"testing"

	"github.com/tlsticket/tlsticket/format"
	"github.com/tlsticket/tlsticket/seal"
)

// ringBench returns Seal/<AEAD>/<n> or Open/<AEAD>/<n>: a one-key
// [seal.Ring] sealing or opening the n-byte state, reusing the output.
func ringBench(op string, a seal.AEAD, n int) func(*testing.B) {
	return func(b *testing.B) {
		pt := statePlaintext(b, n)
		r := newRing(b, a, 1)
		ticket, err := r.Seal(nil, pt, nil)
		if err != nil {
			b.Fatal(err)
		}
		out := make([]byte, 0, sealedSize(a, len(pt)))
		b.ReportAllocs()
		b.SetBytes(int64(len(pt)))
		if op == "Seal" {
			for b.Loop() {
				if out, err = r.Seal(out[:0], pt, nil); err != nil {
					b.Fatal(err)
				}
			}
		} else {
			for b.Loop() {
				if out, err = r.Open(out[:0], ticket, nil); err != nil {
					b.Fatal(err)
				}
			}
		}
		reportState(b, len(pt))
	}
}

// rawBench returns RawAEAD/<op>/<AEAD>/<n>: the bare cipher.AEAD, with a
// nonce read from crypto/rand (the ring's default source) for every seal
// and no additional data.
func rawBench(op string, c aeadCase, n int) func(*testing.B) {
	return func(b *testing.B) {
		pt := statePlaintext(b, n)
		key := make([]byte, c.aead.KeySize())
		rand.Read(key)
		aead, err := c.raw(key)
		if err != nil {
			b.Fatal(err)
		}
		nonce := make([]byte, aead.NonceSize())
		rand.Read(nonce)
		ciphertext := aead.Seal(nil, nonce, pt, nil)
		out := make([]byte, 0, len(pt)+aead.Overhead())
		b.ReportAllocs()
		b.SetBytes(int64(len(pt)))
		if op == "Seal" {
			for b.Loop() {
				if _, err := io.ReadFull(rand.Reader, nonce); err != nil {
					b.Fatal(err)
				}
				out = aead.Seal(out[:0], nonce, pt, nil)
			}
		} else {
			for b.Loop() {
				if out, err = aead.Open(out[:0], nonce, ciphertext, nil); err != nil {
					b.Fatal(err)
				}
			}
		}
		reportState(b, len(pt))
	}
}

// cryptoTLSBench returns CryptoTLS/EncryptTicket/<n> or
// CryptoTLS/DecryptTicket/<n>: crypto/tls's ticket encryption (AES-128-CTR
// and HMAC-SHA256 under keys from SetSessionTicketKeys) of the captured
// TLS 1.3 session padded to n bytes. EncryptTicket includes
// SessionState.Bytes and DecryptTicket includes tls.ParseSessionState: the
// API offers no way around them.
func cryptoTLSBench(op string, n int) func(*testing.B) {
	return func(b *testing.B) {
		c := sessionFor(b, format.VersionTLS13)
		ss, pt := paddedSession(b, format.VersionTLS13, n)
		ticket, err := c.config.EncryptTicket(c.cs, ss)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		b.SetBytes(int64(len(pt)))
		if op == "EncryptTicket" {
			for b.Loop() {
				if _, err := c.config.EncryptTicket(c.cs, ss); err != nil {
					b.Fatal(err)
				}
			}
		} else {
			for b.Loop() {
				got, err := c.config.DecryptTicket(ticket, c.cs)
				if err != nil || got == nil {
					b.Fatalf("DecryptTicket = %v, %v", got, err)
				}
			}
		}
		reportState(b, len(pt))
	}
}

// ringSizeBench returns RingSize/Open/<n>keys: Open of a 256-byte state
// under a ring of n AES-256-GCM keys, the ticket sealed by the oldest key.
func ringSizeBench(n int) func(*testing.B) {
	return func(b *testing.B) {
		pt := statePlaintext(b, 256)
		keys := newKeys(b, seal.AES256GCM, n)
		oldest, err := seal.NewRing(nil, keys[n-1])
		if err != nil {
			b.Fatal(err)
		}
		ticket, err := oldest.Seal(nil, pt, nil)
		if err != nil {
			b.Fatal(err)
		}
		r, err := seal.NewRing(nil, keys[0], keys[1:]...)
		if err != nil {
			b.Fatal(err)
		}
		out := make([]byte, 0, len(pt))
		b.ReportAllocs()
		b.SetBytes(int64(len(pt)))
		for b.Loop() {
			if out, err = r.Open(out[:0], ticket, nil); err != nil {
				b.Fatal(err)
			}
		}
		reportState(b, len(pt))
	}
}

// parallelBench returns Parallel/Seal or Parallel/Open: a [seal.Keyring]
// of four AES-256-GCM keys sealing or opening a 256-byte state from
// GOMAXPROCS goroutines, each with its own output buffer.
func parallelBench(op string) func(*testing.B) {
	return func(b *testing.B) {
		pt := statePlaintext(b, 256)
		keys := newKeys(b, seal.AES256GCM, 4)
		r, err := seal.NewRing(nil, keys[0], keys[1:]...)
		if err != nil {
			b.Fatal(err)
		}
		kr := seal.NewKeyring(r)
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
		reportState(b, len(pt))
	}
}
