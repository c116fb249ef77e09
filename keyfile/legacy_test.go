package keyfile

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/tlsticket/tlsticket/internal/testkit/secretscan"
	"github.com/tlsticket/tlsticket/seal/legacy"
)

// rawKey returns a 16+2n-byte key whose name bytes are 0x00…, whose first
// key field is 0x10… and whose second is 0x80…, so that the layout a parser
// applied is visible.
func rawKey(n int) []byte {
	b := make([]byte, 16+2*n)
	for i := range b {
		switch {
		case i < 16:
			b[i] = byte(i)
		case i < 16+n:
			b[i] = 0x10 + byte(i-16)
		default:
			b[i] = 0x80 + byte(i-16-n)
		}
	}
	return b
}

// seq returns n bytes from start, start+1, ….
func seq(start byte, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = start + byte(i)
	}
	return b
}

func TestParseLegacyKey(t *testing.T) {
	first16, second16 := seq(0x10, 16), seq(0x80, 16)
	first32, second32 := seq(0x10, 32), seq(0x80, 32)
	tests := []struct {
		layout    Layout
		size      int
		aes, hmac []byte
	}{
		{LayoutNginx, 48, first16, second16},
		{LayoutNginx, 80, second32, first32},
		{LayoutHAProxy, 48, first16, second16},
		{LayoutHAProxy, 80, first32, second32},
		{LayoutOpenSSL, 48, second16, first16},
		{LayoutOpenSSL, 80, second32, first32},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%v/%d", tt.layout, tt.size), func(t *testing.T) {
			raw := rawKey((tt.size - 16) / 2)
			k, err := ParseLegacyKey(raw, tt.layout)
			if err != nil {
				t.Fatal(err)
			}
			clear(raw) // the key holds copies
			if !bytes.Equal(k.Name[:], seq(0, 16)) || !bytes.Equal(k.AESKey, tt.aes) || !bytes.Equal(k.HMACKey, tt.hmac) {
				t.Errorf("ParseLegacyKey = name %x aes %x hmac %x, want aes %x hmac %x", k.Name, k.AESKey, k.HMACKey, tt.aes, tt.hmac)
			}
		})
	}
	for _, n := range []int{0, 16, 47, 49, 64, 79, 81} {
		if _, err := ParseLegacyKey(make([]byte, n), LayoutNginx); !errors.Is(err, ErrLegacyKeySize) {
			t.Errorf("ParseLegacyKey(%d bytes) = %v, want ErrLegacyKeySize", n, err)
		}
	}
	if _, err := ParseLegacyKey(rawKey(16), Layout(0)); err == nil {
		t.Error("ParseLegacyKey(layout 0) succeeded")
	}
}

func TestParseNginx(t *testing.T) {
	for _, n := range []int{16, 32} {
		k, err := ParseNginx(bytes.NewReader(rawKey(n)))
		if err != nil {
			t.Fatal(err)
		}
		if len(k.AESKey) != n || len(k.HMACKey) != n {
			t.Errorf("ParseNginx(%d bytes): AES %d, HMAC %d bytes", 16+2*n, len(k.AESKey), len(k.HMACKey))
		}
	}
	// nginx 48-byte keys put the AES key first, 80-byte keys the HMAC key.
	k48, _ := ParseNginx(bytes.NewReader(rawKey(16)))
	k80, _ := ParseNginx(bytes.NewReader(rawKey(32)))
	if k48.AESKey[0] != 0x10 || k80.AESKey[0] != 0x80 {
		t.Errorf("nginx layouts: 48-byte AES key starts %#x, 80-byte %#x", k48.AESKey[0], k80.AESKey[0])
	}
	for _, n := range []int{0, 47, 49, 81, 200} {
		if _, err := ParseNginx(bytes.NewReader(make([]byte, n))); !errors.Is(err, ErrLegacyKeySize) {
			t.Errorf("ParseNginx(%d bytes) = %v, want ErrLegacyKeySize", n, err)
		}
	}
	if _, err := ParseNginx(iotestErrReader{}); err == nil || errors.Is(err, ErrLegacyKeySize) {
		t.Errorf("ParseNginx(failing reader) = %v", err)
	}
}

// haproxyFile returns a tls-ticket-keys file of n keys of 16+2·size bytes,
// key i with name byte i.
func haproxyFile(n, size int) ([]byte, [][]byte) {
	var b bytes.Buffer
	var raws [][]byte
	for i := range n {
		raw := rawKey(size)
		raw[0] = byte(0xe0 + i)
		raw[16] = byte(i) // distinct secrets
		raws = append(raws, raw)
		b.WriteString(base64.StdEncoding.EncodeToString(raw) + "\n")
	}
	return b.Bytes(), raws
}

func TestParseHAProxy(t *testing.T) {
	for _, size := range []int{16, 32} {
		t.Run(fmt.Sprint(16+2*size), func(t *testing.T) {
			file, raws := haproxyFile(5, size)
			keys, err := ParseHAProxy(bytes.NewReader(file))
			if err != nil {
				t.Fatal(err)
			}
			// HAProxy loads the last 3 lines; the second to last seals.
			if len(keys) != HAProxyTicketsNo {
				t.Fatalf("ParseHAProxy = %d keys, want %d", len(keys), HAProxyTicketsNo)
			}
			for i, k := range keys {
				raw := raws[2+i]
				if !bytes.Equal(k.Name[:], raw[:16]) || !bytes.Equal(k.AESKey, raw[16:16+size]) || !bytes.Equal(k.HMACKey, raw[16+size:]) {
					t.Errorf("key %d = %x %x %x, want line %d in HAProxy layout", i, k.Name, k.AESKey, k.HMACKey, 3+i)
				}
			}
		})
	}
	// CRLF line endings and a missing final newline are accepted.
	file, _ := haproxyFile(3, 32)
	crlf := bytes.ReplaceAll(bytes.TrimSuffix(file, []byte("\n")), []byte("\n"), []byte("\r\n"))
	if keys, err := ParseHAProxy(bytes.NewReader(crlf)); err != nil || len(keys) != 3 {
		t.Errorf("ParseHAProxy(CRLF) = %d keys, %v", len(keys), err)
	}
}

func TestParseHAProxyErrors(t *testing.T) {
	file, _ := haproxyFile(4, 16)
	lines := strings.SplitAfter(string(file), "\n")
	k80 := base64.StdEncoding.EncodeToString(rawKey(32)) + "\n"
	secret := rawKey(16)
	tests := []struct {
		name string
		file string
		want string
	}{
		{"two-keys", lines[0] + lines[1], "keyfile: HAProxy needs at least 3 keys, got 2"},
		{"empty", "", "keyfile: no keys"},
		{"blank-line", lines[0] + "\n" + lines[1] + lines[2], "keyfile: line 2: key must be 48 or 80 bytes, got 0"},
		{"comment", "# keys\n" + lines[0] + lines[1] + lines[2], "keyfile: line 1: bad base64 key"},
		{"bad-base64", lines[0] + lines[1] + "!" + lines[2][1:], "keyfile: line 3: bad base64 key"},
		{"mixed-sizes", lines[0] + lines[1] + k80, "keyfile: line 3: key of 80 bytes, line 1 has 48"},
		{"short", lines[0] + base64.StdEncoding.EncodeToString(secret[:40]) + "\n" + lines[2], "keyfile: line 2: key must be 48 or 80 bytes, got 40"},
		{"short-first", base64.StdEncoding.EncodeToString(secret[:40]) + "\n" + lines[1] + lines[2], "keyfile: line 1: key must be 48 or 80 bytes, got 40"},
		{"long-line", lines[0] + strings.Repeat("QUFB", 40) + "\n", "keyfile: line 2: key must be 48 or 80 bytes"},
		// Regression: 108 characters without padding decode to 81 bytes,
		// one more than the longest key, which once overran the buffer.
		// Regression: the base64 decoder skips "\r", so a key line with
		// one inside was accepted.
		{"cr-in-line", lines[0] + lines[1][:10] + "\r" + lines[1][10:] + lines[2], "keyfile: line 2: bad base64 key"},
		{"81-bytes", lines[0] + strings.Repeat("QUFB", 27) + "\n", "keyfile: line 2: key must be 48 or 80 bytes, got 81"},
		{"81-bytes-first", strings.Repeat("QUFB", 27) + "\n" + lines[1] + lines[2], "keyfile: line 1: key must be 48 or 80 bytes, got 81"},
	}
	forbidden := secretscan.Forms(secret[16:])
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			keys, err := ParseHAProxy(strings.NewReader(tt.file))
			if keys != nil || err == nil || err.Error() != tt.want {
				t.Fatalf("ParseHAProxy = %v, %v, want error %q", keys, err, tt.want)
			}
			for _, f := range forbidden {
				if strings.Contains(err.Error(), f) {
					t.Errorf("error %q contains a secret form", err)
				}
			}
		})
	}
	if _, err := ParseBase64Keys(strings.NewReader(lines[0]), Layout(7)); err == nil {
		t.Error("ParseBase64Keys(layout 7) succeeded")
	}
	keys, err := ParseBase64Keys(strings.NewReader(lines[0]), LayoutOpenSSL)
	if err != nil || len(keys) != 1 || keys[0].HMACKey[1] != 0x11 || keys[0].AESKey[0] != 0x80 {
		t.Errorf("ParseBase64Keys(OpenSSL layout) = %v, %v", keys, err)
	}
}

// appendLegacyKey appends k in layout l: the inverse of ParseLegacyKey.
func appendLegacyKey(t *testing.T, dst []byte, k legacy.Key, l Layout) []byte {
	t.Helper()
	dst = append(dst, k.Name[:]...)
	switch {
	case l == LayoutHAProxy, l == LayoutNginx && len(k.AESKey) == 16:
		return append(append(dst, k.AESKey...), k.HMACKey...)
	case l == LayoutOpenSSL, l == LayoutNginx && len(k.AESKey) == 32:
		return append(append(dst, k.HMACKey...), k.AESKey...)
	}
	t.Fatalf("appendLegacyKey: layout %v, AES key of %d bytes", l, len(k.AESKey))
	return nil
}

// checkLegacyKey fails t unless k is a key of 48 or 80 bytes that
// appendLegacyKey writes back as raw in layout l.
func checkLegacyKey(t *testing.T, k legacy.Key, l Layout, raw []byte) {
	t.Helper()
	n := len(k.AESKey)
	if (n != 16 && n != 32) || len(k.HMACKey) != n {
		t.Fatalf("%v key of sizes %d, %d", l, len(k.AESKey), len(k.HMACKey))
	}
	if got := appendLegacyKey(t, nil, k, l); !bytes.Equal(got, raw) {
		t.Fatalf("%v key re-encodes as %x, want %x", l, got, raw)
	}
}

// isZeroKey reports whether k is the zero legacy.Key.
func isZeroKey(k legacy.Key) bool {
	return k.Name == [16]byte{} && k.AESKey == nil && k.HMACKey == nil
}

// FuzzParseLegacyKey checks that ParseLegacyKey never panics, returns the
// zero Key with an error, and accepts exactly the 48- and 80-byte keys of
// a known layout, which re-encode byte for byte.
func FuzzParseLegacyKey(f *testing.F) {
	for _, l := range []Layout{LayoutNginx, LayoutHAProxy, LayoutOpenSSL} {
		f.Add(rawKey(16), uint8(l))
		f.Add(rawKey(32), uint8(l))
		f.Add(rawKey(32)[:79], uint8(l))
	}
	f.Add(rawKey(16), uint8(0))
	f.Fuzz(func(t *testing.T, b []byte, layout uint8) {
		l := Layout(layout)
		k, err := ParseLegacyKey(b, l)
		known := l >= LayoutNginx && l <= LayoutOpenSSL
		if err != nil {
			if !isZeroKey(k) || (known && (len(b) == 48 || len(b) == 80)) {
				t.Fatalf("ParseLegacyKey(%d bytes, %v) = %v, %v", len(b), l, k, err)
			}
			return
		}
		if !known {
			t.Fatalf("ParseLegacyKey accepted layout %v", l)
		}
		checkLegacyKey(t, k, l, b)
	})
}

// FuzzParseNginx checks that ParseNginx never panics, returns the zero Key
// with an error, and accepts exactly 48 or 80 bytes, which re-encode byte
// for byte in nginx's layout.
func FuzzParseNginx(f *testing.F) {
	f.Add(rawKey(16))
	f.Add(rawKey(32))
	f.Add(append(rawKey(32), 0))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		k, err := ParseNginx(bytes.NewReader(b))
		if err != nil {
			if !isZeroKey(k) || !errors.Is(err, ErrLegacyKeySize) || len(b) == 48 || len(b) == 80 {
				t.Fatalf("ParseNginx(%d bytes) = %v, %v", len(b), k, err)
			}
			return
		}
		checkLegacyKey(t, k, LayoutNginx, b)
	})
}

// canonicalBase64Keys returns keys as ParseBase64Keys reads them in layout
// l: one base64 line each, ending in "\n".
func canonicalBase64Keys(t *testing.T, keys []legacy.Key, l Layout) []byte {
	t.Helper()
	var out []byte
	for _, k := range keys {
		out = base64.StdEncoding.AppendEncode(out, appendLegacyKey(t, nil, k, l))
		out = append(out, '\n')
	}
	return out
}

// FuzzParseBase64Keys checks that ParseBase64Keys (HAProxy's
// tls-ticket-keys format) never panics, returns nil keys with an error that
// is a *LineError, ErrNoKeys or a layout error, and that what it accepts is
// one key per line, all of one size: the input is the canonical encoding
// of the keys but for "\r\n" line ends and a missing final newline.
func FuzzParseBase64Keys(f *testing.F) {
	for _, size := range []int{16, 32} {
		file, _ := haproxyFile(3, size)
		f.Add(file, uint8(LayoutHAProxy))
		f.Add(bytes.ReplaceAll(file, []byte("\n"), []byte("\r\n")), uint8(LayoutOpenSSL))
		f.Add(bytes.TrimSuffix(file, []byte("\n")), uint8(LayoutNginx))
	}
	f.Add([]byte(strings.Repeat("QUFB", 27)+"\n"), uint8(LayoutHAProxy))
	f.Add([]byte("\n"), uint8(LayoutHAProxy))
	f.Fuzz(func(t *testing.T, data []byte, layout uint8) {
		l := Layout(layout)
		keys, err := ParseBase64Keys(bytes.NewReader(data), l)
		if err != nil {
			var le *LineError
			if keys != nil || !(errors.As(err, &le) || errors.Is(err, ErrNoKeys) || l < LayoutNginx || l > LayoutOpenSSL) {
				t.Fatalf("ParseBase64Keys = %v, %v", keys, err)
			}
			return
		}
		for _, k := range keys {
			if len(k.AESKey) != len(keys[0].AESKey) {
				t.Fatal("keys of two sizes")
			}
		}
		normal := bytes.ReplaceAll(data, []byte("\r\n"), []byte("\n"))
		if !bytes.HasSuffix(normal, []byte("\n")) {
			normal = append(bytes.TrimSuffix(normal, []byte("\r")), '\n')
		}
		if got := canonicalBase64Keys(t, keys, l); !bytes.Equal(got, normal) {
			t.Fatalf("keys re-encode as %q, want %q", got, normal)
		}
	})
}

// FuzzParseHAProxy checks that ParseHAProxy never panics, returns nil keys
// with an error, and returns exactly the last HAProxyTicketsNo keys of
// what ParseBase64Keys reads in HAProxy's layout.
func FuzzParseHAProxy(f *testing.F) {
	for _, n := range []int{2, 3, 5} {
		file, _ := haproxyFile(n, 16)
		f.Add(file)
		file, _ = haproxyFile(n, 32)
		f.Add(file)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		keys, err := ParseHAProxy(bytes.NewReader(data))
		all, allErr := ParseBase64Keys(bytes.NewReader(data), LayoutHAProxy)
		if err != nil {
			if keys != nil || (allErr == nil && len(all) >= HAProxyTicketsNo) {
				t.Fatalf("ParseHAProxy = %v, %v; ParseBase64Keys = %d keys, %v", keys, err, len(all), allErr)
			}
			return
		}
		if allErr != nil || len(keys) != HAProxyTicketsNo {
			t.Fatalf("ParseHAProxy = %d keys; ParseBase64Keys = %v", len(keys), allErr)
		}
		want := canonicalBase64Keys(t, all[len(all)-HAProxyTicketsNo:], LayoutHAProxy)
		if got := canonicalBase64Keys(t, keys, LayoutHAProxy); !bytes.Equal(got, want) {
			t.Fatalf("ParseHAProxy keys %q, want the last lines %q", got, want)
		}
	})
}
