package seal

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	cryptorand "crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	mathrand "math/rand/v2"
	"sync/atomic"

	"golang.org/x/crypto/chacha20poly1305"
)

// KeyNameSize is the length of a [KeyName] in bytes.
const KeyNameSize = 16

// HKDF info strings of the key derivation. Changing them changes every key
// name and key, so they are part of the version 1 layout.
const (
	infoKeyName = "tlsticket v1 key name"
	infoAEADKey = "tlsticket v1 aead key" // followed by the AEAD identifier byte
)

// KeyName identifies a [Key] on the wire. It is derived from the secret by
// HKDF-SHA256 and reveals nothing about the key bytes.
type KeyName [KeyNameSize]byte

// String returns the key name in lowercase hex.
func (n KeyName) String() string {
	return hex.EncodeToString(n[:])
}

// short returns the first 4 bytes of n in hex followed by an ellipsis.
func (n KeyName) short() string {
	return hex.EncodeToString(n[:4]) + "…"
}

// A Key is one ticket key: a [KeyName] and a ready AEAD. It keeps no copy of
// the secret it was made from; only the cipher holds the derived AEAD key.
// A Key is safe for concurrent use. It counts the tickets it seals; see
// [Key.Seals].
//
// Keys print as their AEAD and a short name prefix under every fmt verb,
// never as key bytes.
type Key struct {
	name KeyName
	aead AEAD
	c    *aeadBox
}

// aeadBox holds a Key's cipher behind a second pointer. fmt prints the
// unexported fields of a struct that embeds a Key by reflection, without
// calling Key.Format, and under a bad verb (%!s(…)) it follows one pointer
// into a struct; the box keeps the expanded key one pointer further away,
// where fmt prints only an address.
//
// The box also holds the key's nonce generators and seal counters
// (nonce.go), made on the key's first seal, and its open counters.
type aeadBox struct {
	cipher.AEAD
	nonces atomic.Pointer[nonceShards]
	opens  [openShards]paddedCount
}

// openShards is the number of open counters of a Key: concurrent opens add
// to a counter picked at random, so that they seldom share a cache line.
const openShards = 8

// paddedCount is a counter alone on its cache line.
type paddedCount struct {
	n atomic.Uint64
	_ [cacheLine - 8]byte
}

// countOpen counts one ticket opened by the key.
func (b *aeadBox) countOpen() {
	b.opens[mathrand.Uint32()%openShards].n.Add(1)
}

// cacheLine is the cache line size assumed for padding.
const cacheLine = 64

var (
	_ fmt.Formatter  = Key{}
	_ fmt.GoStringer = Key{}
	_ fmt.Stringer   = KeyName{}
)

// Errors returned for a secret that cannot make a [Key].
var (
	// ErrKeySize means a secret's length is not the AEAD's key size.
	ErrKeySize = errors.New("seal: invalid key size")

	// ErrWeakKey means a secret has all bytes equal (all zero, as in
	// CVE-2020-13777, or any other repeated byte).
	ErrWeakKey = errors.New("seal: weak key")
)

// NewKey returns a Key for a derived from secret, which must be exactly
// a.KeySize() bytes ([ErrKeySize]) and must not have all bytes equal
// ([ErrWeakKey]). The secret should come from a cryptographically secure
// source; NewKey does not retain it, and the caller may clear it afterwards.
func NewKey(a AEAD, secret []byte) (*Key, error) {
	if !a.valid() {
		return nil, fmt.Errorf("seal: unknown AEAD %v", a)
	}
	if len(secret) != a.KeySize() {
		return nil, fmt.Errorf("%w: %v needs %d bytes, got %d", ErrKeySize, a, a.KeySize(), len(secret))
	}
	if WeakSecret(secret) {
		return nil, ErrWeakKey
	}
	var k *Key
	var err error
	withSecret(func() { k, err = deriveKey(a, secret) })
	return k, err
}

// deriveKey is NewKey after the checks. NewKey runs it under withSecret.
func deriveKey(a AEAD, secret []byte) (*Key, error) {
	name, err := hkdf.Key(sha256.New, secret, nil, infoKeyName, KeyNameSize)
	if err != nil {
		return nil, fmt.Errorf("seal: failed to derive key name: %w", err)
	}
	key, err := hkdf.Key(sha256.New, secret, nil, infoAEADKey+string([]byte{byte(a)}), a.KeySize())
	if err != nil {
		return nil, fmt.Errorf("seal: failed to derive AEAD key: %w", err)
	}
	defer clear(key)
	c, err := newCipher(a, key)
	if err != nil {
		return nil, fmt.Errorf("seal: failed to create %v cipher: %w", a, err)
	}
	k := &Key{aead: a, c: &aeadBox{AEAD: c}}
	copy(k.name[:], name)
	return k, nil
}

// newCipher returns the cipher.AEAD for a with the derived key.
func newCipher(a AEAD, key []byte) (cipher.AEAD, error) {
	switch a {
	case AES128GCM, AES256GCM:
		block, err := aes.NewCipher(key)
		if err != nil {
			return nil, err
		}
		return cipher.NewGCM(block)
	case ChaCha20Poly1305:
		return chacha20poly1305.New(key)
	case XChaCha20Poly1305:
		return chacha20poly1305.NewX(key)
	case XAES256GCM:
		return newXAES(key)
	}
	panic("seal: internal error: newCipher called with unknown AEAD")
}

// WeakSecret reports whether every byte of secret is the same (all zero,
// for example), the weak-key rule of [NewKey] and [EpochSchedule]. Packages
// that take other key material, such as key files and legacy ticket keys,
// call it to apply the same rule. It does not branch on the secret bytes.
func WeakSecret(secret []byte) bool {
	var diff byte
	for _, c := range secret {
		diff |= c ^ secret[0]
	}
	return diff == 0
}

// GenerateKey returns a new Key for a with a secret read from rand, or from
// crypto/rand if rand is nil. The secret is cleared before GenerateKey
// returns, so the key cannot be exported: generate the secret yourself and
// call [NewKey] to share a key between servers.
func GenerateKey(a AEAD, rand io.Reader) (*Key, error) {
	if !a.valid() {
		return nil, fmt.Errorf("seal: unknown AEAD %v", a)
	}
	if rand == nil {
		rand = cryptorand.Reader
	}
	secret := make([]byte, a.KeySize())
	defer clear(secret)
	if _, err := io.ReadFull(rand, secret); err != nil {
		return nil, fmt.Errorf("seal: failed to generate key: %w", err)
	}
	return NewKey(a, secret)
}

// Name returns the key's name, which is sent in the clear in every ticket it
// seals.
func (k *Key) Name() KeyName { return k.name }

// AEAD returns the AEAD the key seals with.
func (k *Key) AEAD() AEAD { return k.aead }

// Opens returns the number of tickets k has opened (authenticated and
// decrypted) since it was made, under every [Ring] that holds it: one
// atomic add per open on one of a few cache lines. It returns 0 for a Key
// not made by [NewKey] or [GenerateKey].
func (k *Key) Opens() uint64 {
	if k == nil || k.c == nil {
		return 0
	}
	var n uint64
	for i := range k.c.opens {
		n += k.c.opens[i].n.Load()
	}
	return n
}

// Seals returns the number of tickets k has sealed since it was made, under
// every [Ring] that holds it. A [Rotator] compares it with
// [RotatorConfig.MaxSeals]. The count is one atomic add per seal, on the
// cache line of the nonce generator that the seal used; it returns 0 for a
// Key not made by [NewKey] or [GenerateKey].
func (k *Key) Seals() uint64 {
	if k.c == nil {
		return 0
	}
	return k.c.seals()
}

// String returns a description such as "seal.Key{AES-256-GCM 0123abcd…}"
// with the AEAD and the first 4 bytes of the key name. It never contains key
// bytes.
func (k Key) String() string {
	return "seal.Key{" + k.desc() + "}"
}

// desc returns "AES-256-GCM 0123abcd…".
func (k Key) desc() string {
	return k.aead.String() + " " + k.name.short()
}

// GoString returns the same description as [Key.String] in Go-like syntax,
// so that %#v never prints key bytes.
func (k Key) GoString() string {
	return "seal.Key{AEAD: " + k.aead.String() + ", Name: " + k.name.String() + "}"
}

// Format implements [fmt.Formatter] so that every verb, including %x and
// %#v, prints [Key.String] (or [Key.GoString]) and never key bytes.
func (k Key) Format(f fmt.State, verb rune) {
	if verb == 'v' && f.Flag('#') {
		io.WriteString(f, k.GoString())
		return
	}
	io.WriteString(f, k.String())
}
