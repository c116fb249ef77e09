package seal

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"errors"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// unhex decodes the concatenation of hex strings, ignoring spaces.
func unhex(t testing.TB, parts ...string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(strings.Join(parts, ""), " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

const (
	testKeyNameHex = "000102030405060708090a0b0c0d0e0f"
	testNonce12    = "a0a1a2a3a4a5a6a7a8a9aaab"
	testNonce24    = "a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7"
	testTag        = "f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff"
)

type headerTest struct {
	name string
	in   []byte
	want Header
}

func headerTests(t testing.TB) []headerTest {
	var name KeyName
	copy(name[:], unhex(t, testKeyNameHex))
	hdr := func(a AEAD, nonce string, ciphertextLen int) Header {
		return Header{Version: 1, AEAD: a, KeyName: name, Nonce: unhex(t, nonce), CiphertextLen: ciphertextLen}
	}
	// The largest ticket: the header, a 12-byte nonce and a ciphertext
	// that fills the rest of 2^16-1 bytes.
	largest := append(unhex(t, "01 01", testKeyNameHex, testNonce12), bytes.Repeat([]byte{0xcc}, maxTicketSize-HeaderSize-12)...)
	return []headerTest{
		{"AES-128-GCM tag only", unhex(t, "01 01", testKeyNameHex, testNonce12, testTag), hdr(AES128GCM, testNonce12, 16)},
		{"AES-256-GCM", unhex(t, "01 02", testKeyNameHex, testNonce12, "deadbeef", testTag), hdr(AES256GCM, testNonce12, 20)},
		{"ChaCha20-Poly1305", unhex(t, "01 03", testKeyNameHex, testNonce12, "00", testTag), hdr(ChaCha20Poly1305, testNonce12, 17)},
		{"XChaCha20-Poly1305", unhex(t, "01 04", testKeyNameHex, testNonce24, "0102", testTag), hdr(XChaCha20Poly1305, testNonce24, 18)},
		{"XAES-256-GCM", unhex(t, "01 05", testKeyNameHex, testNonce24, testTag), hdr(XAES256GCM, testNonce24, 16)},
		{"largest", largest, hdr(AES128GCM, testNonce12, maxTicketSize-HeaderSize-12)},
	}
}

// appendHeader is the encoder that the tests hold ParseHeader to: version,
// aead, key_name and nonce, then ciphertext.
func appendHeader(dst []byte, h Header, ciphertext []byte) []byte {
	dst = append(dst, h.Version, byte(h.AEAD))
	dst = append(dst, h.KeyName[:]...)
	dst = append(dst, h.Nonce...)
	return append(dst, ciphertext...)
}

func TestParseHeader(t *testing.T) {
	for _, tt := range headerTests(t) {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseHeader(tt.in)
			if err != nil {
				t.Fatalf("ParseHeader: %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ParseHeader mismatch (-want +got):\n%s", diff)
			}
			if out := appendHeader(nil, got, tt.in[len(tt.in)-got.CiphertextLen:]); !bytes.Equal(out, tt.in) {
				t.Errorf("re-encoded:\n got %x\nwant %x", out, tt.in)
			}
			if len(got.Nonce) > 0 && &got.Nonce[0] != &tt.in[HeaderSize] {
				t.Errorf("Nonce does not alias the ticket")
			}
		})
	}
}

func TestParseHeaderMalformed(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
	}{
		{"empty", nil},
		{"version 0", unhex(t, "00 01", testKeyNameHex, testNonce12, testTag)},
		{"version 2", unhex(t, "02 01", testKeyNameHex, testNonce12, testTag)},
		{"unknown aead 0", unhex(t, "01 00", testKeyNameHex, testNonce12, testTag)},
		{"unknown aead 6", unhex(t, "01 06", testKeyNameHex, testNonce12, testTag)},
		{"unknown aead 255", unhex(t, "01 ff", testKeyNameHex, testNonce12, testTag)},
		{"short key_name", unhex(t, "01 01", testKeyNameHex[:30])},
		{"short nonce", unhex(t, "01 01", testKeyNameHex, testNonce12[:20])},
		{"no ciphertext", unhex(t, "01 01", testKeyNameHex, testNonce12)},
		{"ciphertext shorter than the tag", unhex(t, "01 01", testKeyNameHex, testNonce12, testTag[:30])},
		{"XChaCha20 with a 12-byte nonce", unhex(t, "01 04", testKeyNameHex, testNonce12, testTag)},
		{"longer than 2^16-1", append(unhex(t, "01 01", testKeyNameHex, testNonce12), make([]byte, maxTicketSize-HeaderSize-12+1)...)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseHeader(tt.in)
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("ParseHeader error = %v, want ErrMalformed", err)
			}
			if !cmp.Equal(got, Header{}) {
				t.Fatalf("ParseHeader returned %+v with an error", got)
			}
		})
	}
}

// TestParseHeaderPrefixes checks the prefixes of tickets. The ciphertext
// runs to the end of the ticket, so a prefix that keeps a whole tag's worth
// of ciphertext parses (the AEAD, not the container, detects it); every
// shorter prefix must fail.
func TestParseHeaderPrefixes(t *testing.T) {
	for _, tt := range headerTests(t) {
		if len(tt.in) > 1024 {
			continue
		}
		t.Run(tt.name, func(t *testing.T) {
			minLen := HeaderSize + tt.want.AEAD.NonceSize() + tt.want.AEAD.Overhead()
			for n := range len(tt.in) {
				_, err := ParseHeader(tt.in[:n])
				if got, want := err == nil, n >= minLen; got != want {
					t.Fatalf("prefix of %d bytes: parsed = %t, want %t", n, got, want)
				}
			}
		})
	}
}

// TestParseHeaderOfSeal checks that every ticket Seal makes, under every
// AEAD, parses with the Seal key's AEAD, name and nonce, and a ciphertext of
// the plaintext's length plus the tag.
func TestParseHeaderOfSeal(t *testing.T) {
	for _, a := range aeads {
		t.Run(aeadName(a), func(t *testing.T) {
			k, err := NewKey(a, countingSecret(a))
			if err != nil {
				t.Fatal(err)
			}
			r, err := NewRing(&seqReader{next: 0xa0}, k)
			if err != nil {
				t.Fatal(err)
			}
			pt := []byte("session state")
			ticket := mustSeal(t, r, pt, []byte("ad"))
			got, err := ParseHeader(ticket)
			if err != nil {
				t.Fatalf("ParseHeader(Seal) = %v", err)
			}
			want := Header{Version: 1, AEAD: a, KeyName: k.Name(), Nonce: ticket[HeaderSize : HeaderSize+a.NonceSize()], CiphertextLen: len(pt) + a.Overhead()}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("ParseHeader(Seal) mismatch (-want +got):\n%s", diff)
			}
			if len(ticket) != HeaderSize+len(got.Nonce)+got.CiphertextLen {
				t.Errorf("ticket of %d bytes, header says %d", len(ticket), HeaderSize+len(got.Nonce)+got.CiphertextLen)
			}
		})
	}
}

// TestAEADTableInSpec reads the AEAD identifier table of the ticket format
// specification and checks it, row by row, against the package's table: the
// document is the table a reader of the format uses, so it must not drift.
func TestAEADTableInSpec(t *testing.T) {
	f, err := os.Open("../docs/spec/ticket-format.md")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	seen := map[AEAD]bool{}
	sc := bufio.NewScanner(f)
	for line := 1; sc.Scan(); line++ {
		cells := strings.Split(strings.Trim(sc.Text(), "| "), "|")
		if len(cells) != 4 {
			continue
		}
		for i := range cells {
			cells[i] = strings.TrimSpace(cells[i])
		}
		id, err := strconv.ParseUint(cells[0], 10, 8)
		if err != nil {
			continue // the heading row, the separator, or another table
		}
		a := AEAD(id)
		nonce, _ := strconv.Atoi(cells[2])
		tag, _ := strconv.Atoi(cells[3])
		if !a.valid() || a.String() != cells[1] || a.NonceSize() != nonce || a.Overhead() != tag {
			t.Errorf("ticket-format.md:%d: aead %d is %s, Nn %d, tag %d; seal has %v, Nn %d, tag %d",
				line, id, cells[1], nonce, tag, a, a.NonceSize(), a.Overhead())
		}
		if seen[a] {
			t.Errorf("ticket-format.md:%d: aead %d listed twice", line, id)
		}
		seen[a] = true
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	for _, a := range aeads {
		if !seen[a] {
			t.Errorf("ticket-format.md does not list %v (aead %d)", a, a)
		}
	}
}

// FuzzParseHeader checks that ParseHeader never panics, returns the zero
// Header with every error, accepts exactly the inputs of the documented
// layout, and that an accepted input re-encodes to itself byte for byte.
func FuzzParseHeader(f *testing.F) {
	for _, tt := range headerTests(f) {
		if len(tt.in) < 1024 {
			f.Add(tt.in)
		}
	}
	f.Add([]byte{})
	f.Add([]byte{1, 4})
	f.Fuzz(func(t *testing.T, in []byte) {
		h, err := ParseHeader(in)
		a := AEAD(0)
		if len(in) > 1 {
			a = AEAD(in[1])
		}
		valid := len(in) <= maxTicketSize && len(in) > 1 && in[0] == 1 && a.valid() &&
			len(in) >= HeaderSize+a.NonceSize()+tagSize
		if err != nil {
			if valid {
				t.Fatalf("ParseHeader(%x) = %v, want success", in, err)
			}
			if !errors.Is(err, ErrMalformed) || !cmp.Equal(h, Header{}) {
				t.Fatalf("ParseHeader(%x) = %+v, %v, want the zero Header and ErrMalformed", in, h, err)
			}
			return
		}
		if !valid {
			t.Fatalf("ParseHeader(%x) accepted %+v", in, h)
		}
		if out := appendHeader(nil, h, in[len(in)-h.CiphertextLen:]); !bytes.Equal(out, in) {
			t.Fatalf("ParseHeader(%x) re-encodes to %x", in, out)
		}
	})
}
