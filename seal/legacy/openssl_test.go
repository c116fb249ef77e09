package legacy_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/tlsticket/tlsticket/internal/opensslkit"
	"github.com/tlsticket/tlsticket/keyfile"
	"github.com/tlsticket/tlsticket/seal/legacy"
)

// TestRealOpenSSL opens tickets made by the real OpenSSL library on this
// machine: OpenSSL's own ticket keys (SSL_CTX_set_tlsext_ticket_keys, 80
// bytes), and a key callback as nginx installs one, with 48- and 80-byte
// keys. The keys are split by package keyfile in the matching layout, so
// this also checks those layouts against OpenSSL.
func TestRealOpenSSL(t *testing.T) {
	tests := []struct {
		mode    string
		size    int
		layout  keyfile.Layout
		ciphers string
		options string
		suite   uint16
	}{
		{"keys", 80, keyfile.LayoutOpenSSL, "ECDHE-ECDSA-AES128-GCM-SHA256", "", 0xc02b},
		{"keys", 80, keyfile.LayoutOpenSSL, "ECDHE-ECDSA-CHACHA20-POLY1305", "noems", 0xcca9},
		{"cb128", 48, keyfile.LayoutNginx, "ECDHE-ECDSA-AES256-GCM-SHA384", "clientcert", 0xc02c},
		{"cb256", 80, keyfile.LayoutNginx, "ECDHE-ECDSA-AES128-SHA", "noems,clientcert", 0xc009},
		{"cb256", 80, keyfile.LayoutNginx, "ECDHE-ECDSA-AES128-GCM-SHA256", "alpn", 0xc02b},
	}
	for _, tt := range tests {
		t.Run(tt.mode+"/"+tt.ciphers+"/"+tt.options, func(t *testing.T) {
			raw := make([]byte, tt.size)
			for i := range raw {
				raw[i] = byte(i*37 + tt.size)
			}
			before := time.Now().Add(-time.Minute).Unix()
			got := opensslkit.Run(t, tt.mode, raw, tt.ciphers, tt.options)
			o, key := opensslkit.Opener(t, raw, tt.layout)
			s, err := o.Open(got.Ticket)
			if err != nil {
				t.Fatalf("Open(OpenSSL ticket): %v", err)
			}
			t.Logf("OpenSSL %s ticket, %d bytes: %v", tt.mode, len(got.Ticket), s)
			if !bytes.Equal(s.MasterSecret, got.Master) {
				t.Errorf("MasterSecret = %x, want %x", s.MasterSecret, got.Master)
			}
			if s.CipherSuite != tt.suite || s.CipherSuite != got.Cipher {
				t.Errorf("CipherSuite = %#04x, want %#04x (OpenSSL says %#04x)", s.CipherSuite, tt.suite, got.Cipher)
			}
			if s.Version != 0x0303 || s.Version != got.Version {
				t.Errorf("Version = %#04x, want 0x0303 (OpenSSL says %#04x)", s.Version, got.Version)
			}
			if s.Created.Unix() != got.Time || got.Time < before {
				t.Errorf("Created = %v, want %v", s.Created.Unix(), got.Time)
			}
			if s.Timeout != time.Duration(got.Timeout)*time.Second {
				t.Errorf("Timeout = %v, want %ds", s.Timeout, got.Timeout)
			}
			if wantEMS := !strings.Contains(tt.options, "noems"); s.ExtendedMasterSecret != got.EMS || s.ExtendedMasterSecret != wantEMS {
				t.Errorf("ExtendedMasterSecret = %v, want %v (OpenSSL says %v)", s.ExtendedMasterSecret, wantEMS, got.EMS)
			}
			if s.ServerName != got.SNI || s.ServerName != "tlsticket.test" {
				t.Errorf("ServerName = %q, want %q", s.ServerName, got.SNI)
			}
			if wantALPN := strings.Contains(tt.options, "alpn"); s.ALPN != got.ALPN || (s.ALPN == "h2") != wantALPN {
				t.Errorf("ALPN = %q, want %q", s.ALPN, got.ALPN)
			}

			// A flipped bit anywhere fails before decryption, and a key in
			// the wrong layout opens nothing.
			for i := range got.Ticket {
				b := bytes.Clone(got.Ticket)
				b[i] ^= 0x01
				if s, err := o.Open(b); s != nil || err == nil {
					t.Fatalf("Open(ticket with byte %d flipped) = %v, %v", i, s, err)
				}
			}
			wrong := keyfile.LayoutHAProxy
			if tt.layout == keyfile.LayoutHAProxy {
				wrong = keyfile.LayoutOpenSSL
			}
			if k, err := keyfile.ParseLegacyKey(raw, wrong); err == nil && !bytes.Equal(k.AESKey, key.AESKey) {
				wo, err := legacy.NewOpener(k)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := wo.Open(got.Ticket); !errors.Is(err, legacy.ErrAuth) {
					t.Errorf("Open with the %v layout = %v, want ErrAuth", wrong, err)
				}
			}
		})
	}
}
