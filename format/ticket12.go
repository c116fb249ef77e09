package format

import "golang.org/x/crypto/cryptobyte"

// RFC5077Ticket is the ticket layout RECOMMENDED by RFC 5077, Section 4,
// kept so that tickets of servers that use it can be read and written. This
// package only encodes it; it does no cryptography.
//
//	struct {
//	    opaque key_name[16];
//	    opaque iv[16];
//	    opaque encrypted_state<0..2^16-1>;
//	    opaque mac[32];
//	} ticket;
//
// RFC 5077 encrypts the state with AES-128-CBC and computes mac with
// HMAC-SHA-256 over every byte before mac; see [RFC5077Ticket.MACInput].
//
// Evolution: the layout is fixed by RFC 5077. It has no version byte; a
// server that changes its format or algorithms changes its key_name.
type RFC5077Ticket struct {
	KeyName        [16]byte
	IV             [16]byte
	EncryptedState []byte
	MAC            [32]byte
}

// ParseRFC5077Ticket parses a ticket in the RFC 5077, Section 4 layout. The
// EncryptedState of the result aliases b.
func ParseRFC5077Ticket(b []byte) (*RFC5077Ticket, error) {
	t := new(RFC5077Ticket)
	if !t.unmarshal(b) {
		return nil, malformed("RFC5077Ticket")
	}
	return t, nil
}

func (t *RFC5077Ticket) unmarshal(b []byte) bool {
	*t = RFC5077Ticket{}
	s := cryptobyte.String(b)
	if !s.CopyBytes(t.KeyName[:]) ||
		!s.CopyBytes(t.IV[:]) ||
		!readUint16LengthPrefixed(&s, &t.EncryptedState) ||
		!s.CopyBytes(t.MAC[:]) ||
		!s.Empty() {
		return false
	}
	return true
}

// Append appends the ticket to dst and returns the extended slice. It fails,
// returning nil, if EncryptedState is longer than 2^16-1 bytes.
func (t *RFC5077Ticket) Append(dst []byte) ([]byte, error) {
	b, err := t.appendMACInput(dst)
	if err != nil {
		return nil, err
	}
	return append(b, t.MAC[:]...), nil
}

// MACInput appends to dst the bytes that the MAC covers, everything before
// mac (key_name, iv, the length of encrypted_state and encrypted_state), and
// returns the extended slice. If EncryptedState is longer than 2^16-1 bytes
// the ticket has no encoding, and MACInput returns nil.
func (t *RFC5077Ticket) MACInput(dst []byte) []byte {
	b, err := t.appendMACInput(dst)
	if err != nil {
		return nil
	}
	return b
}

func (t *RFC5077Ticket) appendMACInput(dst []byte) ([]byte, error) {
	if len(t.EncryptedState) > maxUint16 {
		return nil, tooLarge("RFC5077Ticket", "encrypted_state")
	}
	b := cryptobyte.NewBuilder(dst)
	b.AddBytes(t.KeyName[:])
	b.AddBytes(t.IV[:])
	b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) {
		b.AddBytes(t.EncryptedState)
	})
	return b.Bytes()
}
