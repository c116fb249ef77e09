package conformance

// The adversarial suite: each test is a table of attacks on the ticket path
// that must not get through, in one file per section of
// docs/threat-model.md, which maps every threat to the test that checks it:
// tampering_test.go (forged and tampered tickets), keys_test.go (key
// compromise), earlydata_test.go (replay of 0-RTT data), confusion_test.go
// (tickets across versions, contexts and clock skew), resource_test.go
// (resource abuse), ticketbleed_test.go (over-reads) and secrets_test.go
// (secrets in output). This file holds the engine under attack they share.

import (
	"bytes"
	"context"
	"crypto"
	"crypto/sha256"
	"errors"
	"sync/atomic"
	"testing"

	"github.com/tlsticket/tlsticket/engine"
	"github.com/tlsticket/tlsticket/format"
	"github.com/tlsticket/tlsticket/internal/fakeclock"
	"github.com/tlsticket/tlsticket/internal/testkit"
	"github.com/tlsticket/tlsticket/resumption"
	"github.com/tlsticket/tlsticket/seal"
	"github.com/tlsticket/tlsticket/status"
)

const (
	advSNI   = testkit.ServerName
	advALPN  = testkit.ALPN
	advSuite = 0x1301
)

var advVersions = []struct {
	name string
	v    uint16
}{{"TLSv12", format.VersionTLS12}, {"TLSv13", format.VersionTLS13}}

// advKey returns a deterministic key of AEAD a named after label.
func advKey(t *testing.T, a seal.AEAD, label string) *seal.Key {
	t.Helper()
	return testkit.Key(t, a, "adversarial "+label)
}

// adv is an engine under attack, on a testkit.Server: a ring whose primary
// key is AES-256-GCM with two decrypt-only keys (AES-256-GCM and
// XChaCha20-Poly1305), a memory replay store past its startup window, 0-RTT
// allowed, and a decrypt callback that counts its calls and returns the
// default.
type adv struct {
	clock *fakeclock.Clock
	store *resumption.MemoryStore
	keys  *seal.Keyring
	k     []*seal.Key
	e     *engine.Engine
	rms   *resumption.ResumptionMasterSecret
	calls atomic.Int64
}

func newAdv(t *testing.T, adjust func(*engine.Config)) *adv {
	t.Helper()
	srv := testkit.NewServer(t, nil,
		advKey(t, seal.AES256GCM, "primary"),
		advKey(t, seal.AES256GCM, "decrypt-only"),
		advKey(t, seal.XChaCha20Poly1305, "xchacha"),
	)
	a := &adv{clock: srv.Clock, store: srv.Store, keys: srv.Keyring, k: srv.Keys}
	a.e = a.engine(t, adjust)
	var err error
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
		Keys: a.keys, Time: a.clock.Now, MaxEarlyData: testkit.MaxEarlyData, ReplayStore: a.store,
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
	msg, err := testkit.PSKHello(ids, psks, adjust)
	if err != nil {
		t.Fatal(err)
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
	if d.Resumed || d.Session.Version != 0 {
		t.Fatalf("forged ticket %x resumed", ticket)
	}
}

// primaryJunk returns n bytes of fill behind a sealed-ticket header (version
// 1, AES-256-GCM) that names the primary key, so that the engine looks the
// key up and tries to open them.
func (a *adv) primaryJunk(n int, fill byte) []byte {
	b := bytes.Repeat([]byte{fill}, n)
	name := a.k[0].Name()
	b[0], b[1] = 1, byte(seal.AES256GCM)
	copy(b[2:], name[:])
	return b
}

// advConn returns the connection the adversarial fixture's sessions are
// resumed on, for version v.
func advConn(v uint16) engine.ConnInfo {
	return engine.ConnInfo{Version: v, ServerName: advSNI, ALPN: advALPN}
}
