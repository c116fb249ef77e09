package legacy_test

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tlsticket/tlsticket/keyfile"
	"github.com/tlsticket/tlsticket/seal/legacy"
)

// buildMkticket compiles testdata/mkticket.c against the system OpenSSL
// once per test binary. It returns the path of the program, or the reason
// it could not be built.
var buildMkticket = sync.OnceValues(func() (string, error) {
	cc, err := exec.LookPath("cc")
	if err != nil {
		return "", errors.New("no C compiler (cc) in PATH")
	}
	dir, err := os.MkdirTemp("", "mkticket")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "mkticket")
	out, err := exec.Command(cc, "-o", bin, filepath.Join("testdata", "mkticket.c"), "-lssl", "-lcrypto").CombinedOutput()
	if err != nil {
		return "", errors.New("cc testdata/mkticket.c -lssl -lcrypto failed (is libssl-dev installed?): " + string(out))
	}
	return bin, nil
})

// mkticket returns the path of the mkticket program, skipping the test if
// it cannot be built, or failing it under CI=true.
func mkticket(t *testing.T) string {
	t.Helper()
	bin, err := buildMkticket()
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI=true and the real-OpenSSL test cannot run: %v", err)
		}
		t.Skipf("skipping the real-OpenSSL test: %v (install a C compiler and libssl-dev)", err)
	}
	return bin
}

// opensslTicket is the output of one mkticket run.
type opensslTicket struct {
	ticket, master []byte
	cipher         uint16
	version        uint16
	time           int64
	timeout        int64
	ems            bool
	sni            string
}

// runMkticket runs a handshake with the real OpenSSL and parses its output.
func runMkticket(t *testing.T, mode string, key []byte, ciphers, options string) opensslTicket {
	t.Helper()
	out, err := exec.Command(mkticket(t), mode, hex.EncodeToString(key), ciphers, options).Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			t.Fatalf("mkticket %s: %v: %s", mode, err, ee.Stderr)
		}
		t.Fatalf("mkticket %s: %v", mode, err)
	}
	var r opensslTicket
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		name, value, _ := strings.Cut(sc.Text(), " ")
		var err error
		switch name {
		case "ticket":
			r.ticket, err = hex.DecodeString(value)
		case "master":
			r.master, err = hex.DecodeString(value)
		case "cipher", "version":
			var v uint64
			v, err = strconv.ParseUint(value, 16, 16)
			if name == "cipher" {
				r.cipher = uint16(v)
			} else {
				r.version = uint16(v)
			}
		case "time":
			r.time, err = strconv.ParseInt(value, 10, 64)
		case "timeout":
			r.timeout, err = strconv.ParseInt(value, 10, 64)
		case "ems":
			r.ems = value == "1"
		case "sni":
			r.sni = value
		default:
			t.Fatalf("mkticket printed an unknown line %q", sc.Text())
		}
		if err != nil {
			t.Fatalf("mkticket line %q: %v", sc.Text(), err)
		}
	}
	if len(r.ticket) == 0 || len(r.master) == 0 {
		t.Fatalf("mkticket printed no ticket or master key:\n%s", out)
	}
	return r
}

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
	}
	for _, tt := range tests {
		t.Run(tt.mode+"/"+tt.ciphers+"/"+tt.options, func(t *testing.T) {
			raw := make([]byte, tt.size)
			for i := range raw {
				raw[i] = byte(i*37 + tt.size)
			}
			before := time.Now().Add(-time.Minute).Unix()
			got := runMkticket(t, tt.mode, raw, tt.ciphers, tt.options)
			key, err := keyfile.ParseLegacyKey(raw, tt.layout)
			if err != nil {
				t.Fatal(err)
			}
			o, err := legacy.NewOpener(legacy.Key(key))
			if err != nil {
				t.Fatal(err)
			}
			s, err := o.Open(got.ticket)
			if err != nil {
				t.Fatalf("Open(OpenSSL ticket): %v", err)
			}
			t.Logf("OpenSSL %s ticket, %d bytes: %v", tt.mode, len(got.ticket), s)
			if !bytes.Equal(s.MasterSecret, got.master) {
				t.Errorf("MasterSecret = %x, want %x", s.MasterSecret, got.master)
			}
			if s.CipherSuite != tt.suite || s.CipherSuite != got.cipher {
				t.Errorf("CipherSuite = %#04x, want %#04x (OpenSSL says %#04x)", s.CipherSuite, tt.suite, got.cipher)
			}
			if s.Version != 0x0303 || s.Version != got.version {
				t.Errorf("Version = %#04x, want 0x0303 (OpenSSL says %#04x)", s.Version, got.version)
			}
			if s.Created.Unix() != got.time || got.time < before {
				t.Errorf("Created = %v, want %v", s.Created.Unix(), got.time)
			}
			if s.Timeout != time.Duration(got.timeout)*time.Second {
				t.Errorf("Timeout = %v, want %ds", s.Timeout, got.timeout)
			}
			if wantEMS := !strings.Contains(tt.options, "noems"); s.ExtendedMasterSecret != got.ems || s.ExtendedMasterSecret != wantEMS {
				t.Errorf("ExtendedMasterSecret = %v, want %v (OpenSSL says %v)", s.ExtendedMasterSecret, wantEMS, got.ems)
			}
			if s.ServerName != got.sni || s.ServerName != "tlsticket.test" {
				t.Errorf("ServerName = %q, want %q", s.ServerName, got.sni)
			}

			// A flipped bit anywhere fails before decryption, and a key in
			// the wrong layout opens nothing.
			for i := range got.ticket {
				b := bytes.Clone(got.ticket)
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
				wo, err := legacy.NewOpener(legacy.Key(k))
				if err != nil {
					t.Fatal(err)
				}
				if _, err := wo.Open(got.ticket); !errors.Is(err, legacy.ErrAuth) {
					t.Errorf("Open with the %v layout = %v, want ErrAuth", wrong, err)
				}
			}
		})
	}
}
