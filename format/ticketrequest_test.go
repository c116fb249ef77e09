package format

import (
	"bytes"
	"errors"
	"testing"
)

func TestTicketRequest(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
		want TicketRequest
	}{
		{"new client", h("02 00"), TicketRequest{NewSessionCount: 2}},
		{"resuming client", h("02 01"), TicketRequest{NewSessionCount: 2, ResumptionCount: 1}},
		{"no tickets", h("00 00"), TicketRequest{}},
		{"largest", h("ff ff"), TicketRequest{255, 255}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseTicketRequest(tt.in)
			if err != nil {
				t.Fatalf("ParseTicketRequest: %v", err)
			}
			if *got != tt.want {
				t.Errorf("ParseTicketRequest = %+v, want %+v", *got, tt.want)
			}
			out, err := tt.want.Append(nil)
			if err != nil || !bytes.Equal(out, tt.in) {
				t.Errorf("Append = %x, %v, want %x", out, err, tt.in)
			}
		})
	}
}

func TestServerTicketRequestHint(t *testing.T) {
	for _, in := range ticketRequestHintEncodings() {
		got, err := ParseServerTicketRequestHint(in)
		if err != nil {
			t.Fatalf("ParseServerTicketRequestHint(%x): %v", in, err)
		}
		if got.ExpectedCount != in[0] {
			t.Errorf("ExpectedCount = %d, want %d", got.ExpectedCount, in[0])
		}
		out, err := got.Append(nil)
		if err != nil || !bytes.Equal(out, in) {
			t.Errorf("Append = %x, %v, want %x", out, err, in)
		}
	}
}

func TestTicketRequestMalformed(t *testing.T) {
	tests := []struct {
		name  string
		in    []byte
		parse func([]byte) error
	}{
		{"ClientTicketRequest empty", nil, parseTicketRequestErr},
		{"ClientTicketRequest of 1 byte", h("02"), parseTicketRequestErr},
		{"ClientTicketRequest of 3 bytes", h("02 01 00"), parseTicketRequestErr},
		{"ServerTicketRequestHint empty", nil, parseTicketRequestHintErr},
		{"ServerTicketRequestHint of 2 bytes", h("02 00"), parseTicketRequestHintErr},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.parse(tt.in); !errors.Is(err, ErrMalformed) {
				t.Fatalf("error = %v, want ErrMalformed", err)
			}
		})
	}
	if r, err := ParseTicketRequest(nil); r != nil || err == nil {
		t.Errorf("ParseTicketRequest(nil) = %v, %v, want nil and an error", r, err)
	}
	if r, err := ParseServerTicketRequestHint(nil); r != nil || err == nil {
		t.Errorf("ParseServerTicketRequestHint(nil) = %v, %v, want nil and an error", r, err)
	}
}

func parseTicketRequestErr(b []byte) error {
	_, err := ParseTicketRequest(b)
	return err
}

func parseTicketRequestHintErr(b []byte) error {
	_, err := ParseServerTicketRequestHint(b)
	return err
}

func ticketRequestEncodings() [][]byte {
	return [][]byte{h("0200"), h("0201"), h("0000"), h("ffff")}
}

func ticketRequestHintEncodings() [][]byte {
	return [][]byte{h("00"), h("01"), h("ff")}
}

func FuzzParseTicketRequest(f *testing.F) {
	for _, in := range ticketRequestEncodings() {
		f.Add(in)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		checkParse(t, in, ParseTicketRequest, nil)
	})
}

func FuzzParseServerTicketRequestHint(f *testing.F) {
	for _, in := range ticketRequestHintEncodings() {
		f.Add(in)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		checkParse(t, in, ParseServerTicketRequestHint, nil)
	})
}
