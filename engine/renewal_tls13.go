package engine

import "github.com/tlsticket/tlsticket/status"

// ticketsTLS13 returns the number of NewSessionTicket messages a TLS 1.3
// server sends for an outcome, as OpenSSL does: NumTickets after a full
// handshake (RFC 8446, Section 4.6.1 lets a server send several), at most one
// after a resumption and only to renew, and none after Ignore. A client's
// ticket_request caps these further (RFC 9149; see Selection).
func (e *Engine) ticketsTLS13(o status.Outcome) int {
	switch o {
	case status.OutcomeIgnoreRenew:
		return e.numTickets
	case status.OutcomeUseRenew:
		return min(1, e.numTickets)
	default:
		return 0
	}
}
