package seal

import "golang.org/x/crypto/cryptobyte"

// HeaderSize is the length of the version, aead and key_name fields at the
// start of every sealed ticket. Those bytes, followed by the caller's
// additional data, are the additional data of the AEAD. The nonce follows
// them.
const HeaderSize = 2 + KeyNameSize

// Header is the part of a sealed ticket that is sent in the clear, as
// [ParseHeader] reads it from the layout in the package documentation:
//
//	struct {
//	    uint8  version = 1;
//	    uint8  aead;              /* AEAD identifier: fixes Nn and the tag */
//	    opaque key_name[16];
//	    opaque nonce[Nn];         /* 12 or 24 bytes */
//	    opaque ciphertext[..];    /* the rest of the ticket, tag included */
//	} SealedTicket;               /* at most 2^16-1 bytes in total */
//
// Nothing in a Header is authenticated until the ticket opens: use it to
// report or route a ticket (which key, which AEAD), never to trust one.
//
// Evolution: the layout is fixed for version 1. Any change, including a new
// field, needs a new version byte, and a parser rejects versions it does not
// know. A new AEAD identifier may be added within version 1 only if its tag
// is 16 bytes long.
type Header struct {
	// Version is the format version, 1.
	Version uint8
	// AEAD is the AEAD that sealed the ticket.
	AEAD AEAD
	// KeyName names the sealing key.
	KeyName KeyName
	// Nonce is the AEAD nonce, AEAD.NonceSize() bytes. It aliases the
	// ticket.
	Nonce []byte
	// CiphertextLen is the length of the ciphertext, tag included: the
	// ticket's plaintext is CiphertextLen - AEAD.Overhead() bytes long.
	CiphertextLen int
}

// ParseHeader parses the clear part of a sealed ticket: its version, AEAD,
// key name and nonce, and the length of its ciphertext. It is the parser
// that [Ring.OpenKey] uses, so a ticket that ParseHeader rejects never opens,
// and one it accepts fails to open only with [ErrUnknownKey] or [ErrAuth].
//
// ParseHeader returns [ErrMalformed] and the zero Header if the ticket is
// longer than 2^16-1 bytes, has a version other than 1 or an unknown AEAD,
// or is too short for its key name, nonce and a 16-byte tag. The ciphertext
// runs to the end of the ticket, so the container does not detect
// truncation by itself: the AEAD's tag does.
func ParseHeader(ticket []byte) (Header, error) {
	var h Header
	if _, ok := h.unmarshal(ticket); !ok {
		return Header{}, ErrMalformed
	}
	return h, nil
}

// unmarshal parses ticket into h and returns its ciphertext, which aliases
// ticket. On failure h may be partly set and must not be used.
func (h *Header) unmarshal(ticket []byte) (ciphertext []byte, ok bool) {
	*h = Header{}
	s := cryptobyte.String(ticket)
	if len(ticket) > maxTicketSize ||
		!s.ReadUint8(&h.Version) || h.Version != version ||
		!s.ReadUint8((*uint8)(&h.AEAD)) || !h.AEAD.valid() ||
		!s.CopyBytes(h.KeyName[:]) ||
		!s.ReadBytes(&h.Nonce, h.AEAD.NonceSize()) ||
		len(s) < tagSize || !s.ReadBytes(&ciphertext, len(s)) ||
		!s.Empty() {
		return nil, false
	}
	h.CiphertextLen = len(ciphertext)
	return ciphertext, true
}

// putHeader writes version, aead and key_name of k to b[:HeaderSize].
func (k *Key) putHeader(b []byte) {
	b[0] = version
	b[1] = byte(k.aead)
	copy(b[2:HeaderSize], k.name[:])
}
