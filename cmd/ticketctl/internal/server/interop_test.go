package server_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/pem"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tlsticket/tlsticket/cmd/ticketctl/internal/server"
	"github.com/tlsticket/tlsticket/engine"
	"github.com/tlsticket/tlsticket/format"
	"github.com/tlsticket/tlsticket/internal/testkit"
	"github.com/tlsticket/tlsticket/seal"
	"github.com/tlsticket/tlsticket/status"
)

// need returns the path of a real TLS client, or ends the test (a failure
// under CI=true, a skip otherwise).
func need(t *testing.T, bin string) string {
	t.Helper()
	return testkit.LookPath(t, bin, bin+" (make deps)")
}

func interopKey(t *testing.T, label string) *seal.Key {
	t.Helper()
	return testkit.Key(t, seal.AES256GCM, "interop "+label)
}

func ring(t *testing.T, primary *seal.Key, old ...*seal.Key) *seal.Ring {
	t.Helper()
	return testkit.Ring(t, primary, old...)
}

func startServer(t *testing.T, version uint16, keys *seal.Keyring, cfg func(*engine.Config)) *server.Server {
	t.Helper()
	ec := engine.Config{Keys: keys}
	if cfg != nil {
		cfg(&ec)
	}
	srv, err := server.New(server.Config{Addr: "127.0.0.1:0", MinVersion: version, MaxVersion: version, Engine: ec})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return srv
}

// last returns the server's record of its latest handshake.
func last(t *testing.T, srv *server.Server) server.Handshake {
	t.Helper()
	hs := srv.Handshakes()
	if len(hs) == 0 {
		t.Fatal("the server recorded no handshake")
	}
	return hs[len(hs)-1]
}

func versionFlag(v uint16) string {
	if v == tls.VersionTLS13 {
		return "-tls1_3"
	}
	return "-tls1_2"
}

// sClient runs one openssl s_client connection and reports whether it
// resumed, from what s_client prints ("Reused," or "New,").
func sClient(t *testing.T, addr string, v uint16, sessIn, sessOut string, extra ...string) bool {
	t.Helper()
	args := append([]string{"s_client", "-connect", addr, versionFlag(v), "-ign_eof"}, extra...)
	if sessIn != "" {
		args = append(args, "-sess_in", sessIn)
	}
	if sessOut != "" {
		args = append(args, "-sess_out", sessOut)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, need(t, "openssl"), args...).CombinedOutput()
	s := string(out)
	switch {
	case strings.Contains(s, "\nReused, "):
		return true
	case strings.Contains(s, "\nNew, "):
		return false
	}
	t.Fatalf("openssl s_client %v: %v\n%s", args, err, s)
	return false
}

// tamperSession flips a ciphertext byte of the ticket inside an s_client
// session file, found by its key name.
func tamperSession(t *testing.T, in, out string, name seal.KeyName) {
	t.Helper()
	data, err := os.ReadFile(in)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(data)
	if block == nil {
		t.Fatalf("%s: no PEM block", in)
	}
	i := bytes.Index(block.Bytes, name[:])
	if i < 2 || i+seal.HeaderSize+30 > len(block.Bytes) {
		t.Fatalf("%s: the ticket's key name is not in the session", in)
	}
	block.Bytes[i+seal.HeaderSize+20] ^= 0x40 // inside the nonce/ciphertext
	if err := os.WriteFile(out, pem.EncodeToMemory(block), 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestOpenSSLClient resumes with openssl s_client: a full handshake saves
// the session, which resumes; after a rotation the old ticket still resumes
// and a new ticket is sent; after the old key is dropped the old ticket gets
// a full handshake while the renewed one resumes; a tampered session file
// gets a full handshake.
func TestOpenSSLClient(t *testing.T) {
	need(t, "openssl")
	versions(t, func(t *testing.T, v uint16) {
		k1, k2 := interopKey(t, "k1"), interopKey(t, "k2")
		keys := seal.NewKeyring(ring(t, k1))
		srv := startServer(t, v, keys, nil)
		dir := t.TempDir()
		sess1, sess2, bad := filepath.Join(dir, "s1.pem"), filepath.Join(dir, "s2.pem"), filepath.Join(dir, "bad.pem")
		opened := status.Success
		if v == tls.VersionTLS13 {
			opened = status.SuccessRenew
		}

		if sClient(t, srv.Addr(), v, "", sess1) || last(t, srv).Offered {
			t.Fatalf("first connection: %+v", last(t, srv))
		}
		if !sClient(t, srv.Addr(), v, sess1, "") || last(t, srv).Status != opened.String() {
			t.Fatalf("resumption: %+v", last(t, srv))
		}

		keys.Store(ring(t, k2, k1))
		resumed := sClient(t, srv.Addr(), v, sess1, sess2) // renews: a new ticket under k2
		h := last(t, srv)
		if !resumed || h.Status != "SuccessRenew" || h.Return != "UseRenew" || h.TicketsSent < 1 {
			t.Fatalf("after rotation: resumed %v, %+v", resumed, h)
		}

		keys.Store(ring(t, k2))
		if sClient(t, srv.Addr(), v, sess1, "") || last(t, srv).Status != "NoDecrypt" {
			t.Fatalf("old ticket after its key was dropped: %+v", last(t, srv))
		}
		if v == tls.VersionTLS13 {
			// s_client saves the ticket renewed on a TLS 1.3 resumption; in
			// TLS 1.2 OpenSSL keeps a resumed session as it was, so the
			// renewed ticket is checked by TestGoClient instead.
			if !sClient(t, srv.Addr(), v, sess2, "") {
				t.Fatalf("renewed ticket: %+v", last(t, srv))
			}
		}

		sess3 := filepath.Join(dir, "s3.pem")
		if sClient(t, srv.Addr(), v, "", sess3) || !sClient(t, srv.Addr(), v, sess3, "") {
			t.Fatalf("a new session under the new key: %+v", last(t, srv))
		}
		tamperSession(t, sess3, bad, k2.Name())
		if sClient(t, srv.Addr(), v, bad, "") || last(t, srv).Status != "NoDecrypt" {
			t.Fatalf("tampered session: %+v", last(t, srv))
		}
	})
}

// TestGnuTLSClient resumes with gnutls-cli --resume.
func TestGnuTLSClient(t *testing.T) {
	bin := need(t, "gnutls-cli")
	versions(t, func(t *testing.T, v uint16) {
		srv := startServer(t, v, seal.NewKeyring(ring(t, interopKey(t, "g"))), nil)
		host, port, _ := net.SplitHostPort(srv.Addr())
		prio := "NORMAL:-VERS-ALL:+VERS-TLS1.2"
		if v == tls.VersionTLS13 {
			prio = "NORMAL:-VERS-ALL:+VERS-TLS1.3"
		}
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		out, err := exec.CommandContext(ctx, bin, "--insecure", "--resume", "-p", port, "--priority", prio, host).CombinedOutput()
		if !strings.Contains(string(out), "*** This is a resumed session") {
			t.Fatalf("gnutls-cli did not resume: %v\n%s", err, out)
		}
		if h := last(t, srv); !h.Resumed || !h.Offered {
			t.Fatalf("server: %+v", h)
		}
	})
}

// TestGoClient resumes with crypto/tls's client: resumption, renewal after
// rotation, and application data set in gen_cb read back in dec_cb.
func TestGoClient(t *testing.T) {
	versions(t, func(t *testing.T, v uint16) {
		k1, k2 := interopKey(t, "go1"), interopKey(t, "go2")
		keys := seal.NewKeyring(ring(t, k1))
		var appData []string
		srv := startServer(t, v, keys, func(c *engine.Config) {
			c.GenerateTicket = func(s *format.State) error {
				s.AppData = []byte("issued-by:" + k1.Name().String()[:8])
				return nil
			}
			c.DecryptTicket = func(ti engine.TicketInfo) status.Return {
				s, st := ti.Session, ti.Status
				if st.Opened() {
					appData = append(appData, string(s.AppData))
				}
				return status.Default(st)
			}
		})
		cfg := &tls.Config{InsecureSkipVerify: true, MinVersion: v, MaxVersion: v, ClientSessionCache: tls.NewLRUClientSessionCache(4)}
		dial := func() bool {
			c, err := tls.Dial("tcp", srv.Addr(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			io.ReadAll(c) // the server writes a line and closes: the tickets are read first
			return c.ConnectionState().DidResume
		}
		if dial() || !dial() {
			t.Fatal("no resumption")
		}
		keys.Store(ring(t, k2, k1))
		if !dial() || last(t, srv).Status != "SuccessRenew" {
			t.Fatalf("after rotation: %+v", last(t, srv))
		}
		keys.Store(ring(t, k2))
		if !dial() {
			t.Fatalf("renewed ticket did not resume: %+v", last(t, srv))
		}
		if len(appData) != 3 || appData[0] != "issued-by:"+k1.Name().String()[:8] {
			t.Errorf("dec_cb read app data %q", appData)
		}
	})
}

func versions(t *testing.T, f func(t *testing.T, v uint16)) {
	t.Run("TLSv12", func(t *testing.T) { f(t, tls.VersionTLS12) })
	t.Run("TLSv13", func(t *testing.T) { f(t, tls.VersionTLS13) })
}
