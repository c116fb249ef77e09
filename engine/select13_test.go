package engine

import (
	"bytes"
	"context"
	"crypto"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/tlsticket/tlsticket/format"
	"github.com/tlsticket/tlsticket/internal/testkit"
	"github.com/tlsticket/tlsticket/resumption"
	"github.com/tlsticket/tlsticket/seal"
	"github.com/tlsticket/tlsticket/status"
)

const testSuite = 0x1301

// tls13Fixture runs the server side of TLS 1.3 resumption against the
// client side of package resumption, with no other TLS library.
type tls13Fixture struct {
	e     *Engine
	other *Engine // the same settings under keys e does not have
	clock *fakeClock
	rms   *resumption.ResumptionMasterSecret
	store *resumption.MemoryStore
	calls []status.Status
}

func newTLS13Fixture(t *testing.T, adjust func(*Config)) *tls13Fixture {
	t.Helper()
	f := &tls13Fixture{clock: newFakeClock()}
	f.store = resumption.NewMemoryStore(resumption.MemoryStoreConfig{Time: f.clock.Now})
	// Let the replay store's startup window pass (RFC 8446, Section 8.2).
	f.clock.Advance(resumption.DefaultFreshnessWindow + time.Second)
	rms, err := resumption.NewResumptionMasterSecret(crypto.SHA256, bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	f.rms = rms
	mk := func(keys *seal.Keyring) *Engine {
		cfg := &Config{Keys: keys, Time: f.clock.Now, MaxEarlyData: 16384, ReplayStore: f.store}
		if adjust != nil {
			adjust(cfg)
		}
		e, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	f.e = mk(seal.NewKeyring(testRing(t, testKey(t, "server"))))
	f.other = mk(seal.NewKeyring(testRing(t, testKey(t, "elsewhere"))))
	return f
}

// ticket issues one ticket with e and returns it as the client stores it.
// label goes into the ticket's application data.
func (f *tls13Fixture) ticket(t *testing.T, e *Engine, label string) *resumption.ClientTicket {
	t.Helper()
	ti, err := e.NewTicketIssuer(f.rms, &format.State{
		Version: format.VersionTLS13, CipherSuite: testSuite, ServerName: "example.com", ALPN: "h2", AppData: []byte(label),
	})
	if err != nil {
		t.Fatal(err)
	}
	iss, err := ti.Issue()
	if err != nil {
		t.Fatal(err)
	}
	ct, err := testkit.StoreTicket(iss.Message, f.rms, testSuite, f.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	return ct
}

// hello builds a ClientHello offering tickets, with binders.
func (f *tls13Fixture) hello(t *testing.T, tickets []*resumption.ClientTicket, adjust func(*testkit.ClientHello)) []byte {
	t.Helper()
	msg, err := testkit.OfferHello(tickets, f.clock.Now(), adjust)
	if err != nil {
		t.Fatal(err)
	}
	return msg
}

func (f *tls13Fixture) selectHello(t *testing.T, msg []byte) (Selection, error) {
	t.Helper()
	return f.e.SelectTLS13(context.Background(), &ClientHelloTLS13{Message: msg, CipherSuite: testSuite, ServerName: "example.com", ALPN: "h2"})
}

// corruptBinder flips a bit of the binder of identity i in msg.
func corruptBinder(t *testing.T, msg []byte, i int) {
	t.Helper()
	exts, err := format.ParseClientHelloExtensions(msg)
	if err != nil {
		t.Fatal(err)
	}
	data, _ := exts.Lookup(format.ExtensionPreSharedKey)
	psks, err := format.ParseOfferedPSKs(data)
	if err != nil {
		t.Fatal(err)
	}
	psks.Binders[i][0] ^= 1 // aliases msg
}

// TestSelectionWalk covers the walk over identities, with the engine's
// defaults and with a decrypt callback that acts on the ticket's label.
func TestSelectionWalk(t *testing.T) {
	type ticketKind string
	const (
		good      ticketKind = "good"
		bad       ticketKind = "bad"        // sealed under a key the server lacks
		ignore    ticketKind = "ignore"     // the callback returns Ignore
		abort     ticketKind = "abort"      // the callback returns Abort
		useOnBad  ticketKind = "use-on-bad" // not openable; the callback says Use
		badBinder ticketKind = "bad-binder" // a good ticket whose binder is wrong
	)
	tests := []struct {
		name      string
		kinds     []ticketKind
		callback  bool // the case needs the callback
		selected  int
		alert     Alert
		examined  int
		fullCount bool // a full handshake sending NumTickets
	}{
		{name: "bad then good", kinds: []ticketKind{bad, good}, selected: 1, examined: 2},
		{name: "good then bad", kinds: []ticketKind{good, bad}, selected: 0, examined: 1},
		{name: "ignore then good", kinds: []ticketKind{ignore, good}, callback: true, selected: 1, examined: 2},
		{name: "abort then good", kinds: []ticketKind{abort, good}, callback: true, selected: -1, alert: AlertInternalError, examined: 1},
		{name: "use-on-bad then good", kinds: []ticketKind{useOnBad, good}, callback: true, selected: -1, alert: AlertInternalError, examined: 1},
		{name: "bad binder then good", kinds: []ticketKind{badBinder, good}, selected: -1, alert: AlertDecryptError, examined: 1},
		{name: "all bad", kinds: []ticketKind{bad, bad, bad}, selected: -1, examined: 3, fullCount: true},
	}
	for _, withCallback := range []bool{false, true} {
		for _, tt := range tests {
			if tt.callback && !withCallback {
				continue
			}
			name := "defaults/" + tt.name
			if withCallback {
				name = "callback/" + tt.name
			}
			t.Run(name, func(t *testing.T) {
				var f *tls13Fixture
				f = newTLS13Fixture(t, func(c *Config) {
					if !withCallback {
						return
					}
					c.DecryptTicket = func(ti TicketInfo) status.Return {
						s, st := ti.Session, ti.Status
						f.calls = append(f.calls, st)
						switch {
						case st.Opened() && string(s.AppData) == string(ignore):
							return status.Ignore
						case st.Opened() && string(s.AppData) == string(abort):
							return status.Abort
						case s.Version == 0 && st == status.NoDecrypt && len(f.calls) == 1 && tt.kinds[0] == useOnBad:
							return status.Use
						}
						return status.Default(st)
					}
				})
				var tickets []*resumption.ClientTicket
				for _, k := range tt.kinds {
					e := f.e
					if k == bad || k == useOnBad {
						e = f.other
					}
					tickets = append(tickets, f.ticket(t, e, string(k)))
				}
				msg := f.hello(t, tickets, nil)
				for i, k := range tt.kinds {
					if k == badBinder {
						corruptBinder(t, msg, i)
					}
				}
				sel, err := f.selectHello(t, msg)
				if sel.Identity != tt.selected || sel.Alert != tt.alert || (err != nil) != (tt.alert != 0) {
					t.Fatalf("selected %d alert %v err %v; want %d, %v", sel.Identity, sel.Alert, err, tt.selected, tt.alert)
				}
				if sel.Examined != tt.examined || (withCallback && len(f.calls) != tt.examined) {
					t.Errorf("examined %d, callback calls %d; want %d", sel.Examined, len(f.calls), tt.examined)
				}
				if tt.selected >= 0 {
					if !sel.Resumed || sel.EarlySecret == nil || sel.Mode != format.PSKModeDHEKE || string(sel.Session.AppData) != string(tt.kinds[tt.selected]) {
						t.Errorf("resumed %v early secret %v mode %d", sel.Resumed, sel.EarlySecret != nil, sel.Mode)
					}
					if sel.Tickets != 1 {
						t.Errorf("tickets %d after a resumption, want 1", sel.Tickets)
					}
				}
				if tt.fullCount && (sel.Resumed || sel.Tickets != f.e.NumTickets()) {
					t.Errorf("resumed %v tickets %d; want a full handshake with %d", sel.Resumed, sel.Tickets, f.e.NumTickets())
				}
			})
		}
	}
}

func TestSelectionErrors(t *testing.T) {
	f := newTLS13Fixture(t, nil)
	good := []*resumption.ClientTicket{f.ticket(t, f.e, "x")}
	tests := []struct {
		name   string
		adjust func(*testkit.ClientHello)
		alert  Alert
		err    error
	}{
		{"psk not last", func(c *testkit.ClientHello) { c.PSKNotLast = true }, AlertIllegalParameter, format.ErrPSKNotLast},
		{"no psk modes", func(c *testkit.ClientHello) { c.Modes = nil }, AlertMissingExtension, ErrMissingPSKModes},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sel, err := f.selectHello(t, f.hello(t, good, tt.adjust))
			if sel.Alert != tt.alert || !errors.Is(err, tt.err) {
				t.Fatalf("alert %v err %v; want %v, %v", sel.Alert, err, tt.alert, tt.err)
			}
		})
	}
	t.Run("malformed", func(t *testing.T) {
		msg := f.hello(t, good, nil)
		sel, err := f.selectHello(t, msg[:len(msg)-1])
		if sel.Alert != AlertDecodeError || err == nil {
			t.Fatalf("alert %v err %v; want decode_error", sel.Alert, err)
		}
	})
}

func TestSelectionModes(t *testing.T) {
	for _, allow := range []bool{false, true} {
		t.Run(fmt.Sprintf("AllowPSKOnly=%v", allow), func(t *testing.T) {
			f := newTLS13Fixture(t, func(c *Config) { c.AllowPSKOnly = allow })
			msg := f.hello(t, []*resumption.ClientTicket{f.ticket(t, f.e, "x")}, func(c *testkit.ClientHello) { c.Modes = []format.PSKMode{format.PSKModeKE} })
			sel, err := f.selectHello(t, msg)
			if err != nil || sel.Resumed != allow {
				t.Fatalf("resumed %v err %v", sel.Resumed, err)
			}
			if allow && sel.Mode != format.PSKModeKE {
				t.Errorf("mode %d, want psk_ke", sel.Mode)
			}
			if !allow && (sel.Examined != 0 || sel.Tickets != 0) {
				t.Errorf("examined %d tickets %d; want neither: no mode in common", sel.Examined, sel.Tickets)
			}
		})
	}
}

// TestSelectionSuiteHash: a ticket whose suite hash differs from the
// negotiated one is skipped, and the next identity is selected.
func TestSelectionSuiteHash(t *testing.T) {
	f := newTLS13Fixture(t, nil)
	rms384, err := resumption.NewResumptionMasterSecret(crypto.SHA384, bytes.Repeat([]byte{9}, 48))
	if err != nil {
		t.Fatal(err)
	}
	ti, err := f.e.NewTicketIssuer(rms384, &format.State{Version: format.VersionTLS13, CipherSuite: 0x1302, ServerName: "example.com", ALPN: "h2"})
	if err != nil {
		t.Fatal(err)
	}
	iss, err := ti.Issue()
	if err != nil {
		t.Fatal(err)
	}
	m, _ := format.ParseNewSessionTicketTLS13(iss.Message)
	t384, err := resumption.NewClientTicket(m, rms384, 0x1302, f.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	sel, err := f.selectHello(t, f.hello(t, []*resumption.ClientTicket{t384, f.ticket(t, f.e, "x")}, nil))
	if err != nil || sel.Identity != 1 || sel.Examined != 2 {
		t.Fatalf("selected %d examined %d err %v; want identity 1", sel.Identity, sel.Examined, err)
	}
}

func TestSelectionHelloRetry(t *testing.T) {
	f := newTLS13Fixture(t, nil)
	tickets := []*resumption.ClientTicket{f.ticket(t, f.e, "x")}
	ch1, hrr := []byte("\x01\x00\x00\x02hi"), []byte("\x02\x00\x00\x03hrr")
	msg := f.hello(t, tickets, func(c *testkit.ClientHello) { c.EarlyData = true })
	if err := resumption.SetBinders(msg, tickets, ch1, hrr); err != nil {
		t.Fatal(err)
	}
	ch := &ClientHelloTLS13{Message: msg, CipherSuite: testSuite, ServerName: "example.com", ALPN: "h2", ClientHello1: ch1, HelloRetryRequest: hrr}
	sel, err := f.e.SelectTLS13(context.Background(), ch)
	if err != nil || !sel.Resumed || sel.EarlyData || !errors.Is(sel.EarlyDataErr, ErrEarlyDataAfterHRR) {
		t.Fatalf("resumed %v early %v (%v) err %v", sel.Resumed, sel.EarlyData, sel.EarlyDataErr, err)
	}
	// The same binders without the HelloRetryRequest in the transcript fail.
	ch.ClientHello1, ch.HelloRetryRequest = nil, nil
	if sel, err := f.e.SelectTLS13(context.Background(), ch); sel.Alert != AlertDecryptError || !errors.Is(err, ErrBadBinder) {
		t.Fatalf("alert %v err %v; want decrypt_error", sel.Alert, err)
	}
}

func TestTicketRequest(t *testing.T) {
	tests := []struct {
		name    string
		req     *format.TicketRequest
		resume  bool
		tickets int
	}{
		{"none, full", nil, false, DefaultNumTickets},
		{"none, resumed", nil, true, 1},
		{"fewer, full", &format.TicketRequest{NewSessionCount: 1, ResumptionCount: 0}, false, 1},
		{"zero, resumed", &format.TicketRequest{NewSessionCount: 4, ResumptionCount: 0}, true, 0},
		{"more than the cap, full", &format.TicketRequest{NewSessionCount: 200, ResumptionCount: 1}, false, DefaultNumTickets},
		{"two, resumed", &format.TicketRequest{NewSessionCount: 1, ResumptionCount: 2}, true, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newTLS13Fixture(t, nil)
			var tickets []*resumption.ClientTicket
			if tt.resume {
				tickets = append(tickets, f.ticket(t, f.e, "x"))
			}
			msg := f.hello(t, tickets, func(c *testkit.ClientHello) {
				c.TicketRequest = tt.req
				if !tt.resume {
					c.PSKs = nil
				}
			})
			sel, err := f.selectHello(t, msg)
			if err != nil || sel.Resumed != tt.resume || sel.Tickets != tt.tickets {
				t.Fatalf("resumed %v tickets %d err %v; want %v, %d", sel.Resumed, sel.Tickets, err, tt.resume, tt.tickets)
			}
			if (tt.req != nil) != (sel.TicketHint != nil) || (sel.TicketHint != nil && int(sel.TicketHint.ExpectedCount) != tt.tickets) {
				t.Errorf("hint %+v", sel.TicketHint)
			}
		})
	}
}

func TestTicketIssuer(t *testing.T) {
	f := newTLS13Fixture(t, func(c *Config) { c.Lifetime = 30 * 24 * time.Hour })
	ti, err := f.e.NewTicketIssuer(f.rms, &format.State{Version: format.VersionTLS13, CipherSuite: testSuite})
	if err != nil {
		t.Fatal(err)
	}
	issued, err := ti.IssueN(3)
	if err != nil {
		t.Fatal(err)
	}
	nonces, ages, psks := map[string]bool{}, map[uint32]bool{}, map[string]bool{}
	for _, iss := range issued {
		m, err := format.ParseNewSessionTicketTLS13(iss.Message)
		if err != nil {
			t.Fatal(err)
		}
		d, err := f.e.Open(ConnInfo{Version: format.VersionTLS13}, true, iss.Ticket)
		if err != nil || !d.Resumed {
			t.Fatal(err)
		}
		if want := f.rms.PSK(m.Nonce).AppendBytes(nil); !bytes.Equal(d.Session.Secret, want) {
			t.Errorf("sealed PSK is not HKDF-Expand-Label(rms, \"resumption\", nonce)")
		}
		if m.Lifetime != 604800 {
			t.Errorf("lifetime %d, want the 604800 s cap", m.Lifetime)
		}
		if max, ok := m.MaxEarlyData(); !ok || max != 16384 {
			t.Errorf("max_early_data %d %v", max, ok)
		}
		nonces[string(m.Nonce)], ages[m.AgeAdd], psks[string(d.Session.Secret)] = true, true, true
	}
	if len(nonces) != 3 || len(ages) != 3 || len(psks) != 3 {
		t.Errorf("%d nonces, %d age_adds, %d PSKs for 3 tickets; want all distinct", len(nonces), len(ages), len(psks))
	}
	if _, err := f.e.NewTicketIssuer(f.rms, &format.State{Version: format.VersionTLS12}); err == nil {
		t.Error("a TLS 1.2 ticket issuer was accepted")
	}
}

// TestSingleUseTickets: with SingleUseTickets a ticket resumes once; the
// second offer gets a full handshake, in TLS 1.3 and TLS 1.2.
func TestSingleUseTickets(t *testing.T) {
	f := newTLS13Fixture(t, func(c *Config) { c.SingleUseTickets = true })
	msg := f.hello(t, []*resumption.ClientTicket{f.ticket(t, f.e, "x")}, nil)
	if sel, err := f.selectHello(t, msg); err != nil || !sel.Resumed {
		t.Fatalf("first use: resumed %v err %v", sel.Resumed, err)
	}
	sel, err := f.selectHello(t, msg)
	if err != nil || sel.Resumed || !errors.Is(sel.Fallback, ErrTicketReused) || sel.Tickets != f.e.NumTickets() {
		t.Fatalf("second use: resumed %v fallback %v tickets %d err %v", sel.Resumed, sel.Fallback, sel.Tickets, err)
	}
	ticket := issue(t, f.e, format.VersionTLS12)
	for i, want := range []bool{true, false} {
		d, err := f.e.Open(conn(format.VersionTLS12), true, ticket)
		if err != nil || d.Resumed != want {
			t.Fatalf("TLS 1.2 use %d: resumed %v err %v", i+1, d.Resumed, err)
		}
	}
	if _, err := New(&Config{Keys: f.e.keys, SingleUseTickets: true}); err == nil {
		t.Error("SingleUseTickets without a replay store was accepted")
	}
}

// TestSelectDeviations holds the engine to the RFC where OpenSSL 3.0 does
// otherwise (docs/decisions.md, "Where tlsticket differs from OpenSSL 3.0").
func TestSelectDeviations(t *testing.T) {
	f := newTLS13Fixture(t, nil)
	t.Run("empty-identity-list", func(t *testing.T) {
		// identities<7..2^16-1> empty, one 32-byte binder.
		raw := append([]byte{0, 0, 0, 33, 32}, make([]byte, 32)...)
		msg := f.hello(t, nil, func(c *testkit.ClientHello) { c.RawPSK = raw })
		sel, err := f.selectHello(t, msg)
		if sel.Alert != AlertDecodeError || err == nil || sel.Resumed {
			t.Fatalf("alert %v err %v resumed %v; want decode_error (OpenSSL 3.0: full handshake)", sel.Alert, err, sel.Resumed)
		}
	})
	t.Run("bad-binder", func(t *testing.T) {
		msg := f.hello(t, []*resumption.ClientTicket{f.ticket(t, f.e, "x")}, nil)
		corruptBinder(t, msg, 0)
		sel, err := f.selectHello(t, msg)
		if sel.Alert != AlertDecryptError || !errors.Is(err, ErrBadBinder) {
			t.Fatalf("alert %v err %v; want decrypt_error (OpenSSL 3.0: illegal_parameter)", sel.Alert, err)
		}
	})
	t.Run("short-ticket-key-name", func(t *testing.T) {
		var names [][]byte
		e, err := New(&Config{Keys: seal.NewKeyring(testRing(t, testKey(t, "k"))), DecryptTicket: func(ti TicketInfo) status.Return {
			names = append(names, ti.KeyName)
			return status.Default(ti.Status)
		}})
		if err != nil {
			t.Fatal(err)
		}
		full := issue(t, e, format.VersionTLS12)
		for _, n := range []int{1, 5, 17} {
			d, err := e.Open(conn(format.VersionTLS12), true, full[:n])
			if err != nil || d.Status != status.NoDecrypt || d.KeyName != nil {
				t.Errorf("%d-byte ticket: status %v key name %x err %v; want NoDecrypt, no key name", n, d.Status, d.KeyName, err)
			}
		}
		if len(names) != 3 || names[0] != nil || names[1] != nil || names[2] != nil {
			t.Errorf("dec_cb saw key names %x, want none (OpenSSL 3.0: the first bytes)", names)
		}
	})
}
