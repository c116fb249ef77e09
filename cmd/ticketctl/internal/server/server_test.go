package server

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"runtime"
	"testing"
	"time"

	"github.com/tlsticket/tlsticket/engine"
	"github.com/tlsticket/tlsticket/internal/testkit"
	"github.com/tlsticket/tlsticket/seal"
)

// TestHandshakesRecent checks that the server keeps the most recent
// records, oldest first, and counts them all.
func TestHandshakesRecent(t *testing.T) {
	var s Server
	if got := s.Handshakes(); len(got) != 0 {
		t.Fatalf("Handshakes() of a new server = %d records, want 0", len(got))
	}
	const n = RecentHandshakes + 10
	for i := range n {
		s.record(Handshake{ServerName: fmt.Sprint(i), Resumed: i%2 == 0, Err: map[bool]string{true: "bad"}[i%5 == 0]})
		hs := s.Handshakes()
		if want := min(i+1, RecentHandshakes); len(hs) != want {
			t.Fatalf("after %d records: Handshakes() has %d, want %d", i+1, len(hs), want)
		}
		for j, h := range hs {
			if want := fmt.Sprint(i + 1 - len(hs) + j); h.ServerName != want {
				t.Fatalf("after %d records: record %d is %q, want %q", i+1, j, h.ServerName, want)
			}
		}
	}
	if got, want := s.Stats(), (Stats{Handshakes: n, Resumed: (n + 1) / 2, Failed: (n + 4) / 5}); got != want {
		t.Errorf("Stats() = %+v, want %+v", got, want)
	}
}

// TestMemoryFlat resumes sessions over loopback with real crypto/tls
// clients and checks that the server's live heap does not grow with the
// number of handshakes it has served.
func TestMemoryFlat(t *testing.T) {
	// rounds is the number of resumptions per version in each of the two
	// measured runs. A server that kept every record (about 280 bytes per
	// handshake) grew by three times the tolerance between the runs; one that
	// keeps a bounded number grows by a few KiB.
	const rounds = 250
	const tolerance = 64 << 10
	keys := seal.NewKeyring(testkit.Ring(t, testkit.Key(t, seal.AES128GCM, "server memory")))
	srv, err := New(Config{Addr: "127.0.0.1:0", Engine: engine.Config{Keys: keys}})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	var clients []*tls.Config
	for _, v := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
		clients = append(clients, &tls.Config{InsecureSkipVerify: true, MinVersion: v, MaxVersion: v, ClientSessionCache: tls.NewLRUClientSessionCache(1)})
	}
	resume := func(n int) {
		t.Helper()
		for range n {
			for _, cfg := range clients {
				c, err := tls.Dial("tcp", srv.Addr(), cfg)
				if err != nil {
					t.Fatal(err)
				}
				io.ReadAll(c) // the tickets arrive before close_notify
				c.Close()
			}
		}
	}
	resume(50) // warm up: first sessions, pools, goroutine stacks
	start := liveHeap()
	resume(rounds)
	mid := liveHeap()
	resume(rounds)
	end := liveHeap()
	st := srv.Stats()
	t.Logf("%d handshakes (%d resumed, %d failed); live heap %d, %d, %d bytes after 100, %d and %d",
		st.Handshakes, st.Resumed, st.Failed, start, mid, end, 100+2*rounds, 100+4*rounds)
	if want := int64(100 + 4*rounds); st.Handshakes != want || st.Resumed != want-2 || st.Failed != 0 {
		t.Errorf("Stats() = %+v, want %d handshakes, all but the first two resumed, none failed", st, want)
	}
	if end > mid+tolerance {
		t.Errorf("the live heap grew by %d bytes over %d handshakes (from %d to %d), more than %d", end-mid, 2*rounds, mid, end, tolerance)
	}
}

// liveHeap returns the bytes of live heap objects.
func liveHeap() int64 {
	// Two collections: the first leaves sync.Pool's victim caches alive.
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapAlloc)
}

// TestNoTicketCounted is the regression test of the counter that disagreed
// with the log: crypto/tls calls UnwrapSession for every TLS 1.2
// ClientHello but, in TLS 1.3, only when the client offers a PSK, so a
// fresh TLS 1.3 connection reached the engine only through WrapSession and
// Snapshot.NoTicket["TLS1.3"] stayed 0 while the log said "no ticket".
func TestNoTicketCounted(t *testing.T) {
	keys := seal.NewKeyring(testkit.Ring(t, testkit.Key(t, seal.AES128GCM, "no ticket")))
	srv, err := New(Config{Addr: "127.0.0.1:0", Engine: engine.Config{Keys: keys}})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	for _, v := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
		cache := tls.NewLRUClientSessionCache(1)
		for range 2 { // fresh, then resumed: one connection without a ticket
			c, err := tls.Dial("tcp", srv.Addr(), &tls.Config{InsecureSkipVerify: true, MinVersion: v, MaxVersion: v, ClientSessionCache: cache})
			if err != nil {
				t.Fatal(err)
			}
			io.ReadAll(c)
			c.Close()
		}
	}
	m := srv.Engine().Metrics()
	for _, v := range []string{"TLS1.2", "TLS1.3"} {
		if m.NoTicket[v] != 1 || m.Resumed[v] != 1 {
			t.Errorf("%s: NoTicket %d, Resumed %d; want 1 and 1", v, m.NoTicket[v], m.Resumed[v])
		}
	}
	var noTicket int
	for _, h := range srv.Handshakes() {
		if h.Outcome == "no ticket" {
			noTicket++
		}
	}
	if noTicket != 2 {
		t.Errorf("the log has %d handshakes with no ticket, want 2", noTicket)
	}
}

// TestDefaultCertificate checks the certificate a server given none
// presents: self-signed for localhost and 127.0.0.1, and valid long after
// the first day, since a server runs for days (it was made by a test-kit
// authority valid for 24 hours, so a serve left running presented an
// expired certificate on its second day).
func TestDefaultCertificate(t *testing.T) {
	srv, err := New(Config{Addr: "127.0.0.1:0", Engine: engine.Config{Keys: seal.NewKeyring(testkit.Ring(t, testkit.Key(t, seal.AES256GCM, "cert")))}})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	c, err := tls.Dial("tcp", srv.Addr(), &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	io.ReadAll(c)
	c.Close()
	chain := c.ConnectionState().PeerCertificates
	if len(chain) != 1 {
		t.Fatalf("the server presented %d certificates, want 1 (self-signed)", len(chain))
	}
	leaf := chain[0]
	roots := x509.NewCertPool()
	roots.AddCert(leaf)
	later := time.Now().Add(300 * 24 * time.Hour)
	for _, name := range []string{"localhost", "127.0.0.1"} {
		if _, err := leaf.Verify(x509.VerifyOptions{DNSName: name, Roots: roots, CurrentTime: later}); err != nil {
			t.Errorf("the certificate for %s, 300 days on: %v", name, err)
		}
	}
}
