package conformance

import (
	"bytes"
	"testing"

	"github.com/tlsticket/tlsticket/engine"
	"github.com/tlsticket/tlsticket/format"
	"github.com/tlsticket/tlsticket/internal/testkit"
	"github.com/tlsticket/tlsticket/resumption"
	"github.com/tlsticket/tlsticket/seal"
)

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
	if s := d.Session; s.Version != 0 {
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
	named := a.primaryJunk(40, 0xff)
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
