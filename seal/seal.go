// Package seal seals session-state plaintexts into TLS session tickets under
// rotating AEAD keys, and opens them again.
//
// A server keeps its keys in a [Ring]: the first key (the primary) seals new
// tickets, and every key in the ring can open them. A Ring never changes after
// [NewRing] or [Ring.Rotate] return it; a [Keyring] holds the current Ring and
// swaps it atomically, so sealing and opening take no locks.
//
// The tickets are opaque to clients: RFC 8446, Section 4.6.1 (NewSessionTicket
// ticket field) and RFC 5077, Section 4 (SessionTicket). This package does not
// define the plaintext it seals; see the format package for that.
//
// # Sealed ticket layout
//
// In the presentation language of RFC 8446, Section 3:
//
//	struct {
//	    uint8 version = 1;
//	    uint8 aead;                  /* AEAD identifier, see [AEAD] */
//	    opaque key_name[16];         /* [KeyName] of the sealing key */
//	    opaque nonce[Nn];            /* [AEAD.NonceSize]: 12 or 24 bytes */
//	    opaque ciphertext[];         /* plaintext length + 16-byte tag */
//	} SealedTicket;                  /* at most 2^16-1 bytes in total */
//
// This package is the one definition of the container: [ParseHeader] reads
// its clear part (for tools that inspect tickets, and for [Ring.OpenKey]),
// and the AEAD identifiers are those of [AEAD]. The AEAD additional data is
// the first [HeaderSize] (18) bytes (version, aead and key_name) followed by
// the caller's additional data, so the header is authenticated. The header
// fields never change meaning: any change to the layout, the key derivation
// or the additional data takes a new version byte.
//
// # Keys
//
// A [Key] is made from a secret of [AEAD.KeySize] bytes. The secret is never
// used directly: HKDF-SHA256 (RFC 5869) with no salt derives the key name
// (info "tlsticket v1 key name", 16 bytes) and the AEAD key (info
// "tlsticket v1 aead key" followed by the AEAD identifier byte), so the name
// sent on the wire reveals nothing about the key, and the same secret gives
// unrelated keys under different AEADs. Keys never print their secret bytes.
//
// # AEADs
//
// AES-128-GCM, AES-256-GCM and ChaCha20-Poly1305 take 96-bit nonces;
// XChaCha20-Poly1305 and XAES-256-GCM (https://c2sp.org/XAES-256-GCM, which
// derives an AES-256-GCM key per message from the key and half of a 192-bit
// nonce with the NIST SP 800-108r1 counter KDF over AES-CMAC) take 192-bit
// nonces. Sealing and opening allocate nothing (once a key has sealed its
// first ticket, which makes its nonce generators), except under XAES-256-GCM:
// crypto/cipher cannot key the per-message AES-GCM without allocating, so
// each XAES-256-GCM seal or authenticated open makes 2 allocations.
//
// # Nonces and rotation
//
// Every ticket takes a fresh random nonce. By default it comes from a few
// ChaCha8 generators per sealing key (math/rand/v2.ChaCha8, a
// cryptographically strong generator), each seeded with 256 bits from
// crypto/rand and reseeded every 4096 nonces: a fraction of the cost of
// reading crypto/rand for every ticket, with outputs indistinguishable from
// random, so the random-nonce bound below is unchanged and servers that
// share a key draw independent streams. A Ring made with another random
// source reads every nonce from it (see [NewRing]). Like any generator in
// process memory, the default one repeats its outputs if the process's
// memory is duplicated, as when one VM snapshot of a running server is
// resumed twice: rotate the ticket keys of such clones first (docs/keys.md).
//
// The 96-bit nonces of AES-GCM and ChaCha20-Poly1305 are too short to be
// safely generated at random if the same key seals more than 2^32 tickets
// (NIST SP 800-38D, Section 8.3: the collision probability is then about
// 2^-33), counted over every server that shares the key: rotate the primary
// key well before that. Every Key counts the tickets it
// seals ([Key.Seals]), and a [Rotator] replaces a primary key after
// [MaxRandomNonceSeals] (2^31) tickets as well as on its schedule. The
// 192-bit nonces of XChaCha20-Poly1305 and XAES-256-GCM allow about 2^80
// tickets per key, but keys should still be rotated for forward secrecy:
// the ticket key is the one secret whose leak exposes the sessions of every
// ticket it can open.
//
// # Key lifecycle
//
// Each key of a [Schedule] has [Phases]: announced (it opens tickets but
// does not seal yet, so that every server of a fleet can open its tickets
// before any server seals with it), active (it seals), decrypt-only (it
// opens, and its tickets should be renewed) and retired (it is gone).
// [Schedule.RingAt] gives the Ring of any time. A [Rotator] keeps a
// [Keyring] current with keys it generates on that schedule, or with epoch
// keys that every server derives from one shared root secret
// ([EpochKey], [EpochSchedule]). docs/keys.md explains the defaults.
package seal

import "errors"

// Errors returned when a ticket does not open. Callers may branch on them,
// and on the errors of [NewKey] and [NewRing], with [errors.Is]. No error of
// this package contains key bytes, nonces or plaintext.
//
// A server should treat [ErrUnknownKey] and [ErrAuth] the same way (fall back
// to a full handshake) so that the difference does not leak to a client.
var (
	// ErrMalformed means a ticket is too short or too long, has an unknown
	// version or AEAD identifier, or is shorter than its nonce and tag.
	ErrMalformed = errors.New("seal: malformed ticket")

	// ErrUnknownKey means no key of the ring has the ticket's key name.
	ErrUnknownKey = errors.New("seal: unknown ticket key")

	// ErrAuth means the ticket failed authentication: it was modified, the
	// additional data differs, or it names a key of another AEAD.
	ErrAuth = errors.New("seal: ticket authentication failed")
)

const (
	// version is the first byte of every sealed ticket.
	version byte = 0x01

	// tagSize is the tag length of every supported AEAD.
	tagSize = 16

	// maxTicketSize is the largest ticket that fits the 16-bit ticket
	// field of RFC 8446, Section 4.6.1 and RFC 5077, Section 3.3.
	maxTicketSize = 1<<16 - 1
)
