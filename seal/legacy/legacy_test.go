package legacy

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/cryptobyte"
	"golang.org/x/crypto/cryptobyte/asn1"

	"github.com/tlsticket/tlsticket/internal/testkit/secretscan"
)

// testKey returns a key with AES and HMAC keys of the given sizes and
// recognisable bytes.
func testKey(name byte, aesSize, hmacSize int) Key {
	k := Key{AESKey: make([]byte, aesSize), HMACKey: make([]byte, hmacSize)}
	k.Name[0] = name
	for i := range k.AESKey {
		k.AESKey[i] = 0xa0 ^ byte(i*7) ^ name
	}
	for i := range k.HMACKey {
		k.HMACKey[i] = 0x50 ^ byte(i*11) ^ name
	}
	return k
}

// testMaster is the master secret of the test sessions.
var testMaster = bytes.Repeat([]byte{0x3c, 0xa5, 0x17}, 16)

// sessionFields are the parts of a test SSL_SESSION encoding.
type sessionFields struct {
	version, sslVersion int64
	cipher, sessionID   []byte
	master              []byte
	extra               func(b *cryptobyte.Builder) // fields after master_key
}

// defaultSession returns the fields of a TLS 1.2 session like OpenSSL's.
func defaultSession() sessionFields {
	return sessionFields{
		version: 1, sslVersion: 0x0303,
		cipher: []byte{0xc0, 0x2f}, master: testMaster,
		extra: func(b *cryptobyte.Builder) {
			explicitInt(b, 1, 1_900_000_000)
			explicitInt(b, 2, 7200)
			explicit(b, 4, func(b *cryptobyte.Builder) { b.AddASN1OctetString(nil) })
			explicit(b, 6, func(b *cryptobyte.Builder) { b.AddASN1OctetString([]byte("example.com")) })
			explicitInt(b, 9, 7200)
			explicitInt(b, 13, 1)
			explicitInt(b, 14, 12345)
		},
	}
}

func explicit(b *cryptobyte.Builder, tag asn1.Tag, f func(*cryptobyte.Builder)) {
	b.AddASN1(tag.Constructed().ContextSpecific(), f)
}

func explicitInt(b *cryptobyte.Builder, tag asn1.Tag, v int64) {
	explicit(b, tag, func(b *cryptobyte.Builder) { b.AddASN1Int64(v) })
}

// encode returns the DER SSL_SESSION of f.
func (f sessionFields) encode(t testing.TB) []byte {
	t.Helper()
	var b cryptobyte.Builder
	b.AddASN1(asn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1Int64(f.version)
		b.AddASN1Int64(f.sslVersion)
		b.AddASN1OctetString(f.cipher)
		b.AddASN1OctetString(f.sessionID)
		b.AddASN1OctetString(f.master)
		if f.extra != nil {
			f.extra(b)
		}
	})
	der, err := b.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// pkcs7 pads b to a whole number of AES blocks.
func pkcs7(b []byte) []byte {
	n := aes.BlockSize - len(b)%aes.BlockSize
	return append(bytes.Clone(b), bytes.Repeat([]byte{byte(n)}, n)...)
}

// seal makes a ticket as OpenSSL does: key_name | iv | AES-CBC(padded) |
// HMAC-SHA256(key_name | iv | encrypted).
func sealTicket(t testing.TB, k Key, padded []byte) []byte {
	t.Helper()
	block, err := aes.NewCipher(k.AESKey)
	if err != nil {
		t.Fatal(err)
	}
	iv := bytes.Repeat([]byte{0x1f}, 16)
	ticket := append(append(bytes.Clone(k.Name[:]), iv...), make([]byte, len(padded))...)
	cipher.NewCBCEncrypter(block, iv).CryptBlocks(ticket[32:], padded)
	mac := hmac.New(sha256.New, k.HMACKey)
	mac.Write(ticket)
	return mac.Sum(ticket)
}

func TestOpen(t *testing.T) {
	for _, sizes := range [][2]int{{16, 16}, {32, 32}, {16, 32}, {32, 16}} {
		t.Run(fmt.Sprintf("AES-%d-HMAC-%d", 8*sizes[0], 8*sizes[1]), func(t *testing.T) {
			k := testKey(1, sizes[0], sizes[1])
			o, err := NewOpener(testKey(2, 32, 32), k, testKey(3, 16, 16))
			if err != nil {
				t.Fatal(err)
			}
			ticket := sealTicket(t, k, pkcs7(defaultSession().encode(t)))
			orig := bytes.Clone(ticket)
			s, err := o.Open(ticket)
			if err != nil {
				t.Fatal(err)
			}
			want := Session{
				Version: 0x0303, CipherSuite: 0xc02f, MasterSecret: testMaster,
				Created: time.Unix(1_900_000_000, 0), Timeout: 2 * time.Hour,
				ExtendedMasterSecret: true, ServerName: "example.com",
			}
			if s.String() != want.String() || !bytes.Equal(s.MasterSecret, want.MasterSecret) {
				t.Errorf("Open = %v, want %v", s, want)
			}
			if !bytes.Equal(ticket, orig) {
				t.Error("Open modified the ticket")
			}
			ms := s.MasterSecret
			s.Clear()
			if s.MasterSecret != nil || !bytes.Equal(ms, make([]byte, len(ms))) {
				t.Error("Clear did not zero the master secret")
			}
		})
	}
}

func TestOpenErrors(t *testing.T) {
	k := testKey(1, 16, 16)
	o, err := NewOpener(k)
	if err != nil {
		t.Fatal(err)
	}
	good := sealTicket(t, k, pkcs7(defaultSession().encode(t)))
	other := testKey(1, 16, 16)
	other.HMACKey[0] ^= 1 // same name, other HMAC key
	tests := []struct {
		name   string
		ticket []byte
		want   error
	}{
		{"empty", nil, ErrMalformed},
		{"short", good[:79], ErrMalformed},
		{"not-blocks", good[:len(good)-1], ErrMalformed},
		{"longer-than-2^16-1", append(bytes.Clone(good), make([]byte, maxTicketSize/16*16)...), ErrMalformed},
		{"unknown-key", append([]byte{9}, good[1:]...), ErrUnknownKey},
		{"truncated-block", good[:len(good)-16], ErrAuth},
		{"other-hmac-key", sealTicket(t, other, pkcs7(defaultSession().encode(t))), ErrAuth},
		{"no-padding", sealTicket(t, k, defaultSession().encode(t)[:48]), ErrSession},
		{"padding-0", sealTicket(t, k, append(defaultSession().encode(t)[:47], 0)), ErrSession},
		{"padding-17", sealTicket(t, k, append(bytes.Repeat([]byte{17}, 31), 17)), ErrSession},
		{"padding-mismatch", sealTicket(t, k, append(bytes.Repeat([]byte{3}, 30), 2, 3)), ErrSession},
		{"padding-only", sealTicket(t, k, bytes.Repeat([]byte{16}, 16)), ErrSession},
		{"not-der", sealTicket(t, k, pkcs7([]byte("not an SSL_SESSION"))), ErrSession},
	}
	for i := range len(good) {
		b := bytes.Clone(good)
		b[i] ^= 0x80
		want := ErrAuth
		if i < nameSize {
			want = ErrUnknownKey
		}
		tests = append(tests, struct {
			name   string
			ticket []byte
			want   error
		}{fmt.Sprintf("flip-%d", i), b, want})
	}
	for _, tt := range tests {
		s, err := o.Open(tt.ticket)
		if s != nil || !errors.Is(err, tt.want) {
			t.Errorf("%s: Open = %v, %v, want %v", tt.name, s, err, tt.want)
		}
	}
}

func TestParseSession(t *testing.T) {
	type mod func(f *sessionFields)
	withExtra := func(extra func(b *cryptobyte.Builder)) mod {
		return func(f *sessionFields) { f.extra = extra }
	}
	tests := []struct {
		name string
		mod  mod
		ok   bool
	}{
		{"default", func(*sessionFields) {}, true},
		{"minimal", withExtra(nil), true},
		{"tls13", func(f *sessionFields) {
			f.sslVersion = 0x0304
			f.cipher = []byte{0x13, 0x01}
			f.master = testMaster[:32]
		}, true},
		{"session-id", func(f *sessionFields) { f.sessionID = make([]byte, 32) }, true},
		{"session-id-33", func(f *sessionFields) { f.sessionID = make([]byte, 33) }, false},
		{"version-2", func(f *sessionFields) { f.version = 2 }, false},
		{"ssl-version-dtls", func(f *sessionFields) { f.sslVersion = 0xfefd }, false},
		{"ssl-version-negative", func(f *sessionFields) { f.sslVersion = -1 }, false},
		{"cipher-3-bytes", func(f *sessionFields) { f.cipher = []byte{0, 0xc0, 0x2f} }, false},
		{"empty-master", func(f *sessionFields) { f.master = nil }, false},
		{"master-65", func(f *sessionFields) { f.master = make([]byte, 65) }, false},
		{"key-arg", withExtra(func(b *cryptobyte.Builder) {
			b.AddASN1(asn1.Tag(0).ContextSpecific(), func(b *cryptobyte.Builder) { b.AddBytes([]byte{1}) })
			explicitInt(b, 1, 5)
		}), true},
		{"negative-time", withExtra(func(b *cryptobyte.Builder) { explicitInt(b, 1, -5) }), false},
		{"negative-timeout", withExtra(func(b *cryptobyte.Builder) { explicitInt(b, 2, -5) }), false},
		{"huge-timeout", withExtra(func(b *cryptobyte.Builder) { explicitInt(b, 2, 1<<62) }), false},
		{"time-implicit", withExtra(func(b *cryptobyte.Builder) {
			b.AddASN1(asn1.Tag(1).ContextSpecific(), func(b *cryptobyte.Builder) { b.AddBytes([]byte{5}) })
		}), false},
		{"out-of-order", withExtra(func(b *cryptobyte.Builder) { explicitInt(b, 13, 1); explicitInt(b, 5, 0) }), false},
		{"duplicate", withExtra(func(b *cryptobyte.Builder) { explicitInt(b, 5, 0); explicitInt(b, 5, 0) }), false},
		{"unknown-tag-21", withExtra(func(b *cryptobyte.Builder) { explicitInt(b, 21, 0) }), false},
		{"universal-after", withExtra(func(b *cryptobyte.Builder) { b.AddASN1Int64(5) }), false},
		{"two-in-explicit", withExtra(func(b *cryptobyte.Builder) {
			explicit(b, 5, func(b *cryptobyte.Builder) { b.AddASN1Int64(0); b.AddASN1Int64(0) })
		}), false},
		{"empty-hostname", withExtra(func(b *cryptobyte.Builder) {
			explicit(b, 6, func(b *cryptobyte.Builder) { b.AddASN1OctetString(nil) })
		}), false},
		{"flags-not-int", withExtra(func(b *cryptobyte.Builder) {
			explicit(b, 13, func(b *cryptobyte.Builder) { b.AddASN1OctetString([]byte{1}) })
		}), false},
		{"flags-no-ems", withExtra(func(b *cryptobyte.Builder) { explicitInt(b, 13, 2) }), true},
		{"alpn-not-octets", withExtra(func(b *cryptobyte.Builder) { explicitInt(b, 16, 1) }), false},
		{"ticket-not-octets", withExtra(func(b *cryptobyte.Builder) { explicitInt(b, 10, 1) }), false},
		{"all-tags", withExtra(func(b *cryptobyte.Builder) {
			for tag := asn1.Tag(3); tag <= 20; tag++ {
				if tag == 6 || tag == 10 || tag == 16 { // server name, ticket and ALPN are OCTET STRINGs
					explicit(b, tag, func(b *cryptobyte.Builder) { b.AddASN1OctetString([]byte("h")) })
					continue
				}
				explicitInt(b, tag, 1)
			}
		}), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := defaultSession()
			tt.mod(&f)
			der := f.encode(t)
			s, ok := parseSession(der)
			if ok != tt.ok || (s != nil) != ok {
				t.Fatalf("parseSession(%x) = %v, %v, want ok %v", der, s, ok, tt.ok)
			}
			if ok && !bytes.Equal(s.MasterSecret, f.master) {
				t.Errorf("MasterSecret = %x, want %x", s.MasterSecret, f.master)
			}
			// No strict prefix and no extension parses.
			for n := range der {
				if _, ok := parseSession(der[:n]); ok {
					t.Errorf("parseSession of a %d-byte prefix succeeded", n)
				}
			}
			if _, ok := parseSession(append(bytes.Clone(der), 0)); ok {
				t.Error("parseSession with a trailing byte succeeded")
			}
		})
	}
	// Absent time and timeout are zero.
	f := defaultSession()
	f.extra = nil
	s, ok := parseSession(f.encode(t))
	if !ok || !s.Created.IsZero() || s.Timeout != 0 || s.ExtendedMasterSecret || s.ServerName != "" {
		t.Errorf("minimal session = %v, %v", s, ok)
	}
}

func TestUnpad(t *testing.T) {
	block := func(tail ...byte) []byte {
		return append(bytes.Repeat([]byte{0xee}, 32-len(tail)), tail...)
	}
	tests := []struct {
		b    []byte
		n    int
		good bool
	}{
		{block(1), 31, true},
		{block(2, 2), 30, true},
		{block(1, 2, 2), 30, true},
		{append(bytes.Repeat([]byte{0xee}, 16), bytes.Repeat([]byte{16}, 16)...), 16, true},
		{block(0), 32, false},
		{block(17), 32, false},
		{block(0xff), 32, false},
		{block(3, 2, 3), 32, false},
		{block(2, 3, 3), 32, false},
		{append([]byte{16}, bytes.Repeat([]byte{16}, 15)...), 0, true},
	}
	for _, tt := range tests {
		n, good := unpad(tt.b)
		if good != tt.good || (good && n != tt.n) {
			t.Errorf("unpad(%x) = %d, %v, want %d, %v", tt.b, n, good, tt.n, tt.good)
		}
	}
}

func TestNewOpenerRefuses(t *testing.T) {
	good := testKey(1, 16, 16)
	weak := testKey(2, 16, 16)
	clear(weak.AESKey)
	weakHMAC := testKey(3, 32, 32)
	for i := range weakHMAC.HMACKey {
		weakHMAC.HMACKey[i] = 7
	}
	tests := []struct {
		name string
		keys []Key
	}{
		{"aes-24", []Key{testKey(1, 24, 16)}},
		{"aes-0", []Key{testKey(1, 0, 16)}},
		{"hmac-20", []Key{testKey(1, 16, 20)}},
		{"hmac-0", []Key{testKey(1, 16, 0)}},
		{"weak-aes", []Key{weak}},
		{"weak-hmac", []Key{weakHMAC}},
		{"duplicate-name", []Key{good, testKey(1, 32, 32)}},
	}
	for _, tt := range tests {
		o, err := NewOpener(tt.keys...)
		if o != nil || err == nil || !strings.HasPrefix(err.Error(), "legacy: ") {
			t.Errorf("%s: NewOpener = %v, %v, want error", tt.name, o, err)
		}
	}
	// NewOpener copies the keys.
	k := testKey(4, 16, 16)
	o, err := NewOpener(k)
	if err != nil {
		t.Fatal(err)
	}
	ticket := sealTicket(t, k, pkcs7(defaultSession().encode(t)))
	clear(k.AESKey)
	clear(k.HMACKey)
	if _, err := o.Open(ticket); err != nil {
		t.Errorf("Open after clearing the caller's key: %v", err)
	}
	if o, err := NewOpener(); err != nil || o == nil {
		t.Errorf("NewOpener() = %v, %v", o, err)
	}
}

func TestNoSecretsPrinted(t *testing.T) {
	k := testKey(1, 32, 32)
	o, err := NewOpener(k)
	if err != nil {
		t.Fatal(err)
	}
	s, err := o.Open(sealTicket(t, k, pkcs7(defaultSession().encode(t))))
	if err != nil {
		t.Fatal(err)
	}
	var errs []error
	for _, tk := range [][]byte{nil, make([]byte, 80), sealTicket(t, k, bytes.Repeat([]byte{16}, 16))} {
		if _, err := o.Open(tk); err != nil {
			errs = append(errs, err)
		}
	}
	// A Session or Key in an unexported field is printed by reflection;
	// their docs say so. An Opener is safe there.
	values := []any{k, &k, o, *s, s, struct{ S Session }{*s}, &struct{ o *Opener }{o}, struct{ o Opener }{*o}, []Key{k}, map[string]*Session{"s": s}}
	for _, err := range errs {
		values = append(values, err)
	}
	var forbidden []string
	for _, secret := range [][]byte{k.AESKey, k.HMACKey, testMaster} {
		forbidden = append(forbidden, secretscan.Forms(secret)...)
	}
	for _, v := range values {
		secretscan.Check(t, fmt.Sprintf("%T", v), v, forbidden)
	}
	want := `legacy.Session{version 0x0303, cipher suite 0xc02f, master secret REDACTED (48 bytes), created 2030-03-17T17:46:40Z, timeout 2h0m0s, extended master secret true, server name "example.com", alpn ""}`
	if got := fmt.Sprint(s); got != want {
		t.Errorf("Sprint(session) = %q, want %q", got, want)
	}
}

func FuzzOpen(f *testing.F) {
	k := testKey(1, 16, 16)
	o, err := NewOpener(k)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(sealTicket(f, k, pkcs7(defaultSession().encode(f))))
	f.Add(make([]byte, 80))
	f.Fuzz(func(t *testing.T, ticket []byte) {
		s, err := o.Open(ticket)
		if (s == nil) == (err == nil) {
			t.Fatalf("Open = %v, %v", s, err)
		}
		if err != nil && !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrUnknownKey) && !errors.Is(err, ErrAuth) && !errors.Is(err, ErrSession) {
			t.Fatalf("Open error %v", err)
		}
		// OpenTicket agrees with Open, and its state is a valid one.
		st, name, terr := o.OpenTicket(ticket)
		if (terr == nil) != (err == nil) || (st == nil) != (terr != nil) || (name == nil) != (terr != nil) {
			t.Fatalf("OpenTicket = %v, %x, %v; Open = %v", st, name, terr, err)
		}
		if st != nil && !bytes.Equal(st.Secret, s.MasterSecret) {
			t.Fatal("OpenTicket's secret differs from Open's")
		}
	})
}

// FuzzParseSession checks that ParseSession never panics, that what it
// accepts has a master secret, and that it returns nil with its error.
func FuzzParseSession(f *testing.F) {
	f.Add(defaultSession().encode(f))
	f.Add(clientSession().encode(f))
	f.Fuzz(func(t *testing.T, der []byte) {
		s, err := ParseSession(der)
		if (err == nil) != (s != nil) || err == nil && len(s.MasterSecret) == 0 {
			t.Fatalf("ParseSession = %v, %v", s, err)
		}
		if err != nil && !errors.Is(err, ErrMalformed) {
			t.Fatalf("ParseSession error %v is not ErrMalformed", err)
		}
	})
}

// clientSession returns the fields of a TLS 1.3 client session like the
// one openssl s_client -sess_out writes: the ticket and its lifetime hint.
func clientSession() sessionFields {
	return sessionFields{
		version: 1, sslVersion: 0x0304,
		cipher: []byte{0x13, 0x01}, master: testMaster[:32],
		extra: func(b *cryptobyte.Builder) {
			explicitInt(b, 1, 1_900_000_000)
			explicitInt(b, 2, 7200)
			explicitInt(b, 9, 604800)
			explicit(b, 10, func(b *cryptobyte.Builder) { b.AddASN1OctetString([]byte("the ticket")) })
			explicitInt(b, 14, 12345)
		},
	}
}

// TestParseSessionClient checks the ticket of a client's session, and that
// an empty ticket is refused.
func TestParseSessionClient(t *testing.T) {
	s, err := ParseSession(clientSession().encode(t))
	if err != nil {
		t.Fatal(err)
	}
	if string(s.Ticket) != "the ticket" || s.TicketLifetimeHint != 604800 || s.Version != 0x0304 {
		t.Errorf("ParseSession = %v, ticket %q, hint %d", s, s.Ticket, s.TicketLifetimeHint)
	}
	empty := clientSession()
	empty.extra = func(b *cryptobyte.Builder) {
		explicit(b, 10, func(b *cryptobyte.Builder) { b.AddASN1OctetString(nil) })
	}
	if s, err := ParseSession(empty.encode(t)); !errors.Is(err, ErrMalformed) || s != nil {
		t.Errorf("ParseSession with an empty ticket = %v, %v; want ErrMalformed", s, err)
	}
}
