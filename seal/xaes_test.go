package seal

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/sha3"
	"encoding/hex"
	"testing"
)

// TestXAESVectors checks the two test vectors of the XAES-256-GCM
// specification, https://c2sp.org/XAES-256-GCM (section "Test vectors").
func TestXAESVectors(t *testing.T) {
	tests := []struct {
		name           string
		key            byte
		nonce          string
		plaintext, aad string
		ciphertext     string
	}{
		{"no-aad", 0x01, "ABCDEFGHIJKLMNOPQRSTUVWX", "XAES-256-GCM", "",
			"ce546ef63c9cc60765923609b33a9a1974e96e52daf2fcf7075e2271"},
		{"aad", 0x03, "ABCDEFGHIJKLMNOPQRSTUVWX", "XAES-256-GCM", "c2sp.org/XAES-256-GCM",
			"986ec1832593df5443a179437fd083bf3fdb41abd740a21f71eb769d"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			x, err := newXAES(bytes.Repeat([]byte{tt.key}, 32))
			if err != nil {
				t.Fatal(err)
			}
			got := x.Seal(nil, []byte(tt.nonce), []byte(tt.plaintext), []byte(tt.aad))
			if hex.EncodeToString(got) != tt.ciphertext {
				t.Errorf("Seal = %x, want %s", got, tt.ciphertext)
			}
			pt, err := x.Open(nil, []byte(tt.nonce), got, []byte(tt.aad))
			if err != nil || string(pt) != tt.plaintext {
				t.Errorf("Open = %q, %v, want %q", pt, err, tt.plaintext)
			}
			got[0] ^= 1
			if pt, err := x.Open(nil, []byte(tt.nonce), got, []byte(tt.aad)); err == nil {
				t.Errorf("Open of a modified ciphertext = %q, want error", pt)
			}
		})
	}
}

// TestXAESAccumulated runs the accumulated test of the XAES-256-GCM
// specification: 10,000 iterations of key, nonce, plaintext and additional
// data read from SHAKE-128 of the empty string, with every ciphertext hashed
// into a second SHAKE-128, of which the first 32 bytes are compared. The
// 1,000,000-iteration variant is not run.
func TestXAESAccumulated(t *testing.T) {
	const want = "e6b9edf2df6cec60c8cbd864e2211b597fb69a529160cd040d56c0c210081939"
	iterations := 10_000
	if testing.Short() {
		t.Skip("the accumulated XAES-256-GCM test is not run in -short mode")
	}
	s, d := sha3.NewSHAKE128(), sha3.NewSHAKE128()
	key := make([]byte, 32)
	nonce := make([]byte, 24)
	var n [1]byte
	for range iterations {
		s.Read(key)
		s.Read(nonce)
		s.Read(n[:])
		plaintext := make([]byte, n[0])
		s.Read(plaintext)
		s.Read(n[:])
		aad := make([]byte, n[0])
		s.Read(aad)

		x, err := newXAES(key)
		if err != nil {
			t.Fatal(err)
		}
		ciphertext := x.Seal(nil, nonce, plaintext, aad)
		got, err := x.Open(nil, nonce, ciphertext, aad)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, plaintext) {
			t.Fatalf("Open = %x, want %x", got, plaintext)
		}
		d.Write(ciphertext)
	}
	sum := make([]byte, 32)
	d.Read(sum)
	if got := hex.EncodeToString(sum); got != want {
		t.Errorf("accumulated hash = %s, want %s", got, want)
	}
}

// TestXAESDerivation checks the key derivation against a general AES-CMAC
// (NIST SP 800-38B, Section 6) written independently of xaesGCM, whose CMAC
// handles only a single complete block.
func TestXAESDerivation(t *testing.T) {
	key := countingSecret(XAES256GCM)
	x, err := newXAES(key)
	if err != nil {
		t.Fatal(err)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 8 {
		nonce := testPlaintext(t, 24)
		nonce[0] = byte(i)
		var got [32]byte
		x.deriveKey(&got, nonce)
		var want []byte
		for _, ctr := range []byte{1, 2} {
			m := append([]byte{0, ctr, 'X', 0}, nonce[:12]...)
			want = append(want, referenceCMAC(block, m)...)
		}
		if !bytes.Equal(got[:], want) {
			t.Errorf("derived key = %x, want %x", got, want)
		}
		// And the GCM layer is plain AES-256-GCM under that key.
		b, err := aes.NewCipher(want)
		if err != nil {
			t.Fatal(err)
		}
		g, err := cipher.NewGCM(b)
		if err != nil {
			t.Fatal(err)
		}
		pt := []byte("plaintext")
		if got, want := x.Seal(nil, nonce, pt, nil), g.Seal(nil, nonce[12:], pt, nil); !bytes.Equal(got, want) {
			t.Errorf("Seal = %x, want %x", got, want)
		}
	}
}

// referenceCMAC is AES-CMAC of m under b, for any length of m.
func referenceCMAC(b cipher.Block, m []byte) []byte {
	dbl := func(in []byte) []byte {
		out := make([]byte, 16)
		for i := range 15 {
			out[i] = in[i]<<1 | in[i+1]>>7
		}
		out[15] = in[15] << 1
		if in[0]&0x80 != 0 {
			out[15] ^= 0x87
		}
		return out
	}
	l := make([]byte, 16)
	b.Encrypt(l, l)
	k1 := dbl(l)
	k2 := dbl(k1)
	n := (len(m) + 15) / 16
	last := make([]byte, 16)
	if n > 0 && len(m)%16 == 0 {
		copy(last, m[(n-1)*16:])
		for i := range last {
			last[i] ^= k1[i]
		}
	} else {
		if n == 0 {
			n = 1
		}
		rest := m[(n-1)*16:]
		copy(last, rest)
		last[len(rest)] = 0x80
		for i := range last {
			last[i] ^= k2[i]
		}
	}
	c := make([]byte, 16)
	for i := 0; i < n-1; i++ {
		for j := range c {
			c[j] ^= m[i*16+j]
		}
		b.Encrypt(c, c)
	}
	for j := range c {
		c[j] ^= last[j]
	}
	b.Encrypt(c, c)
	return c
}

// TestReferenceCMAC checks referenceCMAC against the AES-256 examples of
// NIST SP 800-38B, Appendix D.3 (empty and 16-byte messages).
func TestReferenceCMAC(t *testing.T) {
	key, _ := hex.DecodeString("603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4")
	b, err := aes.NewCipher(key)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ m, want string }{
		{"", "028962f61b7bf89efc6b551f4667d983"},
		{"6bc1bee22e409f96e93d7e117393172a", "28a7023f452e8f82bd4bf28d8c37c35c"},
	} {
		m, _ := hex.DecodeString(tt.m)
		if got := hex.EncodeToString(referenceCMAC(b, m)); got != tt.want {
			t.Errorf("CMAC(%s) = %s, want %s", tt.m, got, tt.want)
		}
	}
}

func TestXAESPanics(t *testing.T) {
	x, err := newXAES(countingSecret(XAES256GCM))
	if err != nil {
		t.Fatal(err)
	}
	want := "seal: internal error: XAES-256-GCM nonce of wrong length"
	checkPanics(t, want, func() { x.Seal(nil, make([]byte, 12), nil, nil) })
	checkPanics(t, want, func() { x.Open(nil, make([]byte, 23), make([]byte, 16), nil) })
	if _, err := newXAES(make([]byte, 16)); err == nil {
		t.Error("newXAES(16-byte key) succeeded")
	}
}
