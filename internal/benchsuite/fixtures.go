package benchsuite

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/tlsticket/tlsticket/format"
	"github.com/tlsticket/tlsticket/internal/selfsigned"
	"github.com/tlsticket/tlsticket/seal"
)

// serverName is the name the suite's certificate is issued for.
const serverName = "tlsticket.test"

// certificate is the suite's server certificate and the pool that trusts it.
type certificate struct {
	cert tls.Certificate
	pool *x509.CertPool
}

// serverCert makes the suite's certificate once per process.
var serverCert = sync.OnceValues(func() (*certificate, error) {
	cert, pool, err := selfsigned.Server(time.Now(), serverName)
	if err != nil {
		return nil, err
	}
	return &certificate{cert, pool}, nil
})

// capture is a crypto/tls session captured on the server side of a real
// handshake: the config that issued its ticket, the connection state and
// the SessionState.Bytes encoding.
type capture struct {
	config *tls.Config
	cs     tls.ConnectionState
	state  []byte
}

// captures runs one handshake per protocol version, once per process.
var captures = sync.OnceValues(func() (map[uint16]*capture, error) {
	m := make(map[uint16]*capture)
	for _, v := range []uint16{format.VersionTLS12, format.VersionTLS13} {
		c, err := captureSession(v)
		if err != nil {
			return nil, fmt.Errorf("benchsuite: capturing a %s session: %w", versionName(v), err)
		}
		m[v] = c
	}
	return m, nil
})

// sessionFor returns the captured session of version v.
func sessionFor(b *testing.B, v uint16) *capture {
	b.Helper()
	m, err := captures()
	if err != nil {
		b.Fatal(err)
	}
	return m[v]
}

// captureSession runs a handshake of version v over net.Pipe and records
// the session the server's WrapSession is given.
func captureSession(v uint16) (*capture, error) {
	cert, err := serverCert()
	if err != nil {
		return nil, err
	}
	c := &capture{}
	var once sync.Once
	c.config = &tls.Config{
		Certificates: []tls.Certificate{cert.cert},
		MinVersion:   v,
		MaxVersion:   v,
	}
	var ticketKey [32]byte
	for i := range ticketKey {
		ticketKey[i] = byte(i + 1)
	}
	c.config.SetSessionTicketKeys([][32]byte{ticketKey})
	c.config.WrapSession = func(cs tls.ConnectionState, ss *tls.SessionState) ([]byte, error) {
		var err error
		once.Do(func() { c.cs = cs; c.state, err = ss.Bytes() })
		if err != nil {
			return nil, err
		}
		return c.config.EncryptTicket(cs, ss)
	}
	client := &tls.Config{
		RootCAs:            cert.pool,
		ServerName:         serverName,
		MinVersion:         v,
		MaxVersion:         v,
		ClientSessionCache: tls.NewLRUClientSessionCache(1),
	}
	cconn, sconn := net.Pipe()
	deadline := time.Now().Add(10 * time.Second)
	cconn.SetDeadline(deadline)
	sconn.SetDeadline(deadline)
	serverErr := make(chan error, 1)
	go func() {
		// Close the pipe, not the tls.Conn: over a synchronous net.Pipe,
		// two close_notify alerts written at once would block each other.
		defer sconn.Close()
		srv := tls.Server(sconn, c.config)
		if err := srv.Handshake(); err != nil {
			serverErr <- err
			return
		}
		_, err := srv.Write([]byte{1})
		serverErr <- err
	}()
	defer cconn.Close()
	cli := tls.Client(cconn, client)
	if err := cli.Handshake(); err != nil {
		return nil, fmt.Errorf("client handshake: %w", err)
	}
	// Reading processes a TLS 1.3 NewSessionTicket.
	if _, err := io.ReadFull(cli, make([]byte, 1)); err != nil {
		return nil, fmt.Errorf("client read: %w", err)
	}
	if err := <-serverErr; err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	if c.state == nil {
		return nil, errors.New("no session ticket was issued")
	}
	if got := cli.ConnectionState().Version; got != v {
		return nil, fmt.Errorf("negotiated version %x, want %x", got, v)
	}
	return c, nil
}

// paddedSession parses the captured state of version v with
// tls.ParseSessionState and pads it with SessionState.Extra so that its
// Bytes are exactly n bytes long, or as short as possible if the state is
// longer than n. It returns the session and its Bytes.
func paddedSession(b *testing.B, v uint16, n int) (*tls.SessionState, []byte) {
	b.Helper()
	c := sessionFor(b, v)
	ss, pt, err := padState(c.state, n)
	if err != nil {
		b.Fatal(err)
	}
	return ss, pt
}

// padState is paddedSession on the encoding state.
func padState(state []byte, n int) (*tls.SessionState, []byte, error) {
	ss, err := tls.ParseSessionState(state)
	if err != nil {
		return nil, nil, fmt.Errorf("benchsuite: tls.ParseSessionState: %w", err)
	}
	if len(state) >= n {
		return ss, state, nil
	}
	extra := ss.Extra
	pad := n - len(state)
	for range 4 {
		// An Extra entry costs its length prefix on top of its contents.
		ss.Extra = append(extra[:len(extra):len(extra)], make([]byte, max(pad, 0)))
		got, err := ss.Bytes()
		if err != nil {
			return nil, nil, err
		}
		if len(got) == n {
			return ss, got, nil
		}
		pad += n - len(got)
	}
	return nil, nil, fmt.Errorf("benchsuite: cannot pad a %d-byte session state to %d bytes", len(state), n)
}

// statePlaintext returns the plaintext of the Seal, Open and RawAEAD
// benchmarks of size n: the captured TLS 1.3 session padded to n bytes,
// the very bytes crypto/tls's EncryptTicket seals in CryptoTLS/…/n.
func statePlaintext(b *testing.B, n int) []byte {
	b.Helper()
	_, pt := paddedSession(b, format.VersionTLS13, n)
	return pt
}

// reportState records the real plaintext length.
func reportState(b *testing.B, n int) {
	b.ReportMetric(float64(n), "state-bytes")
}

// newRing returns a ring of n fresh keys of a, with crypto/rand nonces.
func newRing(b *testing.B, a seal.AEAD, n int) *seal.Ring {
	b.Helper()
	keys := newKeys(b, a, n)
	r, err := seal.NewRing(nil, keys[0], keys[1:]...)
	if err != nil {
		b.Fatal(err)
	}
	return r
}

// newKeys returns n fresh keys of a.
func newKeys(b *testing.B, a seal.AEAD, n int) []*seal.Key {
	b.Helper()
	keys := make([]*seal.Key, n)
	for i := range keys {
		k, err := seal.GenerateKey(a, nil)
		if err != nil {
			b.Fatal(err)
		}
		keys[i] = k
	}
	return keys
}

// sealedSize returns the ticket length of a plaintext of n bytes under a.
func sealedSize(a seal.AEAD, n int) int {
	return 2 + seal.KeyNameSize + a.NonceSize() + n + a.Overhead()
}
