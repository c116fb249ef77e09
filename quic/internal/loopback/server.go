// Package loopback runs quic-go servers, clients and a UDP relay on the
// loopback interface, for the tests, the benchmarks and the demo of the quic
// module. Every part is real: real UDP sockets, real QUIC handshakes.
package loopback

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	"github.com/quic-go/quic-go"
)

// ALPN is the application protocol of the loopback servers and clients.
const ALPN = "tlsticket-loopback"

// maxRequest bounds what a server reads from one stream.
const maxRequest = 1 << 16

// Received is one request a [Server] read from a stream.
type Received struct {
	// Payload is what the client sent on the stream.
	Payload string
	// Used0RTT reports whether the connection accepted 0-RTT data
	// (quic.ConnectionState.Used0RTT) when the request was read.
	Used0RTT bool
	// Remote is the client's address.
	Remote string
}

// Server is a quic-go server that accepts early connections (0-RTT), reads
// one request per stream, records it and answers "ok " followed by the
// request.
type Server struct {
	// Addr is the UDP address the server listens on.
	Addr *net.UDPAddr

	pc   *net.UDPConn
	ln   *quic.EarlyListener
	done chan struct{}
	wg   sync.WaitGroup

	mu       sync.Mutex
	received []Received
	notify   chan struct{} // closed and replaced on every new request
}

// Listen starts a server on a loopback UDP port with tlsConf (which must
// set NextProtos to include ALPN) and conf.
func Listen(tlsConf *tls.Config, conf *quic.Config) (*Server, error) {
	pc, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return nil, fmt.Errorf("loopback: %w", err)
	}
	ln, err := quic.ListenEarly(pc, tlsConf, conf)
	if err != nil {
		pc.Close()
		return nil, fmt.Errorf("loopback: %w", err)
	}
	s := &Server{Addr: pc.LocalAddr().(*net.UDPAddr), pc: pc, ln: ln, done: make(chan struct{}), notify: make(chan struct{})}
	s.wg.Add(1)
	go s.serve()
	return s, nil
}

func (s *Server) serve() {
	defer s.wg.Done()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		<-s.done
		cancel()
	}()
	for {
		conn, err := s.ln.Accept(ctx)
		if err != nil {
			return
		}
		s.wg.Add(1)
		go s.handle(ctx, conn)
	}
}

func (s *Server) handle(ctx context.Context, conn *quic.Conn) {
	defer s.wg.Done()
	for {
		str, err := conn.AcceptStream(ctx)
		if err != nil {
			return
		}
		req, err := io.ReadAll(io.LimitReader(str, maxRequest))
		if err != nil {
			str.CancelWrite(1)
			continue
		}
		s.record(Received{Payload: string(req), Used0RTT: conn.ConnectionState().Used0RTT, Remote: conn.RemoteAddr().String()})
		str.Write(append([]byte("ok "), req...))
		str.Close()
	}
}

func (s *Server) record(r Received) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.received = append(s.received, r)
	close(s.notify)
	s.notify = make(chan struct{})
}

// Received returns the requests read so far whose payload is p.
func (s *Server) Received(p string) []Received {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Received
	for _, r := range s.received {
		if r.Payload == p {
			out = append(out, r)
		}
	}
	return out
}

// WaitReceived waits until the server has read n requests with payload p,
// or until d has passed, and returns the requests with payload p.
func (s *Server) WaitReceived(p string, n int, d time.Duration) []Received {
	timer := time.NewTimer(d)
	defer timer.Stop()
	for {
		s.mu.Lock()
		notify := s.notify
		s.mu.Unlock()
		if got := s.Received(p); len(got) >= n {
			return got
		}
		select {
		case <-notify:
		case <-timer.C:
			return s.Received(p)
		}
	}
}

// Close stops the server and waits for its goroutines.
func (s *Server) Close() error {
	close(s.done)
	err := s.ln.Close()
	s.pc.Close()
	s.wg.Wait()
	if errors.Is(err, net.ErrClosed) {
		err = nil
	}
	return err
}
