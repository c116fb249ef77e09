package conformance

import (
	"bytes"
	"context"
	"crypto"
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/tlsticket/tlsticket/internal/fakeclock"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tlsticket/tlsticket/engine"
	"github.com/tlsticket/tlsticket/format"
	"github.com/tlsticket/tlsticket/internal/testkit"
	"github.com/tlsticket/tlsticket/resumption"
	"github.com/tlsticket/tlsticket/seal"
	"github.com/tlsticket/tlsticket/status"
)

// The adversarial suite: each test is a table of attacks on the ticket path
// that must not get through. docs/threat-model.md maps every threat to the
// test that checks it.

const (
	advSNI   = "example.com"
	advALPN  = "h2"
	advSuite = 0x1301
)

var advVersions = []struct {
	name string
	v    uint16
}{{"TLSv12", format.VersionTLS12}, {"TLSv13", format.VersionTLS13}}

// advClock is the shared fake clock of internal/fakeclock.
type advClock = fakeclock.Clock

// advKey returns a deterministic key of AEAD a named after label.
func advKey(t *testing.T, a seal.AEAD, label string) *seal.Key {
	t.Helper()
	return testkit.Key(t, a, "adversarial "+label)
}

// adv is an engine under attack: a ring whose primary key is AES-256-GCM
// with two decrypt-only keys (AES-256-GCM and XChaCha20-Poly1305), a memory
// replay store past its startup window, 0-RTT allowed, and a decrypt
// callback that counts its calls and returns the default.
type adv struct {
	clock *advClock
	keys  *seal.Keyring
	k     []*seal.Key
	store *resumption.MemoryStore
	e     *engine.Engine
	rms   *resumption.ResumptionMasterSecret
	calls atomic.Int64
}

func newAdv(t *testing.T, adjust func(*engine.Config)) *adv {
	t.Helper()
	a := &adv{clock: fakeclock.New(time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC))}
	a.store = resumption.NewMemoryStore(resumption.MemoryStoreConfig{Time: a.clock.Now})
	a.clock.Advance(resumption.DefaultFreshnessWindow + time.Second)
	a.k = []*seal.Key{
		advKey(t, seal.AES256GCM, "primary"),
		advKey(t, seal.AES256GCM, "decrypt-only"),
		advKey(t, seal.XChaCha20Poly1305, "xchacha"),
	}
	r, err := seal.NewRing(nil, a.k[0], a.k[1:]...)
	if err != nil {
		t.Fatal(err)
	}
	a.keys = seal.NewKeyring(r)
	a.e = a.engine(t, adjust)
	if a.rms, err = resumption.NewResumptionMasterSecret(crypto.SHA256, advSecret("rms")); err != nil {
		t.Fatal(err)
	}
	return a
}

// advSecret returns 32 deterministic bytes named after label.
func advSecret(label string) []byte {
	sum := sha256.Sum256([]byte("tlsticket adversarial " + label))
	return sum[:]
}

// engine returns another engine on a's keys, clock and replay store.
func (a *adv) engine(t *testing.T, adjust func(*engine.Config)) *engine.Engine {
	t.Helper()
	cfg := &engine.Config{
		Keys: a.keys, Time: a.clock.Now, MaxEarlyData: 16384, ReplayStore: a.store,
		DecryptTicket: func(ti engine.TicketInfo) status.Return {
			a.calls.Add(1)
			return status.Default(ti.Status)
		},
	}
	if adjust != nil {
		adjust(cfg)
	}
	e, err := engine.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// advSession returns the state a TLS stack hands to Issue for version v.
func advSession(v uint16) *format.State {
	s := &format.State{Version: v, ServerName: advSNI, ALPN: advALPN}
	if v == format.VersionTLS13 {
		s.CipherSuite, s.Secret = advSuite, advSecret("tls13 psk")
	} else {
		s.CipherSuite, s.Secret, s.ExtendedMasterSecret = 0xc02f, append(advSecret("tls12 ms"), advSecret("tls12 ms2")[:16]...), true
	}
	return s
}

// issue issues a ticket for version v with e; mod, if not nil, changes the
// session first.
func (a *adv) issue(t *testing.T, e *engine.Engine, v uint16, mod func(*format.State)) []byte {
	t.Helper()
	s := advSession(v)
	if mod != nil {
		mod(s)
	}
	var nonce []byte
	if v == format.VersionTLS13 {
		nonce = []byte{0}
	}
	iss, err := e.Issue(s, nonce)
	if err != nil {
		t.Fatal(err)
	}
	return iss.Ticket
}

// clientTicket issues a TLS 1.3 ticket with e through a TicketIssuer and
// returns it as the client stores it.
func (a *adv) clientTicket(t *testing.T, e *engine.Engine) *resumption.ClientTicket {
	t.Helper()
	ti, err := e.NewTicketIssuer(a.rms, &format.State{Version: format.VersionTLS13, CipherSuite: advSuite, ServerName: advSNI, ALPN: advALPN})
	if err != nil {
		t.Fatal(err)
	}
	iss, err := ti.Issue()
	if err != nil {
		t.Fatal(err)
	}
	ct, err := testkit.StoreTicket(iss.Message, a.rms, advSuite, a.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	return ct
}

// hello returns a ClientHello that offers cts, with binders.
func (a *adv) hello(t *testing.T, cts []*resumption.ClientTicket, adjust func(*testkit.ClientHello)) []byte {
	t.Helper()
	msg, err := testkit.OfferHello(cts, a.clock.Now(), adjust)
	if err != nil {
		t.Fatal(err)
	}
	return msg
}

// rawHello returns a ClientHello offering the given identities, with the
// binder of each identity made with psks[i] (an attacker's choice) or, for a
// nil PSK, left as 32 zero bytes.
func rawHello(t *testing.T, ids []format.PSKIdentity, psks []*resumption.PSK, adjust func(*testkit.ClientHello)) []byte {
	t.Helper()
	o := &format.OfferedPSKs{Identities: ids}
	for _, p := range psks {
		n := 32
		if p != nil {
			n = p.Hash().Size()
		}
		o.Binders = append(o.Binders, make([]byte, n))
	}
	ch := &testkit.ClientHello{ServerName: advSNI, ALPN: []string{advALPN}, Modes: []format.PSKMode{format.PSKModeDHEKE}, PSKs: o}
	if adjust != nil {
		adjust(ch)
	}
	msg, err := ch.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	exts, err := format.ParseClientHelloExtensions(msg)
	if err != nil {
		t.Fatal(err)
	}
	data, _ := exts.Lookup(format.ExtensionPreSharedKey)
	parsed, err := format.ParseOfferedPSKs(data)
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range psks {
		if p != nil {
			th := resumption.TranscriptHash(p.Hash(), msg[:exts.BindersOffset])
			copy(parsed.Binders[i], p.EarlySecret().ResumptionBinderKey().Binder(nil, th)) // aliases msg
		}
	}
	return msg
}

func mustPSK(t *testing.T, h crypto.Hash, secret []byte) *resumption.PSK {
	t.Helper()
	p, err := resumption.NewPSK(h, secret)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func (a *adv) selectHello(e *engine.Engine, msg []byte, suite uint16, sni, alpn string) (engine.Selection, error) {
	return e.SelectTLS13(context.Background(), &engine.ClientHelloTLS13{Message: msg, CipherSuite: suite, ServerName: sni, ALPN: alpn})
}

// mustResume checks that e resumes ticket with Open: the control for an
// attack.
func mustResume(t *testing.T, e *engine.Engine, v uint16, ticket []byte) {
	t.Helper()
	d, err := e.Open(advConn(v), true, ticket)
	if err != nil || !d.Resumed {
		t.Fatalf("control: Open(%#x, genuine ticket) = resumed %v, fallback %v, error %v", v, d.Resumed, d.Fallback, err)
	}
}

// mustNotOpen checks that ticket does not open: NoDecrypt (Empty for an
// empty TLS 1.2 ticket, the empty-identity abort for TLS 1.3), no session.
func mustNotOpen(t *testing.T, e *engine.Engine, v uint16, ticket []byte) {
	t.Helper()
	d, err := e.Open(advConn(v), true, ticket)
	switch {
	case len(ticket) == 0 && v == format.VersionTLS13:
		if !errors.Is(err, engine.ErrEmptyIdentity) {
			t.Fatalf("empty identity: error %v, want ErrEmptyIdentity", err)
		}
	case len(ticket) == 0:
		if err != nil || d.Status != status.Empty {
			t.Fatalf("empty ticket: status %v, error %v; want Empty", d.Status, err)
		}
	case err != nil || d.Status != status.NoDecrypt:
		t.Fatalf("forged ticket %x: status %v, error %v; want NoDecrypt", ticket, d.Status, err)
	}
	if d.Resumed || d.Session != nil {
		t.Fatalf("forged ticket %x resumed", ticket)
	}
}

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

// TestAdversarialConfusion: a genuine ticket presented in another context
// than the one it was issued for (protocol version, SNI, ALPN, binding,
// cipher suite hash, time) is not resumed: the handshake falls back to a
// full one, and Decision.Fallback names the check.
func TestAdversarialConfusion(t *testing.T) {
	tests := append(append(versionConfusion(), contextConfusion()...), timeConfusion()...)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := tt.run(t, newAdv(t, nil))
			if err != nil || d.Resumed || d.Session != nil || !errors.Is(d.Fallback, tt.want) {
				t.Fatalf("resumed %v, fallback %v, error %v; want a full handshake for %v", d.Resumed, d.Fallback, err, tt.want)
			}
			if !d.Status.Opened() {
				t.Fatalf("status %v: the ticket should open and fail a check", d.Status)
			}
		})
	}
}

// confusion is a genuine ticket presented where it does not belong; run
// returns the engine's decision, and want is the check that must refuse it.
type confusion struct {
	name string
	want error
	run  func(t *testing.T, a *adv) (engine.Decision, error)
}

// versionConfusion presents tickets across protocol versions.
func versionConfusion() []confusion {
	return []confusion{
		{"TLSv12-ticket-in-TLSv13-Open", engine.ErrVersionMismatch, func(t *testing.T, a *adv) (engine.Decision, error) {
			tk := a.issue(t, a.e, format.VersionTLS12, nil)
			mustResume(t, a.e, format.VersionTLS12, tk)
			return a.e.Open(advConn(format.VersionTLS13), true, tk)
		}},
		{"TLSv13-ticket-in-TLSv12-Open", engine.ErrVersionMismatch, func(t *testing.T, a *adv) (engine.Decision, error) {
			tk := a.issue(t, a.e, format.VersionTLS13, nil)
			mustResume(t, a.e, format.VersionTLS13, tk)
			return a.e.Open(advConn(format.VersionTLS12), true, tk)
		}},
		{"TLSv12-ticket-in-SelectTLS13", engine.ErrVersionMismatch, func(t *testing.T, a *adv) (engine.Decision, error) {
			// The client knows the TLS 1.2 master secret: 48 bytes, a valid
			// SHA-384 PSK, so its binder verifies if the engine gets there.
			tk := a.issue(t, a.e, format.VersionTLS12, nil)
			psk := mustPSK(t, crypto.SHA384, advSession(format.VersionTLS12).Secret)
			msg := rawHello(t, []format.PSKIdentity{{Identity: tk}}, []*resumption.PSK{psk}, nil)
			sel, err := a.selectHello(a.e, msg, 0x1302, advSNI, advALPN)
			return sel.Decision, err
		}},
	}
}

// contextConfusion presents tickets in another SNI, ALPN, binding or cipher
// suite hash.
func contextConfusion() []confusion {
	return []confusion{
		{"SNI-TLSv12", engine.ErrServerNameMismatch, func(t *testing.T, a *adv) (engine.Decision, error) {
			tk := a.issue(t, a.e, format.VersionTLS12, nil)
			return a.e.Open(engine.ConnInfo{Version: format.VersionTLS12, ServerName: "evil.example", ALPN: advALPN}, true, tk)
		}},
		{"SNI-absent-at-issue-TLSv12", engine.ErrServerNameMismatch, func(t *testing.T, a *adv) (engine.Decision, error) {
			tk := a.issue(t, a.e, format.VersionTLS12, func(s *format.State) { s.ServerName = "" })
			return a.e.Open(engine.ConnInfo{Version: format.VersionTLS12, ServerName: advSNI, ALPN: advALPN}, true, tk)
		}},
		{"SNI-SelectTLS13", engine.ErrServerNameMismatch, func(t *testing.T, a *adv) (engine.Decision, error) {
			msg := a.hello(t, []*resumption.ClientTicket{a.clientTicket(t, a.e)}, nil)
			if sel, err := a.selectHello(a.e, msg, advSuite, advSNI, advALPN); err != nil || !sel.Resumed {
				t.Fatalf("control: resumed %v, error %v", sel.Resumed, err)
			}
			sel, err := a.selectHello(a.e, msg, advSuite, "evil.example", advALPN)
			return sel.Decision, err
		}},
		{"ALPN-TLSv12", engine.ErrALPNMismatch, func(t *testing.T, a *adv) (engine.Decision, error) {
			tk := a.issue(t, a.e, format.VersionTLS12, nil)
			return a.e.Open(engine.ConnInfo{Version: format.VersionTLS12, ServerName: advSNI, ALPN: "http/1.1"}, true, tk)
		}},
		{"ALPN-SelectTLS13", engine.ErrALPNMismatch, func(t *testing.T, a *adv) (engine.Decision, error) {
			msg := a.hello(t, []*resumption.ClientTicket{a.clientTicket(t, a.e)}, nil)
			sel, err := a.selectHello(a.e, msg, advSuite, advSNI, "http/1.1")
			return sel.Decision, err
		}},
		{"binding-TLSv12", engine.ErrBindingMismatch, func(t *testing.T, a *adv) (engine.Decision, error) {
			issuer := a.engine(t, func(c *engine.Config) { c.Binding = []byte("no client auth") })
			opener := a.engine(t, func(c *engine.Config) { c.Binding = []byte("client auth required") })
			tk := a.issue(t, issuer, format.VersionTLS12, nil)
			mustResume(t, issuer, format.VersionTLS12, tk)
			return opener.Open(advConn(format.VersionTLS12), true, tk)
		}},
		{"binding-unset-at-issue-TLSv13", engine.ErrBindingMismatch, func(t *testing.T, a *adv) (engine.Decision, error) {
			opener := a.engine(t, func(c *engine.Config) { c.Binding = []byte("client auth required") })
			return opener.Open(advConn(format.VersionTLS13), true, a.issue(t, a.e, format.VersionTLS13, nil))
		}},
		{"binding-SelectTLS13", engine.ErrBindingMismatch, func(t *testing.T, a *adv) (engine.Decision, error) {
			issuer := a.engine(t, func(c *engine.Config) { c.Binding = []byte("no client auth") })
			opener := a.engine(t, func(c *engine.Config) { c.Binding = []byte("client auth required") })
			msg := a.hello(t, []*resumption.ClientTicket{a.clientTicket(t, issuer)}, nil)
			sel, err := a.selectHello(opener, msg, advSuite, advSNI, advALPN)
			return sel.Decision, err
		}},
		{"suite-hash-OpenConn", engine.ErrCipherSuiteMismatch, func(t *testing.T, a *adv) (engine.Decision, error) {
			tk := a.issue(t, a.e, format.VersionTLS13, nil)
			return a.e.Open(engine.ConnInfo{Version: format.VersionTLS13, ServerName: advSNI, ALPN: advALPN, CipherSuite: 0x1302}, true, tk)
		}},
		{"suite-hash-SelectTLS13", engine.ErrCipherSuiteMismatch, func(t *testing.T, a *adv) (engine.Decision, error) {
			ct := a.clientTicket(t, a.e)
			id, err := ct.Identity(a.clock.Now())
			if err != nil {
				t.Fatal(err)
			}
			psk := mustPSK(t, crypto.SHA384, bytes.Repeat(ct.PSK().AppendBytes(nil), 2)[:48])
			msg := rawHello(t, []format.PSKIdentity{id}, []*resumption.PSK{psk}, nil)
			sel, err := a.selectHello(a.e, msg, 0x1302, advSNI, advALPN)
			return sel.Decision, err
		}},
	}
}

// timeConfusion presents tickets past their lifetime or created in the
// future beyond engine.DefaultMaxClockSkew.
func timeConfusion() []confusion {
	return []confusion{
		{"expired-TLSv12", engine.ErrExpired, func(t *testing.T, a *adv) (engine.Decision, error) {
			tk := a.issue(t, a.e, format.VersionTLS12, nil)
			a.clock.Advance(engine.DefaultLifetime - time.Second)
			mustResume(t, a.e, format.VersionTLS12, tk)
			a.clock.Advance(time.Second)
			return a.e.Open(advConn(format.VersionTLS12), true, tk)
		}},
		{"expired-SelectTLS13", engine.ErrExpired, func(t *testing.T, a *adv) (engine.Decision, error) {
			ct := a.clientTicket(t, a.e)
			a.clock.Advance(engine.DefaultLifetime + time.Second)
			id := format.PSKIdentity{Identity: ct.Ticket, ObfuscatedTicketAge: resumption.ObfuscateTicketAge(a.clock.Now().Sub(ct.ReceivedAt), ct.AgeAdd)}
			msg := rawHello(t, []format.PSKIdentity{id}, []*resumption.PSK{ct.PSK()}, nil)
			sel, err := a.selectHello(a.e, msg, advSuite, advSNI, advALPN)
			return sel.Decision, err
		}},
		{"created-in-future-TLSv12", engine.ErrNotYetValid, func(t *testing.T, a *adv) (engine.Decision, error) {
			skewed := func(d time.Duration) *engine.Engine {
				return a.engine(t, func(c *engine.Config) { c.Time = func() time.Time { return a.clock.Now().Add(d) } })
			}
			mustResume(t, a.e, format.VersionTLS12, a.issue(t, skewed(engine.DefaultMaxClockSkew), format.VersionTLS12, nil))
			tk := a.issue(t, skewed(engine.DefaultMaxClockSkew+time.Second), format.VersionTLS12, nil)
			return a.e.Open(advConn(format.VersionTLS12), true, tk)
		}},
		{"created-in-future-SelectTLS13", engine.ErrNotYetValid, func(t *testing.T, a *adv) (engine.Decision, error) {
			future := a.engine(t, func(c *engine.Config) {
				c.Time = func() time.Time { return a.clock.Now().Add(engine.DefaultMaxClockSkew + time.Second) }
			})
			msg := a.hello(t, []*resumption.ClientTicket{a.clientTicket(t, future)}, nil)
			sel, err := a.selectHello(a.e, msg, advSuite, advSNI, advALPN)
			return sel.Decision, err
		}},
	}
}

// TestAdversarialReplay: a 0-RTT ClientHello is accepted at most once, on
// one engine and across engines sharing a store, and never outside the
// freshness window; a single-use ticket resumes once. (Redis-backed fleets:
// conformance/replay_test.go.)
func TestAdversarialReplay(t *testing.T) {
	early := func(c *testkit.ClientHello) { c.EarlyData = true }
	selectEarly := func(t *testing.T, a *adv, e *engine.Engine, msg []byte) engine.Selection {
		t.Helper()
		sel, err := a.selectHello(e, msg, advSuite, advSNI, advALPN)
		if err != nil || !sel.Resumed {
			t.Fatalf("1-RTT resumption must go on: resumed %v, error %v", sel.Resumed, err)
		}
		return sel
	}
	tests := []struct {
		name string
		run  func(t *testing.T, a *adv)
	}{
		{"same-engine-within-window", func(t *testing.T, a *adv) {
			msg := a.hello(t, []*resumption.ClientTicket{a.clientTicket(t, a.e)}, early)
			if sel := selectEarly(t, a, a.e, msg); !sel.EarlyData {
				t.Fatalf("control: first 0-RTT rejected: %v", sel.EarlyDataErr)
			}
			a.clock.Advance(time.Second)
			if sel := selectEarly(t, a, a.e, msg); sel.EarlyData || !errors.Is(sel.EarlyDataErr, engine.ErrEarlyDataReplay) {
				t.Fatalf("replay: 0-RTT %v (%v), want ErrEarlyDataReplay", sel.EarlyData, sel.EarlyDataErr)
			}
		}},
		{"same-engine-outside-window", func(t *testing.T, a *adv) {
			msg := a.hello(t, []*resumption.ClientTicket{a.clientTicket(t, a.e)}, early)
			if sel := selectEarly(t, a, a.e, msg); !sel.EarlyData {
				t.Fatalf("control: first 0-RTT rejected: %v", sel.EarlyDataErr)
			}
			for _, wait := range []time.Duration{resumption.DefaultFreshnessWindow + time.Millisecond, time.Hour} {
				a.clock.Advance(wait)
				if sel := selectEarly(t, a, a.e, msg); sel.EarlyData || !errors.Is(sel.EarlyDataErr, engine.ErrEarlyDataStale) {
					t.Fatalf("replay after %v: 0-RTT %v (%v), want ErrEarlyDataStale", wait, sel.EarlyData, sel.EarlyDataErr)
				}
			}
		}},
		{"two-engines-one-store", func(t *testing.T, a *adv) {
			msg := a.hello(t, []*resumption.ClientTicket{a.clientTicket(t, a.e)}, early)
			if sel := selectEarly(t, a, a.e, msg); !sel.EarlyData {
				t.Fatalf("control: first 0-RTT rejected: %v", sel.EarlyDataErr)
			}
			if sel := selectEarly(t, a, a.engine(t, nil), msg); sel.EarlyData || !errors.Is(sel.EarlyDataErr, engine.ErrEarlyDataReplay) {
				t.Fatalf("replay to the second engine: 0-RTT %v (%v), want ErrEarlyDataReplay", sel.EarlyData, sel.EarlyDataErr)
			}
		}},
		{"two-engines-one-store-concurrent", func(t *testing.T, a *adv) {
			msg := a.hello(t, []*resumption.ClientTicket{a.clientTicket(t, a.e)}, early)
			engines := []*engine.Engine{a.e, a.engine(t, nil)}
			var accepted atomic.Int64
			var wg sync.WaitGroup
			for i := range 32 {
				wg.Go(func() {
					if sel, err := a.selectHello(engines[i%2], msg, advSuite, advSNI, advALPN); err == nil && sel.EarlyData {
						accepted.Add(1)
					}
				})
			}
			wg.Wait()
			if n := accepted.Load(); n != 1 {
				t.Fatalf("0-RTT accepted %d times, want once", n)
			}
		}},
		{"restarted-server-fresh-store", func(t *testing.T, a *adv) {
			msg := a.hello(t, []*resumption.ClientTicket{a.clientTicket(t, a.e)}, early)
			if sel := selectEarly(t, a, a.e, msg); !sel.EarlyData {
				t.Fatalf("control: first 0-RTT rejected: %v", sel.EarlyDataErr)
			}
			// The restarted instance cannot know what it accepted before:
			// its store answers not fresh for a window (RFC 8446, 8.2).
			store := resumption.NewMemoryStore(resumption.MemoryStoreConfig{Time: a.clock.Now})
			restarted := a.engine(t, func(c *engine.Config) { c.ReplayStore = store })
			if sel := selectEarly(t, a, restarted, msg); sel.EarlyData || !errors.Is(sel.EarlyDataErr, engine.ErrEarlyDataReplay) {
				t.Fatalf("replay after restart: 0-RTT %v (%v), want ErrEarlyDataReplay", sel.EarlyData, sel.EarlyDataErr)
			}
		}},
		{"single-use-ticket", func(t *testing.T, a *adv) {
			e := a.engine(t, func(c *engine.Config) { c.SingleUseTickets = true })
			tk := a.issue(t, e, format.VersionTLS12, nil)
			mustResume(t, e, format.VersionTLS12, tk)
			if d, err := e.Open(advConn(format.VersionTLS12), true, tk); err != nil || d.Resumed || !errors.Is(d.Fallback, engine.ErrTicketReused) {
				t.Fatalf("second use: resumed %v, fallback %v, error %v; want ErrTicketReused", d.Resumed, d.Fallback, err)
			}
			msg := a.hello(t, []*resumption.ClientTicket{a.clientTicket(t, e)}, nil)
			selectEarly(t, a, e, msg)
			if sel, err := a.selectHello(e, msg, advSuite, advSNI, advALPN); err != nil || sel.Resumed || !errors.Is(sel.Fallback, engine.ErrTicketReused) {
				t.Fatalf("second use: resumed %v, fallback %v, error %v; want ErrTicketReused", sel.Resumed, sel.Fallback, err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.run(t, newAdv(t, nil)) })
	}
}

// largestAppData returns the length of the largest AppData that a session
// like s can carry in a ticket sealed with AES-256-GCM (a 65535-byte ticket).
func largestAppData(t *testing.T, s *format.State) int {
	t.Helper()
	c := *s
	c.AppData = nil
	c.CreatedAt = time.Unix(1, 0)
	c.AuthenticatedAt = c.CreatedAt // the engine stamps it
	pt, err := c.Append(nil)
	if err != nil {
		t.Fatal(err)
	}
	return 1<<16 - 1 - (seal.HeaderSize + 12 + 16) - len(pt)
}

// TestAdversarialResourceAbuse: the largest inputs are handled and bounded:
// a ticket of 65535 bytes, the AppData cap, and a ClientHello with 1000 PSK
// identities, of which at most engine.MaxPSKIdentities are examined.
func TestAdversarialResourceAbuse(t *testing.T) {
	tests := []struct {
		name string
		run  func(t *testing.T, a *adv)
	}{
		{"max-size-ticket-round-trips", func(t *testing.T, a *adv) {
			app := bytes.Repeat([]byte{0xa5}, largestAppData(t, advSession(format.VersionTLS12)))
			tk := a.issue(t, a.e, format.VersionTLS12, func(s *format.State) { s.AppData = app })
			d, err := a.e.Open(advConn(format.VersionTLS12), true, tk)
			if len(tk) != 1<<16-1 || err != nil || !d.Resumed || !bytes.Equal(d.Session.AppData, app) {
				t.Fatalf("ticket of %d bytes: resumed %v, error %v", len(tk), d.Resumed, err)
			}
		}},
		{"max-size-ticket-plus-one-refused", func(t *testing.T, a *adv) {
			s := advSession(format.VersionTLS13)
			s.AppData = make([]byte, largestAppData(t, s)+1)
			if iss, err := a.e.Issue(s, nil); err == nil {
				t.Fatalf("Issue sealed a ticket of %d bytes", len(iss.Ticket))
			}
		}},
		{"max-size-forgeries", func(t *testing.T, a *adv) {
			for _, n := range []int{1<<16 - 1, 1 << 16, 1<<16 + 1} {
				f := bytes.Repeat([]byte{0x5a}, n)
				name := a.k[0].Name()
				f[0], f[1] = 1, 2
				copy(f[2:], name[:])
				mustNotOpen(t, a.e, format.VersionTLS12, f)
				if d, _ := a.e.Open(advConn(format.VersionTLS12), true, f); n > 1<<16-1 && d.KeyName != nil {
					t.Fatalf("%d-byte ticket: key name %x read from an oversized ticket", n, d.KeyName)
				}
			}
		}},
		{"format-app-data-cap", func(t *testing.T, a *adv) {
			s := advSession(format.VersionTLS12)
			s.CreatedAt, s.AppData = a.clock.Now(), make([]byte, format.MaxAppData)
			b, err := s.Append(nil)
			if err != nil {
				t.Fatalf("Append with MaxAppData: %v", err)
			}
			if got, err := format.ParseState(b); err != nil || !bytes.Equal(got.AppData, s.AppData) {
				t.Fatalf("ParseState with MaxAppData: %v", err)
			}
			s.AppData = make([]byte, format.MaxAppData+1)
			if _, err := s.Append(nil); !errors.Is(err, format.ErrFieldTooLarge) {
				t.Fatalf("Append with MaxAppData+1: %v, want ErrFieldTooLarge", err)
			}
		}},
		{"engine-app-data-cap", func(t *testing.T, a *adv) {
			// format.MaxAppData does not fit a 65535-byte ticket: the engine
			// refuses it with an error (see max-size-ticket-round-trips for
			// the largest AppData it seals), and MaxAppData+1 too.
			for _, n := range []int{format.MaxAppData, format.MaxAppData + 1} {
				e := a.engine(t, func(c *engine.Config) {
					c.GenerateTicket = func(s *format.State) error { s.AppData = make([]byte, n); return nil }
				})
				if iss, err := e.Issue(advSession(format.VersionTLS12), nil); err == nil {
					t.Fatalf("AppData of %d bytes sealed in %d bytes", n, len(iss.Ticket))
				}
			}
		}},
		{"1000-psk-identities", testManyIdentities},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.run(t, newAdv(t, nil)) })
	}
}

// testManyIdentities offers 1000 PSK identities, one of them genuine, and
// counts the decrypt callbacks: the work is bounded by MaxPSKIdentities
// authenticated decryptions whatever the number of identities.
func testManyIdentities(t *testing.T, a *adv) {
	const n = 1000
	ct := a.clientTicket(t, a.e)
	genuine, err := ct.Identity(a.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	// Junk that names the primary key, so that each examined identity
	// costs an AEAD open, then one-byte identities.
	junk := bytes.Repeat([]byte{0x5a}, 64)
	name := a.k[0].Name()
	junk[0], junk[1] = 1, 2
	copy(junk[2:], name[:])
	tests := []struct {
		at          int
		wantResumed bool
		wantCalls   int
	}{
		{0, true, 1},
		{engine.MaxPSKIdentities - 1, true, engine.MaxPSKIdentities},
		{engine.MaxPSKIdentities, false, engine.MaxPSKIdentities},
		{n - 1, false, engine.MaxPSKIdentities},
	}
	for _, tt := range tests {
		ids := make([]format.PSKIdentity, n)
		psks := make([]*resumption.PSK, n)
		for i := range ids {
			ids[i].Identity = []byte{byte(i)}
			if i < engine.MaxPSKIdentities+2 {
				ids[i].Identity = junk
			}
		}
		ids[tt.at], psks[tt.at] = genuine, ct.PSK()
		msg := rawHello(t, ids, psks, nil)
		a.calls.Store(0)
		sel, err := a.selectHello(a.e, msg, advSuite, advSNI, advALPN)
		if calls := int(a.calls.Load()); err != nil || sel.Resumed != tt.wantResumed || calls != tt.wantCalls || sel.Examined != calls {
			t.Fatalf("genuine identity %d of %d: resumed %v, %d callbacks, examined %d, error %v; want resumed %v, %d callbacks",
				tt.at, n, sel.Resumed, calls, sel.Examined, err, tt.wantResumed, tt.wantCalls)
		}
	}
}

// bleed fills the memory just past every input of the Ticketbleed tests.
var bleed = bytes.Repeat([]byte("BLEED!"), 8)

// withBleed returns a copy of b whose capacity runs on into bleed bytes.
func withBleed(b []byte) []byte {
	buf := append(append(make([]byte, 0, len(b)+len(bleed)), b...), bleed...)
	return buf[:len(b)]
}

// checkNoBleed checks that nothing the engine returned for the input in
// (whose capacity runs on into bleed bytes) reads past it: the key name is
// nil or the key_name bytes of the ticket or identity id, no returned slice
// reaches the bleed bytes through its capacity, no error quotes them, and
// nothing returned changes when they do.
func checkNoBleed(t *testing.T, in, id []byte, d engine.Decision, err error) {
	t.Helper()
	if d.KeyName != nil && (len(id) < seal.HeaderSize || !bytes.Equal(d.KeyName, id[2:seal.HeaderSize])) {
		t.Fatalf("input %x: KeyName %x is not bytes of the input", id, d.KeyName)
	}
	out := [][]byte{d.KeyName}
	if s := d.Session; s != nil {
		out = append(out, s.Secret, s.Binding, s.AppData, s.Embedded)
		out = append(out, s.PeerCertificates...)
	}
	for _, b := range out {
		if bytes.Contains(b[:cap(b)], []byte("BLEED")) {
			t.Fatalf("input %x: a returned slice reaches past the input", id)
		}
	}
	if err != nil && bytes.Contains([]byte(err.Error()), []byte("BLEED")) {
		t.Fatalf("input %x: error quotes bytes past the input: %v", id, err)
	}
	keyName := bytes.Clone(d.KeyName)
	after := in[len(in):cap(in)]
	if !bytes.Equal(after, bleed) {
		t.Fatalf("input %x: the engine wrote past the input", id)
	}
	clear(after)
	if !bytes.Equal(keyName, d.KeyName) {
		t.Fatalf("input %x: KeyName aliases memory past the input", id)
	}
	copy(after, bleed)
}

// TestAdversarialTicketbleed (CVE-2016-9244): short tickets (0 to 40 bytes)
// and ClientHellos with short or truncated session IDs never make the engine
// read, return or echo bytes beyond the input.
func TestAdversarialTicketbleed(t *testing.T) {
	a := newAdv(t, nil)
	genuine := a.issue(t, a.e, format.VersionTLS12, nil)
	named := bytes.Repeat([]byte{0xff}, 40)
	name := a.k[0].Name()
	named[0], named[1] = 1, 2
	copy(named[2:], name[:])
	sources := []struct {
		name string
		b    []byte
	}{{"genuine-prefix", genuine}, {"primary-key-header", named}, {"zeros", make([]byte, 40)}}
	for _, src := range sources {
		t.Run("short-tickets/"+src.name, func(t *testing.T) {
			for n := 0; n <= 40; n++ {
				for _, ver := range advVersions {
					in := withBleed(src.b[:n])
					d, err := a.e.Open(advConn(ver.v), true, in)
					checkNoBleed(t, in, in, d, err)
					d, err = a.e.Open(engine.ConnInfo{Version: ver.v, ServerName: advSNI, ALPN: advALPN}, true, in)
					checkNoBleed(t, in, in, d, err)
				}
				if n > 0 {
					msg := withBleed(rawHello(t, []format.PSKIdentity{{Identity: src.b[:n]}}, []*resumption.PSK{nil}, nil))
					sel, err := a.selectHello(a.e, msg, advSuite, advSNI, advALPN)
					checkNoBleed(t, msg, src.b[:n], sel.Decision, err)
				}
			}
		})
	}
	t.Run("session-ids", func(t *testing.T) {
		ct := a.clientTicket(t, a.e)
		for n := 0; n <= 32; n++ {
			msg := withBleed(a.hello(t, []*resumption.ClientTicket{ct}, func(c *testkit.ClientHello) {
				c.SessionID = bytes.Repeat([]byte{0x5e}, n)
			}))
			sel, err := a.selectHello(a.e, msg, advSuite, advSNI, advALPN)
			if err != nil || !sel.Resumed {
				t.Fatalf("session ID of %d bytes: resumed %v, error %v", n, sel.Resumed, err)
			}
			checkNoBleed(t, msg, ct.Ticket, sel.Decision, err)
		}
	})
	t.Run("truncated-session-ids", func(t *testing.T) {
		msg := a.hello(t, []*resumption.ClientTicket{a.clientTicket(t, a.e)}, func(c *testkit.ClientHello) {
			c.SessionID = bytes.Repeat([]byte{0x5e}, 32)
		})
		const sidAt = 4 + 2 + 32 // handshake header, legacy_version, random
		for n := 0; n <= sidAt+1+32+2; n++ {
			in := withBleed(msg[:n])
			sel, err := a.selectHello(a.e, in, advSuite, advSNI, advALPN)
			if sel.Alert != engine.AlertDecodeError || sel.Resumed {
				t.Fatalf("ClientHello cut to %d bytes: alert %v, resumed %v; want decode_error", n, sel.Alert, sel.Resumed)
			}
			checkNoBleed(t, in, nil, sel.Decision, err)
		}
		over := bytes.Clone(msg)
		over[sidAt] = 33 // longer than legacy_session_id<0..32>
		if sel, _ := a.selectHello(a.e, withBleed(over), advSuite, advSNI, advALPN); sel.Alert != engine.AlertDecodeError {
			t.Fatalf("33-byte session ID: alert %v, want decode_error", sel.Alert)
		}
	})
}

// TestAdversarialBindingAliasing: the State that Issue fills in, and hands
// to the GenerateTicket callback, does not alias the engine's own Binding
// (which New copies from the Config for this reason): a caller or callback
// that reuses the State's buffers cannot change the context that every
// ticket is checked against.
func TestAdversarialBindingAliasing(t *testing.T) {
	binding := []byte("client auth required")
	tests := []struct {
		name   string
		adjust func(*engine.Config)
		reuse  func(s *format.State)
	}{
		{"caller-reuses-state", nil, func(s *format.State) { s.Binding = append(s.Binding[:0], 0xff) }},
		{"callback-appends-to-binding", func(c *engine.Config) {
			c.GenerateTicket = func(s *format.State) error {
				if len(s.AppData) > 0 {
					s.Binding = append(s.Binding[:0], "no client auth!!!!!!"...)
				}
				return nil
			}
		}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := newAdv(t, nil)
			e := a.engine(t, func(c *engine.Config) {
				c.Binding = bytes.Clone(binding)
				if tt.adjust != nil {
					tt.adjust(c)
				}
			})
			genuine := a.issue(t, e, format.VersionTLS12, nil)
			s := advSession(format.VersionTLS12)
			s.AppData = []byte("second")
			second, err := e.Issue(s, nil)
			if err != nil {
				t.Fatal(err)
			}
			if tt.reuse != nil {
				tt.reuse(s)
			}
			if d, err := e.Open(advConn(format.VersionTLS12), true, genuine); err != nil || !d.Resumed {
				t.Fatalf("genuine ticket after the State was reused: resumed %v, fallback %v, error %v; the engine's binding is aliased", d.Resumed, d.Fallback, err)
			}
			// The engine seals its own binding, whatever the State or the
			// callback holds.
			if d, err := e.Open(advConn(format.VersionTLS12), true, second.Ticket); err != nil || !d.Resumed || !bytes.Equal(d.Session.Binding, binding) {
				t.Fatalf("second ticket: resumed %v, fallback %v, error %v", d.Resumed, d.Fallback, err)
			}
		})
	}
}

// TestAdversarialKeyHygiene: weak, malformed, duplicate and reused keys are
// refused.
func TestAdversarialKeyHygiene(t *testing.T) {
	good := advSecret("hygiene")
	sameByte := bytes.Repeat([]byte{0xaa}, 32)
	tests := []struct {
		name   string
		aead   seal.AEAD
		secret []byte
		want   error
	}{
		{"nil", seal.AES256GCM, nil, seal.ErrKeySize},
		{"zero-AES-128-GCM", seal.AES128GCM, make([]byte, 16), seal.ErrWeakKey},
		{"zero-AES-256-GCM", seal.AES256GCM, make([]byte, 32), seal.ErrWeakKey},
		{"zero-ChaCha20-Poly1305", seal.ChaCha20Poly1305, make([]byte, 32), seal.ErrWeakKey},
		{"zero-XChaCha20-Poly1305", seal.XChaCha20Poly1305, make([]byte, 32), seal.ErrWeakKey},
		{"all-equal", seal.AES256GCM, sameByte, seal.ErrWeakKey},
		{"all-equal-AES-128-GCM", seal.AES128GCM, sameByte[:16], seal.ErrWeakKey},
		{"short-AES-128-GCM", seal.AES128GCM, good[:15], seal.ErrKeySize},
		{"short-AES-256-GCM", seal.AES256GCM, good[:31], seal.ErrKeySize},
		{"short-ChaCha20-Poly1305", seal.ChaCha20Poly1305, good[:16], seal.ErrKeySize},
		{"long-AES-128-GCM", seal.AES128GCM, good[:17], seal.ErrKeySize},
		{"long-AES-256-GCM", seal.AES256GCM, append(bytes.Clone(good), 0), seal.ErrKeySize},
		{"unknown-AEAD-0", seal.AEAD(0), good, nil},
		{"unknown-AEAD-200", seal.AEAD(200), good, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, err := seal.NewKey(tt.aead, tt.secret)
			if k != nil || err == nil || (tt.want != nil && !errors.Is(err, tt.want)) {
				t.Fatalf("NewKey(%v, %d bytes) = %v, %v; want %v", tt.aead, len(tt.secret), k, err, tt.want)
			}
		})
	}
	mk := func(a seal.AEAD, secret []byte) *seal.Key {
		k, err := seal.NewKey(a, secret)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	k1, k1again, k1chacha, k2 := mk(seal.AES256GCM, good), mk(seal.AES256GCM, good), mk(seal.ChaCha20Poly1305, good), mk(seal.AES256GCM, advSecret("other"))
	rings := []struct {
		name string
		make func() (*seal.Ring, error)
		want error
	}{
		{"duplicate-key", func() (*seal.Ring, error) { return seal.NewRing(nil, k1, k1) }, seal.ErrDuplicateKey},
		{"same-secret-twice", func() (*seal.Ring, error) { return seal.NewRing(nil, k1, k2, k1again) }, seal.ErrDuplicateKey},
		{"same-secret-two-AEADs", func() (*seal.Ring, error) { return seal.NewRing(nil, k1, k1chacha) }, seal.ErrDuplicateKey},
		{"no-primary", func() (*seal.Ring, error) { return seal.NewRing(nil, nil, k1) }, seal.ErrNoPrimaryKey},
		{"nil-decrypt-only", func() (*seal.Ring, error) { return seal.NewRing(nil, k1, nil) }, nil},
		{"zero-key-value", func() (*seal.Ring, error) { return seal.NewRing(nil, &seal.Key{}) }, nil},
		{"rotate-to-reused-secret-other-AEAD", func() (*seal.Ring, error) {
			r, err := seal.NewRing(nil, k1, k2)
			if err != nil {
				t.Fatal(err)
			}
			return r.Rotate(k1chacha, 2)
		}, seal.ErrDuplicateKey},
	}
	for _, tt := range rings {
		t.Run(tt.name, func(t *testing.T) {
			r, err := tt.make()
			if r != nil || err == nil || (tt.want != nil && !errors.Is(err, tt.want)) {
				t.Fatalf("got %v, %v; want %v", r, err, tt.want)
			}
		})
	}
	t.Run("rotate-promotes-kept-key-without-duplicate", func(t *testing.T) {
		r, err := seal.NewRing(nil, k2, k1)
		if err != nil {
			t.Fatal(err)
		}
		if r, err = r.Rotate(k1again, 5); err != nil {
			t.Fatal(err)
		}
		seen := map[seal.KeyName]bool{}
		for _, k := range r.Keys() {
			if seen[k.Name()] {
				t.Fatalf("ring %v holds key %v twice", r, k)
			}
			seen[k.Name()] = true
		}
	})
}

// secrets is key material that must never be printed, with the forms in
// which a printout could carry it.
type secrets struct {
	names []string
	forms [][][]byte
}

func (s *secrets) add(name string, b []byte) {
	if len(b) < 16 {
		panic("conformance: internal error: secret too short to search for")
	}
	p := b[:12]
	dec := fmt.Sprint(p[:6])              // [12 34 …]
	gosyntax := fmt.Sprintf("%#v", p[:4]) // []byte{0xc, 0x22, …}
	quoted := strconv.Quote(string(p))
	s.names = append(s.names, name)
	s.forms = append(s.forms, [][]byte{
		p, []byte(hex.EncodeToString(p)), []byte(strings.ToUpper(hex.EncodeToString(p))),
		[]byte(dec[1 : len(dec)-1]), []byte(gosyntax[len("[]byte{") : len(gosyntax)-1]),
		[]byte(quoted[1 : len(quoted)-1]), []byte(base64.StdEncoding.EncodeToString(p)),
	})
}

// check fails if out contains a form of a secret.
func (s *secrets) check(t *testing.T, what, out string) {
	t.Helper()
	for i, forms := range s.forms {
		for _, f := range forms {
			if bytes.Contains([]byte(out), f) {
				t.Errorf("%s contains %s (as %q):\n%s", what, s.names[i], f, out)
				return
			}
		}
	}
}

// aeadKey derives the AEAD key of a seal.Key from its secret, as documented
// in package seal (HKDF-SHA256, info "tlsticket v1 aead key" ‖ aead).
func aeadKey(t *testing.T, a seal.AEAD, secret []byte) []byte {
	t.Helper()
	k, err := hkdf.Key(sha256.New, secret, nil, "tlsticket v1 aead key"+string([]byte{byte(a)}), a.KeySize())
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// rfc8448Hex returns a hex value of format/testdata/rfc8448.json.
func rfc8448Hex(t *testing.T, section, key string) []byte {
	t.Helper()
	raw, err := os.ReadFile("../format/testdata/rfc8448.json")
	if err != nil {
		t.Fatalf("the RFC 8448 vectors must exist: %v", err)
	}
	var doc map[string]map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	s, _ := doc[section][key].(string)
	b, err := hex.DecodeString(s)
	if err != nil || len(b) == 0 {
		t.Fatalf("rfc8448.json %s.%s: %q, %v", section, key, s, err)
	}
	return b
}

// TestAdversarialNoSecretsInOutput: no key material or session secret
// appears in the fmt output of any type that holds one, under any verb, nor
// in any error or engine log line.
func TestAdversarialNoSecretsInOutput(t *testing.T) {
	var sec secrets
	var logs bytes.Buffer
	a := newAdv(t, nil)
	keySecret := advSecret("printed key")
	key, err := seal.NewKey(seal.ChaCha20Poly1305, keySecret)
	if err != nil {
		t.Fatal(err)
	}
	sec.add("key secret", keySecret)
	sec.add("derived AEAD key", aeadKey(t, seal.ChaCha20Poly1305, keySecret))
	for _, label := range []string{"primary", "decrypt-only"} {
		s := testkit.KeySecret("adversarial " + label)
		sec.add(label+" key secret", s[:])
		sec.add(label+" AEAD key", aeadKey(t, seal.AES256GCM, s[:]))
	}
	ring, err := seal.NewRing(nil, key, a.k...)
	if err != nil {
		t.Fatal(err)
	}
	keys := seal.NewKeyring(ring)
	e := a.engine(t, func(c *engine.Config) {
		c.Keys = keys
		c.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	})
	rms, err := resumption.NewResumptionMasterSecret(crypto.SHA256, rfc8448Hex(t, "section3_initial_handshake", "resumption_master_secret"))
	if err != nil {
		t.Fatal(err)
	}
	psk := rms.PSK(rfc8448Hex(t, "section3_initial_handshake", "ticket_nonce"))
	es := psk.EarlySecret()
	bk := es.ResumptionBinderKey()
	for _, k := range []string{"resumption_master_secret", "psk"} {
		sec.add("RFC 8448 "+k, rfc8448Hex(t, "section3_initial_handshake", k))
	}
	for _, k := range []string{"early_secret", "binder_key", "binder_finished_key"} {
		sec.add("RFC 8448 "+k, rfc8448Hex(t, "section4_resumed_0rtt_handshake", k))
	}
	values, errs := hygieneValues(t, a, e, &sec, rms)
	values = append(values, key, *key, ring, *ring, keys, rms, *rms, psk, *psk, es, *es, bk, *bk, ring.Keys(),
		struct {
			Key   *seal.Key
			Ring  *seal.Ring
			Early *resumption.EarlySecret
		}{key, ring, es})
	for i, v := range values {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%x", "%X", "%q", "%d"} {
			sec.check(t, fmt.Sprintf("value %d (%T) under %s", i, v, verb), fmt.Sprintf(verb, v))
		}
	}
	for i, err := range errs {
		if err == nil {
			t.Fatalf("error %d is nil: the failure it stands for did not happen", i)
		}
		for _, verb := range []string{"%v", "%+v", "%#v", "%x"} {
			sec.check(t, fmt.Sprintf("error %d under %s", i, verb), fmt.Sprintf(verb, err))
		}
	}
	if logs.Len() == 0 {
		t.Fatal("the engine logged nothing at Debug level")
	}
	sec.check(t, "engine log", logs.String())
}

// hygieneValues runs e through issuing, resumption (both versions), a bad
// binder and a callback abort, adds the session secrets to sec, and returns
// the values the engine handed out and the errors it and the constructors
// returned.
func hygieneValues(t *testing.T, a *adv, e *engine.Engine, sec *secrets, rms *resumption.ResumptionMasterSecret) ([]any, []error) {
	t.Helper()
	var values []any
	var errs []error
	s12 := advSession(format.VersionTLS12)
	sec.add("TLS 1.2 master secret", s12.Secret)
	iss, err := e.Issue(s12, nil)
	if err != nil {
		t.Fatal(err)
	}
	d, err := e.Open(advConn(format.VersionTLS12), true, iss.Ticket)
	if err != nil || !d.Resumed {
		t.Fatalf("control: resumed %v, error %v", d.Resumed, err)
	}
	values = append(values, s12, *s12, iss, d, *d.Session)
	ti, err := e.NewTicketIssuer(rms, &format.State{Version: format.VersionTLS13, CipherSuite: advSuite, ServerName: advSNI, ALPN: advALPN})
	if err != nil {
		t.Fatal(err)
	}
	iss13, err := ti.Issue()
	if err != nil {
		t.Fatal(err)
	}
	ct, err := testkit.StoreTicket(iss13.Message, rms, advSuite, a.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	sec.add("TLS 1.3 ticket PSK", ct.PSK().AppendBytes(nil))
	msg := a.hello(t, []*resumption.ClientTicket{ct}, func(c *testkit.ClientHello) { c.EarlyData = true })
	sel, err := a.selectHello(e, msg, advSuite, advSNI, advALPN)
	if err != nil || !sel.Resumed || sel.EarlySecret == nil {
		t.Fatalf("control: resumed %v, error %v", sel.Resumed, err)
	}
	values = append(values, ti, ct, *ct, sel, sel.Decision, iss13, e, a.keys)
	// Failures, each with secrets at hand.
	bad := bytes.Clone(msg)
	bad[len(bad)-1] ^= 1
	_, err = a.selectHello(e, bad, advSuite, advSNI, advALPN)
	errs = append(errs, err)
	aborting := a.engine(t, func(c *engine.Config) {
		c.DecryptTicket = func(engine.TicketInfo) status.Return { return status.Abort }
	})
	_, err = aborting.Open(advConn(format.VersionTLS12), true, iss.Ticket)
	errs = append(errs, err)
	_, err = e.Issue(&format.State{Version: 0x0301, Secret: s12.Secret}, nil)
	errs = append(errs, err)
	_, err = e.Issue(&format.State{Version: format.VersionTLS12, Secret: bytes.Repeat(s12.Secret, 6)}, nil)
	errs = append(errs, err)
	_, err = seal.NewKey(seal.AES256GCM, advSecret("printed key")[:31])
	errs = append(errs, err)
	_, err = seal.NewKey(seal.AES128GCM, advSecret("printed key"))
	errs = append(errs, err)
	_, err = resumption.NewPSK(crypto.SHA384, ct.PSK().AppendBytes(nil))
	errs = append(errs, err)
	_, err = resumption.NewResumptionMasterSecret(crypto.SHA256, s12.Secret)
	errs = append(errs, err)
	pt, err := s12.Append(nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = format.ParseState(pt[:len(pt)-1])
	errs = append(errs, err)
	values = append(values, errs[0], errs[1])
	return values, errs
}

// TestAdversarialConcurrentRotation, with -race: goroutines issue and open
// tickets of both versions while another rotates the ring (Ring.Rotate
// keeping two old keys, then Keyring.Store). There is no data race; a
// ticket whose key is in the ring before and after Open opens and resumes;
// a ticket whose key had left the ring before Open began never opens (keys
// never come back).
func TestAdversarialConcurrentRotation(t *testing.T) {
	const keep, rotations, workers = 2, 40, 8
	a := newAdv(t, nil)
	inRing := func(r *seal.Ring, ticket []byte) bool {
		var n seal.KeyName
		copy(n[:], ticket[2:seal.HeaderSize])
		_, ok := r.Lookup(n)
		return ok
	}
	var opened, refused atomic.Int64
	check := func(tk []byte, v uint16, old bool) {
		before := a.keys.Load()
		d, err := a.e.Open(advConn(v), true, tk)
		after := a.keys.Load()
		switch {
		case inRing(before, tk) && inRing(after, tk):
			if err != nil || !d.Resumed {
				t.Errorf("ticket under a key kept in the ring: status %v, resumed %v, fallback %v, error %v", d.Status, d.Resumed, d.Fallback, err)
			}
			opened.Add(1)
		case old && !inRing(before, tk):
			if err != nil || d.Status != status.NoDecrypt || d.Resumed {
				t.Errorf("ticket under a dropped key: status %v, resumed %v, error %v", d.Status, d.Resumed, err)
			}
			refused.Add(1)
		}
	}
	done := make(chan struct{})
	var issued atomic.Int64
	var wg sync.WaitGroup
	wg.Go(func() {
		defer close(done)
		deadline := time.Now().Add(10 * time.Second)
		for i := range rotations {
			// Rotate only as the workers make progress, so that tickets
			// are sealed under many keys however the goroutines are
			// scheduled.
			for issued.Load() < int64((i+1)*workers) && time.Now().Before(deadline) {
				time.Sleep(100 * time.Microsecond)
			}
			k, err := seal.NewKey(seal.AES256GCM, advSecret(fmt.Sprint("rotation ", i)))
			if err != nil {
				t.Error(err)
				return
			}
			r, err := a.keys.Load().Rotate(k, keep)
			if err != nil {
				t.Error(err)
				return
			}
			a.keys.Store(r)
		}
	})
	for w := range workers {
		wg.Go(func() {
			type kept struct {
				tk []byte
				v  uint16
			}
			var old []kept
			for i := 0; ; i++ {
				select {
				case <-done:
					for _, o := range old {
						check(o.tk, o.v, true)
					}
					return
				default:
				}
				v := advVersions[(w+i)%2].v
				s, nonce := advSession(v), []byte(nil)
				if v == format.VersionTLS13 {
					nonce = []byte{byte(i)}
				}
				iss, err := a.e.Issue(s, nonce)
				if err != nil {
					t.Error(err)
					return
				}
				issued.Add(1)
				check(iss.Ticket, v, false)
				if len(old) < 64 && i%4 == 0 {
					old = append(old, kept{iss.Ticket, v})
				}
				if len(old) > 0 {
					o := old[i%len(old)]
					check(o.tk, o.v, true)
				}
			}
		})
	}
	wg.Wait()
	if opened.Load() == 0 || refused.Load() == 0 {
		t.Fatalf("opened %d and refused %d tickets: the test checked nothing", opened.Load(), refused.Load())
	}
}

// TestAlertNames: every alert the engine sends prints its RFC 8446 name
// (Section 6), as AbortError messages and log lines show it.
func TestAlertNames(t *testing.T) {
	tests := []struct {
		alert engine.Alert
		want  string
	}{
		{engine.AlertIllegalParameter, "illegal_parameter"},
		{engine.AlertDecodeError, "decode_error"},
		{engine.AlertDecryptError, "decrypt_error"},
		{engine.AlertInternalError, "internal_error"},
		{engine.AlertMissingExtension, "missing_extension"},
	}
	for _, tt := range tests {
		if got := tt.alert.String(); got != tt.want {
			t.Errorf("Alert(%d).String() = %q, want %q", uint8(tt.alert), got, tt.want)
		}
	}
}

// advConn returns the connection the adversarial fixture's sessions are
// resumed on, for version v.
func advConn(v uint16) engine.ConnInfo {
	return engine.ConnInfo{Version: v, ServerName: advSNI, ALPN: advALPN}
}
