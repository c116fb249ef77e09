// Package promexport exports the counters of a tlsticket [engine.Engine],
// its key ring and its replay store as Prometheus metrics.
//
// A [Collector] reads everything when Prometheus scrapes it: the engine's
// [engine.Snapshot], the seal count of each key in the current Ring
// ([seal.Key.Seals]), the Ring replacements of a [seal.Rotator] and the
// fill level of a replay store. It adds nothing to the handshake path.
// The package lives apart from the engine so that a TLS stack that
// imports the engine pulls in no Prometheus code.
//
// # Metrics
//
// All metrics are in the tlsticket namespace:
//
//	resumption_decisions_total{version,status,return,outcome}
//	                                      tickets examined, by what the callback and the table decided
//	no_ticket_total{version}              connections that offered no ticket
//	resumed_total{version}                sessions resumed
//	fallbacks_total{version,check}        resumptions refused by a check after the callback
//	aborts_total{version}                 handshakes aborted
//	tickets_issued_total{version}         tickets sealed
//	tickets_skipped_total{version}        tickets declined by GenerateTicket
//	ticket_age_seconds{version}           histogram of the age of tickets that resumed
//	early_data_accepted_total             0-RTT accepted
//	early_data_rejected_total{reason}     0-RTT offered and rejected
//	replay_store_errors_total             0-RTT refused because the replay store failed
//	replay_store_entries, replay_store_capacity
//	                                      fill level of the replay store, if it reports one
//	key_tickets_sealed_total{key,aead}    tickets sealed by each key of the current Ring
//	key_tickets_opened_total{key,aead}    tickets opened by each key of the current Ring
//	key_primary{key}                      1 for the key that seals, 0 for the others
//	key_ring_changes_total                Ring replacements by the Rotator (key phase changes)
//
// Key labels are key names, which every ticket carries in the clear; no
// metric holds a secret.
package promexport

import (
	"strings"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tlsticket/tlsticket/engine"
	"github.com/tlsticket/tlsticket/seal"
)

// Sizer is a replay store that reports its fill level, such as
// resumption.MemoryStore.
type Sizer interface {
	// Len returns the number of entries the store holds.
	Len() int
	// Cap returns the number of entries the store can hold.
	Cap() int
}

// Options says what a [Collector] reads besides the engine. Each field may
// be nil.
type Options struct {
	// Rotator is the loop that keeps the engine's keys current. Its
	// Keyring is read for the seal counts unless Keyring is set.
	Rotator *seal.Rotator
	// Keyring holds the engine's keys.
	Keyring *seal.Keyring
	// ReplayStore is the engine's replay store, if it reports its fill
	// level.
	ReplayStore Sizer
}

// Collector is a [prometheus.Collector] of an engine's metrics. Register it
// with a [prometheus.Registry].
type Collector struct {
	e    *engine.Engine
	opts Options
}

var _ prometheus.Collector = (*Collector)(nil)

// New returns a Collector of e and of what opts names.
func New(e *engine.Engine, opts Options) *Collector {
	if opts.Keyring == nil && opts.Rotator != nil {
		opts.Keyring = opts.Rotator.Keyring()
	}
	return &Collector{e: e, opts: opts}
}

func desc(name, help string, labels ...string) *prometheus.Desc {
	return prometheus.NewDesc("tlsticket_"+name, help, labels, nil)
}

var (
	descDecisions      = desc("resumption_decisions_total", "Tickets examined, by status, callback return and outcome.", "version", "status", "return", "outcome")
	descNoTicket       = desc("no_ticket_total", "Connections that offered no ticket.", "version")
	descResumed        = desc("resumed_total", "Sessions resumed.", "version")
	descFallbacks      = desc("fallbacks_total", "Resumptions turned into full handshakes by a check after the callback.", "version", "check")
	descAborts         = desc("aborts_total", "Handshakes aborted by the engine.", "version")
	descIssued         = desc("tickets_issued_total", "Tickets issued.", "version")
	descSkipped        = desc("tickets_skipped_total", "Tickets declined by the GenerateTicket callback.", "version")
	descAge            = desc("ticket_age_seconds", "Age of tickets when they resumed a session.", "version")
	descEarlyAccepted  = desc("early_data_accepted_total", "0-RTT data accepted.")
	descEarlyRejected  = desc("early_data_rejected_total", "0-RTT data offered and rejected, by reason.", "reason")
	descReplayErrors   = desc("replay_store_errors_total", "0-RTT data rejected because the replay store failed.")
	descReplayEntries  = desc("replay_store_entries", "Entries in the replay store.")
	descReplayCapacity = desc("replay_store_capacity", "Entries the replay store can hold.")
	descKeySealed      = desc("key_tickets_sealed_total", "Tickets sealed by each key of the current key ring.", "key", "aead")
	descKeyOpened      = desc("key_tickets_opened_total", "Tickets opened by each key of the current key ring.", "key", "aead")
	descKeyPrimary     = desc("key_primary", "1 for the key of the current ring that seals, 0 for the others.", "key")
	descRingChanges    = desc("key_ring_changes_total", "Key ring replacements by the rotation loop: key phase changes, key file changes, seal limits.")
)

// Describe implements [prometheus.Collector].
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descDecisions, descNoTicket, descResumed, descFallbacks, descAborts,
		descIssued, descSkipped, descAge, descEarlyAccepted, descEarlyRejected, descReplayErrors} {
		ch <- d
	}
	if c.opts.ReplayStore != nil {
		ch <- descReplayEntries
		ch <- descReplayCapacity
	}
	if c.opts.Keyring != nil {
		ch <- descKeySealed
		ch <- descKeyOpened
		ch <- descKeyPrimary
	}
	if c.opts.Rotator != nil {
		ch <- descRingChanges
	}
}

// Collect implements [prometheus.Collector].
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	s := c.e.Metrics()
	counter := func(d *prometheus.Desc, v uint64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	for key, n := range s.Decisions {
		// "version/status/return/outcome"
		if l := strings.Split(key, "/"); len(l) == 4 {
			counter(descDecisions, n, l...)
		}
	}
	for key, n := range s.FallbackReasons {
		if version, check, ok := strings.Cut(key, "/"); ok {
			counter(descFallbacks, n, version, check)
		}
	}
	for _, v := range []struct {
		d *prometheus.Desc
		m map[string]uint64
	}{{descNoTicket, s.NoTicket}, {descResumed, s.Resumed}, {descAborts, s.Aborts}, {descIssued, s.Issued}, {descSkipped, s.Skipped}} {
		for version, n := range v.m {
			counter(v.d, n, version)
		}
	}
	for version, h := range s.TicketAge {
		ch <- ageHistogram(version, h)
	}
	counter(descEarlyAccepted, s.EarlyDataAccepted)
	for reason, n := range s.EarlyDataRejected {
		counter(descEarlyRejected, n, reason)
	}
	counter(descReplayErrors, s.EarlyDataRejected["store_error"])
	if st := c.opts.ReplayStore; st != nil {
		ch <- prometheus.MustNewConstMetric(descReplayEntries, prometheus.GaugeValue, float64(st.Len()))
		ch <- prometheus.MustNewConstMetric(descReplayCapacity, prometheus.GaugeValue, float64(st.Cap()))
	}
	if kr := c.opts.Keyring; kr != nil {
		ring := kr.Load()
		for _, k := range ring.Keys() {
			name := k.Name().String()
			counter(descKeySealed, k.Seals(), name, k.AEAD().String())
			counter(descKeyOpened, k.Opens(), name, k.AEAD().String())
			primary := 0.0
			if k == ring.Primary() {
				primary = 1
			}
			ch <- prometheus.MustNewConstMetric(descKeyPrimary, prometheus.GaugeValue, primary, name)
		}
	}
	if r := c.opts.Rotator; r != nil {
		counter(descRingChanges, r.Changes())
	}
}

// ageHistogram returns the ticket age histogram of version as a Prometheus
// histogram, whose buckets are cumulative and in seconds.
func ageHistogram(version string, h engine.Histogram) prometheus.Metric {
	buckets := make(map[float64]uint64, len(h.Bounds))
	var count uint64
	for i, n := range h.Counts {
		count += n
		if i < len(h.Bounds) {
			buckets[h.Bounds[i].Seconds()] = count
		}
	}
	return prometheus.MustNewConstHistogram(descAge, count, h.Sum.Seconds(), buckets, version)
}
