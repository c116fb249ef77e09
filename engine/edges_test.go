package engine

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/tlsticket/tlsticket/format"
	"github.com/tlsticket/tlsticket/seal"
	"github.com/tlsticket/tlsticket/status"
)

// TestSessionAge: a session renewed through Issue keeps the time of its
// authentication, so it cannot be renewed for ever: tickets never outlive
// MaxSessionAge, a ticket of a session older than that falls back to a full
// handshake, and Issue refuses such a session (issue: renewals that outlive
// authentication).
func TestSessionAge(t *testing.T) {
	for _, v := range []uint16{format.VersionTLS12, format.VersionTLS13} {
		t.Run(versionLabel(v), func(t *testing.T) {
			clock := newFakeClock()
			e, err := New(&Config{Keys: seal.NewKeyring(testRing(t, testKey(t, "k"))), Time: clock.Now,
				Lifetime: 10 * time.Hour, MaxSessionAge: 24 * time.Hour, RenewTLS13: RenewOnOldKey})
			if err != nil {
				t.Fatal(err)
			}
			start := clock.Now()
			iss, err := e.Issue(testSession(v), nonceFor(v, 0))
			if err != nil || iss.Lifetime != 10*3600 {
				t.Fatalf("first ticket: lifetime %d, %v", iss.Lifetime, err)
			}
			// Renew every 9 hours, as a stack that renews through Issue does.
			for i := 1; ; i++ {
				clock.Advance(9 * time.Hour)
				d, err := e.Open(conn(v), true, iss.Ticket)
				if err != nil {
					t.Fatal(err)
				}
				if !d.Resumed {
					if !errors.Is(d.Fallback, ErrExpired) && !errors.Is(d.Fallback, ErrSessionExpired) {
						t.Fatalf("renewal %d: fallback %v", i, d.Fallback)
					}
					if age := clock.Now().Sub(start); age <= 24*time.Hour {
						t.Fatalf("renewal %d refused at session age %v, within MaxSessionAge", i, age)
					}
					break
				}
				if !d.Session.AuthenticatedAt.Equal(start) {
					t.Fatalf("renewal %d: AuthenticatedAt %v, want %v", i, d.Session.AuthenticatedAt, start)
				}
				s := d.Session
				iss, err = e.Issue(&s, nonceFor(v, i))
				if errors.Is(err, ErrSessionTooOld) {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				end := clock.Now().Add(time.Duration(iss.Lifetime) * time.Second)
				if end.After(start.Add(24 * time.Hour)) {
					t.Fatalf("renewal %d: ticket good until %v, after the session's end %v", i, end, start.Add(24*time.Hour))
				}
				if i > 10 {
					t.Fatal("the session was renewed for ever")
				}
			}
			// A state whose authentication is too old gets no ticket.
			old := testSession(v)
			old.AuthenticatedAt = clock.Now().Add(-25 * time.Hour)
			if _, err := e.Issue(old, nonceFor(v, 99)); !errors.Is(err, ErrSessionTooOld) {
				t.Errorf("Issue of a 25-hour-old session: %v, want ErrSessionTooOld", err)
			}
		})
	}
}

// TestExtendedMasterSecret applies RFC 7627, Section 5.3 to TLS 1.2
// resumption.
func TestExtendedMasterSecret(t *testing.T) {
	tests := []struct {
		name       string
		sessionEMS bool
		client     EMS
		resumed    bool
		fallback   error
		alert      Alert
	}{
		{"both", true, EMSOffered, true, nil, AlertNone},
		{"session EMS, client drops it: abort", true, EMSNotOffered, false, nil, AlertHandshakeFailure},
		{"session without, client offers: full handshake", false, EMSOffered, false, ErrEMSMismatch, AlertNone},
		{"neither: legacy resumption, as crypto/tls", false, EMSNotOffered, true, nil, AlertNone},
		{"unchecked by the engine", true, EMSUnchecked, true, nil, AlertNone},
	}
	e, err := New(&Config{Keys: seal.NewKeyring(testRing(t, testKey(t, "k")))})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := testSession(format.VersionTLS12)
			s.ExtendedMasterSecret = tt.sessionEMS
			iss, err := e.Issue(s, nil)
			if err != nil {
				t.Fatal(err)
			}
			c := conn(format.VersionTLS12)
			c.EMS = tt.client
			d, err := e.Open(c, true, iss.Ticket)
			if d.Resumed != tt.resumed || !errors.Is(d.Fallback, tt.fallback) || (tt.fallback == nil && d.Fallback != nil) || d.Alert != tt.alert {
				t.Errorf("resumed %v fallback %v alert %v; want %v %v %v", d.Resumed, d.Fallback, d.Alert, tt.resumed, tt.fallback, tt.alert)
			}
			if (err != nil) != (tt.alert != AlertNone) || (err != nil && !errors.Is(err, ErrEMSDowngrade)) {
				t.Errorf("error %v", err)
			}
		})
	}
}

// TestServerNameComparison: server names match ASCII-case-insensitively
// only. Unicode folding would let a name with a KELVIN SIGN match a ticket
// for "example.cok".
func TestServerNameComparison(t *testing.T) {
	tests := []struct {
		ticket, conn string
		match        bool
	}{
		{"example.com", "EXAMPLE.com", true},
		{"example.cok", "example.co\u212a", false},
		{"example.co\u212a", "example.cok", false},
		{"bücher.example", "BÜCHER.example", false},
		{"bücher.example", "bücher.example", true},
		{"example.com", "example.com.", false},
		{"", "", true},
	}
	e, err := New(&Config{Keys: seal.NewKeyring(testRing(t, testKey(t, "k")))})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		s := testSession(format.VersionTLS12)
		s.ServerName = tt.ticket
		iss, err := e.Issue(s, nil)
		if err != nil {
			t.Fatal(err)
		}
		c := conn(format.VersionTLS12)
		c.ServerName = tt.conn
		d, err := e.Open(c, true, iss.Ticket)
		if err != nil || d.Resumed != tt.match || (!tt.match && !errors.Is(d.Fallback, ErrServerNameMismatch)) {
			t.Errorf("ticket for %q on %q: resumed %v fallback %v err %v, want match %v", tt.ticket, tt.conn, d.Resumed, d.Fallback, err, tt.match)
		}
	}
}

// TestRenewTLS13: with RenewOnOldKey a TLS 1.3 ticket under the key that
// seals has status Success (no new ticket by default; one with UseRenew),
// and under a decrypt-only key SuccessRenew; RenewAlways, the default,
// gives SuccessRenew to both, as OpenSSL's built-in keys do.
func TestRenewTLS13(t *testing.T) {
	v := format.VersionTLS13
	old, cur := testKey(t, "old"), testKey(t, "cur")
	oldE, err := New(&Config{Keys: seal.NewKeyring(testRing(t, old))})
	if err != nil {
		t.Fatal(err)
	}
	oldTicket := issue(t, oldE, v)
	tests := []struct {
		policy  Renewal
		ret     *status.Return // nil: the default
		old     bool
		status  status.Status
		tickets int
	}{
		{RenewAlways, nil, false, status.SuccessRenew, 1},
		{RenewAlways, nil, true, status.SuccessRenew, 1},
		{RenewOnOldKey, nil, false, status.Success, 0},
		{RenewOnOldKey, ptr(status.UseRenew), false, status.Success, 1},
		{RenewOnOldKey, nil, true, status.SuccessRenew, 1},
	}
	for _, tt := range tests {
		cfg := &Config{Keys: seal.NewKeyring(testRing(t, cur, old)), RenewTLS13: tt.policy}
		if tt.ret != nil {
			cfg.DecryptTicket = func(TicketInfo) status.Return { return *tt.ret }
		}
		e, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		ticket := oldTicket
		if !tt.old {
			ticket = issue(t, e, v)
		}
		d, err := e.Open(ConnInfo{Version: v, ServerName: "example.com", ALPN: "h2"}, true, ticket)
		if err != nil || !d.Resumed || d.Status != tt.status || d.Tickets != tt.tickets {
			t.Errorf("policy %d old key %v: status %v resumed %v tickets %d err %v; want %v, %d tickets",
				tt.policy, tt.old, d.Status, d.Resumed, d.Tickets, err, tt.status, tt.tickets)
		}
	}
	if _, err := New(&Config{Keys: seal.NewKeyring(testRing(t, cur)), RenewTLS13: 7}); err == nil {
		t.Error("an unknown renewal policy was accepted")
	}
}

func ptr[T any](v T) *T { return &v }

// TestSkipTicket: a GenerateTicket callback that returns ErrSkipTicket sends
// no ticket and fails nothing: TLS 1.2 gets a NewSessionTicket with an empty
// ticket (RFC 5077, Section 3.3), TLS 1.3 nothing.
func TestSkipTicket(t *testing.T) {
	e, err := New(&Config{Keys: seal.NewKeyring(testRing(t, testKey(t, "k"))),
		GenerateTicket: func(*format.State) error { return ErrSkipTicket }})
	if err != nil {
		t.Fatal(err)
	}
	iss, err := e.Issue(testSession(format.VersionTLS12), nil)
	if err != nil || !iss.Skipped || len(iss.Ticket) != 0 {
		t.Fatalf("TLS 1.2: %+v, %v", iss, err)
	}
	m, err := format.ParseNewSessionTicketTLS12(iss.Message)
	if err != nil || len(m.Ticket) != 0 {
		t.Errorf("TLS 1.2 message %x: %v", iss.Message, err)
	}
	iss, err = e.Issue(testSession(format.VersionTLS13), nonceFor(format.VersionTLS13, 0))
	if err != nil || !iss.Skipped || iss.Ticket != nil || iss.Message != nil {
		t.Errorf("TLS 1.3: %+v, %v", iss, err)
	}
	f := newTLS13Fixture(t, func(c *Config) { c.GenerateTicket = func(*format.State) error { return ErrSkipTicket } })
	ti, err := f.e.NewTicketIssuer(f.rms, &format.State{Version: format.VersionTLS13, CipherSuite: testSuite})
	if err != nil {
		t.Fatal(err)
	}
	if out, err := ti.IssueN(2); err != nil || len(out) != 0 {
		t.Errorf("IssueN with every ticket skipped: %d tickets, %v", len(out), err)
	}
	if m := e.Metrics(); m.Issued["TLS1.2"] != 0 || m.Issued["TLS1.3"] != 0 {
		t.Errorf("skipped tickets counted as issued: %v", m.Issued)
	}
}

// TestTicketIssuerAppData: the tickets of one connection share one session,
// as OpenSSL's num_tickets tickets do: each GenerateTicket call sees the app
// data that the previous one set.
func TestTicketIssuerAppData(t *testing.T) {
	var seen []string
	f := newTLS13Fixture(t, func(c *Config) {
		c.GenerateTicket = func(s *format.State) error {
			seen = append(seen, string(s.AppData))
			s.AppData = append(bytes.Clone(s.AppData), byte('a'+len(seen)-1))
			return nil
		}
	})
	ti, err := f.e.NewTicketIssuer(f.rms, &format.State{Version: format.VersionTLS13, CipherSuite: testSuite, AppData: []byte("x")})
	if err != nil {
		t.Fatal(err)
	}
	issued, err := ti.IssueN(3)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"x", "xa", "xab"}; len(seen) != 3 || seen[0] != want[0] || seen[1] != want[1] || seen[2] != want[2] {
		t.Errorf("gen_cb saw %q, want %q", seen, want)
	}
	d, err := f.e.Open(ConnInfo{Version: format.VersionTLS13}, true, issued[2].Ticket)
	if err != nil || !d.Resumed || string(d.Session.AppData) != "xabc" {
		t.Errorf("third ticket's app data %q, err %v", d.Session.AppData, err)
	}
}

// TestLifetimeClampedToKey: a ticket's advertised lifetime never outlives
// the key that sealed it: the Keyring of a schedule whose sealing key
// retires in 30 minutes gives 2-hour tickets a 30-minute lifetime.
func TestLifetimeClampedToKey(t *testing.T) {
	clock := newFakeClock()
	now := clock.Now()
	sched, err := seal.NewSchedule(seal.ScheduledKey{Key: testKey(t, "k"), Phases: seal.Phases{
		Announce: now.Add(-2 * time.Hour), Activate: now.Add(-time.Hour),
		DecryptOnly: now.Add(10 * time.Minute), Retire: now.Add(30 * time.Minute),
	}})
	if err != nil {
		t.Fatal(err)
	}
	ring, err := sched.RingAt(now, nil)
	if err != nil {
		t.Fatal(err)
	}
	e, err := New(&Config{Keys: seal.NewKeyring(ring), Time: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []uint16{format.VersionTLS12, format.VersionTLS13} {
		iss, err := e.Issue(testSession(v), nonceFor(v, 0))
		if err != nil || iss.Lifetime != 30*60 {
			t.Errorf("%s: lifetime %d, %v; want 1800 (the key retires then)", versionLabel(v), iss.Lifetime, err)
		}
	}
}

// plainKeys hides the in-place sealing of a Keyring (SealedSize and
// CiphertextOffset), as a Keys of another implementation (a KMS) would not
// have it.
type plainKeys struct{ k *seal.Keyring }

func (p plainKeys) Seal(dst, pt, ad []byte) ([]byte, error) { return p.k.Seal(dst, pt, ad) }
func (p plainKeys) OpenKey(dst, tk, ad []byte) ([]byte, seal.Opened, error) {
	return p.k.OpenKey(dst, tk, ad)
}

// TestIssueWithoutSealedSize: Issue seals into the message in place when
// the Keys can, and appends otherwise; both give the same
// message around the ticket, and the ticket opens.
func TestIssueWithoutSealedSize(t *testing.T) {
	keys := seal.NewKeyring(testRing(t, testKey(t, "k")))
	for _, k := range []Keys{keys, plainKeys{keys}} {
		e, err := New(&Config{Keys: k, MaxEarlyData: 1024})
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range []uint16{format.VersionTLS12, format.VersionTLS13} {
			iss, err := e.Issue(testSession(v), nonceFor(v, 3))
			if err != nil {
				t.Fatal(err)
			}
			var got []byte
			if v == format.VersionTLS12 {
				m, err := format.ParseNewSessionTicketTLS12(iss.Message)
				if err != nil {
					t.Fatal(err)
				}
				got = m.Ticket
			} else {
				m, err := format.ParseNewSessionTicketTLS13(iss.Message)
				if err != nil {
					t.Fatal(err)
				}
				got = m.Ticket
			}
			if !bytes.Equal(got, iss.Ticket) {
				t.Errorf("%T %s: the message carries another ticket", k, versionLabel(v))
			}
			if d, err := e.Open(conn(v), true, iss.Ticket); err != nil || !d.Resumed {
				t.Errorf("%T %s: resumed %v, %v", k, versionLabel(v), d.Resumed, err)
			}
		}
	}
}

// changingKeys answers SealedSize and CiphertextOffset for one ring and
// seals with another, of an AEAD with a longer nonce: the primary key
// changed between the two calls.
type changingKeys struct {
	sized  *seal.Keyring
	sealer *seal.Keyring
}

func (c changingKeys) SealedSize(n int) int                    { return c.sized.SealedSize(n) }
func (c changingKeys) CiphertextOffset() int                   { return c.sized.CiphertextOffset() }
func (c changingKeys) Seal(dst, pt, ad []byte) ([]byte, error) { return c.sealer.Seal(dst, pt, ad) }
func (c changingKeys) OpenKey(dst, tk, ad []byte) ([]byte, seal.Opened, error) {
	return c.sealer.OpenKey(dst, tk, ad)
}

// TestIssueKeyChangesMidway: when the sealing key's AEAD changes between
// sizing the in-place buffer and sealing, Issue still returns a ticket that
// opens, in a message that carries it.
func TestIssueKeyChangesMidway(t *testing.T) {
	xk, err := seal.NewKey(seal.XChaCha20Poly1305, bytes.Repeat([]byte{9, 8}, 16))
	if err != nil {
		t.Fatal(err)
	}
	keys := changingKeys{sized: seal.NewKeyring(testRing(t, testKey(t, "k"))), sealer: seal.NewKeyring(testRing(t, xk))}
	e, err := New(&Config{Keys: keys, MaxEarlyData: 1024})
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []uint16{format.VersionTLS12, format.VersionTLS13} {
		iss, err := e.Issue(testSession(v), nonceFor(v, 1))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains(iss.Message, iss.Ticket) {
			t.Errorf("%s: the message does not carry the ticket", versionLabel(v))
		}
		if h, err := seal.ParseHeader(iss.Ticket); err != nil || h.AEAD != seal.XChaCha20Poly1305 {
			t.Errorf("%s: ticket header %+v, %v; want XChaCha20-Poly1305", versionLabel(v), h, err)
		}
		if d, err := e.Open(conn(v), true, iss.Ticket); err != nil || !d.Resumed {
			t.Errorf("%s: resumed %v, %v", versionLabel(v), d.Resumed, err)
		}
	}
}

// TestDroppedSessionWiped: a session the decision does not resume (the
// callback ignored it, or a check after the callback failed) has its secret
// wiped before Open returns, so a callback that kept it, against the
// documentation, holds zeros.
func TestDroppedSessionWiped(t *testing.T) {
	for _, tt := range []struct {
		name  string
		ret   status.Return
		after time.Duration // clock advance before Open
	}{
		{"ignored", status.IgnoreRenew, 0},
		{"expired", status.UseRenew, 30 * 24 * time.Hour},
	} {
		for _, v := range []uint16{format.VersionTLS12, format.VersionTLS13} {
			clock := newFakeClock()
			var kept []byte
			e, err := New(&Config{
				Keys: seal.NewKeyring(testRing(t, testKey(t, "k"))),
				Time: clock.Now,
				DecryptTicket: func(ti TicketInfo) status.Return {
					kept = ti.Session.Secret
					return tt.ret
				},
			})
			if err != nil {
				t.Fatal(err)
			}
			s := testSession(v)
			iss, err := e.Issue(s, nonceFor(v, 0))
			if err != nil {
				t.Fatal(err)
			}
			clock.Advance(tt.after)
			d, err := e.Open(conn(v), true, iss.Ticket)
			if err != nil || d.Resumed || len(kept) == 0 {
				t.Fatalf("%s %s: resumed %v, err %v, callback saw %d secret bytes", tt.name, versionLabel(v), d.Resumed, err, len(kept))
			}
			if !bytes.Equal(kept, make([]byte, len(kept))) || d.Session.Secret != nil {
				t.Errorf("%s %s: the dropped session's secret is still there: %x", tt.name, versionLabel(v), kept)
			}
		}
	}
}
