// Package tlsadapter plugs a tlsticket [engine.Engine] into crypto/tls
// through [tls.Config.WrapSession] and [tls.Config.UnwrapSession] (Go 1.21
// and later).
//
// WrapSession seals crypto/tls's own session state ([tls.SessionState.Bytes])
// inside a tlsticket session state, with the SNI, the ALPN protocol and the
// peer certificates, calling the engine's GenerateTicket callback. UnwrapSession
// runs the engine's decision: the status, the DecryptTicket callback, the
// decision table and the checks after it (version, time, binding, SNI, ALPN),
// and maps the outcome to what crypto/tls understands:
//
//   - abort (the callback returned Abort, an invalid value, or Use for a
//     ticket that did not open): an error; crypto/tls terminates the
//     connection;
//   - Ignore, IgnoreRenew, NoDecrypt, or a failed check: (nil, nil), a full
//     handshake;
//   - Use, UseRenew: the session, and crypto/tls resumes it.
//
// # What crypto/tls cannot express
//
// crypto/tls decides on its own how many tickets to send, and the engine's
// Decision.Tickets is not honoured:
//
//   - TLS 1.2: crypto/tls sends a new ticket on every handshake in which the
//     client sent the SessionTicket extension, including every resumption.
//     Use (no renewal) still gets a new ticket; Ignore (no renewal) still
//     gets a new ticket after the full handshake.
//   - TLS 1.3: crypto/tls sends exactly one ticket after every handshake,
//     full or resumed. Config.NumTickets has no effect, Use still gets a
//     new ticket, and Ignore still gets one.
//   - TLS 1.3: crypto/tls checks only one PSK identity's binder and stops at
//     the first identity it can use, as the engine does; it tries at most
//     five identities.
//   - TLS 1.2: crypto/tls calls UnwrapSession with an empty ticket both when
//     the client sent an empty SessionTicket extension and when it sent
//     none, so the adapter treats both as no ticket offered: the
//     DecryptTicket callback never sees status.Empty.
//   - crypto/tls sends the ticket lifetime of its own (7 days); the engine
//     refuses tickets older than Config.Lifetime on resumption.
//
// # QUIC and 0-RTT
//
// Under quic-go (crypto/tls's QUIC API) a ticket may allow 0-RTT, and
// crypto/tls then accepts early data with no age check and no replay
// record. The adapter leaves 0-RTT on for a resumed ticket only if the
// early-data context sealed in it matches [Adapter.EarlyDataContext] (RFC
// 9000, Section 7.4.1) and [engine.Engine.ApproveEarlyData] approves: a
// replay store is configured and records the ticket's early data as used
// for the first time (single use, RFC 8446, Section 8.1, across every
// server sharing the store). Otherwise the session resumes in 1-RTT. The
// obfuscated ticket age and the binder are not visible in UnwrapSession, so
// there is no freshness check beyond the ticket's age since issue
// ([Adapter.EarlyDataMaxAge]); see ApproveEarlyData for what is not
// covered. WrapSession seals the max_early_data_size crypto/tls advertises
// (0xffffffff for a QUIC ticket that allows 0-RTT, RFC 9001, Section
// 4.6.1), not the engine's MaxEarlyData, which is for TLS over TCP.
//
// Use [Binding] to bind tickets to the server's certificates and client
// authentication settings, so that a ticket issued where no client
// certificate was required is not resumed where one is (compare
// CVE-2025-23419). Give each distinct tls.Config (for example each virtual
// host) its own Engine, sharing one seal.Keyring if you like.
package tlsadapter

import (
	"crypto/sha256"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"time"

	"golang.org/x/crypto/cryptobyte"

	"github.com/tlsticket/tlsticket/engine"
	"github.com/tlsticket/tlsticket/format"
)

// Adapter connects an engine to crypto/tls. It is safe for concurrent use;
// its fields must not change once it is installed.
type Adapter struct {
	e *engine.Engine
	// OnDecision, if not nil, is called with every decision the engine
	// makes for a presented ticket, for logging or metrics. It must not
	// retain d.Session.
	OnDecision func(cs tls.ConnectionState, d engine.Decision, err error)

	// EarlyDataContext is the QUIC early-data context (RFC 9000, Section
	// 7.4.1; BoringSSL's SSL_set_quic_early_data_context): the application
	// settings 0-RTT data depends on, beyond the transport parameters
	// quic-go compares itself (for example an HTTP/3 SETTINGS encoding).
	// Its SHA-256 is sealed in every ticket that allows 0-RTT, and a ticket
	// issued under another context resumes without 0-RTT.
	EarlyDataContext []byte

	// EarlyDataMaxAge, if positive, refuses 0-RTT for tickets issued
	// longer ago, the only freshness bound computable in UnwrapSession; see
	// [engine.Engine.ApproveEarlyData]. Zero means the ticket's lifetime.
	EarlyDataMaxAge time.Duration

	// EarlyDataTimeout bounds the replay store's answer for one 0-RTT
	// request; a slower store costs the client its 0-RTT, not its
	// resumption. Zero means DefaultEarlyDataTimeout.
	EarlyDataTimeout time.Duration

	// OnWrapError, if not nil, is called when a connection gets a ticket
	// that will not resume (see [Adapter.WrapSession]), with the reason:
	// engine.ErrSkipTicket, or the sealing error.
	OnWrapError func(cs tls.ConnectionState, err error)

	// OnEarlyData, if not nil, is called for every resumed ticket that
	// allows 0-RTT, with the adapter's answer: nil if 0-RTT may be
	// accepted (the client may still send none, and quic-go may still
	// refuse it for changed transport parameters), or why not.
	OnEarlyData func(cs tls.ConnectionState, err error)
}

// DefaultEarlyDataTimeout is the replay store's time limit for one 0-RTT
// request when Adapter.EarlyDataTimeout is zero.
const DefaultEarlyDataTimeout = 100 * time.Millisecond

// New returns an Adapter for e.
func New(e *engine.Engine) *Adapter {
	return &Adapter{e: e}
}

// Install sets c.WrapSession and c.UnwrapSession to the adapter's. c must
// not be in use.
//
// It also wraps c.GetConfigForClient (keeping the one c has) so that the
// engine counts TLS 1.3 connections that offer no ticket: crypto/tls calls
// UnwrapSession for every TLS 1.2 ClientHello but, in TLS 1.3, only for a
// PSK identity, so without this engine.Snapshot.NoTicket stays 0 for TLS
// 1.3. See [Adapter.ForClient].
func (a *Adapter) Install(c *tls.Config) {
	c.WrapSession = a.WrapSession
	c.UnwrapSession = a.UnwrapSession
	next := c.GetConfigForClient
	c.GetConfigForClient = func(hello *tls.ClientHelloInfo) (*tls.Config, error) {
		cfg := c
		if next != nil {
			chosen, err := next(hello)
			if err != nil {
				return nil, err
			}
			if chosen != nil {
				cfg = chosen
			}
		}
		return a.ForClient(hello, cfg), nil
	}
}

// extensionPreSharedKey is the pre_shared_key extension (RFC 8446, Section
// 4.2.11).
const extensionPreSharedKey = 41

// ForClient returns the config for one connection from its ClientHello:
// c itself when the client offers a PSK (UnwrapSession will run) or cannot
// speak TLS 1.3, otherwise a clone of c whose VerifyConnection, after c's
// own, tells the engine of a TLS 1.3 connection that offered no ticket
// (engine.Engine.Open with offered false), so that its counters and log
// agree. [Adapter.Install] calls it; a server that picks a config per
// connection in its own GetConfigForClient calls it on the config it picks.
func (a *Adapter) ForClient(hello *tls.ClientHelloInfo, c *tls.Config) *tls.Config {
	if slices.Contains(hello.Extensions, extensionPreSharedKey) || !slices.Contains(hello.SupportedVersions, tls.VersionTLS13) {
		return c
	}
	c = c.Clone()
	verify := c.VerifyConnection
	c.VerifyConnection = func(cs tls.ConnectionState) error {
		if cs.Version == tls.VersionTLS13 && !cs.DidResume {
			a.e.Open(engine.ConnInfo{Version: cs.Version, ServerName: cs.ServerName, ALPN: cs.NegotiatedProtocol}, false, nil)
		}
		if verify != nil {
			return verify(cs)
		}
		return nil
	}
	return c
}

// WrapSession implements [tls.Config.WrapSession]: it issues a ticket for the
// connection's session through the engine.
//
// crypto/tls ends the connection when WrapSession returns an error, so the
// adapter returns one only when the GenerateTicket callback asks for an
// abort. A ticket the engine cannot or may not make (GenerateTicket returned
// engine.ErrSkipTicket, or sealing failed) costs the client its next
// resumption, never this connection: TLS 1.2 sends an empty ticket, which
// RFC 5077, Section 3.3 defines as "no ticket", and TLS 1.3, whose
// NewSessionTicket cannot carry an empty ticket, sends a one-byte ticket
// that opens nowhere (status NoDecrypt: a full handshake next time).
// OnWrapError, if set, is told why.
func (a *Adapter) WrapSession(cs tls.ConnectionState, ss *tls.SessionState) ([]byte, error) {
	ticket, err := a.wrap(cs, ss)
	var abort *engine.AbortError
	switch {
	case errors.As(err, &abort):
		return nil, err
	case err != nil && a.OnWrapError != nil:
		a.OnWrapError(cs, err)
	}
	if len(ticket) > 0 {
		return ticket, nil
	}
	if cs.Version == tls.VersionTLS13 {
		return []byte{0}, nil
	}
	return nil, nil
}

// wrap issues the ticket of WrapSession.
func (a *Adapter) wrap(cs tls.ConnectionState, ss *tls.SessionState) ([]byte, error) {
	maxEarlyData := uint32(0)
	if ss.EarlyData {
		// Only crypto/tls under QUIC sets EarlyData; it then advertises
		// 0xffffffff (RFC 9001, Section 4.6.1).
		maxEarlyData = quicMaxEarlyData
		ss.Extra = append(slices.Clip(ss.Extra), a.contextEntry())
	}
	embedded, err := ss.Bytes()
	if err != nil {
		return nil, fmt.Errorf("tlsadapter: failed to encode the crypto/tls session: %w", err)
	}
	// The client's certificate chain is in the embedded crypto/tls state
	// (ParseSessionState gives it back); State.PeerCertificates stays empty
	// so that a client-authenticated ticket carries the chain once.
	s := &format.State{
		Version:     cs.Version,
		CipherSuite: cs.CipherSuite,
		ServerName:  cs.ServerName,
		ALPN:        cs.NegotiatedProtocol,
		Embedded:    embedded,
	}
	iss, err := a.e.IssueAdvertised(s, maxEarlyData)
	switch {
	case err != nil:
		return nil, fmt.Errorf("tlsadapter: %w", err)
	case iss.Skipped:
		return nil, engine.ErrSkipTicket
	}
	return iss.Ticket, nil
}

// UnwrapSession implements [tls.Config.UnwrapSession]: it runs the engine's
// decision on identity and returns the session to resume, nil for a full
// handshake, or an error to abort the connection.
func (a *Adapter) UnwrapSession(identity []byte, cs tls.ConnectionState) (*tls.SessionState, error) {
	ss, _, err := a.Unwrap(identity, cs)
	return ss, err
}

// Unwrap is [Adapter.UnwrapSession] that also returns the engine's decision,
// for servers that record decisions per connection (install it with a
// closure from tls.Config.GetConfigForClient).
func (a *Adapter) Unwrap(identity []byte, cs tls.ConnectionState) (*tls.SessionState, engine.Decision, error) {
	conn := engine.ConnInfo{Version: cs.Version, ServerName: cs.ServerName, ALPN: cs.NegotiatedProtocol}
	// crypto/tls calls UnwrapSession for every TLS 1.2 ClientHello, with an
	// empty ticket both when the SessionTicket extension was empty and when
	// it was absent. The two cannot be told apart here, so an empty ticket
	// counts as none offered.
	d, err := a.e.Open(conn, len(identity) > 0, identity)
	if a.OnDecision != nil {
		a.OnDecision(cs, d, err)
	}
	if err != nil {
		return nil, d, fmt.Errorf("tlsadapter: %w", err)
	}
	if !d.Resumed {
		return nil, d, nil
	}
	embedded := d.Session.Embedded
	if len(embedded) == 0 {
		// A session from another stack (an OpenSSL ticket opened by
		// engine.Config.LegacyTickets): give crypto/tls its own encoding of it.
		embedded = goSessionState(&d.Session)
	}
	ss, err := tls.ParseSessionState(embedded)
	if err != nil {
		// A ticket we sealed ourselves with a state crypto/tls cannot read
		// (another Go version's format): a full handshake, not an abort.
		// The session is dropped: wipe its secrets, as the engine does.
		clear(d.Session.Secret)
		clear(d.Session.Embedded)
		d.Resumed, d.Session, d.Fallback = false, format.State{}, ErrForeignState
		return nil, d, nil
	}
	if ss.EarlyData {
		err := a.approveEarlyData(identity, ss, &d.Session)
		ss.EarlyData = err == nil // a rejected 0-RTT still resumes in 1-RTT
		if a.OnEarlyData != nil {
			a.OnEarlyData(cs, err)
		}
	}
	return ss, d, nil
}

// goSessionState encodes s in crypto/tls's SessionState format (the
// server form documented in crypto/tls/ticket.go), for a session that has no
// crypto/tls state of its own. It carries the version, cipher suite,
// creation time, secret and extended master secret flag; no certificates.
// If a Go release changes the format, ParseSessionState refuses the bytes
// and the adapter falls back to a full handshake.
func goSessionState(s *format.State) []byte {
	var b cryptobyte.Builder
	b.AddUint16(s.Version)
	b.AddUint8(1) // server
	b.AddUint16(s.CipherSuite)
	b.AddUint64(uint64(max(s.CreatedAt.Unix(), 0)))
	b.AddUint8LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(s.Secret) })
	b.AddUint24LengthPrefixed(func(*cryptobyte.Builder) {}) // extra
	ems := uint8(0)
	if s.ExtendedMasterSecret {
		ems = 1
	}
	b.AddUint8(ems)
	b.AddUint8(0)                                           // early_data
	b.AddUint24LengthPrefixed(func(*cryptobyte.Builder) {}) // certificate_list
	b.AddUint24LengthPrefixed(func(*cryptobyte.Builder) {}) // verified_chains
	if s.Version < tls.VersionTLS13 {
		b.AddUint16(0) // curve_id: not recorded
	}
	out, err := b.Bytes()
	if err != nil {
		return nil // a secret over 255 bytes: ParseSessionState refuses nil
	}
	return out
}

var (
	// ErrEarlyDataContext: the ticket was issued under another
	// Adapter.EarlyDataContext; 0-RTT is rejected, 1-RTT resumes.
	ErrEarlyDataContext = errors.New("tlsadapter: 0-RTT rejected: ticket issued under another early data context")
	// ErrNoConfig is returned by [Binding] for a nil config.
	ErrNoConfig = errors.New("tlsadapter: nil tls.Config")
	// ErrForeignState is the Decision.Fallback of a ticket whose embedded
	// state crypto/tls cannot parse (for example one issued by another
	// host stack): a full handshake.
	ErrForeignState = errors.New("tlsadapter: embedded state is not a crypto/tls session")
)

// Binding returns a digest of the parts of c that decide whether a session
// may be resumed under it: the certificate chains, the client
// authentication mode and the client CA pool. Set it as
// engine.Config.Binding so that tickets issued under one configuration are
// not resumed under another. Certificates chosen at run time by
// GetCertificate or GetConfigForClient are not covered: bind those configs
// one by one.
func Binding(c *tls.Config) ([]byte, error) {
	if c == nil {
		return nil, ErrNoConfig
	}
	h := sha256.New()
	h.Write([]byte("tlsticket binding v1"))
	var n [8]byte
	put := func(b []byte) {
		binary.BigEndian.PutUint64(n[:], uint64(len(b)))
		h.Write(n[:])
		h.Write(b)
	}
	for _, cert := range c.Certificates {
		for _, der := range cert.Certificate {
			put(der)
		}
		put(nil) // end of chain
	}
	binary.BigEndian.PutUint64(n[:], uint64(c.ClientAuth))
	h.Write(n[:])
	if c.ClientCAs != nil {
		//lint:ignore SA1019 Subjects is the stable identity of the pool's CAs
		for _, subj := range c.ClientCAs.Subjects() { //nolint:staticcheck
			put(subj)
		}
	}
	return h.Sum(nil), nil
}
