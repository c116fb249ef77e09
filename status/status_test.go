package status

import (
	"errors"
	"testing"
)

func TestDecide(t *testing.T) {
	tests := []struct {
		s       Status
		r       Return
		want    Outcome
		wantErr error
	}{
		{Empty, Abort, OutcomeAbort, ErrAbort},
		{Empty, Ignore, OutcomeIgnore, nil},
		{Empty, IgnoreRenew, OutcomeIgnoreRenew, nil},
		{Empty, Use, OutcomeAbort, ErrUseWithoutSession},
		{Empty, UseRenew, OutcomeAbort, ErrUseWithoutSession},
		{NoDecrypt, Abort, OutcomeAbort, ErrAbort},
		{NoDecrypt, Ignore, OutcomeIgnore, nil},
		{NoDecrypt, IgnoreRenew, OutcomeIgnoreRenew, nil},
		{NoDecrypt, Use, OutcomeAbort, ErrUseWithoutSession},
		{NoDecrypt, UseRenew, OutcomeAbort, ErrUseWithoutSession},
		{Success, Abort, OutcomeAbort, ErrAbort},
		{Success, Ignore, OutcomeIgnore, nil},
		{Success, IgnoreRenew, OutcomeIgnoreRenew, nil},
		{Success, Use, OutcomeUse, nil},
		{Success, UseRenew, OutcomeUseRenew, nil},
		{SuccessRenew, Abort, OutcomeAbort, ErrAbort},
		{SuccessRenew, Ignore, OutcomeIgnore, nil},
		{SuccessRenew, IgnoreRenew, OutcomeIgnoreRenew, nil},
		{SuccessRenew, Use, OutcomeUse, nil},
		{SuccessRenew, UseRenew, OutcomeUseRenew, nil},
	}
	seen := make(map[[2]uint8]bool)
	for _, tt := range tests {
		t.Run(tt.s.String()+"/"+tt.r.String(), func(t *testing.T) {
			got, err := Decide(tt.s, tt.r)
			if got != tt.want || !errors.Is(err, tt.wantErr) || (err == nil) != (tt.wantErr == nil) {
				t.Errorf("Decide(%v, %v) = %v, %v; want %v, %v", tt.s, tt.r, got, err, tt.want, tt.wantErr)
			}
			if (err != nil) != got.Aborted() {
				t.Errorf("Decide(%v, %v): error %v with outcome %v", tt.s, tt.r, err, got)
			}
		})
		seen[[2]uint8{uint8(tt.s), uint8(tt.r)}] = true
	}
	// Completeness: every (status, return) pair has a row.
	for s := Empty; s <= SuccessRenew; s++ {
		for r := Abort; r <= UseRenew; r++ {
			if !seen[[2]uint8{uint8(s), uint8(r)}] {
				t.Errorf("no row for (%v, %v)", s, r)
			}
		}
	}
}

func TestDecideOutOfRange(t *testing.T) {
	for s := Empty; s <= SuccessRenew; s++ {
		for _, r := range []Return{UseRenew + 1, 7, 255} {
			if got, err := Decide(s, r); got != OutcomeAbort || !errors.Is(err, ErrInvalidReturn) {
				t.Errorf("Decide(%v, %v) = %v, %v; want abort, ErrInvalidReturn", s, r, got, err)
			}
		}
	}
	for _, s := range []Status{SuccessRenew + 1, 255} {
		if got, err := Decide(s, Use); got != OutcomeAbort || !errors.Is(err, ErrInvalidStatus) {
			t.Errorf("Decide(%v, Use) = %v, %v; want abort, ErrInvalidStatus", s, got, err)
		}
	}
}

// TestDefault checks that the defaults are the OpenSSL ones and that they
// never abort: a server without a callback never fails a handshake over a
// ticket.
func TestDefault(t *testing.T) {
	want := map[Status]Return{Empty: IgnoreRenew, NoDecrypt: IgnoreRenew, Success: Use, SuccessRenew: UseRenew}
	for s, r := range want {
		if got := Default(s); got != r {
			t.Errorf("Default(%v) = %v, want %v", s, got, r)
		}
		if o, err := Decide(s, Default(s)); err != nil || o.Aborted() {
			t.Errorf("Decide(%v, Default) = %v, %v", s, o, err)
		}
	}
}

func TestString(t *testing.T) {
	tests := []struct{ got, want string }{
		{Empty.String(), "Empty"},
		{SuccessRenew.String(), "SuccessRenew"},
		{Status(9).String(), "Status(9)"},
		{IgnoreRenew.String(), "IgnoreRenew"},
		{Return(7).String(), "Return(7)"},
		{OutcomeUseRenew.String(), "use+renew"},
		{Outcome(9).String(), "Outcome(9)"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("got %q, want %q", tt.got, tt.want)
		}
	}
}
