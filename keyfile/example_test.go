package keyfile_test

import (
	"bytes"
	"fmt"
	"log"
	"time"

	"github.com/tlsticket/tlsticket/keyfile"
	"github.com/tlsticket/tlsticket/seal"
)

func Example() {
	// A key management job generates the next keys of a fleet and writes
	// them to a file that every server reads.
	start := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	var entries []keyfile.KeyEntry
	for i := range 3 {
		activate := start.Add(time.Duration(i) * seal.DefaultRotation)
		e, err := keyfile.GenerateEntry(seal.AES256GCM, seal.Phases{
			Announce:    activate.Add(-seal.DefaultAnnounce),
			Activate:    activate,
			DecryptOnly: activate.Add(seal.DefaultRotation),
			Retire:      activate.Add(seal.DefaultRotation + seal.DefaultDecryptOnly),
		}, nil)
		if err != nil {
			log.Fatal(err)
		}
		entries = append(entries, e)
	}
	var file bytes.Buffer
	if err := keyfile.Write(&file, entries); err != nil {
		log.Fatal(err)
	}
	for i := range entries {
		entries[i].Clear()
	}

	// A server parses the file and builds the ring of the current time.
	s, err := keyfile.Parse(&file)
	if err != nil {
		log.Fatal(err)
	}
	ring, err := s.RingAt(start.Add(5*time.Hour), nil)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(len(s.Keys()), "keys,", len(ring.Keys()), "in the ring at 5:00")
	fmt.Println(entries[0])
	// Output:
	// 3 keys, 2 in the ring at 5:00
	// keyfile.KeyEntry{AES-256-GCM secret:REDACTED announce=2029-12-31T23:00:00Z activate=2030-01-01T00:00:00Z decrypt-only=2030-01-01T06:00:00Z retire=2030-01-01T18:00:00Z}
}
