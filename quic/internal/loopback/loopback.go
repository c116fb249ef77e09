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
	"github.com/quic-go/quic-go/quicvarint"
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

// Result is the outcome of one [Exchange].
type Result struct {
	// Resumed reports whether the handshake resumed a session.
	Resumed bool
	// Used0RTT reports whether the server accepted the 0-RTT data.
	Used0RTT bool
	// Reply is the server's answer.
	Reply string
	// Local is the client's UDP address for the connection.
	Local string
}

// Exchange dials addr with quic-go (0-RTT when tlsConf's session cache holds
// a ticket that allows it), sends payload on one stream, in 0-RTT if it
// can, and reads the reply. If the server rejects 0-RTT, payload is sent
// again once the handshake completes. If tlsConf's session cache is a
// [SessionCache], Exchange waits for the connection's ticket. The
// connection is closed on return.
//
// When it sends 0-RTT data, Exchange processes no datagram from the server
// before its stream is open and written: in quic-go v0.65.0 a stream opened
// while the client handles the server's transport parameters is a data
// race (quic-go/quic-go#4303), which the race detector reports.
func Exchange(ctx context.Context, addr string, tlsConf *tls.Config, conf *quic.Config, payload string) (Result, error) {
	cache, _ := tlsConf.ClientSessionCache.(*SessionCache)
	var stored uint64
	if cache != nil {
		stored = cache.Stored()
	}
	raddr, err := net.ResolveUDPAddr("udp", addr)
	if err != nil {
		return Result{}, fmt.Errorf("loopback: %w", err)
	}
	pc, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return Result{}, fmt.Errorf("loopback: %w", err)
	}
	gc := newGatedConn(pc, !offersEarlyData(tlsConf))
	tr := &quic.Transport{Conn: gc}
	defer func() {
		gc.open()
		tr.Close()
		pc.Close()
	}()
	conn, err := tr.DialEarly(ctx, raddr, tlsConf, conf)
	if err != nil {
		return Result{}, fmt.Errorf("loopback: dial: %w", err)
	}
	defer conn.CloseWithError(0, "")
	res := Result{Local: conn.LocalAddr().String()}
	reply, err := request(conn, payload, gc.open)
	if errors.Is(err, quic.Err0RTTRejected) {
		if conn, err = conn.NextConnection(ctx); err != nil {
			return res, fmt.Errorf("loopback: after 0-RTT rejection: %w", err)
		}
		reply, err = request(conn, payload, nil)
	}
	if err != nil {
		return res, fmt.Errorf("loopback: request: %w", err)
	}
	select {
	case <-conn.HandshakeComplete():
	case <-ctx.Done():
		return res, ctx.Err()
	}
	cs := conn.ConnectionState()
	res.Resumed, res.Used0RTT, res.Reply = cs.TLS.DidResume, cs.Used0RTT, reply
	if cache != nil {
		// The ticket follows the handshake, and may follow the reply.
		if err := cache.WaitStored(ctx, stored); err != nil {
			return res, err
		}
	}
	return res, nil
}

// request sends payload on a new stream of conn, calls written (if not
// nil) once the stream is open and written, and reads the reply.
func request(conn *quic.Conn, payload string, written func()) (string, error) {
	if written != nil {
		defer written() // also on an error
	}
	str, err := conn.OpenStream()
	if err != nil {
		return "", err
	}
	if _, err := io.WriteString(str, payload); err != nil {
		return "", err
	}
	if err := str.Close(); err != nil {
		return "", err
	}
	if written != nil {
		written()
	}
	reply, err := io.ReadAll(io.LimitReader(str, maxRequest))
	return string(reply), err
}

// offersEarlyData reports whether a client with c will offer 0-RTT: its
// session cache holds, for c.ServerName (crypto/tls's cache key when it is
// set), a ticket that allows early data.
func offersEarlyData(c *tls.Config) bool {
	if c.ClientSessionCache == nil || c.ServerName == "" {
		return false
	}
	cs, ok := c.ClientSessionCache.Get(c.ServerName)
	if !ok || cs == nil {
		return false
	}
	_, ss, err := cs.ResumptionState()
	return err == nil && ss != nil && ss.EarlyData
}

// gatedConn is a net.PacketConn whose reads wait until it is opened. It
// offers only the net.PacketConn methods, so that quic-go reads through
// ReadFrom.
type gatedConn struct {
	c        *net.UDPConn
	opened   chan struct{}
	openOnce sync.Once
}

func newGatedConn(c *net.UDPConn, open bool) *gatedConn {
	g := &gatedConn{c: c, opened: make(chan struct{})}
	if open {
		g.open()
	}
	return g
}

func (g *gatedConn) open() { g.openOnce.Do(func() { close(g.opened) }) }

func (g *gatedConn) ReadFrom(p []byte) (int, net.Addr, error) {
	<-g.opened
	return g.c.ReadFrom(p)
}

func (g *gatedConn) WriteTo(p []byte, addr net.Addr) (int, error) { return g.c.WriteTo(p, addr) }
func (g *gatedConn) Close() error                                 { g.open(); return g.c.Close() }
func (g *gatedConn) LocalAddr() net.Addr                          { return g.c.LocalAddr() }
func (g *gatedConn) SetDeadline(t time.Time) error                { return g.c.SetDeadline(t) }
func (g *gatedConn) SetReadDeadline(t time.Time) error            { return g.c.SetReadDeadline(t) }
func (g *gatedConn) SetWriteDeadline(t time.Time) error           { return g.c.SetWriteDeadline(t) }

// SessionCache is a tls.ClientSessionCache that counts the tickets it
// stores, so that [Exchange] can wait for the ticket of a connection before
// closing it. It can also be pinned: it then keeps handing out the sessions
// it holds and ignores new ones, so that several clients present the same
// ticket.
type SessionCache struct {
	mu     sync.Mutex
	states map[string]*tls.ClientSessionState
	pinned bool
	stored uint64
	notify chan struct{} // closed and replaced on every Put
}

// NewSessionCache returns an empty cache.
func NewSessionCache() *SessionCache {
	return &SessionCache{states: make(map[string]*tls.ClientSessionState), notify: make(chan struct{})}
}

// Get implements tls.ClientSessionCache.
func (c *SessionCache) Get(key string) (*tls.ClientSessionState, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	s, ok := c.states[key]
	return s, ok
}

// Put implements tls.ClientSessionCache.
func (c *SessionCache) Put(key string, cs *tls.ClientSessionState) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.pinned || cs == nil {
		return
	}
	c.states[key] = cs
	c.stored++
	close(c.notify)
	c.notify = make(chan struct{})
}

// Stored returns the number of sessions stored so far.
func (c *SessionCache) Stored() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stored
}

// WaitStored waits until more than n sessions have been stored. A pinned
// cache returns at once.
func (c *SessionCache) WaitStored(ctx context.Context, n uint64) error {
	for {
		c.mu.Lock()
		stored, pinned, notify := c.stored, c.pinned, c.notify
		c.mu.Unlock()
		if pinned || stored > n {
			return nil
		}
		select {
		case <-notify:
		case <-ctx.Done():
			return fmt.Errorf("loopback: no session ticket: %w", ctx.Err())
		}
	}
}

// Clone returns a cache holding the same sessions, pinned: it ignores new
// tickets. Clients given clones of one cache present the same ticket.
func (c *SessionCache) Clone() *SessionCache {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := NewSessionCache()
	for k, v := range c.states {
		n.states[k] = v
	}
	n.pinned = true
	return n
}

// maxDatagram is larger than any QUIC datagram quic-go sends.
const maxDatagram = 1 << 16

// Relay forwards UDP datagrams between clients and one server, each client
// through its own upstream socket, and records each client's first flight:
// the long-header datagrams it sent before its first Handshake packet (its
// Initial packets and, for a resuming client, its 0-RTT packets).
type Relay struct {
	// Addr is the address clients dial instead of the server's.
	Addr *net.UDPAddr

	pc     *net.UDPConn
	server *net.UDPAddr
	wg     sync.WaitGroup

	mu      sync.Mutex
	clients map[string]*upstream
	closed  bool
	holding bool
	// untilEarly: holding stops when a client sends a 0-RTT packet.
	untilEarly bool
	held       []heldDatagram
}

type heldDatagram struct {
	client *net.UDPAddr
	b      []byte
}

type upstream struct {
	conn      *net.UDPConn
	handshake bool // the client has sent a Handshake packet: the first flight is over
	flight    [][]byte
}

// NewRelay starts a relay on a loopback port in front of server.
func NewRelay(server *net.UDPAddr) (*Relay, error) {
	pc, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return nil, fmt.Errorf("loopback: relay: %w", err)
	}
	r := &Relay{Addr: pc.LocalAddr().(*net.UDPAddr), pc: pc, server: server, clients: make(map[string]*upstream)}
	r.wg.Add(1)
	go r.run()
	return r, nil
}

func (r *Relay) run() {
	defer r.wg.Done()
	buf := make([]byte, maxDatagram)
	for {
		n, from, err := r.pc.ReadFromUDP(buf)
		if err != nil {
			return
		}
		up, err := r.upstreamFor(from)
		if err != nil {
			continue
		}
		r.mu.Lock()
		up.handshake = up.handshake || hasPacket(buf[:n], packetHandshake)
		if !up.handshake && longHeader(buf[:n]) {
			up.flight = append(up.flight, append([]byte(nil), buf[:n]...))
		}
		release := r.untilEarly && hasPacket(buf[:n], packet0RTT)
		r.mu.Unlock()
		up.conn.Write(buf[:n])
		if release {
			r.Release()
		}
	}
}

func (r *Relay) upstreamFor(client *net.UDPAddr) (*upstream, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if up, ok := r.clients[client.String()]; ok {
		return up, nil
	}
	if r.closed {
		return nil, net.ErrClosed
	}
	conn, err := net.DialUDP("udp", nil, r.server)
	if err != nil {
		return nil, err
	}
	up := &upstream{conn: conn}
	r.clients[client.String()] = up
	r.wg.Add(1)
	go r.back(up, client)
	return up, nil
}

// back forwards the server's datagrams for one client.
func (r *Relay) back(up *upstream, client *net.UDPAddr) {
	defer r.wg.Done()
	buf := make([]byte, maxDatagram)
	for {
		n, err := up.conn.Read(buf)
		if err != nil {
			return
		}
		r.mu.Lock()
		if r.holding {
			r.held = append(r.held, heldDatagram{client, append([]byte(nil), buf[:n]...)})
			r.mu.Unlock()
			continue
		}
		r.mu.Unlock()
		r.pc.WriteToUDP(buf[:n], client)
	}
}

// FirstFlight returns the first flight recorded for the client whose local
// address is client, or nil. Clients bound to the unspecified address are
// found by port.
func (r *Relay) FirstFlight(client string) [][]byte {
	_, port, err := net.SplitHostPort(client)
	if err != nil {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for addr, up := range r.clients {
		if _, p, _ := net.SplitHostPort(addr); p == port {
			return up.flight
		}
	}
	return nil
}

// Hold makes the relay keep, until Release, every datagram the server
// sends: a resuming client's handshake then stays incomplete while the
// server handles its 0-RTT data, and the client opens its 0-RTT streams
// before it processes any answer (which quic-go v0.65.0 needs: a stream
// opened while the client handles the server's transport parameters is a
// data race inside quic-go, quic-go/quic-go#4303).
func (r *Relay) Hold() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.holding = true
}

// HoldUntilEarlyData is Hold until a client sends a 0-RTT packet. The
// client then sends its whole first flight (all of its ClientHello, and its
// 0-RTT packets) before it sees any answer, and so addresses all of it to
// the connection ID it chose; once it has seen an answer it addresses the
// rest to the server's, and a replay of that to another connection would
// not be understood.
func (r *Relay) HoldUntilEarlyData() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.holding, r.untilEarly = true, true
}

// Release forwards the datagrams held since Hold, and stops holding.
func (r *Relay) Release() {
	r.mu.Lock()
	held := r.held
	r.holding, r.untilEarly, r.held = false, false, nil
	r.mu.Unlock()
	for _, d := range held {
		r.pc.WriteToUDP(d.b, d.client)
	}
}

// Close stops the relay.
func (r *Relay) Close() error {
	r.mu.Lock()
	r.closed = true
	for _, up := range r.clients {
		up.conn.Close()
	}
	r.mu.Unlock()
	err := r.pc.Close()
	r.wg.Wait()
	return err
}

// ErrNoAnswer is returned by [Replay] when the server did not answer.
var ErrNoAnswer = errors.New("loopback: the server did not answer the replayed flight")

// Replay sends flight to server from a new UDP socket, as an attacker who
// captured it would, and waits up to wait for the server's first answer:
// once the server has answered, it has processed the replayed ClientHello.
func Replay(server *net.UDPAddr, flight [][]byte, wait time.Duration) error {
	conn, err := net.DialUDP("udp", nil, server)
	if err != nil {
		return fmt.Errorf("loopback: replay: %w", err)
	}
	defer conn.Close()
	for _, d := range flight {
		if _, err := conn.Write(d); err != nil {
			return fmt.Errorf("loopback: replay: %w", err)
		}
	}
	conn.SetReadDeadline(time.Now().Add(wait))
	buf := make([]byte, maxDatagram)
	if _, err := conn.Read(buf); err != nil {
		return fmt.Errorf("%w: %w", ErrNoAnswer, err)
	}
	return nil
}

// longHeader reports whether datagram d starts with a long-header packet.
func longHeader(d []byte) bool { return len(d) > 0 && d[0]&0x80 != 0 }

// Long header packet types of QUIC version 1 (RFC 9000, Section 17.2).
const (
	packetInitial   = 0
	packet0RTT      = 1
	packetHandshake = 2
	packetRetry     = 3
)

// hasPacket reports whether datagram d holds a QUIC version 1 long-header
// packet of type typ, walking the coalesced long-header packets (RFC 9000,
// Section 12.2). Header protection leaves the type bits and the lengths in
// the clear (RFC 9001, Section 5.4.1).
func hasPacket(d []byte, typ byte) bool {
	for len(d) > 0 && d[0]&0x80 != 0 {
		t := d[0] & 0x30 >> 4
		switch t {
		case typ:
			return true
		case packetRetry: // from servers only, and not coalesced
			return false
		}
		p := 5        // first byte and version
		for range 2 { // destination and source connection IDs
			if p >= len(d) {
				return false
			}
			p += 1 + int(d[p])
		}
		if t == packetInitial { // token
			n, l, err := parseVarint(d, p)
			if err != nil {
				return false
			}
			p += l + n
		}
		n, l, err := parseVarint(d, p)
		if err != nil || p+l+n > len(d) {
			return false
		}
		d = d[p+l+n:]
	}
	return false
}

// parseVarint parses the QUIC variable-length integer at d[p:] and returns
// it as a length, and the bytes it took.
func parseVarint(d []byte, p int) (int, int, error) {
	if p >= len(d) {
		return 0, 0, io.ErrUnexpectedEOF
	}
	v, l, err := quicvarint.Parse(d[p:])
	if err != nil || v > uint64(len(d)) {
		return 0, 0, io.ErrUnexpectedEOF
	}
	return int(v), l, nil
}

// replayAttempts and replayEvery bound ReplayUntilAsked: quic-go answers
// the IDs of a recently closed connection for 3 PTO, under 100 ms on an
// idle loopback but longer under the race detector on a loaded machine.
const (
	replayAttempts = 30
	replayEvery    = 100 * time.Millisecond
)

// ReplayUntilAsked replays flight to server, as [Replay] does, until the
// server's adapter has been asked about 0-RTT once more (log records its
// answers): then the server has processed the replayed ClientHello as a new
// connection. It gives up after a few seconds. An attacker may replay as
// often as it likes; each attempt is a replay.
func ReplayUntilAsked(server *net.UDPAddr, flight [][]byte, log *EarlyLog) error {
	before := log.Answers()
	for range replayAttempts {
		if err := Replay(server, flight, replayEvery); err != nil && !errors.Is(err, ErrNoAnswer) {
			return err
		}
		if log.Answers() > before {
			return nil
		}
		time.Sleep(replayEvery)
	}
	return fmt.Errorf("loopback: the replayed ClientHello never reached the adapter of %s", server)
}
