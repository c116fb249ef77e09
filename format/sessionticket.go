package format

import "golang.org/x/crypto/cryptobyte"

// SessionTicketExtension is the whole SessionTicket extension of RFC 5077,
// Section 3.2, as it appears in a ClientHello or ServerHello extension list:
//
//	struct {
//	    ExtensionType extension_type = session_ticket(35);
//	    opaque ticket<0..2^16-1>;   // the whole extension_data
//	} SessionTicketExtension;
//
// The ticket fills extension_data with no inner length prefix. An empty
// Ticket is what a client with no ticket sends and what a server that will
// issue one answers.
//
// Evolution: the layout is fixed by RFC 5077. It has no version byte and
// this package does not extend it.
type SessionTicketExtension struct {
	Ticket []byte
}

// ParseSessionTicketExtension parses a whole SessionTicket extension: its
// type, its length and its data. The Ticket of the result aliases b.
func ParseSessionTicketExtension(b []byte) (*SessionTicketExtension, error) {
	e := new(SessionTicketExtension)
	if !e.unmarshal(b) {
		return nil, malformed("SessionTicketExtension")
	}
	return e, nil
}

func (e *SessionTicketExtension) unmarshal(b []byte) bool {
	*e = SessionTicketExtension{}
	s := cryptobyte.String(b)
	var typ uint16
	if !s.ReadUint16(&typ) || ExtensionType(typ) != ExtensionSessionTicket ||
		!readUint16LengthPrefixed(&s, &e.Ticket) ||
		!s.Empty() {
		return false
	}
	return true
}

// Append appends the whole extension to dst and returns the extended slice.
// It fails, returning nil, if Ticket is longer than 2^16-1 bytes.
func (e *SessionTicketExtension) Append(dst []byte) ([]byte, error) {
	if len(e.Ticket) > maxUint16 {
		return nil, tooLarge("SessionTicketExtension", "ticket")
	}
	b := cryptobyte.NewBuilder(dst)
	b.AddUint16(uint16(ExtensionSessionTicket))
	b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) {
		b.AddBytes(e.Ticket)
	})
	return b.Bytes()
}

// Empty reports whether the extension carries no ticket.
func (e *SessionTicketExtension) Empty() bool {
	return len(e.Ticket) == 0
}
