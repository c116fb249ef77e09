package engine

import (
	"context"
	"fmt"

	"github.com/tlsticket/tlsticket/format"
	"github.com/tlsticket/tlsticket/resumption"
	"github.com/tlsticket/tlsticket/status"
)

// Open examines a ticket presented on the connection c and decides what the
// handshake does with it; docs/decisions.md holds the table.
//
// For TLS 1.2, offered reports whether the SessionTicket extension was
// present and ticket is its contents (empty for an empty extension). A TLS
// 1.3 stack calls [Engine.SelectTLS13] instead, which walks the identities
// and verifies the binder; Open with c.Version TLS 1.3 examines one PSK
// identity for a stack that verifies the binder itself (crypto/tls does,
// through package engine/tlsadapter).
//
// The error is non-nil if and only if the handshake aborts; it is then an
// [*AbortError] and the Decision carries the alert and, when the callback
// was called, the status and return that led there.
func (e *Engine) Open(c ConnInfo, offered bool, ticket []byte) (Decision, error) {
	d, err := e.open(&c, offered, ticket)
	e.record(&d, err)
	return d, err
}

func (e *Engine) open(c *ConnInfo, offered bool, ticket []byte) (Decision, error) {
	switch {
	case c.Version != format.VersionTLS12 && c.Version != format.VersionTLS13:
		return e.abort(Decision{Version: c.Version, Offered: offered}, AlertInternalError, ErrVersion)
	case !offered:
		// No ticket: a full handshake; the callback is not called.
		return Decision{Version: c.Version, Outcome: status.OutcomeIgnoreRenew,
			Tickets: e.ticketsFor(c.Version, status.OutcomeIgnoreRenew, false)}, nil
	case len(ticket) == 0 && c.Version == format.VersionTLS13:
		return e.abort(Decision{Version: c.Version, Offered: true}, AlertDecodeError, ErrEmptyIdentity)
	}
	d, err := e.examine(c, ticket)
	if err == nil && d.Resumed {
		if ferr := e.useOnce(context.Background(), ticket, &d.Session); ferr != nil {
			e.fallBack(&d, ferr)
		}
	}
	return d, err
}

// useOnce enforces single-use tickets when configured (RFC 8446, Section
// 8.1), keyed by the ticket, which has been authenticated. Any error of the
// store counts as a reuse: the ticket is not resumed.
func (e *Engine) useOnce(ctx context.Context, ticket []byte, s *format.State) error {
	if !e.singleUse {
		return nil
	}
	first, err := resumption.UseOnce(ctx, e.replay, ticket, s.Expires().Sub(e.now()))
	switch {
	case err != nil:
		return fmt.Errorf("%w: %w", ErrTicketReused, err)
	case !first:
		return ErrTicketReused
	}
	return nil
}
