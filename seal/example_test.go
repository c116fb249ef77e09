package seal_test

import (
	"errors"
	"fmt"
	"log"
	"time"

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

func ExampleRotator() {
	// The clock is fixed for the example; a server leaves Time nil.
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	r, err := seal.NewRotator(seal.RotatorConfig{
		AEAD: seal.AES256GCM,
		Time: func() time.Time { return now },
	})
	if err != nil {
		log.Fatal(err)
	}
	// The server seals and opens with r.Keyring(), and runs r.Run(ctx)
	// (or r.Maintain() from its own timer) in the background.
	keyring := r.Keyring()
	ticket, err := keyring.Seal(nil, []byte("state"), nil)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("next change:", r.NextChange().Format(time.Kitchen))

	// Six hours later the key announced at 5:00 seals, and the first key
	// only opens: the engine renews its tickets.
	now = now.Add(seal.DefaultRotation)
	if err := r.Maintain(); err != nil {
		log.Fatal(err)
	}
	_, opened, err := keyring.OpenKey(nil, ticket, nil)
	fmt.Println(opened.Known, opened.Primary, err)

	// After its 12 decrypt-only hours the first key is retired.
	now = now.Add(seal.DefaultDecryptOnly)
	if err := r.Maintain(); err != nil {
		log.Fatal(err)
	}
	_, err = keyring.Open(nil, ticket, nil)
	fmt.Println(errors.Is(err, seal.ErrUnknownKey))

	// Output:
	// next change: 5:00AM
	// true false <nil>
	// true
}

func ExampleEpochSchedule() {
	// Every server of a fleet holds the same root secret (here a fixed
	// example value; use 32 bytes from crypto/rand) and derives the same
	// keys for the same hour.
	root := []byte("example root secret, not secret!")
	at := time.Date(2030, 1, 1, 12, 30, 0, 0, time.UTC)
	s, err := seal.EpochSchedule(root, seal.AES256GCM, time.Hour, 10*time.Minute, 2*time.Hour, at)
	if err != nil {
		log.Fatal(err)
	}
	ring, err := s.RingAt(at, nil)
	if err != nil {
		log.Fatal(err)
	}
	epoch, _ := seal.Epoch(at, time.Hour)
	key, _ := seal.EpochKey(root, seal.AES256GCM, epoch)
	fmt.Println(len(ring.Keys()), ring.Primary().Name() == key.Name())
	// Output: 3 true
}
