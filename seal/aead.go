package seal

import (
	"fmt"
	"strconv"
)

// AEAD identifies the authenticated cipher that seals a ticket. Its value is
// the aead byte of the sealed layout and never changes meaning.
type AEAD uint8

// Supported AEADs. The identifiers are those of the aead byte in the sealed
// layout (see the package documentation).
const (
	AES128GCM         AEAD = 1 // AES-128-GCM
	AES256GCM         AEAD = 2 // AES-256-GCM
	ChaCha20Poly1305  AEAD = 3 // ChaCha20-Poly1305
	XChaCha20Poly1305 AEAD = 4 // XChaCha20-Poly1305
	XAES256GCM        AEAD = 5 // XAES-256-GCM
)

// aeadTable is the one table of AEAD identifiers: the name, key size and
// nonce size of each supported AEAD, indexed by identifier. Index 0 is not
// an AEAD. Every AEAD has a 16-byte tag (tagSize); an identifier with
// another tag length would need a new version of the sealed layout.
var aeadTable = [...]struct {
	name       string
	key, nonce uint8
}{
	AES128GCM:         {"AES-128-GCM", 16, 12},
	AES256GCM:         {"AES-256-GCM", 32, 12},
	ChaCha20Poly1305:  {"ChaCha20-Poly1305", 32, 12},
	XChaCha20Poly1305: {"XChaCha20-Poly1305", 32, 24},
	XAES256GCM:        {"XAES-256-GCM", 32, 24},
}

// valid reports whether a is a supported AEAD.
func (a AEAD) valid() bool {
	return a != 0 && int(a) < len(aeadTable)
}

// String returns the name of a, such as "AES-256-GCM", or "AEAD(n)" for an
// unknown identifier n.
func (a AEAD) String() string {
	if !a.valid() {
		return "AEAD(" + strconv.Itoa(int(a)) + ")"
	}
	return aeadTable[a].name
}

// KeySize returns the length of a secret for a, in bytes: 16 for
// AES-128-GCM and 32 for the others. It returns 0 for an unknown AEAD.
func (a AEAD) KeySize() int {
	if !a.valid() {
		return 0
	}
	return int(aeadTable[a].key)
}

// NonceSize returns the nonce length of a, in bytes: 24 for
// XChaCha20-Poly1305 and XAES-256-GCM and 12 for the others.
// It returns 0 for an unknown AEAD.
func (a AEAD) NonceSize() int {
	if !a.valid() {
		return 0
	}
	return int(aeadTable[a].nonce)
}

// Overhead returns the tag length of a, in bytes: 16 for every supported
// AEAD. It returns 0 for an unknown AEAD. A sealed ticket is
// [HeaderSize] + NonceSize + Overhead bytes longer than its plaintext.
func (a AEAD) Overhead() int {
	if !a.valid() {
		return 0
	}
	return tagSize
}

// ParseAEAD returns the AEAD whose [AEAD.String] is name, such as
// "AES-256-GCM". The match is exact.
func ParseAEAD(name string) (AEAD, error) {
	for a := AEAD(1); a.valid(); a++ {
		if a.String() == name {
			return a, nil
		}
	}
	return 0, fmt.Errorf("seal: unknown AEAD %q", name)
}
