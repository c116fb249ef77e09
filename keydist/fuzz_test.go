package keydist

import (
	"bytes"
	"errors"
	"reflect"
	"testing"
)

// FuzzOpenBundle checks that arbitrary bytes never panic Open or
// ParseHeader, that a failed Open returns nil and one of the package's
// errors, that only the publisher's own bundles open, that ParseHeader
// accepts exactly the containers that parse, and that every container that
// parses re-encodes byte for byte.
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
		parsed := sb.unmarshal(in)
		if parsed {
			if got := reencode(t, in); !bytes.Equal(got, in) {
				t.Fatalf("re-encoding differs:\ngot  %x\nwant %x", got, in)
			}
		}
		// ParseHeader accepts exactly the containers that parse.
		h, err := ParseHeader(in)
		switch {
		case parsed && (err != nil || h == nil || *h != sb.Header):
			t.Fatalf("ParseHeader = %+v, %v, want %+v", h, err, sb.Header)
		case !parsed && (h != nil || !errors.Is(err, ErrMalformed)):
			t.Fatalf("ParseHeader of a container that does not parse = %+v, %v", h, err)
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

// A keyCodec checks one form (text or binary) of one of the four keys of
// the package: no panic; on failure an error wrapping ErrMalformed, a nil
// key, and an Unmarshal that fails too and leaves its receiver zero; on
// success a key whose encoding is the input, byte for byte, as Unmarshal
// also reads it.
type keyCodec struct {
	name  string
	check func(t *testing.T, in []byte)
}

// newKeyCodec returns the keyCodec of the form of *K that parse,
// unmarshal and marshal read and write.
func newKeyCodec[K any, P interface{ *K }](name string, parse func([]byte) (P, error),
	unmarshal func(P, []byte) error, marshal func(P) ([]byte, error)) keyCodec {
	return keyCodec{name, func(t *testing.T, in []byte) {
		k, err := parse(in)
		var into K
		uerr := unmarshal(&into, in)
		if err != nil {
			if k != nil || !errors.Is(err, ErrMalformed) {
				t.Fatalf("%s = %v, %v; want nil and ErrMalformed", name, k, err)
			}
			var zero K
			if uerr == nil || !reflect.DeepEqual(into, zero) {
				t.Fatalf("%s failed, but Unmarshal returned %v or changed its receiver", name, uerr)
			}
			return
		}
		if uerr != nil {
			t.Fatalf("%s succeeded but Unmarshal failed: %v", name, uerr)
		}
		for _, v := range []P{k, &into} {
			if out, err := marshal(v); err != nil || !bytes.Equal(out, in) {
				t.Fatalf("%s: re-encoding = %q, %v, want the input %q", name, out, err, in)
			}
		}
	}}
}

// FuzzParseKeyText checks the four text parsers and the UnmarshalText
// methods; see keyCodec. The seeds are the text forms of real keys and
// their near misses.
func FuzzParseKeyText(f *testing.F) {
	codecs := []keyCodec{
		newKeyCodec("ParseMemberKeyText", ParseMemberKeyText, (*MemberKey).UnmarshalText, (*MemberKey).MarshalText),
		newKeyCodec("ParseMemberPublicKeyText", ParseMemberPublicKeyText, (*MemberPublicKey).UnmarshalText, (*MemberPublicKey).MarshalText),
		newKeyCodec("ParsePublisherKeyText", ParsePublisherKeyText, (*PublisherKey).UnmarshalText, (*PublisherKey).MarshalText),
		newKeyCodec("ParsePublisherPublicKeyText", ParsePublisherPublicKeyText, (*PublisherPublicKey).UnmarshalText, (*PublisherPublicKey).MarshalText),
	}
	mk, pk := testParties(f, "fuzz text")
	mtext, _ := mk.MarshalText()
	mpub, _ := mk.Public().MarshalText()
	ptext, _ := pk.MarshalText()
	ppub, _ := pk.Public().MarshalText()
	for i, text := range [][]byte{mtext, mpub, ptext, ppub} {
		f.Add(uint8(i), text)
		f.Add(uint8(i), text[:len(text)-1])
		f.Add(uint8(i), append(bytes.TrimRight(text, "="), 'A', 'A'))
		f.Add(uint8(i), append(bytes.Clone(text), '\n'))
		f.Add(uint8(i+1), text)
	}
	f.Add(uint8(0), []byte{})
	f.Fuzz(func(t *testing.T, which uint8, text []byte) {
		codecs[int(which)%len(codecs)].check(t, text)
	})
}

// FuzzParseKeyBinary checks the four binary parsers (NewMemberKey,
// ParseMemberPublicKey, NewPublisherKey, ParsePublisherPublicKey) and the
// UnmarshalBinary methods; see keyCodec. A member public key parses only
// if its ML-KEM-768 part is well-formed (FIPS 203, Section 7.2).
func FuzzParseKeyBinary(f *testing.F) {
	codecs := []keyCodec{
		newKeyCodec("NewMemberKey", NewMemberKey, (*MemberKey).UnmarshalBinary, (*MemberKey).MarshalBinary),
		newKeyCodec("ParseMemberPublicKey", ParseMemberPublicKey, (*MemberPublicKey).UnmarshalBinary, (*MemberPublicKey).MarshalBinary),
		newKeyCodec("NewPublisherKey", NewPublisherKey, (*PublisherKey).UnmarshalBinary, (*PublisherKey).MarshalBinary),
		newKeyCodec("ParsePublisherPublicKey", ParsePublisherPublicKey, (*PublisherPublicKey).UnmarshalBinary, (*PublisherPublicKey).MarshalBinary),
	}
	mk, pk := testParties(f, "fuzz binary")
	badPub := mk.Public().Bytes()
	badPub[0], badPub[1] = 0xff, 0xff // a coefficient not reduced mod q
	for i, b := range [][]byte{mk.Bytes(), mk.Public().Bytes(), pk.Bytes(), pk.Public().Bytes()} {
		f.Add(uint8(i), b)
		f.Add(uint8(i), b[:len(b)-1])
		f.Add(uint8(i), append(bytes.Clone(b), 0))
	}
	f.Add(uint8(1), badPub)
	f.Fuzz(func(t *testing.T, which uint8, b []byte) {
		codecs[int(which)%len(codecs)].check(t, b)
	})
}
