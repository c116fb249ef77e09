package seal

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/hex"
	"testing"

	"golang.org/x/crypto/chacha20poly1305"
)

// countingSecret returns the secret 00 01 02 … of a's key size.
func countingSecret(a AEAD) []byte {
	b := make([]byte, a.KeySize())
	for i := range b {
		b[i] = byte(i)
	}
	return b
}

// TestLayout checks the sealed layout byte for byte: version, AEAD
// identifier, key name, nonce and ciphertext, for a key made from the
// secret 00 01 02 … and the nonce a0 a1 a2 … from a seeded reader.
//
// The tickets were cross-checked against an independent implementation
// (Python's hmac module for HKDF-SHA256 and the cryptography package's
// AESGCM, and its CMAC for the XAES-256-GCM key derivation); the test also
// rebuilds each from the standard library below.
func TestLayout(t *testing.T) {
	tests := []struct {
		a                 AEAD
		header, nonce, ct string
	}{
		{
			AES128GCM,
			"01" + "01" + "8e91e55c7b1eb6b7e98764d7f9c70969",
			"a0a1a2a3a4a5a6a7a8a9aaab",
			"effd3f7f54a59f28bd353d2ba7e6a2ab7d6adffdf2b2c0d5413afdbad4",
		},
		{
			AES256GCM,
			"01" + "02" + "ea2d692a6ea5b30efd09f4d3e2956e40",
			"a0a1a2a3a4a5a6a7a8a9aaab",
			"cbe6b328dc1723caa8ee7e978659ac6c97569d1fd3320e14dc91fff8ba",
		},
		{
			ChaCha20Poly1305,
			"01" + "03" + "ea2d692a6ea5b30efd09f4d3e2956e40",
			"a0a1a2a3a4a5a6a7a8a9aaab",
			"8cffd2a0fa58143a8d0f913e7884ad22d777172ed475d2069cf4331037",
		},
		{
			XChaCha20Poly1305,
			"01" + "04" + "ea2d692a6ea5b30efd09f4d3e2956e40",
			"a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7",
			"c3b9774b06904a0d2dfa2140a735e8a1bdb09587b11a4d2284618f5f96",
		},
		{
			XAES256GCM,
			"01" + "05" + "ea2d692a6ea5b30efd09f4d3e2956e40",
			"a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7",
			"1e141b59b3d9a28e68df6614e0c4a9e6fbcd106f133b7743127e65cf35",
		},
	}
	plaintext := []byte("session state")
	for _, tt := range tests {
		t.Run(aeadName(tt.a), func(t *testing.T) {
			secret := countingSecret(tt.a)
			k, err := NewKey(tt.a, secret)
			if err != nil {
				t.Fatal(err)
			}
			r, err := NewRing(&seqReader{next: 0xa0}, k)
			if err != nil {
				t.Fatal(err)
			}
			ticket, err := r.Seal(nil, plaintext, nil)
			if err != nil {
				t.Fatal(err)
			}
			n := tt.a.NonceSize()
			if got, want := hex.EncodeToString(ticket[:HeaderSize]), tt.header; got != want {
				t.Errorf("ticket[0:18] = %s, want %s", got, want)
			}
			if got, want := hex.EncodeToString(ticket[HeaderSize:HeaderSize+n]), tt.nonce; got != want {
				t.Errorf("nonce ticket[18:%d] = %s, want %s", HeaderSize+n, got, want)
			}
			if got, want := hex.EncodeToString(ticket[HeaderSize+n:]), tt.ct; got != want {
				t.Errorf("ciphertext = %s, want %s", got, want)
			}
			name := k.Name()
			if got, want := hex.EncodeToString(name[:]), tt.header[4:]; got != want {
				t.Errorf("Name() = %s, want %s", got, want)
			}

			// Rebuild the ticket from the specification with the
			// standard library alone.
			want := rebuildTicket(t, tt.a, secret, ticket[HeaderSize:HeaderSize+n], plaintext, nil)
			if !bytes.Equal(ticket, want) {
				t.Errorf("ticket = %x, want %x", ticket, want)
			}
			withAD, err := NewRing(&seqReader{next: 0xa0}, k)
			if err != nil {
				t.Fatal(err)
			}
			ad := []byte("additional data")
			got, err := withAD.Seal(nil, plaintext, ad)
			if err != nil {
				t.Fatal(err)
			}
			if want := rebuildTicket(t, tt.a, secret, got[HeaderSize:HeaderSize+n], plaintext, ad); !bytes.Equal(got, want) {
				t.Errorf("ticket with additional data = %x, want %x", got, want)
			}
		})
	}
}

// rebuildTicket seals plaintext as the package documentation specifies,
// independently of Key and Ring.
func rebuildTicket(t *testing.T, a AEAD, secret, nonce, plaintext, additionalData []byte) []byte {
	t.Helper()
	name, err := hkdf.Key(sha256.New, secret, nil, "tlsticket v1 key name", 16)
	if err != nil {
		t.Fatal(err)
	}
	key := derivedKey(t, a, secret)
	var c cipher.AEAD
	switch a {
	case AES128GCM, AES256GCM:
		block, err := aes.NewCipher(key)
		if err != nil {
			t.Fatal(err)
		}
		c, err = cipher.NewGCM(block)
		if err != nil {
			t.Fatal(err)
		}
	case ChaCha20Poly1305:
		c, err = chacha20poly1305.New(key)
	case XChaCha20Poly1305:
		c, err = chacha20poly1305.NewX(key)
	case XAES256GCM:
		// https://c2sp.org/XAES-256-GCM with a general CMAC.
		block, err := aes.NewCipher(key)
		if err != nil {
			t.Fatal(err)
		}
		var kx []byte
		for _, i := range []byte{1, 2} {
			kx = append(kx, referenceCMAC(block, append([]byte{0, i, 'X', 0}, nonce[:12]...))...)
		}
		if block, err = aes.NewCipher(kx); err != nil {
			t.Fatal(err)
		}
		c, err = cipher.NewGCM(block)
		if err != nil {
			t.Fatal(err)
		}
		header := append([]byte{1, byte(a)}, name...)
		ad := append(bytes.Clone(header), additionalData...)
		return c.Seal(append(header, nonce...), nonce[12:], plaintext, ad)
	}
	if err != nil {
		t.Fatal(err)
	}
	header := append([]byte{1, byte(a)}, name...)
	ad := append(bytes.Clone(header), additionalData...)
	return c.Seal(append(header, nonce...), nonce, plaintext, ad)
}

// derivedKey returns the AEAD key that NewKey derives from secret.
func derivedKey(t testing.TB, a AEAD, secret []byte) []byte {
	t.Helper()
	key, err := hkdf.Key(sha256.New, secret, nil, "tlsticket v1 aead key"+string([]byte{byte(a)}), a.KeySize())
	if err != nil {
		t.Fatal(err)
	}
	return key
}
