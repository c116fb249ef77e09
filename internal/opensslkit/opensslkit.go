// Package opensslkit builds and runs testdata/mkticket.c, a small C program linked
// with the system's libssl that makes TLS 1.2 session tickets with the real
// OpenSSL library under a known ticket key, for the tests that open them.
package opensslkit

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/tlsticket/tlsticket/internal/testkit"
	"github.com/tlsticket/tlsticket/keyfile"
	"github.com/tlsticket/tlsticket/seal/legacy"
)

// Ticket is the output of one mkticket run: a handshake between an OpenSSL
// client and an OpenSSL server.
type Ticket struct {
	Ticket, Master []byte
	Cipher         uint16
	Version        uint16
	Time           int64 // seconds since 1970
	Timeout        int64 // seconds
	EMS            bool
	SNI            string
	ALPN           string
}

// build compiles mkticket.c once per test binary.
var build = sync.OnceValues(func() (string, error) {
	cc, err := exec.LookPath("cc")
	if err != nil {
		return "", errors.New("no C compiler (cc) in PATH")
	}
	_, self, _, ok := runtime.Caller(0)
	if !ok {
		return "", errors.New("cannot locate mkticket.c")
	}
	dir, err := os.MkdirTemp("", "mkticket")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "mkticket")
	src := filepath.Join(filepath.Dir(self), "testdata", "mkticket.c")
	if out, err := exec.Command(cc, "-o", bin, src, "-lssl", "-lcrypto").CombinedOutput(); err != nil {
		return "", errors.New("cc mkticket.c -lssl -lcrypto failed (is libssl-dev installed?): " + string(out))
	}
	return bin, nil
})

// Program returns the path of the mkticket program, skipping the test if it
// cannot be built, or failing it under CI=true (make test installs a C
// compiler and libssl-dev).
func Program(t testing.TB) string {
	t.Helper()
	bin, err := build()
	if err != nil {
		testkit.Unavailable(t, fmt.Errorf("the real-OpenSSL ticket maker cannot be built: %w", err), "a C compiler and libssl-dev")
	}
	return bin
}

// Run makes one ticket with the real OpenSSL: mode is keys, cb128 or cb256
// (see mkticket.c), key the raw ticket key, options a comma-separated list
// of noems, clientcert, alpn and sessout=PATH.
func Run(t testing.TB, mode string, key []byte, ciphers, options string) Ticket {
	t.Helper()
	out, err := exec.Command(Program(t), mode, hex.EncodeToString(key), ciphers, options).Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			t.Fatalf("mkticket %s: %v: %s", mode, err, ee.Stderr)
		}
		t.Fatalf("mkticket %s: %v", mode, err)
	}
	r, err := parse(out)
	if err != nil {
		t.Fatalf("mkticket %s: %v\n%s", mode, err, out)
	}
	return r
}

func parse(out []byte) (Ticket, error) {
	var r Ticket
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		name, value, _ := strings.Cut(sc.Text(), " ")
		var err error
		var v uint64
		switch name {
		case "ticket":
			r.Ticket, err = hex.DecodeString(value)
		case "master":
			r.Master, err = hex.DecodeString(value)
		case "cipher":
			v, err = strconv.ParseUint(value, 16, 16)
			r.Cipher = uint16(v)
		case "version":
			v, err = strconv.ParseUint(value, 16, 16)
			r.Version = uint16(v)
		case "time":
			r.Time, err = strconv.ParseInt(value, 10, 64)
		case "timeout":
			r.Timeout, err = strconv.ParseInt(value, 10, 64)
		case "ems":
			r.EMS = value == "1"
		case "sni":
			r.SNI = value
		case "alpn":
			r.ALPN = value
		default:
			return r, errors.New("unknown line " + strconv.Quote(sc.Text()))
		}
		if err != nil {
			return r, errors.New("line " + strconv.Quote(sc.Text()) + ": " + err.Error())
		}
	}
	if len(r.Ticket) == 0 || len(r.Master) == 0 {
		return r, errors.New("no ticket or master key")
	}
	return r, nil
}

// Opener returns the legacy opener of the raw ticket key given to Run, split
// in layout (keyfile.LayoutOpenSSL for the keys mode, keyfile.LayoutNginx
// for cb128 and cb256), and the key: the server side of a migration from
// OpenSSL.
func Opener(t testing.TB, raw []byte, layout keyfile.Layout) (*legacy.Opener, legacy.Key) {
	t.Helper()
	lk, err := keyfile.ParseLegacyKey(raw, layout)
	if err != nil {
		t.Fatal(err)
	}
	o, err := legacy.NewOpener(lk)
	if err != nil {
		t.Fatal(err)
	}
	return o, lk
}
