package main

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tlsticket/tlsticket/engine"
	"github.com/tlsticket/tlsticket/format"
	"github.com/tlsticket/tlsticket/keyfile"
	"github.com/tlsticket/tlsticket/seal"
)

// issueFromKeyFile issues a TLS 1.3 ticket with the keys of path at keysT0.
func issueFromKeyFile(t *testing.T, path string, secret []byte) []byte {
	t.Helper()
	sched, err := keyfile.Parse(bytes.NewReader(mustRead(t, path)))
	if err != nil {
		t.Fatal(err)
	}
	ring, err := sched.RingAt(keysT0, nil)
	if err != nil {
		t.Fatal(err)
	}
	e, err := engine.New(&engine.Config{Keys: seal.NewKeyring(ring), Time: func() time.Time { return keysT0 }})
	if err != nil {
		t.Fatal(err)
	}
	iss, err := e.Issue(&format.State{
		Version: format.VersionTLS13, CipherSuite: 0x1301, Secret: secret,
		ServerName: "example.com", ALPN: "h2", AppData: []byte("tenant=blue"),
	}, []byte{0})
	if err != nil {
		t.Fatal(err)
	}
	return iss.Ticket
}

func TestInspect(t *testing.T) {
	dir := t.TempDir()
	keys := filepath.Join(dir, "keys.txt")
	other := filepath.Join(dir, "other.txt")
	mustRun(t, cmdKeygen, "-count", "2", "-now", keysT0.Format(time.RFC3339), "-o", keys)
	mustRun(t, cmdKeygen, "-now", keysT0.Format(time.RFC3339), "-o", other)
	secret := bytes.Repeat([]byte{0x5e}, 32)
	ticket := issueFromKeyFile(t, keys, secret)
	secretHex := hex.EncodeToString(secret)
	appDataHex := hex.EncodeToString([]byte("tenant=blue"))

	out := mustRun(t, cmdInspect, hex.EncodeToString(ticket))
	for _, want := range []string{"version:           1", "aead:              AES-256-GCM", "nonce length:      12",
		"ciphertext length: " + strconv.Itoa(len(ticket)-18-12), "key name:          " + hex.EncodeToString(ticket[2:18])} {
		if !strings.Contains(out, want) {
			t.Errorf("header output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "session") {
		t.Error("opened without -keys")
	}

	out = mustRun(t, cmdInspect, "-keys", keys, "-now", keysT0.Format(time.RFC3339), base64.StdEncoding.EncodeToString(ticket))
	for _, want := range []string{"key 1 of", "active", "TLS 1.3 (0x0304)", "0x1301", `"example.com"`, `"h2"`, "REDACTED (32 bytes", "REDACTED (11 bytes"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, secretHex) || strings.Contains(out, appDataHex) || strings.Contains(out, "tenant=blue") {
		t.Errorf("secrets printed without -show-secrets:\n%s", out)
	}

	raw := filepath.Join(dir, "ticket.bin")
	if err := os.WriteFile(raw, ticket, 0o600); err != nil {
		t.Fatal(err)
	}
	out = mustRun(t, cmdInspect, "-keys", keys, "--show-secrets", "-in", raw)
	if !strings.Contains(out, secretHex) || !strings.Contains(out, appDataHex) {
		t.Errorf("-show-secrets does not print the secrets:\n%s", out)
	}

	// The wrong keys, a tampered ticket, and garbage are refused.
	if code, _, errOut := runCmd(t, cmdInspect, "-keys", other, hex.EncodeToString(ticket)); code != 1 || !strings.Contains(errOut, "no key of") {
		t.Errorf("wrong keys: exit %d, %q", code, errOut)
	}
	tampered := bytes.Clone(ticket)
	tampered[len(tampered)-1] ^= 1
	if code, _, errOut := runCmd(t, cmdInspect, "-keys", keys, hex.EncodeToString(tampered)); code != 1 || !strings.Contains(errOut, "does not open") {
		t.Errorf("tampered: exit %d, %q", code, errOut)
	}
	if code, _, _ := runCmd(t, cmdInspect, "zz-not-a-ticket"); code != 1 {
		t.Errorf("garbage: exit %d", code)
	}
}

// TestInspectOperatorInputs inspects tickets in the forms operators have:
// session files written by a real openssl s_client -sess_out against
// ticketctl serve (testdata/README.md says how they were made), and
// NewSessionTicket messages in hex, on the command line and in a file.
func TestInspectOperatorInputs(t *testing.T) {
	const keys = "testdata/openssl-keys.txt"
	sess, err := legacyTicket(t, "testdata/openssl-tls13.sess")
	if err != nil {
		t.Fatal(err)
	}
	nst13, err := (&format.NewSessionTicketTLS13{Lifetime: 7200, AgeAdd: 99, Nonce: []byte{0}, Ticket: sess}).Append(nil)
	if err != nil {
		t.Fatal(err)
	}
	nst12, err := (&format.NewSessionTicketTLS12{LifetimeHint: 3600, Ticket: sess}).Append(nil)
	if err != nil {
		t.Fatal(err)
	}
	nst12File := filepath.Join(t.TempDir(), "nst12.hex")
	if err := os.WriteFile(nst12File, []byte(hex.EncodeToString(nst12)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		want []string
	}{
		{"openssl TLS 1.3 session", []string{"-in", "testdata/openssl-tls13.sess"},
			[]string{"source:            openssl session, TLS 1.3, cipher suite 0x1301, ticket lifetime hint 604800 s", "protocol version:       TLS 1.3"}},
		{"openssl TLS 1.2 session", []string{"-in", "testdata/openssl-tls12.sess"},
			[]string{"source:            openssl session, TLS 1.2", "protocol version:       TLS 1.2"}},
		{"TLS 1.3 NewSessionTicket in hex", []string{hex.EncodeToString(nst13)},
			[]string{"source:            TLS 1.3 NewSessionTicket, lifetime 7200 s, age add 99, nonce 00, 0 extensions", "protocol version:       TLS 1.3"}},
		{"TLS 1.2 NewSessionTicket in a hex file", []string{"-in", nst12File},
			[]string{"source:            TLS 1.2 NewSessionTicket, lifetime hint 3600 s", "protocol version:       TLS 1.3"}},
		{"bare ticket", []string{hex.EncodeToString(sess)}, []string{"protocol version:       TLS 1.3"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := mustRun(t, cmdInspect, append([]string{"-keys", keys, "-now", "2026-12-01T21:30:00Z"}, tt.args...)...)
			for _, w := range append(tt.want, "key name:          0948c09c8658060f8d40c903189cf9b3", "secret:                 REDACTED") {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
		})
	}
	// A PEM file that is not a session, and a session without a ticket,
	// are refused with the file named.
	dir := t.TempDir()
	other := filepath.Join(dir, "cert.pem")
	os.WriteFile(other, []byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"), 0o600)
	if code, _, errOut := runCmd(t, cmdInspect, "-in", other); code != 1 || !strings.Contains(errOut, other) || !strings.Contains(errOut, "SSL SESSION PARAMETERS") {
		t.Errorf("inspect of a certificate: exit %d, stderr %q", code, errOut)
	}
}

// legacyTicket returns the ticket inside an openssl session file.
func legacyTicket(t *testing.T, path string) ([]byte, error) {
	t.Helper()
	var out bytes.Buffer
	return findTicket(mustRead(t, path), true, &out)
}
