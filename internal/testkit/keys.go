package testkit

import (
	"crypto/sha256"
	"testing"

	"github.com/tlsticket/tlsticket/seal"
)

// Key returns a deterministic ticket key of AEAD a derived from label, for
// tests: the same label always gives the same key, different labels
// unrelated keys.
func Key(tb testing.TB, a seal.AEAD, label string) *seal.Key {
	tb.Helper()
	sum := KeySecret(label)
	k, err := seal.NewKey(a, sum[:a.KeySize()])
	if err != nil {
		tb.Fatal(err)
	}
	return k
}

// KeySecret returns the secret that Key derives from label (the first
// a.KeySize() bytes are used), for tests that look for it in output.
func KeySecret(label string) [32]byte {
	return sha256.Sum256([]byte("tlsticket test key " + label))
}

// Ring returns a ring of primary and decrypt-only keys, with crypto/rand
// nonces.
func Ring(tb testing.TB, primary *seal.Key, decryptOnly ...*seal.Key) *seal.Ring {
	tb.Helper()
	r, err := seal.NewRing(nil, primary, decryptOnly...)
	if err != nil {
		tb.Fatal(err)
	}
	return r
}
