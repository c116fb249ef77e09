package legacy

import (
	"crypto/aes"

	"golang.org/x/crypto/cryptobyte"
)

// maxTicketSize is the largest ticket a TLS ticket field carries
// (opaque ticket<1..2^16-1>, RFC 5077, Section 3.3).
const maxTicketSize = 1<<16 - 1

// rawTicket is an OpenSSL ticket split into the fields of the layout in the
// package documentation. Its slices alias the bytes it was parsed from.
//
// It is RFC 5077, Section 4's recommended layout without the uint16 length
// before encrypted_state: OpenSSL, nginx, HAProxy and Apache never wrote
// that prefix, so a ticket in the RFC's literal layout cannot come from
// them. The layout is fixed by OpenSSL and has no version byte.
type rawTicket struct {
	keyName   [nameSize]byte
	iv        []byte
	encrypted []byte // a whole, non-zero number of AES blocks
	mac       []byte
	macInput  []byte // key_name ‖ iv ‖ encrypted: what mac covers
}

// unmarshal parses b into t. Every field has a fixed size but encrypted,
// which takes what the others leave, so b is rejected if it is too short,
// too long for a TLS ticket, or if encrypted is not whole AES blocks.
func (t *rawTicket) unmarshal(b []byte) bool {
	*t = rawTicket{}
	s := cryptobyte.String(b)
	n := len(b) - nameSize - ivSize - macSize
	if len(b) > maxTicketSize || n < aes.BlockSize || n%aes.BlockSize != 0 ||
		!s.CopyBytes(t.keyName[:]) ||
		!s.ReadBytes(&t.iv, ivSize) ||
		!s.ReadBytes(&t.encrypted, n) ||
		!s.ReadBytes(&t.mac, macSize) ||
		!s.Empty() {
		*t = rawTicket{}
		return false
	}
	t.macInput = b[:len(b)-macSize]
	return true
}
