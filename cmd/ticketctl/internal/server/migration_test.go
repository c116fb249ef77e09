package server_test

import (
	"bytes"
	"crypto/tls"
	"os"
	"path/filepath"
	"testing"

	"github.com/tlsticket/tlsticket/engine"
	"github.com/tlsticket/tlsticket/internal/opensslkit"
	"github.com/tlsticket/tlsticket/keyfile"
	"github.com/tlsticket/tlsticket/seal"
	"github.com/tlsticket/tlsticket/seal/legacy"
	"github.com/tlsticket/tlsticket/status"
)

// TestMigrationFromOpenSSL moves a client from an OpenSSL server to ours:
// the real libssl issues a TLS 1.2 ticket under an nginx-style 80-byte key
// and writes the client's session; openssl s_client offers it to our Go
// server, which opens it with the legacy opener under the same key,
// resumes it (SuccessRenew) and issues a ticket of its own.
func TestMigrationFromOpenSSL(t *testing.T) {
	need(t, "openssl")
	raw := bytes.Repeat([]byte{0x5a, 0xc3, 0x11, 0x7e}, 20) // the nginx ssl_session_ticket_key file
	sess := filepath.Join(t.TempDir(), "openssl-session.pem")
	made := opensslkit.Run(t, "cb256", raw, "ECDHE-ECDSA-AES128-GCM-SHA256", "sessout="+sess)
	if _, err := os.Stat(sess); err != nil {
		t.Fatal(err)
	}

	opener, _ := opensslkit.Opener(t, raw, keyfile.LayoutNginx)
	ours := interopKey(t, "after-migration")
	var seen []status.Status
	srv := startServer(t, tls.VersionTLS12, seal.NewKeyring(ring(t, ours)), func(c *engine.Config) {
		c.LegacyTickets = opener
		c.DecryptTicket = func(ti engine.TicketInfo) status.Return {
			keyName, st := ti.KeyName, ti.Status
			seen = append(seen, st)
			if !bytes.Equal(keyName, made.Ticket[:legacy.KeyNameSize]) {
				t.Errorf("dec_cb key name %x, want the OpenSSL ticket's %x", keyName, made.Ticket[:legacy.KeyNameSize])
			}
			return status.Default(st)
		}
	})

	if !sClient(t, srv.Addr(), tls.VersionTLS12, sess, "", "-servername", "tlsticket.test") {
		t.Fatalf("the OpenSSL session did not resume: %+v", last(t, srv))
	}
	h := last(t, srv)
	name := ours.Name()
	if h.Status != "SuccessRenew" || h.Return != "UseRenew" || h.TicketsSent != 1 || h.IssuedKey != name.String() {
		t.Fatalf("server: %+v; want SuccessRenew, UseRenew and a new ticket under %v", h, name)
	}
	if len(seen) != 1 || seen[0] != status.SuccessRenew {
		t.Errorf("dec_cb saw %v", seen)
	}
}
