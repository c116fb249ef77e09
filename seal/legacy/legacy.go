// Package legacy opens the session tickets of OpenSSL-based TLS servers
// (nginx, HAProxy, Apache, or OpenSSL itself), so that a server moving to
// tlsticket can resume the sessions of tickets already in its clients'
// hands, and issue them new tickets of its own. It never seals.
//
// # Ticket layout
//
// OpenSSL seals tickets in the construction that RFC 5077, Section 4
// recommends, with no length prefix before the encrypted part (unlike the
// RFC's example):
//
//	struct {
//	    opaque key_name[16];
//	    opaque iv[16];
//	    opaque encrypted_state[];   /* AES-CBC, PKCS#7 padding */
//	    opaque mac[32];             /* HMAC-SHA256 of key_name, iv, encrypted_state */
//	} ticket;
//
// encrypted_state takes what the fixed-size fields leave, and must be a
// whole, non-zero number of AES blocks; a ticket is at most 2^16-1 bytes,
// the most a TLS ticket field carries. This package's parser is the only
// one of the layout in this module.
//
// The key is AES-128-CBC or AES-256-CBC, by the length of [Key.AESKey], and
// the HMAC key is 16 or 32 bytes. [Opener.Open] finds the key by its name in
// a map, verifies the HMAC in constant time before it decrypts anything,
// checks the padding without branching on the plaintext, and parses the
// encrypted state as OpenSSL's DER-encoded SSL_SESSION (ssl/ssl_asn1.c):
//
//	SSL_SESSION_ASN1 ::= SEQUENCE {
//	    version                  INTEGER,            -- 1
//	    ssl_version              INTEGER,            -- 0x0303 for TLS 1.2
//	    cipher                   OCTET STRING,       -- 2 bytes: the cipher suite
//	    session_id               OCTET STRING,
//	    master_key               OCTET STRING,
//	    key_arg              [0] IMPLICIT OCTET STRING OPTIONAL,
//	    time                 [1] EXPLICIT INTEGER OPTIONAL,  -- seconds since 1970
//	    timeout              [2] EXPLICIT INTEGER OPTIONAL,  -- seconds
//	    peer                 [3] EXPLICIT Certificate OPTIONAL,
//	    session_id_context   [4] EXPLICIT OCTET STRING OPTIONAL,
//	    verify_result        [5] EXPLICIT INTEGER OPTIONAL,
//	    tlsext_hostname      [6] EXPLICIT OCTET STRING OPTIONAL,
//	    psk_identity_hint    [7] ...,  psk_identity [8] ...,
//	    tlsext_tick_lifetime [9] ...,  tlsext_tick [10] ...,  comp_id [11] ...,
//	    srp_username        [12] ...,
//	    flags               [13] EXPLICIT INTEGER OPTIONAL,  -- 1: extended master secret
//	    tlsext_tick_age_add [14] ...,  max_early_data [15] ...,
//	    alpn_selected       [16] ...,  max_fragment_len_mode [17] ...,
//	    ticket_appdata      [18] ...,  kex_group [19] ...,  peer_rpk [20] ...
//	}
//
// [Session] keeps the version, cipher suite, master secret, creation time,
// timeout, extended master secret flag, server name and ALPN protocol; the parser checks
// that the other fields are well-formed DER in order and skips them. The
// peer certificate, if the server asked for one, is not verified again.
//
// # Keys and their files
//
// Package keyfile reads nginx and HAProxy key files into [Key]s. This
// package imports nothing of this module.
package legacy

import (
	"github.com/tlsticket/tlsticket/seal"

	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// KeyNameSize is the length of the key_name that starts every ticket.
const KeyNameSize = 16

// Sizes of the ticket fields.
const (
	nameSize = KeyNameSize
	ivSize   = aes.BlockSize
	macSize  = sha256.Size
)

// A Key is a ticket key of an OpenSSL-based server (nginx, HAProxy, Apache,
// or OpenSSL and BoringSSL themselves): its 16-byte name, an AES-128 or
// AES-256 key and a 16- or 32-byte HMAC-SHA256 key, as in the ticket
// construction recommended by RFC 5077, Section 4. The name is not secret:
// it is sent in every ticket.
//
// Warning: a Key holds secrets; call [Key.Clear] when done. Keys print their
// name and key sizes under every fmt verb, never the keys, except as the
// unexported field of another struct, which fmt prints by reflection.
type Key struct {
	Name    [16]byte
	AESKey  []byte // 16 bytes for AES-128-CBC, 32 for AES-256-CBC
	HMACKey []byte // 16 or 32 bytes
}

var (
	_ fmt.Formatter  = Key{}
	_ fmt.GoStringer = Key{}
)

// Clear zeroes k's keys and drops them.
func (k *Key) Clear() {
	clear(k.AESKey)
	clear(k.HMACKey)
	k.AESKey, k.HMACKey = nil, nil
}

// String returns a description such as "legacy.Key{name 0123…, AES-128-CBC,
// HMAC key 16 bytes}".
func (k Key) String() string {
	return "legacy.Key{name " + hex.EncodeToString(k.Name[:]) + ", AES-" +
		strconv.Itoa(8*len(k.AESKey)) + "-CBC, HMAC key " + strconv.Itoa(len(k.HMACKey)) + " bytes}"
}

// GoString returns the same description as [Key.String].
func (k Key) GoString() string { return k.String() }

// Format implements [fmt.Formatter] so that every verb prints [Key.String].
func (k Key) Format(f fmt.State, verb rune) { io.WriteString(f, k.String()) }

// An Opener opens the tickets of a set of [Key]s. It is immutable and safe
// for concurrent use.
//
// Openers print their key names under every fmt verb, never key bytes.
type Opener struct {
	keys map[[nameSize]byte]*openerKey
}

// openerKey is a ready Key. fmt prints the unexported fields of a struct
// that holds an Opener by reflection, and under a bad verb (%!s(…)) it
// follows one pointer into a struct; the HMAC key is one pointer further
// away, where fmt prints only an address.
type openerKey struct {
	block   cipher.Block
	hmacKey *hmacKey
}

// hmacKey boxes an HMAC key; see openerKey.
type hmacKey struct{ b []byte }

var _ fmt.Formatter = (*Opener)(nil)

// NewOpener returns an Opener of keys. Every AES key must be 16 or 32 bytes,
// every HMAC key 16 or 32 bytes, no key may be all zeros or have all bytes
// equal, and no two keys may share a name. NewOpener copies the keys, so
// the caller may clear them.
func NewOpener(keys ...Key) (*Opener, error) {
	o := &Opener{keys: make(map[[nameSize]byte]*openerKey, len(keys))}
	for i, k := range keys {
		if n := len(k.AESKey); n != 16 && n != 32 {
			return nil, fmt.Errorf("legacy: key %d: AES key of %d bytes, want 16 or 32", i, n)
		}
		if n := len(k.HMACKey); n != 16 && n != 32 {
			return nil, fmt.Errorf("legacy: key %d: HMAC key of %d bytes, want 16 or 32", i, n)
		}
		if seal.WeakSecret(k.AESKey) || seal.WeakSecret(k.HMACKey) {
			return nil, fmt.Errorf("legacy: key %d: weak key (all bytes equal)", i)
		}
		if _, ok := o.keys[k.Name]; ok {
			return nil, fmt.Errorf("legacy: key %d: duplicate key name %x", i, k.Name)
		}
		block, err := aes.NewCipher(k.AESKey)
		if err != nil {
			return nil, fmt.Errorf("legacy: key %d: %w", i, err)
		}
		o.keys[k.Name] = &openerKey{block: block, hmacKey: &hmacKey{bytes.Clone(k.HMACKey)}}
	}
	return o, nil
}

// Errors returned by [Opener.Open]. They never contain key bytes, ticket
// bytes or session secrets. A server should treat them all the same way:
// ignore the ticket and make a full handshake.
var (
	// ErrMalformed means a ticket is too short or longer than 2^16-1
	// bytes, or its encrypted part is not a whole number of AES blocks.
	ErrMalformed = errors.New("legacy: malformed ticket")

	// ErrUnknownKey means no key has the ticket's key name.
	ErrUnknownKey = errors.New("legacy: unknown ticket key")

	// ErrAuth means the ticket's HMAC is wrong: it was modified, or it was
	// sealed by another key of the same name.
	ErrAuth = errors.New("legacy: ticket authentication failed")

	// ErrSession means an authentic ticket holds no valid SSL_SESSION: bad
	// padding, bad DER, or a field out of range.
	ErrSession = errors.New("legacy: invalid session in ticket")
)

// Open authenticates and decrypts ticket, and parses the session in it. It
// looks the key up by name, verifies the HMAC in constant time, and only
// then decrypts. It returns [ErrMalformed], [ErrUnknownKey], [ErrAuth] or
// [ErrSession]; see [Session] for what the caller must still check. The
// ticket is not modified.
func (o *Opener) Open(ticket []byte) (*Session, error) {
	var t rawTicket
	if !t.unmarshal(ticket) {
		return nil, ErrMalformed
	}
	k, ok := o.keys[t.keyName]
	if !ok {
		return nil, ErrUnknownKey
	}
	mac := hmac.New(sha256.New, k.hmacKey.b)
	mac.Write(t.macInput)
	if !hmac.Equal(mac.Sum(nil), t.mac) {
		return nil, ErrAuth
	}
	plaintext := make([]byte, len(t.encrypted))
	defer clear(plaintext)
	cipher.NewCBCDecrypter(k.block, t.iv).CryptBlocks(plaintext, t.encrypted)
	n, ok := unpad(plaintext)
	if !ok {
		return nil, ErrSession
	}
	s, ok := parseSession(plaintext[:n])
	if !ok {
		return nil, ErrSession
	}
	return s, nil
}

// unpad returns the length of b without its PKCS#7 padding of 1 to 16
// bytes. b is a non-empty whole number of AES blocks. It reads the last 16
// bytes whatever the padding length, and does not branch on them.
func unpad(b []byte) (int, bool) {
	last := b[len(b)-aes.BlockSize:]
	pad := int(last[aes.BlockSize-1])
	good := subtle.ConstantTimeLessOrEq(1, pad) & subtle.ConstantTimeLessOrEq(pad, aes.BlockSize)
	for i := 1; i <= aes.BlockSize; i++ {
		inPad := subtle.ConstantTimeLessOrEq(i, pad)
		same := subtle.ConstantTimeByteEq(last[aes.BlockSize-i], byte(pad))
		good &= subtle.ConstantTimeSelect(inPad, same, 1)
	}
	// The padding length is public once the ticket is accepted.
	return len(b) - subtle.ConstantTimeSelect(good, pad, 0), good == 1
}

// String returns a description of the opener's keys, such as
// "legacy.Opener{0123…cdef, 4567…89ab}", with full key names in no
// particular order. It never contains key bytes.
func (o *Opener) String() string {
	var b strings.Builder
	b.WriteString("legacy.Opener{")
	i := 0
	for name := range o.keys {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(hex.EncodeToString(name[:]))
		i++
	}
	b.WriteString("}")
	return b.String()
}

// GoString returns the same description as [Opener.String].
func (o *Opener) GoString() string { return o.String() }

// Format implements [fmt.Formatter] so that every verb prints
// [Opener.String] and never key bytes.
func (o *Opener) Format(f fmt.State, verb rune) { io.WriteString(f, o.String()) }

// A Session is the part of an OpenSSL SSL_SESSION that a TLS 1.2 server
// needs to resume it.
//
// Open checks the encoding, not the policy: the caller must check that
// Version and CipherSuite are ones it would negotiate with this client,
// that Created plus Timeout (and its own maximum ticket age) has not
// passed, and that ExtendedMasterSecret matches the client's
// extended_master_secret extension (RFC 7627, Section 5.3). For a TLS 1.3
// session (Version 0x0304), MasterSecret is the resumption PSK.
//
// Warning: a Session holds the session's master secret; call
// [Session.Clear] when done. Sessions print everything but the secret under
// every fmt verb, except as the unexported field of another struct, which
// fmt prints by reflection: do not store a Session there.
type Session struct {
	Version              uint16        // ssl_version: 0x0303 for TLS 1.2
	CipherSuite          uint16        // the TLS cipher suite
	MasterSecret         []byte        // master_key: 48 bytes for TLS 1.2
	Created              time.Time     // time, or the zero Time if absent
	Timeout              time.Duration // timeout, or 0 if absent
	ExtendedMasterSecret bool          // bit 0 of flags (SSL_SESS_FLAG_EXTMS)
	ServerName           string        // tlsext_hostname (SNI), if any
	ALPN                 string        // alpn_selected, if any
	// In a client's session (see [ParseSession]), the ticket the server
	// sent and its lifetime hint in seconds; empty and zero in a ticket's.
	Ticket             []byte // tlsext_tick
	TicketLifetimeHint uint64 // tlsext_tick_lifetime_hint
}

var (
	_ fmt.Formatter  = Session{}
	_ fmt.GoStringer = Session{}
)

// Clear zeroes s's master secret and drops it.
func (s *Session) Clear() {
	clear(s.MasterSecret)
	s.MasterSecret = nil
}

// String returns a description such as "legacy.Session{version 0x0303,
// cipher suite 0xc02f, master secret REDACTED (48 bytes), created …,
// timeout 2h0m0s, extended master secret true, server name
// "example.com"}".
func (s Session) String() string {
	created := "none"
	if !s.Created.IsZero() {
		created = s.Created.UTC().Format(time.RFC3339)
	}
	return fmt.Sprintf("legacy.Session{version %#04x, cipher suite %#04x, master secret REDACTED (%d bytes), created %s, timeout %v, extended master secret %v, server name %q, alpn %q}",
		s.Version, s.CipherSuite, len(s.MasterSecret), created, s.Timeout, s.ExtendedMasterSecret, s.ServerName, s.ALPN)
}

// GoString returns the same description as [Session.String].
func (s Session) GoString() string { return s.String() }

// Format implements [fmt.Formatter] so that every verb prints
// [Session.String] and never the master secret.
func (s Session) Format(f fmt.State, verb rune) { io.WriteString(f, s.String()) }
