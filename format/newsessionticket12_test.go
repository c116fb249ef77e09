package format

import (
	"bytes"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

type nst12Test struct {
	name string
	in   []byte
	want *NewSessionTicketTLS12
}

func nst12Tests() []nst12Test {
	maxTicket := rep(0x7e, maxUint16)
	return []nst12Test{
		{"ticket", h("04 00000a 00001c20 0004 deadbeef"),
			&NewSessionTicketTLS12{LifetimeHint: 7200, Ticket: h("deadbeef")}},
		{"empty ticket", h("04 000006 00000000 0000"),
			&NewSessionTicketTLS12{}},
		{"largest ticket", append(h("04 010005 ffffffff ffff"), maxTicket...),
			&NewSessionTicketTLS12{LifetimeHint: 0xffffffff, Ticket: maxTicket}},
	}
}

func nst12Encodings() [][]byte {
	var out [][]byte
	for _, tt := range nst12Tests() {
		out = append(out, tt.in)
	}
	return out
}

func TestNewSessionTicketTLS12(t *testing.T) {
	for _, tt := range nst12Tests() {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseNewSessionTicketTLS12(tt.in)
			if err != nil {
				t.Fatalf("ParseNewSessionTicketTLS12: %v", err)
			}
			if diff := cmp.Diff(tt.want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("ParseNewSessionTicketTLS12 mismatch (-want +got):\n%s", diff)
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

func TestParseNewSessionTicketTLS12Malformed(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
	}{
		{"empty", nil},
		{"wrong message type", h("02 00000a 00001c20 0004 deadbeef")},
		{"length longer than the message", h("04 00000b 00001c20 0004 deadbeef")},
		{"length shorter than the body", h("04 000009 00001c20 0004 deadbeef")},
		{"ticket overruns the body", h("04 00000a 00001c20 0005 deadbeef")},
		{"trailing byte in the body", h("04 00000b 00001c20 0004 deadbeef 00")},
		{"trailing byte after the message", h("04 00000a 00001c20 0004 deadbeef 00")},
		{"empty body", h("04 000000")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseNewSessionTicketTLS12(tt.in)
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error = %v, want ErrMalformed", err)
			}
			if got != nil {
				t.Fatalf("returned %+v with an error", got)
			}
		})
	}
}

func TestNewSessionTicketTLS12AppendErrors(t *testing.T) {
	m := &NewSessionTicketTLS12{Ticket: rep(1, maxUint16+1)}
	out, err := m.Append(nil)
	checkAppendError(t, out, err, ErrFieldTooLarge)
}

func FuzzParseNewSessionTicketTLS12(f *testing.F) {
	for _, in := range nst12Encodings() {
		f.Add(in)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		checkParse(t, in, ParseNewSessionTicketTLS12, nil)
	})
}
