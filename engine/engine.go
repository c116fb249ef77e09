// Package engine is the API a TLS stack calls to issue and open session
// tickets: it composes the wire formats of package format, the keys of
// package seal and the decision table of package status, and applies the
// renewal rules of RFC 5077 (TLS 1.2) and RFC 8446 (TLS 1.3).
//
// The files of the package follow the rules they implement:
// decision.go (status, callback, table, the checks after the callback),
// renewal.go (how many tickets each version sends), open.go (TLS 1.2
// tickets), select13.go (the TLS 1.3 identity walk and binders),
// earlydata.go (0-RTT), issue.go (issuing) and metrics.go (counters).
//
// # Issuing
//
// After a full handshake (or a resumption that renews), the stack fills a
// [format.State] with the session's secret and parameters and calls
// [Engine.Issue] once per ticket, or a [TicketIssuer] for the tickets of a
// TLS 1.3 connection. The engine stamps the creation time, lifetime,
// binding and (TLS 1.3) a fresh ticket_age_add, calls the GenerateTicket
// callback, seals the state and returns the ticket with the
// NewSessionTicket message to send.
//
// # Opening
//
// For a TLS 1.2 SessionTicket the stack calls [Engine.Open] with what it
// knows of the connection ([ConnInfo]); for a TLS 1.3 ClientHello it calls
// [Engine.SelectTLS13], which also verifies the binder and decides 0-RTT.
// The engine computes the ticket's [status.Status], calls the DecryptTicket
// callback, applies [status.Decide], then runs the checks OpenSSL runs
// after its callback (protocol version, creation time, expiry, session age,
// binding, server name, ALPN, extended master secret, cipher suite). The
// [Decision] says whether to resume, whether to abort and with which alert,
// and how many NewSessionTicket messages to send. docs/decisions.md holds
// the full table.
//
// An Engine is safe for concurrent use. Rotate keys by storing a new ring in
// the [seal.Keyring] given in [Config.Keys] (package seal's Rotator does it
// on a schedule).
package engine

import (
	"bytes"
	"cmp"
	"errors"
	"io"
	"log/slog"
	"time"

	"github.com/tlsticket/tlsticket/format"
	"github.com/tlsticket/tlsticket/resumption"
	"github.com/tlsticket/tlsticket/seal"
	"github.com/tlsticket/tlsticket/status"
)

const (
	// DefaultLifetime is the ticket lifetime when Config.Lifetime is zero.
	// It is OpenSSL's default session timeout: short enough that a ticket
	// key leak exposes hours, not days, of resumed sessions.
	DefaultLifetime = 2 * time.Hour
	// DefaultMaxSessionAge is the longest time a session may be resumed and
	// renewed after the handshake that authenticated it, when
	// Config.MaxSessionAge is zero: 7 days, as BoringSSL caps it and as RFC
	// 8446, Section 4.6.1 caps a TLS 1.3 ticket.
	DefaultMaxSessionAge = 7 * 24 * time.Hour
	// DefaultNumTickets is the number of TLS 1.3 tickets sent after a full
	// handshake when Config.NumTickets is zero, as in OpenSSL.
	DefaultNumTickets = 2
	// DefaultMaxClockSkew is Config.MaxClockSkew when it is zero: how far
	// the clocks of a fleet's servers may be from true time. A ticket created further in the future is refused, and
	// 0-RTT replay records are kept long enough for every server within it
	// (see docs/threat-model.md).
	DefaultMaxClockSkew = time.Minute
)

// Keys seals new tickets and opens presented ones. [*seal.Keyring]
// implements it; a sealer backed by a KMS or an HSM can too.
type Keys interface {
	// Seal appends the sealed plaintext to dst, under the key that seals
	// now.
	Seal(dst, plaintext, additionalData []byte) ([]byte, error)
	// OpenKey appends the opened plaintext to dst and says which key opened
	// it; see [seal.Ring.OpenKey].
	OpenKey(dst, ticket, additionalData []byte) ([]byte, seal.Opened, error)
}

var _ Keys = (*seal.Keyring)(nil)

// TicketOpener opens tickets that [Config.Keys] did not seal, such as the
// tickets of an OpenSSL-based server that this one replaces (package
// seal/legacy implements it). A ticket it opens has status SuccessRenew.
type TicketOpener interface {
	// OpenTicket returns the session of ticket and the key name read from
	// it, or an error if it cannot open the ticket.
	OpenTicket(ticket []byte) (s *format.State, keyName []byte, err error)
}

// TicketInfo is what the DecryptTicket callback (OpenSSL's dec_cb) learns
// of a presented ticket.
type TicketInfo struct {
	// Status is the ticket's status.
	Status status.Status
	// Session is the opened session for status.Success and
	// status.SuccessRenew ([status.Status.Opened]), the zero State
	// otherwise. Its byte fields must not be retained unless the decision
	// resumes it: otherwise Open wipes Secret and Embedded before it
	// returns. Warning: it holds the session's secret.
	Session format.State
	// KeyName is the key name read from the ticket's header, or nil if
	// the header could not be read.
	KeyName []byte
	// Conn is the connection the ticket is presented on.
	Conn ConnInfo
}

// Config configures an [Engine]. It is copied by [New]; later changes have
// no effect.
type Config struct {
	// Keys seals new tickets with its primary key and opens tickets under
	// any of its keys, usually a [*seal.Keyring]. Required.
	Keys Keys

	// Lifetime is how long an issued ticket may be used. Zero means
	// DefaultLifetime. TLS 1.3 tickets are capped at format.MaxTicketLifetime, and
	// every ticket at the session's remaining MaxSessionAge.
	Lifetime time.Duration

	// MaxSessionAge is how long after its authentication (the full
	// handshake) a session may still be resumed, however often its tickets
	// are renewed. Zero means DefaultMaxSessionAge.
	MaxSessionAge time.Duration

	// NumTickets is the number of TLS 1.3 tickets to send after a full
	// handshake. Zero means DefaultNumTickets; a negative value sends none.
	// Porting from OpenSSL: SSL_CTX_set_num_tickets(ctx, 0) is
	// NumTickets: -1 here (docs/porting-from-openssl.md).
	NumTickets int

	// RenewTLS13 says which TLS 1.3 tickets get status SuccessRenew; the
	// others get Success. The zero value, RenewAlways, renews every one,
	// as OpenSSL does with its built-in ticket keys.
	RenewTLS13 Renewal

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
	// Zero means DefaultMaxClockSkew (1 minute).
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

	// LegacyTickets, if not nil, also opens tickets the key ring did not
	// seal, such as those of an OpenSSL-based server (nginx, HAProxy) that
	// this server replaces (seal/legacy.Opener). Their sessions get status
	// SuccessRenew, so clients move to tickets of this engine, and this
	// engine's binding.
	LegacyTickets TicketOpener

	// Logger, if not nil, receives one Debug record per decision and per
	// issued ticket. Records carry no secret: no session, no key bytes.
	Logger *slog.Logger

	// Time returns the current time. Nil means the wall clock, as time.Now
	// reads it without the monotonic reading (no use for ticket times).
	Time func() time.Time

	// Rand is the source of ticket_age_add values. Nil means a
	// ChaCha8 generator per goroutine seeded from crypto/rand. Nonces come
	// from the key ring's own source.
	Rand io.Reader

	// GenerateTicket, if not nil, is called once for each ticket about to
	// be sealed (OpenSSL's gen_cb). It may set s.AppData, which comes back
	// in DecryptTicket. Returning ErrSkipTicket sends no ticket and the
	// handshake goes on; any other error aborts issuing, and the TLS stack
	// should send an internal_error alert.
	GenerateTicket func(s *format.State) error

	// DecryptTicket, if not nil, is called once for each presented ticket
	// after the engine tried to open it (OpenSSL's dec_cb), whatever the
	// status. Nil means status.Default.
	DecryptTicket func(t TicketInfo) status.Return
}

// Engine issues and opens session tickets. Create it with [New].
type Engine struct {
	keys          Keys
	lifetime      time.Duration
	maxAge        time.Duration
	numTickets    int
	renew13       Renewal
	maxEarlyData  uint32
	binding       []byte
	now           func() time.Time
	rand          io.Reader
	genCB         func(*format.State) error
	decCB         func(TicketInfo) status.Return
	replay        resumption.ReplayStore
	window        time.Duration
	skew          time.Duration
	pskOnly       bool
	singleUse     bool
	log           *slog.Logger
	legacyTickets TicketOpener
	metrics       metrics
}

// New returns an Engine for cfg.
func New(cfg *Config) (*Engine, error) {
	if cfg == nil || cfg.Keys == nil {
		return nil, ErrNoKeys
	}
	switch {
	case cfg.Lifetime < 0:
		return nil, errors.New("engine: negative ticket lifetime")
	case cfg.MaxSessionAge < 0:
		return nil, errors.New("engine: negative maximum session age")
	case cfg.RenewTLS13 > RenewOnOldKey:
		return nil, errors.New("engine: unknown TLS 1.3 renewal policy")
	case cfg.SingleUseTickets && cfg.ReplayStore == nil:
		return nil, errors.New("engine: single-use tickets need a replay store")
	case len(cfg.Binding) > 255:
		return nil, errors.New("engine: binding longer than 255 bytes")
	}
	e := &Engine{
		keys:          cfg.Keys,
		lifetime:      cmp.Or(cfg.Lifetime, DefaultLifetime),
		maxAge:        cmp.Or(cfg.MaxSessionAge, DefaultMaxSessionAge),
		numTickets:    cfg.NumTickets,
		renew13:       cfg.RenewTLS13,
		maxEarlyData:  cfg.MaxEarlyData,
		binding:       bytes.Clone(cfg.Binding),
		now:           cfg.Time,
		rand:          cfg.Rand,
		genCB:         cfg.GenerateTicket,
		decCB:         cfg.DecryptTicket,
		replay:        cfg.ReplayStore,
		window:        cfg.FreshnessWindow,
		skew:          cmp.Or(cfg.MaxClockSkew, DefaultMaxClockSkew),
		pskOnly:       cfg.AllowPSKOnly,
		singleUse:     cfg.SingleUseTickets,
		log:           cfg.Logger,
		legacyTickets: cfg.LegacyTickets,
	}
	if e.window <= 0 {
		e.window = resumption.DefaultFreshnessWindow
	}
	switch {
	case e.numTickets == 0:
		e.numTickets = DefaultNumTickets
	case e.numTickets < 0:
		e.numTickets = 0
	}
	if e.now == nil {
		e.now = wallClock
	}
	return e, nil
}

// NumTickets returns the number of TLS 1.3 tickets sent after a full
// handshake.
func (e *Engine) NumTickets() int { return e.numTickets }
