package keydist

import (
	"bytes"
	"errors"
	"testing"
)

// FuzzOpenBundle checks that arbitrary bytes never panic Open, that a
// failed Open returns nil and one of the package's errors, that only the
// publisher's own bundles open, and that every container that parses
// re-encodes byte for byte.
//
// The input is head ‖ enc ‖ tail, where enc is the 1,120-byte X-Wing
// encapsulation of a real bundle with the byte at encPos xored with
// encXor: the fuzzer mutates a few hundred bytes, not a 1.3 KB input,
// whose minimization stalled it for most of a minute. head and tail are
// arbitrary, so every byte string is still reachable.
func FuzzOpenBundle(f *testing.F) {
	mk, pk := testParties(f, "fuzz")
	var seeds [][]byte
	for i, n := range []int{1, 4} {
		seeds = append(seeds, mustSeal(f, "fuzz-fleet", uint64(i+1), testEntries(f, "fuzz", n), mk.Public(), pk))
	}
	var sb sealedBundle
	if !sb.unmarshal(seeds[0]) {
		f.Fatal("seed does not parse")
	}
	enc := bytes.Clone(sb.enc)
	// mustSeal uses the same randomness for every bundle, so bundles to
	// one member share their encapsulation.
	for _, s := range seeds {
		var sb sealedBundle
		if !sb.unmarshal(s) || !bytes.Equal(sb.enc, enc) {
			f.Fatal("seeds do not share their encapsulation")
		}
		head, tail := s[:len(sb.header)], s[len(sb.header)+encSize:]
		f.Add(head, uint16(0), byte(0), tail)
		f.Add(head, uint16(0), byte(0), tail[:len(tail)-1])
		f.Add(head, uint16(0), byte(0), append(bytes.Clone(tail), 0))
		f.Add(head, uint16(7), byte(0x10), tail)
		f.Add(head[:len(head)-1], uint16(0), byte(0), tail)
	}
	f.Add([]byte{}, uint16(0), byte(0), []byte{})
	f.Add([]byte{sealedVersion}, uint16(0), byte(0), []byte{})
	f.Fuzz(func(t *testing.T, head []byte, encPos uint16, encXor byte, tail []byte) {
		in := make([]byte, 0, len(head)+encSize+len(tail))
		in = append(append(in, head...), enc...)
		in[len(head)+int(encPos)%encSize] ^= encXor
		in = append(in, tail...)
		var sb sealedBundle
		if sb.unmarshal(in) {
			if got := reencode(t, in); !bytes.Equal(got, in) {
				t.Fatalf("re-encoding differs:\ngot  %x\nwant %x", got, in)
			}
		}
		b, err := Open(in, mk, pk.Public(), 0)
		if err != nil {
			if b != nil {
				t.Fatal("Open returned a bundle and an error")
			}
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrAuth) && !errors.Is(err, ErrWrongMember) {
				t.Fatalf("unexpected error %v", err)
			}
			return
		}
		defer b.Clear()
		if !bytes.Equal(in, seeds[0]) && !bytes.Equal(in, seeds[1]) {
			t.Fatalf("Open accepted a bundle the publisher did not sign: %x", in)
		}
	})
}

// FuzzParseContents checks that the decrypted contents parse strictly:
// accepted input re-encodes byte for byte, and rejected input returns no
// keys.
func FuzzParseContents(f *testing.F) {
	for _, n := range []int{1, 2, 4} {
		f.Add(mustContents(f, testEntries(f, "fuzz contents", n)))
	}
	f.Add([]byte{0, 0})
	f.Fuzz(func(t *testing.T, in []byte) {
		keys, ok := parseContents(in)
		if !ok {
			if keys != nil {
				t.Fatal("parseContents returned keys and false")
			}
			return
		}
		out, err := appendContents(nil, keys)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(out, in) {
			t.Fatalf("re-encoding differs:\ngot  %x\nwant %x", out, in)
		}
		// Contents that pass the key file rules must seal.
		if checkKeys(keys) == nil {
			if _, err := appendContents(nil, keys); err != nil {
				t.Fatal(err)
			}
		}
	})
}
