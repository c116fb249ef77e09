package keydist

import (
	"bytes"
	"encoding"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"testing"
)

var (
	_ encoding.BinaryMarshaler   = (*MemberKey)(nil)
	_ encoding.BinaryUnmarshaler = (*MemberKey)(nil)
	_ encoding.TextMarshaler     = (*MemberKey)(nil)
	_ encoding.TextUnmarshaler   = (*MemberKey)(nil)
	_ encoding.TextMarshaler     = (*MemberPublicKey)(nil)
	_ encoding.TextUnmarshaler   = (*MemberPublicKey)(nil)
	_ encoding.TextMarshaler     = (*PublisherKey)(nil)
	_ encoding.TextUnmarshaler   = (*PublisherKey)(nil)
	_ encoding.TextMarshaler     = (*PublisherPublicKey)(nil)
	_ encoding.TextUnmarshaler   = (*PublisherPublicKey)(nil)
)

func TestMemberKeyRoundTrip(t *testing.T) {
	mk, _ := testParties(t, "roundtrip")
	seed := mk.Bytes()
	if len(seed) != MemberKeySize {
		t.Fatalf("seed is %d bytes", len(seed))
	}
	again, err := NewMemberKey(seed)
	if err != nil {
		t.Fatal(err)
	}
	if !again.Public().Equal(mk.Public()) {
		t.Error("NewMemberKey(Bytes()) has another public key")
	}
	text, _ := mk.MarshalText()
	if !bytes.HasPrefix(text, []byte(MemberPrivateKeyPrefix)) {
		t.Errorf("MarshalText = %q…, want prefix %q", text[:10], MemberPrivateKeyPrefix)
	}
	var parsed MemberKey
	if err := parsed.UnmarshalText(text); err != nil {
		t.Fatal(err)
	}
	if !parsed.Public().Equal(mk.Public()) {
		t.Error("UnmarshalText(MarshalText()) has another public key")
	}
	pub := mk.Public().Bytes()
	if len(pub) != MemberPublicKeySize {
		t.Fatalf("public key is %d bytes", len(pub))
	}
	p, err := ParseMemberPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	if p.ID() != mk.Public().ID() {
		t.Errorf("ID %v, want %v", p.ID(), mk.Public().ID())
	}
	ptext, _ := mk.Public().MarshalText()
	p2, err := ParseMemberPublicKeyText(ptext)
	if err != nil {
		t.Fatal(err)
	}
	if !p2.Equal(mk.Public()) {
		t.Error("public key text round trip differs")
	}
	back, _ := p2.MarshalText()
	if !bytes.Equal(back, ptext) {
		t.Errorf("text round trip: got %q, want %q", back, ptext)
	}
}

func TestPublisherKeyRoundTrip(t *testing.T) {
	_, pk := testParties(t, "roundtrip")
	again, err := NewPublisherKey(pk.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if !again.Public().Equal(pk.Public()) {
		t.Error("NewPublisherKey(Bytes()) has another public key")
	}
	text, _ := pk.MarshalText()
	parsed, err := ParsePublisherKeyText(text)
	if err != nil {
		t.Fatal(err)
	}
	if !parsed.Public().Equal(pk.Public()) {
		t.Error("text round trip has another public key")
	}
	ptext, _ := pk.Public().MarshalText()
	p, err := ParsePublisherPublicKeyText(ptext)
	if err != nil {
		t.Fatal(err)
	}
	if !p.Equal(pk.Public()) || p.ID() != pk.Public().ID() {
		t.Error("public text round trip differs")
	}
	var q PublisherPublicKey
	if err := q.UnmarshalBinary(pk.Public().Bytes()); err != nil || !q.Equal(pk.Public()) {
		t.Errorf("UnmarshalBinary: %v", err)
	}
}

func TestGenerateDeterministic(t *testing.T) {
	a, _ := GenerateMemberKey(newDetRand("x"))
	b, _ := GenerateMemberKey(newDetRand("x"))
	c, _ := GenerateMemberKey(newDetRand("y"))
	if !a.Public().Equal(b.Public()) || a.Public().Equal(c.Public()) {
		t.Error("GenerateMemberKey does not follow its random source")
	}
	if _, err := GenerateMemberKey(bytes.NewReader(nil)); err == nil {
		t.Error("GenerateMemberKey with an empty source succeeded")
	}
	if _, err := GeneratePublisherKey(bytes.NewReader(nil)); err == nil {
		t.Error("GeneratePublisherKey with an empty source succeeded")
	}
}

func TestParseKeyTextRejects(t *testing.T) {
	mk, pk := testParties(t, "rejects")
	mtext, _ := mk.MarshalText()
	ptext, _ := pk.MarshalText()
	mpub, _ := mk.Public().MarshalText()
	// An ML-KEM-768 key whose coefficient is not reduced (>= q): FIPS 203,
	// Section 7.2 modulus check.
	badPub := mk.Public().Bytes()
	badPub[0], badPub[1] = 0xff, 0xff
	tests := []struct {
		name  string
		parse func([]byte) error
		in    []byte
	}{
		{"member priv as publisher", func(b []byte) error { _, err := ParsePublisherKeyText(b); return err }, mtext},
		{"publisher priv as member", func(b []byte) error { _, err := ParseMemberKeyText(b); return err }, ptext},
		{"member pub as member priv", func(b []byte) error { _, err := ParseMemberKeyText(b); return err }, mpub},
		{"trailing newline", func(b []byte) error { _, err := ParseMemberKeyText(b); return err }, append(bytes.Clone(mtext), '\n')},
		{"leading space", func(b []byte) error { _, err := ParseMemberKeyText(b); return err }, append([]byte(" "), mtext...)},
		{"truncated", func(b []byte) error { _, err := ParseMemberKeyText(b); return err }, mtext[:len(mtext)-4]},
		{"no padding", func(b []byte) error { _, err := ParseMemberKeyText(b); return err }, bytes.TrimRight(mtext, "=")},
		// Regression: text of the right length whose padding is replaced by
		// data decodes to one byte more than the key, which once overran
		// the buffer.
		{"padding replaced", func(b []byte) error { _, err := ParseMemberKeyText(b); return err }, append(bytes.TrimRight(mtext, "="), 'A')},
		{"publisher padding replaced", func(b []byte) error { _, err := ParsePublisherKeyText(b); return err }, append(bytes.TrimRight(ptext, "="), 'A')},
		{"public padding replaced", func(b []byte) error { _, err := ParseMemberPublicKeyText(b); return err }, append(bytes.TrimRight(mpub, "="), 'A', 'A')},
		{"non-canonical base64", func(b []byte) error { _, err := ParseMemberKeyText(b); return err },
			[]byte(MemberPrivateKeyPrefix + strings.Repeat("A", 42) + "B=")},
		{"bad public key", func(b []byte) error { _, err := ParseMemberPublicKey(b); return err }, badPub},
		{"short public key", func(b []byte) error { _, err := ParseMemberPublicKey(b); return err }, badPub[:100]},
		{"short seed", func(b []byte) error { _, err := NewMemberKey(b); return err }, make([]byte, 31)},
		{"short publisher seed", func(b []byte) error { _, err := NewPublisherKey(b); return err }, make([]byte, 33)},
		{"short publisher pub", func(b []byte) error { _, err := ParsePublisherPublicKey(b); return err }, make([]byte, 31)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.parse(tt.in)
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("got %v, want ErrMalformed", err)
			}
			if strings.Contains(err.Error(), base64.StdEncoding.EncodeToString(mk.Bytes())) {
				t.Error("error quotes the secret key")
			}
		})
	}
}

// TestKeysRedacted checks that no fmt verb prints a private key.
func TestKeysRedacted(t *testing.T) {
	mk, pk := testParties(t, "redact")
	secrets := [][]byte{mk.Bytes(), pk.Bytes()}
	type holder struct {
		M *MemberKey
		P *PublisherKey
	}
	vals := []any{mk, pk, holder{mk, pk}, &holder{mk, pk}, []any{mk, pk}}
	for _, v := range vals {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%x", "%X", "%q", "%d"} {
			out := fmt.Sprintf(verb, v)
			for _, s := range secrets {
				for _, enc := range []string{fmt.Sprintf("%x", s), fmt.Sprintf("%X", s), base64.StdEncoding.EncodeToString(s), fmt.Sprint(s)} {
					if strings.Contains(out, enc) {
						t.Errorf("%s of %T prints a secret key: %s", verb, v, out)
					}
				}
			}
		}
	}
	if got := fmt.Sprint(mk); !strings.Contains(got, mk.Public().ID().String()) {
		t.Errorf("MemberKey prints %q, want its public ID", got)
	}
}
