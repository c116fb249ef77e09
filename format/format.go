// Package format implements the wire encodings used by tlsticket: the session
// state plaintext that a ticket carries, and the TLS messages and extensions
// that move tickets between peers. The sealed ticket container around the
// state belongs to the seal package, which owns its AEAD, nonce and
// additional data.
//
// # Specifications
//
// The encodings follow these documents:
//
//   - [State]: docs/spec/ticket-format.md in this module.
//   - [NewSessionTicketTLS12] and [SessionTicketExtension]: RFC 5077,
//     Sections 3.2 and 3.3.
//   - [NewSessionTicketTLS13]: RFC 8446, Section 4.6.1.
//   - [OfferedPSKs], [PSKKeyExchangeModes] and [ParseClientHelloExtensions]:
//     RFC 8446, Sections 4.2.9 to 4.2.11.
//   - [TicketRequest] and [ServerTicketRequestHint]: RFC 9149, Section 3.
//
// The format package does no cryptography. It only turns bytes into values
// and values into bytes.
//
// # Strictness
//
// Every encoding has exactly one byte form. A Parse function accepts only
// that form, so parsing an input and appending the result reproduces the
// input byte for byte. Parsers reject trailing bytes. They also reject
// every strict prefix of a valid encoding. A parser that fails returns a
// nil value and an error that wraps [ErrMalformed]. The error gives no
// field-level detail, because the input may hold secrets.
//
// Append methods check every length before they write. A value with no
// encoding makes Append return an error that wraps [ErrFieldTooLarge] or
// [ErrMalformed]. Append never panics.
//
// # Aliasing
//
// Parsed values share memory with the input: their byte slices point into
// it. Copy the input, or the fields, before the input buffer is reused.
package format

import (
	"errors"
	"fmt"
	"strconv"
	"time"

	"golang.org/x/crypto/cryptobyte"
)

// Errors returned by this package. Callers test for them with [errors.Is].
var (
	// ErrMalformed reports an encoding that does not parse, or a value that
	// has no valid encoding (for example an empty ticket).
	ErrMalformed = errors.New("format: malformed encoding")

	// ErrFieldTooLarge reports a value with a field too long for its length
	// prefix.
	ErrFieldTooLarge = errors.New("format: field too large to encode")

	// ErrPSKNotLast reports a ClientHello whose pre_shared_key extension is
	// not the last extension. RFC 8446, Section 4.2.11 requires servers to
	// abort the handshake with an illegal_parameter alert.
	ErrPSKNotLast = errors.New("format: pre_shared_key is not the last extension")
)

// ExtensionType is a TLS extension codepoint (RFC 8446, Section 4.2).
type ExtensionType uint16

// Extension codepoints used by session resumption.
const (
	ExtensionSessionTicket       ExtensionType = 35 // RFC 5077, Section 3.2
	ExtensionPreSharedKey        ExtensionType = 41 // RFC 8446, Section 4.2
	ExtensionEarlyData           ExtensionType = 42 // RFC 8446, Section 4.2
	ExtensionPSKKeyExchangeModes ExtensionType = 45 // RFC 8446, Section 4.2
	ExtensionTicketRequest       ExtensionType = 58 // RFC 9149, Section 3
)

// String returns the name of the extension as the RFC spells it, such as
// "pre_shared_key", or "ExtensionType(n)" for other codepoints.
func (t ExtensionType) String() string {
	switch t {
	case ExtensionSessionTicket:
		return "session_ticket"
	case ExtensionPreSharedKey:
		return "pre_shared_key"
	case ExtensionEarlyData:
		return "early_data"
	case ExtensionPSKKeyExchangeModes:
		return "psk_key_exchange_modes"
	case ExtensionTicketRequest:
		return "ticket_request"
	}
	return "ExtensionType(" + strconv.FormatUint(uint64(t), 10) + ")"
}

// HandshakeType is a TLS handshake message type (RFC 8446, Section 4).
type HandshakeType uint8

// Handshake message types parsed by this package.
const (
	HandshakeClientHello      HandshakeType = 1 // RFC 8446, Section 4
	HandshakeNewSessionTicket HandshakeType = 4 // RFC 8446, Section 4; RFC 5077, Section 3.3
)

// String returns the name of the message type, such as "new_session_ticket",
// or "HandshakeType(n)" for other types.
func (t HandshakeType) String() string {
	switch t {
	case HandshakeClientHello:
		return "client_hello"
	case HandshakeNewSessionTicket:
		return "new_session_ticket"
	}
	return "HandshakeType(" + strconv.FormatUint(uint64(t), 10) + ")"
}

// Protocol versions that a [State] may record (RFC 8446, Section 4.1.2).
const (
	VersionTLS12 uint16 = 0x0303
	VersionTLS13 uint16 = 0x0304
)

// MaxTicketLifetime is the largest ticket_lifetime that a TLS 1.3 server may
// send, and the longest a client may keep a ticket: 604800 seconds, seven
// days (RFC 8446, Section 4.6.1). It is the one name of that limit in this
// module.
const MaxTicketLifetime = 7 * 24 * time.Hour

// maxLifetimeSeconds is [MaxTicketLifetime] in the unit of ticket_lifetime.
const maxLifetimeSeconds = uint32(MaxTicketLifetime / time.Second)

// Extension is one TLS extension: its codepoint and its extension_data.
//
//	struct {
//	    ExtensionType extension_type;
//	    opaque extension_data<0..2^16-1>;
//	} Extension;
type Extension struct {
	Type ExtensionType
	Data []byte
}

// Limits of the TLS presentation language length prefixes.
const (
	maxUint8  = 1<<8 - 1
	maxUint16 = 1<<16 - 1
	maxUint24 = 1<<24 - 1
)

// malformed returns the opaque parse error for structure.
func malformed(structure string) error {
	return fmt.Errorf("format: %s: %w", structure, ErrMalformed)
}

// invalid returns the error for a value whose field has no valid encoding.
// Encoder errors may name the field: they describe the caller's own value.
func invalid(structure, field string) error {
	return fmt.Errorf("format: %s: invalid %s: %w", structure, field, ErrMalformed)
}

// tooLarge returns the error for a field too long for its length prefix.
func tooLarge(structure, field string) error {
	return fmt.Errorf("format: %s: %s: %w", structure, field, ErrFieldTooLarge)
}

// readUint8LengthPrefixed acts like s.ReadUint8LengthPrefixed, but targets a
// []byte instead of a cryptobyte.String.
func readUint8LengthPrefixed(s *cryptobyte.String, out *[]byte) bool {
	return s.ReadUint8LengthPrefixed((*cryptobyte.String)(out))
}

// readUint16LengthPrefixed acts like s.ReadUint16LengthPrefixed, but targets a
// []byte instead of a cryptobyte.String.
func readUint16LengthPrefixed(s *cryptobyte.String, out *[]byte) bool {
	return s.ReadUint16LengthPrefixed((*cryptobyte.String)(out))
}

// readUint24LengthPrefixed acts like s.ReadUint24LengthPrefixed, but targets a
// []byte instead of a cryptobyte.String.
func readUint24LengthPrefixed(s *cryptobyte.String, out *[]byte) bool {
	return s.ReadUint24LengthPrefixed((*cryptobyte.String)(out))
}

// appendInPlace appends p to b. When p already lies where it would go, in
// b's spare capacity (an encoder that builds a message around a ticket
// sealed into the message's own buffer leaves it there), it extends b over
// p without copying it onto itself.
func appendInPlace(b, p []byte) []byte {
	if len(p) > 0 && cap(b)-len(b) >= len(p) && &b[:len(b)+1][len(b)] == &p[0] {
		return b[:len(b)+len(p)]
	}
	return append(b, p...)
}

// appendUint24 appends n as a 24-bit big-endian length; n must fit.
func appendUint24(b []byte, n int) []byte {
	return append(b, byte(n>>16), byte(n>>8), byte(n))
}

// extensionSet records which extension types a list has shown, without
// allocating, so that duplicates are found in linear time.
type extensionSet [1 << 16 / 64]uint64

// add records t and reports whether t was new.
func (s *extensionSet) add(t ExtensionType) bool {
	word, bit := t/64, uint64(1)<<(t%64)
	if s[word]&bit != 0 {
		return false
	}
	s[word] |= bit
	return true
}

// readExtensions parses an extension list body into exts, in wire order. It
// rejects duplicate types. The data slices alias s.
func readExtensions(s cryptobyte.String, exts *[]Extension) bool {
	var seen extensionSet
	for !s.Empty() {
		var typ uint16
		var data []byte
		if !s.ReadUint16(&typ) || !readUint16LengthPrefixed(&s, &data) ||
			!seen.add(ExtensionType(typ)) {
			return false
		}
		*exts = append(*exts, Extension{Type: ExtensionType(typ), Data: data})
	}
	return true
}

// extensionsLen returns the encoded length of exts, or an error if an
// extension is too long or a type repeats.
func extensionsLen(structure string, exts []Extension) (int, error) {
	n := 0
	for i, e := range exts {
		if len(e.Data) > maxUint16 {
			return 0, tooLarge(structure, "extension_data")
		}
		n += 4 + len(e.Data)
		if len(exts) > shortExtensionList {
			continue
		}
		for _, prev := range exts[:i] {
			if prev.Type == e.Type {
				return 0, invalid(structure, "extensions (duplicate "+e.Type.String()+")")
			}
		}
	}
	if len(exts) > shortExtensionList {
		var seen extensionSet
		for _, e := range exts {
			if !seen.add(e.Type) {
				return 0, invalid(structure, "extensions (duplicate "+e.Type.String()+")")
			}
		}
	}
	return n, nil
}

// shortExtensionList is the length up to which extensionsLen looks for
// duplicates pairwise: an encoder runs for every ticket, and clearing an
// 8 KiB extensionSet costs more than a few comparisons.
const shortExtensionList = 16
