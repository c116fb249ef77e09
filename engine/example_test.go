package engine_test

import (
	"bytes"
	"fmt"

	"github.com/tlsticket/tlsticket/engine"
	"github.com/tlsticket/tlsticket/format"
	"github.com/tlsticket/tlsticket/seal"
	"github.com/tlsticket/tlsticket/status"
)

func Example() {
	key, err := seal.GenerateKey(seal.AES256GCM, nil)
	if err != nil {
		panic(err)
	}
	ring, err := seal.NewRing(nil, key)
	if err != nil {
		panic(err)
	}
	e, err := engine.New(&engine.Config{
		Keys: seal.NewKeyring(ring),
		// gen_cb: carry application data inside the ticket.
		GenerateTicket: func(s *format.State) error {
			s.AppData = []byte("user=42")
			return nil
		},
		// dec_cb: see every presented ticket, and decide.
		DecryptTicket: func(t engine.TicketInfo) status.Return {
			if t.Status.Opened() {
				fmt.Printf("dec_cb: %v, app data %q\n", t.Status, t.Session.AppData)
			}
			return status.Default(t.Status)
		},
	})
	if err != nil {
		panic(err)
	}
	// What the TLS 1.2 stack knows of the connection: the ticket is checked
	// against it after dec_cb.
	conn := engine.ConnInfo{Version: format.VersionTLS12, ServerName: "example.com", ALPN: "h2", EMS: engine.EMSOffered}

	// A full TLS 1.2 handshake in which the client sent an empty
	// SessionTicket extension: send one ticket.
	d, _ := e.Open(conn, true, nil)
	fmt.Println("full handshake:", d.Status, "->", d.Return, "->", d.Tickets, "ticket(s)")
	iss, err := e.Issue(&format.State{
		Version:              format.VersionTLS12,
		CipherSuite:          0xc02f,
		Secret:               bytes.Repeat([]byte{1}, 48), // the master secret
		ExtendedMasterSecret: true,
		ServerName:           "example.com",
		ALPN:                 "h2",
	}, nil)
	if err != nil {
		panic(err)
	}

	// The client comes back with the ticket.
	d, err = e.Open(conn, true, iss.Ticket)
	fmt.Println("resumption:", d.Resumed, d.Tickets, "ticket(s)", err)

	// The same ticket presented for another server name: a full handshake.
	other := conn
	other.ServerName = "other.example"
	d, _ = e.Open(other, true, iss.Ticket)
	fmt.Println("other name:", d.Resumed, d.Fallback)
	// Output:
	// full handshake: Empty -> IgnoreRenew -> 1 ticket(s)
	// dec_cb: Success, app data "user=42"
	// resumption: true 0 ticket(s) <nil>
	// dec_cb: Success, app data "user=42"
	// other name: false engine: ticket issued for another server name
}
