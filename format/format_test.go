package format

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/tlsticket/tlsticket/internal/testkit/rfc8448"
)

// h decodes hex written in parts, ignoring white space. It panics on bad
// hex, which is a bug in a test table.
func h(parts ...string) []byte {
	s := strings.Join(strings.Fields(strings.Join(parts, "")), "")
	b, err := hex.DecodeString(s)
	if err != nil {
		panic("format: internal error: bad hex in test table: " + err.Error())
	}
	return b
}

// rep returns n copies of the byte c.
func rep(c byte, n int) []byte {
	return bytes.Repeat([]byte{c}, n)
}

// hexBytes is a []byte that unmarshals from a JSON hex string.
type hexBytes []byte

func (b *hexBytes) UnmarshalJSON(data []byte) error {
	var s string
	if err := json.Unmarshal(data, &s); err != nil {
		return err
	}
	v, err := hex.DecodeString(s)
	*b = v
	return err
}

// rfc8448Vectors holds the parts of the RFC 8448 vectors that format uses.
type rfc8448Vectors struct {
	Section3 struct {
		ClientHello             hexBytes `json:"client_hello"`
		NewSessionTicketMessage hexBytes `json:"new_session_ticket_message"`
		Fields                  struct {
			HandshakeType    int      `json:"handshake_type"`
			BodyLength       int      `json:"body_length"`
			Lifetime         uint32   `json:"ticket_lifetime_seconds"`
			AgeAdd           uint32   `json:"ticket_age_add"`
			AgeAddHex        hexBytes `json:"ticket_age_add_hex"`
			Nonce            hexBytes `json:"ticket_nonce"`
			TicketLength     int      `json:"ticket_length"`
			Ticket           hexBytes `json:"ticket"`
			Extensions       hexBytes `json:"extensions"`
			EarlyDataType    int      `json:"early_data_extension_type"`
			EarlyDataMaxSize uint32   `json:"early_data_max_early_data_size"`
		} `json:"new_session_ticket_fields"`
	} `json:"section3_initial_handshake"`
	Section4 struct {
		ClientHello          hexBytes `json:"client_hello"`
		TruncatedClientHello hexBytes `json:"truncated_client_hello"`
		Binder               hexBytes `json:"binder"`
		PSK                  struct {
			Extension         hexBytes `json:"extension_hex"`
			ExtensionType     int      `json:"extension_type"`
			ExtensionLength   int      `json:"extension_length"`
			IdentitiesLength  int      `json:"identities_length"`
			IdentityCount     int      `json:"identity_count"`
			Identity0         hexBytes `json:"identity_0"`
			ObfuscatedAge0    uint32   `json:"identity_0_obfuscated_ticket_age"`
			BindersLength     int      `json:"binders_length"`
			Binder0           hexBytes `json:"binder_0"`
			IsLastExtension   bool     `json:"is_last_extension"`
			TruncationOffset  int      `json:"truncation_offset"`
			BytesRemovedCount int      `json:"bytes_removed_for_binder_hash"`
		} `json:"pre_shared_key_extension"`
	} `json:"section4_resumed_0rtt_handshake"`
}

// loadRFC8448 reads the RFC 8448 vectors of internal/testkit/rfc8448. It fails the test if the file is
// missing or incomplete, so that the vectors cannot silently stop running.
func loadRFC8448(t testing.TB) *rfc8448Vectors {
	t.Helper()
	v := new(rfc8448Vectors)
	rfc8448.Decode(t, v)
	if len(v.Section3.NewSessionTicketMessage) == 0 || len(v.Section4.ClientHello) == 0 {
		t.Fatal("RFC 8448 vectors: the file has no NewSessionTicket or ClientHello")
	}
	return v
}

// wireValue is a type with an encoding.
type wireValue interface {
	comparable
	Append(dst []byte) ([]byte, error)
}

// checkParse checks the fuzzing properties of one input: parse does not
// panic; on error it returns the zero value and an error wrapping
// ErrMalformed; on success Append reproduces in; and a few strict prefixes of
// an accepted input do not parse. prefixParses, if not nil, says which
// prefixes of v's encoding parse, for encodings that are not
// self-delimiting.
func checkParse[T wireValue](t *testing.T, in []byte, parse func([]byte) (T, error), prefixParses func(v T, n int) bool) {
	t.Helper()
	var zero T
	v, err := parse(in)
	if err != nil {
		if v != zero {
			t.Fatalf("parse failed (%v) but returned a value", err)
		}
		if !errors.Is(err, ErrMalformed) {
			t.Fatalf("parse error %v does not wrap ErrMalformed", err)
		}
		return
	}
	out, err := v.Append([]byte("dst"))
	if err != nil {
		t.Fatalf("Append of a parsed value: %v", err)
	}
	if !bytes.Equal(out[3:], in) || string(out[:3]) != "dst" {
		t.Fatalf("round trip:\n got %x\nwant dst‖%x", out, in)
	}
	for _, n := range []int{len(in) - 1, len(in) / 2} {
		if n < 0 || n >= len(in) {
			continue
		}
		_, err := parse(in[:n])
		want := prefixParses != nil && prefixParses(v, n)
		if got := err == nil; got != want {
			t.Fatalf("prefix of %d of %d bytes: parsed = %t, want %t", n, len(in), got, want)
		}
	}
}

// checkAppendError checks that Append failed with an error wrapping want,
// and returned no bytes.
func checkAppendError(t *testing.T, out []byte, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("Append error = %v, want %v", err, want)
	}
	if out != nil {
		t.Fatalf("Append returned %d bytes with an error", len(out))
	}
}

// checkRejectsPrefixes checks that no strict prefix of a valid encoding
// parses, as crypto/tls does for its handshake messages.
func checkRejectsPrefixes(t *testing.T, in []byte, parse func([]byte) error) {
	t.Helper()
	for n := range len(in) {
		if err := parse(in[:n]); err == nil {
			t.Fatalf("the prefix of %d of %d bytes parsed: %x", n, len(in), in[:min(n, 64)])
		} else if !errors.Is(err, ErrMalformed) {
			t.Fatalf("prefix of %d bytes: error %v does not wrap ErrMalformed", n, err)
		}
	}
}

func TestRejectsPrefixes(t *testing.T) {
	tests := []struct {
		name  string
		valid [][]byte
		parse func([]byte) error
	}{
		{"State", stateEncodings(t), func(b []byte) error { _, err := ParseState(b); return err }},
		{"NewSessionTicketTLS12", nst12Encodings(), func(b []byte) error { _, err := ParseNewSessionTicketTLS12(b); return err }},
		{"NewSessionTicketTLS13", nst13Encodings(t), func(b []byte) error { _, err := ParseNewSessionTicketTLS13(b); return err }},
		{"SessionTicketExtension", sessionTicketExtEncodings(), func(b []byte) error { _, err := ParseSessionTicketExtension(b); return err }},
		{"OfferedPSKs", offeredPSKsEncodings(t), func(b []byte) error { _, err := ParseOfferedPSKs(b); return err }},
		{"PSKKeyExchangeModes", pskModesEncodings(), func(b []byte) error { _, err := ParsePSKKeyExchangeModes(b); return err }},
		{"TicketRequest", ticketRequestEncodings(), func(b []byte) error { _, err := ParseTicketRequest(b); return err }},
		{"ServerTicketRequestHint", ticketRequestHintEncodings(), func(b []byte) error { _, err := ParseServerTicketRequestHint(b); return err }},
		{"ClientHello", clientHelloEncodings(t), func(b []byte) error { _, err := ParseClientHelloExtensions(b); return err }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if len(tt.valid) == 0 {
				t.Fatal("no valid encodings")
			}
			for _, in := range tt.valid {
				checkRejectsPrefixes(t, in, tt.parse)
			}
		})
	}
}

func TestExtensionTypeString(t *testing.T) {
	tests := []struct {
		typ  ExtensionType
		want string
	}{
		{ExtensionSessionTicket, "session_ticket"},
		{ExtensionPreSharedKey, "pre_shared_key"},
		{ExtensionEarlyData, "early_data"},
		{ExtensionPSKKeyExchangeModes, "psk_key_exchange_modes"},
		{ExtensionTicketRequest, "ticket_request"},
		{ExtensionType(0), "ExtensionType(0)"},
		{ExtensionType(65535), "ExtensionType(65535)"},
	}
	for _, tt := range tests {
		if got := tt.typ.String(); got != tt.want {
			t.Errorf("ExtensionType(%d).String() = %q, want %q", uint16(tt.typ), got, tt.want)
		}
	}
	if got := HandshakeNewSessionTicket.String(); got != "new_session_ticket" {
		t.Errorf("HandshakeNewSessionTicket.String() = %q", got)
	}
	if got := HandshakeType(99).String(); got != "HandshakeType(99)" {
		t.Errorf("HandshakeType(99).String() = %q", got)
	}
}

func TestMaxTicketLifetime(t *testing.T) {
	if got := MaxTicketLifetime.Seconds(); got != 604800 || maxLifetimeSeconds != 604800 {
		t.Errorf("MaxTicketLifetime = %v s (%d), want 604800 s", got, maxLifetimeSeconds)
	}
}

// TestTicketOffset: TicketOffset says where Append writes the ticket.
func TestTicketOffset(t *testing.T) {
	ticket := []byte("the sealed ticket bytes")
	m12 := &NewSessionTicketTLS12{LifetimeHint: 7200, Ticket: ticket}
	b12, err := m12.Append(nil)
	if err != nil || !bytes.Equal(b12[m12.TicketOffset():m12.TicketOffset()+len(ticket)], ticket) {
		t.Errorf("TLS 1.2: %x, %v", b12, err)
	}
	for _, nonce := range [][]byte{nil, {0}, make([]byte, 255)} {
		m13 := &NewSessionTicketTLS13{Lifetime: 7200, AgeAdd: 1, Nonce: nonce, Ticket: ticket, Extensions: []Extension{EarlyDataExtension(1)}}
		b13, err := m13.Append(nil)
		if err != nil || !bytes.Equal(b13[m13.TicketOffset():m13.TicketOffset()+len(ticket)], ticket) {
			t.Errorf("TLS 1.3 with a %d-byte nonce: %x, %v", len(nonce), b13, err)
		}
	}
}

// TestTicketInPlace: a ticket that already lies at TicketOffset in Append's
// dst, as an encoder that seals into the message's buffer leaves it, gives
// the same message as a ticket elsewhere, in the same buffer, without a
// copy; a ticket past that point in dst's spare capacity is moved there.
func TestTicketInPlace(t *testing.T) {
	ticket := []byte("the sealed ticket bytes")
	type message interface {
		Append([]byte) ([]byte, error)
		TicketOffset() int
	}
	m12 := &NewSessionTicketTLS12{LifetimeHint: 7200}
	m13 := &NewSessionTicketTLS13{Lifetime: 7200, AgeAdd: 1, Nonce: []byte{7}, Extensions: []Extension{EarlyDataExtension(1)}}
	for _, tt := range []struct {
		m      message
		ticket *[]byte
	}{{m12, &m12.Ticket}, {m13, &m13.Ticket}} {
		*tt.ticket = ticket
		want, err := tt.m.Append(nil)
		if err != nil {
			t.Fatal(err)
		}
		off := tt.m.TicketOffset()
		for _, at := range []int{off, off + 1, off + 8} {
			buf := make([]byte, 0, len(want)+8)
			*tt.ticket = buf[at : at+copy(buf[at:cap(buf)], ticket)]
			got, err := tt.m.Append(buf)
			if err != nil || !bytes.Equal(got, want) || &got[0] != &buf[:1][0] {
				t.Errorf("%T, ticket at %d: %x, %v; want %x in the same buffer", tt.m, at, got, err, want)
			}
		}
	}
}
