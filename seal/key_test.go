package seal

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"testing"

	"github.com/tlsticket/tlsticket/internal/testkit/secretscan"
)

func TestNewKeyRefuses(t *testing.T) {
	tests := []struct {
		name   string
		a      AEAD
		secret []byte
		want   error
	}{
		{"zero-16", AES128GCM, make([]byte, 16), ErrWeakKey},
		{"zero-32", AES256GCM, make([]byte, 32), ErrWeakKey},
		{"all-equal-ff", ChaCha20Poly1305, bytes.Repeat([]byte{0xff}, 32), ErrWeakKey},
		{"all-equal-42", XChaCha20Poly1305, bytes.Repeat([]byte{0x42}, 32), ErrWeakKey},
		{"all-equal-01-xaes", XAES256GCM, bytes.Repeat([]byte{0x01}, 32), ErrWeakKey},
		{"short-xaes", XAES256GCM, countingSecret(AES128GCM), ErrKeySize},
		{"short", AES128GCM, countingSecret(AES128GCM)[:15], ErrKeySize},
		{"long", AES128GCM, append(countingSecret(AES128GCM), 16), ErrKeySize},
		{"aes128-secret-for-aes256", AES256GCM, countingSecret(AES128GCM), ErrKeySize},
		{"empty", ChaCha20Poly1305, nil, ErrKeySize},
		{"short-zero", AES256GCM, make([]byte, 16), ErrKeySize},
		{"nil-aes256", AES256GCM, nil, ErrKeySize},
		{"zero-chacha", ChaCha20Poly1305, make([]byte, 32), ErrWeakKey},
		{"zero-xchacha", XChaCha20Poly1305, make([]byte, 32), ErrWeakKey},
		{"all-equal-aa", AES256GCM, bytes.Repeat([]byte{0xaa}, 32), ErrWeakKey},
		{"all-equal-aa-16", AES128GCM, bytes.Repeat([]byte{0xaa}, 16), ErrWeakKey},
		{"short-aes256", AES256GCM, countingSecret(AES256GCM)[:31], ErrKeySize},
		{"short-chacha", ChaCha20Poly1305, countingSecret(AES128GCM), ErrKeySize},
		{"long-aes256", AES256GCM, append(countingSecret(AES256GCM), 0), ErrKeySize},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, err := NewKey(tt.a, tt.secret)
			if k != nil || !errors.Is(err, tt.want) {
				t.Errorf("NewKey = %v, %v, want nil, %v", k, err, tt.want)
			}
		})
	}
	for _, a := range []AEAD{0, 6, 200, 255} {
		if k, err := NewKey(a, countingSecret(AES256GCM)); k != nil || err == nil {
			t.Errorf("NewKey(%v) = %v, %v, want error", a, k, err)
		}
		if k, err := GenerateKey(a, nil); k != nil || err == nil {
			t.Errorf("GenerateKey(%v) = %v, %v, want error", a, k, err)
		}
	}
	// Almost all equal is accepted.
	secret := make([]byte, 16)
	secret[15] = 1
	if _, err := NewKey(AES128GCM, secret); err != nil {
		t.Errorf("NewKey(%x): %v", secret, err)
	}
	if k, err := GenerateKey(AES256GCM, bytes.NewReader(make([]byte, 32))); k != nil || !errors.Is(err, ErrWeakKey) {
		t.Errorf("GenerateKey(zero rand) = %v, %v, want nil, ErrWeakKey", k, err)
	}
	if k, err := GenerateKey(AES128GCM, failReader{}); k != nil || !errors.Is(err, errRandFailed) {
		t.Errorf("GenerateKey(failing rand) = %v, %v, want nil, %v", k, err, errRandFailed)
	}
}

func TestWeakSecret(t *testing.T) {
	tests := []struct {
		secret []byte
		want   bool
	}{
		{nil, true},
		{[]byte{7}, true},
		{make([]byte, 32), true},
		{bytes.Repeat([]byte{0xaa}, 16), true},
		{countingSecret(AES128GCM), false},
		{append(make([]byte, 31), 1), false},
		{append([]byte{1}, make([]byte, 31)...), false},
	}
	for _, tt := range tests {
		if got := WeakSecret(tt.secret); got != tt.want {
			t.Errorf("WeakSecret(%x) = %v, want %v", tt.secret, got, tt.want)
		}
	}
}

func TestGenerateKeyDeterministic(t *testing.T) {
	k1, err := GenerateKey(AES256GCM, &seqReader{})
	if err != nil {
		t.Fatal(err)
	}
	k2, err := NewKey(AES256GCM, countingSecret(AES256GCM))
	if err != nil {
		t.Fatal(err)
	}
	if k1.Name() != k2.Name() || k1.AEAD() != AES256GCM {
		t.Errorf("GenerateKey(00 01 02 …) = %v, want %v", k1, k2)
	}
}

func TestNewRingRefuses(t *testing.T) {
	secret := countingSecret(AES256GCM)
	a, err := NewKey(AES256GCM, secret)
	if err != nil {
		t.Fatal(err)
	}
	again, err := NewKey(AES256GCM, secret)
	if err != nil {
		t.Fatal(err)
	}
	otherAEAD, err := NewKey(ChaCha20Poly1305, secret)
	if err != nil {
		t.Fatal(err)
	}
	b := generateKeys(t, AES256GCM, 1)[0]
	// A name collision between different secrets cannot be found, so forge
	// one.
	collision := &Key{name: a.name, aead: b.aead, c: b.c}

	tests := []struct {
		name        string
		primary     *Key
		decryptOnly []*Key
		want        error
	}{
		{"nil-primary", nil, nil, ErrNoPrimaryKey},
		{"nil-primary-with-keys", nil, []*Key{a}, ErrNoPrimaryKey},
		{"same-key-twice", a, []*Key{a}, ErrDuplicateKey},
		{"same-secret-twice", a, []*Key{b, again}, ErrDuplicateKey},
		{"same-secret-other-aead", a, []*Key{otherAEAD}, ErrDuplicateKey},
		{"name-collision", a, []*Key{collision}, ErrDuplicateKey},
		{"decrypt-only-duplicates", b, []*Key{a, again}, ErrDuplicateKey},
		{"nil-decrypt-only", a, []*Key{b, nil}, nil},
		{"zero-key", a, []*Key{{}}, nil},
		{"zero-primary", &Key{}, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := NewRing(nil, tt.primary, tt.decryptOnly...)
			if r != nil || err == nil {
				t.Fatalf("NewRing = %v, %v, want error", r, err)
			}
			if tt.want != nil && !errors.Is(err, tt.want) {
				t.Errorf("NewRing error = %v, want %v", err, tt.want)
			}
		})
	}
	if _, err := NewRing(nil, a, b); err != nil {
		t.Errorf("NewRing(a, b): %v", err)
	}
	testRotateRefusesDuplicate(t, a, again, otherAEAD, b)
}

// testRotateRefusesDuplicate checks that Rotate refuses a new primary whose
// secret a ring key already has under another AEAD, and that promoting a
// second Key value of a kept key's secret leaves that secret in the ring
// once. a and again share a secret, otherAEAD has it under another AEAD, b
// is unrelated.
func testRotateRefusesDuplicate(t *testing.T, a, again, otherAEAD, b *Key) {
	t.Helper()
	r, err := NewRing(nil, a, b)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := r.Rotate(otherAEAD, 2); got != nil || !errors.Is(err, ErrDuplicateKey) {
		t.Errorf("Rotate(same secret, other AEAD) = %v, %v; want ErrDuplicateKey", got, err)
	}
	if r, err = NewRing(nil, b, a); err != nil {
		t.Fatal(err)
	}
	if r, err = r.Rotate(again, 5); err != nil {
		t.Fatal(err)
	}
	seen := map[KeyName]bool{}
	for _, k := range r.Keys() {
		if seen[k.Name()] {
			t.Fatalf("ring %v holds key %v twice", r, k)
		}
		seen[k.Name()] = true
	}
}

func TestNoSecretsPrinted(t *testing.T) {
	for _, a := range aeads {
		t.Run(aeadName(a), func(t *testing.T) {
			secret := make([]byte, a.KeySize())
			for i := range secret {
				secret[i] = byte(0x30 + i*7)
			}
			k, err := NewKey(a, secret)
			if err != nil {
				t.Fatal(err)
			}
			other := generateKeys(t, a, 1)[0]
			r, err := NewRing(nil, k, other)
			if err != nil {
				t.Fatal(err)
			}
			kr := NewKeyring(r)
			ticket := mustSeal(t, r, []byte("plaintext state"), nil)
			var errs []error
			for _, f := range []func() error{
				func() error { _, err := NewKey(a, secret[1:]); return err },
				func() error { _, err := NewKey(a, append(bytes.Clone(secret), 0)); return err },
				func() error { _, err := NewRing(nil, k, k); return err },
				func() error { _, err := r.Open(nil, ticket[:20], nil); return err },
				func() error { _, err := r.Open(nil, append(bytes.Clone(ticket), 1), nil); return err },
				func() error { _, err := r.Open(nil, ticket, []byte("ad")); return err },
				func() error { _, err := r.Seal(nil, make([]byte, 1<<16), nil); return err },
				func() error { _, err := r.Rotate(nil, 1); return err },
				func() error { _, err := NewRing(failReader{}, k); return err },
				func() error {
					fr, _ := NewRing(failReader{}, k)
					_, err := fr.Seal(nil, []byte("x"), nil)
					return err
				},
			} {
				if err := f(); err != nil {
					errs = append(errs, err)
				}
			}
			if len(errs) != 9 {
				t.Fatalf("got %d errors, want 9", len(errs))
			}

			values := []struct {
				name string
				v    any
			}{
				{"Key", *k},
				{"*Key", k},
				{"Ring", *r},
				{"*Ring", r},
				{"*Keyring", kr},
				{"[]*Key", r.Keys()},
				{"Opened", Opened{Name: k.Name(), Known: true}},
				{"struct-with-key", struct{ K Key }{*k}},
				// fmt cannot call methods on unexported fields and prints
				// them by reflection.
				{"struct-with-unexported-key", struct{ k Key }{*k}},
				{"struct-with-unexported-ring", struct{ r Ring }{*r}},
				{"struct-with-unexported-*key", struct{ k *Key }{k}},
				{"*struct-with-unexported-key", &struct{ k Key }{*k}},
				{"*struct-with-unexported-*ring", &struct{ r *Ring }{r}},
				{"*struct-with-unexported-keyring", &struct{ k *Keyring }{kr}},
				{"map-of-keys", map[KeyName]Key{k.Name(): *k}},
			}
			for i, err := range errs {
				values = append(values, struct {
					name string
					v    any
				}{fmt.Sprintf("error-%d", i), err})
			}
			forbidden := append(secretscan.Forms(secret), secretscan.Forms(derivedKey(t, a, secret))...)
			nonce := ticket[HeaderSize : HeaderSize+a.NonceSize()]
			forbidden = append(forbidden, hex.EncodeToString(nonce), "plaintext state")
			for _, v := range values {
				secretscan.Check(t, v.name, v.v, forbidden)
			}

		})
	}
}

func TestFormat(t *testing.T) {
	for _, a := range aeads {
		t.Run(aeadName(a), func(t *testing.T) {
			keys := generateKeys(t, a, 2)
			k, other := keys[0], keys[1]
			r, err := NewRing(nil, k, other)
			if err != nil {
				t.Fatal(err)
			}
			kr := NewKeyring(r)
			prefix := hex.EncodeToString(k.name[:4])
			keyRE := regexp.MustCompile(`^seal\.Key\{` + regexp.QuoteMeta(a.String()) + ` ` + prefix + `…\}$`)
			for _, verb := range []string{"%v", "%+v", "%s", "%x", "%d"} {
				if got := fmt.Sprintf(verb, k); !keyRE.MatchString(got) {
					t.Errorf("fmt.Sprintf(%q, key) = %q, want match for %s", verb, got, keyRE)
				}
			}
			if got, want := fmt.Sprintf("%#v", k), "seal.Key{AEAD: "+a.String()+", Name: "+k.Name().String()+"}"; got != want {
				t.Errorf("%%#v of key = %q, want %q", got, want)
			}
			wantRing := "seal.Ring{primary " + k.desc() + ", decrypt-only [" + other.desc() + "]}"
			if got := fmt.Sprint(r); got != wantRing {
				t.Errorf("Ring = %q, want %q", got, wantRing)
			}
			if got, want := fmt.Sprint(kr), "seal.Keyring{"+wantRing+"}"; got != want {
				t.Errorf("Keyring = %q, want %q", got, want)
			}
		})
	}
	for _, tt := range []struct {
		v    any
		want string
	}{
		{(*Key)(nil), "<nil>"},
		{(*Ring)(nil), "<nil>"},
		{Ring{}, "seal.Ring{no keys}"},
		{new(Keyring), "seal.Keyring{<nil>}"},
	} {
		if got := fmt.Sprint(tt.v); got != tt.want {
			t.Errorf("fmt.Sprint(%T) = %q, want %q", tt.v, got, tt.want)
		}
	}
}

func TestKeyName(t *testing.T) {
	var n KeyName
	for i := range n {
		n[i] = byte(0xf0 + i)
	}
	if got, want := n.String(), "f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
}
