package secretscan

import (
	"encoding/base64"
	"fmt"
	"testing"
)

// recorder is a testing.TB that records whether Errorf was called.
type recorder struct {
	testing.TB
	errors int
}

func (r *recorder) Helper()               {}
func (r *recorder) Errorf(string, ...any) { r.errors++ }

// TestCheckFindsEveryPrintedForm: a secret printed under every verb, in
// base64 and inside a struct is found, and output without it is not.
func TestCheckFindsEveryPrintedForm(t *testing.T) {
	secret := []byte("\x00\x01\x7f\x80\xfe\xffsixteen+bytes!")
	forms := Forms(secret)
	for _, v := range []any{secret, struct{ S []byte }{secret}, string(secret)} {
		for _, verb := range Verbs {
			out := fmt.Sprintf(verb, v)
			var r recorder
			CheckText(&r, "out", out, forms)
			if r.errors != 1 {
				t.Errorf("Sprintf(%q, %T) = %q: the secret was not found", verb, v, out)
			}
		}
	}
	for _, out := range []string{base64.StdEncoding.EncodeToString(secret), base64.RawURLEncoding.EncodeToString(secret)} {
		var r recorder
		CheckText(&r, "out", out, forms)
		if r.errors != 1 {
			t.Errorf("%q: the secret was not found", out)
		}
	}
	var r recorder
	Check(&r, "other", []byte("\x01\x00\x7f\x80\xfe\xffsixteen+bytes?"), forms)
	if r.errors != 0 {
		t.Errorf("found the secret in %d printouts of other bytes", r.errors)
	}
}
