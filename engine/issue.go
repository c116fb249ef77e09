package engine

import (
	"bytes"
	"context"
	cryptorand "crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/tlsticket/tlsticket/format"
	"github.com/tlsticket/tlsticket/resumption"
)

// Issued is a ticket built by [Engine.Issue].
type Issued struct {
	// Ticket is the sealed ticket: the TLS 1.2 ticket or the TLS 1.3 PSK
	// identity. Empty when Skipped.
	Ticket []byte
	// Message is the NewSessionTicket handshake message carrying Ticket,
	// with its 4-byte handshake header (RFC 5077, Section 3.3 or RFC 8446,
	// Section 4.6.1). When Skipped it is, for TLS 1.2, a NewSessionTicket
	// with an empty ticket (RFC 5077, Section 3.3: the server promised a
	// ticket in its ServerHello), and for TLS 1.3 nil: send nothing.
	Message []byte
	// Lifetime is the ticket lifetime (hint) in seconds.
	Lifetime uint32
	// AgeAdd is the TLS 1.3 ticket_age_add (zero for TLS 1.2).
	AgeAdd uint32
	// Skipped reports that the GenerateTicket callback declined the
	// ticket with ErrSkipTicket; the handshake goes on.
	Skipped bool
}

// sealSlack bounds what sealing adds to a plaintext (header, the longest
// nonce and the tag), to size the one buffer of Issue.
const sealSlack = 64

// Issue builds one ticket for the session s, for s.Version.
//
// The engine sets s.CreatedAt, s.Lifetime and, for a session that has none
// (a full handshake), s.AuthenticatedAt; for TLS 1.3 also
// s.AgeAdd (fresh random for every ticket, RFC 8446 Section 4.6.1) and
// s.MaxEarlyData. The lifetime is Config.Lifetime, capped for TLS 1.3 at
// format.MaxTicketLifetime, at the session's remaining Config.MaxSessionAge,
// and, when the Keys know it, at the time the sealing key stops opening.
// It then calls the GenerateTicket callback, which may set s.AppData or
// skip the ticket, and seals s with Config.Binding in place of s.Binding,
// which it leaves as it is. s is modified in place: pass a copy to keep the
// original.
//
// For TLS 1.3, s.Secret must be the PSK derived from the connection's
// resumption_master_secret with nonce, and nonce must be unique among the
// tickets of the connection ([TicketIssuer] does both). For TLS 1.2,
// s.Secret is the master secret and nonce must be nil.
//
// A session authenticated more than MaxSessionAge ago gets no ticket:
// ErrSessionTooOld, after which the handshake may go on without one.
func (e *Engine) Issue(s *format.State, nonce []byte) (Issued, error) {
	return e.issue(s, nonce, e.maxEarlyData)
}

// issue is Issue with the max_early_data_size sealed into TLS 1.3 tickets.
func (e *Engine) issue(s *format.State, nonce []byte, maxEarlyData uint32) (Issued, error) {
	now := e.now()
	if s.AuthenticatedAt.IsZero() {
		s.AuthenticatedAt = now
	}
	lifetime, err := e.lifetimeFor(s, now)
	if err != nil {
		return Issued{}, err
	}
	s.CreatedAt, s.Lifetime = now, lifetime
	switch s.Version {
	case format.VersionTLS12:
		if nonce != nil {
			return Issued{}, errors.New("engine: a TLS 1.2 ticket has no nonce")
		}
		s.AgeAdd, s.MaxEarlyData = 0, 0
	case format.VersionTLS13:
		if s.AgeAdd, err = e.randUint32(); err != nil {
			return Issued{}, err
		}
		s.MaxEarlyData, s.ExtendedMasterSecret = maxEarlyData, false
	default:
		return Issued{}, ErrVersion
	}
	if e.genCB != nil {
		switch err := e.genCB(s); {
		case errors.Is(err, ErrSkipTicket):
			e.metrics.skipped[versionIndex(s.Version)].Add(1)
			return e.skipped(s)
		case err != nil:
			return Issued{}, &AbortError{Alert: AlertInternalError, Err: fmt.Errorf("%w: %w", ErrGenerateTicket, err)}
		}
	}
	out := Issued{Lifetime: s.Lifetime, AgeAdd: s.AgeAdd}
	if out.Ticket, out.Message, err = e.build(s, nonce); err != nil {
		return Issued{}, err
	}
	e.metrics.issued[versionIndex(s.Version)].Add(1)
	if e.log != nil && e.log.Enabled(context.Background(), slog.LevelDebug) {
		e.log.LogAttrs(context.Background(), slog.LevelDebug, "tlsticket issued",
			slog.String("version", versionLabel(s.Version)), slog.Int("size", len(out.Ticket)),
			slog.Uint64("lifetime", uint64(s.Lifetime)))
	}
	return out, nil
}

// SealDeadliner is implemented by [Keys] that know when the key that seals
// now stops opening tickets ([*seal.Keyring] does); Issue caps a ticket's
// lifetime there, since the ticket cannot be opened after it.
type SealDeadliner interface {
	// SealDeadline returns when the key that seals now retires, or the
	// zero Time if it has no end.
	SealDeadline() time.Time
}

// lifetimeFor returns the lifetime in whole seconds of a ticket issued now
// for s; see Issue.
func (e *Engine) lifetimeFor(s *format.State, now time.Time) (uint32, error) {
	d := e.lifetime
	if s.Version == format.VersionTLS13 {
		d = min(d, format.MaxTicketLifetime)
	}
	left := e.maxAge - max(now.Sub(s.AuthenticatedAt), 0)
	if left < time.Second {
		return 0, ErrSessionTooOld
	}
	d = min(d, left)
	if k, ok := e.keys.(SealDeadliner); ok {
		if end := k.SealDeadline(); !end.IsZero() {
			d = min(d, max(end.Sub(now), 0))
		}
	}
	return uint32(min(d/time.Second, 1<<32-1)), nil
}

// skipped returns the Issued of a ticket declined by GenerateTicket.
func (e *Engine) skipped(s *format.State) (Issued, error) {
	out := Issued{Skipped: true}
	if s.Version == format.VersionTLS12 {
		m := format.NewSessionTicketTLS12{}
		msg, err := m.Append(nil)
		if err != nil {
			return Issued{}, fmt.Errorf("engine: failed to encode NewSessionTicket: %w", err)
		}
		out.Message = msg
	}
	return out, nil
}

// build encodes and seals s and encodes the NewSessionTicket message that
// carries it, in one allocation when the Keys seal in place.
func (e *Engine) build(s *format.State, nonce []byte) (ticket, msg []byte, err error) {
	// Seal the engine's binding, without handing the caller or gen_cb the
	// engine's slice: a copy on the stack, so s is not written either.
	st := *s
	st.Binding = e.binding
	if k, ok := e.keys.(inPlaceSealer); ok {
		if ticket, msg, ok, err := e.buildInPlace(&st, nonce, k); ok {
			return ticket, msg, err
		}
	}
	// Other Keys: the plaintext in a scratch buffer, cleared once sealed;
	// then the ticket and, after it, the message that carries a copy of it.
	pt, err := st.Append(nil)
	if err != nil {
		return nil, nil, fmt.Errorf("engine: failed to encode session state: %w", err)
	}
	defer clear(pt)
	buf := make([]byte, 0, 2*(len(pt)+sealSlack)+32+len(nonce))
	ticket, err = e.keys.Seal(buf, pt, nil)
	if err != nil {
		return nil, nil, fmt.Errorf("engine: failed to seal ticket: %w", err)
	}
	ticket = ticket[:len(ticket):len(ticket)]
	msg, err = e.message(&st, nonce, ticket, buf[len(ticket):len(ticket)])
	return ticket, msg, err
}

// inPlaceSealer is implemented by Keys whose Seal takes a plaintext that
// lies where its ciphertext goes, CiphertextOffset bytes into the ticket in
// Seal's dst, and seals it there; SealedSize is the ticket's length for a
// plaintext of n bytes ([*seal.Keyring] does both).
type inPlaceSealer interface {
	SealedSize(n int) int
	CiphertextOffset() int
}

// buildInPlace encodes the NewSessionTicket message around a placeholder for
// the ticket, encodes st into the placeholder where the ciphertext goes, and
// seals it there: one buffer, and the plaintext is never copied. It reports
// false if the ticket came out of another size (the sealing key's AEAD
// changed in between); build then starts again, and the buffer, which may
// still hold the plaintext, is cleared.
func (e *Engine) buildInPlace(st *format.State, nonce []byte, k inPlaceSealer) (ticket, msg []byte, ok bool, err error) {
	n := st.EncodedLen()
	size, ctOff := k.SealedSize(n), k.CiphertextOffset()
	var off, total int
	var m12 format.NewSessionTicketTLS12
	var m13 format.NewSessionTicketTLS13
	var ext [1]format.Extension
	if st.Version == format.VersionTLS12 {
		m12 = format.NewSessionTicketTLS12{LifetimeHint: st.Lifetime}
		off = m12.TicketOffset()
		total = off + size
	} else {
		m13 = format.NewSessionTicketTLS13{Lifetime: st.Lifetime, AgeAdd: st.AgeAdd, Nonce: nonce}
		if st.MaxEarlyData > 0 {
			ext[0] = format.EarlyDataExtension(st.MaxEarlyData)
			m13.Extensions = ext[:]
		}
		off = m13.TicketOffset()
		total = off + size + 2 + 8
	}
	buf := make([]byte, 0, total)
	placeholder := buf[off : off+size] // copied onto itself by Append
	if st.Version == format.VersionTLS12 {
		m12.Ticket = placeholder
		msg, err = m12.Append(buf)
	} else {
		m13.Ticket = placeholder
		msg, err = m13.Append(buf)
	}
	if err != nil {
		return nil, nil, true, fmt.Errorf("engine: failed to encode NewSessionTicket: %w", err)
	}
	pt, err := st.Append(placeholder[ctOff:ctOff])
	switch {
	case err != nil:
		return nil, nil, true, fmt.Errorf("engine: failed to encode session state: %w", err)
	case len(pt) != n || &pt[0] != &placeholder[ctOff]:
		clear(buf[:cap(buf)])
		return nil, nil, true, errors.New("engine: internal error: session state encoded out of place")
	}
	ticket, err = e.keys.Seal(msg[off:off], pt, nil)
	if err != nil {
		clear(buf[:cap(buf)])
		return nil, nil, true, fmt.Errorf("engine: failed to seal ticket: %w", err)
	}
	if len(ticket) != size || &ticket[0] != &msg[off] {
		clear(buf[:cap(buf)])
		return nil, nil, false, nil
	}
	return ticket[:size:size], msg, true, nil
}

// message appends the NewSessionTicket message for a ticket of s.Version to
// dst.
func (e *Engine) message(s *format.State, nonce, ticket, dst []byte) ([]byte, error) {
	var msg []byte
	var err error
	if s.Version == format.VersionTLS12 {
		m := format.NewSessionTicketTLS12{LifetimeHint: s.Lifetime, Ticket: ticket}
		msg, err = m.Append(dst)
	} else {
		m := format.NewSessionTicketTLS13{Lifetime: s.Lifetime, AgeAdd: s.AgeAdd, Nonce: nonce, Ticket: ticket}
		var ext [1]format.Extension
		if s.MaxEarlyData > 0 {
			ext[0] = format.EarlyDataExtension(s.MaxEarlyData)
			m.Extensions = ext[:]
		}
		msg, err = m.Append(dst)
	}
	if err != nil {
		return nil, fmt.Errorf("engine: failed to encode NewSessionTicket: %w", err)
	}
	return msg, nil
}

// chachaPool holds ChaCha8 generators (a CSPRNG), each seeded from
// crypto/rand, for ticket_age_add values when Config.Rand is nil: reading
// crypto/rand on every ticket costs as much as sealing it.
var chachaPool = sync.Pool{New: func() any {
	var seed [32]byte
	cryptorand.Read(seed[:])
	return rand.NewChaCha8(seed)
}}

func (e *Engine) randUint32() (uint32, error) {
	if e.rand == nil {
		g := chachaPool.Get().(*rand.ChaCha8)
		v := uint32(g.Uint64())
		chachaPool.Put(g)
		return v, nil
	}
	var b [4]byte
	if _, err := io.ReadFull(e.rand, b[:]); err != nil {
		return 0, fmt.Errorf("engine: failed to read randomness: %w", err)
	}
	return binary.BigEndian.Uint32(b[:]), nil
}

// TicketIssuer issues the TLS 1.3 tickets of one connection (RFC 8446,
// Section 4.6.1): each ticket gets a ticket_nonce unique on the connection,
// a fresh ticket_age_add, and the PSK derived from the connection's
// resumption_master_secret with that nonce, sealed into the ticket.
//
// As in OpenSSL, the tickets of a connection share one session: the
// GenerateTicket callback sees the AppData that its previous call on the
// connection set. It is safe for concurrent use.
type TicketIssuer struct {
	e   *Engine
	rms *resumption.ResumptionMasterSecret

	mu    sync.Mutex
	base  format.State
	nonce uint64
}

// NewTicketIssuer returns an issuer for a connection whose session is
// described by base (version TLS 1.3, cipher suite, SNI, ALPN, peer
// certificates, AuthenticatedAt of a resumed session...; its Secret is
// ignored) and whose resumption master secret is rms.
func (e *Engine) NewTicketIssuer(rms *resumption.ResumptionMasterSecret, base *format.State) (*TicketIssuer, error) {
	if rms == nil || base == nil || base.Version != format.VersionTLS13 {
		return nil, errors.New("engine: a ticket issuer needs a TLS 1.3 session and its resumption master secret")
	}
	ti := &TicketIssuer{e: e, rms: rms, base: *base}
	ti.base.Secret = nil
	ti.base.AppData = bytes.Clone(base.AppData)
	return ti, nil
}

// Issue issues the connection's next ticket.
func (ti *TicketIssuer) Issue() (Issued, error) {
	ti.mu.Lock()
	defer ti.mu.Unlock()
	var nonce [8]byte
	binary.BigEndian.PutUint64(nonce[:], ti.nonce)
	ti.nonce++
	s := ti.base
	s.Secret = ti.rms.PSK(nonce[:]).AppendBytes(nil)
	defer clear(s.Secret)
	iss, err := ti.e.Issue(&s, nonce[:])
	if err != nil {
		return Issued{}, err
	}
	// The next ticket starts from this one's session, as OpenSSL's
	// num_tickets tickets share one SSL_SESSION.
	ti.base.AppData = bytes.Clone(s.AppData)
	if ti.base.AuthenticatedAt.IsZero() {
		ti.base.AuthenticatedAt = s.AuthenticatedAt
	}
	return iss, nil
}

// IssueN issues n tickets, for example Decision.Tickets of them. Skipped
// tickets are left out of the result.
func (ti *TicketIssuer) IssueN(n int) ([]Issued, error) {
	out := make([]Issued, 0, n)
	for i := range n {
		iss, err := ti.Issue()
		if err != nil {
			return nil, fmt.Errorf("engine: ticket %d of %d: %w", i+1, n, err)
		}
		if !iss.Skipped {
			out = append(out, iss)
		}
	}
	return out, nil
}
