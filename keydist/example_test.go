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
	bundle := &keydist.Bundle{Fleet: "edge", Epoch: 1, Keys: []keyfile.KeyEntry{key}}
	sealed, err := keydist.Seal(bundle, memberKey.Public(), publisher, nil)
	bundle.Clear()
	if err != nil {
		log.Fatal(err)
	}

	// The member installs it; its Keyring goes to the engine.
	if err := member.Install(sealed, now); err != nil {
		log.Fatal(err)
	}
	fmt.Println("epoch", member.Epoch())

	// The same bundle again is a replay.
	fmt.Println(member.Install(sealed, now) != nil)
	// Output:
	// epoch 1
	// true
}
