package resumption

import (
	"crypto"
	"errors"
	"fmt"
	"time"

	"github.com/tlsticket/tlsticket/format"
)

// ErrTicketExpired is returned by [ClientTicket.Identity] for a ticket older
// than its lifetime (RFC 8446, Section 4.6.1).
var ErrTicketExpired = errors.New("resumption: ticket expired")

// ClientTicket is a TLS 1.3 ticket as a client keeps it after a
// NewSessionTicket message (RFC 8446, Section 4.6.1), with what it needs to
// offer the ticket in a later ClientHello: the PSK, the ticket_age_add and
// the time it was received. It is for tests and custom client stacks.
type ClientTicket struct {
	// Ticket is the opaque ticket, offered as the PSK identity.
	Ticket []byte
	// Lifetime is the ticket_lifetime in seconds.
	Lifetime uint32
	// AgeAdd is the ticket_age_add.
	AgeAdd uint32
	// MaxEarlyData is the max_early_data_size of the early_data extension,
	// 0 if the ticket allows no 0-RTT data.
	MaxEarlyData uint32
	// CipherSuite is the suite of the connection that received the ticket;
	// the ticket may only be offered with a suite of the same hash.
	CipherSuite uint16
	// ReceivedAt is when the client received the NewSessionTicket.
	ReceivedAt time.Time

	psk *PSK
}

// NewClientTicket stores the ticket of m, received at receivedAt on a
// connection with the given cipher suite and resumption_master_secret. The
// PSK is derived from the ticket_nonce (RFC 8446, Section 4.6.1).
func NewClientTicket(m *format.NewSessionTicketTLS13, rms *ResumptionMasterSecret, suite uint16, receivedAt time.Time) (*ClientTicket, error) {
	h, ok := HashForSuite(suite)
	if !ok || h != rms.hash {
		return nil, fmt.Errorf("resumption: cipher suite %#04x does not match the resumption master secret: %w", suite, ErrUnsupportedHash)
	}
	t := &ClientTicket{
		Ticket:      append([]byte(nil), m.Ticket...),
		Lifetime:    m.Lifetime,
		AgeAdd:      m.AgeAdd,
		CipherSuite: suite,
		ReceivedAt:  receivedAt,
		psk:         rms.PSK(m.Nonce),
	}
	if max, ok := m.MaxEarlyData(); ok {
		t.MaxEarlyData = max
	}
	return t, nil
}

// PSK returns the ticket's pre-shared key.
func (t *ClientTicket) PSK() *PSK { return t.psk }

// Hash returns the KDF hash the ticket is bound to.
func (t *ClientTicket) Hash() crypto.Hash { return t.psk.hash }

// Identity returns the PskIdentity that offers the ticket at time now, with
// obfuscated_ticket_age = (age in ms + ticket_age_add) mod 2^32 (RFC 8446,
// Section 4.2.11.1). It returns [ErrTicketExpired] for a ticket older than
// its lifetime or than seven days: clients MUST NOT use such tickets.
func (t *ClientTicket) Identity(now time.Time) (format.PSKIdentity, error) {
	age := now.Sub(t.ReceivedAt)
	if age < 0 {
		age = 0
	}
	if age >= time.Duration(t.Lifetime)*time.Second || age >= format.MaxTicketLifetime {
		return format.PSKIdentity{}, ErrTicketExpired
	}
	return format.PSKIdentity{Identity: t.Ticket, ObfuscatedTicketAge: ObfuscateTicketAge(age, t.AgeAdd)}, nil
}

// OfferTickets returns the pre_shared_key extension body that offers tickets
// in order at time now, with zeroed binders of the right lengths. Put it last
// in the ClientHello, then call [SetBinders].
func OfferTickets(tickets []*ClientTicket, now time.Time) (*format.OfferedPSKs, error) {
	o := &format.OfferedPSKs{}
	for _, t := range tickets {
		id, err := t.Identity(now)
		if err != nil {
			return nil, err
		}
		o.Identities = append(o.Identities, id)
		o.Binders = append(o.Binders, make([]byte, t.psk.hash.Size()))
	}
	return o, nil
}

// SetBinders computes the PSK binders of clientHello, a complete ClientHello
// handshake message whose last extension is a pre_shared_key offering
// tickets in order (as [OfferTickets] builds it), and writes them into
// clientHello in place (RFC 8446, Section 4.2.11.2). After a
// HelloRetryRequest, pass ClientHello1 and the HelloRetryRequest as hrr, so
// that the binders cover Transcript-Hash(ClientHello1, HelloRetryRequest,
// Truncate(ClientHello2)).
func SetBinders(clientHello []byte, tickets []*ClientTicket, hrr ...[]byte) error {
	psks := make([]*PSK, len(tickets))
	for i, t := range tickets {
		if t.psk == nil {
			return fmt.Errorf("resumption: ticket %d has no PSK (make tickets with NewClientTicket)", i)
		}
		psks[i] = t.psk
	}
	return setBinders(clientHello, tickets, psks, hrr)
}

// SetPSKBinders is [SetBinders] for a client that offers identities of its
// own choosing: it writes the binder made with psks[i] for the i-th identity,
// whatever that identity is, and leaves the binder of a nil PSK as it is.
// Each binder must already have its PSK's hash length. It is for tests that
// play a client (an attacker who holds a session's PSK offers it with a
// forged identity) and for client stacks that keep their PSKs themselves.
func SetPSKBinders(clientHello []byte, psks []*PSK, hrr ...[]byte) error {
	return setBinders(clientHello, nil, psks, hrr)
}

// setBinders writes the binders of psks into clientHello; if tickets is not
// nil, the identities must be those tickets.
func setBinders(clientHello []byte, tickets []*ClientTicket, psks []*PSK, hrr [][]byte) error {
	if len(hrr) != 0 && len(hrr) != 2 {
		return errors.New("resumption: hrr must be ClientHello1 and the HelloRetryRequest")
	}
	exts, err := format.ParseClientHelloExtensions(clientHello)
	if err != nil {
		return fmt.Errorf("resumption: failed to parse the ClientHello: %w", err)
	}
	data, ok := exts.Lookup(format.ExtensionPreSharedKey)
	if !ok {
		return errors.New("resumption: the ClientHello has no pre_shared_key extension")
	}
	// The binders of the parsed extension alias clientHello, so writing
	// them writes the message.
	offered, err := format.ParseOfferedPSKs(data)
	if err != nil || len(offered.Binders) != len(psks) {
		return errors.New("resumption: the pre_shared_key extension does not offer the tickets")
	}
	truncated := clientHello[:exts.BindersOffset]
	for i, psk := range psks {
		if psk == nil {
			continue
		}
		if len(offered.Binders[i]) != psk.hash.Size() || (tickets != nil && string(offered.Identities[i].Identity) != string(tickets[i].Ticket)) {
			return fmt.Errorf("resumption: identity %d is not its ticket, or its binder has the wrong length", i)
		}
		var th []byte
		if len(hrr) == 2 {
			th = TranscriptHashAfterHRR(psk.hash, hrr[0], hrr[1], truncated)
		} else {
			th = TranscriptHash(psk.hash, truncated)
		}
		copy(offered.Binders[i], psk.EarlySecret().ResumptionBinderKey().Binder(nil, th))
	}
	return nil
}
