package legacy_test

import (
	"bytes"
	"testing"

	"github.com/tlsticket/tlsticket/engine"
	"github.com/tlsticket/tlsticket/format"
	"github.com/tlsticket/tlsticket/internal/opensslkit"
	"github.com/tlsticket/tlsticket/internal/testkit"
	"github.com/tlsticket/tlsticket/keyfile"
	"github.com/tlsticket/tlsticket/seal"
	"github.com/tlsticket/tlsticket/status"
)

// TestEngineOpensLegacyTickets opens a ticket made by the real OpenSSL
// library through engine.Config.LegacyTickets: SuccessRenew, resumed with OpenSSL's master secret; a
// tampered one, or one without the opener, is NoDecrypt.
func TestEngineOpensLegacyTickets(t *testing.T) {
	raw := bytes.Repeat([]byte{1, 2, 3, 4, 5}, 16)
	made := opensslkit.Run(t, "keys", raw, "ECDHE-ECDSA-AES128-GCM-SHA256", "alpn")
	opener, _ := opensslkit.Opener(t, raw, keyfile.LayoutOpenSSL)
	keys := seal.NewKeyring(testkit.Ring(t, testkit.Key(t, seal.AES256GCM, "k")))
	e, err := engine.New(&engine.Config{Keys: keys, LegacyTickets: opener})
	if err != nil {
		t.Fatal(err)
	}
	d, err := e.Open(engine.ConnInfo{Version: format.VersionTLS12, ServerName: "tlsticket.test", ALPN: "h2"}, true, made.Ticket)
	if err != nil || !d.Resumed || d.Status != status.SuccessRenew || d.Tickets != 1 {
		t.Fatalf("status %v resumed %v tickets %d fallback %v err %v", d.Status, d.Resumed, d.Tickets, d.Fallback, err)
	}
	s := d.Session
	if !bytes.Equal(s.Secret, made.Master) || s.CipherSuite != made.Cipher || s.ServerName != "tlsticket.test" || s.ALPN != "h2" || !s.ExtendedMasterSecret {
		t.Errorf("session %v, want OpenSSL's", s)
	}
	if !bytes.Equal(d.KeyName, made.Ticket[:16]) {
		t.Errorf("key name %x", d.KeyName)
	}

	bad := bytes.Clone(made.Ticket)
	bad[40] ^= 1
	if d, _ := e.Open(engine.ConnInfo{Version: format.VersionTLS12}, true, bad); d.Status != status.NoDecrypt {
		t.Errorf("tampered OpenSSL ticket: %v", d.Status)
	}
	plain, err := engine.New(&engine.Config{Keys: keys})
	if err != nil {
		t.Fatal(err)
	}
	if d, _ := plain.Open(engine.ConnInfo{Version: format.VersionTLS12}, true, made.Ticket); d.Status != status.NoDecrypt {
		t.Errorf("without LegacyTickets: %v", d.Status)
	}
}
