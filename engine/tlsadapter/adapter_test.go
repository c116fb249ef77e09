package tlsadapter

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"sync"
	"testing"

	"github.com/tlsticket/tlsticket/engine"
	"github.com/tlsticket/tlsticket/format"
	"github.com/tlsticket/tlsticket/internal/testcert"
	"github.com/tlsticket/tlsticket/internal/testkit"
	"github.com/tlsticket/tlsticket/seal"
	"github.com/tlsticket/tlsticket/status"
)

type fixture struct {
	keys  *seal.Keyring
	cert  tls.Certificate
	roots *x509.CertPool

	mu        sync.Mutex
	decisions []engine.Decision
	errs      []error
	wrapErrs  []error // OnWrapError
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	return &fixture{keys: seal.NewKeyring(newRing(t, newKey(t, "k1"))), cert: testcert.Server(), roots: testcert.Roots()}
}

func newKey(t *testing.T, label string) *seal.Key {
	t.Helper()
	return testkit.Key(t, seal.AES128GCM, label)
}

func newRing(t *testing.T, primary *seal.Key, old ...*seal.Key) *seal.Ring {
	t.Helper()
	return testkit.Ring(t, primary, old...)
}

// server returns a server config with the engine installed; cfg adjusts the
// engine config, tcfg the TLS config (before the binding is computed).
func (f *fixture) server(t *testing.T, version uint16, cfg func(*engine.Config), tcfg func(*tls.Config)) *tls.Config {
	t.Helper()
	c := &tls.Config{
		Certificates: []tls.Certificate{f.cert},
		MinVersion:   version,
		MaxVersion:   version,
		NextProtos:   []string{"h2", "http/1.1"},
	}
	if tcfg != nil {
		tcfg(c)
	}
	binding, err := Binding(c)
	if err != nil {
		t.Fatal(err)
	}
	ec := &engine.Config{Keys: f.keys, Binding: binding}
	if cfg != nil {
		cfg(ec)
	}
	e, err := engine.New(ec)
	if err != nil {
		t.Fatal(err)
	}
	a := New(e)
	a.OnDecision = func(_ tls.ConnectionState, d engine.Decision, err error) {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.decisions = append(f.decisions, d)
		f.errs = append(f.errs, err)
	}
	a.OnWrapError = func(_ tls.ConnectionState, err error) {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.wrapErrs = append(f.wrapErrs, err)
	}
	a.Install(c)
	return c
}

func (f *fixture) last(t *testing.T) (engine.Decision, error) {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.decisions) == 0 {
		t.Fatal("the engine made no decision")
	}
	return f.decisions[len(f.decisions)-1], f.errs[len(f.errs)-1]
}

func (f *fixture) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.decisions)
}

// anyCache is a ClientSessionCache that offers its last session to every
// server name, so that tests can present a ticket where the client would
// not.
type anyCache struct {
	mu sync.Mutex
	cs *tls.ClientSessionState
}

func (c *anyCache) Get(string) (*tls.ClientSessionState, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.cs, c.cs != nil
}

func (c *anyCache) Put(_ string, cs *tls.ClientSessionState) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if cs != nil {
		c.cs = cs
	}
}

// resumable returns a fixture, its server and a client that holds a ticket
// from one full handshake of version v.
func resumable(t *testing.T, v uint16) (*fixture, *tls.Config, *tls.Config) {
	t.Helper()
	f := newFixture(t)
	srv := f.server(t, v, nil, nil)
	cli := f.client(v, tls.NewLRUClientSessionCache(8), "a.example")
	if _, err := handshake(t, srv, cli); err != nil {
		t.Fatal(err)
	}
	return f, srv, cli
}

func (f *fixture) client(version uint16, cache tls.ClientSessionCache, sni string, alpn ...string) *tls.Config {
	return &tls.Config{
		RootCAs:            f.roots,
		ServerName:         sni,
		MinVersion:         version,
		MaxVersion:         version,
		ClientSessionCache: cache,
		NextProtos:         alpn,
	}
}

// handshake runs one connection over loopback TCP (net.Pipe has no buffer,
// and both sides write at once when a client certificate's Finished meets
// the server's tickets). The server writes a byte, so that the client reads
// (and caches) the TLS 1.3 tickets sent after the handshake. It returns the
// client's view of the connection.
func handshake(t *testing.T, server, client *tls.Config) (tls.ConnectionState, error) {
	t.Helper()
	cc, sc := tcpPair(t)
	done := make(chan error, 1)
	go func() {
		s := tls.Server(sc, server)
		defer s.Close()
		if err := s.Handshake(); err != nil {
			done <- err
			return
		}
		_, err := s.Write([]byte{1})
		io.Copy(io.Discard, s)
		done <- err
	}()
	c := tls.Client(cc, client)
	err := c.Handshake()
	if err == nil {
		var b [1]byte
		_, err = io.ReadFull(c, b[:])
	}
	cs := c.ConnectionState()
	c.Close()
	if serr := <-done; serr != nil && (err == nil || !errors.Is(serr, io.EOF)) {
		err = serr // the server's error says more than the client's EOF
	}
	return cs, err
}

func versions(t *testing.T, f func(t *testing.T, v uint16)) {
	t.Run("TLSv12", func(t *testing.T) { f(t, tls.VersionTLS12) })
	t.Run("TLSv13", func(t *testing.T) { f(t, tls.VersionTLS13) })
}

func TestResumption(t *testing.T) {
	versions(t, func(t *testing.T, v uint16) {
		f := newFixture(t)
		srv := f.server(t, v, nil, nil)
		cli := f.client(v, tls.NewLRUClientSessionCache(8), "a.example", "h2")
		cs, err := handshake(t, srv, cli)
		if err != nil || cs.DidResume {
			t.Fatalf("first connection: resumed %v, err %v", cs.DidResume, err)
		}
		cs, err = handshake(t, srv, cli)
		if err != nil || !cs.DidResume {
			t.Fatalf("second connection: resumed %v, err %v", cs.DidResume, err)
		}
		d, derr := f.last(t)
		want := status.Success
		if v == tls.VersionTLS13 {
			want = status.SuccessRenew
		}
		if derr != nil || !d.Resumed || d.Status != want {
			t.Errorf("decision %v/%v resumed %v err %v; want %v", d.Status, d.Return, d.Resumed, derr, want)
		}
	})
}

// TestRenewAfterRotation: after a rotation the old ticket still resumes
// (SuccessRenew), and the client's new ticket is under the new key.
func TestRenewAfterRotation(t *testing.T) {
	versions(t, func(t *testing.T, v uint16) {
		f, srv, cli := resumable(t, v)
		k1, k2 := f.keys.Load().Primary(), newKey(t, "k2")
		f.keys.Store(newRing(t, k2, k1))
		cs, err := handshake(t, srv, cli)
		d, _ := f.last(t)
		n1 := k1.Name()
		if err != nil || !cs.DidResume || d.Status != status.SuccessRenew || !bytes.Equal(d.KeyName, n1[:]) {
			t.Fatalf("after rotation: resumed %v status %v key %x err %v", cs.DidResume, d.Status, d.KeyName, err)
		}
		f.keys.Store(newRing(t, k2)) // drop the old key: only a renewed ticket resumes now
		cs, err = handshake(t, srv, cli)
		d, _ = f.last(t)
		n2 := k2.Name()
		if err != nil || !cs.DidResume || !bytes.Equal(d.KeyName, n2[:]) {
			t.Fatalf("renewed ticket: resumed %v status %v key %x err %v", cs.DidResume, d.Status, d.KeyName, err)
		}
	})
}

// TestDroppedKey: a ticket whose key is gone gives a full handshake after
// NoDecrypt, and no error. (Changed ticket bytes are the conformance tests'.)
func TestDroppedKey(t *testing.T) {
	versions(t, func(t *testing.T, v uint16) {
		f, srv, cli := resumable(t, v)
		f.keys.Store(newRing(t, newKey(t, "k3")))
		cs, err := handshake(t, srv, cli)
		d, derr := f.last(t)
		if err != nil || cs.DidResume || d.Status != status.NoDecrypt || derr != nil {
			t.Fatalf("resumed %v status %v err %v/%v; want a full handshake after NoDecrypt", cs.DidResume, d.Status, err, derr)
		}
	})
}

func TestAppData(t *testing.T) {
	versions(t, func(t *testing.T, v uint16) {
		f := newFixture(t)
		var got []byte
		srv := f.server(t, v, func(c *engine.Config) {
			c.GenerateTicket = func(s *format.State) error {
				s.AppData = []byte("user=alice")
				return nil
			}
			c.DecryptTicket = func(ti engine.TicketInfo) status.Return {
				s, st := ti.Session, ti.Status
				if st.Opened() {
					got = bytes.Clone(s.AppData)
				}
				return status.Default(st)
			}
		}, nil)
		cli := f.client(v, tls.NewLRUClientSessionCache(8), "a.example")
		for i := 0; i < 2; i++ {
			if _, err := handshake(t, srv, cli); err != nil {
				t.Fatal(err)
			}
		}
		if string(got) != "user=alice" {
			t.Errorf("dec_cb read app data %q, want %q", got, "user=alice")
		}
	})
}

func TestCallbackAbort(t *testing.T) {
	versions(t, func(t *testing.T, v uint16) {
		f := newFixture(t)
		srv := f.server(t, v, func(c *engine.Config) {
			c.DecryptTicket = func(engine.TicketInfo) status.Return { return status.Abort }
		}, nil)
		cli := f.client(v, tls.NewLRUClientSessionCache(8), "a.example")
		if _, err := handshake(t, srv, cli); err != nil {
			t.Fatal(err)
		}
		if _, err := handshake(t, srv, cli); err == nil {
			t.Fatal("the handshake went on after the callback aborted")
		}
		if _, derr := f.last(t); !errors.Is(derr, status.ErrAbort) {
			t.Errorf("engine error %v, want status.ErrAbort", derr)
		}
	})
}

// TestContextBinding: a ticket is not resumed under another SNI, another
// ALPN protocol, or another client-authentication configuration.
func TestContextBinding(t *testing.T) {
	versions(t, func(t *testing.T, v uint16) {
		// A ticket presented for another server name or application
		// protocol than it was issued for: a full handshake.
		type hello struct {
			sni  string
			alpn []string
		}
		for _, tt := range []struct {
			name          string
			first, second hello
			want          error
		}{
			{"sni", hello{"a.example", nil}, hello{"b.example", nil}, engine.ErrServerNameMismatch},
			{"alpn", hello{"a.example", []string{"h2"}}, hello{"a.example", []string{"http/1.1"}}, engine.ErrALPNMismatch},
		} {
			t.Run(tt.name, func(t *testing.T) {
				f := newFixture(t)
				srv := f.server(t, v, nil, nil)
				cache := &anyCache{}
				if _, err := handshake(t, srv, f.client(v, cache, tt.first.sni, tt.first.alpn...)); err != nil {
					t.Fatal(err)
				}
				cs, err := handshake(t, srv, f.client(v, cache, tt.second.sni, tt.second.alpn...))
				d, _ := f.last(t)
				if err != nil || cs.DidResume || !errors.Is(d.Fallback, tt.want) {
					t.Fatalf("resumed %v fallback %v err %v", cs.DidResume, d.Fallback, err)
				}
			})
		}
		t.Run("client-auth", func(t *testing.T) {
			// A ticket issued where no client certificate was asked for is
			// not resumed where one is now required (CVE-2025-23419).
			f := newFixture(t)
			open := f.server(t, v, nil, nil)
			strict := f.server(t, v, nil, func(c *tls.Config) {
				c.ClientAuth = tls.RequireAndVerifyClientCert
				c.ClientCAs = testcert.Roots()
			})
			clientCert := testcert.Client()
			cache := &anyCache{}
			cli := f.client(v, cache, "a.example")
			cli.Certificates = []tls.Certificate{clientCert}
			if _, err := handshake(t, open, cli); err != nil {
				t.Fatal(err)
			}
			before := f.count()
			cs, err := handshake(t, strict, cli)
			if err != nil || cs.DidResume {
				t.Fatalf("resumed %v err %v", cs.DidResume, err)
			}
			if f.count() == before {
				t.Fatal("the client offered no ticket")
			}
			if d, _ := f.last(t); !errors.Is(d.Fallback, engine.ErrBindingMismatch) {
				t.Errorf("fallback %v, want ErrBindingMismatch", d.Fallback)
			}
		})
	})
}

func TestBinding(t *testing.T) {
	f := newFixture(t)
	a := &tls.Config{Certificates: []tls.Certificate{f.cert}}
	b := a.Clone()
	b.ClientAuth = tls.RequireAndVerifyClientCert
	c := b.Clone()
	c.ClientCAs = testcert.Roots()
	ba, _ := Binding(a)
	bb, _ := Binding(b)
	bc, _ := Binding(c)
	ba2, _ := Binding(a.Clone())
	if bytes.Equal(ba, bb) || bytes.Equal(bb, bc) || !bytes.Equal(ba, ba2) {
		t.Errorf("bindings: a %x b %x c %x a' %x", ba, bb, bc, ba2)
	}
	if _, err := Binding(nil); !errors.Is(err, ErrNoConfig) {
		t.Errorf("Binding(nil): %v", err)
	}
}

// TestNoTicketKeepsTheConnection: a ticket the engine may not or cannot make
// (GenerateTicket skips it, or sealing fails) never ends the handshake;
// the client just does not resume next time. A GenerateTicket error other
// than ErrSkipTicket still aborts, as documented.
func TestNoTicketKeepsTheConnection(t *testing.T) {
	tests := []struct {
		name  string
		gen   func(*format.State) error
		abort bool
	}{
		{"skip", func(*format.State) error { return engine.ErrSkipTicket }, false},
		{"too large to seal", func(s *format.State) error { s.AppData = make([]byte, format.MaxAppData); return nil }, false},
		{"abort", func(*format.State) error { return errors.New("no") }, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			versions(t, func(t *testing.T, v uint16) {
				f := newFixture(t)
				srv := f.server(t, v, func(c *engine.Config) { c.GenerateTicket = tt.gen }, nil)
				cli := f.client(v, tls.NewLRUClientSessionCache(8), "a.example", "h2")
				_, err := handshake(t, srv, cli)
				if tt.abort {
					if err == nil {
						t.Fatal("a GenerateTicket error did not end the connection")
					}
					return
				}
				if err != nil {
					t.Fatalf("first connection: %v", err)
				}
				f.mu.Lock()
				n := len(f.wrapErrs)
				f.mu.Unlock()
				if n == 0 {
					t.Error("OnWrapError was not called")
				}
				cs, err := handshake(t, srv, cli)
				if err != nil || cs.DidResume {
					t.Fatalf("second connection: resumed %v, err %v; want a full handshake", cs.DidResume, err)
				}
			})
		})
	}
}

// TestClientChainOnce: a client-authenticated ticket carries the client's
// chain once (inside the crypto/tls state), and the resumed connection
// still knows the client's certificate.
func TestClientChainOnce(t *testing.T) {
	versions(t, func(t *testing.T, v uint16) {
		f := newFixture(t)
		var peers []int
		srv := f.server(t, v, nil, func(c *tls.Config) {
			c.ClientAuth = tls.RequireAndVerifyClientCert
			c.ClientCAs = f.roots
			c.VerifyConnection = func(cs tls.ConnectionState) error {
				peers = append(peers, len(cs.PeerCertificates))
				return nil
			}
		})
		clientCert := testcert.Client()
		cache := &anyCache{}
		cli := f.client(v, cache, "a.example", "h2")
		cli.Certificates = []tls.Certificate{clientCert}
		if _, err := handshake(t, srv, cli); err != nil {
			t.Fatal(err)
		}
		cache.mu.Lock()
		identity, _, err := cache.cs.ResumptionState()
		cache.mu.Unlock()
		if err != nil {
			t.Fatal(err)
		}
		pt, err := f.keys.Open(nil, identity, nil)
		if err != nil {
			t.Fatal(err)
		}
		if n := bytes.Count(pt, clientCert.Certificate[0]); n != 1 {
			t.Errorf("the ticket carries the client certificate %d times, want 1", n)
		}
		cs, err := handshake(t, srv, cli)
		if err != nil || !cs.DidResume {
			t.Fatalf("resumed %v, %v", cs.DidResume, err)
		}
		if len(peers) != 2 || peers[1] == 0 {
			t.Errorf("peer certificates seen by the server: %v, want the chain on resumption too", peers)
		}
	})
}

// tcpPair returns the two ends of a loopback TCP connection.
func tcpPair(t *testing.T) (client, server net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	client, err = net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	// Another process on the machine may dial a port it probed free and we
	// took since: accept until the connection is the one we dialed.
	for {
		c, err := ln.Accept()
		if err != nil {
			t.Fatal(err)
		}
		if c.RemoteAddr().String() == client.LocalAddr().String() {
			return client, c
		}
		c.Close()
	}
}

// TestForeignState: a ticket this engine sealed whose embedded state
// crypto/tls cannot parse gives a full handshake (ErrForeignState), not an
// abort, and the dropped session's secrets are wiped, as the engine wipes
// every session it does not resume.
func TestForeignState(t *testing.T) {
	e, err := engine.New(&engine.Config{Keys: seal.NewKeyring(newRing(t, newKey(t, "k")))})
	if err != nil {
		t.Fatal(err)
	}
	a := New(e)
	s := &format.State{Version: tls.VersionTLS12, CipherSuite: tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
		Secret: bytes.Repeat([]byte{0x5e}, 48), Embedded: []byte("not a crypto/tls session state")}
	iss, err := e.Issue(s, nil)
	if err != nil {
		t.Fatal(err)
	}
	var seen engine.Decision
	a.OnDecision = func(_ tls.ConnectionState, d engine.Decision, _ error) { seen = d }
	ss, d, err := a.Unwrap(iss.Ticket, tls.ConnectionState{Version: tls.VersionTLS12})
	if err != nil || ss != nil || d.Resumed || !errors.Is(d.Fallback, ErrForeignState) {
		t.Fatalf("Unwrap = %v, resumed %v, fallback %v, %v; want a full handshake for ErrForeignState", ss, d.Resumed, d.Fallback, err)
	}
	if d.Session.Secret != nil || !bytes.Equal(seen.Session.Secret, make([]byte, 48)) || !bytes.Equal(seen.Session.Embedded, make([]byte, len(s.Embedded))) {
		t.Errorf("the dropped session's secrets remain: secret %x, embedded %q", seen.Session.Secret, seen.Session.Embedded)
	}
}
