package format

import (
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unsafe"

	"golang.org/x/crypto/cryptobyte"
)

// MaxAppData is the largest [State.AppData], in bytes.
const MaxAppData = 1<<16 - 1

const stateVersion = 1

// State is the session state that a server seals into a ticket, in this
// module's own versioned format (docs/spec/ticket-format.md):
//
//	struct {
//	    uint8  version = 1;
//	    uint16 protocol_version;        // 0x0303 or 0x0304 only
//	    uint16 cipher_suite;
//	    opaque secret<0..2^8-1>;        // TLS 1.2 master secret / TLS 1.3 resumption PSK; empty only with embedded
//	    uint64 created_at;              // ms since the Unix epoch, <= 2^63-1
//	    uint32 lifetime;                // seconds
//	    uint32 age_add;                 // TLS 1.3 ticket_age_add; MUST be 0 for TLS 1.2
//	    uint32 max_early_data;          // TLS 1.3; MUST be 0 for TLS 1.2
//	    uint8  extended_master_secret;  // 0 or 1; MUST be 0 for TLS 1.3
//	    opaque server_name<0..2^8-1>;
//	    opaque alpn<0..2^8-1>;
//	    opaque binding<0..2^8-1>;       // digest of the server certificate / client-auth context
//	    ASN1Cert peer_certificates<0..2^24-1>;  // ASN1Cert = opaque<1..2^24-1>
//	    opaque app_data<0..2^16-1>;     // application data
//	    opaque embedded<0..2^24-1>;     // opaque state of the host TLS stack
//	    optional uint64 authenticated_at;  // ms since the Unix epoch; 0 < authenticated_at <= created_at
//	} State;
//
// Version is the protocol_version, [VersionTLS12] or [VersionTLS13]. The
// format version byte is not a field: [State.Append] writes 1 and
// [ParseState] accepts only 1. CreatedAt is encoded in whole milliseconds
// since the Unix epoch. Embedded holds the opaque state of the host TLS
// stack, such as the output of crypto/tls SessionState.Bytes. Secret may be
// empty only when Embedded is not: a host stack such as crypto/tls keeps the
// session secret inside its own state.
//
// AuthenticatedAt is when the session was authenticated: the full handshake
// that created it, which renewed tickets carry forward so that a session
// cannot be renewed for ever. It is the first field appended under the
// evolution rule: present if and only if AuthenticatedAt is not the zero
// Time (a state from before the field has none, and its creation time
// stands in for it), so every State still has one encoding.
//
// Evolution: fields are only ever appended at the end. Any other change
// (removing, reordering or retyping a field, or changing what a field means)
// needs a new version byte. A parser rejects a version byte it does not know,
// and a version 1 parser rejects bytes after embedded, so a newer state never
// parses as an older one.
//
// Warning: a State holds the secret that resumes the session, and the
// encoding of a State is as sensitive as that secret. Seal it before it
// leaves the server and never log it. The String, GoString and Format
// methods print the lengths of Secret, AppData and Embedded instead of their
// bytes, but fmt cannot call them on a State stored in an unexported struct
// field, so do not print such structs either.
type State struct {
	Version              uint16
	CipherSuite          uint16
	Secret               []byte
	CreatedAt            time.Time
	Lifetime             uint32 // seconds
	AgeAdd               uint32
	MaxEarlyData         uint32
	ExtendedMasterSecret bool
	ServerName           string
	ALPN                 string
	Binding              []byte
	PeerCertificates     [][]byte
	AppData              []byte
	Embedded             []byte
	AuthenticatedAt      time.Time
}

// ParseState parses the encoding of a State. The byte slices of the result
// (Secret, Binding, PeerCertificates, AppData and Embedded) alias b.
// CreatedAt and AuthenticatedAt are in UTC.
func ParseState(b []byte) (*State, error) {
	st := new(State)
	if !st.unmarshal(b, false) {
		return nil, malformed("State")
	}
	return st, nil
}

// ParseStateInto is [ParseState] into st, for callers that keep the
// encoding for as long as the State: ServerName and ALPN alias b too,
// so that parsing allocates nothing but PeerCertificates' list. On error
// st is the zero State.
//
// Warning: b must not be modified while st or a string taken from it is in
// use; the strings would change.
func ParseStateInto(st *State, b []byte) error {
	if !st.unmarshal(b, true) {
		*st = State{}
		return malformed("State")
	}
	return nil
}

func (st *State) unmarshal(b []byte, alias bool) bool {
	// The fields are read into locals and st is written once, at the end,
	// with calls that inline: stores to the stack need no write barrier,
	// which a store through a pointer in a call pays for while the garbage
	// collector runs. This parse is in every engine Open.
	s := cryptobyte.String(b)
	var (
		format, ems                                                 uint8
		version, suite                                              uint16
		lifetime, ageAdd, maxEarlyData                              uint32
		createdAt, authAt                                           uint64
		secret, serverName, alpn, binding, certs, appData, embedded []byte
		n8                                                          uint8
		n16                                                         uint16
		n24                                                         uint32
	)
	if !s.ReadUint8(&format) || format != stateVersion ||
		!s.ReadUint16(&version) || !knownVersion(version) ||
		!s.ReadUint16(&suite) ||
		!s.ReadUint8(&n8) || !s.ReadBytes(&secret, int(n8)) ||
		!s.ReadUint64(&createdAt) || createdAt > math.MaxInt64 ||
		!s.ReadUint32(&lifetime) ||
		!s.ReadUint32(&ageAdd) ||
		!s.ReadUint32(&maxEarlyData) ||
		!s.ReadUint8(&ems) || ems > 1 ||
		!s.ReadUint8(&n8) || !s.ReadBytes(&serverName, int(n8)) ||
		!s.ReadUint8(&n8) || !s.ReadBytes(&alpn, int(n8)) ||
		!s.ReadUint8(&n8) || !s.ReadBytes(&binding, int(n8)) ||
		!s.ReadUint24(&n24) || !s.ReadBytes(&certs, int(n24)) ||
		!s.ReadUint16(&n16) || !s.ReadBytes(&appData, int(n16)) ||
		!s.ReadUint24(&n24) || !s.ReadBytes(&embedded, int(n24)) ||
		(!s.Empty() && (!s.ReadUint64(&authAt) || authAt == 0 || authAt > createdAt)) ||
		!s.Empty() || (len(secret) == 0 && len(embedded) == 0) {
		return false
	}
	var peerCerts [][]byte
	for cs := cryptobyte.String(certs); !cs.Empty(); {
		var cert []byte
		if !readUint24LengthPrefixed(&cs, &cert) || len(cert) == 0 {
			return false
		}
		peerCerts = append(peerCerts, cert)
	}
	t := State{
		Version: version, CipherSuite: suite, Secret: secret,
		CreatedAt: time.UnixMilli(int64(createdAt)).UTC(),
		Lifetime:  lifetime, AgeAdd: ageAdd, MaxEarlyData: maxEarlyData,
		ExtendedMasterSecret: ems == 1,
		Binding:              binding, PeerCertificates: peerCerts, AppData: appData, Embedded: embedded,
	}
	if authAt != 0 {
		t.AuthenticatedAt = time.UnixMilli(int64(authAt)).UTC()
	}
	if alias {
		t.ServerName = unsafe.String(unsafe.SliceData(serverName), len(serverName))
		t.ALPN = unsafe.String(unsafe.SliceData(alpn), len(alpn))
	} else {
		t.ServerName = string(serverName)
		t.ALPN = string(alpn)
	}
	if t.versionRule() != "" {
		return false
	}
	*st = t
	return true
}

func knownVersion(v uint16) bool {
	return v == VersionTLS12 || v == VersionTLS13
}

// versionRule returns the name of the field that breaks a per-version MUST
// rule, or "" if there is none.
func (st *State) versionRule() string {
	switch {
	case st.Version == VersionTLS12 && st.AgeAdd != 0:
		return "age_add for TLS 1.2"
	case st.Version == VersionTLS12 && st.MaxEarlyData != 0:
		return "max_early_data for TLS 1.2"
	case st.Version == VersionTLS13 && st.ExtendedMasterSecret:
		return "extended_master_secret for TLS 1.3"
	}
	return ""
}

// check reports why st has no encoding, or nil.
func (st *State) check() error {
	const structure = "State"
	if !knownVersion(st.Version) {
		return invalid(structure, "protocol_version")
	}
	if rule := st.versionRule(); rule != "" {
		return invalid(structure, rule)
	}
	if len(st.Secret) == 0 && len(st.Embedded) == 0 {
		return invalid(structure, "secret (empty, with no embedded state)")
	}
	if st.CreatedAt.UnixMilli() < 0 {
		return invalid(structure, "created_at (before 1970)")
	}
	if !st.AuthenticatedAt.IsZero() && (st.AuthenticatedAt.UnixMilli() <= 0 || st.AuthenticatedAt.UnixMilli() > st.CreatedAt.UnixMilli()) {
		return invalid(structure, "authenticated_at (not between 1970 and created_at)")
	}
	certsLen := 0
	for _, c := range st.PeerCertificates {
		if len(c) == 0 {
			return invalid(structure, "peer_certificates (empty certificate)")
		}
		if len(c) > maxUint24 {
			return tooLarge(structure, "peer_certificates")
		}
		certsLen += 3 + len(c)
	}
	switch {
	case len(st.Secret) > maxUint8:
		return tooLarge(structure, "secret")
	case len(st.ServerName) > maxUint8:
		return tooLarge(structure, "server_name")
	case len(st.ALPN) > maxUint8:
		return tooLarge(structure, "alpn")
	case len(st.Binding) > maxUint8:
		return tooLarge(structure, "binding")
	case certsLen > maxUint24:
		return tooLarge(structure, "peer_certificates")
	case len(st.AppData) > MaxAppData:
		return tooLarge(structure, "app_data")
	case len(st.Embedded) > maxUint24:
		return tooLarge(structure, "embedded")
	}
	return nil
}

// Append appends the encoding of st to dst and returns the extended slice.
// It fails, returning nil, if st breaks a rule of the format: an unknown
// Version, an empty Secret with an empty Embedded, a CreatedAt before the Unix epoch, a per-version
// MUST rule, an empty certificate, or a field too long for its length prefix.
// CreatedAt is truncated to whole milliseconds.
func (st *State) Append(dst []byte) ([]byte, error) {
	if err := st.check(); err != nil {
		return nil, err
	}
	// A State is encoded on every ticket issued, so this encoder writes the
	// bytes directly instead of through cryptobyte's nested builders, which
	// allocate one child per length prefix. check has bounded every length;
	// the fuzz targets hold this encoding to ParseState byte for byte, and
	// its length to EncodedLen.
	certsLen := st.certsLen()
	b := slices.Grow(dst, st.EncodedLen())
	b = append(b, stateVersion)
	b = binary.BigEndian.AppendUint16(b, st.Version)
	b = binary.BigEndian.AppendUint16(b, st.CipherSuite)
	b = append(append(b, byte(len(st.Secret))), st.Secret...)
	b = binary.BigEndian.AppendUint64(b, uint64(st.CreatedAt.UnixMilli()))
	b = binary.BigEndian.AppendUint32(b, st.Lifetime)
	b = binary.BigEndian.AppendUint32(b, st.AgeAdd)
	b = binary.BigEndian.AppendUint32(b, st.MaxEarlyData)
	var ems byte
	if st.ExtendedMasterSecret {
		ems = 1
	}
	b = append(b, ems)
	b = append(append(b, byte(len(st.ServerName))), st.ServerName...)
	b = append(append(b, byte(len(st.ALPN))), st.ALPN...)
	b = append(append(b, byte(len(st.Binding))), st.Binding...)
	b = appendUint24(b, certsLen)
	for _, c := range st.PeerCertificates {
		b = append(appendUint24(b, len(c)), c...)
	}
	b = append(binary.BigEndian.AppendUint16(b, uint16(len(st.AppData))), st.AppData...)
	b = append(appendUint24(b, len(st.Embedded)), st.Embedded...)
	if !st.AuthenticatedAt.IsZero() {
		b = binary.BigEndian.AppendUint64(b, uint64(st.AuthenticatedAt.UnixMilli()))
	}
	return b, nil
}

// EncodedLen returns the length of the encoding that [State.Append] appends
// for st, if it accepts st. An encoder that seals the state in place sizes
// its buffer with it.
func (st *State) EncodedLen() int {
	n := 1 + 2 + 2 + 1 + len(st.Secret) + 8 + 4 + 4 + 4 + 1 +
		1 + len(st.ServerName) + 1 + len(st.ALPN) + 1 + len(st.Binding) +
		3 + st.certsLen() + 2 + len(st.AppData) + 3 + len(st.Embedded)
	if !st.AuthenticatedAt.IsZero() {
		n += 8
	}
	return n
}

// certsLen returns the length of the peer_certificates list's body.
func (st *State) certsLen() int {
	n := 0
	for _, c := range st.PeerCertificates {
		n += 3 + len(c)
	}
	return n
}

// Expires returns the time the session expires: CreatedAt plus Lifetime
// seconds.
func (st *State) Expires() time.Time {
	return st.CreatedAt.Add(time.Duration(st.Lifetime) * time.Second)
}

// String returns a description of st for logs. It prints the lengths of
// Secret, AppData and Embedded, never their bytes.
func (st State) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "format.State{Version:%#04x CipherSuite:%#04x Secret:%s",
		st.Version, st.CipherSuite, redacted(st.Secret))
	fmt.Fprintf(&b, " CreatedAt:%s Lifetime:%d AgeAdd:%d MaxEarlyData:%d",
		formatTime(st.CreatedAt), st.Lifetime, st.AgeAdd, st.MaxEarlyData)
	fmt.Fprintf(&b, " ExtendedMasterSecret:%t ServerName:%q ALPN:%q Binding:%x",
		st.ExtendedMasterSecret, st.ServerName, st.ALPN, st.Binding)
	fmt.Fprintf(&b, " PeerCertificates:%s AppData:%s Embedded:%s AuthenticatedAt:%s}",
		certsSummary(st.PeerCertificates), redacted(st.AppData), redacted(st.Embedded), formatTime(st.AuthenticatedAt))
	return b.String()
}

// GoString returns a Go-syntax-like description of st for %#v. Secret,
// AppData and Embedded appear as comments that give their lengths.
func (st State) GoString() string {
	var b strings.Builder
	fmt.Fprintf(&b, "format.State{Version:%#04x, CipherSuite:%#04x, Secret:[]byte{/* %s */}",
		st.Version, st.CipherSuite, redacted(st.Secret))
	fmt.Fprintf(&b, ", CreatedAt:time.UnixMilli(%d), Lifetime:%d, AgeAdd:%#x, MaxEarlyData:%d",
		st.CreatedAt.UnixMilli(), st.Lifetime, st.AgeAdd, st.MaxEarlyData)
	fmt.Fprintf(&b, ", ExtendedMasterSecret:%t, ServerName:%q, ALPN:%q, Binding:%#v",
		st.ExtendedMasterSecret, st.ServerName, st.ALPN, st.Binding)
	fmt.Fprintf(&b, ", PeerCertificates:[][]byte{/* %s */}, AppData:[]byte{/* %s */}, Embedded:[]byte{/* %s */}, AuthenticatedAt:time.UnixMilli(%d)}",
		certsSummary(st.PeerCertificates), redacted(st.AppData), redacted(st.Embedded), st.AuthenticatedAt.UnixMilli())
	return b.String()
}

// Format implements [fmt.Formatter] so that no verb prints the bytes of
// Secret, AppData or Embedded: %#v prints [State.GoString], and every other
// verb formats [State.String] as a string (so %x prints the hex of the
// redacted description).
func (st State) Format(f fmt.State, verb rune) {
	if verb == 'v' && f.Flag('#') {
		io.WriteString(f, st.GoString())
		return
	}
	fmt.Fprintf(f, fmt.FormatString(f, verb), st.String())
}

func redacted(b []byte) string {
	return "[REDACTED " + strconv.Itoa(len(b)) + " bytes]"
}

func certsSummary(certs [][]byte) string {
	n := 0
	for _, c := range certs {
		n += len(c)
	}
	return "[" + strconv.Itoa(len(certs)) + " certificates, " + strconv.Itoa(n) + " bytes]"
}

func formatTime(t time.Time) string {
	if t.IsZero() {
		return "0"
	}
	return t.UTC().Format(time.RFC3339Nano)
}
