package engine

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"testing"

	"github.com/tlsticket/tlsticket/format"
	"github.com/tlsticket/tlsticket/seal"
)

// benchStateSize is the encoded size of the session state the benchmarks
// issue and open: a typical TLS 1.3 state with a short application datum.
const benchStateSize = 256

// benchSession returns a session of version v that encodes, with the
// engine's binding, in benchStateSize bytes.
func benchSession(b *testing.B, e *Engine, v uint16) *format.State {
	b.Helper()
	s := testSession(v)
	s.AuthenticatedAt = e.now()
	s.CreatedAt = e.now()
	s.Binding = e.binding
	enc, err := s.Append(nil)
	if err != nil {
		b.Fatal(err)
	}
	s.AppData = bytes.Repeat([]byte{'a'}, benchStateSize-len(enc))
	if enc, _ = s.Append(nil); len(enc) != benchStateSize {
		b.Fatalf("state of %d bytes", len(enc))
	}
	return s
}

func benchEngine(b testing.TB) *Engine {
	b.Helper()
	e, err := New(&Config{Keys: seal.NewKeyring(testRing(b, testKey(b, "bench"))), Binding: bytes.Repeat([]byte{7}, 32)})
	if err != nil {
		b.Fatal(err)
	}
	return e
}

// BenchmarkIssue measures Engine.Issue of a benchStateSize-byte state under
// AES-256-GCM: the ticket_age_add, gen_cb-free sealing and the
// NewSessionTicket message. Compare with BenchmarkBareAESGCM/Seal.
func BenchmarkIssue(b *testing.B) {
	for _, v := range []uint16{format.VersionTLS12, format.VersionTLS13} {
		b.Run(versionLabel(v), func(b *testing.B) {
			e := benchEngine(b)
			s := benchSession(b, e, v)
			nonce := nonceFor(v, 0)
			b.ReportAllocs()
			b.SetBytes(benchStateSize)
			for b.Loop() {
				if _, err := e.Issue(s, nonce); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkOpen measures Engine.Open of a ticket of a benchStateSize-byte
// state: opening, parsing, the default decrypt callback, the decision and
// the checks after it. Compare with BenchmarkBareAESGCM/Open.
func BenchmarkOpen(b *testing.B) {
	for _, v := range []uint16{format.VersionTLS12, format.VersionTLS13} {
		b.Run(versionLabel(v), func(b *testing.B) {
			e := benchEngine(b)
			iss, err := e.Issue(benchSession(b, e, v), nonceFor(v, 0))
			if err != nil {
				b.Fatal(err)
			}
			c := conn(v)
			b.ReportAllocs()
			b.SetBytes(benchStateSize)
			for b.Loop() {
				d, err := e.Open(c, true, iss.Ticket)
				if err != nil || !d.Resumed {
					b.Fatalf("resumed %v fallback %v err %v", d.Resumed, d.Fallback, err)
				}
			}
		})
	}
}

// BenchmarkBareAESGCM is the reference of BenchmarkIssue and BenchmarkOpen:
// crypto/cipher's AES-256-GCM on the same plaintext, with a 12-byte nonce
// from crypto/rand for each seal, as the engine's ring does.
func BenchmarkBareAESGCM(b *testing.B) {
	block, err := aes.NewCipher(bytes.Repeat([]byte{1}, 32))
	if err != nil {
		b.Fatal(err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		b.Fatal(err)
	}
	pt := make([]byte, benchStateSize)
	nonce := make([]byte, aead.NonceSize())
	out := make([]byte, 0, benchStateSize+aead.Overhead())
	b.Run("Seal", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(benchStateSize)
		for b.Loop() {
			rand.Read(nonce)
			out = aead.Seal(out[:0], nonce, pt, nil)
		}
	})
	sealed := aead.Seal(nil, nonce, pt, nil)
	b.Run("Open", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(benchStateSize)
		for b.Loop() {
			if out, err = aead.Open(out[:0], nonce, sealed, nil); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkOpenFloor measures what every Open must do before its own
// logic, one stage more in each sub-benchmark, on the ticket that
// BenchmarkOpen opens: the seal layer's OpenKey into a reused buffer (the
// AEAD, the header and the key lookup); the same into a fresh buffer, the
// one allocation Open keeps; one read of the engine's clock; and the parse
// of the session state. BenchmarkOpen minus the last is the cost of the
// decision, the checks and the counters. docs/performance.md reads it.
func BenchmarkOpenFloor(b *testing.B) {
	e := benchEngine(b)
	iss, err := e.Issue(benchSession(b, e, format.VersionTLS13), nonceFor(format.VersionTLS13, 0))
	if err != nil {
		b.Fatal(err)
	}
	ticket := iss.Ticket
	var pt []byte
	var st format.State
	open := func(dst []byte) {
		if pt, _, err = e.keys.OpenKey(dst, ticket, nil); err != nil {
			b.Fatal(err)
		}
	}
	fresh := func() []byte { return make([]byte, seal.KeyNameSize, seal.KeyNameSize+len(ticket))[seal.KeyNameSize:] }
	stages := []struct {
		name string
		op   func()
	}{
		{"OpenKey", func() { open(pt[:0]) }},
		{"+alloc", func() { open(fresh()) }},
		{"+clock", func() { open(fresh()); _ = e.now() }},
		{"+parse", func() {
			open(fresh())
			_ = e.now()
			if err := format.ParseStateInto(&st, pt); err != nil {
				b.Fatal(err)
			}
		}},
	}
	pt = make([]byte, 0, len(ticket))
	for _, s := range stages {
		b.Run(s.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(benchStateSize)
			for b.Loop() {
				s.op()
			}
		})
	}
}
