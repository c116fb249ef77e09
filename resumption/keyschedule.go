package resumption

import (
	"bytes"
	"crypto"
	"crypto/hmac"
	_ "crypto/sha256" // registers crypto.SHA256
	_ "crypto/sha512" // registers crypto.SHA384
	"fmt"
	"io"

	"golang.org/x/crypto/cryptobyte"
	"golang.org/x/crypto/hkdf"
)

// TLS 1.3 cipher suites whose KDF hash this package knows, RFC 8446,
// Section B.4.
const (
	suiteAES128GCMSHA256        uint16 = 0x1301
	suiteAES256GCMSHA384        uint16 = 0x1302
	suiteChaCha20Poly1305SHA256 uint16 = 0x1303
)

// Labels of RFC 8446, Section 7.1 (and Section 4.4.4 for "finished"). The
// "tls13 " prefix is added by hkdfLabel.
const (
	labelResumptionMaster   = "res master"
	labelResumption         = "resumption"
	labelResumptionBinder   = "res binder"
	labelClientEarlyTraffic = "c e traffic"
	labelFinished           = "finished"
)

// messageHashType is HandshakeType message_hash, RFC 8446, Section 4.
const messageHashType = 254

// HashForSuite returns the KDF hash of the TLS 1.3 cipher suite, RFC 8446,
// Section B.4: SHA-256 for TLS_AES_128_GCM_SHA256 (0x1301) and
// TLS_CHACHA20_POLY1305_SHA256 (0x1303), SHA-384 for TLS_AES_256_GCM_SHA384
// (0x1302). It reports false for any other suite, including the CCM suites,
// which crypto/tls does not implement.
//
// A ticket may only be resumed with a suite of the same hash (RFC 8446,
// Section 4.2.11).
func HashForSuite(suite uint16) (crypto.Hash, bool) {
	switch suite {
	case suiteAES128GCMSHA256, suiteChaCha20Poly1305SHA256:
		return crypto.SHA256, true
	case suiteAES256GCMSHA384:
		return crypto.SHA384, true
	}
	return 0, false
}

func checkHash(h crypto.Hash) error {
	if h != crypto.SHA256 && h != crypto.SHA384 {
		return fmt.Errorf("resumption: hash %v: %w", h, ErrUnsupportedHash)
	}
	return nil
}

func mustCheckHash(h crypto.Hash) {
	if checkHash(h) != nil {
		panic("resumption: internal error: hash is not SHA-256 or SHA-384")
	}
}

func checkLength(h crypto.Hash, what string, b []byte) error {
	if len(b) != h.Size() {
		return fmt.Errorf("resumption: %s is %d bytes, want %d: %w", what, len(b), h.Size(), ErrLength)
	}
	return nil
}

// hkdfLabel returns the HkdfLabel structure of RFC 8446, Section 7.1:
//
//	struct {
//	    uint16 length = Length;
//	    opaque label<7..255> = "tls13 " + Label;
//	    opaque context<0..255> = Context;
//	} HkdfLabel;
//
// Labels are constants and contexts are hashes or a ticket_nonce, which the
// wire format bounds to 255 bytes, so a failure is a programmer error.
func hkdfLabel(length int, label string, context []byte) []byte {
	if len(context) > 255 {
		panic("resumption: internal error: HKDF-Expand-Label context longer than 255 bytes")
	}
	var b cryptobyte.Builder
	b.AddUint16(uint16(length))
	b.AddUint8LengthPrefixed(func(b *cryptobyte.Builder) {
		b.AddBytes([]byte("tls13 "))
		b.AddBytes([]byte(label))
	})
	b.AddUint8LengthPrefixed(func(b *cryptobyte.Builder) {
		b.AddBytes(context)
	})
	info, err := b.Bytes()
	if err != nil {
		panic("resumption: internal error: HkdfLabel: " + err.Error())
	}
	return info
}

// expandLabel is HKDF-Expand-Label(secret, label, context, Hash.length),
// RFC 8446, Section 7.1.
func expandLabel(h crypto.Hash, secret []byte, label string, context []byte) []byte {
	out := make([]byte, h.Size())
	r := hkdf.Expand(h.New, secret, hkdfLabel(len(out), label, context))
	if _, err := io.ReadFull(r, out); err != nil {
		panic("resumption: internal error: HKDF-Expand: " + err.Error())
	}
	return out
}

// TranscriptHash returns Transcript-Hash(messages...), the hash of the
// concatenated handshake messages including their 4-byte headers, RFC 8446,
// Section 4.4.1. For a PSK binder the last message is the truncated
// ClientHello (RFC 8446, Section 4.2.11.2).
//
// h must be SHA-256 or SHA-384 (see [HashForSuite]); TranscriptHash panics
// otherwise.
func TranscriptHash(h crypto.Hash, messages ...[]byte) []byte {
	mustCheckHash(h)
	th := h.New()
	for _, m := range messages {
		th.Write(m)
	}
	return th.Sum(nil)
}

// TranscriptHashAfterHRR returns the transcript hash of a handshake that went
// through a HelloRetryRequest, RFC 8446, Section 4.4.1: ClientHello1 is
// replaced by the synthetic message
//
//	message_hash (254) || 00 00 Hash.length || Hash(ClientHello1)
//
// followed by the HelloRetryRequest and the rest of the messages (for a binder,
// the truncated ClientHello2, RFC 8446, Section 4.2.11.2).
//
// h must be SHA-256 or SHA-384; TranscriptHashAfterHRR panics otherwise.
func TranscriptHashAfterHRR(h crypto.Hash, clientHello1, helloRetryRequest []byte, rest ...[]byte) []byte {
	mustCheckHash(h)
	ch1 := h.New()
	ch1.Write(clientHello1)
	th := h.New()
	th.Write([]byte{messageHashType, 0, 0, byte(h.Size())})
	th.Write(ch1.Sum(nil))
	th.Write(helloRetryRequest)
	for _, m := range rest {
		th.Write(m)
	}
	return th.Sum(nil)
}

// ResumptionMasterSecret is the resumption_master_secret of RFC 8446,
// Section 7.1. Every ticket issued on a connection derives its [PSK] from it.
//
// Its String, GoString and Format methods never print the secret.
type ResumptionMasterSecret struct{ *keyMaterial }

// NewResumptionMasterSecret wraps a resumption_master_secret computed
// elsewhere (for example by crypto/tls), RFC 8446, Section 7.1. The secret
// must be h.Size() bytes and h must be SHA-256 or SHA-384. The secret is
// copied.
func NewResumptionMasterSecret(h crypto.Hash, secret []byte) (*ResumptionMasterSecret, error) {
	if err := checkHash(h); err != nil {
		return nil, err
	}
	if err := checkLength(h, "resumption_master_secret", secret); err != nil {
		return nil, err
	}
	return &ResumptionMasterSecret{newKeyMaterial(h, bytes.Clone(secret))}, nil
}

// DeriveResumptionMasterSecret computes
//
//	resumption_master_secret = Derive-Secret(Master Secret, "res master", ClientHello...client Finished)
//
// of RFC 8446, Section 7.1, where transcriptHash is the transcript hash up to
// and including the client Finished (and EndOfEarlyData, if 0-RTT was
// accepted). Both inputs must be h.Size() bytes.
func DeriveResumptionMasterSecret(h crypto.Hash, masterSecret, transcriptHash []byte) (*ResumptionMasterSecret, error) {
	if err := checkHash(h); err != nil {
		return nil, err
	}
	if err := checkLength(h, "master secret", masterSecret); err != nil {
		return nil, err
	}
	if err := checkLength(h, "transcript hash", transcriptHash); err != nil {
		return nil, err
	}
	secret := expandLabel(h, masterSecret, labelResumptionMaster, transcriptHash)
	return &ResumptionMasterSecret{newKeyMaterial(h, secret)}, nil
}

// PSK derives the pre-shared key of the ticket with the given ticket_nonce,
// RFC 8446, Section 4.6.1:
//
//	PSK = HKDF-Expand-Label(resumption_master_secret, "resumption", ticket_nonce, Hash.length)
//
// Each ticket on a connection needs a distinct nonce so that it gets a
// distinct PSK. The nonce is at most 255 bytes (opaque ticket_nonce<0..255>);
// PSK panics on a longer one.
func (r *ResumptionMasterSecret) PSK(ticketNonce []byte) *PSK {
	psk := expandLabel(r.hash, r.secret(), labelResumption, ticketNonce)
	return &PSK{newKeyMaterial(r.hash, psk)}
}

// PSK is a resumption pre-shared key, RFC 8446, Section 4.6.1. It is bound to
// the KDF hash of the connection that issued it (RFC 8446, Section 4.2.11).
//
// Its String, GoString and Format methods never print the secret.
type PSK struct{ *keyMaterial }

// NewPSK wraps a PSK stored in a ticket, RFC 8446, Section 4.6.1. The PSK
// must be h.Size() bytes and h must be SHA-256 or SHA-384. The PSK is copied.
func NewPSK(h crypto.Hash, psk []byte) (*PSK, error) {
	if err := checkHash(h); err != nil {
		return nil, err
	}
	if err := checkLength(h, "PSK", psk); err != nil {
		return nil, err
	}
	return &PSK{newKeyMaterial(h, bytes.Clone(psk))}, nil
}

// Hash returns the KDF hash the PSK is bound to, RFC 8446, Section 4.2.11.
func (p *PSK) Hash() crypto.Hash { return p.hash }

// AppendBytes appends the PSK value to dst and returns the extended slice,
// for sealing into a ticket (RFC 8446, Section 4.6.1).
//
// Warning: the result is the secret key of every connection resumed with
// this ticket. Only ever store it encrypted and authenticated, and never log
// it.
func (p *PSK) AppendBytes(dst []byte) []byte { return append(dst, p.secret()...) }

// EarlySecret computes the Early Secret of RFC 8446, Section 7.1:
//
//	Early Secret = HKDF-Extract(salt = 0, IKM = PSK)
func (p *PSK) EarlySecret() *EarlySecret {
	// A nil salt is a string of Hash.length zero bytes (RFC 5869, Section 2.2).
	return &EarlySecret{newKeyMaterial(p.hash, hkdf.Extract(p.hash.New, p.secret(), nil))}
}

// EarlySecret is the Early Secret of RFC 8446, Section 7.1.
//
// Its String, GoString and Format methods never print the secret.
type EarlySecret struct{ *keyMaterial }

// ResumptionBinderKey computes the binder_key for a resumption PSK, RFC 8446,
// Section 7.1:
//
//	binder_key = Derive-Secret(Early Secret, "res binder", "")
func (e *EarlySecret) ResumptionBinderKey() *BinderKey {
	empty := TranscriptHash(e.hash)
	return &BinderKey{newKeyMaterial(e.hash, expandLabel(e.hash, e.secret(), labelResumptionBinder, empty))}
}

// ClientEarlyTrafficSecret computes client_early_traffic_secret =
// Derive-Secret(Early Secret, "c e traffic", ClientHello), RFC 8446,
// Section 7.1, from the transcript hash of the whole ClientHello (binders
// included). transcriptHash is Hash.length bytes; it panics on more than 255.
//
// Warning: the result is a traffic secret; never log it.
func (e *EarlySecret) ClientEarlyTrafficSecret(transcriptHash []byte) []byte {
	return expandLabel(e.hash, e.secret(), labelClientEarlyTraffic, transcriptHash)
}

// BinderKey is the binder_key of RFC 8446, Section 7.1, from which PSK
// binders are computed (RFC 8446, Section 4.2.11.2).
//
// Its String, GoString and Format methods never print the secret.
type BinderKey struct{ *keyMaterial }

// finishedKey is HKDF-Expand-Label(binder_key, "finished", "", Hash.length),
// RFC 8446, Section 4.4.4.
func (b *BinderKey) finishedKey() []byte {
	return expandLabel(b.hash, b.secret(), labelFinished, nil)
}

// Binder appends to dst the PSK binder of RFC 8446, Section 4.2.11.2,
//
//	binder = HMAC(finished_key, Transcript-Hash(Truncate(ClientHello1)))
//
// where transcriptHash is the output of [TranscriptHash] (or
// [TranscriptHashAfterHRR]) over the truncated ClientHello, and returns the
// extended slice.
func (b *BinderKey) Binder(dst, transcriptHash []byte) []byte {
	mac := hmac.New(b.hash.New, b.finishedKey())
	mac.Write(transcriptHash)
	return mac.Sum(dst)
}

// VerifyBinder reports whether binder is the PSK binder for transcriptHash,
// RFC 8446, Section 4.2.11.2. The comparison is constant time. A server must
// verify the binder of the PSK it selects before accepting it, and abort the
// handshake if it does not verify (RFC 8446, Section 4.2.11).
func (b *BinderKey) VerifyBinder(transcriptHash, binder []byte) bool {
	var buf [64]byte
	return hmac.Equal(b.Binder(buf[:0], transcriptHash), binder)
}

// keyMaterial is a secret and the hash it belongs to. Where fmt prints a
// value by reflection without calling its methods (an unexported field, or a
// verb that does not fit a pointer), it follows at most one pointer: the
// types above hold keyMaterial behind one pointer and keyMaterial holds the
// bytes behind a second, so fmt shows an address, never the bytes. The
// formatting methods below use value receivers so that printing a
// dereferenced value (fmt.Print(*psk)) is redacted too.
type keyMaterial struct {
	hash crypto.Hash
	key  *[]byte
}

func newKeyMaterial(h crypto.Hash, secret []byte) *keyMaterial {
	return &keyMaterial{hash: h, key: &secret}
}

func (k *keyMaterial) secret() []byte { return *k.key }

func redacted(name string, k *keyMaterial) string {
	if k == nil {
		return "resumption." + name + "{}"
	}
	return "resumption." + name + "{" + k.hash.String() + ", REDACTED}"
}

// String returns a description of r that omits the secret.
func (r ResumptionMasterSecret) String() string {
	return redacted("ResumptionMasterSecret", r.keyMaterial)
}

// GoString returns a description of r that omits the secret.
func (r ResumptionMasterSecret) GoString() string {
	return redacted("ResumptionMasterSecret", r.keyMaterial)
}

// Format implements [fmt.Formatter]; every verb prints a description of r
// that omits the secret.
func (r ResumptionMasterSecret) Format(f fmt.State, _ rune) { io.WriteString(f, r.String()) }

// String returns a description of p that omits the secret.
func (p PSK) String() string { return redacted("PSK", p.keyMaterial) }

// GoString returns a description of p that omits the secret.
func (p PSK) GoString() string { return redacted("PSK", p.keyMaterial) }

// Format implements [fmt.Formatter]; every verb prints a description of p
// that omits the secret.
func (p PSK) Format(f fmt.State, _ rune) { io.WriteString(f, p.String()) }

// String returns a description of e that omits the secret.
func (e EarlySecret) String() string { return redacted("EarlySecret", e.keyMaterial) }

// GoString returns a description of e that omits the secret.
func (e EarlySecret) GoString() string { return redacted("EarlySecret", e.keyMaterial) }

// Format implements [fmt.Formatter]; every verb prints a description of e
// that omits the secret.
func (e EarlySecret) Format(f fmt.State, _ rune) { io.WriteString(f, e.String()) }

// String returns a description of b that omits the secret.
func (b BinderKey) String() string { return redacted("BinderKey", b.keyMaterial) }

// GoString returns a description of b that omits the secret.
func (b BinderKey) GoString() string { return redacted("BinderKey", b.keyMaterial) }

// Format implements [fmt.Formatter]; every verb prints a description of b
// that omits the secret.
func (b BinderKey) Format(f fmt.State, _ rune) { io.WriteString(f, b.String()) }
