package engine

import (
	"context"
	"crypto"
	"errors"
	"fmt"

	"github.com/tlsticket/tlsticket/format"
	"github.com/tlsticket/tlsticket/resumption"
	"github.com/tlsticket/tlsticket/status"
)

// MaxPSKIdentities bounds the PSK identities examined in one ClientHello.
// Later identities are never opened nor shown to the decrypt callback, so the
// work one ClientHello can cause is bounded: at most MaxPSKIdentities
// authenticated decryptions and one binder check. (crypto/tls examines 5.)
const MaxPSKIdentities = 8

// ClientHelloTLS13 is what the engine needs from a TLS 1.3 ClientHello, and
// from the stack's negotiation so far, to select a PSK.
type ClientHelloTLS13 struct {
	// Message is the whole ClientHello handshake message, header included
	// (ClientHello2 after a HelloRetryRequest).
	Message []byte
	// CipherSuite is the negotiated cipher suite.
	CipherSuite uint16
	// ServerName is the ClientHello's server_name, "" if none.
	ServerName string
	// ALPN is the negotiated application protocol, "" if none.
	ALPN string
	// ClientHello1 and HelloRetryRequest are set after a
	// HelloRetryRequest; the binder then covers them (RFC 8446, Section
	// 4.2.11.2).
	ClientHello1, HelloRetryRequest []byte
}

// Selection is the result of [Engine.SelectTLS13].
type Selection struct {
	// Decision is the decision on the selected identity; if none was
	// selected, on the last identity examined, with Resumed false and
	// Tickets the count for the full handshake.
	Decision
	// Identity is the selected identity's index, for selected_identity in
	// the ServerHello, or -1.
	Identity int
	// Examined is the number of identities examined (decrypt callbacks).
	Examined int
	// Mode is the PSK key exchange mode to use when Resumed:
	// format.PSKModeDHEKE, or format.PSKModeKE if Config.AllowPSKOnly.
	Mode format.PSKMode
	// EarlySecret is the early secret of the selected PSK, for the stack's
	// key schedule, when Resumed.
	EarlySecret *resumption.EarlySecret
	// EarlyData reports whether to accept 0-RTT data: echo early_data in
	// EncryptedExtensions. EarlyDataErr says why not, when the client
	// offered it.
	EarlyData    bool
	EarlyDataErr error
	// TicketRequest is the client's ticket_request (RFC 9149), if any, and
	// TicketHint the ServerTicketRequestHint to send in EncryptedExtensions
	// in answer.
	TicketRequest *format.TicketRequest
	TicketHint    *format.ServerTicketRequestHint
}

// SelectTLS13 walks the PSK identities of a TLS 1.3 ClientHello as OpenSSL
// does, and decides the handshake.
//
// Identities are examined in order, up to MaxPSKIdentities: each one gets
// its status, the decrypt callback and the decision table. Ignore,
// IgnoreRenew, NoDecrypt and a failed check (expired, another suite hash,
// SNI, ALPN, binding) move on to the next identity. The first identity that
// is used is selected, and later identities are never opened. Abort, or Use
// for a ticket that did not open, aborts even if a good identity follows.
// Only the selected identity's binder is verified, after the callback; a bad
// binder aborts with decrypt_error. With no identity selected, the handshake
// is a full one, with no alert.
//
// 0-RTT is accepted only for the first identity, with the ticket's cipher
// suite and ALPN, a max_early_data_size above zero on both sides, a ticket
// age within the freshness window, and a first sighting of the binder in the
// replay store (RFC 8446, Sections 4.2.10 and 8). A failed 0-RTT check never
// aborts: it sets EarlyDataErr and the handshake goes on in 1-RTT.
//
// The error is non-nil if and only if the handshake aborts; it is then an
// [*AbortError] carrying the alert.
func (e *Engine) SelectTLS13(ctx context.Context, ch *ClientHelloTLS13) (Selection, error) {
	sel, err := e.selectTLS13(ctx, ch)
	if !sel.Callback || err != nil || sel.Resumed {
		// The decisions on identities that were not selected are counted
		// in walk; this counts the final one.
		e.record(&sel.Decision, err)
	}
	return sel, err
}

func (e *Engine) selectTLS13(ctx context.Context, ch *ClientHelloTLS13) (Selection, error) {
	sel := Selection{Identity: -1}
	sel.Version = format.VersionTLS13
	exts, err := format.ParseClientHelloExtensions(ch.Message)
	switch {
	case errors.Is(err, format.ErrPSKNotLast):
		return sel.abort(e, AlertIllegalParameter, err)
	case err != nil:
		return sel.abort(e, AlertDecodeError, err)
	}
	if data, ok := exts.Lookup(format.ExtensionTicketRequest); ok {
		if sel.TicketRequest, err = format.ParseTicketRequest(data); err != nil {
			return sel.abort(e, AlertDecodeError, err)
		}
	}
	pskData, offered := exts.Lookup(format.ExtensionPreSharedKey)
	if !offered {
		sel.Outcome = status.OutcomeIgnoreRenew
		return sel.withTickets(e, e.numTickets, false), nil
	}
	sel.Offered = true
	modes, ok := exts.Lookup(format.ExtensionPSKKeyExchangeModes)
	if !ok {
		return sel.abort(e, AlertMissingExtension, ErrMissingPSKModes)
	}
	if sel.Mode, ok = e.pickMode(modes); !ok {
		// No mode in common: no resumption, and no tickets the client
		// could not use (RFC 8446, Section 4.2.9).
		sel.Outcome = status.OutcomeIgnore
		return sel, nil
	}
	h, ok := resumption.HashForSuite(ch.CipherSuite)
	if !ok {
		return sel.abort(e, AlertInternalError, fmt.Errorf("%w: %#04x", ErrUnknownSuite, ch.CipherSuite))
	}
	psks, err := format.ParseOfferedPSKs(pskData)
	if err != nil {
		return sel.abort(e, AlertDecodeError, err)
	}
	return e.walk(ctx, ch, exts, psks, h, sel)
}

// walk examines the identities of psks in order; see SelectTLS13.
func (e *Engine) walk(ctx context.Context, ch *ClientHelloTLS13, exts *format.ClientHelloExtensions,
	psks *format.OfferedPSKs, h crypto.Hash, sel Selection) (Selection, error) {
	conn := &ConnInfo{Version: format.VersionTLS13, ServerName: ch.ServerName, ALPN: ch.ALPN, CipherSuite: ch.CipherSuite}
	renew := false
	for i, id := range psks.Identities {
		if i == MaxPSKIdentities {
			break
		}
		err := e.examine(&sel.Decision, conn, id.Identity)
		sel.Examined++
		if err != nil {
			return sel, err
		}
		if !sel.Resumed {
			e.record(&sel.Decision, nil)
			renew = renew || sel.Tickets > 0
			continue
		}
		session := &sel.Session
		psk, err := resumption.NewPSK(h, session.Secret)
		if err != nil {
			// A session without a PSK of this hash's length (its secret
			// lives in a host stack's state) cannot be checked here.
			e.fallBack(&sel.Decision, ErrCipherSuiteMismatch)
			e.record(&sel.Decision, nil)
			renew = true
			continue
		}
		es := psk.EarlySecret()
		if !es.ResumptionBinderKey().VerifyBinder(binderTranscript(h, ch, exts.BindersOffset), psks.Binders[i]) {
			return sel.abort(e, AlertDecryptError, ErrBadBinder)
		}
		if err := e.useOnce(ctx, id.Identity, session); err != nil {
			e.fallBack(&sel.Decision, err)
			e.record(&sel.Decision, nil)
			renew = true
			continue
		}
		sel.Identity, sel.EarlySecret = i, es
		sel.EarlyData, sel.EarlyDataErr = e.earlyData(ctx, ch, exts, i, id, session, psks.Binders[i])
		if sel.EarlyData || sel.EarlyDataErr != nil {
			e.recordEarlyData(sel.EarlyData, sel.EarlyDataErr)
		}
		return sel.withTickets(e, sel.Tickets, true), nil
	}
	// Every identity examined was dropped (examine or fallBack cleared its
	// session), so nothing of a session remains in sel here.
	n := 0
	if renew {
		n = e.numTickets
	}
	return sel.withTickets(e, n, false), nil
}

// binderTranscript returns the transcript hash a binder covers: the
// ClientHello truncated before its binders, after ClientHello1 and the
// HelloRetryRequest if there was one (RFC 8446, Section 4.2.11.2).
func binderTranscript(h crypto.Hash, ch *ClientHelloTLS13, bindersOffset int) []byte {
	truncated := ch.Message[:bindersOffset]
	if ch.ClientHello1 != nil {
		return resumption.TranscriptHashAfterHRR(h, ch.ClientHello1, ch.HelloRetryRequest, truncated)
	}
	return resumption.TranscriptHash(h, truncated)
}

// pickMode returns the PSK key exchange mode to use with the client's modes.
func (e *Engine) pickMode(data []byte) (format.PSKMode, bool) {
	modes, err := format.ParsePSKKeyExchangeModes(data)
	if err != nil {
		return 0, false
	}
	ke := false
	for _, m := range modes {
		if m == format.PSKModeDHEKE {
			return m, true
		}
		ke = ke || m == format.PSKModeKE
	}
	return format.PSKModeKE, ke && e.pskOnly
}

// withTickets sets the number of tickets to send, n by the engine's rules,
// capped by the client's ticket_request (RFC 9149: no more than asked for,
// and no more than the server's own limit, NumTickets), and the hint.
func (sel Selection) withTickets(e *Engine, n int, resumed bool) Selection {
	if tr := sel.TicketRequest; tr != nil {
		if n > 0 {
			asked := tr.NewSessionCount
			if resumed {
				asked = tr.ResumptionCount
			}
			n = min(int(asked), e.numTickets)
		}
		sel.TicketHint = &format.ServerTicketRequestHint{ExpectedCount: uint8(n)}
	}
	sel.Tickets = n
	return sel
}

func (sel Selection) abort(e *Engine, a Alert, err error) (Selection, error) {
	aerr := e.abort(&sel.Decision, a, err)
	sel.EarlyData, sel.EarlySecret, sel.TicketHint = false, nil, nil
	return sel, aerr
}
