// Package benchmarks compares tlsticket with crypto/tls's own session
// tickets, across packages. The benchmarks of a single package sit beside
// its code (seal, engine, resumption); `make bench` runs them all and
// summarises them with benchstat:
//
//	go test -run='^$' -bench=. -benchmem ./benchmarks
//
// The names are:
//
//   - CryptoTLS/EncryptTicket/<n>, CryptoTLS/DecryptTicket/<n>:
//     [tls.Config.EncryptTicket] and [tls.Config.DecryptTicket] of a real
//     crypto/tls TLS 1.3 session state padded to n bytes, the plaintext
//     sizes of seal's Seal/<AEAD>/<n>.
//   - Handshake/Resumed/stack=<stack>/<version>: one resumed handshake over
//     loopback TCP with tickets from the tlsadapter (Adapter) or from
//     crypto/tls (CryptoTLS), reported as handshakes/s too.
//   - TicketSize/<stack>/<version>/<auth>: the ticket a server sends for a
//     real session, with and without a client certificate chain, reported
//     as bytes/ticket; ns/op is the cost of wrapping it.
package benchmarks

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/tlsticket/tlsticket/engine"
	"github.com/tlsticket/tlsticket/engine/tlsadapter"
	"github.com/tlsticket/tlsticket/internal/testcert"
	"github.com/tlsticket/tlsticket/seal"
)

// serverName is a name of the test server certificate.
const serverName = "tlsticket.test"

// timeout bounds every connection.
const timeout = 10 * time.Second

var versions = []struct {
	name string
	v    uint16
}{{"TLS12", tls.VersionTLS12}, {"TLS13", tls.VersionTLS13}}

// configs returns a server and a client config for version v, X25519 only
// so that the ticket work is not lost under a post-quantum key share. With
// clientCert, the server requires a client certificate and the client
// presents its chain. The server uses crypto/tls's own tickets.
func configs(b *testing.B, v uint16, clientCert bool) (srv, cli *tls.Config) {
	b.Helper()
	roots := testcert.Roots()
	srv = &tls.Config{
		Certificates:     []tls.Certificate{testcert.Server()},
		MinVersion:       v,
		MaxVersion:       v,
		CurvePreferences: []tls.CurveID{tls.X25519},
	}
	cli = &tls.Config{
		RootCAs:            roots,
		ServerName:         serverName,
		MinVersion:         v,
		MaxVersion:         v,
		CurvePreferences:   []tls.CurveID{tls.X25519},
		ClientSessionCache: tls.NewLRUClientSessionCache(4),
	}
	if clientCert {
		srv.ClientAuth = tls.RequireAndVerifyClientCert
		srv.ClientCAs = roots
		cli.Certificates = []tls.Certificate{testcert.Client()}
	}
	return srv, cli
}

// installAdapter makes srv issue and open its tickets through the
// tlsadapter, with an engine bound to srv and a one-key AES-256-GCM ring.
func installAdapter(b *testing.B, srv *tls.Config) *tlsadapter.Adapter {
	b.Helper()
	binding, err := tlsadapter.Binding(srv)
	if err != nil {
		b.Fatal(err)
	}
	key, err := seal.GenerateKey(seal.AES256GCM, nil)
	if err != nil {
		b.Fatal(err)
	}
	ring, err := seal.NewRing(nil, key)
	if err != nil {
		b.Fatal(err)
	}
	e, err := engine.New(&engine.Config{Keys: seal.NewKeyring(ring), Binding: binding})
	if err != nil {
		b.Fatal(err)
	}
	a := tlsadapter.New(e)
	a.Install(srv)
	return a
}

// startServer serves srv on a loopback port until the benchmark ends and
// returns its address.
func startServer(b *testing.B, srv *tls.Config) string {
	b.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Go(func() { serve(ln, srv) })
	b.Cleanup(func() { ln.Close(); wg.Wait() })
	return ln.Addr().String()
}

// serve accepts connections on ln until it is closed, and for each one in
// turn completes the handshake, writes one byte, waits for the client to
// close and closes.
func serve(ln net.Listener, config *tls.Config) {
	for {
		conn, err := ln.Accept()
		if err != nil {
			return
		}
		conn.SetDeadline(time.Now().Add(timeout))
		tc := tls.Server(conn, config)
		if err := tc.Handshake(); err == nil {
			if _, err := tc.Write([]byte{1}); err == nil {
				io.Copy(io.Discard, tc)
			}
		}
		tc.Close()
	}
}

// dial connects to addr, completes a handshake, reads the server's byte
// (so that a TLS 1.3 client also reads and stores the NewSessionTicket),
// closes and reports whether the session was resumed.
func dial(addr string, config *tls.Config) (bool, error) {
	conn, err := net.DialTimeout("tcp", addr, timeout)
	if err != nil {
		return false, err
	}
	conn.SetDeadline(time.Now().Add(timeout))
	// Close with a reset rather than FIN, so that thousands of connections
	// a second leave no sockets in TIME_WAIT.
	if tcp, ok := conn.(*net.TCPConn); ok {
		tcp.SetLinger(0)
	}
	tc := tls.Client(conn, config)
	defer tc.Close()
	if err := tc.Handshake(); err != nil {
		return false, fmt.Errorf("handshake: %w", err)
	}
	var one [1]byte
	if _, err := io.ReadFull(tc, one[:]); err != nil {
		return false, fmt.Errorf("read: %w", err)
	}
	if one[0] != 1 {
		return false, errors.New("unexpected byte from server")
	}
	return tc.ConnectionState().DidResume, nil
}

// session is what the server's WrapSession was given for the first ticket
// of a real handshake, and the ticket it returned.
type session struct {
	cs     tls.ConnectionState
	ss     *tls.SessionState
	ticket []byte
}

// captureSession runs one full handshake from cli to srv and returns the
// first session srv wrapped. It wraps srv.WrapSession, or
// srv.EncryptTicket when that is nil.
func captureSession(b *testing.B, srv, cli *tls.Config) *session {
	b.Helper()
	wrap := srv.WrapSession
	if wrap == nil {
		wrap = srv.EncryptTicket
	}
	var mu sync.Mutex
	var s *session
	srv.WrapSession = func(cs tls.ConnectionState, ss *tls.SessionState) ([]byte, error) {
		ticket, err := wrap(cs, ss)
		mu.Lock()
		defer mu.Unlock()
		if err == nil && s == nil {
			s = &session{cs: cs, ss: ss, ticket: ticket}
		}
		return ticket, err
	}
	if _, err := dial(startServer(b, srv), cli); err != nil {
		b.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if s == nil {
		b.Fatal("the server issued no ticket")
	}
	return s
}

// padState returns ss with SessionState.Extra grown so that its Bytes are
// exactly n bytes long, and those bytes.
func padState(b *testing.B, ss *tls.SessionState, n int) []byte {
	b.Helper()
	extra := ss.Extra
	pad := n
	for range 4 {
		// An Extra entry costs its length prefix on top of its contents.
		ss.Extra = append(extra[:len(extra):len(extra)], make([]byte, max(pad, 0)))
		got, err := ss.Bytes()
		if err != nil {
			b.Fatal(err)
		}
		if len(got) == n {
			return got
		}
		pad += n - len(got)
	}
	b.Fatalf("cannot pad a session state to %d bytes", n)
	return nil
}

// BenchmarkCryptoTLS measures crypto/tls's ticket encryption (AES-128-CTR
// and HMAC-SHA256 under its automatic ticket keys) of a TLS 1.3 session
// captured from a real handshake, padded to n bytes: the reference for
// seal's Seal/<AEAD>/<n> and Open/<AEAD>/<n>. EncryptTicket includes
// SessionState.Bytes and DecryptTicket tls.ParseSessionState, which that
// API cannot skip.
func BenchmarkCryptoTLS(b *testing.B) {
	for _, op := range []string{"EncryptTicket", "DecryptTicket"} {
		for _, n := range []int{128, 256, 512, 2048} {
			b.Run(fmt.Sprintf("%s/%d", op, n), func(b *testing.B) {
				srv, cli := configs(b, tls.VersionTLS13, false)
				s := captureSession(b, srv, cli)
				padState(b, s.ss, n)
				ticket, err := srv.EncryptTicket(s.cs, s.ss)
				if err != nil {
					b.Fatal(err)
				}
				b.ReportAllocs()
				b.SetBytes(int64(n))
				if op == "EncryptTicket" {
					for b.Loop() {
						if _, err := srv.EncryptTicket(s.cs, s.ss); err != nil {
							b.Fatal(err)
						}
					}
					return
				}
				for b.Loop() {
					if ss, err := srv.DecryptTicket(ticket, s.cs); err != nil || ss == nil {
						b.Fatalf("DecryptTicket = %v, %v", ss, err)
					}
				}
			})
		}
	}
}

// BenchmarkHandshake measures resumed handshakes over loopback TCP, one
// per op, from a client to a server that handles one connection at a
// time: connect, handshake, one byte from the server, close. The server's
// tickets come from the tlsadapter (an engine with an AES-256-GCM ring) or
// from crypto/tls; everything else is the same. Names are
// Handshake/Resumed/stack=Adapter|CryptoTLS/TLS12|TLS13, so that
// `go tool benchstat -col /stack` sets the two stacks side by side and tests
// their difference.
func BenchmarkHandshake(b *testing.B) {
	for _, stack := range []string{"Adapter", "CryptoTLS"} {
		for _, ver := range versions {
			b.Run("Resumed/stack="+stack+"/"+ver.name, func(b *testing.B) {
				srv, cli := configs(b, ver.v, false)
				if stack == "Adapter" {
					installAdapter(b, srv)
				}
				addr := startServer(b, srv)
				if resumed, err := dial(addr, cli); err != nil || resumed {
					b.Fatalf("first handshake: resumed %v, error %v", resumed, err)
				}
				b.ReportAllocs()
				for b.Loop() {
					resumed, err := dial(addr, cli)
					if err != nil {
						b.Fatal(err)
					}
					if !resumed {
						b.Fatal("handshake did not resume")
					}
				}
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "handshakes/s")
			})
		}
	}
}

// BenchmarkTicketSize reports the size of the ticket a server sends for a
// real session, in bytes/ticket, with tickets from the tlsadapter or from
// crypto/tls, for TLS 1.2 and 1.3, without a client certificate (NoClientCert)
// and with a two-certificate client chain (ClientCert). Each op wraps the
// captured session again: Adapter.WrapSession or Config.EncryptTicket.
// Names are TicketSize/<stack>/<version>/<auth>.
func BenchmarkTicketSize(b *testing.B) {
	for _, stack := range []string{"Adapter", "CryptoTLS"} {
		for _, ver := range versions {
			for _, auth := range []string{"NoClientCert", "ClientCert"} {
				b.Run(stack+"/"+ver.name+"/"+auth, func(b *testing.B) {
					srv, cli := configs(b, ver.v, auth == "ClientCert")
					wrap := srv.EncryptTicket
					if stack == "Adapter" {
						wrap = installAdapter(b, srv).WrapSession
					}
					s := captureSession(b, srv, cli)
					wantCerts := 0
					if auth == "ClientCert" {
						wantCerts = 2
					}
					if len(s.cs.PeerCertificates) != wantCerts {
						b.Fatalf("server saw %d client certificates, want %d", len(s.cs.PeerCertificates), wantCerts)
					}
					var ticket []byte
					var err error
					b.ReportAllocs()
					for b.Loop() {
						if ticket, err = wrap(s.cs, s.ss); err != nil {
							b.Fatal(err)
						}
					}
					if len(ticket) != len(s.ticket) {
						b.Fatalf("ticket of %d bytes, the handshake's was %d", len(ticket), len(s.ticket))
					}
					b.ReportMetric(float64(len(ticket)), "bytes/ticket")
				})
			}
		}
	}
}
