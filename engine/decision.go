package engine

import (
	"bytes"
	"errors"
	"fmt"
	"time"

	"github.com/tlsticket/tlsticket/format"
	"github.com/tlsticket/tlsticket/resumption"
	"github.com/tlsticket/tlsticket/seal"
	"github.com/tlsticket/tlsticket/status"
)

//go:generate go run golang.org/x/tools/cmd/stringer@v0.52.0 -type=Alert -linecomment

// Alert is a TLS alert description (RFC 8446, Section 6).
type Alert uint8

// The alerts the engine asks the stack to send.
const (
	AlertNone             Alert = 0   // none
	AlertHandshakeFailure Alert = 40  // handshake_failure
	AlertIllegalParameter Alert = 47  // illegal_parameter
	AlertDecodeError      Alert = 50  // decode_error
	AlertDecryptError     Alert = 51  // decrypt_error
	AlertInternalError    Alert = 80  // internal_error
	AlertMissingExtension Alert = 109 // missing_extension
)

// Sentinel errors. Errors that abort a handshake are [*AbortError] values
// wrapping one of these or a [status] error. The checks after the decrypt
// callback are reported in Decision.Fallback, and the 0-RTT ones in
// Selection.EarlyDataErr: neither aborts.
var (
	// ErrNoKeys: Config.Keys is nil.
	ErrNoKeys = errors.New("engine: no key ring configured")
	// ErrVersion: the state's protocol version is not TLS 1.2 or TLS 1.3.
	ErrVersion = errors.New("engine: unsupported protocol version")
	// ErrGenerateTicket: the GenerateTicket callback failed.
	ErrGenerateTicket = errors.New("engine: generate ticket callback failed")
	// ErrSkipTicket is returned by a GenerateTicket callback to send no
	// ticket (OpenSSL's ticket key callback returning 0 on encryption):
	// Issue then returns an [Issued] with Skipped set, and no error.
	ErrSkipTicket = errors.New("engine: ticket skipped")
	// ErrSessionTooOld: the session's authentication is older than
	// Config.MaxSessionAge, so no ticket is issued for it.
	ErrSessionTooOld = errors.New("engine: session authenticated too long ago")

	// Aborts of the open and selection paths.

	// ErrEmptyIdentity: a TLS 1.3 client offered an empty PSK identity.
	ErrEmptyIdentity = errors.New("engine: empty TLS 1.3 PSK identity")
	// ErrMissingPSKModes: pre_shared_key without psk_key_exchange_modes
	// (RFC 8446, Section 4.2.9); the handshake aborts with missing_extension.
	ErrMissingPSKModes = errors.New("engine: pre_shared_key without psk_key_exchange_modes")
	// ErrBadBinder: the selected identity's binder does not verify (RFC
	// 8446, Section 4.2.11); the handshake aborts with decrypt_error.
	ErrBadBinder = errors.New("engine: PSK binder does not verify")
	// ErrUnknownSuite: the negotiated cipher suite is not a TLS 1.3 suite
	// this package knows.
	ErrUnknownSuite = errors.New("engine: unknown TLS 1.3 cipher suite")
	// ErrEMSDowngrade: the session used the extended master secret and the
	// ClientHello does not offer it (RFC 7627, Section 5.3: the server MUST
	// abort); the alert is handshake_failure.
	ErrEMSDowngrade = errors.New("engine: session used extended_master_secret, the client no longer offers it")

	// The checks after the decrypt callback (Decision.Fallback): the
	// ticket is not used, and new tickets are sent.

	// ErrVersionMismatch: the ticket was issued for another protocol version.
	ErrVersionMismatch = errors.New("engine: ticket issued for another protocol version")
	// ErrNotYetValid: the ticket's creation time is in the future.
	ErrNotYetValid = errors.New("engine: ticket created in the future")
	// ErrExpired: the ticket's lifetime has passed.
	ErrExpired = errors.New("engine: ticket expired")
	// ErrSessionExpired: the session was authenticated more than
	// Config.MaxSessionAge ago, however recent its ticket.
	ErrSessionExpired = errors.New("engine: session older than the maximum session age")
	// ErrBindingMismatch: the ticket was issued for another context.
	ErrBindingMismatch = errors.New("engine: ticket issued for another context")
	// ErrServerNameMismatch: the ticket was issued for another server name.
	ErrServerNameMismatch = errors.New("engine: ticket issued for another server name")
	// ErrALPNMismatch: the ticket was issued for another application protocol.
	ErrALPNMismatch = errors.New("engine: ticket issued for another application protocol")
	// ErrEMSMismatch: the session did not use the extended master secret
	// and the ClientHello offers it (RFC 7627, Section 5.3: no abbreviated
	// handshake).
	ErrEMSMismatch = errors.New("engine: session without extended_master_secret, the client offers it")
	// ErrCipherSuiteMismatch: the TLS 1.3 ticket's KDF hash differs from
	// the negotiated cipher suite's (RFC 8446, Section 4.2.11).
	ErrCipherSuiteMismatch = errors.New("engine: ticket bound to another cipher suite hash")
	// ErrTicketReused: with SingleUseTickets, the ticket was used before, or
	// the store could not tell.
	ErrTicketReused = errors.New("engine: single-use ticket already used")

	// The 0-RTT checks (Selection.EarlyDataErr): 0-RTT is rejected, the
	// handshake goes on in 1-RTT.

	// ErrEarlyDataNotFirst: 0-RTT is only for the first identity.
	ErrEarlyDataNotFirst = errors.New("engine: 0-RTT rejected: the first identity was not selected")
	// ErrEarlyDataAfterHRR: no 0-RTT after a HelloRetryRequest.
	ErrEarlyDataAfterHRR = errors.New("engine: 0-RTT rejected: HelloRetryRequest")
	// ErrEarlyDataDisabled: the server or the ticket allows no 0-RTT data.
	ErrEarlyDataDisabled = errors.New("engine: 0-RTT rejected: not allowed by the server or the ticket")
	// ErrEarlyDataSuite: the cipher suite differs from the ticket's.
	ErrEarlyDataSuite = errors.New("engine: 0-RTT rejected: cipher suite differs from the ticket's")
	// ErrEarlyDataStale: the ticket age is outside the freshness window.
	ErrEarlyDataStale = errors.New("engine: 0-RTT rejected: ticket age outside the freshness window")
	// ErrNoReplayStore: no replay store is configured.
	ErrNoReplayStore = errors.New("engine: 0-RTT rejected: no replay store")
	// ErrEarlyDataReplay: the replay store has seen this ClientHello (or
	// cannot tell, a false positive; either way 0-RTT is rejected).
	ErrEarlyDataReplay = errors.New("engine: 0-RTT rejected: possible replay")
	// ErrReplayStore: the replay store could not answer; 0-RTT fails closed.
	ErrReplayStore = errors.New("engine: 0-RTT rejected: replay store unavailable")
)

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

// EMS is what a TLS 1.2 ClientHello said of the extended_master_secret
// extension (RFC 7627), for the check of Section 5.3 on resumption.
type EMS uint8

const (
	// EMSUnchecked: the stack applies RFC 7627, Section 5.3 itself, as
	// crypto/tls does. Custom TLS 1.2 stacks should say what the client
	// sent instead.
	EMSUnchecked EMS = iota
	// EMSOffered: the ClientHello carries extended_master_secret.
	EMSOffered
	// EMSNotOffered: the ClientHello does not.
	EMSNotOffered
)

// ConnInfo is what the engine knows of the connection a ticket is presented
// on, for the checks after the decrypt callback.
type ConnInfo struct {
	// Version is the negotiated protocol version.
	Version uint16
	// ServerName is the ClientHello's server_name ("" if none). A ticket
	// issued under another name is not resumed. Names are compared
	// ASCII-case-insensitively; any other byte must be equal.
	ServerName string
	// ALPN is the negotiated application protocol ("" if none). A ticket
	// issued with another protocol is not resumed.
	ALPN string
	// CipherSuite is the negotiated cipher suite, or zero if not known. A
	// TLS 1.3 ticket whose suite has another KDF hash is not resumed.
	CipherSuite uint16
	// EMS is what a TLS 1.2 ClientHello said of extended_master_secret.
	EMS EMS
}

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
	// full handshake with new tickets: ErrVersionMismatch, ErrNotYetValid,
	// ErrExpired, ErrSessionExpired, ErrBindingMismatch,
	// ErrServerNameMismatch, ErrALPNMismatch, ErrEMSMismatch,
	// ErrCipherSuiteMismatch or ErrTicketReused (possibly wrapping the
	// store's error).
	Fallback error
	// Resumed reports whether the session in Session is to be resumed.
	Resumed bool
	// Session is the opened session state when Resumed; otherwise the
	// zero State. Its byte fields share one buffer with KeyName, which
	// nothing else holds. Warning: it holds the session's secret.
	Session format.State
	// KeyName is the key name read from the ticket's header, if any.
	KeyName []byte
	// Tickets is the number of NewSessionTicket messages to send on this
	// connection.
	Tickets int
	// Alert is the alert to send when the handshake aborts; zero otherwise.
	Alert Alert
	// TicketAge is how long ago the session's ticket was issued, by the
	// engine's clock, when Resumed (the ticket age histogram of the
	// metrics counts it).
	TicketAge time.Duration
}

// examine computes the status of ticket, calls the decrypt callback, applies
// the decision table and, for a use outcome, the checks after the callback.
// The ticket is not empty, or is an empty TLS 1.2 SessionTicket.
//
// It fills *d in place, as Open's result: a Decision holds a State, and
// copying it up the calls costs as much as the checks.
func (e *Engine) examine(d *Decision, c *ConnInfo, ticket []byte) error {
	*d = Decision{Version: c.Version, Offered: true, Callback: true}
	d.Status, d.KeyName = e.status(c.Version, ticket, &d.Session)
	d.Return = status.Default(d.Status)
	if e.decCB != nil {
		d.Return = e.decCB(TicketInfo{Status: d.Status, Session: d.Session, KeyName: d.KeyName, Conn: *c})
	}
	o, err := status.Decide(d.Status, d.Return)
	d.Outcome = o
	if err != nil {
		return e.abort(d, AlertInternalError, err)
	}
	d.Tickets = e.ticketsFor(d.Version, o, true)
	if !o.Resumed() {
		d.dropSession()
		return nil
	}
	d.Resumed = true
	d.TicketAge, err = e.check(c, &d.Session)
	switch {
	case errors.Is(err, ErrEMSDowngrade):
		return e.abort(d, AlertHandshakeFailure, err)
	case err != nil:
		e.fallBack(d, err)
	}
	return nil
}

// fallBack turns a use outcome into a full handshake that sends new
// tickets, because of the failed check err.
func (e *Engine) fallBack(d *Decision, err error) {
	d.dropSession()
	d.Resumed, d.Fallback, d.TicketAge = false, err, 0
	d.Tickets = e.ticketsFor(d.Version, status.OutcomeIgnoreRenew, true)
}

// dropSession wipes the secrets of a session the decision does not resume
// (the callback saw it, and must not have kept it) and leaves the zero
// State. They live in the buffer of this Open alone, so nothing else reads
// them.
func (d *Decision) dropSession() {
	clear(d.Session.Secret)
	clear(d.Session.Embedded)
	d.Session = format.State{}
}

// abort turns d into an abort with alert a and returns its error.
func (e *Engine) abort(d *Decision, a Alert, err error) error {
	d.dropSession()
	d.Alert, d.Tickets, d.Resumed, d.TicketAge = a, 0, false, 0
	d.Outcome = status.OutcomeAbort
	return &AbortError{Alert: a, Status: d.Status, Return: d.Return, Callback: d.Callback, Err: err}
}

// status opens ticket into st and returns its status (the first column of
// docs/decisions.md) and the key name from its header when the header could
// be read. st is set only when the ticket opened.
//
//   - empty (a TLS 1.2 SessionTicket extension with no ticket): Empty;
//   - malformed, unknown key, failed authentication, or a plaintext that is
//     not a session state: NoDecrypt, one status so the difference cannot
//     leak;
//   - opened by a key that no longer seals, or by LegacyTickets:
//     SuccessRenew;
//   - opened by the key that seals: Success for TLS 1.2; for TLS 1.3 as
//     Config.RenewTLS13 says (SuccessRenew by default, as OpenSSL does).
//
// Opening allocates once: one buffer, free of pointers so the garbage
// collector never scans it, holds the key name and then the plaintext that
// the session's byte fields alias. (A client certificate chain takes a
// second allocation, its slice of certificates.)
func (e *Engine) status(version uint16, ticket []byte, st *format.State) (status.Status, []byte) {
	if len(ticket) == 0 {
		return status.Empty, nil
	}
	// The plaintext is shorter than the ticket.
	buf := make([]byte, seal.KeyNameSize, seal.KeyNameSize+len(ticket))
	pt, keyInfo, err := e.keys.OpenKey(buf[seal.KeyNameSize:], ticket, nil)
	var keyName []byte
	if err == nil || !errors.Is(err, seal.ErrMalformed) {
		keyName = buf[:copy(buf, keyInfo.Name[:]):seal.KeyNameSize]
	}
	if err != nil {
		if name, ok := e.openLegacy(ticket, st); ok {
			return status.SuccessRenew, name
		}
		return status.NoDecrypt, keyName
	}
	if err := format.ParseStateInto(st, pt); err != nil {
		return status.NoDecrypt, keyName
	}
	if e.renews(version, keyInfo.Primary) {
		return status.SuccessRenew, keyName
	}
	return status.Success, keyName
}

// openLegacy opens ticket into st with Config.LegacyTickets, if set.
func (e *Engine) openLegacy(ticket []byte, st *format.State) ([]byte, bool) {
	if e.legacyTickets == nil {
		return nil, false
	}
	s, name, err := e.legacyTickets.OpenTicket(ticket)
	if err != nil || s == nil {
		return nil, false
	}
	*st = *s
	st.Binding = bytes.Clone(e.binding)
	return name, true
}

// check runs the checks OpenSSL runs after the decrypt callback on a session
// about to be resumed, in this order. A non-nil error names the failed
// check; ErrEMSDowngrade aborts, every other one falls back to a full
// handshake. It also returns the ticket's age.
//
// The times are compared through the ticket's age, one subtraction
// (time.Time.Sub saturates, so a creation time centuries away still
// compares right): created after now+skew is age < -skew, and expired at
// created+lifetime is age >= lifetime.
func (e *Engine) check(c *ConnInfo, s *format.State) (age time.Duration, err error) {
	now := e.now()
	age = now.Sub(s.CreatedAt)
	sessionAge := age
	if !s.AuthenticatedAt.IsZero() {
		sessionAge = now.Sub(s.AuthenticatedAt)
	}
	switch {
	case s.Version != c.Version:
		return age, ErrVersionMismatch
	case age < -e.skew:
		return age, ErrNotYetValid
	case age >= time.Duration(s.Lifetime)*time.Second:
		return age, ErrExpired
	case sessionAge > e.maxAge:
		return age, ErrSessionExpired
	case !bytes.Equal(s.Binding, e.binding):
		return age, ErrBindingMismatch
	case !equalServerName(s.ServerName, c.ServerName):
		return age, ErrServerNameMismatch
	case s.ALPN != c.ALPN:
		return age, ErrALPNMismatch
	case c.Version == format.VersionTLS12 && s.ExtendedMasterSecret && c.EMS == EMSNotOffered:
		return age, ErrEMSDowngrade
	case c.Version == format.VersionTLS12 && !s.ExtendedMasterSecret && c.EMS == EMSOffered:
		return age, ErrEMSMismatch
	case c.Version == format.VersionTLS13 && c.CipherSuite != 0 && !sameHash(s, c.CipherSuite):
		return age, ErrCipherSuiteMismatch
	}
	return age, nil
}

// equalServerName compares two DNS names as RFC 4343 says: ASCII letters
// without regard to case, every other byte exactly. Unicode case folding
// would let "example.co\u212a" (KELVIN SIGN) match "example.cok".
func equalServerName(a, b string) bool {
	if a == b {
		return true
	}
	if len(a) != len(b) {
		return false
	}
	for i := range len(a) {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
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
