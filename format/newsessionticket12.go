package format

import (
	"encoding/binary"
	"slices"

	"golang.org/x/crypto/cryptobyte"
)

// NewSessionTicketTLS12 is the TLS 1.2 NewSessionTicket handshake message of
// RFC 5077, Section 3.3, with its 4-byte handshake header:
//
//	struct {
//	    HandshakeType msg_type = new_session_ticket(4);
//	    uint24 length;
//	    struct {
//	        uint32 ticket_lifetime_hint;   // seconds; 0 = unspecified
//	        opaque ticket<0..2^16-1>;
//	    } body;
//	} NewSessionTicket;
//
// An empty Ticket is valid on the wire: it tells the client that the server
// sends no ticket after all (RFC 5077, Section 3.3).
//
// Evolution: the layout is fixed by RFC 5077. It has no version byte and
// this package does not extend it.
type NewSessionTicketTLS12 struct {
	LifetimeHint uint32
	Ticket       []byte
}

// ParseNewSessionTicketTLS12 parses a TLS 1.2 NewSessionTicket handshake
// message, header included. The Ticket of the result aliases b.
func ParseNewSessionTicketTLS12(b []byte) (*NewSessionTicketTLS12, error) {
	m := new(NewSessionTicketTLS12)
	if !m.unmarshal(b) {
		return nil, malformed("NewSessionTicketTLS12")
	}
	return m, nil
}

func (m *NewSessionTicketTLS12) unmarshal(b []byte) bool {
	*m = NewSessionTicketTLS12{}
	s := cryptobyte.String(b)
	var typ uint8
	var body cryptobyte.String
	if !s.ReadUint8(&typ) || HandshakeType(typ) != HandshakeNewSessionTicket ||
		!s.ReadUint24LengthPrefixed(&body) ||
		!body.ReadUint32(&m.LifetimeHint) ||
		!readUint16LengthPrefixed(&body, &m.Ticket) ||
		!body.Empty() || !s.Empty() {
		return false
	}
	return true
}

// TicketOffset returns where Ticket starts in the encoding [Append] writes,
// so that a server can encode the message around a placeholder of the
// ticket's length and seal the ticket into it in place.
func (m *NewSessionTicketTLS12) TicketOffset() int { return 4 + 4 + 2 }

// Append appends the handshake message, header included, to dst and returns
// the extended slice. It fails, returning nil, if Ticket is longer than
// 2^16-1 bytes.
func (m *NewSessionTicketTLS12) Append(dst []byte) ([]byte, error) {
	if len(m.Ticket) > maxUint16 {
		return nil, tooLarge("NewSessionTicketTLS12", "ticket")
	}
	// Written directly, without cryptobyte's allocating nested builders:
	// a NewSessionTicket is built for every ticket issued.
	b := slices.Grow(dst, 4+4+2+len(m.Ticket))
	b = append(b, byte(HandshakeNewSessionTicket))
	b = appendUint24(b, 4+2+len(m.Ticket))
	b = binary.BigEndian.AppendUint32(b, m.LifetimeHint)
	b = binary.BigEndian.AppendUint16(b, uint16(len(m.Ticket)))
	return appendInPlace(b, m.Ticket), nil
}
