package engine

import (
	"github.com/tlsticket/tlsticket/format"
	"github.com/tlsticket/tlsticket/status"
)

// Renewal says which TLS 1.3 tickets that opened under the key ring get
// status SuccessRenew (a new ticket by default) rather than Success.
type Renewal uint8

const (
	// RenewAlways gives every TLS 1.3 ticket status SuccessRenew, as
	// OpenSSL does with its built-in ticket keys: each resumption sends a
	// new ticket by default (RFC 8446, Section 4.6.1 lets a server send
	// one after any handshake).
	RenewAlways Renewal = iota
	// RenewOnOldKey gives status SuccessRenew only to a ticket opened by a
	// key that no longer seals, and Success to one opened by the key that
	// seals, as OpenSSL does with a ticket key callback that returns 1 for
	// a current key and 2 for an old one. TLS 1.2 tickets always follow
	// this rule.
	RenewOnOldKey
)

// renews reports whether a ticket of version v opened by a key that seals
// (primary) or not gets status SuccessRenew.
func (e *Engine) renews(v uint16, primary bool) bool {
	return !primary || (v == format.VersionTLS13 && e.renew13 == RenewAlways)
}

// ticketsFor returns the number of NewSessionTicket messages to send for an
// outcome; offered reports whether the client offered a ticket.
//
//	outcome       TLS 1.2 (RFC 5077, 3.3)   TLS 1.3 (RFC 8446, 4.6.1; as OpenSSL)
//	abort         0                         0
//	ignore        0                         0
//	ignore+renew  1 if offered, else 0      NumTickets
//	use           0                         0
//	use+renew     1                         min(1, NumTickets)
//
// A TLS 1.2 server sends a ticket only to a client that sent the
// SessionTicket extension; it then also sends an empty SessionTicket
// extension in its ServerHello (RFC 5077, Section 3.2). A TLS 1.3 client's
// ticket_request caps the count further (RFC 9149; see Selection).
func (e *Engine) ticketsFor(v uint16, o status.Outcome, offered bool) int {
	switch {
	case !o.Renew():
		return 0
	case v == format.VersionTLS12:
		if offered {
			return 1
		}
		return 0
	case o == status.OutcomeIgnoreRenew:
		return e.numTickets
	default:
		return min(1, e.numTickets)
	}
}
