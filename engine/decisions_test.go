package engine

import (
	"errors"
	"fmt"
	"testing"

	"github.com/tlsticket/tlsticket/format"
	"github.com/tlsticket/tlsticket/seal"
	"github.com/tlsticket/tlsticket/status"
)

// TestDecisionTableComplete fails if any (version, status, return) has no
// row in docs/decisions.md, or has two.
func TestDecisionTableComplete(t *testing.T) {
	rows := readDecisionTable(t)
	count := map[string]int{}
	for _, r := range rows {
		count[fmt.Sprint(r.version, r.status, r.ret)]++
	}
	for _, v := range []uint16{format.VersionTLS12, format.VersionTLS13} {
		for s := status.Empty; s <= status.SuccessRenew; s++ {
			for _, r := range []status.Return{status.Abort, status.Ignore, status.IgnoreRenew, status.Use, status.UseRenew, 7} {
				if n := count[fmt.Sprint(v, s, r)]; n != 1 {
					t.Errorf("docs/decisions.md has %d rows for (%#x, %v, %v), want 1", n, v, s, r)
				}
			}
			if n := count[fmt.Sprint(v, s, status.Default(s))]; n == 1 {
				for _, row := range rows {
					if row.version == v && row.status == s && row.def != (row.ret == status.Default(s)) {
						t.Errorf("decisions.md:%d: default column disagrees with status.Default(%v) = %v", row.line, s, status.Default(s))
					}
				}
			}
		}
	}
	if len(rows) != 2*4*6 {
		t.Errorf("docs/decisions.md has %d rows, want %d", len(rows), 2*4*6)
	}
}

// TestDecisionTable runs each row of docs/decisions.md through the engine:
// a real ticket of the row's status, a decrypt callback that returns the
// row's return, and an engine without a callback for the default rows.
func TestDecisionTable(t *testing.T) {
	for _, row := range readDecisionTable(t) {
		name := fmt.Sprintf("line%d/%#x/%v/%v", row.line, row.version, row.status, row.ret)
		t.Run(name, func(t *testing.T) {
			testDecisionRow(t, row, true)
			if row.def {
				testDecisionRow(t, row, false)
			}
		})
	}
}

func testDecisionRow(t *testing.T, row docRow, withCallback bool) {
	t.Helper()
	clock := newFakeClock()
	primary, old := testKey(t, "primary"), testKey(t, "old")
	keys := seal.NewKeyring(testRing(t, primary, old))
	var calls int
	var sawSession bool
	// RenewOnOldKey makes every TLS 1.3 status reachable: Success for the
	// primary key, SuccessRenew for a decrypt-only one.
	cfg := &Config{Keys: keys, Time: clock.Now, RenewTLS13: RenewOnOldKey}
	if withCallback {
		cfg.DecryptTicket = func(ti TicketInfo) status.Return {
			s, st := ti.Session, ti.Status
			calls++
			sawSession = s.Version != 0
			if st != row.status {
				t.Errorf("callback saw status %v, want %v", st, row.status)
			}
			return row.ret
		}
	}
	e, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}

	d, err := e.Open(conn(row.version), true, ticketWithStatus(t, e, row.version, row.status, old))

	if got := d.Outcome.String(); got != row.outcome {
		t.Errorf("outcome %q, want %q", got, row.outcome)
	}
	if d.Resumed != row.resumed || (d.Session.Version != 0) != row.resumed {
		t.Errorf("resumed %v (session %v), want %v", d.Resumed, d.Session.Version != 0, row.resumed)
	}
	if want := row.wantTickets(e); d.Tickets != want {
		t.Errorf("tickets %d, want %d", d.Tickets, want)
	}
	wantAlert := row.alert
	if wantAlert == "-" {
		wantAlert = "none"
	}
	if d.Alert.String() != wantAlert {
		t.Errorf("alert %v, want %v", d.Alert, wantAlert)
	}
	var ae *AbortError
	if (err != nil) != (row.outcome == "abort") || (err != nil && !errors.As(err, &ae)) {
		t.Errorf("error %v for outcome %q", err, row.outcome)
	}
	if withCallback {
		wantCalls := 1
		if row.version == format.VersionTLS13 && row.status == status.Empty {
			wantCalls = 0 // decode_error before any callback
		}
		if calls != wantCalls {
			t.Errorf("callback called %d times, want %d", calls, wantCalls)
		}
		if calls > 0 && sawSession != row.status.Opened() {
			t.Errorf("callback saw a session: %v, want %v", sawSession, row.status.Opened())
		}
	}
}

// ticketWithStatus returns a ticket that e gives status st for version v:
// old is a decrypt-only key in e's ring.
func ticketWithStatus(t *testing.T, e *Engine, v uint16, st status.Status, old *seal.Key) []byte {
	t.Helper()
	switch st {
	case status.Empty:
		return nil
	case status.NoDecrypt:
		other, err := New(&Config{Keys: seal.NewKeyring(testRing(t, testKey(t, "unknown"))), Time: e.now})
		if err != nil {
			t.Fatal(err)
		}
		return issue(t, other, v)
	case status.Success:
		return issue(t, e, v)
	case status.SuccessRenew:
		byOld, err := New(&Config{Keys: seal.NewKeyring(testRing(t, old)), Time: e.now})
		if err != nil {
			t.Fatal(err)
		}
		return issue(t, byOld, v)
	}
	t.Fatalf("no ticket for status %v", st)
	return nil
}
