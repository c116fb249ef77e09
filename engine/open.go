package engine

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/tlsticket/tlsticket/format"
	"github.com/tlsticket/tlsticket/resumption"
	"github.com/tlsticket/tlsticket/seal"
	"github.com/tlsticket/tlsticket/seal/legacy"
	"github.com/tlsticket/tlsticket/status"
)

// Alert is a TLS alert description (RFC 8446, Section 6).
type Alert uint8

const (
	AlertIllegalParameter Alert = 47
	AlertDecodeError      Alert = 50
	AlertInternalError    Alert = 80
)

func (a Alert) String() string {
	switch a {
	case 0:
		return "none"
	case AlertIllegalParameter:
		return "illegal_parameter"
	case AlertDecodeError:
		return "decode_error"
	case AlertDecryptError:
		return "decrypt_error"
	case AlertMissingExtension:
		return "missing_extension"
	case AlertInternalError:
		return "internal_error"
	}
	return fmt.Sprintf("Alert(%d)", uint8(a))
}

// AbortError is returned when a handshake must abort. The TLS stack sends
// Alert and closes the connection.
type AbortError struct {
	Alert Alert
	// Status and Return are the ticket status and callback return that
	// led to the abort, when the callback was called.
	Status   status.Status
	Return   status.Return
	Callback bool
	Err      error
}

func (e *AbortError) Error() string {
	if e.Callback {
		return fmt.Sprintf("engine: handshake aborted with %v (status %v, return %v): %v", e.Alert, e.Status, e.Return, e.Err)
	}
	return fmt.Sprintf("engine: handshake aborted with %v: %v", e.Alert, e.Err)
}

func (e *AbortError) Unwrap() error { return e.Err }

// Decision is what the TLS stack does with a presented ticket.
type Decision struct {
	// Version is the connection's protocol version.
	Version uint16
	// Offered reports whether the client offered a ticket (for TLS 1.2,
	// whether the SessionTicket extension was present, even empty).
	Offered bool
	// Callback reports whether the decrypt callback (or the default
	// return, without one) was consulted: whenever a ticket was examined.
	Callback bool
	// Status and Return are the ticket's status and the callback's
	// return; meaningful only when Callback is true.
	Status status.Status
	Return status.Return
	// Outcome is status.Decide(Status, Return), before the checks that
	// follow the callback.
	Outcome status.Outcome
	// Fallback, if not nil, is the check that turned a use outcome into a
	// full handshake with new tickets (ErrExpired, ErrVersionMismatch,
	// ErrNotYetValid or ErrBindingMismatch).
	Fallback error
	// Resumed reports whether the session in Session is to be resumed.
	Resumed bool
	// Session is the opened session state when Resumed; otherwise nil.
	// Warning: it holds the session's secret.
	Session *format.State
	// KeyName is the key name read from the ticket's header, if any.
	KeyName []byte
	// Tickets is the number of NewSessionTicket messages to send on this
	// connection.
	Tickets int
	// Alert is the alert to send when the handshake aborts; zero otherwise.
	Alert Alert
}

// ConnInfo is what the engine knows of the connection a ticket is presented
// on, for the context checks after the decrypt callback.
type ConnInfo struct {
	// Version is the negotiated protocol version.
	Version uint16
	// ServerName is the ClientHello's server_name ("" if none). A ticket
	// issued under another name (compared without regard to case) is not
	// resumed.
	ServerName string
	// ALPN is the negotiated application protocol ("" if none). A ticket
	// issued with another protocol is not resumed.
	ALPN string
	// CipherSuite is the negotiated cipher suite, or zero if not known. A
	// TLS 1.3 ticket whose suite has another KDF hash is not resumed.
	CipherSuite uint16
}

// Open examines a ticket presented in a ClientHello of the given version and
// decides what the handshake does with it. It does not check the server
// name or the application protocol: use [Engine.OpenConn] when they are
// known, as they are to any TLS stack.
//
// For TLS 1.2, offered reports whether the SessionTicket extension was
// present and ticket is its contents (empty for an empty extension). For
// TLS 1.3, offered reports whether the pre_shared_key extension was present
// and ticket is the PSK identity.
//
// The error is non-nil if and only if the handshake aborts; it is then an
// [*AbortError] and the Decision carries the alert and, when the callback
// was called, the status and return that led there.
func (e *Engine) Open(version uint16, offered bool, ticket []byte) (Decision, error) {
	d, err := e.open(version, nil, offered, ticket)
	e.record(&d, err)
	return d, err
}

// OpenConn is [Engine.Open] with the context checks: a ticket issued for
// another server name or application protocol than the connection's falls
// back to a full handshake with new tickets.
func (e *Engine) OpenConn(c ConnInfo, offered bool, ticket []byte) (Decision, error) {
	d, err := e.open(c.Version, &c, offered, ticket)
	e.record(&d, err)
	return d, err
}

func (e *Engine) open(version uint16, c *ConnInfo, offered bool, ticket []byte) (Decision, error) {
	d := Decision{Version: version, Offered: offered}
	switch {
	case version != format.VersionTLS12 && version != format.VersionTLS13:
		return e.abort(d, AlertInternalError, ErrVersion)
	case !offered:
		// No ticket: a full handshake; the callback is not called.
		d.Outcome = status.OutcomeIgnoreRenew
		d.Tickets = e.ticketsFor(version, status.OutcomeIgnoreRenew, false)
		return d, nil
	case len(ticket) == 0 && version == format.VersionTLS13:
		return e.abort(d, AlertDecodeError, ErrEmptyIdentity)
	}

	st, session, keyName := e.status(version, ticket)
	d.KeyName = keyName
	d, err := e.decide(d, c, st, session)
	if err == nil && d.Resumed {
		if ferr := e.useOnce(context.Background(), ticket, session); ferr != nil {
			e.fallBack(&d, ferr)
		}
	}
	return d, err
}

// fallBack turns a use outcome into a full handshake that sends new
// tickets, because of the failed check err.
func (e *Engine) fallBack(d *Decision, err error) {
	d.Resumed, d.Session, d.Fallback = false, nil, err
	d.Tickets = e.ticketsFor(d.Version, status.OutcomeIgnoreRenew, true)
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

// decide runs the callback, the decision table and the checks that follow
// the callback for a ticket of status st.
func (e *Engine) decide(d Decision, c *ConnInfo, st status.Status, session *format.State) (Decision, error) {
	d.Callback, d.Status = true, st
	d.Return = status.Default(st)
	if e.decCB != nil {
		d.Return = e.decCB(session, d.KeyName, st)
	}
	o, err := status.Decide(st, d.Return)
	d.Outcome = o
	if err != nil {
		return e.abort(d, AlertInternalError, err)
	}
	d.Tickets = e.ticketsFor(d.Version, o, true)
	if o.Resumed() {
		d.Resumed, d.Session = true, session
		if err := e.check(d.Version, c, session); err != nil {
			e.fallBack(&d, err)
		}
	}
	return d, nil
}

func (e *Engine) abort(d Decision, a Alert, err error) (Decision, error) {
	d.Alert, d.Tickets, d.Resumed, d.Session = a, 0, false, nil
	d.Outcome = status.OutcomeAbort
	return d, &AbortError{Alert: a, Status: d.Status, Return: d.Return, Callback: d.Callback, Err: err}
}

// status opens ticket and returns its status, the session when it opened,
// and the key name from its header when the header could be read.
func (e *Engine) status(version uint16, ticket []byte) (status.Status, *format.State, []byte) {
	if len(ticket) == 0 {
		return status.Empty, nil, nil
	}
	// One allocation holds the key name and the plaintext, which the
	// session's byte fields alias.
	buf := make([]byte, seal.KeyNameSize, seal.KeyNameSize+len(ticket))
	pt, opened, err := e.keys.OpenKey(buf[seal.KeyNameSize:], ticket, nil)
	var keyName []byte
	if err == nil || !errors.Is(err, seal.ErrMalformed) {
		keyName = buf[:seal.KeyNameSize:seal.KeyNameSize]
		copy(keyName, opened.Name[:])
	}
	if err != nil {
		if s, name, ok := e.openLegacy(ticket); ok {
			return status.SuccessRenew, s, name
		}
		// Malformed, unknown key and failed authentication are one status,
		// so the difference cannot leak.
		return status.NoDecrypt, nil, keyName
	}
	s, err := format.ParseState(pt)
	if err != nil {
		return status.NoDecrypt, nil, keyName
	}
	if !opened.Primary || version == format.VersionTLS13 {
		// A decrypt-only key asks for a new ticket; TLS 1.3 issues a new
		// ticket on every resumption by default.
		return status.SuccessRenew, s, keyName
	}
	return status.Success, s, keyName
}

// openLegacy opens ticket with the legacy opener, if one is configured, and
// returns its session as a State and the ticket's key name.
func (e *Engine) openLegacy(ticket []byte) (*format.State, []byte, bool) {
	if e.legacy == nil {
		return nil, nil, false
	}
	ls, err := e.legacy.Open(ticket)
	if err != nil {
		return nil, nil, false
	}
	lifetime := min(ls.Timeout/time.Second, 1<<32-1)
	return &format.State{
		Version:              ls.Version,
		CipherSuite:          ls.CipherSuite,
		Secret:               ls.MasterSecret,
		CreatedAt:            ls.Created,
		Lifetime:             uint32(lifetime),
		ExtendedMasterSecret: ls.ExtendedMasterSecret && ls.Version == format.VersionTLS12,
		ServerName:           ls.ServerName,
		ALPN:                 ls.ALPN,
		Binding:              bytes.Clone(e.binding),
	}, bytes.Clone(ticket[:legacy.KeyNameSize]), true
}

// check runs the checks OpenSSL runs after the decrypt callback on a session
// about to be resumed. c, if not nil, adds the server name and ALPN checks.
// A non-nil error names the failed check.
func (e *Engine) check(version uint16, c *ConnInfo, s *format.State) error {
	now := e.now()
	switch {
	case s.Version != version:
		return ErrVersionMismatch
	case s.CreatedAt.After(now.Add(e.skew)):
		return ErrNotYetValid
	case !now.Before(s.Expires()):
		return ErrExpired
	case !bytes.Equal(s.Binding, e.binding):
		return ErrBindingMismatch
	case c != nil && !strings.EqualFold(s.ServerName, c.ServerName):
		return ErrServerNameMismatch
	case c != nil && s.ALPN != c.ALPN:
		return ErrALPNMismatch
	case c != nil && c.CipherSuite != 0 && version == format.VersionTLS13 && !sameHash(s, c.CipherSuite):
		return ErrCipherSuiteMismatch
	}
	return nil
}

// sameHash reports whether the TLS 1.3 session s can be resumed with suite:
// the same KDF hash, and a secret of that hash's length. A session that
// keeps its secret in the host stack's embedded state is checked by hash
// only.
func sameHash(s *format.State, suite uint16) bool {
	h, ok := resumption.HashForSuite(suite)
	sh, sok := resumption.HashForSuite(s.CipherSuite)
	return ok && sok && h == sh && (len(s.Secret) == 0 || len(s.Secret) == h.Size())
}
