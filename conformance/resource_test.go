package conformance

import (
	"bytes"
	"testing"
	"time"

	"github.com/tlsticket/tlsticket/engine"
	"github.com/tlsticket/tlsticket/format"
	"github.com/tlsticket/tlsticket/resumption"
	"github.com/tlsticket/tlsticket/seal"
)

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
				f := a.primaryJunk(n, 0x5a)
				mustNotOpen(t, a.e, format.VersionTLS12, f)
				if d, _ := a.e.Open(advConn(format.VersionTLS12), true, f); n > 1<<16-1 && d.KeyName != nil {
					t.Fatalf("%d-byte ticket: key name %x read from an oversized ticket", n, d.KeyName)
				}
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
	junk := a.primaryJunk(64, 0x5a)
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
