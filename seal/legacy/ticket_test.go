package legacy

import (
	"bytes"
	"testing"
)

// ticketOf returns an OpenSSL-layout ticket with a key name of 0x01
// bytes, an IV of 0x02 bytes, encrypted bytes of 0x03 and a MAC of 0x04.
func ticketOf(encrypted int) []byte {
	var b []byte
	for _, f := range []struct {
		c byte
		n int
	}{{1, nameSize}, {2, ivSize}, {3, encrypted}, {4, macSize}} {
		b = append(b, bytes.Repeat([]byte{f.c}, f.n)...)
	}
	return b
}

// appendTicket is the encoder that the tests hold rawTicket.unmarshal to.
func appendTicket(dst []byte, t *rawTicket) []byte {
	dst = append(dst, t.keyName[:]...)
	dst = append(dst, t.iv...)
	dst = append(dst, t.encrypted...)
	return append(dst, t.mac...)
}

func TestParseTicket(t *testing.T) {
	largest := (maxTicketSize - nameSize - ivSize - macSize) / 16 * 16
	for _, n := range []int{16, 32, 48, 1024, largest} {
		in := ticketOf(n)
		var tk rawTicket
		if !tk.unmarshal(in) {
			t.Fatalf("%d encrypted bytes: rejected", n)
		}
		if out := appendTicket(nil, &tk); !bytes.Equal(out, in) {
			t.Fatalf("%d encrypted bytes: re-encoded differently", n)
		}
		if !bytes.Equal(tk.keyName[:], in[:16]) || !bytes.Equal(tk.iv, in[16:32]) || len(tk.encrypted) != n ||
			!bytes.Equal(tk.mac, in[len(in)-32:]) || !bytes.Equal(tk.macInput, in[:len(in)-32]) {
			t.Fatalf("%d encrypted bytes: fields misplaced", n)
		}
	}
	for _, n := range []int{0, 1, 15, 17, 31, largest + 16} {
		var tk rawTicket
		if tk.unmarshal(ticketOf(n)) {
			t.Errorf("%d encrypted bytes: accepted", n)
		}
		if tk.iv != nil || tk.encrypted != nil || tk.mac != nil || tk.macInput != nil || tk.keyName != [nameSize]byte{} {
			t.Errorf("%d encrypted bytes: fields set on failure", n)
		}
	}
}

// FuzzParseTicket checks that the ticket parser never panics, leaves the
// zero value on failure, accepts exactly the layout's lengths, and that an
// accepted ticket re-encodes to itself byte for byte.
func FuzzParseTicket(f *testing.F) {
	f.Add(ticketOf(16))
	f.Add(ticketOf(48))
	f.Add(ticketOf(17))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, in []byte) {
		var tk rawTicket
		ok := tk.unmarshal(in)
		n := len(in) - nameSize - ivSize - macSize
		if want := len(in) <= maxTicketSize && n >= 16 && n%16 == 0; ok != want {
			t.Fatalf("unmarshal(%d bytes) = %v, want %v", len(in), ok, want)
		}
		if !ok {
			if tk.iv != nil || tk.encrypted != nil || tk.mac != nil || tk.macInput != nil || tk.keyName != [nameSize]byte{} {
				t.Fatalf("unmarshal(%x) failed but set fields", in)
			}
			return
		}
		if out := appendTicket(nil, &tk); !bytes.Equal(out, in) {
			t.Fatalf("unmarshal(%x) re-encodes to %x", in, out)
		}
	})
}
