package format_test

import (
	"fmt"
	"time"

	"github.com/tlsticket/tlsticket/format"
)

func ExampleNewSessionTicketTLS13() {
	m := &format.NewSessionTicketTLS13{
		Lifetime:   3600,
		AgeAdd:     0xfad6aac5,
		Nonce:      []byte{0, 0},
		Ticket:     []byte("opaque ticket"),
		Extensions: []format.Extension{format.EarlyDataExtension(16384)},
	}
	msg, err := m.Append(nil)
	if err != nil {
		panic(err)
	}
	fmt.Printf("%x\n", msg)

	parsed, err := format.ParseNewSessionTicketTLS13(msg)
	if err != nil {
		panic(err)
	}
	size, ok := parsed.MaxEarlyData()
	fmt.Println(parsed.Lifetime, string(parsed.Ticket), size, ok)
	// Output:
	// 0400002400000e10fad6aac5020000000d6f7061717565207469636b65740008002a000400004000
	// 3600 opaque ticket 16384 true
}

func ExampleState() {
	st := &format.State{
		Version:     format.VersionTLS13,
		CipherSuite: 0x1301,
		Secret:      make([]byte, 32),
		CreatedAt:   time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC),
		Lifetime:    7200,
		ServerName:  "example.com",
		AppData:     []byte("user=42"),
	}
	plaintext, err := st.Append(nil)
	if err != nil {
		panic(err)
	}
	parsed, err := format.ParseState(plaintext)
	if err != nil {
		panic(err)
	}
	fmt.Println(len(plaintext), parsed.Expires().Format(time.RFC3339))
	// Printing a State never shows Secret, AppData or Embedded.
	fmt.Printf("%v\n", parsed)
	// Output:
	// 88 2025-01-02T05:04:05Z
	// format.State{Version:0x0304 CipherSuite:0x1301 Secret:[REDACTED 32 bytes] CreatedAt:2025-01-02T03:04:05Z Lifetime:7200 AgeAdd:0 MaxEarlyData:0 ExtendedMasterSecret:false ServerName:"example.com" ALPN:"" Binding: PeerCertificates:[0 certificates, 0 bytes] AppData:[REDACTED 7 bytes] Embedded:[REDACTED 0 bytes] AuthenticatedAt:0}
}
