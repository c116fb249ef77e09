package keydist

import (
	"bytes"
	"crypto/ed25519"
	cryptorand "crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"

	"github.com/cloudflare/circl/kem/xwing"
)

// Text forms of the keys: a prefix, then the binary form in standard base64
// with padding (RFC 4648, Section 4). The version in the prefix is the
// version of the binary form.
const (
	MemberPublicKeyPrefix     = "tlsticket-member-pub-v1:"
	MemberPrivateKeyPrefix    = "tlsticket-member-priv-v1:"
	PublisherPublicKeyPrefix  = "tlsticket-publisher-pub-v1:"
	PublisherPrivateKeyPrefix = "tlsticket-publisher-priv-v1:"
)

// Binary sizes of the keys, in bytes.
const (
	// MemberKeySize is the size of a [MemberKey]: the X-Wing seed.
	MemberKeySize = xwing.PrivateKeySize // 32
	// MemberPublicKeySize is the size of a [MemberPublicKey]: the X-Wing
	// encapsulation key (ML-KEM-768 then X25519).
	MemberPublicKeySize = xwing.PublicKeySize // 1216
	// PublisherKeySize is the size of a [PublisherKey]: the Ed25519 seed
	// (RFC 8032, Section 5.1.5).
	PublisherKeySize = ed25519.SeedSize // 32
	// PublisherPublicKeySize is the size of a [PublisherPublicKey].
	PublisherPublicKeySize = ed25519.PublicKeySize // 32
)

// IDSize is the size of a [KeyID].
const IDSize = 16

// KeyID names a public key in a sealed bundle and in logs: the first 16
// bytes of SHA-256("tlsticket keydist v1 key id" ‖ 0x00 ‖ key), where key
// is the binary form of the public key.
type KeyID [IDSize]byte

// String returns the ID in lowercase hex.
func (id KeyID) String() string { return hex.EncodeToString(id[:]) }

// keyID returns the KeyID of the binary public key pub.
func keyID(pub []byte) KeyID {
	h := sha256.New()
	h.Write([]byte("tlsticket keydist v1 key id\x00"))
	h.Write(pub)
	var id KeyID
	copy(id[:], h.Sum(nil))
	return id
}

// A MemberKey is the X-Wing (X25519 + ML-KEM-768) private key of a fleet
// member, which opens the bundles sealed to its [MemberPublicKey]. Its
// binary form is the 32-byte X-Wing seed, from which the X25519 and
// ML-KEM-768 keys are derived (draft-connolly-cfrg-xwing-kem, Section 5.2).
//
// Warning: a MemberKey opens every bundle ever sealed to it, and so every
// ticket key distributed to the member. Keep its file readable by the
// server only. MemberKeys print their public key's ID under every fmt verb,
// never the seed.
type MemberKey struct {
	seed [MemberKeySize]byte
	sk   *xwing.PrivateKey
	pub  *MemberPublicKey
}

// A MemberPublicKey is the X-Wing public key of a fleet member, to which a
// publisher seals bundles. It is not secret.
type MemberPublicKey struct {
	b  [MemberPublicKeySize]byte
	pk *xwing.PublicKey
	id KeyID
}

var (
	_ fmt.Formatter  = (*MemberKey)(nil)
	_ fmt.GoStringer = (*MemberKey)(nil)
	_ fmt.Stringer   = (*MemberPublicKey)(nil)
)

// GenerateMemberKey returns a new MemberKey with a seed read from rand, or
// from crypto/rand if rand is nil.
func GenerateMemberKey(rand io.Reader) (*MemberKey, error) {
	if rand == nil {
		rand = cryptorand.Reader
	}
	var seed [MemberKeySize]byte
	defer clear(seed[:])
	if _, err := io.ReadFull(rand, seed[:]); err != nil {
		return nil, fmt.Errorf("keydist: failed to generate member key: %w", err)
	}
	return NewMemberKey(seed[:])
}

// NewMemberKey returns the MemberKey whose binary form (X-Wing seed) is
// seed, which must be [MemberKeySize] bytes. It copies seed.
func NewMemberKey(seed []byte) (*MemberKey, error) {
	if len(seed) != MemberKeySize {
		return nil, fmt.Errorf("%w: member key is %d bytes, want %d", ErrMalformed, len(seed), MemberKeySize)
	}
	k := &MemberKey{}
	copy(k.seed[:], seed)
	var pub *xwing.PublicKey
	k.sk, pub = xwing.DeriveKeyPair(k.seed[:])
	k.pub = &MemberPublicKey{pk: pub}
	pub.Pack(k.pub.b[:])
	k.pub.id = keyID(k.pub.b[:])
	return k, nil
}

// Public returns the member's public key.
func (k *MemberKey) Public() *MemberPublicKey { return k.pub }

// Bytes returns a copy of the binary form of k, the X-Wing seed.
//
// Warning: the result is the secret key; clear it when done.
func (k *MemberKey) Bytes() []byte { return bytes.Clone(k.seed[:]) }

// MarshalBinary implements [encoding.BinaryMarshaler]; see [MemberKey.Bytes].
func (k *MemberKey) MarshalBinary() ([]byte, error) { return k.Bytes(), nil }

// UnmarshalBinary implements [encoding.BinaryUnmarshaler]; see [NewMemberKey].
func (k *MemberKey) UnmarshalBinary(b []byte) error {
	n, err := NewMemberKey(b)
	if err != nil {
		return err
	}
	*k = *n
	return nil
}

// MarshalText returns "tlsticket-member-priv-v1:" followed by the base64
// binary form. It implements [encoding.TextMarshaler].
//
// Warning: the result is the secret key; clear it when done.
func (k *MemberKey) MarshalText() ([]byte, error) {
	return marshalText(MemberPrivateKeyPrefix, k.seed[:]), nil
}

// UnmarshalText implements [encoding.TextUnmarshaler]; see
// [ParseMemberKeyText].
func (k *MemberKey) UnmarshalText(text []byte) error {
	n, err := ParseMemberKeyText(text)
	if err != nil {
		return err
	}
	*k = *n
	return nil
}

// ParseMemberKeyText parses the text form of a MemberKey, exactly as
// [MemberKey.MarshalText] writes it: no surrounding space or newline.
func ParseMemberKeyText(text []byte) (*MemberKey, error) {
	b, err := parseText(MemberPrivateKeyPrefix, text, MemberKeySize)
	defer clear(b)
	if err != nil {
		return nil, err
	}
	return NewMemberKey(b)
}

// String returns "keydist.MemberKey{" followed by the ID of the public key
// and "}". It never contains the private key.
func (k *MemberKey) String() string {
	if k == nil || k.pub == nil {
		return "keydist.MemberKey{<nil>}"
	}
	return "keydist.MemberKey{public " + k.pub.id.String() + "}"
}

// GoString returns the same description as [MemberKey.String].
func (k *MemberKey) GoString() string { return k.String() }

// Format implements [fmt.Formatter] so that every verb prints
// [MemberKey.String] and never the private key.
func (k *MemberKey) Format(f fmt.State, verb rune) { io.WriteString(f, k.String()) }

// ParseMemberPublicKey returns the MemberPublicKey whose binary form is b:
// [MemberPublicKeySize] bytes, the ML-KEM-768 encapsulation key then the
// X25519 public key. It checks the ML-KEM-768 key (FIPS 203, Section 7.2)
// and copies b.
func ParseMemberPublicKey(b []byte) (*MemberPublicKey, error) {
	if len(b) != MemberPublicKeySize {
		return nil, fmt.Errorf("%w: member public key is %d bytes, want %d", ErrMalformed, len(b), MemberPublicKeySize)
	}
	p := &MemberPublicKey{pk: new(xwing.PublicKey)}
	if err := p.pk.Unpack(b); err != nil {
		return nil, fmt.Errorf("%w: member public key: invalid ML-KEM-768 key", ErrMalformed)
	}
	copy(p.b[:], b)
	p.id = keyID(p.b[:])
	return p, nil
}

// ID returns the key's [KeyID].
func (p *MemberPublicKey) ID() KeyID { return p.id }

// Bytes returns a copy of the binary form of p.
func (p *MemberPublicKey) Bytes() []byte { return bytes.Clone(p.b[:]) }

// Equal reports whether p and q are the same key.
func (p *MemberPublicKey) Equal(q *MemberPublicKey) bool { return p.b == q.b }

// MarshalBinary implements [encoding.BinaryMarshaler]; see
// [MemberPublicKey.Bytes].
func (p *MemberPublicKey) MarshalBinary() ([]byte, error) { return p.Bytes(), nil }

// UnmarshalBinary implements [encoding.BinaryUnmarshaler]; see
// [ParseMemberPublicKey].
func (p *MemberPublicKey) UnmarshalBinary(b []byte) error {
	n, err := ParseMemberPublicKey(b)
	if err != nil {
		return err
	}
	*p = *n
	return nil
}

// MarshalText returns "tlsticket-member-pub-v1:" followed by the base64
// binary form. It implements [encoding.TextMarshaler].
func (p *MemberPublicKey) MarshalText() ([]byte, error) {
	return marshalText(MemberPublicKeyPrefix, p.b[:]), nil
}

// UnmarshalText implements [encoding.TextUnmarshaler]; see
// [ParseMemberPublicKeyText].
func (p *MemberPublicKey) UnmarshalText(text []byte) error {
	n, err := ParseMemberPublicKeyText(text)
	if err != nil {
		return err
	}
	*p = *n
	return nil
}

// ParseMemberPublicKeyText parses the text form of a MemberPublicKey,
// exactly as [MemberPublicKey.MarshalText] writes it.
func ParseMemberPublicKeyText(text []byte) (*MemberPublicKey, error) {
	b, err := parseText(MemberPublicKeyPrefix, text, MemberPublicKeySize)
	if err != nil {
		return nil, err
	}
	return ParseMemberPublicKey(b)
}

// String returns "keydist.MemberPublicKey{" followed by its ID and "}".
func (p *MemberPublicKey) String() string {
	return "keydist.MemberPublicKey{" + p.id.String() + "}"
}

// A PublisherKey is the Ed25519 private key (RFC 8032) with which a fleet's
// publisher signs every bundle. Its binary form is the 32-byte seed.
//
// Warning: whoever holds it can install any keys on every member of the
// fleet. PublisherKeys print their public key's ID under every fmt verb,
// never the seed.
type PublisherKey struct {
	priv ed25519.PrivateKey
	pub  *PublisherPublicKey
}

// A PublisherPublicKey is the Ed25519 public key with which members check
// the bundles of their fleet's publisher. It is not secret, but members must
// get it over an authenticated channel (with their configuration).
type PublisherPublicKey struct {
	b  [PublisherPublicKeySize]byte
	id KeyID
}

var (
	_ fmt.Formatter  = (*PublisherKey)(nil)
	_ fmt.GoStringer = (*PublisherKey)(nil)
	_ fmt.Stringer   = (*PublisherPublicKey)(nil)
)

// GeneratePublisherKey returns a new PublisherKey with a seed read from
// rand, or from crypto/rand if rand is nil.
func GeneratePublisherKey(rand io.Reader) (*PublisherKey, error) {
	if rand == nil {
		rand = cryptorand.Reader
	}
	var seed [PublisherKeySize]byte
	defer clear(seed[:])
	if _, err := io.ReadFull(rand, seed[:]); err != nil {
		return nil, fmt.Errorf("keydist: failed to generate publisher key: %w", err)
	}
	return NewPublisherKey(seed[:])
}

// NewPublisherKey returns the PublisherKey whose binary form (Ed25519 seed)
// is seed, which must be [PublisherKeySize] bytes. It copies seed.
func NewPublisherKey(seed []byte) (*PublisherKey, error) {
	if len(seed) != PublisherKeySize {
		return nil, fmt.Errorf("%w: publisher key is %d bytes, want %d", ErrMalformed, len(seed), PublisherKeySize)
	}
	k := &PublisherKey{priv: ed25519.NewKeyFromSeed(seed), pub: &PublisherPublicKey{}}
	copy(k.pub.b[:], k.priv.Public().(ed25519.PublicKey))
	k.pub.id = keyID(k.pub.b[:])
	return k, nil
}

// Public returns the publisher's public key.
func (k *PublisherKey) Public() *PublisherPublicKey { return k.pub }

// Bytes returns a copy of the binary form of k, the Ed25519 seed.
//
// Warning: the result is the secret key; clear it when done.
func (k *PublisherKey) Bytes() []byte { return bytes.Clone(k.priv.Seed()) }

// MarshalBinary implements [encoding.BinaryMarshaler]; see
// [PublisherKey.Bytes].
func (k *PublisherKey) MarshalBinary() ([]byte, error) { return k.Bytes(), nil }

// UnmarshalBinary implements [encoding.BinaryUnmarshaler]; see
// [NewPublisherKey].
func (k *PublisherKey) UnmarshalBinary(b []byte) error {
	n, err := NewPublisherKey(b)
	if err != nil {
		return err
	}
	*k = *n
	return nil
}

// MarshalText returns "tlsticket-publisher-priv-v1:" followed by the base64
// binary form. It implements [encoding.TextMarshaler].
//
// Warning: the result is the secret key; clear it when done.
func (k *PublisherKey) MarshalText() ([]byte, error) {
	seed := k.priv.Seed()
	defer clear(seed)
	return marshalText(PublisherPrivateKeyPrefix, seed), nil
}

// UnmarshalText implements [encoding.TextUnmarshaler]; see
// [ParsePublisherKeyText].
func (k *PublisherKey) UnmarshalText(text []byte) error {
	n, err := ParsePublisherKeyText(text)
	if err != nil {
		return err
	}
	*k = *n
	return nil
}

// ParsePublisherKeyText parses the text form of a PublisherKey, exactly as
// [PublisherKey.MarshalText] writes it.
func ParsePublisherKeyText(text []byte) (*PublisherKey, error) {
	b, err := parseText(PublisherPrivateKeyPrefix, text, PublisherKeySize)
	defer clear(b)
	if err != nil {
		return nil, err
	}
	return NewPublisherKey(b)
}

// String returns "keydist.PublisherKey{public " followed by the ID of the
// public key and "}". It never contains the private key.
func (k *PublisherKey) String() string {
	if k == nil || k.pub == nil {
		return "keydist.PublisherKey{<nil>}"
	}
	return "keydist.PublisherKey{public " + k.pub.id.String() + "}"
}

// GoString returns the same description as [PublisherKey.String].
func (k *PublisherKey) GoString() string { return k.String() }

// Format implements [fmt.Formatter] so that every verb prints
// [PublisherKey.String] and never the private key.
func (k *PublisherKey) Format(f fmt.State, verb rune) { io.WriteString(f, k.String()) }

// ParsePublisherPublicKey returns the PublisherPublicKey whose binary form
// is b, [PublisherPublicKeySize] bytes. It copies b.
func ParsePublisherPublicKey(b []byte) (*PublisherPublicKey, error) {
	if len(b) != PublisherPublicKeySize {
		return nil, fmt.Errorf("%w: publisher public key is %d bytes, want %d", ErrMalformed, len(b), PublisherPublicKeySize)
	}
	p := &PublisherPublicKey{}
	copy(p.b[:], b)
	p.id = keyID(p.b[:])
	return p, nil
}

// ID returns the key's [KeyID].
func (p *PublisherPublicKey) ID() KeyID { return p.id }

// Bytes returns a copy of the binary form of p.
func (p *PublisherPublicKey) Bytes() []byte { return bytes.Clone(p.b[:]) }

// Equal reports whether p and q are the same key.
func (p *PublisherPublicKey) Equal(q *PublisherPublicKey) bool { return p.b == q.b }

// MarshalBinary implements [encoding.BinaryMarshaler]; see
// [PublisherPublicKey.Bytes].
func (p *PublisherPublicKey) MarshalBinary() ([]byte, error) { return p.Bytes(), nil }

// UnmarshalBinary implements [encoding.BinaryUnmarshaler]; see
// [ParsePublisherPublicKey].
func (p *PublisherPublicKey) UnmarshalBinary(b []byte) error {
	n, err := ParsePublisherPublicKey(b)
	if err != nil {
		return err
	}
	*p = *n
	return nil
}

// MarshalText returns "tlsticket-publisher-pub-v1:" followed by the base64
// binary form. It implements [encoding.TextMarshaler].
func (p *PublisherPublicKey) MarshalText() ([]byte, error) {
	return marshalText(PublisherPublicKeyPrefix, p.b[:]), nil
}

// UnmarshalText implements [encoding.TextUnmarshaler]; see
// [ParsePublisherPublicKeyText].
func (p *PublisherPublicKey) UnmarshalText(text []byte) error {
	n, err := ParsePublisherPublicKeyText(text)
	if err != nil {
		return err
	}
	*p = *n
	return nil
}

// ParsePublisherPublicKeyText parses the text form of a PublisherPublicKey,
// exactly as [PublisherPublicKey.MarshalText] writes it.
func ParsePublisherPublicKeyText(text []byte) (*PublisherPublicKey, error) {
	b, err := parseText(PublisherPublicKeyPrefix, text, PublisherPublicKeySize)
	if err != nil {
		return nil, err
	}
	return ParsePublisherPublicKey(b)
}

// String returns "keydist.PublisherPublicKey{" followed by its ID and "}".
func (p *PublisherPublicKey) String() string {
	return "keydist.PublisherPublicKey{" + p.id.String() + "}"
}

// marshalText returns prefix followed by b in standard base64.
func marshalText(prefix string, b []byte) []byte {
	out := make([]byte, 0, len(prefix)+base64.StdEncoding.EncodedLen(len(b)))
	out = append(out, prefix...)
	return base64.StdEncoding.AppendEncode(out, b)
}

// parseText decodes prefix followed by exactly size bytes in strict
// standard base64. Errors never quote the text, which may be a secret key.
func parseText(prefix string, text []byte, size int) ([]byte, error) {
	rest, ok := bytes.CutPrefix(text, []byte(prefix))
	if !ok {
		return nil, fmt.Errorf("%w: key text does not start with %q", ErrMalformed, prefix)
	}
	if len(rest) != base64.StdEncoding.EncodedLen(size) {
		return nil, fmt.Errorf("%w: %s key text has the wrong length", ErrMalformed, prefix)
	}
	// Text of the right length whose padding is replaced by data decodes
	// to more than size bytes: decode into a buffer of the decoded length
	// of the text, not of the key.
	b := make([]byte, base64.StdEncoding.DecodedLen(len(rest)))
	if n, err := base64.StdEncoding.Strict().Decode(b, rest); err != nil || n != size {
		clear(b)
		return nil, fmt.Errorf("%w: %s key text is not valid base64", ErrMalformed, prefix)
	}
	return b[:size], nil
}
