package resumption_test

import (
	"context"
	"crypto"
	"fmt"
	"time"

	"github.com/tlsticket/tlsticket/resumption"
)

// The ticket age of the resumed handshake in RFC 8448, Section 4.
func ExampleTicketAge() {
	const (
		ticketAgeAdd        = 0xfad6aac5 // from the NewSessionTicket
		obfuscatedTicketAge = 0xfad6aacb // from the pre_shared_key extension
	)
	age := resumption.TicketAge(obfuscatedTicketAge, ticketAgeAdd)
	fmt.Printf("client ticket age: %d ms\n", age)

	issued := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	arrival := issued.Add(40 * time.Millisecond)
	fmt.Println("fresh:", resumption.Fresh(issued, age, arrival, resumption.DefaultFreshnessWindow))
	// Output:
	// client ticket age: 6 ms
	// fresh: true
}

// A server checks the binder of the PSK it selected, then records it to
// accept 0-RTT at most once (RFC 8446, Sections 4.2.11.2 and 8.2).
func ExampleMemoryStore() {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	store := resumption.NewMemoryStore(resumption.MemoryStoreConfig{
		Time: func() time.Time { return now },
	})
	now = now.Add(resumption.DefaultFreshnessWindow) // past the startup window

	psk, _ := resumption.NewPSK(crypto.SHA256, make([]byte, 32)) // from the ticket
	binderKey := psk.EarlySecret().ResumptionBinderKey()
	transcript := resumption.TranscriptHash(crypto.SHA256, []byte("truncated ClientHello"))
	binder := binderKey.Binder(nil, transcript) // as received

	if !binderKey.VerifyBinder(transcript, binder) {
		fmt.Println("abort: bad binder")
		return
	}
	// Keep the record until no server of the fleet, its clock within a
	// minute of true time, can find this ClientHello fresh.
	expected := now // resumption.ExpectedArrival(created, resumption.TicketAge(...))
	ttl := resumption.ReplayTTL(expected, now, resumption.DefaultFreshnessWindow, time.Minute)
	for range 2 {
		fresh, err := store.CheckAndStore(context.Background(), binder, ttl)
		fmt.Println("accept 0-RTT:", fresh && err == nil)
	}
	// Output:
	// accept 0-RTT: true
	// accept 0-RTT: false
}
