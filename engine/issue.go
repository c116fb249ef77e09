package engine

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"

	"github.com/tlsticket/tlsticket/format"
)

// Issued is a ticket built by [Engine.Issue].
type Issued struct {
	// Ticket is the sealed ticket: the TLS 1.2 ticket or the TLS 1.3 PSK
	// identity.
	Ticket []byte
	// Message is the NewSessionTicket handshake message carrying Ticket,
	// with its 4-byte handshake header (RFC 5077, Section 3.3 or RFC 8446,
	// Section 4.6.1).
	Message []byte
	// Lifetime is the ticket lifetime (hint) in seconds.
	Lifetime uint32
	// AgeAdd is the TLS 1.3 ticket_age_add (zero for TLS 1.2).
	AgeAdd uint32
}

// plaintextPool holds scratch buffers for encoded session states. They hold
// secrets, so they are zeroed before they go back.
var plaintextPool = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

// Issue builds one ticket for the session s, for s.Version.
//
// The engine sets s.CreatedAt, s.Lifetime and s.Binding, and for TLS 1.3
// s.AgeAdd (fresh random for every ticket, RFC 8446 Section 4.6.1) and
// s.MaxEarlyData. It then calls the GenerateTicket callback, which may set
// s.AppData, and seals s. s is modified in place: pass a copy to keep the
// original.
//
// For TLS 1.3, s.Secret must be the PSK derived from the connection's
// resumption_master_secret with nonce, and nonce must be unique among the
// tickets of the connection. For TLS 1.2, s.Secret is the master secret and
// nonce must be nil.
func (e *Engine) Issue(s *format.State, nonce []byte) (*Issued, error) {
	return e.issue(s, nonce, e.maxEarlyData)
}

// issue is Issue with the max_early_data_size of TLS 1.3 tickets.
func (e *Engine) issue(s *format.State, nonce []byte, maxEarlyData uint32) (*Issued, error) {
	var out Issued
	s.CreatedAt = e.now()
	s.Lifetime = e.lifetimeFor(s.Version)
	s.Binding = bytes.Clone(e.binding) // the caller and gen_cb own s: never hand them the engine's slice
	out.Lifetime = s.Lifetime
	switch s.Version {
	case format.VersionTLS12:
		if nonce != nil {
			return nil, errors.New("engine: a TLS 1.2 ticket has no nonce")
		}
		s.AgeAdd, s.MaxEarlyData = 0, 0
	case format.VersionTLS13:
		ageAdd, err := e.randUint32()
		if err != nil {
			return nil, err
		}
		s.AgeAdd, s.MaxEarlyData, s.ExtendedMasterSecret = ageAdd, maxEarlyData, false
		out.AgeAdd = ageAdd
	default:
		return nil, ErrVersion
	}
	if e.genCB != nil {
		if err := e.genCB(s); err != nil {
			return nil, &AbortError{Alert: AlertInternalError, Err: fmt.Errorf("%w: %w", ErrGenerateTicket, err)}
		}
	}
	ticket, err := e.seal(s)
	if err != nil {
		return nil, err
	}
	out.Ticket = ticket
	if out.Message, err = e.message(s, nonce, ticket); err != nil {
		return nil, err
	}
	e.metrics.issued[versionIndex(s.Version)].Add(1)
	if e.log != nil && e.log.Enabled(context.Background(), slog.LevelDebug) {
		e.log.LogAttrs(context.Background(), slog.LevelDebug, "tlsticket issued",
			slog.String("version", versionLabel(s.Version)), slog.Int("size", len(ticket)),
			slog.Uint64("lifetime", uint64(s.Lifetime)))
	}
	return &out, nil
}

// seal encodes and seals s. The encoded plaintext never leaves this function
// and is zeroed before its buffer is reused.
func (e *Engine) seal(s *format.State) ([]byte, error) {
	bp := plaintextPool.Get().(*[]byte)
	defer func() {
		// Only the encoded prefix was written: every use clears what it
		// wrote, and a grown buffer starts zeroed.
		clear(*bp)
		plaintextPool.Put(bp)
	}()
	pt, err := s.Append((*bp)[:0])
	if err != nil {
		return nil, fmt.Errorf("engine: failed to encode session state: %w", err)
	}
	*bp = pt
	ticket, err := e.keys.Seal(nil, pt, nil)
	if err != nil {
		return nil, fmt.Errorf("engine: failed to seal ticket: %w", err)
	}
	return ticket, nil
}

// message builds the NewSessionTicket message for a ticket of s.Version.
func (e *Engine) message(s *format.State, nonce, ticket []byte) ([]byte, error) {
	var msg []byte
	var err error
	if s.Version == format.VersionTLS12 {
		m := format.NewSessionTicketTLS12{LifetimeHint: s.Lifetime, Ticket: ticket}
		msg, err = m.Append(nil)
	} else {
		m := format.NewSessionTicketTLS13{Lifetime: s.Lifetime, AgeAdd: s.AgeAdd, Nonce: nonce, Ticket: ticket}
		if s.MaxEarlyData > 0 {
			m.Extensions = []format.Extension{format.EarlyDataExtension(s.MaxEarlyData)}
		}
		msg, err = m.Append(nil)
	}
	if err != nil {
		return nil, fmt.Errorf("engine: failed to encode NewSessionTicket: %w", err)
	}
	return msg, nil
}
