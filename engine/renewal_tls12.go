package engine

import (
	"github.com/tlsticket/tlsticket/format"
	"github.com/tlsticket/tlsticket/status"
)

// ticketsTLS12 returns the number of NewSessionTicket messages a TLS 1.2
// server sends for an outcome (RFC 5077, Section 3.3): at most one, only if
// the client sent the SessionTicket extension (offered), and on a resumption
// only to renew. The server then also sends an empty SessionTicket extension
// in its ServerHello (Section 3.2); it echoes a non-empty session ID of an
// accepted ticket (Section 3.4), which is the host stack's business.
func ticketsTLS12(o status.Outcome, offered bool) int {
	if offered && o.Renew() {
		return 1
	}
	return 0
}

// ticketsFor returns the number of NewSessionTicket messages to send for an
// outcome. offered reports whether the client offered a ticket.
func (e *Engine) ticketsFor(version uint16, o status.Outcome, offered bool) int {
	if version == format.VersionTLS12 {
		return ticketsTLS12(o, offered)
	}
	return e.ticketsTLS13(o)
}
