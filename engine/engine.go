// Package engine is the API a TLS stack calls to issue and open session
// tickets: it composes the wire formats of package format, the key ring of
// package seal and the decision table of package status, and applies the
// renewal rules of RFC 5077 (TLS 1.2) and RFC 8446 (TLS 1.3).
//
// # Issuing
//
// After a full handshake (or a resumption that renews), the stack fills a
// [format.State] with the session's secret and parameters and calls
// [Engine.Issue] once per ticket. The engine stamps the creation time,
// lifetime, binding and (TLS 1.3) a fresh ticket_age_add, calls the
// GenerateTicket callback, seals the state and returns the ticket with the
// NewSessionTicket message to send.
//
// # Opening
//
// For each presented ticket the stack calls [Engine.Open]. The engine computes
// the ticket's [status.Status], calls the DecryptTicket callback, applies
// [status.Decide], then runs the checks OpenSSL runs after its callback
// (protocol version, creation time, expiry, binding). The [Decision] says
// whether to resume, whether to abort and with which alert, and how many
// NewSessionTicket messages to send. docs/decisions.md holds the full table.
//
// An Engine is safe for concurrent use. Rotate keys by storing a new ring in
// the [seal.Keyring] given in [Config.Keys].
package engine

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/tlsticket/tlsticket/format"
	"github.com/tlsticket/tlsticket/resumption"
	"github.com/tlsticket/tlsticket/seal"
	"github.com/tlsticket/tlsticket/seal/legacy"
	"github.com/tlsticket/tlsticket/status"
)

const (
	// DefaultLifetime is the ticket lifetime when Config.Lifetime is zero.
	// It is OpenSSL's default session timeout: short enough that a ticket
	// key leak exposes hours, not days, of resumed sessions.
	DefaultLifetime = 2 * time.Hour
	// MaxLifetimeTLS13 caps the lifetime of TLS 1.3 tickets (RFC 8446,
	// Section 4.6.1: servers MUST NOT use a value over 604800 seconds).
	MaxLifetimeTLS13 = format.MaxTicketLifetimeDuration
	// DefaultNumTickets is the number of TLS 1.3 tickets sent after a full
	// handshake when Config.NumTickets is zero, as in OpenSSL.
	DefaultNumTickets = 2
	// MaxClockSkew is how far in the future a ticket's creation time may
	// be, to allow for clocks across a fleet, before the ticket is refused.
	MaxClockSkew = time.Minute
)

// Config configures an [Engine]. It is copied by [New]; later changes have
// no effect.
type Config struct {
	// Keys seals new tickets with its primary key and opens tickets under
	// any of its keys. Required.
	Keys *seal.Keyring

	// Lifetime is how long an issued ticket may be used. Zero means
	// DefaultLifetime. TLS 1.3 tickets are capped at MaxLifetimeTLS13.
	Lifetime time.Duration

	// NumTickets is the number of TLS 1.3 tickets to send after a full
	// handshake. Zero means DefaultNumTickets; a negative value sends none
	// (as SSL_CTX_set_num_tickets(0) does).
	NumTickets int

	// MaxEarlyData is the max_early_data_size advertised in TLS 1.3 tickets
	// (RFC 8446, Section 4.6.1). Zero advertises no 0-RTT.
	MaxEarlyData uint32

	// Binding, if not empty, is a digest of the context a ticket is good
	// for (the server's certificate and client authentication
	// configuration). It is sealed into every ticket, and a ticket with a
	// different binding is not resumed (compare OpenSSL's sid_ctx).
	Binding []byte

	// ReplayStore records the binders of accepted 0-RTT ClientHellos (RFC
	// 8446, Section 8.2). Without one, 0-RTT is never accepted: every server
	// instance MUST accept a given 0-RTT handshake at most once (Section 8).
	ReplayStore resumption.ReplayStore

	// FreshnessWindow is how far a ticket's expected arrival time may be
	// from the server's clock for 0-RTT to be accepted (RFC 8446, Section
	// 8.3). Zero means resumption.DefaultFreshnessWindow (10 s).
	FreshnessWindow time.Duration

	// MaxClockSkew is the largest difference allowed between the clock of
	// any server of the fleet and true time. It bounds how far in the future
	// a ticket's creation time may be, and it lengthens each 0-RTT replay
	// record by twice its value (see resumption.ReplayTTL), so that a server
	// whose clock is behind cannot accept a ClientHello another accepted.
	// Zero means the MaxClockSkew constant (1 minute).
	MaxClockSkew time.Duration

	// SingleUseTickets makes every ticket good for one resumption only (RFC
	// 8446, Section 8.1), recorded in ReplayStore, which is then required.
	// A ticket seen before, or a store that cannot answer, gives a full
	// handshake.
	SingleUseTickets bool

	// AllowPSKOnly lets TLS 1.3 resume with psk_ke, a PSK without an
	// (EC)DHE exchange and so without forward secrecy for the resumed
	// connection (RFC 8446, Section 4.2.9). By default only psk_dhe_ke is
	// accepted.
	AllowPSKOnly bool

	// Legacy, if not nil, also opens the tickets of an OpenSSL-based server
	// (nginx, HAProxy) that this server replaces, under the keys it was
	// given (seal/legacy). A ticket it opens has status SuccessRenew, so
	// clients move to tickets of this engine; its session carries the
	// master secret (or TLS 1.3 PSK), no embedded state, and this engine's
	// binding.
	Legacy *legacy.Opener

	// Logger, if not nil, receives one Debug record per decision and per
	// issued ticket. Records carry no secret: no session, no key bytes.
	Logger *slog.Logger

	// Time returns the current time. Nil means time.Now.
	Time func() time.Time

	// Rand is the source of ticket_age_add values. Nil means
	// crypto/rand.Reader. Nonces come from the key ring's own source.
	Rand io.Reader

	// GenerateTicket, if not nil, is called once for each ticket about to
	// be sealed (OpenSSL's gen_cb). It may set s.AppData, which comes back
	// in DecryptTicket. A non-nil error aborts issuing; the TLS stack
	// should send an internal_error alert.
	GenerateTicket func(s *format.State) error

	// DecryptTicket, if not nil, is called once for each presented ticket
	// after the engine tried to open it (OpenSSL's dec_cb), whatever the
	// status. s is non-nil only for status.Success and status.SuccessRenew,
	// and must not be retained unless the decision resumes it. keyName is
	// the key name read from the ticket's header, or nil if the header
	// could not be read. Nil means status.Default.
	DecryptTicket func(s *format.State, keyName []byte, st status.Status) status.Return
}

// Engine issues and opens session tickets. Create it with [New].
type Engine struct {
	keys         *seal.Keyring
	lifetime     time.Duration
	numTickets   int
	maxEarlyData uint32
	binding      []byte
	now          func() time.Time
	rand         io.Reader
	genCB        func(*format.State) error
	decCB        func(*format.State, []byte, status.Status) status.Return
	replay       resumption.ReplayStore
	window       time.Duration
	skew         time.Duration
	pskOnly      bool
	singleUse    bool
	log          *slog.Logger
	legacy       *legacy.Opener
	metrics      metrics
}

// Sentinel errors. Errors from [Engine.Open] that abort a handshake are
// [*AbortError] values wrapping one of these or a [status] error.
var (
	// ErrNoKeys: Config.Keys is nil.
	ErrNoKeys = errors.New("engine: no key ring configured")
	// ErrVersion: the state's protocol version is not TLS 1.2 or TLS 1.3.
	ErrVersion = errors.New("engine: unsupported protocol version")
	// ErrEmptyIdentity: a TLS 1.3 client offered an empty PSK identity.
	ErrEmptyIdentity = errors.New("engine: empty TLS 1.3 PSK identity")
	// ErrGenerateTicket: the GenerateTicket callback failed.
	ErrGenerateTicket = errors.New("engine: generate ticket callback failed")

	// The checks after the decrypt callback. They are reported in
	// Decision.Fallback: the ticket is not used, new tickets are sent.

	// ErrVersionMismatch: the ticket was issued for another protocol version.
	ErrVersionMismatch = errors.New("engine: ticket issued for another protocol version")
	// ErrNotYetValid: the ticket's creation time is in the future.
	ErrNotYetValid = errors.New("engine: ticket created in the future")
	// ErrExpired: the ticket's lifetime has passed.
	ErrExpired = errors.New("engine: ticket expired")
	// ErrBindingMismatch: the ticket was issued for another context.
	ErrBindingMismatch = errors.New("engine: ticket issued for another context")
	// ErrServerNameMismatch: the ticket was issued for another server name.
	ErrServerNameMismatch = errors.New("engine: ticket issued for another server name")
	// ErrALPNMismatch: the ticket was issued for another application protocol.
	ErrALPNMismatch = errors.New("engine: ticket issued for another application protocol")
	// ErrTicketReused: with SingleUseTickets, the ticket was used before, or
	// the store could not tell.
	ErrTicketReused = errors.New("engine: single-use ticket already used")
	// ErrCipherSuiteMismatch: the TLS 1.3 ticket's KDF hash differs from
	// the negotiated cipher suite's (RFC 8446, Section 4.2.11).
	ErrCipherSuiteMismatch = errors.New("engine: ticket bound to another cipher suite hash")
)

// New returns an Engine for cfg.
func New(cfg *Config) (*Engine, error) {
	if cfg == nil || cfg.Keys == nil {
		return nil, ErrNoKeys
	}
	if cfg.Lifetime < 0 {
		return nil, errors.New("engine: negative ticket lifetime")
	}
	e := &Engine{
		keys:         cfg.Keys,
		lifetime:     cfg.Lifetime,
		numTickets:   cfg.NumTickets,
		maxEarlyData: cfg.MaxEarlyData,
		binding:      append([]byte(nil), cfg.Binding...),
		now:          cfg.Time,
		rand:         cfg.Rand,
		genCB:        cfg.GenerateTicket,
		decCB:        cfg.DecryptTicket,
		replay:       cfg.ReplayStore,
		window:       cfg.FreshnessWindow,
		skew:         cfg.MaxClockSkew,
		pskOnly:      cfg.AllowPSKOnly,
		singleUse:    cfg.SingleUseTickets,
		log:          cfg.Logger,
		legacy:       cfg.Legacy,
	}
	if e.singleUse && e.replay == nil {
		return nil, errors.New("engine: single-use tickets need a replay store")
	}
	if e.window <= 0 {
		e.window = resumption.DefaultFreshnessWindow
	}
	if e.skew <= 0 {
		e.skew = MaxClockSkew
	}
	if len(e.binding) > 255 {
		return nil, errors.New("engine: binding longer than 255 bytes")
	}
	if e.lifetime == 0 {
		e.lifetime = DefaultLifetime
	}
	switch {
	case e.numTickets == 0:
		e.numTickets = DefaultNumTickets
	case e.numTickets < 0:
		e.numTickets = 0
	}
	if e.now == nil {
		e.now = time.Now
	}
	if e.rand == nil {
		e.rand = rand.Reader
	}
	return e, nil
}

// NumTickets returns the number of TLS 1.3 tickets sent after a full
// handshake.
func (e *Engine) NumTickets() int { return e.numTickets }

// lifetimeFor returns the lifetime in whole seconds of a ticket issued now
// for version v.
func (e *Engine) lifetimeFor(v uint16) uint32 {
	d := e.lifetime
	if v == format.VersionTLS13 && d > MaxLifetimeTLS13 {
		d = MaxLifetimeTLS13
	}
	secs := int64(d / time.Second)
	if secs > int64(^uint32(0)) {
		secs = int64(^uint32(0))
	}
	return uint32(secs)
}

func (e *Engine) randUint32() (uint32, error) {
	var b [4]byte
	if _, err := io.ReadFull(e.rand, b[:]); err != nil {
		return 0, fmt.Errorf("engine: failed to read randomness: %w", err)
	}
	return binary.BigEndian.Uint32(b[:]), nil
}
