package engine

import (
	"bytes"
	"encoding/hex"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/tlsticket/tlsticket/format"
	"github.com/tlsticket/tlsticket/internal/testkit"
	"github.com/tlsticket/tlsticket/resumption"
	"github.com/tlsticket/tlsticket/seal"
	"github.com/tlsticket/tlsticket/status"
)

func TestMetricsAndLogs(t *testing.T) {
	var logs bytes.Buffer
	secretAppData := []byte("app-data-that-must-not-be-logged")
	f := newTLS13Fixture(t, func(c *Config) {
		c.Logger = slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
		c.GenerateTicket = func(s *format.State) error { s.AppData = secretAppData; return nil }
	})
	e := f.e
	t12 := issue(t, e, format.VersionTLS12)
	for _, step := range []struct {
		v       uint16
		offered bool
		ticket  []byte
	}{
		{format.VersionTLS12, true, t12},
		{format.VersionTLS12, true, t12[:10]},
		{format.VersionTLS12, false, nil},
		{format.VersionTLS13, true, []byte{}}, // abort: empty identity
	} {
		e.Open(conn(step.v), step.offered, step.ticket)
	}
	msg := f.hello(t, []*resumption.ClientTicket{f.ticket(t, f.other, "bad"), f.ticket(t, e, "good")}, nil)
	if sel, err := f.selectHello(t, msg); err != nil || !sel.Resumed {
		t.Fatal(err)
	}
	m := e.Metrics()
	want := map[string]uint64{
		"TLS1.2/Success/Use/use":                    1,
		"TLS1.2/NoDecrypt/IgnoreRenew/ignore+renew": 1,
		"TLS1.3/NoDecrypt/IgnoreRenew/ignore+renew": 1,
		"TLS1.3/SuccessRenew/UseRenew/use+renew":    1,
	}
	for k, n := range want {
		if m.Decisions[k] != n {
			t.Errorf("Decisions[%q] = %d, want %d (all: %v)", k, m.Decisions[k], n, m.Decisions)
		}
	}
	if len(m.Decisions) != len(want) || m.NoTicket["TLS1.2"] != 1 || m.Aborts["TLS1.3"] != 1 ||
		m.Resumed["TLS1.2"] != 1 || m.Resumed["TLS1.3"] != 1 || m.Issued["TLS1.2"] != 1 || m.Issued["TLS1.3"] != 1 {
		t.Errorf("snapshot %+v", m)
	}

	out := logs.String()
	if n := strings.Count(out, `"msg":"tlsticket decision"`); n != 6 {
		t.Errorf("%d decision records, want 6:\n%s", n, out)
	}
	for _, secret := range [][]byte{secretAppData, testSession(format.VersionTLS12).Secret} {
		if strings.Contains(out, string(secret)) || strings.Contains(out, hex.EncodeToString(secret)) {
			t.Errorf("a log record contains a secret:\n%s", out)
		}
	}
	if got := e.Metrics(); got.Decisions["TLS1.2/Success/Use/use"] != 1 {
		t.Errorf("Metrics: %+v", got)
	}
}

func TestMetricsInvalidReturn(t *testing.T) {
	e, err := New(&Config{
		Keys:          seal.NewKeyring(testRing(t, testKey(t, "k"))),
		DecryptTicket: func(TicketInfo) status.Return { return 42 },
	})
	if err != nil {
		t.Fatal(err)
	}
	e.Open(conn(format.VersionTLS12), true, nil)
	if n := e.Metrics().Decisions["TLS1.2/Empty/invalid/abort"]; n != 1 {
		t.Errorf("invalid return counted %d times, want 1: %v", n, e.Metrics().Decisions)
	}
}

// TestMetricsReasons: fallbacks are counted by the check that failed, 0-RTT
// rejections by reason, skipped tickets apart from issued ones, and ticket
// ages at resumption in the histogram.
func TestMetricsReasons(t *testing.T) {
	if len(fallbackReasons)+1 != len(metrics{}.fallbacks[0]) || len(earlyDataReasons)+1 != len(metrics{}.earlyNo) || len(AgeBuckets) != numAgeBuckets {
		t.Fatal("the counter arrays do not match the reason lists")
	}
	f := newTLS13Fixture(t, nil)
	e := f.e
	tk := issue(t, e, format.VersionTLS12)
	f.clock.Advance(30 * time.Minute)
	e.Open(conn(format.VersionTLS12), true, tk) // resumed at 30 minutes
	other := conn(format.VersionTLS12)
	other.ALPN = "http/1.1"
	e.Open(other, true, tk) // alpn
	f.clock.Advance(3 * time.Hour)
	e.Open(conn(format.VersionTLS12), true, tk) // expired

	ct := f.ticket(t, e, "x")
	msg := f.hello(t, []*resumption.ClientTicket{ct}, func(c *testkit.ClientHello) { c.EarlyData = true })
	f.selectHello(t, msg) // accepted
	f.selectHello(t, msg) // replay

	m := e.Metrics()
	for k, want := range map[string]uint64{"TLS1.2/alpn": 1, "TLS1.2/expired": 1} {
		if m.FallbackReasons[k] != want {
			t.Errorf("FallbackReasons[%q] = %d, want %d (all %v)", k, m.FallbackReasons[k], want, m.FallbackReasons)
		}
	}
	if m.Fallbacks["TLS1.2"] != 2 {
		t.Errorf("Fallbacks %v", m.Fallbacks)
	}
	if m.EarlyDataAccepted != 1 || m.EarlyDataRejected["replay"] != 1 || len(m.EarlyDataRejected) != 1 {
		t.Errorf("early data: accepted %d, rejected %v", m.EarlyDataAccepted, m.EarlyDataRejected)
	}
	h := m.TicketAge["TLS1.2"]
	if h.Counts[3] != 1 || h.Sum != 30*time.Minute { // (15m, 1h]
		t.Errorf("TLS 1.2 ticket ages %v, sum %v; want one in (15m, 1h]", h.Counts, h.Sum)
	}
	if h := m.TicketAge["TLS1.3"]; h.Counts[0] != 2 { // resumed at once, twice (the replay in 1-RTT)
		t.Errorf("TLS 1.3 ticket ages %v", h.Counts)
	}
}
