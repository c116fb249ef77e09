package tlsadapter

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/tlsticket/tlsticket/engine"
	"github.com/tlsticket/tlsticket/resumption"
)

// quicServer returns a TLS 1.3 server config for crypto/tls's QUIC API with
// an adapter on f's keys, store as the replay store (nil for none) and
// adjust applied to the adapter. The adapter's 0-RTT answers and the
// sealed max_early_data_size of resumed sessions go to log.
func quicServer(t *testing.T, f *fixture, store resumption.ReplayStore, log *quicLog, adjust func(*Adapter)) *tls.Config {
	t.Helper()
	c := &tls.Config{Certificates: []tls.Certificate{f.cert}, MinVersion: tls.VersionTLS13, NextProtos: []string{"h3"}}
	binding, err := Binding(c)
	if err != nil {
		t.Fatal(err)
	}
	e, err := engine.New(&engine.Config{Keys: f.keys, Binding: binding, ReplayStore: store, MaxEarlyData: 16384})
	if err != nil {
		t.Fatal(err)
	}
	a := New(e)
	a.OnEarlyData = func(_ tls.ConnectionState, err error) { log.add(err, false, 0) }
	a.OnDecision = func(_ tls.ConnectionState, d engine.Decision, _ error) {
		if d.Resumed {
			log.add(nil, true, d.Session.MaxEarlyData)
		}
	}
	if adjust != nil {
		adjust(a)
	}
	a.Install(c)
	return c
}

type quicLog struct {
	mu      sync.Mutex
	answers []error
	sealed  []uint32
}

func (l *quicLog) add(err error, resumed bool, sealed uint32) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if resumed {
		l.sealed = append(l.sealed, sealed)
	} else {
		l.answers = append(l.answers, err)
	}
}

// quicHandshake runs crypto/tls's QUIC API, which quic-go drives, between
// client and server in memory: the handshake, then one ticket from the
// server (allowing 0-RTT if allow0RTT, as quic-go's Allow0RTT does). It
// reports whether the client resumed and whether the server accepted 0-RTT
// (installed the 0-RTT read key).
func quicHandshake(t *testing.T, server, client *tls.Config, allow0RTT bool) (resumed, early bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	srv := tls.QUICServer(&tls.QUICConfig{TLSConfig: server, EnableSessionEvents: true})
	cli := tls.QUICClient(&tls.QUICConfig{TLSConfig: client, EnableSessionEvents: true})
	defer srv.Close()
	defer cli.Close()
	for _, c := range []*tls.QUICConn{cli, srv} {
		c.SetTransportParameters(nil)
		if err := c.Start(ctx); err != nil {
			t.Fatal(err)
		}
	}
	a, b := cli, srv
	idle, done := 0, 0
	for idle < 2 {
		ev := a.NextEvent()
		if ev.Kind == tls.QUICNoEvent {
			idle++
			a, b = b, a
			continue
		}
		idle = 0
		if err := quicEvent(ev, a, b, srv, &early, &done, allow0RTT); err != nil {
			t.Fatal(err)
		}
	}
	if done != 2 {
		t.Fatal("QUIC handshake incomplete")
	}
	return cli.ConnectionState().DidResume, early
}

// quicEvent handles one event of a for the handshake of quicHandshake.
func quicEvent(ev tls.QUICEvent, a, b, srv *tls.QUICConn, early *bool, done *int, allow0RTT bool) error {
	switch ev.Kind {
	case tls.QUICWriteData:
		return b.HandleData(ev.Level, ev.Data)
	case tls.QUICSetReadSecret:
		if a == srv && ev.Level == tls.QUICEncryptionLevelEarly {
			*early = true
		}
	case tls.QUICHandshakeDone:
		*done++
		if a == srv {
			return srv.SendSessionTicket(tls.QUICSessionTicketOptions{EarlyData: allow0RTT})
		}
	case tls.QUICStoreSession:
		return a.StoreSession(ev.SessionState)
	case tls.QUICErrorEvent:
		return fmt.Errorf("QUIC handshake: %w", ev.Err)
	}
	return nil
}

func quicClient(f *fixture, cache tls.ClientSessionCache) *tls.Config {
	return &tls.Config{RootCAs: f.roots, ServerName: "a.example", NextProtos: []string{"h3"}, MinVersion: tls.VersionTLS13, ClientSessionCache: cache}
}

// warmStore is a memory store without its start-up window.
func warmStore() *resumption.MemoryStore {
	return resumption.NewMemoryStore(resumption.MemoryStoreConfig{Window: time.Nanosecond})
}

// TestQUICEarlyData: under crypto/tls's QUIC API a ticket's 0-RTT is
// accepted only with the engine's approval and a matching early-data
// context; a refused 0-RTT still resumes.
func TestQUICEarlyData(t *testing.T) {
	tests := []struct {
		name            string
		store           resumption.ReplayStore
		issued, resumed string // early-data contexts
		spent           bool   // the ticket's 0-RTT was used before
		want            error
	}{
		{"approved", warmStore(), "", "", false, nil},
		{"approved with a context", warmStore(), "v1", "v1", false, nil},
		{"no replay store", nil, "", "", false, engine.ErrNoReplayStore},
		{"spent", warmStore(), "", "", true, engine.ErrEarlyDataReplay},
		{"context changed", warmStore(), "v1", "v2", false, ErrEarlyDataContext},
		{"store down", failingStore{}, "", "", false, engine.ErrReplayStore},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			var log quicLog
			withContext := func(c string) func(*Adapter) {
				return func(a *Adapter) { a.EarlyDataContext = []byte(c) }
			}
			issuer := quicServer(t, f, tt.store, &log, withContext(tt.issued))
			resumer := quicServer(t, f, tt.store, &log, withContext(tt.resumed))
			cache := &anyCache{}
			if resumed, _ := quicHandshake(t, issuer, quicClient(f, cache), true); resumed {
				t.Fatal("the first handshake resumed")
			}
			ticket := &anyCache{cs: cache.cs}
			if tt.spent {
				quicHandshake(t, resumer, quicClient(f, &anyCache{cs: cache.cs}), true)
			}
			resumed, early := quicHandshake(t, resumer, quicClient(f, ticket), true)
			if !resumed || early != (tt.want == nil) {
				t.Fatalf("resumed %v, 0-RTT %v; want resumed, 0-RTT %v", resumed, early, tt.want == nil)
			}
			log.mu.Lock()
			defer log.mu.Unlock()
			if got := log.answers[len(log.answers)-1]; (got == nil) != (tt.want == nil) || !errors.Is(got, tt.want) {
				t.Fatalf("adapter's answer %v, want %v", got, tt.want)
			}
		})
	}
}

// TestQUICMaxEarlyData: the adapter seals the max_early_data_size that
// crypto/tls advertises for QUIC (0xffffffff or none, RFC 9001, Section
// 4.6.1), not the engine's MaxEarlyData (16384 here), and tickets that
// allow no 0-RTT never ask the replay store.
func TestQUICMaxEarlyData(t *testing.T) {
	for _, allow := range []bool{true, false} {
		t.Run(fmt.Sprint("allow0RTT=", allow), func(t *testing.T) {
			f := newFixture(t)
			var log quicLog
			srv := quicServer(t, f, warmStore(), &log, nil)
			cache := &anyCache{}
			quicHandshake(t, srv, quicClient(f, cache), allow)
			resumed, early := quicHandshake(t, srv, quicClient(f, cache), allow)
			want := uint32(0)
			if allow {
				want = 0xffffffff
			}
			log.mu.Lock()
			defer log.mu.Unlock()
			if !resumed || early != allow || len(log.sealed) != 1 || log.sealed[0] != want {
				t.Fatalf("resumed %v, 0-RTT %v, sealed %v; want resumed, 0-RTT %v, sealed [%#x]", resumed, early, log.sealed, allow, want)
			}
			if !allow && len(log.answers) != 0 {
				t.Fatalf("the adapter was asked about 0-RTT for a ticket that allows none: %v", log.answers)
			}
		})
	}
}

// failingStore is a replay store whose backend is down.
type failingStore struct{}

func (failingStore) CheckAndStore(context.Context, []byte, time.Duration) (bool, error) {
	return false, errors.New("connection refused")
}
