//go:build !race

package engine

import (
	"testing"

	"github.com/tlsticket/tlsticket/format"
)

// TestAllocs holds Issue and Open to one allocation each (the ticket with
// its message; the opened session with its plaintext). The race detector
// allocates on its own, hence the build tag.
func TestAllocs(t *testing.T) {
	for _, v := range []uint16{format.VersionTLS12, format.VersionTLS13} {
		t.Run(versionLabel(v), func(t *testing.T) {
			e := benchEngine(t)
			s := testSession(v)
			nonce := nonceFor(v, 0)
			iss, err := e.Issue(s, nonce)
			if err != nil {
				t.Fatal(err)
			}
			if n := testing.AllocsPerRun(100, func() { e.Issue(s, nonce) }); n > 1 {
				t.Errorf("Issue: %v allocations, want at most 1", n)
			}
			c := conn(v)
			if n := testing.AllocsPerRun(100, func() { e.Open(c, true, iss.Ticket) }); n > 1 {
				t.Errorf("Open: %v allocations, want at most 1", n)
			}
		})
	}
}
