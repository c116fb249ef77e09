package format

import (
	"bytes"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const (
	testKeyName = "000102030405060708090a0b0c0d0e0f"
	testNonce12 = "a0a1a2a3a4a5a6a7a8a9aaab"
	testNonce24 = "a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7"
	testTag     = "f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff"
)

func testKeyNameArray() (k [16]byte) {
	copy(k[:], h(testKeyName))
	return k
}

type sealedTicketTest struct {
	name string
	in   []byte
	want *SealedTicket
}

func sealedTicketTests() []sealedTicketTest {
	// The largest ticket: 18 header bytes, a 12-byte nonce, and a
	// ciphertext that fills the rest of 2^16-1 bytes.
	maxCiphertext := rep(0xcc, maxUint16-SealedHeaderLen-12)
	return []sealedTicketTest{
		{"AES-128-GCM tag only", h("01 01", testKeyName, testNonce12, testTag),
			&SealedTicket{AEAD: AEADAES128GCM, KeyName: testKeyNameArray(), Nonce: h(testNonce12), Ciphertext: h(testTag)}},
		{"AES-256-GCM", h("01 02", testKeyName, testNonce12, "deadbeef", testTag),
			&SealedTicket{AEAD: AEADAES256GCM, KeyName: testKeyNameArray(), Nonce: h(testNonce12), Ciphertext: h("deadbeef", testTag)}},
		{"ChaCha20-Poly1305", h("01 03", testKeyName, testNonce12, "00", testTag),
			&SealedTicket{AEAD: AEADChaCha20Poly1305, KeyName: testKeyNameArray(), Nonce: h(testNonce12), Ciphertext: h("00", testTag)}},
		{"XChaCha20-Poly1305", h("01 04", testKeyName, testNonce24, "0102", testTag),
			&SealedTicket{AEAD: AEADXChaCha20Poly1305, KeyName: testKeyNameArray(), Nonce: h(testNonce24), Ciphertext: h("0102", testTag)}},
		{"largest", append(h("01 01", testKeyName, testNonce12), maxCiphertext...),
			&SealedTicket{AEAD: AEADAES128GCM, KeyName: testKeyNameArray(), Nonce: h(testNonce12), Ciphertext: maxCiphertext}},
	}
}

func TestSealedTicket(t *testing.T) {
	for _, tt := range sealedTicketTests() {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseSealedTicket(tt.in)
			if err != nil {
				t.Fatalf("ParseSealedTicket: %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ParseSealedTicket mismatch (-want +got):\n%s", diff)
			}
			out, err := tt.want.Append(nil)
			if err != nil {
				t.Fatalf("Append: %v", err)
			}
			if !bytes.Equal(out, tt.in) {
				t.Errorf("Append:\n got %x\nwant %x", out, tt.in)
			}
			if !bytes.Equal(out[:SealedHeaderLen], tt.in[:SealedHeaderLen]) ||
				!bytes.Equal(out[2:SealedHeaderLen], got.KeyName[:]) {
				t.Errorf("the first SealedHeaderLen bytes are not version‖aead‖key_name")
			}
		})
	}
}

func TestParseSealedTicketMalformed(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
	}{
		{"empty", nil},
		{"version 0", h("00 01", testKeyName, testNonce12, testTag)},
		{"version 2", h("02 01", testKeyName, testNonce12, testTag)},
		{"unknown aead 0", h("01 00", testKeyName, testNonce12, testTag)},
		{"unknown aead 6", h("01 06", testKeyName, testNonce12, testTag)},
		{"short key_name", h("01 01", testKeyName[:30])},
		{"short nonce", h("01 01", testKeyName, testNonce12[:20])},
		{"no ciphertext", h("01 01", testKeyName, testNonce12)},
		{"ciphertext shorter than the tag", h("01 01", testKeyName, testNonce12, testTag[:30])},
		{"XChaCha20 nonce with 12 bytes", h("01 04", testKeyName, testNonce12, testTag)},
		{"longer than 2^16-1", append(h("01 01", testKeyName, testNonce12), rep(0xcc, maxUint16-SealedHeaderLen-12+1)...)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseSealedTicket(tt.in)
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("ParseSealedTicket error = %v, want ErrMalformed", err)
			}
			if got != nil {
				t.Fatalf("ParseSealedTicket returned %+v with an error", got)
			}
		})
	}
}

// TestParseSealedTicketPrefixes checks the prefixes of sealed tickets. The
// ciphertext runs to the end of the ticket, so a prefix that keeps a whole
// tag's worth of ciphertext parses: the AEAD, not the container, detects it.
// Every shorter prefix must fail.
func TestParseSealedTicketPrefixes(t *testing.T) {
	for _, tt := range sealedTicketTests() {
		if len(tt.in) > 1024 {
			continue
		}
		t.Run(tt.name, func(t *testing.T) {
			minLen := SealedHeaderLen + tt.want.AEAD.NonceSize() + tt.want.AEAD.Overhead()
			for n := range len(tt.in) {
				_, err := ParseSealedTicket(tt.in[:n])
				if got, want := err == nil, n >= minLen; got != want {
					t.Fatalf("prefix of %d bytes: parsed = %t, want %t", n, got, want)
				}
			}
		})
	}
}

func TestSealedTicketAppendErrors(t *testing.T) {
	valid := func() *SealedTicket {
		return &SealedTicket{AEAD: AEADAES128GCM, Nonce: h(testNonce12), Ciphertext: h(testTag)}
	}
	tests := []struct {
		name   string
		modify func(*SealedTicket)
		want   error
	}{
		{"unknown aead", func(s *SealedTicket) { s.AEAD = 0 }, ErrMalformed},
		{"nonce too short", func(s *SealedTicket) { s.Nonce = s.Nonce[:11] }, ErrMalformed},
		{"nonce too long for GCM", func(s *SealedTicket) { s.Nonce = h(testNonce24) }, ErrMalformed},
		{"12-byte nonce for XChaCha20", func(s *SealedTicket) { s.AEAD = AEADXChaCha20Poly1305 }, ErrMalformed},
		{"ciphertext shorter than the tag", func(s *SealedTicket) { s.Ciphertext = s.Ciphertext[:15] }, ErrMalformed},
		{"longer than 2^16-1", func(s *SealedTicket) { s.Ciphertext = rep(0, maxUint16-SealedHeaderLen-12+1) }, ErrFieldTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := valid()
			tt.modify(s)
			out, err := s.Append([]byte("dst"))
			checkAppendError(t, out, err, tt.want)
		})
	}
}

func TestAEADID(t *testing.T) {
	tests := []struct {
		id       AEADID
		nonce    int
		overhead int
		name     string
	}{
		{AEADAES128GCM, 12, 16, "AES-128-GCM"},
		{AEADAES256GCM, 12, 16, "AES-256-GCM"},
		{AEADChaCha20Poly1305, 12, 16, "ChaCha20-Poly1305"},
		{AEADXChaCha20Poly1305, 24, 16, "XChaCha20-Poly1305"},
		{0, 0, 0, "AEADID(0)"},
		{AEADXAES256GCM, 24, 16, "XAES-256-GCM"},
		{6, 0, 0, "AEADID(6)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.id.NonceSize(); got != tt.nonce {
				t.Errorf("NonceSize() = %d, want %d", got, tt.nonce)
			}
			if got := tt.id.Overhead(); got != tt.overhead {
				t.Errorf("Overhead() = %d, want %d", got, tt.overhead)
			}
			if got := tt.id.String(); got != tt.name {
				t.Errorf("String() = %q, want %q", got, tt.name)
			}
		})
	}
}

func FuzzParseSealedTicket(f *testing.F) {
	for _, tt := range sealedTicketTests() {
		f.Add(tt.in)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		checkParse(t, in, ParseSealedTicket, func(v *SealedTicket, n int) bool {
			return n >= SealedHeaderLen+len(v.Nonce)+v.AEAD.Overhead()
		})
	})
}
