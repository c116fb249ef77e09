// Package status is the decision table of OpenSSL's
// SSL_CTX_set_session_ticket_cb: the status of a presented session ticket
// against the return of the application's decrypt callback.
//
// The table is a pure function over closed enums. It knows nothing about
// protocol versions, keys or wire formats: the engine computes a [Status] for
// each ticket it examines, asks the application's callback (or [Default]) for
// a [Return], and calls [Decide]. docs/decisions.md holds the table, row for
// row with the tests.
//
// # The callback contract
//
// The decrypt callback sees every examined ticket, whatever its status. It must
// look at the status before anything else: the session is available only for
// [Success] and [SuccessRenew]. Returning [Use] or [UseRenew] for [Empty] or
// [NoDecrypt] is a programming error, and the handshake aborts, as in OpenSSL;
// it is never silently turned into a full handshake.
package status

import (
	"errors"
	"fmt"
)

// Status is the result of trying to open a presented ticket, as passed to the
// decrypt callback (OpenSSL's SSL_TICKET_STATUS).
type Status uint8

const (
	// Empty: an empty ticket was presented (TLS 1.2 only: an empty
	// SessionTicket extension). No session; a new ticket should be sent.
	Empty Status = iota
	// NoDecrypt: the ticket could not be opened (malformed, unknown key,
	// failed authentication, unparsable state). No session; a new ticket
	// should be sent.
	NoDecrypt
	// Success: the ticket opened; no new ticket is needed.
	Success
	// SuccessRenew: the ticket opened, and a new ticket should be sent (for
	// example because a decrypt-only key opened it).
	SuccessRenew
)

var statusNames = [...]string{"Empty", "NoDecrypt", "Success", "SuccessRenew"}

func (s Status) String() string {
	if int(s) < len(statusNames) {
		return statusNames[s]
	}
	return fmt.Sprintf("Status(%d)", uint8(s))
}

// Valid reports whether s is one of the four statuses.
func (s Status) Valid() bool { return s <= SuccessRenew }

// Opened reports whether the ticket was opened, so that a session exists.
func (s Status) Opened() bool { return s == Success || s == SuccessRenew }

// Return is the decrypt callback's verdict on a ticket (OpenSSL's
// SSL_TICKET_RETURN).
type Return uint8

const (
	// Abort the handshake (the TLS stack sends an internal_error alert).
	// In TLS 1.3 a client may offer several tickets, so one unacceptable
	// ticket does not mean all are: use with caution.
	Abort Return = iota
	// Ignore: do not use the ticket, and do not send a new one.
	Ignore
	// IgnoreRenew: do not use the ticket, and send a new one. The default
	// for Empty and NoDecrypt.
	IgnoreRenew
	// Use the ticket, and do not send a new one. The default for Success.
	// Only valid with Success or SuccessRenew.
	Use
	// UseRenew: use the ticket, and send a new one. The default for
	// SuccessRenew. Only valid with Success or SuccessRenew.
	UseRenew
)

var returnNames = [...]string{"Abort", "Ignore", "IgnoreRenew", "Use", "UseRenew"}

func (r Return) String() string {
	if int(r) < len(returnNames) {
		return returnNames[r]
	}
	return fmt.Sprintf("Return(%d)", uint8(r))
}

// Valid reports whether r is one of the five returns.
func (r Return) Valid() bool { return r <= UseRenew }

// Default returns what a server without a decrypt callback does with a ticket
// of status s. Decide(s, Default(s)) is the behaviour without a callback.
func Default(s Status) Return {
	switch s {
	case Success:
		return Use
	case SuccessRenew:
		return UseRenew
	default:
		return IgnoreRenew
	}
}

// Outcome is what the handshake does with a ticket.
type Outcome uint8

const (
	// OutcomeAbort: the handshake aborts with an internal_error alert.
	OutcomeAbort Outcome = iota
	// OutcomeIgnore: the ticket is not used, and no new ticket is asked for.
	OutcomeIgnore
	// OutcomeIgnoreRenew: the ticket is not used; a new ticket is sent.
	OutcomeIgnoreRenew
	// OutcomeUse: the ticket is used; no new ticket is asked for.
	OutcomeUse
	// OutcomeUseRenew: the ticket is used, and a new ticket is sent.
	OutcomeUseRenew
)

var outcomeNames = [...]string{"abort", "ignore", "ignore+renew", "use", "use+renew"}

func (o Outcome) String() string {
	if int(o) < len(outcomeNames) {
		return outcomeNames[o]
	}
	return fmt.Sprintf("Outcome(%d)", uint8(o))
}

// Aborted reports whether the handshake aborts.
func (o Outcome) Aborted() bool { return o == OutcomeAbort }

// Resumed reports whether the ticket's session is used.
func (o Outcome) Resumed() bool { return o == OutcomeUse || o == OutcomeUseRenew }

// Renew reports whether a new ticket is to be sent.
func (o Outcome) Renew() bool { return o == OutcomeIgnoreRenew || o == OutcomeUseRenew }

// Errors returned by [Decide] with [OutcomeAbort]. Each one means the
// handshake aborts with an internal_error alert.
var (
	// ErrAbort: the callback returned Abort.
	ErrAbort = errors.New("status: decrypt callback aborted the handshake")
	// ErrUseWithoutSession: the callback returned Use or UseRenew for a
	// ticket that did not open (Empty or NoDecrypt).
	ErrUseWithoutSession = errors.New("status: decrypt callback chose to use a ticket that did not open")
	// ErrInvalidReturn: the callback returned a value outside the five.
	ErrInvalidReturn = errors.New("status: decrypt callback returned an invalid value")
	// ErrInvalidStatus: the caller passed a status outside the four.
	ErrInvalidStatus = errors.New("status: invalid ticket status")
)

// Decide maps a ticket status and the decrypt callback's return to the
// outcome, exactly as OpenSSL's tls_decrypt_ticket does. The error is non-nil
// if and only if the outcome is [OutcomeAbort], and says why.
func Decide(s Status, r Return) (Outcome, error) {
	switch {
	case !s.Valid():
		return OutcomeAbort, ErrInvalidStatus
	case !r.Valid():
		// Any value outside the five aborts (OpenSSL's default case).
		return OutcomeAbort, ErrInvalidReturn
	case r == Abort:
		return OutcomeAbort, ErrAbort
	case r == Ignore:
		// The session is dropped; ticket_expected is left alone.
		return OutcomeIgnore, nil
	case r == IgnoreRenew:
		// The session is dropped; a new ticket is expected.
		return OutcomeIgnoreRenew, nil
	case !s.Opened():
		// Use or UseRenew without a session: a fatal error, never a
		// silent downgrade.
		return OutcomeAbort, ErrUseWithoutSession
	case r == Use:
		return OutcomeUse, nil
	default: // UseRenew
		return OutcomeUseRenew, nil
	}
}
