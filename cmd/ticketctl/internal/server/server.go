// Package server is a small TLS server with the tlsticket engine installed
// through the crypto/tls adapter. It records one line per handshake: the
// ticket it examined (key, the name of the key that opened it) and the
// ticket it issued (issued_key). It keeps the most recent
// [RecentHandshakes] records and counts every handshake, so that its memory
// does not grow with the number of connections it serves. It backs
// `ticketctl serve` and the live handshakes of `ticketctl demo`; its tests
// resume sessions on it with the real openssl, gnutls-cli and Go clients.
package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/tlsticket/tlsticket/engine"
	"github.com/tlsticket/tlsticket/engine/tlsadapter"
	"github.com/tlsticket/tlsticket/seal"
	"github.com/tlsticket/tlsticket/status"
)

// Config configures a [Server].
type Config struct {
	// Addr is the address to listen on, such as "127.0.0.1:8443"; ":0"
	// style ports pick a free one.
	Addr string
	// MinVersion and MaxVersion bound the TLS versions; zero means TLS 1.2
	// and TLS 1.3.
	MinVersion, MaxVersion uint16
	// Certificate is the server certificate; nil means a self-signed one
	// for localhost and 127.0.0.1, valid for a year.
	Certificate *tls.Certificate
	// NextProtos is the ALPN protocols the server offers.
	NextProtos []string
	// Engine configures the ticket engine. Its Binding is computed from
	// the TLS configuration.
	Engine engine.Config
	// Logger receives one Info record per handshake; nil logs nothing.
	Logger *slog.Logger
}

// RecentHandshakes is the number of handshake records a [Server] keeps.
const RecentHandshakes = 64

// Handshake is the record of one connection.
type Handshake struct {
	Time        time.Time
	Version     string
	Resumed     bool
	Offered     bool   // a ticket was presented
	Status      string // "" when no ticket was examined
	Return      string
	Outcome     string
	Fallback    string
	TicketsSent int // tickets crypto/tls sent (WrapSession calls)
	// EngineTickets is the number of tickets the engine's decision asked
	// for, when a ticket was examined (crypto/tls may send another number).
	EngineTickets int
	// IssuedKey and IssuedSize describe the last ticket issued.
	IssuedKey  string
	IssuedSize int
	KeyName    string
	ServerName string
	ALPN       string
	Err        string
}

// Server is a running TLS server.
type Server struct {
	ln      net.Listener
	base    *tls.Config
	engine  *engine.Engine
	adapter *tlsadapter.Adapter
	log     *slog.Logger

	mu     sync.Mutex
	recent [RecentHandshakes]Handshake // a ring; next is the oldest slot
	next   int
	stats  Stats
	wg     sync.WaitGroup
}

// Stats counts the handshakes of a [Server] since it started.
type Stats struct {
	Handshakes int64 // connections whose handshake ended, in success or not
	Resumed    int64 // handshakes that resumed a session
	Failed     int64 // handshakes that ended in an error
}

// New starts a server listening on cfg.Addr. Stop it with Close.
func New(cfg Config) (*Server, error) {
	if cfg.MinVersion == 0 {
		cfg.MinVersion = tls.VersionTLS12
	}
	if cfg.MaxVersion == 0 {
		cfg.MaxVersion = tls.VersionTLS13
	}
	if cfg.Certificate == nil {
		cert, err := selfSigned(time.Now(), "localhost", "127.0.0.1")
		if err != nil {
			return nil, err
		}
		cfg.Certificate = &cert
	}
	base := &tls.Config{
		Certificates: []tls.Certificate{*cfg.Certificate},
		MinVersion:   cfg.MinVersion,
		MaxVersion:   cfg.MaxVersion,
		NextProtos:   cfg.NextProtos,
	}
	binding, err := tlsadapter.Binding(base)
	if err != nil {
		return nil, err
	}
	ec := cfg.Engine
	ec.Binding = binding
	e, err := engine.New(&ec)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return nil, err
	}
	s := &Server{ln: ln, base: base, engine: e, adapter: tlsadapter.New(e), log: cfg.Logger}
	s.wg.Add(1)
	go s.serve()
	return s, nil
}

// Addr returns the address the server listens on.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Engine returns the server's engine.
func (s *Server) Engine() *engine.Engine { return s.engine }

// Handshakes returns the records of the most recent connections, at most
// [RecentHandshakes] of them, oldest first. [Server.Stats] counts them all.
func (s *Server) Handshakes() []Handshake {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := int(min(s.stats.Handshakes, RecentHandshakes))
	hs := make([]Handshake, 0, n)
	for i := range n {
		hs = append(hs, s.recent[(s.next-n+i+RecentHandshakes)%RecentHandshakes])
	}
	return hs
}

// Stats returns the counts of the connections so far.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stats
}

// record keeps h in the ring of recent records and counts it.
func (s *Server) record(h Handshake) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.recent[s.next] = h
	s.next = (s.next + 1) % RecentHandshakes
	s.stats.Handshakes++
	if h.Resumed {
		s.stats.Resumed++
	}
	if h.Err != "" {
		s.stats.Failed++
	}
}

// Close stops the server and waits for its connections to end.
func (s *Server) Close() error {
	err := s.ln.Close()
	s.wg.Wait()
	return err
}

func (s *Server) serve() {
	defer s.wg.Done()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.handle(c)
		}()
	}
}

// connConfig returns the TLS config for one connection, whose session hooks
// write into rec.
func (s *Server) connConfig(rec *Handshake, mu *sync.Mutex) *tls.Config {
	c := s.base.Clone()
	c.WrapSession = func(cs tls.ConnectionState, ss *tls.SessionState) ([]byte, error) {
		t, err := s.adapter.WrapSession(cs, ss)
		if err == nil {
			mu.Lock()
			rec.TicketsSent++
			rec.IssuedSize = len(t)
			if h, perr := seal.ParseHeader(t); perr == nil {
				rec.IssuedKey = h.KeyName.String()
			}
			mu.Unlock()
		}
		return t, err
	}
	c.UnwrapSession = func(identity []byte, cs tls.ConnectionState) (*tls.SessionState, error) {
		ss, d, err := s.adapter.Unwrap(identity, cs)
		mu.Lock()
		defer mu.Unlock()
		rec.Offered = rec.Offered || d.Offered
		if d.Callback {
			rec.EngineTickets = d.Tickets
			rec.Status, rec.Return, rec.Outcome = d.Status.String(), d.Return.String(), d.Outcome.String()
			rec.KeyName = fmt.Sprintf("%x", d.KeyName)
		}
		if d.Fallback != nil {
			rec.Fallback = d.Fallback.Error()
		}
		return ss, err
	}
	return c
}

func (s *Server) handle(c net.Conn) {
	defer c.Close()
	var mu sync.Mutex
	rec := Handshake{Time: time.Now()}
	cfg := s.base.Clone()
	cfg.GetConfigForClient = func(hello *tls.ClientHelloInfo) (*tls.Config, error) {
		return s.adapter.ForClient(hello, s.connConfig(&rec, &mu)), nil
	}
	tc := tls.Server(c, cfg)
	c.SetDeadline(time.Now().Add(10 * time.Second))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := tc.HandshakeContext(ctx)
	cs := tc.ConnectionState()
	mu.Lock()
	rec.Version = tls.VersionName(cs.Version)
	rec.Resumed, rec.ServerName, rec.ALPN = cs.DidResume, cs.ServerName, cs.NegotiatedProtocol
	if err != nil {
		rec.Err = err.Error()
	}
	if !rec.Offered && err == nil {
		rec.Outcome = "no ticket"
	}
	r := rec
	mu.Unlock()
	// Record before answering: a client that has read the answer can rely
	// on the record.
	s.record(r)
	if s.log != nil {
		s.log.Info("handshake", r.attrs()...)
	}
	if err == nil {
		fmt.Fprintf(tc, "tlsticket: %s resumed=%v\n", r.Version, r.Resumed)
		tc.Close() // close_notify: clients that wait for it read the tickets first
		io.Copy(io.Discard, c)
	}
}

func (h Handshake) attrs() []any {
	a := []any{"version", h.Version, "resumed", h.Resumed, "offered", h.Offered}
	if h.Status != "" {
		a = append(a, "status", h.Status, "return", h.Return)
	}
	a = append(a, "outcome", h.Outcome, "tickets_sent", h.TicketsSent)
	if h.KeyName != "" {
		a = append(a, "key", h.KeyName)
	}
	if h.IssuedKey != "" {
		a = append(a, "issued_key", h.IssuedKey)
	}
	if h.Fallback != "" {
		a = append(a, "fallback", h.Fallback)
	}
	if h.Err != "" {
		a = append(a, "error", h.Err)
	}
	return a
}

// Policy returns a DecryptTicket callback by name: "default" (nil, the
// engine's default), "ignore" (never resume), or "renew" (resume and always
// renew).
func Policy(name string) (func(engine.TicketInfo) status.Return, error) {
	switch name {
	case "", "default":
		return nil, nil
	case "ignore":
		return func(engine.TicketInfo) status.Return { return status.Ignore }, nil
	case "renew":
		return func(ti engine.TicketInfo) status.Return {
			st := ti.Status
			if st.Opened() {
				return status.UseRenew
			}
			return status.IgnoreRenew
		}, nil
	}
	return nil, errors.New("server: unknown policy " + name + " (default, ignore, renew)")
}
