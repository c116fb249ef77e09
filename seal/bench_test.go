package seal

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"
)

// benchSizes are plaintext sizes of realistic ticket states.
var benchSizes = []int{64, 256, 1024, 4096}

// benchCase is one plaintext size of a benchmark: a number of bytes, or the
// serialized state of a real crypto/tls session, named "state".
type benchCase struct {
	name      string
	plaintext []byte
}

// benchCases returns the numbered sizes and the real session state.
func benchCases(b *testing.B) []benchCase {
	b.Helper()
	var cases []benchCase
	for _, n := range benchSizes {
		pt := make([]byte, n)
		rand.Read(pt)
		cases = append(cases, benchCase{strconv.Itoa(n), pt})
	}
	state, err := tlsSession().ss.Bytes()
	if err != nil {
		b.Fatal(err)
	}
	return append(cases, benchCase{"state", state})
}

// reportState records the size of the "state" plaintext, which depends on
// the Go version, as a metric rather than in the benchmark name.
func reportState(b *testing.B, bc benchCase) {
	if bc.name == "state" {
		b.ReportMetric(float64(len(bc.plaintext)), "state-bytes")
	}
}

func BenchmarkSeal(b *testing.B) {
	for _, a := range aeads {
		r := newTestRing(b, a, 1)
		for _, bc := range benchCases(b) {
			b.Run(aeadName(a)+"/"+bc.name, func(b *testing.B) {
				out := make([]byte, 0, len(bc.plaintext)+tagOverhead(a))
				b.ReportAllocs()
				b.SetBytes(int64(len(bc.plaintext)))
				var err error
				for b.Loop() {
					out, err = r.Seal(out[:0], bc.plaintext, nil)
					if err != nil {
						b.Fatal(err)
					}
				}
				reportState(b, bc)
			})
		}
	}
}

func BenchmarkOpen(b *testing.B) {
	for _, a := range aeads {
		r := newTestRing(b, a, 1)
		for _, bc := range benchCases(b) {
			b.Run(aeadName(a)+"/"+bc.name, func(b *testing.B) {
				ticket := mustSeal(b, r, bc.plaintext, nil)
				out := make([]byte, 0, len(bc.plaintext))
				b.ReportAllocs()
				b.SetBytes(int64(len(bc.plaintext)))
				var err error
				for b.Loop() {
					out, err = r.Open(out[:0], ticket, nil)
					if err != nil {
						b.Fatal(err)
					}
				}
				reportState(b, bc)
			})
		}
	}
}

// BenchmarkRawAEAD measures the bare cipher.AEAD of each AEAD with a fresh
// nonce from crypto/rand per seal, the floor under BenchmarkSeal and
// BenchmarkOpen.
func BenchmarkRawAEAD(b *testing.B) {
	for _, op := range []string{"Seal", "Open"} {
		for _, a := range aeads {
			key := make([]byte, a.KeySize())
			rand.Read(key)
			c, err := newCipher(a, key)
			if err != nil {
				b.Fatal(err)
			}
			for _, bc := range benchCases(b) {
				b.Run(op+"/"+aeadName(a)+"/"+bc.name, func(b *testing.B) {
					nonce := make([]byte, c.NonceSize())
					out := make([]byte, 0, len(bc.plaintext)+c.Overhead())
					ciphertext := c.Seal(nil, nonce, bc.plaintext, nil)
					b.ReportAllocs()
					b.SetBytes(int64(len(bc.plaintext)))
					for b.Loop() {
						if op == "Seal" {
							if _, err := io.ReadFull(rand.Reader, nonce); err != nil {
								b.Fatal(err)
							}
							out = c.Seal(out[:0], nonce, bc.plaintext, nil)
						} else {
							out, err = c.Open(out[:0], nonce, ciphertext, nil)
							if err != nil {
								b.Fatal(err)
							}
						}
					}
					reportState(b, bc)
				})
			}
		}
	}
}

// BenchmarkCryptoTLS measures crypto/tls's own ticket encryption
// (AES-128-CTR and HMAC-SHA256, keys tried in turn) on the state of a real
// TLS 1.3 session. EncryptTicket includes SessionState.Bytes and
// DecryptTicket includes ParseSessionState, which BenchmarkSeal and
// BenchmarkOpen leave to the caller. The numbered sizes pad the state with
// SessionState.Extra to exactly that many bytes.
func BenchmarkCryptoTLS(b *testing.B) {
	s := tlsSession()
	if s.err != nil {
		b.Fatal(s.err)
	}
	base, err := s.ss.Bytes()
	if err != nil {
		b.Fatal(err)
	}
	states := []benchCase{{"state", base}}
	sessions := []*tls.SessionState{s.ss}
	for _, n := range benchSizes {
		if n < len(base) {
			continue
		}
		ss := padSession(b, s.ss, n)
		pt, err := ss.Bytes()
		if err != nil {
			b.Fatal(err)
		}
		states = append(states, benchCase{strconv.Itoa(n), pt})
		sessions = append(sessions, ss)
	}
	for i, bc := range states {
		ss := sessions[i]
		b.Run("EncryptTicket/"+bc.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(bc.plaintext)))
			for b.Loop() {
				if _, err := s.config.EncryptTicket(s.cs, ss); err != nil {
					b.Fatal(err)
				}
			}
			reportState(b, bc)
		})
		b.Run("DecryptTicket/"+bc.name, func(b *testing.B) {
			ticket, err := s.config.EncryptTicket(s.cs, ss)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.SetBytes(int64(len(bc.plaintext)))
			for b.Loop() {
				got, err := s.config.DecryptTicket(ticket, s.cs)
				if err != nil || got == nil {
					b.Fatalf("DecryptTicket = %v, %v", got, err)
				}
			}
			reportState(b, bc)
		})
	}
}

// padSession returns a copy of ss whose Bytes are exactly n bytes long.
func padSession(b *testing.B, ss *tls.SessionState, n int) *tls.SessionState {
	b.Helper()
	padded := *ss
	pad := 0
	for range 4 {
		padded.Extra = [][]byte{make([]byte, pad)}
		got, err := padded.Bytes()
		if err != nil {
			b.Fatal(err)
		}
		if len(got) == n {
			return &padded
		}
		pad += n - len(got)
		if pad < 0 {
			break
		}
	}
	b.Fatalf("cannot pad a %T to %d bytes", ss, n)
	return nil
}

func BenchmarkOpenRingSize(b *testing.B) {
	for _, n := range []int{1, 8, 48} {
		b.Run(fmt.Sprintf("%dkeys", n), func(b *testing.B) {
			keys := generateKeys(b, AES256GCM, n)
			// The ticket is sealed by the oldest key, the last in the ring.
			oldest, err := NewRing(nil, keys[n-1])
			if err != nil {
				b.Fatal(err)
			}
			pt := make([]byte, 256)
			ticket := mustSeal(b, oldest, pt, nil)
			r, err := NewRing(nil, keys[0], keys[1:]...)
			if err != nil {
				b.Fatal(err)
			}
			out := make([]byte, 0, len(pt))
			b.ReportAllocs()
			b.SetBytes(int64(len(pt)))
			for b.Loop() {
				out, err = r.Open(out[:0], ticket, nil)
				if err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkParallel(b *testing.B) {
	kr := NewKeyring(newTestRing(b, AES256GCM, 4))
	pt := make([]byte, 256)
	ticket := mustSeal(b, kr.Load(), pt, nil)
	b.Run("Seal", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(pt)))
		b.RunParallel(func(pb *testing.PB) {
			out := make([]byte, 0, len(ticket))
			var err error
			for pb.Next() {
				if out, err = kr.Seal(out[:0], pt, nil); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
	b.Run("Open", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(pt)))
		b.RunParallel(func(pb *testing.PB) {
			out := make([]byte, 0, len(pt))
			var err error
			for pb.Next() {
				if out, err = kr.Open(out[:0], ticket, nil); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}

// tlsCapture is a session captured from an in-process TLS 1.3 handshake.
type tlsCapture struct {
	config *tls.Config
	cs     tls.ConnectionState
	ss     *tls.SessionState
	err    error
}

// tlsSession runs one TLS 1.3 handshake over net.Pipe, with a self-signed
// ECDSA certificate, and captures the server's session state through
// Config.WrapSession. It runs once per test binary.
var tlsSession = sync.OnceValue(func() *tlsCapture {
	s, err := captureSession()
	if err != nil {
		return &tlsCapture{err: err}
	}
	return s
})

func captureSession() (*tlsCapture, error) {
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "tlsticket.test"},
		DNSNames:     []string{"tlsticket.test"},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &priv.PublicKey, priv)
	if err != nil {
		return nil, err
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	roots := x509.NewCertPool()
	roots.AddCert(leaf)

	s := &tlsCapture{}
	var once sync.Once
	s.config = &tls.Config{
		Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: priv, Leaf: leaf}},
		MinVersion:   tls.VersionTLS13,
	}
	var ticketKey [32]byte
	rand.Read(ticketKey[:])
	s.config.SetSessionTicketKeys([][32]byte{ticketKey})
	s.config.WrapSession = func(cs tls.ConnectionState, ss *tls.SessionState) ([]byte, error) {
		once.Do(func() { s.cs, s.ss = cs, ss })
		return s.config.EncryptTicket(cs, ss)
	}
	client := &tls.Config{
		RootCAs:            roots,
		ServerName:         "tlsticket.test",
		MinVersion:         tls.VersionTLS13,
		ClientSessionCache: tls.NewLRUClientSessionCache(1),
	}

	cconn, sconn := net.Pipe()
	deadline := now.Add(10 * time.Second)
	cconn.SetDeadline(deadline)
	sconn.SetDeadline(deadline)
	serverErr := make(chan error, 1)
	go func() {
		srv := tls.Server(sconn, s.config)
		defer srv.Close()
		if err := srv.Handshake(); err != nil {
			serverErr <- err
			return
		}
		_, err := srv.Write([]byte("done"))
		serverErr <- err
	}()
	cli := tls.Client(cconn, client)
	defer cli.Close()
	if err := cli.Handshake(); err != nil {
		return nil, fmt.Errorf("client handshake: %w", err)
	}
	// Reading processes the NewSessionTicket messages.
	if _, err := io.ReadFull(cli, make([]byte, 4)); err != nil {
		return nil, fmt.Errorf("client read: %w", err)
	}
	if err := <-serverErr; err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	if s.ss == nil {
		return nil, errors.New("no session ticket was issued")
	}
	if v := cli.ConnectionState().Version; v != tls.VersionTLS13 {
		return nil, fmt.Errorf("negotiated version %x, want TLS 1.3", v)
	}
	ticket, err := s.config.EncryptTicket(s.cs, s.ss)
	if err != nil {
		return nil, err
	}
	if got, err := s.config.DecryptTicket(ticket, s.cs); err != nil || got == nil {
		return nil, fmt.Errorf("DecryptTicket of a fresh ticket = %v, %v", got, err)
	}
	return s, nil
}
