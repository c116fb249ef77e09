package legacy

import (
	"bytes"
	"fmt"
	"math"
	"time"

	"golang.org/x/crypto/cryptobyte"
	"golang.org/x/crypto/cryptobyte/asn1"
)

// OpenSSL's SSL_SESSION encoding constants (ssl/ssl_asn1.c, ssl/ssl_local.h).
const (
	sessionASN1Version = 1   // SSL_SESSION_ASN1_VERSION
	flagExtMS          = 0x1 // SSL_SESS_FLAG_EXTMS
	maxSessionIDSize   = 32  // SSL3_MAX_SSL_SESSION_ID_LENGTH
	maxMasterKeySize   = 64  // no TLS master secret or PSK is longer
	maxHostnameSize    = 255 // RFC 6066, Section 3
	lastTag            = 20  // peer_rpk, the last field of OpenSSL 3.2 and later
)

// Context-specific tags of the SSL_SESSION fields that Session keeps.
const (
	tagKeyArg   = 0
	tagTime     = 1
	tagTimeout  = 2
	tagHostname = 6
	tagTickHint = 9  // tlsext_tick_lifetime_hint, in a client's session
	tagTick     = 10 // tlsext_tick, in a client's session
	tagFlags    = 13
	tagALPN     = 16
)

// ParseSession parses OpenSSL's DER-encoded SSL_SESSION (ssl/ssl_asn1.c),
// such as the body of the PEM "SSL SESSION PARAMETERS" block that
// `openssl s_client -sess_out` writes. A client's session carries the
// ticket the server sent in Ticket. It returns [ErrMalformed] for
// anything else, with no detail.
//
// Warning: the Session holds the session's master secret (for TLS 1.3,
// the resumption PSK); call [Session.Clear] when done.
func ParseSession(der []byte) (*Session, error) {
	s, ok := parseSession(der)
	if !ok {
		return nil, fmt.Errorf("legacy: SSL_SESSION: %w", ErrMalformed)
	}
	return s, nil
}

// parseSession parses OpenSSL's DER SSL_SESSION (see the package
// documentation). It copies the master secret out of b.
func parseSession(b []byte) (*Session, bool) {
	in := cryptobyte.String(b)
	var seq, cipherSuite, sessionID, master cryptobyte.String
	var version, sslVersion int64
	if !in.ReadASN1(&seq, asn1.SEQUENCE) || !in.Empty() ||
		!seq.ReadASN1Integer(&version) || version != sessionASN1Version ||
		!seq.ReadASN1Integer(&sslVersion) || sslVersion < 0x0300 || sslVersion > 0x03ff ||
		!seq.ReadASN1(&cipherSuite, asn1.OCTET_STRING) || len(cipherSuite) != 2 ||
		!seq.ReadASN1(&sessionID, asn1.OCTET_STRING) || len(sessionID) > maxSessionIDSize ||
		!seq.ReadASN1(&master, asn1.OCTET_STRING) || len(master) == 0 || len(master) > maxMasterKeySize {
		return nil, false
	}
	s := &Session{
		Version:     uint16(sslVersion),
		CipherSuite: uint16(cipherSuite[0])<<8 | uint16(cipherSuite[1]),
	}
	// key_arg, an SSLv2 leftover, is IMPLICIT and primitive.
	if !seq.SkipOptionalASN1(asn1.Tag(tagKeyArg).ContextSpecific()) {
		return nil, false
	}
	var created, timeout int64
	if !readExplicitInt(&seq, tagTime, &created) || created < 0 ||
		!readExplicitInt(&seq, tagTimeout, &timeout) || timeout < 0 || timeout > int64(maxDurationSeconds) {
		return nil, false
	}
	if created != 0 {
		s.Created = time.Unix(created, 0)
	}
	s.Timeout = time.Duration(timeout) * time.Second
	if !parseOptional(&seq, s) {
		return nil, false
	}
	s.MasterSecret = bytes.Clone(master)
	return s, true
}

// maxDurationSeconds is the largest timeout a time.Duration holds.
const maxDurationSeconds = math.MaxInt64 / int64(time.Second)

// readExplicitInt reads an optional INTEGER explicitly tagged [tag], leaving
// *out zero if it is absent.
func readExplicitInt(s *cryptobyte.String, tag asn1.Tag, out *int64) bool {
	return s.ReadOptionalASN1Integer(out, tag.Constructed().ContextSpecific(), int64(0))
}

// parseOptional parses the fields [3] to [20] of an SSL_SESSION: each at
// most once, in order, explicitly tagged, and nothing after them. It keeps
// the server name, the ALPN protocol and the extended master secret flag and
// checks that the other fields are well-formed DER elements.
func parseOptional(seq *cryptobyte.String, s *Session) bool {
	prev := tagTimeout
	for !seq.Empty() {
		var inner cryptobyte.String
		var tag asn1.Tag
		if !seq.ReadAnyASN1(&inner, &tag) {
			return false
		}
		n := int(tag &^ (0x80 | 0x20)) // the tag number, if context-specific and constructed
		if tag&0xc0 != 0x80 || tag&0x20 == 0 || n <= prev || n > lastTag {
			return false
		}
		prev = n
		var field cryptobyte.String
		var tagOfField asn1.Tag
		if !inner.ReadAnyASN1Element(&field, &tagOfField) || !inner.Empty() {
			return false
		}
		switch n {
		case tagHostname:
			var name cryptobyte.String
			if !field.ReadASN1(&name, asn1.OCTET_STRING) || len(name) == 0 || len(name) > maxHostnameSize {
				return false
			}
			s.ServerName = string(name)
		case tagALPN:
			var proto cryptobyte.String
			if !field.ReadASN1(&proto, asn1.OCTET_STRING) || len(proto) == 0 || len(proto) > 255 {
				return false
			}
			s.ALPN = string(proto)
		case tagTickHint:
			if !field.ReadASN1Integer(&s.TicketLifetimeHint) {
				return false
			}
		case tagTick:
			var tick cryptobyte.String
			if !field.ReadASN1(&tick, asn1.OCTET_STRING) || len(tick) == 0 {
				return false
			}
			s.Ticket = bytes.Clone(tick)
		case tagFlags:
			var flags uint64
			if !field.ReadASN1Integer(&flags) {
				return false
			}
			s.ExtendedMasterSecret = flags&flagExtMS != 0
		}
	}
	return true
}
