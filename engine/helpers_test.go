package engine

import (
	"bufio"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/tlsticket/tlsticket/format"
	"github.com/tlsticket/tlsticket/internal/fakeclock"
	"github.com/tlsticket/tlsticket/internal/testkit"
	"github.com/tlsticket/tlsticket/seal"
	"github.com/tlsticket/tlsticket/status"
)

// fakeClock is the shared fake clock of internal/fakeclock.
type fakeClock = fakeclock.Clock

// testKey returns a deterministic key named after label.
func testKey(t testing.TB, label string) *seal.Key {
	t.Helper()
	return testkit.Key(t, seal.AES256GCM, label)
}

func testRing(t testing.TB, primary *seal.Key, decryptOnly ...*seal.Key) *seal.Ring {
	t.Helper()
	return testkit.Ring(t, primary, decryptOnly...)
}

func newFakeClock() *fakeClock {
	return fakeclock.New(time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC))
}

// testSession returns the state a TLS stack would hand to Issue.
func testSession(v uint16) *format.State {
	s := &format.State{Version: v, ServerName: "example.com", ALPN: "h2"}
	if v == format.VersionTLS13 {
		s.CipherSuite = 0x1301
		s.Secret = []byte("0123456789abcdef0123456789abcdef")
	} else {
		s.CipherSuite = 0xc02f
		s.Secret = []byte("0123456789abcdef0123456789abcdef0123456789abcdef")
		s.ExtendedMasterSecret = true
	}
	return s
}

func nonceFor(v uint16, i int) []byte {
	if v == format.VersionTLS13 {
		return []byte{0, byte(i)}
	}
	return nil
}

// issue issues one ticket for version v with e.
func issue(t *testing.T, e *Engine, v uint16) []byte {
	t.Helper()
	iss, err := e.Issue(testSession(v), nonceFor(v, 0))
	if err != nil {
		t.Fatal(err)
	}
	return iss.Ticket
}

// docRow is one row of the main table of docs/decisions.md.
type docRow struct {
	line    int
	version uint16
	status  status.Status
	ret     status.Return
	outcome string
	resumed bool
	tickets string // a number, or "N" for NumTickets
	alert   string
	def     bool
}

// readDecisionTable parses the main table of docs/decisions.md.
func readDecisionTable(t *testing.T) []docRow {
	t.Helper()
	f, err := os.Open("../docs/decisions.md")
	if err != nil {
		t.Fatalf("the decision table must exist: %v", err)
	}
	defer f.Close()
	statuses := map[string]status.Status{}
	for s := status.Empty; s <= status.SuccessRenew; s++ {
		statuses[s.String()] = s
	}
	returns := map[string]status.Return{"Return(7)": 7}
	for r := status.Abort; r <= status.UseRenew; r++ {
		returns[r.String()] = r
	}
	var rows []docRow
	in := false
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if strings.HasPrefix(line, "## ") {
			in = line == "## The table"
			continue
		}
		if !in || !strings.HasPrefix(line, "| TLS 1.") {
			continue
		}
		c := strings.Split(strings.Trim(line, "|"), "|")
		for i := range c {
			c[i] = strings.TrimSpace(c[i])
		}
		if len(c) != 9 {
			t.Fatalf("decisions.md:%d: %d cells, want 9", n, len(c))
		}
		r := docRow{line: n, outcome: c[3], resumed: c[4] == "yes", tickets: c[5], alert: c[6], def: c[7] == "yes"}
		switch c[0] {
		case "TLS 1.2":
			r.version = format.VersionTLS12
		case "TLS 1.3":
			r.version = format.VersionTLS13
		default:
			t.Fatalf("decisions.md:%d: unknown version %q", n, c[0])
		}
		var ok bool
		if r.status, ok = statuses[c[1]]; !ok {
			t.Fatalf("decisions.md:%d: unknown status %q", n, c[1])
		}
		if r.ret, ok = returns[c[2]]; !ok {
			t.Fatalf("decisions.md:%d: unknown return %q", n, c[2])
		}
		rows = append(rows, r)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(rows) == 0 {
		t.Fatal("no rows found in docs/decisions.md")
	}
	return rows
}

// lookupRow returns the documented row for (v, s, r).
func lookupRow(t *testing.T, rows []docRow, v uint16, s status.Status, r status.Return) docRow {
	t.Helper()
	for _, row := range rows {
		if row.version == v && row.status == s && row.ret == r {
			return row
		}
	}
	t.Fatalf("docs/decisions.md has no row for (%#x, %v, %v)", v, s, r)
	return docRow{}
}

func (r docRow) wantTickets(e *Engine) int {
	if r.tickets == "N" {
		return e.NumTickets()
	}
	n := 0
	for _, ch := range r.tickets {
		n = n*10 + int(ch-'0')
	}
	return n
}

// conn returns the connection that the test sessions (testSession) are
// resumed on, for version v.
func conn(v uint16) ConnInfo {
	return ConnInfo{Version: v, ServerName: "example.com", ALPN: "h2"}
}
