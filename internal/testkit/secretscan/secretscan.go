// Package secretscan checks that printed output holds no secret: it lists
// the forms in which a printout could carry a secret's bytes, and searches
// the fmt output of values under every verb for them. It is for tests; it
// imports nothing of this module, so that the tests of every package, seal
// included, may use it.
package secretscan

import (
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"testing"
)

// Verbs are the fmt verbs [Check] prints a value with.
var Verbs = []string{"%v", "%+v", "%#v", "%s", "%x", "%X", "%q", "%d"}

// Forms returns the forms in which secret, at least 16 bytes long, could
// appear in printed output, each made from a part of it long enough to be no
// accident: raw, quoted, hex and upper-case hex, hex with spaces, decimal
// (as %v prints a []byte), Go syntax (as %#v does), standard and URL-safe
// base64, and the hex of its last bytes.
func Forms(secret []byte) []string {
	if len(secret) < 16 {
		panic("secretscan: internal error: secret too short to search for")
	}
	p8, p12 := secret[:8], secret[:12]
	dec := fmt.Sprint(secret[:4])              // [12 34 …]
	gosyntax := fmt.Sprintf("%#v", secret[:4]) // []byte{0xc, 0x22, …}
	quoted := strconv.Quote(string(p12))       // "\x0c\"…"
	return []string{
		string(p8),
		quoted[1 : len(quoted)-1],
		hex.EncodeToString(p8),
		strings.ToUpper(hex.EncodeToString(p8)),
		fmt.Sprintf("% x", p8),
		dec[1 : len(dec)-1],
		gosyntax[len("[]byte{") : len(gosyntax)-1],
		base64.StdEncoding.EncodeToString(secret)[:12],
		base64.RawURLEncoding.EncodeToString(secret)[:12],
		hex.EncodeToString(secret[len(secret)-8:]),
	}
}

// Check reports an error on t for each verb of [Verbs] under which the fmt
// output of v, called name in the report, contains one of forbidden.
func Check(t testing.TB, name string, v any, forbidden []string) {
	t.Helper()
	for _, verb := range Verbs {
		CheckText(t, fmt.Sprintf("fmt.Sprintf(%q, %s)", verb, name), fmt.Sprintf(verb, v), forbidden)
	}
}

// CheckText reports an error on t if out, called what in the report,
// contains one of forbidden.
func CheckText(t testing.TB, what, out string, forbidden []string) {
	t.Helper()
	for _, f := range forbidden {
		if strings.Contains(out, f) {
			t.Errorf("%s contains the secret form %q:\n%s", what, f, out)
			return
		}
	}
}
