package seal

import (
	"crypto/rand"
	"errors"
	"strings"
	"testing"
)

// aeads lists the supported AEADs in identifier order, from the AEAD table.
var aeads = func() (l []AEAD) {
	for a := AEAD(1); a.valid(); a++ {
		l = append(l, a)
	}
	return l
}()

// seqReader is a deterministic random source for tests: it returns next,
// next+1, next+2, … modulo 256. It is not safe for concurrent use.
type seqReader struct{ next byte }

func (r *seqReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = r.next
		r.next++
	}
	return len(p), nil
}

// failReader is a random source that always fails.
type failReader struct{}

var errRandFailed = errors.New("test: rand failed")

func (failReader) Read(p []byte) (int, error) { return 0, errRandFailed }

// aeadName returns a's name without dashes, as used in test and benchmark
// names.
func aeadName(a AEAD) string {
	return strings.ReplaceAll(a.String(), "-", "")
}

// generateKeys returns n fresh keys for a.
func generateKeys(t testing.TB, a AEAD, n int) []*Key {
	t.Helper()
	keys := make([]*Key, n)
	for i := range keys {
		k, err := GenerateKey(a, nil)
		if err != nil {
			t.Fatalf("GenerateKey(%v): %v", a, err)
		}
		keys[i] = k
	}
	return keys
}

// newTestRing returns a ring of n fresh keys for a, with crypto/rand nonces.
func newTestRing(t testing.TB, a AEAD, n int) *Ring {
	t.Helper()
	keys := generateKeys(t, a, n)
	r, err := NewRing(nil, keys[0], keys[1:]...)
	if err != nil {
		t.Fatalf("NewRing: %v", err)
	}
	return r
}

// mustSeal seals plaintext under r and fails the test on error.
func mustSeal(t testing.TB, r *Ring, plaintext, additionalData []byte) []byte {
	t.Helper()
	ticket, err := r.Seal(nil, plaintext, additionalData)
	if err != nil {
		t.Fatalf("Seal: %v", err)
	}
	return ticket
}

// testPlaintext returns n bytes of random plaintext.
func testPlaintext(t testing.TB, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	rand.Read(b)
	return b
}

// checkOpenFails checks that ticket does not open under r, that the result
// is nil, and that the error is want (or, if want is nil, one of the
// package's open errors).
func checkOpenFails(t testing.TB, r *Ring, ticket, additionalData []byte, want error) {
	t.Helper()
	got, err := r.Open(nil, ticket, additionalData)
	if err == nil {
		t.Fatalf("Open(%x) succeeded with plaintext %x, want error", ticket, got)
	}
	if got != nil {
		t.Errorf("Open(%x) returned %x with error %v, want nil", ticket, got, err)
	}
	if want != nil && !errors.Is(err, want) {
		t.Errorf("Open(%x) error = %v, want %v", ticket, err, want)
	}
	if want == nil && !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrUnknownKey) && !errors.Is(err, ErrAuth) {
		t.Errorf("Open(%x) error = %v, want ErrMalformed, ErrUnknownKey or ErrAuth", ticket, err)
	}
}

// checkPanics checks that f panics with the message want.
func checkPanics(t *testing.T, want string, f func()) {
	t.Helper()
	defer func() {
		t.Helper()
		r := recover()
		if r == nil {
			t.Fatalf("no panic, want %q", want)
		}
		msg, ok := r.(string)
		if !ok {
			t.Fatalf("panic value %#v (%T), want string %q", r, r, want)
		}
		if msg != want {
			t.Errorf("panic %q, want %q", msg, want)
		}
		if !strings.HasPrefix(msg, "seal: internal error: ") {
			t.Errorf("panic %q lacks the \"seal: internal error: \" prefix", msg)
		}
	}()
	f()
}

// tagOverhead is the fixed part of a ticket's size for a.
func tagOverhead(a AEAD) int {
	return HeaderSize + a.NonceSize() + a.Overhead()
}
