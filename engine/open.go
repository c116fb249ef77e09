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
func (e *Engine) Open(c ConnInfo, offered bool, ticket []byte) (d Decision, err error) {
	err = e.open(&d, &c, offered, ticket)
	e.record(&d, err)
	return
}

// open fills the zero Decision *d.
func (e *Engine) open(d *Decision, c *ConnInfo, offered bool, ticket []byte) error {
	switch {
	case c.Version != format.VersionTLS12 && c.Version != format.VersionTLS13:
		d.Version, d.Offered = c.Version, offered
		return e.abort(d, AlertInternalError, ErrVersion)
	case !offered:
		// No ticket: a full handshake; the callback is not called.
		d.Version, d.Outcome = c.Version, status.OutcomeIgnoreRenew
		d.Tickets = e.ticketsFor(c.Version, status.OutcomeIgnoreRenew, false)
		return nil
	case len(ticket) == 0 && c.Version == format.VersionTLS13:
		d.Version, d.Offered = c.Version, true
		return e.abort(d, AlertDecodeError, ErrEmptyIdentity)
	}
	err := e.examine(d, c, ticket)
	if err == nil && d.Resumed {
		if ferr := e.useOnce(context.Background(), ticket, &d.Session); ferr != nil {
			e.fallBack(d, ferr)
		}
	}
	return err
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
