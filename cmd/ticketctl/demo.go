package main

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/tlsticket/tlsticket/engine"
	"github.com/tlsticket/tlsticket/format"
	"github.com/tlsticket/tlsticket/seal"
	"github.com/tlsticket/tlsticket/status"
)

// demoTerms explains the words of the trace before it uses them.
const demoTerms = `The engine keeps the two callbacks of OpenSSL's SSL_CTX_set_session_ticket_cb:
  gen_cb: called when the server issues a ticket; it may add application data to the session (Config.GenerateTicket).
  dec_cb: called when a client presents a ticket; it gets the ticket's status and returns what to do (Config.DecryptTicket).
Each trace line reads: status (what the ticket is) -> return (dec_cb's answer) -> outcome.

`

// demoClock is a clock the demo moves by hand, so that expiry shows without
// waiting.
type demoClock struct{ t time.Time }

func (c *demoClock) now() time.Time { return c.t }

// demo runs live TLS handshakes, then walks both protocol versions through
// the decision paths as a custom TLS stack sees them.
func demo(w io.Writer) error {
	fmt.Fprint(w, demoTerms)
	if err := demoLive(w); err != nil {
		return err
	}
	fmt.Fprintln(w, "== the same decisions as a custom TLS stack sees them (engine API, simulated clock) ==")
	clock := &demoClock{t: time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)}
	keyA, err := seal.GenerateKey(seal.AES256GCM, nil)
	if err != nil {
		return err
	}
	ringA, err := seal.NewRing(nil, keyA)
	if err != nil {
		return err
	}
	keys := seal.NewKeyring(ringA)
	e, err := engine.New(&engine.Config{Keys: keys, Time: clock.now, Lifetime: time.Hour})
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "key ring: primary %v (AES-256-GCM), ticket lifetime 1h, %d TLS 1.3 tickets per full handshake\n\n", keyA.Name(), e.NumTickets())

	t13, err := demoTLS13(w, e, keys, clock)
	if err != nil {
		return err
	}
	if err := demoTLS12(w, e, keys, clock); err != nil {
		return err
	}
	return demoCallback(w, keys, clock, t13)
}

func demoTLS13(w io.Writer, e *engine.Engine, keys *seal.Keyring, clock *demoClock) ([]byte, error) {
	fmt.Fprintln(w, "== TLS 1.3 ==")
	d, _ := e.Open(demoConn(format.VersionTLS13), false, nil)
	trace(w, "full handshake, no PSK offered", d, nil)
	var tickets [][]byte
	for i := 0; i < d.Tickets; i++ {
		iss, err := e.Issue(session(format.VersionTLS13), []byte{byte(i)})
		if err != nil {
			return nil, err
		}
		tickets = append(tickets, iss.Ticket)
		fmt.Fprintf(w, "  issued ticket #%d: key %s, %d bytes, lifetime %ds, age_add %#08x, NewSessionTicket %d bytes\n",
			i+1, keyNameOf(iss.Ticket), len(iss.Ticket), iss.Lifetime, iss.AgeAdd, len(iss.Message))
	}
	clock.t = clock.t.Add(10 * time.Minute)
	d, err := e.Open(demoConn(format.VersionTLS13), true, tickets[0])
	trace(w, "resume with ticket #1", d, err)

	if err := rotate(w, keys); err != nil {
		return nil, err
	}
	d, err = e.Open(demoConn(format.VersionTLS13), true, tickets[1])
	trace(w, "resume with ticket #2 (old key, now decrypt-only)", d, err)

	bad := bytes.Clone(tickets[1])
	bad[len(bad)-1] ^= 0x01
	d, err = e.Open(demoConn(format.VersionTLS13), true, bad)
	trace(w, "resume with a tampered ticket", d, err)

	clock.t = clock.t.Add(2 * time.Hour)
	d, err = e.Open(demoConn(format.VersionTLS13), true, tickets[1])
	trace(w, "resume with ticket #2 two hours later", d, err)
	fmt.Fprintln(w)
	return tickets[0], nil
}

func demoTLS12(w io.Writer, e *engine.Engine, keys *seal.Keyring, clock *demoClock) error {
	fmt.Fprintln(w, "== TLS 1.2 ==")
	d, err := e.Open(demoConn(format.VersionTLS12), true, nil)
	trace(w, "full handshake, empty SessionTicket extension", d, err)
	iss, err := e.Issue(session(format.VersionTLS12), nil)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "  issued ticket: key %s, %d bytes, lifetime hint %ds, NewSessionTicket %d bytes\n",
		keyNameOf(iss.Ticket), len(iss.Ticket), iss.Lifetime, len(iss.Message))
	d, err = e.Open(demoConn(format.VersionTLS12), true, iss.Ticket)
	trace(w, "resume with the ticket", d, err)
	if err := rotate(w, keys); err != nil {
		return err
	}
	d, err = e.Open(demoConn(format.VersionTLS12), true, iss.Ticket)
	trace(w, "resume with the ticket (old key, now decrypt-only)", d, err)
	if err := drop(w, keys); err != nil {
		return err
	}
	d, err = e.Open(demoConn(format.VersionTLS12), true, iss.Ticket)
	trace(w, "resume with the ticket (its key dropped)", d, err)
	d, err = e.Open(demoConn(format.VersionTLS12), false, nil)
	trace(w, "full handshake, no SessionTicket extension", d, err)
	fmt.Fprintln(w)
	return nil
}

// demoCallback shows application data carried from gen_cb to dec_cb, and a
// callback that breaks the contract.
func demoCallback(w io.Writer, keys *seal.Keyring, clock *demoClock, old13 []byte) error {
	fmt.Fprintln(w, "== callbacks: application data and policy ==")
	cfg := &engine.Config{
		Keys: keys,
		Time: clock.now,
		GenerateTicket: func(s *format.State) error {
			s.AppData = []byte("tenant=blue")
			return nil
		},
		DecryptTicket: func(ti engine.TicketInfo) status.Return {
			s, keyName, st := ti.Session, ti.KeyName, ti.Status
			if st.Opened() {
				fmt.Fprintf(w, "  dec_cb: status %v, key %x, app data %q\n", st, keyName, s.AppData)
				if !strings.HasPrefix(string(s.AppData), "tenant=") {
					return status.IgnoreRenew
				}
			} else {
				fmt.Fprintf(w, "  dec_cb: status %v, no session\n", st)
			}
			if st == status.NoDecrypt {
				return status.Use // a broken policy: Use without a session
			}
			return status.Default(st)
		},
	}
	e, err := engine.New(cfg)
	if err != nil {
		return err
	}
	iss, err := e.Issue(session(format.VersionTLS13), []byte{0})
	if err != nil {
		return err
	}
	d, err := e.Open(demoConn(format.VersionTLS13), true, iss.Ticket)
	trace(w, "resume a ticket whose gen_cb set app data", d, err)
	d, err = e.Open(demoConn(format.VersionTLS13), true, old13)
	trace(w, "a callback returning Use for a ticket that did not open", d, err)
	return nil
}

// session is the state a TLS stack would hand the engine after a full
// handshake. The secret is a placeholder: the demo does no key exchange.
func session(v uint16) *format.State {
	s := &format.State{Version: v, ServerName: "demo.example", ALPN: "h2"}
	if v == format.VersionTLS13 {
		s.CipherSuite, s.Secret = 0x1301, bytes.Repeat([]byte{0x42}, 32)
	} else {
		s.CipherSuite, s.Secret, s.ExtendedMasterSecret = 0xc02f, bytes.Repeat([]byte{0x42}, 48), true
	}
	return s
}

func rotate(w io.Writer, keys *seal.Keyring) error {
	k, err := seal.GenerateKey(seal.AES256GCM, nil)
	if err != nil {
		return err
	}
	r, err := keys.Load().Rotate(k, 1)
	if err != nil {
		return err
	}
	keys.Store(r)
	fmt.Fprintf(w, "  -- rotate: new primary %v; %v is decrypt-only\n", k.Name(), r.Keys()[1].Name())
	return nil
}

func drop(w io.Writer, keys *seal.Keyring) error {
	r, err := seal.NewRing(nil, keys.Load().Primary())
	if err != nil {
		return err
	}
	keys.Store(r)
	fmt.Fprintf(w, "  -- drop every key but the primary %v\n", r.Primary().Name())
	return nil
}

// keyNameOf reads the key name from a sealed ticket's header.
func keyNameOf(ticket []byte) string {
	h, err := seal.ParseHeader(ticket)
	if err != nil {
		return "(unreadable)"
	}
	return h.KeyName.String()
}

func trace(w io.Writer, what string, d engine.Decision, err error) {
	fmt.Fprintf(w, "%s:\n    ", what)
	if d.Callback {
		fmt.Fprintf(w, "status %v -> return %v -> ", d.Status, d.Return)
	}
	switch {
	case err != nil:
		fmt.Fprintf(w, "ABORT with %v alert (%v)\n", d.Alert, err)
	case d.Resumed:
		fmt.Fprintf(w, "resumed, %s\n", plural(d.Tickets))
	case d.Fallback != nil:
		fmt.Fprintf(w, "full handshake (%v), %s\n", d.Fallback, plural(d.Tickets))
	default:
		fmt.Fprintf(w, "full handshake, %s\n", plural(d.Tickets))
	}
}

func plural(n int) string {
	if n == 1 {
		return "1 new ticket"
	}
	return fmt.Sprintf("%d new tickets", n)
}

// demoConn returns the connection the demo's sessions are resumed on.
func demoConn(v uint16) engine.ConnInfo {
	return engine.ConnInfo{Version: v, ServerName: "demo.example", ALPN: "h2"}
}
