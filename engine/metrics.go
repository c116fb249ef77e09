package engine

import (
	"context"
	"encoding/hex"
	"errors"
	"log/slog"
	"sync/atomic"
	"time"

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

// Reason labels of the fallback and 0-RTT counters, in the order of the
// checks; a label is its sentinel's short name.
var (
	fallbackReasons = []reason{
		{ErrVersionMismatch, "version"}, {ErrNotYetValid, "not_yet_valid"}, {ErrExpired, "expired"},
		{ErrSessionExpired, "session_age"}, {ErrBindingMismatch, "binding"}, {ErrServerNameMismatch, "server_name"},
		{ErrALPNMismatch, "alpn"}, {ErrEMSMismatch, "ems"}, {ErrCipherSuiteMismatch, "cipher_suite"},
		{ErrTicketReused, "single_use"},
	}
	earlyDataReasons = []reason{
		{ErrEarlyDataNotFirst, "not_first"}, {ErrEarlyDataAfterHRR, "after_hrr"}, {ErrEarlyDataDisabled, "disabled"},
		{ErrEarlyDataSuite, "cipher_suite"}, {ErrEarlyDataStale, "stale"}, {ErrNoReplayStore, "no_replay_store"},
		{ErrEarlyDataReplay, "replay"}, {ErrReplayStore, "store_error"},
	}
)

type reason struct {
	err   error
	label string
}

// reasonIndex returns the index in reasons of the sentinel err wraps, or
// len(reasons) for another error.
func reasonIndex(reasons []reason, err error) int {
	for i, r := range reasons {
		if errors.Is(err, r.err) {
			return i
		}
	}
	return len(reasons)
}

// AgeBuckets are the upper bounds of the ticket age histogram (the age of a
// ticket when it resumes a session), chosen to tune lifetimes and key
// rotation: from a minute to the 7-day TLS 1.3 limit.
var AgeBuckets = []time.Duration{
	time.Minute, 5 * time.Minute, 15 * time.Minute, time.Hour, 2 * time.Hour, 6 * time.Hour,
	12 * time.Hour, 24 * time.Hour, 3 * 24 * time.Hour, 7 * 24 * time.Hour,
}

const numAgeBuckets = 10

// metrics holds the engine's counters. They are atomic, so counting takes no
// lock on the open and issue paths.
type metrics struct {
	decisions  [2][numStatus][numReturn][numOutcome]atomic.Uint64
	noTicket   [2]atomic.Uint64     // opened with no ticket offered
	fallbacks  [2][11]atomic.Uint64 // use outcomes turned into full handshakes, by reason (last: other)
	aborts     [2]atomic.Uint64     // every abort, with or without a callback
	resumed    [2]atomic.Uint64
	issued     [2]atomic.Uint64 // tickets sealed by Issue
	skipped    [2]atomic.Uint64 // tickets declined by GenerateTicket
	early      atomic.Uint64    // 0-RTT accepted
	earlyNo    [9]atomic.Uint64 // 0-RTT offered and rejected, by reason (last: other)
	age        [2][numAgeBuckets + 1]atomic.Uint64
	ageSumMsec [2]atomic.Uint64
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
		m.fallbacks[v][reasonIndex(fallbackReasons, d.Fallback)].Add(1)
	}
	if err != nil {
		m.aborts[v].Add(1)
	}
	if d.Resumed {
		m.resumed[v].Add(1)
		age := max(d.TicketAge, 0)
		i := 0
		for i < numAgeBuckets && age > AgeBuckets[i] {
			i++
		}
		m.age[v][i].Add(1)
		m.ageSumMsec[v].Add(uint64(age / time.Millisecond))
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

// recordEarlyData counts the 0-RTT decision of a ClientHello that offered
// early data.
func (e *Engine) recordEarlyData(accepted bool, err error) {
	if accepted {
		e.metrics.early.Add(1)
		return
	}
	e.metrics.earlyNo[reasonIndex(earlyDataReasons, err)].Add(1)
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
	Skipped   map[string]uint64 // tickets declined by GenerateTicket
	// FallbackReasons is keyed by "version/check", the check being one of
	// version, not_yet_valid, expired, session_age, binding, server_name,
	// alpn, ems, cipher_suite, single_use (or other); non-zero entries only.
	FallbackReasons map[string]uint64
	// EarlyDataAccepted counts 0-RTT accepted; EarlyDataRejected counts
	// 0-RTT offered and rejected, by reason: not_first, after_hrr,
	// disabled, cipher_suite, stale, no_replay_store, replay, store_error.
	EarlyDataAccepted uint64
	EarlyDataRejected map[string]uint64
	// TicketAge is, per version, the age of tickets when they resumed a
	// session.
	TicketAge map[string]Histogram
}

// Histogram counts observations in buckets: Counts[i] those at most
// Bounds[i] and above Bounds[i-1], and the last Count those above every
// bound. Sum is the sum of the observations.
type Histogram struct {
	Bounds []time.Duration
	Counts []uint64
	Sum    time.Duration
}

// Metrics returns a snapshot of the engine's counters.
func (e *Engine) Metrics() Snapshot {
	m := &e.metrics
	s := Snapshot{
		Decisions: map[string]uint64{},
		NoTicket:  map[string]uint64{}, Resumed: map[string]uint64{},
		Fallbacks: map[string]uint64{}, Aborts: map[string]uint64{}, Issued: map[string]uint64{},
		Skipped: map[string]uint64{}, FallbackReasons: map[string]uint64{},
		EarlyDataAccepted: m.early.Load(), EarlyDataRejected: map[string]uint64{}, TicketAge: map[string]Histogram{},
	}
	for i := range m.earlyNo {
		if n := m.earlyNo[i].Load(); n > 0 {
			s.EarlyDataRejected[reasonLabel(earlyDataReasons, i)] = n
		}
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
		var fallbacks uint64
		for i := range m.fallbacks[v] {
			n := m.fallbacks[v][i].Load()
			if n > 0 {
				s.FallbackReasons[vname+"/"+reasonLabel(fallbackReasons, i)] = n
			}
			fallbacks += n
		}
		s.Fallbacks[vname] = fallbacks
		s.Skipped[vname] = m.skipped[v].Load()
		h := Histogram{Bounds: AgeBuckets, Counts: make([]uint64, numAgeBuckets+1),
			Sum: time.Duration(m.ageSumMsec[v].Load()) * time.Millisecond}
		for i := range h.Counts {
			h.Counts[i] = m.age[v][i].Load()
		}
		s.TicketAge[vname] = h
		s.Aborts[vname] = m.aborts[v].Load()
		s.Issued[vname] = m.issued[v].Load()
	}
	return s
}

func reasonLabel(reasons []reason, i int) string {
	if i < len(reasons) {
		return reasons[i].label
	}
	return "other"
}
