package quic_test

import (
	"testing"

	"github.com/quic-go/quic-go"

	"github.com/tlsticket/tlsticket/engine"
	"github.com/tlsticket/tlsticket/engine/tlsadapter"
	"github.com/tlsticket/tlsticket/quic/internal/loopback"
)

// TestResumption: a quic-go server without 0-RTT resumes the engine's
// tickets in 1-RTT, and never asks about 0-RTT.
func TestResumption(t *testing.T) {
	id := newIdentity(t)
	var log earlyLog
	cfg := nodeConfig(id, testKeys(t), testStore(), &log)
	cfg.Allow0RTT = false
	n := startNode(t, cfg)
	cache := loopback.NewSessionCache()
	firstTicket(t, id, cache, n.Addr.String())
	for i := range 3 {
		res := exchange(t, id, cache, n.Addr.String(), newPayload("resume"))
		if !res.Resumed || res.Used0RTT {
			t.Fatalf("resumption %d: resumed %v, 0-RTT %v; want 1-RTT resumption", i, res.Resumed, res.Used0RTT)
		}
	}
	if _, asked := log.Last(); asked {
		t.Error("the adapter was asked about 0-RTT for tickets that do not allow it")
	}
}

// TestZeroRTTOncePerTicket: each ticket's 0-RTT is accepted once; every
// resumption brings a new ticket, whose 0-RTT is accepted in turn.
func TestZeroRTTOncePerTicket(t *testing.T) {
	id := newIdentity(t)
	var log earlyLog
	n := startNode(t, nodeConfig(id, testKeys(t), testStore(), &log))
	cache := loopback.NewSessionCache()
	firstTicket(t, id, cache, n.Addr.String())
	var used *loopback.SessionCache
	for i := range 3 {
		used = cache.Clone() // the ticket about to be used
		p := newPayload("early")
		res := exchange(t, id, cache, n.Addr.String(), p)
		if !res.Resumed || !res.Used0RTT {
			t.Fatalf("resumption %d with a new ticket: resumed %v, 0-RTT %v; want 0-RTT", i, res.Resumed, res.Used0RTT)
		}
		if got := n.Received(p); len(got) != 1 || !got[0].Used0RTT {
			t.Fatalf("server read %+v, want the request once, in 0-RTT", got)
		}
		log.wantAnswer(t, nil)
	}
	// The last ticket used, again.
	res := exchange(t, id, used, n.Addr.String(), newPayload("again"))
	if !res.Resumed || res.Used0RTT {
		t.Fatalf("a ticket whose 0-RTT was used: resumed %v, 0-RTT %v; want 1-RTT resumption", res.Resumed, res.Used0RTT)
	}
	log.wantAnswer(t, engine.ErrEarlyDataReplay)
}

// TestNoReplayStore: an engine without a replay store never lets quic-go
// accept 0-RTT, even with Allow0RTT; resumption goes on in 1-RTT.
func TestNoReplayStore(t *testing.T) {
	id := newIdentity(t)
	var log earlyLog
	n := startNode(t, nodeConfig(id, testKeys(t), nil, &log))
	cache := loopback.NewSessionCache()
	firstTicket(t, id, cache, n.Addr.String())
	res := exchange(t, id, cache, n.Addr.String(), newPayload("early"))
	if !res.Resumed || res.Used0RTT {
		t.Fatalf("resumed %v, 0-RTT %v; want 1-RTT resumption", res.Resumed, res.Used0RTT)
	}
	log.wantAnswer(t, engine.ErrNoReplayStore)
}

// TestMaxEarlyDataIsQUICs: in QUIC a ticket's max_early_data_size is
// 0xffffffff or absent (RFC 9001, Section 4.6.1), set by quic-go's
// Allow0RTT; the engine's TLS-over-TCP MaxEarlyData neither enables nor
// disables QUIC 0-RTT, nor is it sealed in QUIC tickets.
func TestMaxEarlyDataIsQUICs(t *testing.T) {
	tests := []struct {
		name         string
		maxEarlyData uint32 // the engine's
		allow0RTT    bool   // quic-go's
		want0RTT     bool
		wantSealed   uint32
	}{
		{"engine none, quic-go 0-RTT", 0, true, true, 0xffffffff},
		{"engine 16384, quic-go 0-RTT", 16384, true, true, 0xffffffff},
		{"engine 16384, quic-go none", 16384, false, false, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id := newIdentity(t)
			var log earlyLog
			cfg := nodeConfig(id, testKeys(t), testStore(), &log)
			cfg.MaxEarlyData, cfg.Allow0RTT = tt.maxEarlyData, tt.allow0RTT
			n := startNode(t, cfg)
			cache := loopback.NewSessionCache()
			firstTicket(t, id, cache, n.Addr.String())
			res := exchange(t, id, cache, n.Addr.String(), newPayload("early"))
			if !res.Resumed || res.Used0RTT != tt.want0RTT {
				t.Fatalf("resumed %v, 0-RTT %v; want resumed, 0-RTT %v", res.Resumed, res.Used0RTT, tt.want0RTT)
			}
			if got := log.SealedMaxEarlyData(); len(got) != 1 || got[0] != tt.wantSealed {
				t.Fatalf("sealed max_early_data_size %v, want [%#x]", got, tt.wantSealed)
			}
		})
	}
}

// TestTransportParametersChanged: a server whose flow-control limit shrank
// since the ticket was issued rejects 0-RTT (RFC 9000, Section 7.4.1;
// checked by quic-go), and resumes in 1-RTT.
func TestTransportParametersChanged(t *testing.T) {
	id := newIdentity(t)
	keys, store := testKeys(t), testStore()
	before := nodeConfig(id, keys, store, nil)
	before.Quic = &quic.Config{InitialStreamReceiveWindow: 1 << 20, InitialConnectionReceiveWindow: 1 << 21}
	after := nodeConfig(id, keys, store, nil)
	after.Quic = &quic.Config{InitialStreamReceiveWindow: 1 << 16, InitialConnectionReceiveWindow: 1 << 17}
	issuer, resumer := startNode(t, before), startNode(t, after)
	cache := loopback.NewSessionCache()
	firstTicket(t, id, cache, issuer.Addr.String())
	p := newPayload("early")
	res := exchange(t, id, cache, resumer.Addr.String(), p)
	if !res.Resumed || res.Used0RTT {
		t.Fatalf("resumed %v, 0-RTT %v; want 1-RTT resumption", res.Resumed, res.Used0RTT)
	}
	if got := resumer.Received(p); len(got) != 1 || got[0].Used0RTT {
		t.Fatalf("server read %+v, want the request once, in 1-RTT", got)
	}
}

// TestEarlyDataContext: a ticket issued under another early-data context
// (RFC 9000, Section 7.4.1) resumes without 0-RTT; under the same context
// it gets 0-RTT.
func TestEarlyDataContext(t *testing.T) {
	tests := []struct {
		name           string
		issued, server string
		want           error
	}{
		{"same", "settings v1", "settings v1", nil},
		{"changed", "settings v1", "settings v2", tlsadapter.ErrEarlyDataContext},
		{"added", "", "settings v1", tlsadapter.ErrEarlyDataContext},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id := newIdentity(t)
			keys, store := testKeys(t), testStore()
			var log earlyLog
			withContext := func(c string) loopback.NodeConfig {
				cfg := nodeConfig(id, keys, store, &log)
				cfg.Adjust = func(a *tlsadapter.Adapter) {
					log.install(a)
					a.EarlyDataContext = []byte(c)
				}
				return cfg
			}
			issuer, resumer := startNode(t, withContext(tt.issued)), startNode(t, withContext(tt.server))
			cache := loopback.NewSessionCache()
			firstTicket(t, id, cache, issuer.Addr.String())
			res := exchange(t, id, cache, resumer.Addr.String(), newPayload("early"))
			if !res.Resumed || res.Used0RTT != (tt.want == nil) {
				t.Fatalf("resumed %v, 0-RTT %v; want resumed, 0-RTT %v", res.Resumed, res.Used0RTT, tt.want == nil)
			}
			log.wantAnswer(t, tt.want)
		})
	}
}
