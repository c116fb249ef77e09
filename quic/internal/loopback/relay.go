package loopback

import (
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	"github.com/quic-go/quic-go/quicvarint"
)

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
