package format

import (
	"bytes"
	"encoding/hex"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

const (
	testIV  = "101112131415161718191a1b1c1d1e1f"
	testMAC = "202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f"
)

type rfc5077TicketTest struct {
	name string
	in   []byte
	want *RFC5077Ticket
}

func testRFC5077Ticket(state []byte) *RFC5077Ticket {
	t := &RFC5077Ticket{EncryptedState: state}
	copy(t.KeyName[:], h(testKeyName))
	copy(t.IV[:], h(testIV))
	copy(t.MAC[:], h(testMAC))
	return t
}

func rfc5077TicketTests() []rfc5077TicketTest {
	maxState := rep(0x5a, maxUint16)
	return []rfc5077TicketTest{
		{"empty state", h(testKeyName, testIV, "0000", testMAC), testRFC5077Ticket(nil)},
		{"one block", h(testKeyName, testIV, "0010", testTag, testMAC), testRFC5077Ticket(h(testTag))},
		{"largest state", h(testKeyName, testIV, "ffff", hex.EncodeToString(maxState), testMAC), testRFC5077Ticket(maxState)},
	}
}

func rfc5077TicketEncodings() [][]byte {
	var out [][]byte
	for _, tt := range rfc5077TicketTests() {
		out = append(out, tt.in)
	}
	return out
}

func TestRFC5077Ticket(t *testing.T) {
	for _, tt := range rfc5077TicketTests() {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseRFC5077Ticket(tt.in)
			if err != nil {
				t.Fatalf("ParseRFC5077Ticket: %v", err)
			}
			if diff := cmp.Diff(tt.want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("ParseRFC5077Ticket mismatch (-want +got):\n%s", diff)
			}
			out, err := tt.want.Append(nil)
			if err != nil {
				t.Fatalf("Append: %v", err)
			}
			if !bytes.Equal(out, tt.in) {
				t.Errorf("Append:\n got %x\nwant %x", out, tt.in)
			}
			// The MAC covers everything before mac: 16+16+2+len bytes.
			macInput := got.MACInput([]byte("dst"))
			if want := tt.in[:len(tt.in)-32]; string(macInput[:3]) != "dst" || !bytes.Equal(macInput[3:], want) {
				t.Errorf("MACInput:\n got %x\nwant dst‖%x", macInput, want)
			}
		})
	}
}

func TestParseRFC5077TicketMalformed(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
	}{
		{"empty", nil},
		{"no mac", h(testKeyName, testIV, "0000")},
		{"state length overruns", h(testKeyName, testIV, "0011", testTag, testMAC)},
		{"state length short", h(testKeyName, testIV, "000f", testTag, testMAC)},
		{"trailing byte", h(testKeyName, testIV, "0000", testMAC, "00")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseRFC5077Ticket(tt.in)
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error = %v, want ErrMalformed", err)
			}
			if got != nil {
				t.Fatalf("returned %+v with an error", got)
			}
		})
	}
}

func TestRFC5077TicketAppendErrors(t *testing.T) {
	tk := testRFC5077Ticket(rep(1, maxUint16+1))
	out, err := tk.Append([]byte("dst"))
	checkAppendError(t, out, err, ErrFieldTooLarge)
	if got := tk.MACInput([]byte("dst")); got != nil {
		t.Errorf("MACInput of a ticket with no encoding = %d bytes, want nil", len(got))
	}
}

func FuzzParseRFC5077Ticket(f *testing.F) {
	for _, in := range rfc5077TicketEncodings() {
		f.Add(in)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		checkParse(t, in, ParseRFC5077Ticket, nil)
	})
}
