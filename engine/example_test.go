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
		DecryptTicket: func(s *format.State, keyName []byte, st status.Status) status.Return {
			if s != nil {
				fmt.Printf("dec_cb: %v, app data %q\n", st, s.AppData)
			}
			return status.Default(st)
		},
	})
	if err != nil {
		panic(err)
	}

	// After a full TLS 1.2 handshake in which the client sent an empty
	// SessionTicket extension: send one ticket.
	d, _ := e.Open(format.VersionTLS12, true, nil)
	fmt.Println("full handshake:", d.Status, "->", d.Return, "->", d.Tickets, "ticket(s)")
	iss, err := e.Issue(&format.State{
		Version:     format.VersionTLS12,
		CipherSuite: 0xc02f,
		Secret:      bytes.Repeat([]byte{1}, 48), // the master secret
	}, nil)
	if err != nil {
		panic(err)
	}

	// The client comes back with the ticket.
	d, err = e.Open(format.VersionTLS12, true, iss.Ticket)
	fmt.Println("resumption:", d.Resumed, d.Tickets, "ticket(s)", err)
	// Output:
	// full handshake: Empty -> IgnoreRenew -> 1 ticket(s)
	// dec_cb: Success, app data "user=42"
	// resumption: true 0 ticket(s) <nil>
}
