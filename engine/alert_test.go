package engine_test

import (
	"testing"

	"github.com/tlsticket/tlsticket/engine"
)

// TestAlertNames: every alert the engine sends prints its RFC 8446 name
// (Section 6), as AbortError messages and log lines show it.
func TestAlertNames(t *testing.T) {
	tests := []struct {
		alert engine.Alert
		want  string
	}{
		{engine.AlertIllegalParameter, "illegal_parameter"},
		{engine.AlertDecodeError, "decode_error"},
		{engine.AlertDecryptError, "decrypt_error"},
		{engine.AlertInternalError, "internal_error"},
		{engine.AlertMissingExtension, "missing_extension"},
	}
	for _, tt := range tests {
		if got := tt.alert.String(); got != tt.want {
			t.Errorf("Alert(%d).String() = %q, want %q", uint8(tt.alert), got, tt.want)
		}
	}
}
