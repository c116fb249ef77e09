package engine

import (
	"context"
	"encoding/hex"
	"log/slog"
	"sync/atomic"

	"github.com/tlsticket/tlsticket/format"
	"github.com/tlsticket/tlsticket/status"
)

// Dimensions of the decision counters: version x status x return x outcome.
// Returns outside the five share one slot.
const (
	numStatus  = int(status.SuccessRenew) + 1
	numReturn  = int(status.UseRenew) + 2
	numOutcome = int(status.OutcomeUseRenew) + 1
)

// metrics holds the engine's counters. They are atomic, so counting takes no
// lock on the open and issue paths.
type metrics struct {
	decisions [2][numStatus][numReturn][numOutcome]atomic.Uint64
	noTicket  [2]atomic.Uint64 // opened with no ticket offered
	fallbacks [2]atomic.Uint64 // use outcomes turned into full handshakes
	aborts    [2]atomic.Uint64 // every abort, with or without a callback
	resumed   [2]atomic.Uint64
	issued    [2]atomic.Uint64 // tickets sealed by Issue
}

func versionIndex(v uint16) int {
	if v == format.VersionTLS13 {
		return 1
	}
	return 0
}

func versionLabel(v uint16) string {
	if v == format.VersionTLS13 {
		return "TLS1.3"
	}
	return "TLS1.2"
}

// record counts a decision and logs it.
func (e *Engine) record(d *Decision, err error) {
	v := versionIndex(d.Version)
	m := &e.metrics
	switch {
	case d.Callback:
		r := int(d.Return)
		if !d.Return.Valid() {
			r = numReturn - 1
		}
		if d.Status.Valid() {
			m.decisions[v][d.Status][r][d.Outcome].Add(1)
		}
	case !d.Offered:
		m.noTicket[v].Add(1)
	}
	if d.Fallback != nil {
		m.fallbacks[v].Add(1)
	}
	if err != nil {
		m.aborts[v].Add(1)
	}
	if d.Resumed {
		m.resumed[v].Add(1)
	}
	if e.log != nil && e.log.Enabled(context.Background(), slog.LevelDebug) {
		e.log.LogAttrs(context.Background(), slog.LevelDebug, "tlsticket decision", d.logAttrs(err)...)
	}
}

// logAttrs describes d for a log record. It holds no secret: the key name is
// public (it is sent in every ticket), and the session is not logged.
func (d *Decision) logAttrs(err error) []slog.Attr {
	attrs := []slog.Attr{
		slog.String("version", versionLabel(d.Version)),
		slog.Bool("offered", d.Offered),
	}
	if d.Callback {
		attrs = append(attrs, slog.String("status", d.Status.String()), slog.String("return", d.Return.String()))
	}
	attrs = append(attrs, slog.String("outcome", d.Outcome.String()), slog.Bool("resumed", d.Resumed), slog.Int("tickets", d.Tickets))
	if len(d.KeyName) > 0 {
		attrs = append(attrs, slog.String("key", hex.EncodeToString(d.KeyName)))
	}
	if d.Fallback != nil {
		attrs = append(attrs, slog.String("fallback", d.Fallback.Error()))
	}
	if err != nil {
		attrs = append(attrs, slog.String("alert", d.Alert.String()), slog.String("error", err.Error()))
	}
	return attrs
}

// Snapshot is a copy of an engine's counters. Decisions is keyed by
// "version/status/return/outcome", for example
// "TLS1.3/SuccessRenew/UseRenew/use+renew"; only non-zero entries appear.
type Snapshot struct {
	Decisions map[string]uint64
	// Per version ("TLS1.2", "TLS1.3"):
	NoTicket  map[string]uint64 // connections that offered no ticket
	Resumed   map[string]uint64
	Fallbacks map[string]uint64 // use outcomes refused by a check after the callback
	Aborts    map[string]uint64
	Issued    map[string]uint64 // tickets issued
}

// Metrics returns a snapshot of the engine's counters.
func (e *Engine) Metrics() Snapshot {
	m := &e.metrics
	s := Snapshot{
		Decisions: map[string]uint64{},
		NoTicket:  map[string]uint64{}, Resumed: map[string]uint64{},
		Fallbacks: map[string]uint64{}, Aborts: map[string]uint64{}, Issued: map[string]uint64{},
	}
	for v, vname := range []string{"TLS1.2", "TLS1.3"} {
		for st := range numStatus {
			for r := range numReturn {
				rname := status.Return(r).String()
				if r == numReturn-1 {
					rname = "invalid"
				}
				for o := range numOutcome {
					if n := m.decisions[v][st][r][o].Load(); n > 0 {
						s.Decisions[vname+"/"+status.Status(st).String()+"/"+rname+"/"+status.Outcome(o).String()] = n
					}
				}
			}
		}
		s.NoTicket[vname] = m.noTicket[v].Load()
		s.Resumed[vname] = m.resumed[v].Load()
		s.Fallbacks[vname] = m.fallbacks[v].Load()
		s.Aborts[vname] = m.aborts[v].Load()
		s.Issued[vname] = m.issued[v].Load()
	}
	return s
}
