package seal

import "fmt"

// AEAD identifies the authenticated cipher that seals a ticket. Its value is
// the aead byte of the sealed layout and never changes meaning.
type AEAD uint8

// Supported AEADs.
const (
	AES128GCM         AEAD = 1 // AES-128-GCM
	AES256GCM         AEAD = 2 // AES-256-GCM
	ChaCha20Poly1305  AEAD = 3 // ChaCha20-Poly1305
	XChaCha20Poly1305 AEAD = 4 // XChaCha20-Poly1305
	XAES256GCM        AEAD = 5 // XAES-256-GCM
)

// aeads lists the supported AEADs in identifier order.
var aeads = [...]AEAD{AES128GCM, AES256GCM, ChaCha20Poly1305, XChaCha20Poly1305, XAES256GCM}

// valid reports whether a is a supported AEAD.
func (a AEAD) valid() bool {
	return a >= AES128GCM && a <= XAES256GCM
}

// KeySize returns the length of a secret for a, in bytes: 16 for
// AES-128-GCM and 32 for the others. It returns 0 for an unknown AEAD.
func (a AEAD) KeySize() int {
	switch a {
	case AES128GCM:
		return 16
	case AES256GCM, ChaCha20Poly1305, XChaCha20Poly1305, XAES256GCM:
		return 32
	}
	return 0
}

// NonceSize returns the nonce length of a, in bytes: 24 for
// XChaCha20-Poly1305 and XAES-256-GCM and 12 for the others.
// It returns 0 for an unknown AEAD.
func (a AEAD) NonceSize() int {
	switch a {
	case AES128GCM, AES256GCM, ChaCha20Poly1305:
		return 12
	case XChaCha20Poly1305, XAES256GCM:
		return 24
	}
	return 0
}

// Overhead returns the tag length of a, in bytes: 16 for every supported
// AEAD. It returns 0 for an unknown AEAD. A sealed ticket is
// 18 + NonceSize + Overhead bytes longer than its plaintext.
func (a AEAD) Overhead() int {
	if !a.valid() {
		return 0
	}
	return tagSize
}

// ParseAEAD returns the AEAD whose [AEAD.String] is name, such as
// "AES-256-GCM". The match is exact.
func ParseAEAD(name string) (AEAD, error) {
	for _, a := range aeads {
		if a.String() == name {
			return a, nil
		}
	}
	return 0, fmt.Errorf("seal: unknown AEAD %q", name)
}
