package benchsuite

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
	"github.com/tlsticket/tlsticket/seal"
)

// handshakeTimeout bounds every connection of the handshake benchmarks.
const handshakeTimeout = 10 * time.Second

// handshakeBench returns Handshakes/Resumed/Adapter/<v> or
// Handshakes/Resumed/CryptoTLS/<v>: one resumed handshake of version v per
// op over loopback TCP, from a fresh client connection to a server that
// handles connections one at a time. The server's tickets come from the
// tlsadapter (engine with an AES-256-GCM ring) or from crypto/tls's default
// ticket keys; everything else is the same. Each op includes the TCP
// connect, the handshake and one byte from server to client (so that the
// client also reads the TLS 1.3 NewSessionTicket and renews its cached
// ticket, as a real client does). Key exchange is X25519 only, so that the
// ticket work is not lost under a hybrid post-quantum key share.
func handshakeBench(adapter bool, v uint16) func(*testing.B) {
	return func(b *testing.B) {
		cert, err := serverCert()
		if err != nil {
			b.Fatal(err)
		}
		srv := &tls.Config{
			Certificates:     []tls.Certificate{cert.cert},
			MinVersion:       v,
			MaxVersion:       v,
			CurvePreferences: []tls.CurveID{tls.X25519},
		}
		if adapter {
			binding, err := tlsadapter.Binding(srv)
			if err != nil {
				b.Fatal(err)
			}
			e, err := engine.New(&engine.Config{
				Keys:    seal.NewKeyring(newRing(b, seal.AES256GCM, 1)),
				Binding: binding,
			})
			if err != nil {
				b.Fatal(err)
			}
			tlsadapter.New(e).Install(srv)
		}
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			b.Fatal(err)
		}
		var wg sync.WaitGroup
		wg.Go(func() { serve(ln, srv) })
		defer wg.Wait()
		defer ln.Close()

		cli := &tls.Config{
			RootCAs:            cert.pool,
			ServerName:         serverName,
			MinVersion:         v,
			MaxVersion:         v,
			CurvePreferences:   []tls.CurveID{tls.X25519},
			ClientSessionCache: tls.NewLRUClientSessionCache(4),
		}
		addr := ln.Addr().String()
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
	}
}

// serve accepts connections on ln until it is closed, and for each one
// completes the handshake, writes one byte, waits for the client to close
// and closes.
func serve(ln net.Listener, config *tls.Config) {
	for {
		conn, err := ln.Accept()
		if err != nil {
			return
		}
		conn.SetDeadline(time.Now().Add(handshakeTimeout))
		tc := tls.Server(conn, config)
		if err := tc.Handshake(); err == nil {
			if _, err := tc.Write([]byte{1}); err == nil {
				io.Copy(io.Discard, tc)
			}
		}
		tc.Close()
	}
}

// dial connects to addr, completes a handshake, reads the server's byte,
// closes and reports whether the session was resumed.
func dial(addr string, config *tls.Config) (bool, error) {
	conn, err := net.DialTimeout("tcp", addr, handshakeTimeout)
	if err != nil {
		return false, err
	}
	conn.SetDeadline(time.Now().Add(handshakeTimeout))
	// Close with a reset rather than FIN, so that thousands of connections
	// a second leave no sockets in TIME_WAIT on either side.
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
