package format

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// prefixed returns b with a big-endian length prefix of n bytes. It does not
// use cryptobyte, so that the tests check the encoder against an independent
// implementation.
func prefixed(n int, b []byte) []byte {
	var l [4]byte
	binary.BigEndian.PutUint32(l[:], uint32(len(b)))
	return append(l[4-n:], b...)
}

// nst13Message builds a TLS 1.3 NewSessionTicket handshake message.
func nst13Message(lifetime, ageAdd string, nonce, ticket, exts []byte) []byte {
	body := h(lifetime, ageAdd)
	body = append(body, prefixed(1, nonce)...)
	body = append(body, prefixed(2, ticket)...)
	body = append(body, prefixed(2, exts)...)
	return append([]byte{4}, prefixed(3, body)...)
}

type nst13Test struct {
	name string
	in   []byte
	want *NewSessionTicketTLS13
}

func nst13Tests(t testing.TB) []nst13Test {
	v := loadRFC8448(t)
	f := v.Section3.Fields
	bigExt := rep(0xee, maxExtensionsLen-4)
	return []nst13Test{
		{"RFC 8448 Section 3", v.Section3.NewSessionTicketMessage, &NewSessionTicketTLS13{
			Lifetime: f.Lifetime, AgeAdd: f.AgeAdd, Nonce: f.Nonce, Ticket: f.Ticket,
			Extensions: []Extension{EarlyDataExtension(f.EarlyDataMaxSize)},
		}},
		{"minimal", h("04 00000e 00000000 00000000 00 0001 aa 0000"),
			&NewSessionTicketTLS13{Ticket: []byte{0xaa}}},
		{"unknown extensions kept in order", nst13Message("00093a80", "fad6aac5", rep(0x4e, 255), h("deadbeef"),
			h("ff01 0002 abcd", "002a 0004 00000400", "0000 0000")),
			&NewSessionTicketTLS13{Lifetime: maxLifetimeSeconds, AgeAdd: 0xfad6aac5, Nonce: rep(0x4e, 255), Ticket: h("deadbeef"),
				Extensions: []Extension{{0xff01, h("abcd")}, EarlyDataExtension(1024), {0, nil}}}},
		{"largest extension list", nst13Message("00000001", "00000002", nil, h("aa"), append(h("fe00 fffa"), bigExt...)),
			&NewSessionTicketTLS13{Lifetime: 1, AgeAdd: 2, Ticket: h("aa"), Extensions: []Extension{{0xfe00, bigExt}}}},
	}
}

func nst13Encodings(t testing.TB) [][]byte {
	var out [][]byte
	for _, tt := range nst13Tests(t) {
		out = append(out, tt.in)
	}
	return out
}

func TestNewSessionTicketTLS13(t *testing.T) {
	for _, tt := range nst13Tests(t) {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseNewSessionTicketTLS13(tt.in)
			if err != nil {
				t.Fatalf("ParseNewSessionTicketTLS13: %v", err)
			}
			if diff := cmp.Diff(tt.want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("ParseNewSessionTicketTLS13 mismatch (-want +got):\n%s", diff)
			}
			out, err := tt.want.Append(nil)
			if err != nil {
				t.Fatalf("Append: %v", err)
			}
			if !bytes.Equal(out, tt.in) {
				t.Errorf("Append:\n got %x\nwant %x", out, tt.in)
			}
		})
	}
}

// TestNewSessionTicketTLS13RFC8448 checks every field of the NewSessionTicket
// of RFC 8448, Section 3.
func TestNewSessionTicketTLS13RFC8448(t *testing.T) {
	v := loadRFC8448(t)
	msg, f := v.Section3.NewSessionTicketMessage, v.Section3.Fields
	m, err := ParseNewSessionTicketTLS13(msg)
	if err != nil {
		t.Fatalf("ParseNewSessionTicketTLS13: %v", err)
	}
	if got := int(msg[0]); got != f.HandshakeType || HandshakeType(got) != HandshakeNewSessionTicket {
		t.Errorf("msg_type = %d, want %d", got, f.HandshakeType)
	}
	if got := int(msg[1])<<16 | int(msg[2])<<8 | int(msg[3]); got != f.BodyLength || got != len(msg)-4 {
		t.Errorf("length = %d, want %d", got, f.BodyLength)
	}
	if m.Lifetime != f.Lifetime || m.Lifetime != 30 {
		t.Errorf("Lifetime = %d, want %d", m.Lifetime, f.Lifetime)
	}
	if m.AgeAdd != f.AgeAdd || m.AgeAdd != binary.BigEndian.Uint32(f.AgeAddHex) {
		t.Errorf("AgeAdd = %#x, want %d (%x)", m.AgeAdd, f.AgeAdd, f.AgeAddHex)
	}
	if !bytes.Equal(m.Nonce, f.Nonce) {
		t.Errorf("Nonce = %x, want %x", m.Nonce, f.Nonce)
	}
	if !bytes.Equal(m.Ticket, f.Ticket) || len(m.Ticket) != f.TicketLength {
		t.Errorf("Ticket = %x (%d bytes), want %x (%d bytes)", m.Ticket, len(m.Ticket), f.Ticket, f.TicketLength)
	}
	if len(m.Extensions) != 1 || int(m.Extensions[0].Type) != f.EarlyDataType {
		t.Fatalf("Extensions = %v, want one of type %d", m.Extensions, f.EarlyDataType)
	}
	var exts []byte
	for _, e := range m.Extensions {
		exts = binary.BigEndian.AppendUint16(exts, uint16(e.Type))
		exts = append(exts, prefixed(2, e.Data)...)
	}
	if !bytes.Equal(exts, f.Extensions) {
		t.Errorf("extensions = %x, want %x", exts, f.Extensions)
	}
	if size, ok := m.MaxEarlyData(); !ok || size != f.EarlyDataMaxSize {
		t.Errorf("MaxEarlyData() = %d, %t, want %d, true", size, ok, f.EarlyDataMaxSize)
	}
	out, err := m.Append(nil)
	if err != nil {
		t.Fatalf("Append: %v", err)
	}
	if !bytes.Equal(out, msg) {
		t.Errorf("Append:\n got %x\nwant %x", out, msg)
	}
}

func TestParseNewSessionTicketTLS13Malformed(t *testing.T) {
	ed := h("002a 0004 00000400")
	tests := []struct {
		name string
		in   []byte
	}{
		{"empty", nil},
		{"wrong message type", h("05 00000e 00000000 00000000 00 0001 aa 0000")},
		{"lifetime 604801", nst13Message("00093a81", "00000000", nil, h("aa"), nil)},
		{"lifetime 2^32-1", nst13Message("ffffffff", "00000000", nil, h("aa"), nil)},
		{"empty ticket", nst13Message("00000000", "00000000", nil, nil, nil)},
		{"nonce overruns", h("04 00000e 00000000 00000000 05 0001 aa 0000")},
		{"early_data of 3 bytes", nst13Message("00000000", "00000000", nil, h("aa"), h("002a 0003 000004"))},
		{"early_data of 5 bytes", nst13Message("00000000", "00000000", nil, h("aa"), h("002a 0005 0000040000"))},
		{"empty early_data", nst13Message("00000000", "00000000", nil, h("aa"), h("002a 0000"))},
		{"duplicate early_data", nst13Message("00000000", "00000000", nil, h("aa"), append(ed, ed...))},
		{"duplicate unknown extension", nst13Message("00000000", "00000000", nil, h("aa"), h("ff01 0000 ff01 0001 00"))},
		{"extension overruns its list", nst13Message("00000000", "00000000", nil, h("aa"), h("ff01 0002 00"))},
		{"truncated extension header", nst13Message("00000000", "00000000", nil, h("aa"), h("ff"))},
		{"extension list of 2^16-1 bytes", nst13Message("00000000", "00000000", nil, h("aa"), append(h("fe00 fffb"), rep(0, maxExtensionsLen-3)...))},
		{"trailing byte in the body", h("04 00000f 00000000 00000000 00 0001 aa 0000 00")},
		{"trailing byte after the message", h("04 00000e 00000000 00000000 00 0001 aa 0000 00")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseNewSessionTicketTLS13(tt.in)
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error = %v, want ErrMalformed", err)
			}
			if got != nil {
				t.Fatalf("returned %+v with an error", got)
			}
		})
	}
}

func TestNewSessionTicketTLS13AppendErrors(t *testing.T) {
	tests := []struct {
		name   string
		modify func(*NewSessionTicketTLS13)
		want   error
	}{
		{"lifetime over 604800", func(m *NewSessionTicketTLS13) { m.Lifetime = maxLifetimeSeconds + 1 }, ErrMalformed},
		{"empty ticket", func(m *NewSessionTicketTLS13) { m.Ticket = nil }, ErrMalformed},
		{"duplicate extension", func(m *NewSessionTicketTLS13) { m.Extensions = append(m.Extensions, EarlyDataExtension(1)) }, ErrMalformed},
		{"early_data of 3 bytes", func(m *NewSessionTicketTLS13) { m.Extensions[0].Data = h("000004") }, ErrMalformed},
		{"nonce of 256 bytes", func(m *NewSessionTicketTLS13) { m.Nonce = rep(1, 256) }, ErrFieldTooLarge},
		{"ticket of 2^16 bytes", func(m *NewSessionTicketTLS13) { m.Ticket = rep(1, maxUint16+1) }, ErrFieldTooLarge},
		{"extension data of 2^16 bytes", func(m *NewSessionTicketTLS13) {
			m.Extensions = []Extension{{0xff01, rep(1, maxUint16+1)}}
		}, ErrFieldTooLarge},
		{"extension list of 2^16-1 bytes", func(m *NewSessionTicketTLS13) {
			m.Extensions = []Extension{{0xff01, rep(1, maxExtensionsLen-3)}}
		}, ErrFieldTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := &NewSessionTicketTLS13{Lifetime: 60, Ticket: h("aa"), Extensions: []Extension{EarlyDataExtension(1024)}}
			tt.modify(m)
			out, err := m.Append([]byte("dst"))
			checkAppendError(t, out, err, tt.want)
		})
	}
}

func TestMaxEarlyData(t *testing.T) {
	tests := []struct {
		name   string
		exts   []Extension
		size   uint32
		wantOK bool
	}{
		{"none", nil, 0, false},
		{"other extensions only", []Extension{{0xff01, h("00000400")}}, 0, false},
		{"1024", []Extension{{0xff01, nil}, EarlyDataExtension(1024)}, 1024, true},
		{"zero", []Extension{EarlyDataExtension(0)}, 0, true},
		{"largest", []Extension{EarlyDataExtension(0xffffffff)}, 0xffffffff, true},
		{"short body", []Extension{{ExtensionEarlyData, h("000004")}}, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := &NewSessionTicketTLS13{Extensions: tt.exts}
			size, ok := m.MaxEarlyData()
			if size != tt.size || ok != tt.wantOK {
				t.Errorf("MaxEarlyData() = %d, %t, want %d, %t", size, ok, tt.size, tt.wantOK)
			}
		})
	}
}

func FuzzParseNewSessionTicketTLS13(f *testing.F) {
	for _, in := range nst13Encodings(f) {
		f.Add(in)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		checkParse(t, in, ParseNewSessionTicketTLS13, nil)
	})
}
