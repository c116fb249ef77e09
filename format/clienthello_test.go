package format

import (
	"bytes"
	"encoding/binary"
	"errors"
	"slices"
	"testing"
)

// random16 is 16 recognisable bytes for the random and session id fields.
const random16 = "f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff"

// clientHelloLegacy returns the legacy fields of a ClientHello body.
func clientHelloLegacy() []byte {
	return h("0303", "1b"+string(bytes.Repeat([]byte("00"), 31)), "00", "0004 1301 1302", "01 00")
}

// clientHello builds a ClientHello handshake message with the given
// extension list, which is left out if exts is nil.
func clientHello(legacy, exts []byte) []byte {
	body := append([]byte{}, legacy...)
	if exts != nil {
		body = append(body, prefixed(2, exts)...)
	}
	return append([]byte{1}, prefixed(3, body)...)
}

// ext encodes one extension.
func ext(typ ExtensionType, data []byte) []byte {
	return append(binary.BigEndian.AppendUint16(nil, uint16(typ)), prefixed(2, data)...)
}

func join(parts ...[]byte) []byte {
	return bytes.Join(parts, nil)
}

var testPSKBody = h("0007 0001 01 00000000 0021 20", testBinder32)

type clientHelloTest struct {
	name          string
	in            []byte
	types         []ExtensionType
	bindersOffset int
}

func clientHelloTests(t testing.TB) []clientHelloTest {
	v := loadRFC8448(t)
	withPSK := clientHello(clientHelloLegacy(), join(
		ext(0, h("0009 0000 06 736572766572")),
		ext(ExtensionPSKKeyExchangeModes, h("01 01")),
		ext(ExtensionEarlyData, nil),
		ext(ExtensionTicketRequest, h("02 01")),
		ext(ExtensionSessionTicket, nil),
		ext(ExtensionPreSharedKey, testPSKBody)))
	return []clientHelloTest{
		{"RFC 8448 Section 4", v.Section4.ClientHello,
			[]ExtensionType{0, 0xff01, 10, 51, 42, 43, 13, 45, 28, 21, 41}, v.Section4.PSK.TruncationOffset},
		{"RFC 8448 Section 3", v.Section3.ClientHello,
			[]ExtensionType{0, 0xff01, 10, 35, 51, 43, 13, 45, 28}, 0},
		{"every resumption extension", withPSK,
			[]ExtensionType{0, 45, 42, 58, 35, 41}, len(withPSK) - 35},
		{"only pre_shared_key", clientHello(clientHelloLegacy(), ext(ExtensionPreSharedKey, testPSKBody)),
			[]ExtensionType{41}, 4 + len(clientHelloLegacy()) + 2 + 4 + 9},
		{"no extension list", clientHello(clientHelloLegacy(), nil), nil, 0},
		{"empty extension list", clientHello(clientHelloLegacy(), []byte{}), nil, 0},
		{"32-byte session id", clientHello(h("0303", random16, random16, "20", random16, random16, "0002 1301 01 00"), ext(0xff01, nil)),
			[]ExtensionType{0xff01}, 0},
	}
}

func clientHelloEncodings(t testing.TB) [][]byte {
	var out [][]byte
	for _, tt := range clientHelloTests(t) {
		out = append(out, tt.in)
	}
	return out
}

func TestParseClientHelloExtensions(t *testing.T) {
	for _, tt := range clientHelloTests(t) {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseClientHelloExtensions(tt.in)
			if err != nil {
				t.Fatalf("ParseClientHelloExtensions: %v", err)
			}
			var types []ExtensionType
			for _, e := range got.Extensions {
				types = append(types, e.Type)
			}
			if !slices.Equal(types, tt.types) {
				t.Errorf("extension types = %v, want %v", types, tt.types)
			}
			if got.BindersOffset != tt.bindersOffset {
				t.Errorf("BindersOffset = %d, want %d", got.BindersOffset, tt.bindersOffset)
			}
			checkClientHelloExtensions(t, tt.in, got)
		})
	}
}

// checkClientHelloExtensions checks that c is consistent with msg: the
// extensions re-encode to the end of msg, and the binders list, if any,
// runs from BindersOffset to the end of msg.
func checkClientHelloExtensions(t *testing.T, msg []byte, c *ClientHelloExtensions) {
	t.Helper()
	var exts []byte
	for _, e := range c.Extensions {
		exts = append(exts, ext(e.Type, e.Data)...)
	}
	if !bytes.HasSuffix(msg, exts) {
		t.Fatalf("the extensions do not re-encode to the end of the message")
	}
	data, ok := c.Lookup(ExtensionPreSharedKey)
	if !ok {
		if c.BindersOffset != 0 {
			t.Fatalf("BindersOffset = %d without pre_shared_key", c.BindersOffset)
		}
		return
	}
	if last := c.Extensions[len(c.Extensions)-1].Type; last != ExtensionPreSharedKey {
		t.Fatalf("accepted a ClientHello whose last extension is %v", last)
	}
	psk, err := ParseOfferedPSKs(data)
	if err != nil {
		t.Fatalf("pre_shared_key: %v", err)
	}
	if c.BindersOffset+psk.BindersLen() != len(msg) {
		t.Fatalf("BindersOffset %d + BindersLen %d != %d", c.BindersOffset, psk.BindersLen(), len(msg))
	}
	if !bytes.Equal(msg[c.BindersOffset:], data[len(data)-psk.BindersLen():]) {
		t.Fatalf("msg[BindersOffset:] is not the binders list")
	}
}

// TestClientHelloRFC8448 checks the resumption ClientHello of RFC 8448,
// Section 4: the binders list is the last 35 bytes, Truncate(ClientHello)
// is the first 477, and the identity and binder are as given.
func TestClientHelloRFC8448(t *testing.T) {
	v := loadRFC8448(t).Section4
	c, err := ParseClientHelloExtensions(v.ClientHello)
	if err != nil {
		t.Fatalf("ParseClientHelloExtensions: %v", err)
	}
	if c.BindersOffset != 477 || c.BindersOffset != v.PSK.TruncationOffset {
		t.Errorf("BindersOffset = %d, want 477 (%d)", c.BindersOffset, v.PSK.TruncationOffset)
	}
	if got := len(v.ClientHello) - c.BindersOffset; got != v.PSK.BytesRemovedCount {
		t.Errorf("Truncate removes %d bytes, want %d", got, v.PSK.BytesRemovedCount)
	}
	if !bytes.Equal(v.ClientHello[:c.BindersOffset], v.TruncatedClientHello) {
		t.Errorf("msg[:BindersOffset] is not the truncated ClientHello of RFC 8448")
	}
	if !v.PSK.IsLastExtension || c.Extensions[len(c.Extensions)-1].Type != ExtensionPreSharedKey {
		t.Errorf("pre_shared_key is not the last extension")
	}
	data, _ := c.Lookup(ExtensionPreSharedKey)
	if ext := ext(ExtensionPreSharedKey, data); !bytes.Equal(ext, v.PSK.Extension) || len(data) != v.PSK.ExtensionLength {
		t.Errorf("pre_shared_key = %x, want %x", ext, v.PSK.Extension)
	}
	psk, err := ParseOfferedPSKs(data)
	if err != nil {
		t.Fatalf("ParseOfferedPSKs: %v", err)
	}
	if len(psk.Identities) != v.PSK.IdentityCount || len(psk.Binders) != 1 {
		t.Fatalf("%d identities and %d binders, want %d and 1", len(psk.Identities), len(psk.Binders), v.PSK.IdentityCount)
	}
	id := psk.Identities[0]
	if !bytes.Equal(id.Identity, v.PSK.Identity0) || id.ObfuscatedTicketAge != v.PSK.ObfuscatedAge0 || id.ObfuscatedTicketAge != 0xfad6aacb {
		t.Errorf("identity = %x, %#x, want %x, %#x", id.Identity, id.ObfuscatedTicketAge, v.PSK.Identity0, v.PSK.ObfuscatedAge0)
	}
	if !bytes.Equal(psk.Binders[0], v.Binder) || !bytes.Equal(psk.Binders[0], v.PSK.Binder0) {
		t.Errorf("binder = %x, want %x", psk.Binders[0], v.Binder)
	}
	if got := psk.BindersLen(); got != v.PSK.BindersLength+2 {
		t.Errorf("BindersLen() = %d, want %d", got, v.PSK.BindersLength+2)
	}
	if got := len(data) - psk.BindersLen() - 2; got != v.PSK.IdentitiesLength {
		t.Errorf("identities length = %d, want %d", got, v.PSK.IdentitiesLength)
	}
	modes, _ := c.Lookup(ExtensionPSKKeyExchangeModes)
	if m, err := ParsePSKKeyExchangeModes(modes); err != nil || !slices.Equal(m, PSKKeyExchangeModes{PSKModeDHEKE}) {
		t.Errorf("psk_key_exchange_modes = %x, %v, want [psk_dhe_ke]", m, err)
	}
	if ed, ok := c.Lookup(ExtensionEarlyData); !ok || len(ed) != 0 {
		t.Errorf("early_data = %x, %t, want an empty extension", ed, ok)
	}
}

func TestParseClientHelloExtensionsErrors(t *testing.T) {
	legacy := clientHelloLegacy()
	psk := ext(ExtensionPreSharedKey, testPSKBody)
	modes := ext(ExtensionPSKKeyExchangeModes, h("01 01"))
	tests := []struct {
		name string
		in   []byte
		want error
	}{
		{"empty", nil, ErrMalformed},
		{"ServerHello type", append([]byte{2}, clientHello(legacy, modes)[1:]...), ErrMalformed},
		{"length longer than the message", join(h("01 000fff"), legacy), ErrMalformed},
		{"trailing byte after the message", join(clientHello(legacy, modes), h("00")), ErrMalformed},
		{"session id of 33 bytes", clientHello(h("0303", random16, random16, "21", random16, random16, "00 0002 1301 01 00"), modes), ErrMalformed},
		{"odd cipher_suites length", clientHello(h("0303", random16, random16, "00 0003 130113 01 00"), modes), ErrMalformed},
		{"empty cipher_suites", clientHello(h("0303", random16, random16, "00 0000 01 00"), modes), ErrMalformed},
		{"empty compression methods", clientHello(h("0303", random16, random16, "00 0002 1301 00"), modes), ErrMalformed},
		{"stray byte after the legacy fields", join(h("01"), prefixed(3, join(legacy, h("00")))), ErrMalformed},
		{"extension overruns the list", clientHello(legacy, h("002d 0003 0101")), ErrMalformed},
		{"duplicate extension", clientHello(legacy, join(modes, modes)), ErrMalformed},
		{"duplicate pre_shared_key", clientHello(legacy, join(psk, psk)), ErrMalformed},
		{"malformed pre_shared_key", clientHello(legacy, ext(ExtensionPreSharedKey, testPSKBody[:len(testPSKBody)-1])), ErrMalformed},
		{"empty psk_key_exchange_modes", clientHello(legacy, ext(ExtensionPSKKeyExchangeModes, h("00"))), ErrMalformed},
		{"early_data with a body", clientHello(legacy, ext(ExtensionEarlyData, h("00000400"))), ErrMalformed},
		{"ticket_request of 1 byte", clientHello(legacy, ext(ExtensionTicketRequest, h("02"))), ErrMalformed},
		{"pre_shared_key before psk_key_exchange_modes", clientHello(legacy, join(psk, modes)), ErrPSKNotLast},
		{"pre_shared_key first of three", clientHello(legacy, join(psk, modes, ext(0, nil))), ErrPSKNotLast},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseClientHelloExtensions(tt.in)
			if !errors.Is(err, tt.want) {
				t.Fatalf("error = %v, want %v", err, tt.want)
			}
			if tt.want == ErrPSKNotLast && errors.Is(err, ErrMalformed) {
				t.Fatalf("ErrPSKNotLast also matches ErrMalformed")
			}
			if got != nil {
				t.Fatalf("returned %+v with an error", got)
			}
		})
	}
}

func FuzzParseClientHelloExtensions(f *testing.F) {
	for _, in := range clientHelloEncodings(f) {
		f.Add(in)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		c, err := ParseClientHelloExtensions(in)
		if err != nil {
			if c != nil {
				t.Fatalf("error %v with a result", err)
			}
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrPSKNotLast) {
				t.Fatalf("unexpected error %v", err)
			}
			return
		}
		checkClientHelloExtensions(t, in, c)
		for _, n := range []int{len(in) - 1, len(in) / 2} {
			if _, err := ParseClientHelloExtensions(in[:n]); err == nil {
				t.Fatalf("the prefix of %d of %d bytes parsed", n, len(in))
			}
		}
	})
}
