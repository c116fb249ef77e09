package seal

import (
	"bytes"
	"testing"
)

// FuzzKeyringOpen checks that Keyring.Open and Keyring.OpenKey never panic
// and return exactly what Open and OpenKey of the Ring they hold return:
// the same plaintext or nil, the same Opened and the same error. FuzzOpen
// checks the Ring itself.
func FuzzKeyringOpen(f *testing.F) {
	r, tickets := fuzzRing(f)
	k := NewKeyring(r)
	ad := []byte("fuzz ad")
	f.Add([]byte{}, ad)
	for _, tk := range tickets {
		f.Add(tk, ad)
		f.Add(tk[:len(tk)-1], ad)
		f.Add(tk, []byte{})
	}
	f.Fuzz(func(t *testing.T, data, additionalData []byte) {
		want, wantOpened, wantErr := r.OpenKey(nil, data, additionalData)
		got, opened, err := k.OpenKey(nil, data, additionalData)
		if !bytes.Equal(got, want) || (got == nil) != (want == nil) || opened != wantOpened || (err == nil) != (wantErr == nil) ||
			(err != nil && err.Error() != wantErr.Error()) {
			t.Fatalf("Keyring.OpenKey = %x, %+v, %v; Ring.OpenKey = %x, %+v, %v", got, opened, err, want, wantOpened, wantErr)
		}
		got, err = k.Open(nil, data, additionalData)
		if !bytes.Equal(got, want) || (got == nil) != (want == nil) || (err == nil) != (wantErr == nil) {
			t.Fatalf("Keyring.Open = %x, %v; Ring.OpenKey = %x, %v", got, err, want, wantErr)
		}
	})
}

// TestKeyOpens: a key counts the tickets it opens, not the failed attempts,
// under every ring that holds it.
func TestKeyOpens(t *testing.T) {
	keys := generateKeys(t, AES256GCM, 2)
	a, b := keys[0], keys[1]
	r1, err := NewRing(nil, a)
	if err != nil {
		t.Fatal(err)
	}
	r2, err := NewRing(nil, b, a)
	if err != nil {
		t.Fatal(err)
	}
	tk, err := r1.Seal(nil, []byte("state"), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range []*Ring{r1, r2, r2} {
		if _, err := r.Open(nil, tk, nil); err != nil {
			t.Fatal(err)
		}
	}
	bad := append([]byte(nil), tk...)
	bad[len(bad)-1] ^= 1
	if _, err := r1.Open(nil, bad, nil); err == nil {
		t.Fatal("a tampered ticket opened")
	}
	if a.Opens() != 3 || b.Opens() != 0 {
		t.Errorf("Opens: a %d, b %d; want 3 and 0", a.Opens(), b.Opens())
	}
}
