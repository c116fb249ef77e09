package keydist

import (
	"bytes"
	"encoding"
	"errors"
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

// keyCodec is one of the four keys of the package, seen through the
// parsers and encoders of one of its forms.
type keyCodec struct {
	name  string
	parse func([]byte) (encoding.BinaryMarshaler, error)
	// zero returns a new zero key and its Unmarshal method for the form.
	zero   func() (any, func([]byte) error)
	encode func(any) ([]byte, error) // the form's Marshal method
}

// fuzzKeyForms checks one parser of each key form: no panic, an error
// wrapping ErrMalformed and a nil key on failure (and an Unmarshal that
// leaves its receiver zero), and on success a key whose encoding is the
// input, byte for byte, as Unmarshal also reads it.
func fuzzKeyForms(t *testing.T, codecs []keyCodec, which uint8, in []byte) {
	c := codecs[int(which)%len(codecs)]
	k, err := c.parse(in)
	zero, unmarshal := c.zero()
	uerr := unmarshal(in)
	if err != nil {
		if k != nil || !errors.Is(err, ErrMalformed) {
			t.Fatalf("%s = %v, %v; want nil and ErrMalformed", c.name, k, err)
		}
		if uerr == nil {
			t.Fatalf("%s failed but Unmarshal succeeded", c.name)
		}
		again, _ := c.zero()
		if !sameKey(t, zero, again) {
			t.Fatalf("%s: a failed Unmarshal changed its receiver", c.name)
		}
		return
	}
	if uerr != nil {
		t.Fatalf("%s succeeded but Unmarshal failed: %v", c.name, uerr)
	}
	for _, v := range []any{k, zero} {
		out, err := c.encode(v)
		if err != nil || !bytes.Equal(out, in) {
			t.Fatalf("%s: re-encoding = %q, %v, want the input %q", c.name, out, err, in)
		}
	}
}

// sameKey reports whether two keys of one type have the same binary form,
// treating two zero keys as the same.
func sameKey(t *testing.T, a, b any) bool {
	t.Helper()
	switch a := a.(type) {
	case *MemberKey:
		return a.sk == nil && b.(*MemberKey).sk == nil && a.seed == b.(*MemberKey).seed
	case *MemberPublicKey:
		return a.pk == nil && b.(*MemberPublicKey).pk == nil && a.b == b.(*MemberPublicKey).b
	case *PublisherKey:
		return a.priv == nil && b.(*PublisherKey).priv == nil
	case *PublisherPublicKey:
		return *a == *b.(*PublisherPublicKey)
	}
	t.Fatalf("unknown key type %T", a)
	return false
}

// FuzzParseKeyText checks the four text parsers (ParseMemberKeyText,
// ParseMemberPublicKeyText, ParsePublisherKeyText,
// ParsePublisherPublicKeyText) and the UnmarshalText methods; see
// fuzzKeyForms. The seeds are the text forms of real keys and their
// near misses.
func FuzzParseKeyText(f *testing.F) {
	codecs := []keyCodec{
		{"ParseMemberKeyText",
			func(b []byte) (encoding.BinaryMarshaler, error) { return nilIfErr(ParseMemberKeyText(b)) },
			func() (any, func([]byte) error) { k := new(MemberKey); return k, k.UnmarshalText },
			func(k any) ([]byte, error) { return k.(*MemberKey).MarshalText() }},
		{"ParseMemberPublicKeyText",
			func(b []byte) (encoding.BinaryMarshaler, error) { return nilIfErr(ParseMemberPublicKeyText(b)) },
			func() (any, func([]byte) error) { k := new(MemberPublicKey); return k, k.UnmarshalText },
			func(k any) ([]byte, error) { return k.(*MemberPublicKey).MarshalText() }},
		{"ParsePublisherKeyText",
			func(b []byte) (encoding.BinaryMarshaler, error) { return nilIfErr(ParsePublisherKeyText(b)) },
			func() (any, func([]byte) error) { k := new(PublisherKey); return k, k.UnmarshalText },
			func(k any) ([]byte, error) { return k.(*PublisherKey).MarshalText() }},
		{"ParsePublisherPublicKeyText",
			func(b []byte) (encoding.BinaryMarshaler, error) { return nilIfErr(ParsePublisherPublicKeyText(b)) },
			func() (any, func([]byte) error) { k := new(PublisherPublicKey); return k, k.UnmarshalText },
			func(k any) ([]byte, error) { return k.(*PublisherPublicKey).MarshalText() }},
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
		fuzzKeyForms(t, codecs, which, text)
	})
}

// FuzzParseKeyBinary checks the four binary parsers (NewMemberKey,
// ParseMemberPublicKey, NewPublisherKey, ParsePublisherPublicKey) and the
// UnmarshalBinary methods; see fuzzKeyForms. A member public key parses
// only if its ML-KEM-768 part is well-formed (FIPS 203, Section 7.2).
func FuzzParseKeyBinary(f *testing.F) {
	codecs := []keyCodec{
		{"NewMemberKey",
			func(b []byte) (encoding.BinaryMarshaler, error) { return nilIfErr(NewMemberKey(b)) },
			func() (any, func([]byte) error) { k := new(MemberKey); return k, k.UnmarshalBinary },
			func(k any) ([]byte, error) { return k.(*MemberKey).MarshalBinary() }},
		{"ParseMemberPublicKey",
			func(b []byte) (encoding.BinaryMarshaler, error) { return nilIfErr(ParseMemberPublicKey(b)) },
			func() (any, func([]byte) error) { k := new(MemberPublicKey); return k, k.UnmarshalBinary },
			func(k any) ([]byte, error) { return k.(*MemberPublicKey).MarshalBinary() }},
		{"NewPublisherKey",
			func(b []byte) (encoding.BinaryMarshaler, error) { return nilIfErr(NewPublisherKey(b)) },
			func() (any, func([]byte) error) { k := new(PublisherKey); return k, k.UnmarshalBinary },
			func(k any) ([]byte, error) { return k.(*PublisherKey).MarshalBinary() }},
		{"ParsePublisherPublicKey",
			func(b []byte) (encoding.BinaryMarshaler, error) { return nilIfErr(ParsePublisherPublicKey(b)) },
			func() (any, func([]byte) error) { k := new(PublisherPublicKey); return k, k.UnmarshalBinary },
			func(k any) ([]byte, error) { return k.(*PublisherPublicKey).MarshalBinary() }},
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
		fuzzKeyForms(t, codecs, which, b)
	})
}

// nilIfErr returns k as a BinaryMarshaler, or an untyped nil with err, so
// that a nil *T does not become a non-nil interface.
func nilIfErr[T encoding.BinaryMarshaler](k T, err error) (encoding.BinaryMarshaler, error) {
	if err != nil {
		var zero T
		if any(k) != any(zero) {
			return k, err // reported by the caller as a key returned with an error
		}
		return nil, err
	}
	return k, nil
}
