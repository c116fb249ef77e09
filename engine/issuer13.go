package engine

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sync/atomic"

	"github.com/tlsticket/tlsticket/format"
	"github.com/tlsticket/tlsticket/resumption"
)

// TicketIssuer issues the TLS 1.3 tickets of one connection (RFC 8446,
// Section 4.6.1): each ticket gets a ticket_nonce unique on the connection,
// a fresh ticket_age_add, and the PSK derived from the connection's
// resumption_master_secret with that nonce, sealed into the ticket. It is
// safe for concurrent use.
type TicketIssuer struct {
	e     *Engine
	rms   *resumption.ResumptionMasterSecret
	base  format.State
	nonce atomic.Uint64
}

// NewTicketIssuer returns an issuer for a connection whose session is
// described by base (version TLS 1.3, cipher suite, SNI, ALPN, peer
// certificates...; its Secret is ignored) and whose resumption master secret
// is rms.
func (e *Engine) NewTicketIssuer(rms *resumption.ResumptionMasterSecret, base *format.State) (*TicketIssuer, error) {
	if rms == nil || base == nil || base.Version != format.VersionTLS13 {
		return nil, errors.New("engine: a ticket issuer needs a TLS 1.3 session and its resumption master secret")
	}
	ti := &TicketIssuer{e: e, rms: rms, base: *base}
	ti.base.Secret = nil
	return ti, nil
}

// Issue issues the connection's next ticket.
func (ti *TicketIssuer) Issue() (*Issued, error) {
	var nonce [8]byte
	binary.BigEndian.PutUint64(nonce[:], ti.nonce.Add(1)-1)
	s := ti.base
	s.Secret = ti.rms.PSK(nonce[:]).AppendBytes(nil)
	defer clear(s.Secret)
	iss, err := ti.e.Issue(&s, nonce[:])
	if err != nil {
		return nil, err
	}
	return iss, nil
}

// IssueN issues n tickets, for example Decision.Tickets of them.
func (ti *TicketIssuer) IssueN(n int) ([]*Issued, error) {
	out := make([]*Issued, 0, n)
	for range n {
		iss, err := ti.Issue()
		if err != nil {
			return nil, fmt.Errorf("engine: ticket %d of %d: %w", len(out)+1, n, err)
		}
		out = append(out, iss)
	}
	return out, nil
}
