// Package testkit builds TLS messages for tests: a ClientHello that offers
// tickets, with the extensions tlsticket reads. It is not a TLS client.
package testkit

import (
	"golang.org/x/crypto/cryptobyte"

	"github.com/tlsticket/tlsticket/format"
)

// ClientHello describes a TLS 1.3 ClientHello. The zero value builds a
// minimal valid one offering TLS_AES_128_GCM_SHA256.
type ClientHello struct {
	Random       [32]byte
	SessionID    []byte
	CipherSuites []uint16
	ServerName   string
	ALPN         []string
	// Modes, if not nil, is sent as psk_key_exchange_modes.
	Modes []format.PSKMode
	// EarlyData sends an empty early_data extension.
	EarlyData bool
	// TicketRequest, if not nil, is sent as ticket_request (RFC 9149).
	TicketRequest *format.TicketRequest
	// PSKs, if not nil, is sent as pre_shared_key, last unless PSKNotLast.
	PSKs       *format.OfferedPSKs
	PSKNotLast bool
	// RawPSK, if not nil, is sent as the pre_shared_key body as it is,
	// last, in place of PSKs: for bodies that break the grammar.
	RawPSK []byte
}

// Marshal returns the ClientHello handshake message, header included.
func (c *ClientHello) Marshal() ([]byte, error) {
	suites := c.CipherSuites
	if len(suites) == 0 {
		suites = []uint16{0x1301}
	}
	var b cryptobyte.Builder
	b.AddUint8(1) // client_hello
	b.AddUint24LengthPrefixed(func(b *cryptobyte.Builder) {
		b.AddUint16(0x0303)
		b.AddBytes(c.Random[:])
		b.AddUint8LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(c.SessionID) })
		b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) {
			for _, s := range suites {
				b.AddUint16(s)
			}
		})
		b.AddUint8LengthPrefixed(func(b *cryptobyte.Builder) { b.AddUint8(0) })
		b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) { c.addExtensions(b) })
	})
	return b.Bytes()
}

func ext(b *cryptobyte.Builder, typ uint16, body func(b *cryptobyte.Builder)) {
	b.AddUint16(typ)
	b.AddUint16LengthPrefixed(body)
}

func (c *ClientHello) addExtensions(b *cryptobyte.Builder) {
	if c.ServerName != "" {
		ext(b, 0, func(b *cryptobyte.Builder) {
			b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) {
				b.AddUint8(0) // host_name
				b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes([]byte(c.ServerName)) })
			})
		})
	}
	if len(c.ALPN) > 0 {
		ext(b, 16, func(b *cryptobyte.Builder) {
			b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) {
				for _, p := range c.ALPN {
					b.AddUint8LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes([]byte(p)) })
				}
			})
		})
	}
	ext(b, 43, func(b *cryptobyte.Builder) { // supported_versions
		b.AddUint8LengthPrefixed(func(b *cryptobyte.Builder) { b.AddUint16(0x0304) })
	})
	ext(b, 51, func(b *cryptobyte.Builder) { // key_share: x25519, a fixed share
		b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) {
			b.AddUint16(0x001d)
			b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(make([]byte, 32)) })
		})
	})
	if c.Modes != nil {
		ext(b, uint16(format.ExtensionPSKKeyExchangeModes), func(b *cryptobyte.Builder) {
			b.AddUint8LengthPrefixed(func(b *cryptobyte.Builder) {
				for _, m := range c.Modes {
					b.AddUint8(uint8(m))
				}
			})
		})
	}
	if c.EarlyData {
		ext(b, uint16(format.ExtensionEarlyData), func(*cryptobyte.Builder) {})
	}
	if c.TicketRequest != nil {
		ext(b, uint16(format.ExtensionTicketRequest), func(b *cryptobyte.Builder) {
			b.AddUint8(c.TicketRequest.NewSessionCount)
			b.AddUint8(c.TicketRequest.ResumptionCount)
		})
	}
	if c.RawPSK != nil {
		ext(b, uint16(format.ExtensionPreSharedKey), func(b *cryptobyte.Builder) { b.AddBytes(c.RawPSK) })
	}
	if c.PSKs != nil && c.RawPSK == nil {
		body, err := c.PSKs.Append(nil)
		if err != nil {
			b.SetError(err)
			return
		}
		ext(b, uint16(format.ExtensionPreSharedKey), func(b *cryptobyte.Builder) { b.AddBytes(body) })
		if c.PSKNotLast {
			ext(b, 21, func(b *cryptobyte.Builder) { b.AddBytes(make([]byte, 4)) }) // padding
		}
	}
}
