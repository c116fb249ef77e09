package format

import (
	"bytes"
	"errors"
	"testing"
)

type sessionTicketExtTest struct {
	name string
	in   []byte
	want []byte
}

func sessionTicketExtTests() []sessionTicketExtTest {
	maxTicket := rep(0x7e, maxUint16)
	return []sessionTicketExtTest{
		{"empty", h("0023 0000"), nil},
		{"ticket", h("0023 0004 deadbeef"), h("deadbeef")},
		{"largest ticket", append(h("0023 ffff"), maxTicket...), maxTicket},
	}
}

func sessionTicketExtEncodings() [][]byte {
	var out [][]byte
	for _, tt := range sessionTicketExtTests() {
		out = append(out, tt.in)
	}
	return out
}

func TestSessionTicketExtension(t *testing.T) {
	for _, tt := range sessionTicketExtTests() {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseSessionTicketExtension(tt.in)
			if err != nil {
				t.Fatalf("ParseSessionTicketExtension: %v", err)
			}
			if !bytes.Equal(got.Ticket, tt.want) {
				t.Errorf("Ticket = %x, want %x", got.Ticket, tt.want)
			}
			if got.Empty() != (len(tt.want) == 0) {
				t.Errorf("Empty() = %t for a ticket of %d bytes", got.Empty(), len(tt.want))
			}
			out, err := (&SessionTicketExtension{Ticket: tt.want}).Append(nil)
			if err != nil {
				t.Fatalf("Append: %v", err)
			}
			if !bytes.Equal(out, tt.in) {
				t.Errorf("Append:\n got %x\nwant %x", out, tt.in)
			}
		})
	}
}

func TestParseSessionTicketExtensionMalformed(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
	}{
		{"empty", nil},
		{"wrong type", h("0024 0000")},
		{"pre_shared_key type", h("0029 0004 deadbeef")},
		{"length overruns", h("0023 0005 deadbeef")},
		{"trailing byte", h("0023 0004 deadbeef 00")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseSessionTicketExtension(tt.in)
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error = %v, want ErrMalformed", err)
			}
			if got != nil {
				t.Fatalf("returned %+v with an error", got)
			}
		})
	}
}

func TestSessionTicketExtensionAppendErrors(t *testing.T) {
	e := &SessionTicketExtension{Ticket: rep(1, maxUint16+1)}
	out, err := e.Append(nil)
	checkAppendError(t, out, err, ErrFieldTooLarge)
}

func FuzzParseSessionTicketExtension(f *testing.F) {
	for _, in := range sessionTicketExtEncodings() {
		f.Add(in)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		checkParse(t, in, ParseSessionTicketExtension, nil)
	})
}
