package conformance

import (
	"bytes"
	"crypto"
	"testing"

	"github.com/tlsticket/tlsticket/format"
	"github.com/tlsticket/tlsticket/resumption"
	"github.com/tlsticket/tlsticket/seal"
	"github.com/tlsticket/tlsticket/status"
)

// tamperings returns forgeries of ticket, built with a second genuine
// ticket other of the same length, both sealed by the primary key.
func tamperings(t *testing.T, a *adv, ticket, other []byte) []struct {
	name    string
	forgery func() [][]byte
} {
	t.Helper()
	const nonceEnd = seal.HeaderSize + 12 // AES-256-GCM
	if len(other) != len(ticket) || bytes.Equal(other, ticket) {
		t.Fatalf("need two distinct tickets of one length, got %d and %d bytes", len(ticket), len(other))
	}
	with := func(b []byte, at int, part []byte) []byte {
		c := bytes.Clone(b)
		copy(c[at:], part)
		return c
	}
	name := func(k *seal.Key) []byte { n := k.Name(); return n[:] }
	return []struct {
		name    string
		forgery func() [][]byte
	}{
		{"every-bit-flip", func() (out [][]byte) {
			for i := range len(ticket) * 8 {
				c := bytes.Clone(ticket)
				c[i/8] ^= 1 << (i % 8)
				out = append(out, c)
			}
			return out
		}},
		{"every-truncation", func() (out [][]byte) {
			for n := range len(ticket) {
				out = append(out, bytes.Clone(ticket[:n]))
			}
			return out
		}},
		{"every-extension", func() (out [][]byte) {
			for c := range 256 {
				out = append(out, append(bytes.Clone(ticket), byte(c)), append([]byte{byte(c)}, ticket...))
			}
			for n := 2; n <= 64; n++ {
				out = append(out, append(bytes.Clone(ticket), make([]byte, n)...))
			}
			for _, n := range []int{1<<16 - 1, 1 << 16} {
				out = append(out, append(bytes.Clone(ticket), make([]byte, n-len(ticket))...))
			}
			return out
		}},
		{"key-name-of-other-ring-key", func() [][]byte {
			return [][]byte{
				with(ticket, 2, name(a.k[1])),                     // same AEAD, decrypt-only
				with(with(ticket, 2, name(a.k[2])), 1, []byte{4}), // XChaCha20-Poly1305 key, aead byte to match
				with(ticket, 2, name(a.k[2])),                     // another AEAD's key
				with(ticket, 2, make([]byte, 16)),                 // no such key
			}
		}},
		{"nonce-reused-from-other-ticket", func() [][]byte {
			return [][]byte{with(other, seal.HeaderSize, ticket[seal.HeaderSize:nonceEnd])}
		}},
		{"ciphertext-spliced", func() (out [][]byte) {
			tag := len(ticket) - 16
			out = append(out, with(ticket, nonceEnd, other[nonceEnd:]), with(ticket, tag, other[tag:]))
			for mid := nonceEnd + 1; mid < tag; mid += 7 {
				out = append(out, with(ticket, mid, other[mid:]), with(other, mid, ticket[mid:]))
			}
			return out
		}},
	}
}

// TestAdversarialTampering: no forgery of a sealed ticket opens, through
// Engine.Open for both versions and, for TLS 1.3, through SelectTLS13 with
// a binder made with the genuine ticket's PSK (an attacker who holds the
// session can always compute it).
func TestAdversarialTampering(t *testing.T) {
	for _, ver := range advVersions {
		t.Run(ver.name, func(t *testing.T) {
			a := newAdv(t, nil)
			ticket, other := a.issue(t, a.e, ver.v, nil), a.issue(t, a.e, ver.v, nil)
			mustResume(t, a.e, ver.v, ticket)
			for _, tt := range tamperings(t, a, ticket, other) {
				t.Run(tt.name, func(t *testing.T) {
					forgeries := tt.forgery()
					if len(forgeries) == 0 {
						t.Fatal("no forgeries")
					}
					for _, f := range forgeries {
						if bytes.Equal(f, ticket) || bytes.Equal(f, other) {
							t.Fatalf("forgery %x is a genuine ticket", f)
						}
						mustNotOpen(t, a.e, ver.v, f)
					}
					if ver.v == format.VersionTLS13 {
						testTamperedIdentities(t, a, forgeries)
					}
				})
			}
		})
	}
}

// testTamperedIdentities offers each forgery as a PSK identity with a
// binder made with the genuine PSK.
func testTamperedIdentities(t *testing.T, a *adv, forgeries [][]byte) {
	t.Helper()
	psk := mustPSK(t, crypto.SHA256, advSession(format.VersionTLS13).Secret)
	for _, f := range forgeries {
		if len(f) == 0 || len(f) > 60000 {
			continue
		}
		msg := rawHello(t, []format.PSKIdentity{{Identity: f}}, []*resumption.PSK{psk}, nil)
		sel, err := a.selectHello(a.e, msg, advSuite, advSNI, advALPN)
		if err != nil || sel.Resumed || sel.Status != status.NoDecrypt {
			t.Fatalf("ClientHello offering forgery %x: resumed %v, status %v, error %v", f, sel.Resumed, sel.Status, err)
		}
	}
}

// TestAdversarialNonceUniqueness: 2000 tickets from one key never share a
// nonce (the random-nonce bound is documented in package seal).
func TestAdversarialNonceUniqueness(t *testing.T) {
	a := newAdv(t, nil)
	seen := map[string]bool{}
	for range 2000 {
		tk := a.issue(t, a.e, format.VersionTLS12, nil)
		n := string(tk[seal.HeaderSize : seal.HeaderSize+12])
		if seen[n] {
			t.Fatalf("nonce %x reused", n)
		}
		seen[n] = true
	}
}
