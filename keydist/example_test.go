package keydist_test

import (
	"fmt"
	"log"
	"time"

	"github.com/tlsticket/tlsticket/keydist"
	"github.com/tlsticket/tlsticket/keyfile"
	"github.com/tlsticket/tlsticket/seal"
)

func Example() {
	// Once: the publisher and each member make their key pairs; the
	// member's public key goes to the publisher, the publisher's public key
	// to every member, with their configuration.
	publisher, err := keydist.GeneratePublisherKey(nil)
	if err != nil {
		log.Fatal(err)
	}
	memberKey, err := keydist.GenerateMemberKey(nil)
	if err != nil {
		log.Fatal(err)
	}
	member, err := keydist.NewMember(keydist.MemberConfig{
		Fleet:     "edge",
		Key:       memberKey,
		Publisher: publisher.Public(),
	})
	if err != nil {
		log.Fatal(err)
	}
	// The member is the key source of the server's rotation loop, whose
	// Keyring goes to the engine; rot.Run(ctx) runs in the background.
	rot, err := seal.NewSourceRotator(member, seal.RotatorConfig{})
	if err != nil {
		log.Fatal(err)
	}

	// Each publication: the schedule, a new epoch, sealed to each member.
	now := time.Now()
	key, err := keyfile.GenerateEntry(seal.AES256GCM, seal.Phases{
		Announce:    now,
		Activate:    now,
		DecryptOnly: now.Add(seal.DefaultRotation),
		Retire:      now.Add(seal.DefaultRotation + seal.DefaultDecryptOnly),
	}, nil)
	if err != nil {
		log.Fatal(err)
	}
	k, err := key.Key()
	if err != nil {
		log.Fatal(err)
	}
	bundle := &keydist.Bundle{Fleet: "edge", Epoch: 1, Keys: []keyfile.KeyEntry{key}}
	sealed, err := keydist.Seal(bundle, memberKey.Public(), publisher, nil)
	bundle.Clear()
	if err != nil {
		log.Fatal(err)
	}

	// The member installs it and notifies the loop, which seals with its
	// key from then on (Run does this at once).
	if err := member.Install(sealed); err != nil {
		log.Fatal(err)
	}
	if err := rot.Maintain(); err != nil {
		log.Fatal(err)
	}
	fmt.Println("epoch", member.Epoch(), "sealing with the bundle's key:", rot.Keyring().Load().Primary().Name() == k.Name())

	// The same bundle again is a replay.
	fmt.Println(member.Install(sealed) != nil)
	// Output:
	// epoch 1 sealing with the bundle's key: true
	// true
}
