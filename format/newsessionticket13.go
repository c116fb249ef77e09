package format

import (
	"encoding/binary"
	"slices"

	"golang.org/x/crypto/cryptobyte"
)

// maxExtensionsLen is the largest extension list in a TLS 1.3 message:
// Extension extensions<0..2^16-2> (RFC 8446, Section 4.6.1).
const maxExtensionsLen = 1<<16 - 2

// NewSessionTicketTLS13 is the TLS 1.3 NewSessionTicket handshake message of
// RFC 8446, Section 4.6.1, with its 4-byte handshake header:
//
//	struct {
//	    HandshakeType msg_type = new_session_ticket(4);
//	    uint24 length;
//	    struct {
//	        uint32 ticket_lifetime;            // seconds, <= 604800
//	        uint32 ticket_age_add;
//	        opaque ticket_nonce<0..255>;
//	        opaque ticket<1..2^16-1>;
//	        Extension extensions<0..2^16-2>;
//	    } body;
//	} NewSessionTicket;
//
// Extensions are kept in wire order, so that parsing and appending a message
// reproduces it byte for byte. A type appears at most once. The only
// extension RFC 8446 defines here is early_data, whose body is
// uint32 max_early_data_size; see [EarlyDataExtension] and
// [NewSessionTicketTLS13.MaxEarlyData]. Other types are kept as they are.
//
// Evolution: the layout is fixed by RFC 8446. It has no version byte; new
// data arrives only as new extensions, which this type keeps unparsed.
type NewSessionTicketTLS13 struct {
	Lifetime   uint32 // seconds
	AgeAdd     uint32
	Nonce      []byte
	Ticket     []byte
	Extensions []Extension
}

// ParseNewSessionTicketTLS13 parses a TLS 1.3 NewSessionTicket handshake
// message, header included. The Nonce, Ticket and extension data of the
// result alias b.
//
// It rejects an empty ticket, a lifetime over [MaxTicketLifetime], a repeated
// extension type and an early_data extension whose body is not exactly four
// bytes.
func ParseNewSessionTicketTLS13(b []byte) (*NewSessionTicketTLS13, error) {
	m := new(NewSessionTicketTLS13)
	if !m.unmarshal(b) {
		return nil, malformed("NewSessionTicketTLS13")
	}
	return m, nil
}

func (m *NewSessionTicketTLS13) unmarshal(b []byte) bool {
	*m = NewSessionTicketTLS13{}
	s := cryptobyte.String(b)
	var typ uint8
	var body, exts cryptobyte.String
	if !s.ReadUint8(&typ) || HandshakeType(typ) != HandshakeNewSessionTicket ||
		!s.ReadUint24LengthPrefixed(&body) ||
		!body.ReadUint32(&m.Lifetime) || m.Lifetime > maxLifetimeSeconds ||
		!body.ReadUint32(&m.AgeAdd) ||
		!readUint8LengthPrefixed(&body, &m.Nonce) ||
		!readUint16LengthPrefixed(&body, &m.Ticket) || len(m.Ticket) == 0 ||
		!body.ReadUint16LengthPrefixed(&exts) || len(exts) > maxExtensionsLen ||
		!body.Empty() || !s.Empty() {
		return false
	}
	if !readExtensions(exts, &m.Extensions) {
		return false
	}
	for _, e := range m.Extensions {
		if e.Type == ExtensionEarlyData && len(e.Data) != 4 {
			return false
		}
	}
	return true
}

// Append appends the handshake message, header included, to dst and returns
// the extended slice. It fails, returning nil, if the message breaks a rule
// that [ParseNewSessionTicketTLS13] enforces, or if a field is too long for
// its length prefix.
func (m *NewSessionTicketTLS13) Append(dst []byte) ([]byte, error) {
	const structure = "NewSessionTicketTLS13"
	switch {
	case m.Lifetime > maxLifetimeSeconds:
		return nil, invalid(structure, "ticket_lifetime")
	case len(m.Nonce) > maxUint8:
		return nil, tooLarge(structure, "ticket_nonce")
	case len(m.Ticket) == 0:
		return nil, invalid(structure, "ticket (empty)")
	case len(m.Ticket) > maxUint16:
		return nil, tooLarge(structure, "ticket")
	}
	extsLen, err := extensionsLen(structure, m.Extensions)
	if err != nil {
		return nil, err
	}
	if extsLen > maxExtensionsLen {
		return nil, tooLarge(structure, "extensions")
	}
	for _, e := range m.Extensions {
		if e.Type == ExtensionEarlyData && len(e.Data) != 4 {
			return nil, invalid(structure, "early_data")
		}
	}
	// The body is at most 4+4+1+255+2+65535+2+65534 bytes, well under 2^24.
	// Written directly, without cryptobyte's allocating nested builders: a
	// NewSessionTicket is built for every ticket issued.
	body := 4 + 4 + 1 + len(m.Nonce) + 2 + len(m.Ticket) + 2 + extsLen
	b := slices.Grow(dst, 4+body)
	b = append(b, byte(HandshakeNewSessionTicket))
	b = appendUint24(b, body)
	b = binary.BigEndian.AppendUint32(b, m.Lifetime)
	b = binary.BigEndian.AppendUint32(b, m.AgeAdd)
	b = append(append(b, byte(len(m.Nonce))), m.Nonce...)
	b = appendInPlace(binary.BigEndian.AppendUint16(b, uint16(len(m.Ticket))), m.Ticket)
	b = binary.BigEndian.AppendUint16(b, uint16(extsLen))
	for _, e := range m.Extensions {
		b = binary.BigEndian.AppendUint16(b, uint16(e.Type))
		b = append(binary.BigEndian.AppendUint16(b, uint16(len(e.Data))), e.Data...)
	}
	return b, nil
}

// TicketOffset returns where Ticket starts in the encoding [Append] writes,
// so that a server can encode the message around a placeholder of the
// ticket's length and seal the ticket into it in place.
func (m *NewSessionTicketTLS13) TicketOffset() int { return 4 + 4 + 4 + 1 + len(m.Nonce) + 2 }

// EarlyDataExtension returns the early_data extension of a NewSessionTicket,
// which carries uint32 max_early_data_size (RFC 8446, Section 4.2.10).
func EarlyDataExtension(maxEarlyData uint32) Extension {
	return Extension{
		Type: ExtensionEarlyData,
		Data: binary.BigEndian.AppendUint32(nil, maxEarlyData),
	}
}

// MaxEarlyData returns the max_early_data_size of the early_data extension.
// ok is false if m has no early_data extension, or if its body is not exactly
// a uint32.
func (m *NewSessionTicketTLS13) MaxEarlyData() (size uint32, ok bool) {
	for _, e := range m.Extensions {
		if e.Type != ExtensionEarlyData {
			continue
		}
		s := cryptobyte.String(e.Data)
		if !s.ReadUint32(&size) || !s.Empty() {
			return 0, false
		}
		return size, true
	}
	return 0, false
}
