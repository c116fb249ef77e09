package seal

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/subtle"
	"errors"
	"sync"
)

// xaesGCM is XAES-256-GCM (https://c2sp.org/XAES-256-GCM), built on
// crypto/aes and crypto/cipher.
//
// For every message it derives an AES-256-GCM key from the 256-bit key and
// the first 12 bytes of the 24-byte nonce with the NIST SP 800-108r1 KDF in
// counter mode with AES-256-CMAC (NIST SP 800-38B):
//
//	M1 = 0x00 0x01 ‖ "X" ‖ 0x00 ‖ N[:12]
//	M2 = 0x00 0x02 ‖ "X" ‖ 0x00 ‖ N[:12]
//	Kx = CMAC(K, M1) ‖ CMAC(K, M2)
//
// and seals with AES-256-GCM under Kx and the nonce N[12:]. The KDF's L field
// is omitted, as the specification says, since the output length is fixed.
//
// M1 and M2 are exactly one AES block, so each CMAC is a single AES
// encryption of Mi XOR K1, where K1 is the CMAC subkey. The AES key schedule
// of K and K1 are computed once, in newXAES, and the derivation writes into a
// pooled buffer (a stack array would escape through the cipher.Block
// interface) that is cleared after use. The per-message AES-256-GCM does
// allocate: crypto/cipher offers no way to key an AES-GCM without
// allocating its state (an aes.NewCipher block and a cipher.NewGCM AEAD, 2
// allocations and about 1.3 KB per message). Seal and Open run under
// withSecret, which erases that per-message state once it is garbage when
// built with GOEXPERIMENT=runtimesecret, and is a plain call otherwise.
type xaesGCM struct {
	block cipher.Block        // AES-256 under the XAES key K
	k1    [aes.BlockSize]byte // CMAC subkey K1 of K (NIST SP 800-38B, Section 6.1)
	_     [0]func()           // not comparable
}

var _ cipher.AEAD = (*xaesGCM)(nil)

const (
	// xaesNonceSize is the XAES-256-GCM nonce length.
	xaesNonceSize = 24
	// xaesLabel is the KDF label byte, "X".
	xaesLabel = 0x58
)

// NewXAES256GCM returns XAES-256-GCM (https://c2sp.org/XAES-256-GCM) under
// the 32-byte key as a bare cipher.AEAD with 24-byte nonces, for callers
// that want the construction without a key ring (benchmarks, other
// protocols). Tickets sealed under a [Ring] use it through [XAES256GCM].
func NewXAES256GCM(key []byte) (cipher.AEAD, error) {
	return newXAES(key)
}

// newXAES returns XAES-256-GCM under the 32-byte key.
func newXAES(key []byte) (*xaesGCM, error) {
	if len(key) != 32 {
		return nil, errors.New("seal: XAES-256-GCM needs a 32-byte key")
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	x := &xaesGCM{block: block}
	// K1 = L·x in GF(2^128), with L = AES-K(0^128).
	block.Encrypt(x.k1[:], x.k1[:])
	var msb byte
	for i := len(x.k1) - 1; i >= 0; i-- {
		msb, x.k1[i] = x.k1[i]>>7, x.k1[i]<<1|msb
	}
	x.k1[len(x.k1)-1] ^= msb * 0x87 // no branch on the secret bit
	// Fail now, not on every message, if crypto/cipher refuses GCM (as it
	// does with arbitrary nonces in FIPS 140-only mode).
	if _, err := x.gcm(make([]byte, xaesNonceSize)); err != nil {
		return nil, err
	}
	return x, nil
}

// deriveKey writes the AES-256-GCM key for nonce to k.
func (x *xaesGCM) deriveKey(k *[32]byte, nonce []byte) {
	var m [aes.BlockSize]byte
	m[2] = xaesLabel
	copy(m[4:], nonce[:12])
	m[1] = 0x01
	subtle.XORBytes(k[:16], m[:], x.k1[:])
	x.block.Encrypt(k[:16], k[:16])
	m[1] = 0x02
	subtle.XORBytes(k[16:], m[:], x.k1[:])
	x.block.Encrypt(k[16:], k[16:])
}

// xaesKeyPool holds scratch buffers for derived keys. It is a cache, not
// state: every buffer is cleared before it is returned.
var xaesKeyPool = sync.Pool{New: func() any { return new([32]byte) }}

// gcm returns the AES-256-GCM for nonce, whose first 12 bytes select the
// derived key. The derived key is cleared before gcm returns; the expanded
// key inside the returned AEAD cannot be.
func (x *xaesGCM) gcm(nonce []byte) (cipher.AEAD, error) {
	k := xaesKeyPool.Get().(*[32]byte)
	x.deriveKey(k, nonce)
	block, err := aes.NewCipher(k[:])
	clear(k[:])
	xaesKeyPool.Put(k)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// NonceSize returns 24.
func (x *xaesGCM) NonceSize() int { return xaesNonceSize }

// Overhead returns 16, the GCM tag length.
func (x *xaesGCM) Overhead() int { return tagSize }

// Seal implements [cipher.AEAD]. It panics if nonce is not 24 bytes.
func (x *xaesGCM) Seal(dst, nonce, plaintext, additionalData []byte) []byte {
	if len(nonce) != xaesNonceSize {
		panic("seal: internal error: XAES-256-GCM nonce of wrong length")
	}
	var out []byte
	var err error
	withSecret(func() {
		var g cipher.AEAD
		if g, err = x.gcm(nonce); err == nil {
			out = g.Seal(dst, nonce[12:], plaintext, additionalData)
		}
	})
	if err != nil {
		// newXAES checked that crypto/cipher accepts this construction.
		panic("seal: internal error: XAES-256-GCM: " + err.Error())
	}
	return out
}

// Open implements [cipher.AEAD]. It panics if nonce is not 24 bytes.
func (x *xaesGCM) Open(dst, nonce, ciphertext, additionalData []byte) ([]byte, error) {
	if len(nonce) != xaesNonceSize {
		panic("seal: internal error: XAES-256-GCM nonce of wrong length")
	}
	var out []byte
	var err, openErr error
	withSecret(func() {
		var g cipher.AEAD
		if g, err = x.gcm(nonce); err == nil {
			out, openErr = g.Open(dst, nonce[12:], ciphertext, additionalData)
		}
	})
	if err != nil {
		panic("seal: internal error: XAES-256-GCM: " + err.Error())
	}
	return out, openErr
}
