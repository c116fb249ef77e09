package conformance

import (
	"bytes"
	"crypto"
	"errors"
	"testing"
	"time"

	"github.com/tlsticket/tlsticket/engine"
	"github.com/tlsticket/tlsticket/format"
	"github.com/tlsticket/tlsticket/resumption"
)

// TestAdversarialConfusion: a genuine ticket presented in another context
// than the one it was issued for (protocol version, SNI, ALPN, binding,
// cipher suite hash, time) is not resumed: the handshake falls back to a
// full one, and Decision.Fallback names the check.
func TestAdversarialConfusion(t *testing.T) {
	tests := append(append(versionConfusion(), contextConfusion()...), timeConfusion()...)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := tt.run(t, newAdv(t, nil))
			if err != nil || d.Resumed || d.Session.Version != 0 || !errors.Is(d.Fallback, tt.want) {
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
		{"suite-hash-Open", engine.ErrCipherSuiteMismatch, func(t *testing.T, a *adv) (engine.Decision, error) {
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
