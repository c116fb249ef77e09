package format

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// stateFields is a State encoding written field by field in hex, so that a
// malformed case can change exactly one field.
type stateFields struct {
	version, protocol, suite, secret, createdAt, lifetime, ageAdd,
	maxEarlyData, ems, serverName, alpn, binding, certs, appData, embedded,
	trailing string
}

func (f stateFields) bytes() []byte {
	return h(f.version, f.protocol, f.suite, f.secret, f.createdAt, f.lifetime,
		f.ageAdd, f.maxEarlyData, f.ems, f.serverName, f.alpn, f.binding,
		f.certs, f.appData, f.embedded, f.trailing)
}

// testCreatedAt is 2023-11-14T22:13:20Z, 1700000000000 ms after the epoch.
var testCreatedAt = time.UnixMilli(1700000000000).UTC()

// stateTLS13Fields is the smallest TLS 1.3 state with early data.
func stateTLS13Fields() stateFields {
	return stateFields{
		version:      "01",
		protocol:     "0304",
		suite:        "1301",
		secret:       "01 aa",
		createdAt:    "0000018bcfe56800",
		lifetime:     "00000e10",
		ageAdd:       "01020304",
		maxEarlyData: "00000400",
		ems:          "00",
		serverName:   "00",
		alpn:         "00",
		binding:      "00",
		certs:        "000000",
		appData:      "0000",
		embedded:     "000000",
	}
}

func stateTLS13() *State {
	return &State{
		Version:      VersionTLS13,
		CipherSuite:  0x1301,
		Secret:       []byte{0xaa},
		CreatedAt:    testCreatedAt,
		Lifetime:     3600,
		AgeAdd:       0x01020304,
		MaxEarlyData: 1024,
	}
}

type stateTest struct {
	name string
	in   []byte
	want *State
}

func stateTests() []stateTest {
	full13 := stateTLS13Fields()
	full13.secret = "20" + strings.Repeat("5e", 32)
	full13.serverName = "0b 6578616d706c652e636f6d" // "example.com"
	full13.alpn = "02 6832"                         // "h2"
	full13.binding = "04 b1b2b3b4"
	full13.certs = "00000b 000003 c1c2c3 000002 d1d2"
	full13.appData = "0003 617070" // "app"
	full13.embedded = "000004 e1e2e3e4"
	want13 := stateTLS13()
	want13.Secret = rep(0x5e, 32)
	want13.ServerName, want13.ALPN = "example.com", "h2"
	want13.Binding = h("b1b2b3b4")
	want13.PeerCertificates = [][]byte{h("c1c2c3"), h("d1d2")}
	want13.AppData, want13.Embedded = []byte("app"), h("e1e2e3e4")

	ems12 := stateTLS13Fields()
	ems12.protocol, ems12.suite = "0303", "c02f"
	ems12.secret = "30" + strings.Repeat("4d", 48)
	ems12.ageAdd, ems12.maxEarlyData, ems12.ems = "00000000", "00000000", "01"
	ems12.certs = "000004 000001 c1"
	want12 := &State{Version: VersionTLS12, CipherSuite: 0xc02f, Secret: rep(0x4d, 48),
		CreatedAt: testCreatedAt, Lifetime: 3600, ExtendedMasterSecret: true,
		PeerCertificates: [][]byte{{0xc1}}}

	epoch := stateTLS13Fields()
	epoch.createdAt = "0000000000000000"
	wantEpoch := stateTLS13()
	wantEpoch.CreatedAt = time.UnixMilli(0).UTC()

	latest := stateTLS13Fields()
	latest.createdAt = "7fffffffffffffff"
	wantLatest := stateTLS13()
	wantLatest.CreatedAt = time.UnixMilli(math.MaxInt64).UTC()

	large := stateTLS13Fields()
	large.secret = "ff" + strings.Repeat("11", 255)
	large.serverName = "ff" + strings.Repeat("61", 255)
	large.appData = "ffff" + strings.Repeat("22", MaxAppData)
	large.embedded = "011171" + strings.Repeat("33", 70001)
	wantLarge := stateTLS13()
	wantLarge.Secret, wantLarge.ServerName = rep(0x11, 255), strings.Repeat("a", 255)
	wantLarge.AppData, wantLarge.Embedded = rep(0x22, MaxAppData), rep(0x33, 70001)

	return []stateTest{
		{"TLSv13 minimal", stateTLS13Fields().bytes(), stateTLS13()},
		{"TLSv13 every field", full13.bytes(), want13},
		{"TLSv12 extended master secret", ems12.bytes(), want12},
		{"created at the epoch", epoch.bytes(), wantEpoch},
		{"created_at 2^63-1", latest.bytes(), wantLatest},
		{"largest fields", large.bytes(), wantLarge},
	}
}

func stateEncodings(t *testing.T) [][]byte {
	var out [][]byte
	for _, tt := range stateTests() {
		out = append(out, tt.in)
	}
	return out
}

func TestState(t *testing.T) {
	for _, tt := range stateTests() {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseState(tt.in)
			if err != nil {
				t.Fatalf("ParseState: %v", err)
			}
			if diff := cmp.Diff(tt.want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("ParseState mismatch (-want +got):\n%s", diff)
			}
			out, err := tt.want.Append(nil)
			if err != nil {
				t.Fatalf("Append: %v", err)
			}
			if !bytes.Equal(out, tt.in) {
				t.Errorf("Append:\n got %x\nwant %x", out, tt.in)
			}
		})
	}
}

func TestParseStateMalformed(t *testing.T) {
	tests := []struct {
		name   string
		modify func(*stateFields)
	}{
		{"version 0", func(f *stateFields) { f.version = "00" }},
		{"version 2", func(f *stateFields) { f.version = "02" }},
		{"protocol TLS 1.1", func(f *stateFields) { f.protocol = "0302" }},
		{"protocol 0x0305", func(f *stateFields) { f.protocol = "0305" }},
		{"protocol DTLS 1.3", func(f *stateFields) { f.protocol = "fefc" }},
		{"empty secret", func(f *stateFields) { f.secret = "00" }},
		{"secret overruns", func(f *stateFields) { f.secret = "ff aa" }},
		{"created_at 2^63", func(f *stateFields) { f.createdAt = "8000000000000000" }},
		{"created_at 2^64-1", func(f *stateFields) { f.createdAt = "ffffffffffffffff" }},
		{"extended_master_secret 2", func(f *stateFields) { f.ems = "02" }},
		{"TLSv12 with age_add", func(f *stateFields) { f.protocol, f.maxEarlyData = "0303", "00000000" }},
		{"TLSv12 with max_early_data", func(f *stateFields) { f.protocol, f.ageAdd = "0303", "00000000" }},
		{"TLSv13 with extended_master_secret", func(f *stateFields) { f.ems = "01" }},
		{"empty certificate", func(f *stateFields) { f.certs = "000007 000001c1 000000" }},
		{"certificate overruns its list", func(f *stateFields) { f.certs = "000004 000002c1 c2" }},
		{"certificate list overruns", func(f *stateFields) { f.certs = "000009 000001c1" }},
		{"app_data overruns", func(f *stateFields) { f.appData = "0002 61" }},
		{"trailing byte", func(f *stateFields) { f.trailing = "00" }},
		{"a newer field appended", func(f *stateFields) { f.trailing = "0000" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := stateTLS13Fields()
			tt.modify(&f)
			got, err := ParseState(f.bytes())
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("ParseState error = %v, want ErrMalformed", err)
			}
			if got != nil {
				t.Fatalf("ParseState returned a State with an error")
			}
		})
	}
	if _, err := ParseState(nil); !errors.Is(err, ErrMalformed) {
		t.Errorf("ParseState(nil) error = %v, want ErrMalformed", err)
	}
}

func TestStateAppendErrors(t *testing.T) {
	big := make([]byte, 1<<23)
	tests := []struct {
		name   string
		modify func(*State)
		want   error
	}{
		{"unknown protocol version", func(s *State) { s.Version = 0x0302 }, ErrMalformed},
		{"empty secret", func(s *State) { s.Secret = nil }, ErrMalformed},
		{"zero CreatedAt", func(s *State) { s.CreatedAt = time.Time{} }, ErrMalformed},
		{"CreatedAt before the epoch", func(s *State) { s.CreatedAt = time.UnixMilli(-1) }, ErrMalformed},
		{"TLSv12 with AgeAdd", func(s *State) { s.Version, s.MaxEarlyData = VersionTLS12, 0 }, ErrMalformed},
		{"TLSv12 with MaxEarlyData", func(s *State) { s.Version, s.AgeAdd = VersionTLS12, 0 }, ErrMalformed},
		{"TLSv13 with ExtendedMasterSecret", func(s *State) { s.ExtendedMasterSecret = true }, ErrMalformed},
		{"empty certificate", func(s *State) { s.PeerCertificates = [][]byte{{1}, {}} }, ErrMalformed},
		{"secret of 256 bytes", func(s *State) { s.Secret = rep(1, 256) }, ErrFieldTooLarge},
		{"server name of 256 bytes", func(s *State) { s.ServerName = strings.Repeat("a", 256) }, ErrFieldTooLarge},
		{"ALPN of 256 bytes", func(s *State) { s.ALPN = strings.Repeat("a", 256) }, ErrFieldTooLarge},
		{"binding of 256 bytes", func(s *State) { s.Binding = rep(1, 256) }, ErrFieldTooLarge},
		{"certificate of 2^24 bytes", func(s *State) { s.PeerCertificates = [][]byte{make([]byte, 1<<24)} }, ErrFieldTooLarge},
		{"certificate list over 2^24-1 bytes", func(s *State) { s.PeerCertificates = [][]byte{big, big} }, ErrFieldTooLarge},
		{"app data of 2^16 bytes", func(s *State) { s.AppData = rep(1, MaxAppData+1) }, ErrFieldTooLarge},
		{"embedded of 2^24 bytes", func(s *State) { s.Embedded = make([]byte, 1<<24) }, ErrFieldTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := stateTLS13()
			tt.modify(s)
			out, err := s.Append([]byte("dst"))
			checkAppendError(t, out, err, tt.want)
		})
	}
}

func TestStateCreatedAtMilliseconds(t *testing.T) {
	s := stateTLS13()
	s.CreatedAt = testCreatedAt.Add(999*time.Microsecond + 999)
	out, err := s.Append(nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := stateTLS13Fields().bytes(); !bytes.Equal(out, want) {
		t.Errorf("Append did not truncate CreatedAt to milliseconds:\n got %x\nwant %x", out, want)
	}
}

func TestStateExpires(t *testing.T) {
	s := stateTLS13()
	if got, want := s.Expires(), testCreatedAt.Add(time.Hour); !got.Equal(want) {
		t.Errorf("Expires() = %v, want %v", got, want)
	}
	s.Lifetime = math.MaxUint32
	if got, want := s.Expires(), testCreatedAt.Add(math.MaxUint32*time.Second); !got.Equal(want) {
		t.Errorf("Expires() with the largest lifetime = %v, want %v", got, want)
	}
}

// TestStateRedaction checks that no fmt verb prints the bytes of Secret,
// AppData or Embedded, whether the State is printed by value, by pointer or
// inside other values.
func TestStateRedaction(t *testing.T) {
	secret := bytes.Repeat([]byte("SeCrEt"), 8)
	appData := []byte("ApPdAtA-private-value")
	embedded := bytes.Repeat([]byte("EmBeDdEd"), 4)
	s := &State{
		Version: VersionTLS13, CipherSuite: 0x1301, Secret: secret,
		CreatedAt: testCreatedAt, Lifetime: 60, ServerName: "example.com",
		AppData: appData, Embedded: embedded,
	}
	forbidden := map[string][]byte{"Secret": secret, "AppData": appData, "Embedded": embedded}
	values := map[string]any{
		"State":         *s,
		"*State":        s,
		"[]*State":      []*State{s},
		"struct{State}": struct{ S State }{*s},
	}
	verbs := []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%10.3v", "%T %[1]v"}
	for vname, v := range values {
		for _, verb := range verbs {
			out := fmt.Sprintf(verb, v)
			for fname, b := range forbidden {
				for _, enc := range []string{string(b), string(b[:6]), hex.EncodeToString(b[:6]),
					strings.ToUpper(hex.EncodeToString(b[:6])), fmt.Sprint(b[:6])} {
					if strings.Contains(out, enc) {
						t.Errorf("Sprintf(%q, %s) prints %s (%q): %s", verb, vname, fname, enc, out)
					}
				}
			}
		}
	}
	for _, verb := range []string{"%v", "%+v", "%s"} {
		out := fmt.Sprintf(verb, s)
		for _, want := range []string{"Secret:[REDACTED 48 bytes]", "AppData:[REDACTED 21 bytes]", "Embedded:[REDACTED 32 bytes]", `ServerName:"example.com"`} {
			if !strings.Contains(out, want) {
				t.Errorf("Sprintf(%q) = %s, want it to contain %s", verb, out, want)
			}
		}
	}
	if out := fmt.Sprintf("%#v", s); !strings.Contains(out, "REDACTED 48 bytes") {
		t.Errorf("Sprintf(%%#v) = %s, want the secret length", out)
	}
	if out := fmt.Sprint((*State)(nil)); out != "<nil>" {
		t.Errorf("Sprint(nil *State) = %s, want <nil>", out)
	}
}

// TestStateEncodedLen: EncodedLen is the length Append writes, with and
// without the optional authenticated_at.
func TestStateEncodedLen(t *testing.T) {
	for _, tt := range stateTests() {
		s := *tt.want
		for _, authed := range []bool{false, true} {
			if authed {
				if s.CreatedAt.UnixMilli() == 0 {
					continue // authenticated_at must be after the epoch
				}
				s.AuthenticatedAt = s.CreatedAt
			}
			enc, err := s.Append(nil)
			if err != nil {
				t.Fatalf("%s: %v", tt.name, err)
			}
			if n := s.EncodedLen(); n != len(enc) {
				t.Errorf("%s (authenticated_at %v): EncodedLen() = %d, Append wrote %d bytes", tt.name, authed, n, len(enc))
			}
		}
	}
}

func FuzzParseState(f *testing.F) {
	for _, tt := range stateTests() {
		f.Add(tt.in)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		checkParse(t, in, ParseState, nil)
		// ParseStateInto accepts exactly what ParseState accepts, with the
		// same fields, and leaves the zero State on error.
		want, werr := ParseState(in)
		var got State
		got.Version = 1 // overwritten either way
		err := ParseStateInto(&got, in)
		if (err == nil) != (werr == nil) {
			t.Fatalf("ParseStateInto error %v, ParseState error %v", err, werr)
		}
		if err != nil && !reflect.DeepEqual(got, State{}) {
			t.Fatalf("ParseStateInto left %v on error", got)
		}
		if err == nil && !reflect.DeepEqual(got, *want) {
			t.Fatalf("ParseStateInto = %v, ParseState = %v", got, *want)
		}
		// The encoding is canonical, so a parsed state's EncodedLen is
		// the length of its input.
		if err == nil && want.EncodedLen() != len(in) {
			t.Fatalf("EncodedLen() = %d for a %d-byte encoding", want.EncodedLen(), len(in))
		}
	})
}

// TestStateAuthenticatedAt: the optional trailing authenticated_at is
// written only when set, round-trips, and must be after 1970 and no later
// than created_at; a state without it still parses (the evolution rule).
func TestStateAuthenticatedAt(t *testing.T) {
	created := time.UnixMilli(1_700_000_000_000).UTC()
	s := &State{Version: VersionTLS13, CipherSuite: 0x1301, Secret: []byte("k"), CreatedAt: created}
	without, err := s.Append(nil)
	if err != nil {
		t.Fatal(err)
	}
	s.AuthenticatedAt = created.Add(-time.Hour)
	with, err := s.Append(nil)
	if err != nil || len(with) != len(without)+8 || !bytes.Equal(with[:len(without)], without) {
		t.Fatalf("Append with AuthenticatedAt = %x, %v", with, err)
	}
	got, err := ParseState(with)
	if err != nil || !got.AuthenticatedAt.Equal(s.AuthenticatedAt) {
		t.Fatalf("ParseState = %v, %v", got, err)
	}
	if got, err := ParseState(without); err != nil || !got.AuthenticatedAt.IsZero() {
		t.Fatalf("ParseState of a state from before the field = %v, %v", got, err)
	}
	for name, at := range map[string]uint64{"zero": 0, "after created_at": uint64(created.UnixMilli()) + 1} {
		bad := binary.BigEndian.AppendUint64(bytes.Clone(without), at)
		if _, err := ParseState(bad); !errors.Is(err, ErrMalformed) {
			t.Errorf("authenticated_at %s: %v, want ErrMalformed", name, err)
		}
	}
	s.AuthenticatedAt = created.Add(time.Second)
	if _, err := s.Append(nil); !errors.Is(err, ErrMalformed) {
		t.Errorf("Append with AuthenticatedAt after CreatedAt: %v", err)
	}
}

// TestStateEmbeddedOnly checks that a state whose secret lives in the host
// stack's embedded state (crypto/tls) round-trips, and that a state with
// neither is refused both ways.
func TestStateEmbeddedOnly(t *testing.T) {
	s := &State{Version: VersionTLS13, CipherSuite: 0x1301, CreatedAt: time.UnixMilli(1), Embedded: []byte{1, 2, 3}}
	b, err := s.Append(nil)
	if err != nil {
		t.Fatalf("Append: %v", err)
	}
	got, err := ParseState(b)
	if err != nil || len(got.Secret) != 0 || !bytes.Equal(got.Embedded, s.Embedded) {
		t.Fatalf("ParseState = %+v, %v", got, err)
	}
	s.Embedded = nil
	if _, err := s.Append(nil); !errors.Is(err, ErrMalformed) {
		t.Errorf("Append with neither secret nor embedded: %v, want ErrMalformed", err)
	}
	// The same bytes with the embedded field emptied by hand.
	nb := append(bytes.Clone(b[:len(b)-6]), 0, 0, 0)
	if _, err := ParseState(nb); !errors.Is(err, ErrMalformed) {
		t.Errorf("ParseState with neither secret nor embedded: %v, want ErrMalformed", err)
	}
}
