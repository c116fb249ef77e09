package format

import (
	"strconv"

	"golang.org/x/crypto/cryptobyte"
)

// AEADID identifies the AEAD that sealed a [SealedTicket]. It fixes the nonce
// size and the tag length.
type AEADID uint8

// AEAD identifiers (docs/spec/ticket-format.md, Section "AEAD identifiers").
const (
	AEADAES128GCM         AEADID = 1 // AES-128-GCM, 12-byte nonce
	AEADAES256GCM         AEADID = 2 // AES-256-GCM, 12-byte nonce
	AEADChaCha20Poly1305  AEADID = 3 // ChaCha20-Poly1305 (RFC 8439), 12-byte nonce
	AEADXChaCha20Poly1305 AEADID = 4 // XChaCha20-Poly1305, 24-byte nonce
	AEADXAES256GCM        AEADID = 5 // XAES-256-GCM (c2sp.org/XAES-256-GCM), 24-byte nonce
)

// NonceSize returns the nonce length Nn of the AEAD in bytes: 12 for
// AES-GCM and ChaCha20-Poly1305, 24 for XChaCha20-Poly1305 and XAES-256-GCM,
// and 0 for an unknown identifier.
func (id AEADID) NonceSize() int {
	switch id {
	case AEADAES128GCM, AEADAES256GCM, AEADChaCha20Poly1305:
		return 12
	case AEADXChaCha20Poly1305, AEADXAES256GCM:
		return 24
	}
	return 0
}

// Overhead returns the tag length of the AEAD in bytes: 16 for every known
// identifier and 0 for an unknown one.
func (id AEADID) Overhead() int {
	if id.NonceSize() == 0 {
		return 0
	}
	return 16
}

// String returns the name of the AEAD, such as "AES-128-GCM", or
// "AEADID(n)" for an unknown identifier.
func (id AEADID) String() string {
	switch id {
	case AEADAES128GCM:
		return "AES-128-GCM"
	case AEADAES256GCM:
		return "AES-256-GCM"
	case AEADChaCha20Poly1305:
		return "ChaCha20-Poly1305"
	case AEADXChaCha20Poly1305:
		return "XChaCha20-Poly1305"
	case AEADXAES256GCM:
		return "XAES-256-GCM"
	}
	return "AEADID(" + strconv.FormatUint(uint64(id), 10) + ")"
}

// SealedHeaderLen is the length of the version, aead and key_name fields at
// the start of a sealed ticket. Those bytes, followed by the caller's
// additional data, are the additional data of the AEAD.
const SealedHeaderLen = 18

const (
	sealedVersion = 1
	sealedTagLen  = 16
	maxSealedLen  = maxUint16 // a TLS ticket<1..2^16-1>
)

// SealedTicket is the container that carries a sealed [State] as a TLS
// ticket (docs/spec/ticket-format.md):
//
//	struct {
//	    uint8  version = 1;
//	    uint8  aead;              // AEADID; fixes Nn and the tag length
//	    opaque key_name[16];
//	    opaque nonce[Nn];         // Nn = 12 for aead 1, 2, 3; 24 for aead 4
//	    opaque ciphertext[..];    // the rest of the ticket, tag included
//	} SealedTicket;               // at most 2^16-1 bytes in total
//
// The ciphertext includes the 16-byte tag, so it is at least 16 bytes long.
// The AEAD's additional data is the first [SealedHeaderLen] bytes of the
// ticket (version, aead and key_name) followed by the caller's additional
// data.
//
// Evolution: the layout is fixed for version 1. Any change, including a new
// field, needs a new version byte. A parser rejects versions it does not
// know. A new AEAD identifier may be added within version 1 only if it has a
// 16-byte tag.
type SealedTicket struct {
	AEAD       AEADID
	KeyName    [16]byte
	Nonce      []byte
	Ciphertext []byte
}

// ParseSealedTicket parses a sealed ticket. The Nonce and Ciphertext of the
// result alias b.
//
// The ciphertext runs to the end of b, so the container does not detect
// truncation by itself: a prefix of a ticket that keeps at least 16 bytes of
// ciphertext parses, and fails later when the AEAD checks the tag.
func ParseSealedTicket(b []byte) (*SealedTicket, error) {
	t := new(SealedTicket)
	if !t.unmarshal(b) {
		return nil, malformed("SealedTicket")
	}
	return t, nil
}

func (t *SealedTicket) unmarshal(b []byte) bool {
	*t = SealedTicket{}
	s := cryptobyte.String(b)
	var version, aead uint8
	if len(b) > maxSealedLen ||
		!s.ReadUint8(&version) || version != sealedVersion ||
		!s.ReadUint8(&aead) || AEADID(aead).NonceSize() == 0 ||
		!s.CopyBytes(t.KeyName[:]) ||
		!s.ReadBytes(&t.Nonce, AEADID(aead).NonceSize()) ||
		len(s) < sealedTagLen || !s.ReadBytes(&t.Ciphertext, len(s)) ||
		!s.Empty() {
		return false
	}
	t.AEAD = AEADID(aead)
	return true
}

// Append appends the encoding of t to dst and returns the extended slice.
// It fails, returning nil, if t.AEAD is unknown, if the nonce length does not
// match it, if the ciphertext is shorter than the tag, or if the ticket would
// be longer than 2^16-1 bytes.
func (t *SealedTicket) Append(dst []byte) ([]byte, error) {
	const structure = "SealedTicket"
	switch {
	case t.AEAD.NonceSize() == 0:
		return nil, invalid(structure, "aead")
	case len(t.Nonce) != t.AEAD.NonceSize():
		return nil, invalid(structure, "nonce length")
	case len(t.Ciphertext) < sealedTagLen:
		return nil, invalid(structure, "ciphertext length")
	case SealedHeaderLen+len(t.Nonce)+len(t.Ciphertext) > maxSealedLen:
		return nil, tooLarge(structure, "ciphertext")
	}
	b := cryptobyte.NewBuilder(dst)
	b.AddUint8(sealedVersion)
	b.AddUint8(uint8(t.AEAD))
	b.AddBytes(t.KeyName[:])
	b.AddBytes(t.Nonce)
	b.AddBytes(t.Ciphertext)
	return b.Bytes()
}
