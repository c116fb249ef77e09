package engine

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tlsticket/tlsticket/format"
	"github.com/tlsticket/tlsticket/seal"
	"github.com/tlsticket/tlsticket/status"
)

// ticketState is a kind of presented ticket in the engine matrix.
type ticketState struct {
	name string
	// make returns (offered, ticket) for version v, given the engine under
	// test, a decrypt-only key of its ring and its clock.
	make func(t *testing.T, e *Engine, old *seal.Key, clock *fakeClock, v uint16) (bool, []byte)
	// status is the status the engine must give it (for version v);
	// ok is false when no callback may be called.
	status  func(v uint16) (st status.Status, ok bool)
	expired bool
	only12  bool
}

var ticketStates = []ticketState{
	{name: "valid",
		make: func(t *testing.T, e *Engine, _ *seal.Key, _ *fakeClock, v uint16) (bool, []byte) {
			return true, issue(t, e, v)
		},
		status: func(v uint16) (status.Status, bool) {
			if v == format.VersionTLS13 {
				return status.SuccessRenew, true
			}
			return status.Success, true
		}},
	{name: "decrypt-only-key",
		make: func(t *testing.T, e *Engine, old *seal.Key, _ *fakeClock, v uint16) (bool, []byte) {
			return true, ticketWithStatus(t, e, v, status.SuccessRenew, old)
		},
		status: func(uint16) (status.Status, bool) { return status.SuccessRenew, true }},
	{name: "unknown-key",
		make: func(t *testing.T, e *Engine, old *seal.Key, _ *fakeClock, v uint16) (bool, []byte) {
			return true, ticketWithStatus(t, e, v, status.NoDecrypt, old)
		},
		status: func(uint16) (status.Status, bool) { return status.NoDecrypt, true }},
	{name: "bad-auth",
		make: func(t *testing.T, e *Engine, _ *seal.Key, _ *fakeClock, v uint16) (bool, []byte) {
			tk := issue(t, e, v)
			tk[len(tk)-1] ^= 0x80
			return true, tk
		},
		status: func(uint16) (status.Status, bool) { return status.NoDecrypt, true }},
	{name: "expired", expired: true,
		make: func(t *testing.T, e *Engine, _ *seal.Key, clock *fakeClock, v uint16) (bool, []byte) {
			tk := issue(t, e, v)
			clock.Advance(DefaultLifetime)
			return true, tk
		},
		status: func(v uint16) (status.Status, bool) {
			if v == format.VersionTLS13 {
				return status.SuccessRenew, true
			}
			return status.Success, true
		}},
	{name: "empty", only12: true,
		make:   func(*testing.T, *Engine, *seal.Key, *fakeClock, uint16) (bool, []byte) { return true, []byte{} },
		status: func(uint16) (status.Status, bool) { return status.Empty, true }},
	{name: "none-offered",
		make:   func(*testing.T, *Engine, *seal.Key, *fakeClock, uint16) (bool, []byte) { return false, nil },
		status: func(uint16) (status.Status, bool) { return 0, false }},
}

// TestEngineMatrix runs every version x ticket state x callback return
// through Engine.Open. The expected outcome comes from docs/decisions.md,
// plus the expiry check for expired tickets.
func TestEngineMatrix(t *testing.T) {
	rows := readDecisionTable(t)
	type callback struct {
		name string
		ret  status.Return
		set  bool
	}
	callbacks := []callback{{name: "no-callback"}}
	for _, r := range []status.Return{status.Abort, status.Ignore, status.IgnoreRenew, status.Use, status.UseRenew, 7} {
		callbacks = append(callbacks, callback{name: r.String(), ret: r, set: true})
	}
	for _, v := range []uint16{format.VersionTLS12, format.VersionTLS13} {
		for _, ts := range ticketStates {
			if ts.only12 && v != format.VersionTLS12 {
				continue
			}
			for _, cb := range callbacks {
				t.Run(fmt.Sprintf("%s/%s/%s", versionName(v), ts.name, cb.name), func(t *testing.T) {
					clock := newFakeClock()
					old := testKey(t, "old")
					var seen []status.Status
					genCalls := 0
					cfg := &Config{
						Keys: seal.NewKeyring(testRing(t, testKey(t, "primary"), old)),
						Time: clock.Now,
						GenerateTicket: func(s *format.State) error {
							genCalls++
							return nil
						},
					}
					if cb.set {
						cfg.DecryptTicket = func(ti TicketInfo) status.Return {
							seen = append(seen, ti.Status)
							return cb.ret
						}
					}
					e, err := New(cfg)
					if err != nil {
						t.Fatal(err)
					}
					offered, ticket := ts.make(t, e, old, clock, v)
					gen0 := genCalls
					d, err := e.Open(conn(v), offered, ticket)

					if genCalls != gen0 {
						t.Errorf("Open called GenerateTicket %d times", genCalls-gen0)
					}
					st, examined := ts.status(v)
					if !examined {
						if len(seen) != 0 || d.Callback || err != nil || d.Resumed {
							t.Fatalf("no ticket offered: callback %v, err %v, resumed %v", seen, err, d.Resumed)
						}
						want := 0
						if v == format.VersionTLS13 {
							want = e.NumTickets()
						}
						if d.Tickets != want {
							t.Errorf("tickets %d, want %d", d.Tickets, want)
						}
						return
					}
					ret := status.Default(st)
					if cb.set {
						ret = cb.ret
						if len(seen) != 1 || seen[0] != st {
							t.Errorf("callback saw %v, want [%v]", seen, st)
						}
					}
					if d.Status != st || d.Return != ret {
						t.Errorf("decision (%v, %v), want (%v, %v)", d.Status, d.Return, st, ret)
					}
					row := lookupRow(t, rows, v, st, ret)
					wantResumed, wantTickets := row.resumed, row.wantTickets(e)
					if ts.expired && row.resumed {
						wantResumed, wantTickets = false, lookupRow(t, rows, v, status.NoDecrypt, status.IgnoreRenew).wantTickets(e)
						if !errors.Is(d.Fallback, ErrExpired) {
							t.Errorf("fallback %v, want ErrExpired", d.Fallback)
						}
					}
					if d.Resumed != wantResumed || d.Tickets != wantTickets || (err != nil) != (row.outcome == "abort") {
						t.Errorf("resumed %v tickets %d err %v; want resumed %v tickets %d abort %v",
							d.Resumed, d.Tickets, err, wantResumed, wantTickets, row.outcome == "abort")
					}
				})
			}
		}
	}
}

func versionName(v uint16) string {
	if v == format.VersionTLS13 {
		return "TLSv13"
	}
	return "TLSv12"
}

func TestTLS13EmptyIdentity(t *testing.T) {
	calls := 0
	e, err := New(&Config{
		Keys: seal.NewKeyring(testRing(t, testKey(t, "k"))),
		DecryptTicket: func(TicketInfo) status.Return {
			calls++
			return status.IgnoreRenew
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	d, err := e.Open(conn(format.VersionTLS13), true, []byte{})
	if !errors.Is(err, ErrEmptyIdentity) || d.Alert != AlertDecodeError || calls != 0 {
		t.Fatalf("got %v, alert %v, %d callback calls; want ErrEmptyIdentity, decode_error, 0", err, d.Alert, calls)
	}
}

// TestTamperedTickets checks that every single-bit flip and every truncation
// of a sealed ticket gives NoDecrypt, without a panic.
func TestTamperedTickets(t *testing.T) {
	for _, v := range []uint16{format.VersionTLS12, format.VersionTLS13} {
		t.Run(versionName(v), func(t *testing.T) {
			e, err := New(&Config{Keys: seal.NewKeyring(testRing(t, testKey(t, "k")))})
			if err != nil {
				t.Fatal(err)
			}
			ticket := issue(t, e, v)
			check := func(what string, tk []byte) {
				d, err := e.Open(conn(v), true, tk)
				if len(tk) == 0 && v == format.VersionTLS13 {
					if d.Alert != AlertDecodeError {
						t.Errorf("%s: alert %v, want decode_error", what, d.Alert)
					}
					return
				}
				if len(tk) == 0 {
					if d.Status != status.Empty {
						t.Errorf("%s: status %v, want Empty", what, d.Status)
					}
					return
				}
				if err != nil || d.Status != status.NoDecrypt || d.Resumed {
					t.Errorf("%s: status %v resumed %v err %v, want NoDecrypt", what, d.Status, d.Resumed, err)
				}
			}
			for i := 0; i < len(ticket)*8; i++ {
				tk := bytes.Clone(ticket)
				tk[i/8] ^= 1 << (i % 8)
				check(fmt.Sprintf("bit %d", i), tk)
			}
			for n := 0; n < len(ticket); n++ {
				check(fmt.Sprintf("truncated to %d", n), bytes.Clone(ticket[:n]))
			}
			check("extended", append(bytes.Clone(ticket), 0))
		})
	}
}

// TestAppDataRoundTrip checks that application data set in GenerateTicket
// comes back in DecryptTicket and in the resumed session.
func TestAppDataRoundTrip(t *testing.T) {
	for _, v := range []uint16{format.VersionTLS12, format.VersionTLS13} {
		t.Run(versionName(v), func(t *testing.T) {
			want := bytes.Repeat([]byte("app-data."), 100)
			var got []byte
			e, err := New(&Config{
				Keys: seal.NewKeyring(testRing(t, testKey(t, "k"))),
				GenerateTicket: func(s *format.State) error {
					s.AppData = want
					return nil
				},
				DecryptTicket: func(ti TicketInfo) status.Return {
					s, st := ti.Session, ti.Status
					if st.Opened() {
						got = bytes.Clone(s.AppData)
					}
					return status.Default(st)
				},
			})
			if err != nil {
				t.Fatal(err)
			}
			d, err := e.Open(conn(v), true, issue(t, e, v))
			if err != nil || !d.Resumed {
				t.Fatalf("resumed %v, err %v", d.Resumed, err)
			}
			if !bytes.Equal(got, want) || !bytes.Equal(d.Session.AppData, want) {
				t.Errorf("app data: callback got %q, session %q; want %q", got, d.Session.AppData, want)
			}
		})
	}
}

// TestRotation checks that rotating the primary turns Success into
// SuccessRenew, and removing the key turns it into NoDecrypt.
func TestRotation(t *testing.T) {
	k1, k2 := testKey(t, "k1"), testKey(t, "k2")
	keys := seal.NewKeyring(testRing(t, k1))
	var names [][]byte
	e, err := New(&Config{Keys: keys, DecryptTicket: func(ti TicketInfo) status.Return {
		names = append(names, bytes.Clone(ti.KeyName))
		return status.Default(ti.Status)
	}})
	if err != nil {
		t.Fatal(err)
	}
	ticket := issue(t, e, format.VersionTLS12)
	steps := []struct {
		name    string
		ring    *seal.Ring
		want    status.Status
		resumed bool
		tickets int
	}{
		{"primary", testRing(t, k1), status.Success, true, 0},
		{"rotated", testRing(t, k2, k1), status.SuccessRenew, true, 1},
		{"removed", testRing(t, k2), status.NoDecrypt, false, 1},
	}
	for _, s := range steps {
		keys.Store(s.ring)
		d, err := e.Open(conn(format.VersionTLS12), true, ticket)
		if err != nil || d.Status != s.want || d.Resumed != s.resumed || d.Tickets != s.tickets {
			t.Errorf("%s: status %v resumed %v tickets %d err %v; want %v %v %d", s.name, d.Status, d.Resumed, d.Tickets, err, s.want, s.resumed, s.tickets)
		}
	}
	name := k1.Name()
	for i, n := range names {
		if !bytes.Equal(n, name[:]) {
			t.Errorf("callback %d got key name %x, want %x", i, n, name)
		}
	}
}

func TestChecksAfterCallback(t *testing.T) {
	tests := []struct {
		name  string
		setup func(clock *fakeClock, cfg *Config)
		v     uint16 // version to open with (tickets are TLS 1.2)
		want  error
		conn  *ConnInfo // if set, Open with it instead of conn(v)
	}{
		{"ok", func(*fakeClock, *Config) {}, format.VersionTLS12, nil, nil},
		{"version", func(*fakeClock, *Config) {}, format.VersionTLS13, ErrVersionMismatch, nil},
		{"expired", func(c *fakeClock, _ *Config) { c.Advance(DefaultLifetime) }, format.VersionTLS12, ErrExpired, nil},
		{"just-valid", func(c *fakeClock, _ *Config) { c.Advance(DefaultLifetime - time.Second) }, format.VersionTLS12, nil, nil},
		{"future", func(c *fakeClock, _ *Config) { c.Advance(-DefaultMaxClockSkew - time.Second) }, format.VersionTLS12, ErrNotYetValid, nil},
		{"binding", func(_ *fakeClock, cfg *Config) { cfg.Binding = []byte("other context") }, format.VersionTLS12, ErrBindingMismatch, nil},
		{"conn-ok", func(*fakeClock, *Config) {}, format.VersionTLS12, nil, &ConnInfo{Version: format.VersionTLS12, ServerName: "EXAMPLE.com", ALPN: "h2"}},
		{"server-name", func(*fakeClock, *Config) {}, format.VersionTLS12, ErrServerNameMismatch, &ConnInfo{Version: format.VersionTLS12, ServerName: "other.example", ALPN: "h2"}},
		{"no-server-name", func(*fakeClock, *Config) {}, format.VersionTLS12, ErrServerNameMismatch, &ConnInfo{Version: format.VersionTLS12, ALPN: "h2"}},
		{"alpn", func(*fakeClock, *Config) {}, format.VersionTLS12, ErrALPNMismatch, &ConnInfo{Version: format.VersionTLS12, ServerName: "example.com", ALPN: "http/1.1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := newFakeClock()
			keys := seal.NewKeyring(testRing(t, testKey(t, "k")))
			issuer, err := New(&Config{Keys: keys, Time: clock.Now, Binding: []byte("context")})
			if err != nil {
				t.Fatal(err)
			}
			ticket := issue(t, issuer, format.VersionTLS12)
			cfg := &Config{Keys: keys, Time: clock.Now, Binding: []byte("context")}
			tt.setup(clock, cfg)
			e, err := New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			var d Decision
			if tt.conn != nil {
				d, err = e.Open(*tt.conn, true, ticket)
			} else {
				d, err = e.Open(conn(tt.v), true, ticket)
			}
			if err != nil || !errors.Is(d.Fallback, tt.want) || (tt.want == nil) != d.Resumed {
				t.Fatalf("fallback %v resumed %v err %v; want %v", d.Fallback, d.Resumed, err, tt.want)
			}
			if tt.want != nil {
				want := 1
				if tt.v == format.VersionTLS13 {
					want = e.NumTickets()
				}
				if d.Tickets != want {
					t.Errorf("tickets %d, want %d", d.Tickets, want)
				}
			}
		})
	}
}

func TestIssueTLS13(t *testing.T) {
	e, err := New(&Config{
		Keys:         seal.NewKeyring(testRing(t, testKey(t, "k"))),
		Lifetime:     30 * 24 * time.Hour,
		MaxEarlyData: 16384,
	})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[uint32]bool{}
	for i := 0; i < 8; i++ {
		iss, err := e.Issue(testSession(format.VersionTLS13), []byte{byte(i)})
		if err != nil {
			t.Fatal(err)
		}
		m, err := format.ParseNewSessionTicketTLS13(iss.Message)
		if err != nil {
			t.Fatal(err)
		}
		if m.Lifetime != 604800 || iss.Lifetime != 604800 {
			t.Errorf("lifetime %d, want the 604800 s cap", m.Lifetime)
		}
		if m.AgeAdd != iss.AgeAdd || seen[m.AgeAdd] {
			t.Errorf("age_add %#x repeated or not in the message", m.AgeAdd)
		}
		seen[m.AgeAdd] = true
		if !bytes.Equal(m.Nonce, []byte{byte(i)}) || !bytes.Equal(m.Ticket, iss.Ticket) {
			t.Errorf("nonce %x ticket match %v", m.Nonce, bytes.Equal(m.Ticket, iss.Ticket))
		}
		if max, ok := m.MaxEarlyData(); !ok || max != 16384 {
			t.Errorf("max_early_data %d, %v; want 16384", max, ok)
		}
	}
}

func TestIssueTLS12(t *testing.T) {
	e, err := New(&Config{Keys: seal.NewKeyring(testRing(t, testKey(t, "k"))), Lifetime: 30 * 24 * time.Hour, MaxSessionAge: 60 * 24 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	iss, err := e.Issue(testSession(format.VersionTLS12), nil)
	if err != nil {
		t.Fatal(err)
	}
	m, err := format.ParseNewSessionTicketTLS12(iss.Message)
	if err != nil {
		t.Fatal(err)
	}
	if m.LifetimeHint != 30*24*3600 || !bytes.Equal(m.Ticket, iss.Ticket) {
		t.Errorf("lifetime hint %d; want %d (no cap in TLS 1.2)", m.LifetimeHint, 30*24*3600)
	}
	if _, err := e.Issue(testSession(format.VersionTLS12), []byte{1}); err == nil {
		t.Error("Issue accepted a nonce for TLS 1.2")
	}
	s := testSession(format.VersionTLS12)
	s.Version = 0x0302
	if _, err := e.Issue(s, nil); !errors.Is(err, ErrVersion) {
		t.Errorf("TLS 1.1 state: err %v, want ErrVersion", err)
	}
}

func TestGenerateTicketError(t *testing.T) {
	boom := errors.New("policy says no")
	e, err := New(&Config{
		Keys:           seal.NewKeyring(testRing(t, testKey(t, "k"))),
		GenerateTicket: func(*format.State) error { return boom },
	})
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.Issue(testSession(format.VersionTLS13), []byte{0})
	var ae *AbortError
	if !errors.As(err, &ae) || ae.Alert != AlertInternalError || !errors.Is(err, boom) || !errors.Is(err, ErrGenerateTicket) {
		t.Fatalf("err %v, want an internal_error AbortError wrapping the callback's error", err)
	}
}

// TestNoSecretsInOutput checks that neither a Decision, its session nor an
// error prints the session secret.
func TestNoSecretsInOutput(t *testing.T) {
	e, err := New(&Config{Keys: seal.NewKeyring(testRing(t, testKey(t, "k")))})
	if err != nil {
		t.Fatal(err)
	}
	s := testSession(format.VersionTLS12)
	secret := bytes.Clone(s.Secret)
	iss, err := e.Issue(s, nil)
	if err != nil {
		t.Fatal(err)
	}
	d, err := e.Open(conn(format.VersionTLS12), true, iss.Ticket)
	if err != nil || !d.Resumed {
		t.Fatal(err)
	}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%x"} {
		out := fmt.Sprintf(verb, d) + fmt.Sprintf(verb, &d.Session) + fmt.Sprintf(verb, d.Session)
		if strings.Contains(out, string(secret)) || strings.Contains(out, fmt.Sprintf("%x", secret)) {
			t.Errorf("%s prints the session secret", verb)
		}
	}
}

func TestNew(t *testing.T) {
	if _, err := New(&Config{}); !errors.Is(err, ErrNoKeys) {
		t.Errorf("New without keys: %v", err)
	}
	keys := seal.NewKeyring(testRing(t, testKey(t, "k")))
	for _, tt := range []struct {
		n, want int
	}{{0, DefaultNumTickets}, {-1, 0}, {5, 5}} {
		e, err := New(&Config{Keys: keys, NumTickets: tt.n})
		if err != nil || e.NumTickets() != tt.want {
			t.Errorf("NumTickets %d: got %d, %v; want %d", tt.n, e.NumTickets(), err, tt.want)
		}
	}
}
