package seal_test

import (
	"errors"
	"fmt"
	"log"

	"github.com/tlsticket/tlsticket/seal"
)

func Example() {
	// A server makes a key ring and keeps it in a Keyring.
	primary, err := seal.GenerateKey(seal.AES256GCM, nil)
	if err != nil {
		log.Fatal(err)
	}
	ring, err := seal.NewRing(nil, primary)
	if err != nil {
		log.Fatal(err)
	}
	keyring := seal.NewKeyring(ring)

	// It seals a session state into a ticket.
	state := []byte("serialized session state")
	ticket, err := keyring.Seal(nil, state, nil)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("ticket length:", len(ticket), "=", 18, "+", seal.AES256GCM.NonceSize(), "+", len(state), "+", seal.AES256GCM.Overhead())

	// Daily, it rotates to a new primary key and keeps the old one for
	// decryption only.
	next, err := seal.GenerateKey(seal.AES256GCM, nil)
	if err != nil {
		log.Fatal(err)
	}
	rotated, err := keyring.Load().Rotate(next, 1)
	if err != nil {
		log.Fatal(err)
	}
	keyring.Store(rotated)

	// The old ticket still opens, under a decrypt-only key: a server may
	// issue a fresh ticket.
	plaintext, opened, err := keyring.OpenKey(nil, ticket, nil)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(string(plaintext), opened.Known, opened.Primary)

	// After one more rotation the first key is gone.
	third, err := seal.GenerateKey(seal.AES256GCM, nil)
	if err != nil {
		log.Fatal(err)
	}
	rotated, err = keyring.Load().Rotate(third, 1)
	if err != nil {
		log.Fatal(err)
	}
	keyring.Store(rotated)
	_, err = keyring.Open(nil, ticket, nil)
	fmt.Println(errors.Is(err, seal.ErrUnknownKey))

	// Output:
	// ticket length: 70 = 18 + 12 + 24 + 16
	// serialized session state true false
	// true
}

func ExampleParseAEAD() {
	a, err := seal.ParseAEAD("XChaCha20-Poly1305")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(a, a.KeySize(), a.NonceSize(), a.Overhead())
	// Output: XChaCha20-Poly1305 32 24 16
}
