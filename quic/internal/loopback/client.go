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
