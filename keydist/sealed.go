package keydist

import (
	"crypto/ed25519"
	cryptorand "crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"

	"github.com/cloudflare/circl/hpke"
	"github.com/cloudflare/circl/kem/xwing"
	"golang.org/x/crypto/cryptobyte"
)

// The sealed bundle, in the presentation language of RFC 8446, Section 3:
//
//	struct {
//	    uint8  version = 1;
//	    opaque fleet<1..255>;            // printable ASCII, no spaces
//	    uint64 epoch;                    // at least 1
//	    opaque member[16];               // KeyID of the recipient's MemberPublicKey
//	    opaque publisher[16];            // KeyID of the signer's PublisherPublicKey
//	    opaque enc[1120];                // HPKE enc: the X-Wing ciphertext
//	    opaque ciphertext<17..2^24-1>;   // HPKE AES-256-GCM of BundleContents, tag included
//	    opaque signature[64];            // Ed25519 by the publisher
//	} SealedBundle;
//
// The header is every field before enc. Version 1 fixes the algorithms:
// HPKE base mode (RFC 9180, Section 5.1.1) with KEM X-Wing (0x647a), KDF
// HKDF-SHA256 (0x0001) and AEAD AES-256-GCM (0x0002), with
//
//	info = "tlsticket keydist v1 bundle" ‖ 0x00 ‖ SHA-256(header)
//	aad  = header
//
// and the signature is Ed25519 (RFC 8032, PureEdDSA) over
//
//	"tlsticket keydist v1 signature" ‖ 0x00 ‖ every byte before signature.
//
// Evolution: any change to the layout or the algorithms needs a new version
// byte; a parser rejects versions it does not know and trailing bytes.
const (
	sealedVersion = 1

	labelInfo      = "tlsticket keydist v1 bundle\x00"
	labelSignature = "tlsticket keydist v1 signature\x00"

	encSize       = xwing.CiphertextSize // 1120
	signatureSize = ed25519.SignatureSize
	minCiphertext = 17 // a tag and at least one byte
)

// suite is the HPKE suite of version 1. It is a value, never modified.
var suite = hpke.NewSuite(hpke.KEM_XWING, hpke.KDF_HKDF_SHA256, hpke.AEAD_AES256GCM)

// A Header is the part of a sealed bundle that is readable without the
// member's key: enough to route a bundle and to skip an old one. Nothing in
// it is authenticated until [Open] succeeds.
type Header struct {
	Fleet     string
	Epoch     uint64
	Member    KeyID // the recipient's [MemberPublicKey.ID]
	Publisher KeyID // the signer's [PublisherPublicKey.ID]
}

// sealedBundle is a parsed SealedBundle. Its slices alias the input.
type sealedBundle struct {
	Header
	header     []byte // the encoded header, for info and aad
	enc        []byte
	ciphertext []byte
	signed     []byte // every byte before the signature
	signature  []byte
}

// unmarshal parses a SealedBundle, strictly: it accepts only what
// marshal writes.
func (sb *sealedBundle) unmarshal(b []byte) bool {
	*sb = sealedBundle{}
	s := cryptobyte.String(b)
	var version uint8
	var fleet []byte
	if !s.ReadUint8(&version) || version != sealedVersion ||
		!readUint8LengthPrefixed(&s, &fleet) || checkFleet(string(fleet)) != nil ||
		!s.ReadUint64(&sb.Epoch) || sb.Epoch == 0 ||
		!s.CopyBytes(sb.Member[:]) || !s.CopyBytes(sb.Publisher[:]) {
		return false
	}
	sb.header = b[:len(b)-len(s)]
	var ct cryptobyte.String
	if !s.ReadBytes(&sb.enc, encSize) ||
		!s.ReadUint24LengthPrefixed(&ct) || len(ct) < minCiphertext {
		return false
	}
	sb.signed = b[:len(b)-len(s)]
	if !s.ReadBytes(&sb.signature, signatureSize) || !s.Empty() {
		return false
	}
	sb.Fleet, sb.ciphertext = string(fleet), ct
	return true
}

// readUint8LengthPrefixed reads a uint8-length-prefixed byte string.
func readUint8LengthPrefixed(s *cryptobyte.String, out *[]byte) bool {
	return s.ReadUint8LengthPrefixed((*cryptobyte.String)(out))
}

// appendHeader appends the header of h to dst.
func appendHeader(dst []byte, h *Header) ([]byte, error) {
	b := cryptobyte.NewBuilder(dst)
	b.AddUint8(sealedVersion)
	b.AddUint8LengthPrefixed(func(b *cryptobyte.Builder) {
		b.AddBytes([]byte(h.Fleet))
	})
	b.AddUint64(h.Epoch)
	b.AddBytes(h.Member[:])
	b.AddBytes(h.Publisher[:])
	return b.Bytes()
}

// info returns the HPKE info of a bundle with the given encoded header.
func info(header []byte) []byte {
	sum := sha256.Sum256(header)
	return append([]byte(labelInfo), sum[:]...)
}

// signedMessage returns the message an Ed25519 signature covers.
func signedMessage(signed []byte) []byte {
	return append([]byte(labelSignature), signed...)
}

// ParseHeader parses a sealed bundle and returns its header, without
// opening it: the header is not authenticated. It returns an error wrapping
// [ErrMalformed] if b is not a sealed bundle of a known version.
func ParseHeader(b []byte) (*Header, error) {
	var sb sealedBundle
	if !sb.unmarshal(b) {
		return nil, fmt.Errorf("%w: sealed bundle", ErrMalformed)
	}
	return &sb.Header, nil
}

// Seal seals b to the member whose public key is to and signs it with
// signer, and returns the sealed bundle, which only that member can open,
// and only after checking the signature with signer's public key. The HPKE
// encapsulation randomness is read from rand, or from crypto/rand if rand
// is nil.
//
// b must have a valid fleet name, an epoch of at least 1 and keys that obey
// the rules of a key file ([keyfile.Write]), with times within the years
// 0000 to 9999. Seal does not modify b; the copy of the secrets it encodes
// is cleared before it returns.
func Seal(b *Bundle, to *MemberPublicKey, signer *PublisherKey, rand io.Reader) ([]byte, error) {
	if err := b.check(); err != nil {
		return nil, err
	}
	if rand == nil {
		rand = cryptorand.Reader
	}
	contents, err := appendContents(nil, b.Keys)
	defer clear(contents)
	if err != nil {
		return nil, err
	}
	h := Header{Fleet: b.Fleet, Epoch: b.Epoch, Member: to.id, Publisher: signer.pub.id}
	header, err := appendHeader(nil, &h)
	if err != nil {
		return nil, fmt.Errorf("keydist: failed to encode header: %w", err)
	}
	sender, err := suite.NewSender(to.pk, info(header))
	if err != nil {
		return nil, fmt.Errorf("keydist: failed to set up HPKE: %w", err)
	}
	enc, sealer, err := sender.Setup(rand)
	if err != nil {
		return nil, fmt.Errorf("keydist: failed to set up HPKE: %w", err)
	}
	ct, err := sealer.Seal(contents, header)
	if err != nil {
		return nil, fmt.Errorf("keydist: failed to seal bundle: %w", err)
	}
	bld := cryptobyte.NewBuilder(make([]byte, 0, len(header)+len(enc)+3+len(ct)+signatureSize))
	bld.AddBytes(header)
	bld.AddBytes(enc)
	bld.AddUint24LengthPrefixed(func(b *cryptobyte.Builder) {
		b.AddBytes(ct)
	})
	out, err := bld.Bytes()
	if err != nil {
		return nil, fmt.Errorf("keydist: bundle too large: %w", err)
	}
	return append(out, ed25519.Sign(signer.priv, signedMessage(out))...), nil
}

// Errors returned by [Open] for a bundle that is well formed but not for
// this member, not authentic, or replayed.
var (
	// ErrWrongMember means a bundle was sealed to another member.
	ErrWrongMember = errors.New("keydist: bundle sealed to another member")

	// ErrAuth means a bundle failed authentication: the signature is not
	// the publisher's, or the HPKE ciphertext was modified.
	ErrAuth = errors.New("keydist: bundle authentication failed")

	// ErrRollback means an authentic bundle's epoch is not greater than
	// the member's last installed epoch: an old bundle was replayed.
	ErrRollback = errors.New("keydist: bundle epoch is not newer than the installed epoch")
)

// Open checks and opens a sealed bundle with the member's private key and
// the publisher's public key, and returns its contents. In order, it
// returns an error wrapping:
//
//   - [ErrMalformed] if sealed is not a sealed bundle of a known version;
//   - [ErrWrongMember] if it was sealed to another member;
//   - [ErrAuth] if the signature is not publisher's (or the bundle was
//     modified after signing);
//   - [ErrRollback] if its epoch is not greater than lastEpoch, the epoch
//     the member last installed (0 for none): an authentic but old bundle;
//   - [ErrAuth] if the HPKE ciphertext does not open;
//   - [ErrMalformed] if the contents break the rules of a key file.
//
// The bundle's fleet is not checked: compare it with the member's (a
// [Member] does). The caller should [Bundle.Clear] the result when done.
func Open(sealed []byte, member *MemberKey, publisher *PublisherPublicKey, lastEpoch uint64) (*Bundle, error) {
	var sb sealedBundle
	if !sb.unmarshal(sealed) {
		return nil, fmt.Errorf("%w: sealed bundle", ErrMalformed)
	}
	if sb.Member != member.pub.id {
		return nil, fmt.Errorf("%w: sealed to %v, not %v", ErrWrongMember, sb.Member, member.pub.id)
	}
	if sb.Publisher != publisher.id || !ed25519.Verify(publisher.b[:], signedMessage(sb.signed), sb.signature) {
		return nil, fmt.Errorf("%w: not signed by publisher %v", ErrAuth, publisher.id)
	}
	if sb.Epoch <= lastEpoch {
		return nil, fmt.Errorf("%w: epoch %d, installed %d", ErrRollback, sb.Epoch, lastEpoch)
	}
	receiver, err := suite.NewReceiver(member.sk, info(sb.header))
	if err != nil {
		return nil, fmt.Errorf("keydist: failed to set up HPKE: %w", err)
	}
	opener, err := receiver.Setup(sb.enc)
	if err != nil {
		return nil, fmt.Errorf("%w: HPKE", ErrAuth)
	}
	contents, err := opener.Open(sb.ciphertext, sb.header)
	defer clear(contents)
	if err != nil {
		return nil, fmt.Errorf("%w: HPKE", ErrAuth)
	}
	keys, ok := parseContents(contents)
	if !ok {
		return nil, fmt.Errorf("%w: bundle contents", ErrMalformed)
	}
	b := &Bundle{Fleet: sb.Fleet, Epoch: sb.Epoch, Keys: keys}
	if err := checkKeys(keys); err != nil {
		b.Clear()
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	return b, nil
}
