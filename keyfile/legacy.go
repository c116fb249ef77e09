package keyfile

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strconv"

	"github.com/tlsticket/tlsticket/seal/legacy"
)

// Layout is the order of the fields of a 48- or 80-byte ticket key. The
// servers disagree, so the layout must match the server that wrote the key:
//
//	                  48 bytes (AES-128)        80 bytes (AES-256)
//	LayoutNginx       name | aes16 | hmac16     name | hmac32 | aes32
//	LayoutHAProxy     name | aes16 | hmac16     name | aes32 | hmac32
//	LayoutOpenSSL     name | hmac16 | aes16     name | hmac32 | aes32
//
// LayoutOpenSSL is the layout of SSL_CTX_set_tlsext_ticket_keys in OpenSSL
// (48 bytes before 1.1.0, 80 bytes since) and BoringSSL (48 bytes only), and
// of Apache's SSLSessionTicketKeyFile. A key read with the wrong layout
// opens no ticket (the HMAC fails), so it fails safe.
type Layout uint8

// Ticket key layouts.
const (
	LayoutNginx   Layout = 1 + iota // nginx ssl_session_ticket_key
	LayoutHAProxy                   // HAProxy tls-ticket-keys
	LayoutOpenSSL                   // OpenSSL, BoringSSL and Apache
)

// String returns the layout's name, such as "nginx".
func (l Layout) String() string {
	switch l {
	case LayoutNginx:
		return "nginx"
	case LayoutHAProxy:
		return "HAProxy"
	case LayoutOpenSSL:
		return "OpenSSL"
	}
	return "Layout(" + strconv.Itoa(int(l)) + ")"
}

// ErrLegacyKeySize means a legacy ticket key is neither 48 nor 80 bytes.
var ErrLegacyKeySize = errors.New("keyfile: ticket key must be 48 or 80 bytes")

// ParseLegacyKey splits a 48- or 80-byte ticket key b in layout l into a
// [legacy.Key], which [legacy.NewOpener] takes. A 48-byte key holds an
// AES-128-CBC key and a 16-byte HMAC key, an 80-byte one an AES-256-CBC key
// and a 32-byte HMAC key. It copies the keys, so the caller may clear b;
// the caller should [legacy.Key.Clear] the result when done.
func ParseLegacyKey(b []byte, l Layout) (legacy.Key, error) {
	var n int
	switch len(b) {
	case 48:
		n = 16
	case 80:
		n = 32
	default:
		return legacy.Key{}, fmt.Errorf("%w, got %d", ErrLegacyKeySize, len(b))
	}
	var k legacy.Key
	copy(k.Name[:], b[:16])
	first, second := bytes.Clone(b[16:16+n]), bytes.Clone(b[16+n:])
	switch {
	case l == LayoutHAProxy, l == LayoutNginx && n == 16:
		k.AESKey, k.HMACKey = first, second
	case l == LayoutOpenSSL, l == LayoutNginx && n == 32:
		k.HMACKey, k.AESKey = first, second
	default:
		clear(first)
		clear(second)
		return legacy.Key{}, fmt.Errorf("keyfile: unknown ticket key layout %v", l)
	}
	return k, nil
}

// ParseNginx reads an nginx ssl_session_ticket_key file: exactly 48 or 80
// raw bytes in [LayoutNginx]. nginx seals with the key of the first
// ssl_session_ticket_key directive and opens with all of them.
func ParseNginx(r io.Reader) (legacy.Key, error) {
	var buf [81]byte
	defer clear(buf[:])
	n, err := io.ReadFull(r, buf[:])
	switch {
	case err == nil:
		return legacy.Key{}, fmt.Errorf("%w, got more", ErrLegacyKeySize)
	case err != io.EOF && err != io.ErrUnexpectedEOF:
		return legacy.Key{}, fmt.Errorf("keyfile: failed to read nginx key: %w", err)
	}
	return ParseLegacyKey(buf[:n], LayoutNginx)
}

// HAProxyTicketsNo is HAProxy's TLS_TICKETS_NO build setting (3 by
// default): the number of keys it loads from a tls-ticket-keys file.
const HAProxyTicketsNo = 3

// ParseHAProxy reads an HAProxy tls-ticket-keys file and returns the keys
// that HAProxy loads from it, in file order: the last [HAProxyTicketsNo]
// lines. HAProxy seals with the second to last of them (the last is the
// next key, already accepted) and opens with all three. Like HAProxy, it
// refuses a file of fewer than HAProxyTicketsNo keys or of keys of two
// sizes. Lines are parsed as by [ParseBase64Keys] in [LayoutHAProxy].
//
// Keys before the last HAProxyTicketsNo are checked but not returned:
// HAProxy no longer opens their tickets, and neither should their
// successor.
func ParseHAProxy(r io.Reader) ([]legacy.Key, error) {
	keys, err := ParseBase64Keys(r, LayoutHAProxy)
	if err != nil {
		return nil, err
	}
	if len(keys) < HAProxyTicketsNo {
		for i := range keys {
			keys[i].Clear()
		}
		return nil, fmt.Errorf("keyfile: HAProxy needs at least %d keys, got %d", HAProxyTicketsNo, len(keys))
	}
	old := len(keys) - HAProxyTicketsNo
	for i := range old {
		keys[i].Clear()
	}
	return keys[old:], nil
}

// ParseBase64Keys reads ticket keys in standard base64, one per line (the
// format of HAProxy's tls-ticket-keys files, and of "openssl rand -base64
// 80"), each of 48 or 80 bytes in layout l, all of the same size. A line
// may end in "\r\n"; blank lines and comments are errors, as they are to
// HAProxy. Errors are [*LineError]s that never quote the line.
func ParseBase64Keys(r io.Reader, l Layout) ([]legacy.Key, error) {
	if l < LayoutNginx || l > LayoutOpenSSL {
		return nil, fmt.Errorf("keyfile: unknown ticket key layout %v", l)
	}
	buf, err := readAll(r, MaxFileSize)
	defer clear(buf)
	if err != nil {
		return nil, err
	}
	var keys []legacy.Key
	fail := func(err error) ([]legacy.Key, error) {
		for i := range keys {
			keys[i].Clear()
		}
		return nil, err
	}
	// A line of the longest accepted length without padding decodes to
	// one byte more than the longest key: size raw for that, and reject
	// the decoded length after.
	maxLen := base64.StdEncoding.EncodedLen(80)
	raw := make([]byte, base64.StdEncoding.DecodedLen(maxLen))
	defer clear(raw)
	rest := buf
	for n := 1; len(rest) > 0; n++ {
		var line []byte
		line, rest, _ = bytes.Cut(rest, []byte("\n"))
		line = bytes.TrimSuffix(line, []byte("\r"))
		if len(line) > maxLen {
			return fail(lineErr(n, "key must be 48 or 80 bytes"))
		}
		// The decoder skips "\r" and "\n": refuse them, so that a key
		// has one line form.
		m, err := base64.StdEncoding.Strict().Decode(raw, line)
		if err != nil || bytes.IndexByte(line, '\r') >= 0 {
			return fail(lineErr(n, "bad base64 key"))
		}
		if m != 48 && m != 80 {
			return fail(lineErr(n, "key must be 48 or 80 bytes, got %d", m))
		}
		if len(keys) > 0 && m != 16+len(keys[0].AESKey)+len(keys[0].HMACKey) {
			return fail(lineErr(n, "key of %d bytes, line 1 has %d", m, 16+len(keys[0].AESKey)+len(keys[0].HMACKey)))
		}
		k, err := ParseLegacyKey(raw[:m], l)
		if err != nil {
			return fail(&LineError{Line: n, Err: err})
		}
		keys = append(keys, k)
	}
	if len(keys) == 0 {
		return nil, ErrNoKeys
	}
	return keys, nil
}
