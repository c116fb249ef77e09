package keyfile

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tlsticket/tlsticket/internal/testkit/secretscan"
	"github.com/tlsticket/tlsticket/seal"
)

// Test secrets. Each is recognisable in any printed form.
var (
	secretA = bytes.Repeat([]byte{0xa1, 0x5e, 0xc7, 0x3d}, 8)
	secretB = bytes.Repeat([]byte{0xb2, 0x6f, 0xd8, 0x4e}, 8)
	secretC = bytes.Repeat([]byte{0xc3, 0x70, 0xe9, 0x5f}, 4)
)

// keyLine returns a key line for a, secret and the phases of key n of a
// 6-hour rotation from 2030-01-01.
func keyLine(a seal.AEAD, secret []byte, n int) string {
	p := phases(n)
	return "key " + a.String() + " " + base64.StdEncoding.EncodeToString(secret) +
		" announce=" + formatTime(p.Announce) + " activate=" + formatTime(p.Activate) +
		" decrypt-only=" + formatTime(p.DecryptOnly) + " retire=" + formatTime(p.Retire)
}

// base is the time of the first key of the tests.
var base = time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)

// phases returns the phases of key n of a 6-hour rotation with 1-hour
// announce and 12-hour decrypt-only periods.
func phases(n int) seal.Phases {
	act := base.Add(time.Duration(n) * 6 * time.Hour)
	return seal.Phases{
		Announce:    act.Add(-time.Hour),
		Activate:    act,
		DecryptOnly: act.Add(6 * time.Hour),
		Retire:      act.Add(18 * time.Hour),
	}
}

// validFile is a key file of three keys, with comments and blank lines.
func validFile() string {
	return Header + "\n" +
		"# Fleet ticket keys.\n" +
		"\n" +
		keyLine(seal.AES256GCM, secretA, 0) + "\n" +
		"#next\n" +
		keyLine(seal.XAES256GCM, secretB, 1) + "\n" +
		keyLine(seal.AES128GCM, secretC, 2) + "\n"
}

func TestParse(t *testing.T) {
	s, err := Parse(strings.NewReader(validFile()))
	if err != nil {
		t.Fatal(err)
	}
	keys := s.Keys()
	if len(keys) != 3 {
		t.Fatalf("Parse: %d keys, want 3", len(keys))
	}
	for i, want := range []struct {
		a      seal.AEAD
		secret []byte
	}{{seal.AES256GCM, secretA}, {seal.XAES256GCM, secretB}, {seal.AES128GCM, secretC}} {
		k, err := seal.NewKey(want.a, want.secret)
		if err != nil {
			t.Fatal(err)
		}
		if keys[i].Key.Name() != k.Name() || keys[i].Key.AEAD() != want.a || keys[i].Phases != phases(i) {
			t.Errorf("key %d = %v %+v, want %v %+v", i, keys[i].Key, keys[i].Phases, k, phases(i))
		}
	}
	// The schedule works: at 6h key 1 seals and key 0 opens.
	r, err := s.RingAt(base.Add(6*time.Hour), nil)
	if err != nil {
		t.Fatal(err)
	}
	if r.Primary() != keys[1].Key || len(r.Keys()) != 2 {
		t.Errorf("ring at 6h = %v", r)
	}
}

func TestRoundTrip(t *testing.T) {
	entries, err := ParseEntries(strings.NewReader(validFile()))
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := Write(&b, entries); err != nil {
		t.Fatal(err)
	}
	// Write drops comments and blank lines and is otherwise the same.
	want := Header + "\n" + keyLine(seal.AES256GCM, secretA, 0) + "\n" +
		keyLine(seal.XAES256GCM, secretB, 1) + "\n" + keyLine(seal.AES128GCM, secretC, 2) + "\n"
	if b.String() != want {
		t.Fatalf("Write =\n%s\nwant\n%s", b.String(), want)
	}
	again, err := ParseEntries(bytes.NewReader(b.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	var b2 bytes.Buffer
	if err := Write(&b2, again); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b.Bytes(), b2.Bytes()) {
		t.Errorf("second round trip differs:\n%s\n%s", b.String(), b2.String())
	}

	// Times keep their fraction of a second and are written in UTC.
	paris := time.FixedZone("CET", 3600)
	e := KeyEntry{AEAD: seal.ChaCha20Poly1305, Secret: secretA, Phases: seal.Phases{
		Announce:    time.Date(2030, 1, 1, 1, 0, 0, 500, paris),
		Activate:    time.Date(2030, 1, 1, 1, 0, 1, 0, paris),
		DecryptOnly: time.Date(2030, 1, 2, 0, 0, 0, 0, time.UTC),
		Retire:      time.Date(2030, 1, 3, 0, 0, 0, 0, time.UTC),
	}}
	b.Reset()
	if err := Write(&b, []KeyEntry{e}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), " announce=2030-01-01T00:00:00.0000005Z activate=2030-01-01T00:00:01Z ") {
		t.Errorf("Write times: %s", b.String())
	}
	got, err := ParseEntries(&b)
	if err != nil {
		t.Fatal(err)
	}
	if !got[0].Announce.Equal(e.Announce) || !got[0].Activate.Equal(e.Activate) {
		t.Errorf("times after round trip = %v, %v", got[0].Announce, got[0].Activate)
	}
	// Any RFC 3339 offset is accepted.
	offset := Header + "\n" + strings.Replace(keyLine(seal.AES256GCM, secretA, 0), "announce=2029-12-31T23:00:00Z", "announce=2030-01-01T00:00:00+01:00", 1) + "\n"
	if got, err := ParseEntries(strings.NewReader(offset)); err != nil || !got[0].Announce.Equal(phases(0).Announce) {
		t.Errorf("ParseEntries(offset) = %v, %v", got, err)
	}
}

func TestParseErrors(t *testing.T) {
	good := keyLine(seal.AES256GCM, secretA, 0)
	second := keyLine(seal.AES256GCM, secretB, 1)
	b64 := base64.StdEncoding.EncodeToString(secretA)
	replace := func(old, new string) string { return strings.Replace(good, old, new, 1) }
	tests := []struct {
		name string
		file string
		line int
		want string // the error after "keyfile: line N: "
	}{
		{"empty", "", 1, "empty file"},
		{"no-header", good + "\n", 1, "not a tlsticket key file"},
		{"secret-as-header", b64 + "\n", 1, "not a tlsticket key file"},
		{"v2", "tlsticket-keys v2\n", 1, "unsupported key file version"},
		{"header-crlf", Header + "\r\n", 1, "carriage return"},
		{"crlf", Header + "\n" + good + "\r\n", 2, "carriage return"},
		{"unknown-line", Header + "\n\nkeys " + b64 + "\n", 3, "unknown line"},
		{"indented", Header + "\n " + good + "\n", 2, "unknown line"},
		{"bad-base64", Header + "\n" + replace(b64, b64[:10]+"*"+b64[11:]) + "\n", 2, "bad base64 secret"},
		{"base64-no-padding", Header + "\n" + replace(b64, strings.TrimRight(b64, "=")) + "\n", 2, "bad base64 secret"},
		// Regression: the base64 decoder skips "\r", so a secret with one
		// inside was accepted and written back without it.
		{"cr-in-secret", Header + "\n" + replace(b64, b64[:10]+"\r"+b64[10:]) + "\n", 2, "bad base64 secret"},
		{"url-base64", Header + "\n" + strings.Replace(second, "/", "_", -1) + "\n", 2, "bad base64 secret"},
		{"short-secret", Header + "\n" + replace(b64, base64.StdEncoding.EncodeToString(secretA[:31])) + "\n", 2, "secret is 31 bytes, AES-256-GCM needs 32"},
		{"aes128-secret", Header + "\n" + keyLine(seal.AES128GCM, secretA, 0) + "\n", 2, "secret is 32 bytes, AES-128-GCM needs 16"},
		{"weak", Header + "\n" + replace(b64, base64.StdEncoding.EncodeToString(make([]byte, 32))) + "\n", 2, "weak secret"},
		{"unknown-aead", Header + "\n" + replace("AES-256-GCM", "AES-512-GCM") + "\n", 2, "unknown AEAD in field 2"},
		{"swapped-fields", Header + "\n" + "key " + b64 + " AES-256-GCM" + good[len("key AES-256-GCM "+b64):] + "\n", 2, "unknown AEAD in field 2"},
		{"double-space", Header + "\n" + replace(" announce", "  announce") + "\n", 2, "want 7 fields"},
		{"trailing-space", Header + "\n" + good + " \n", 2, "want 7 fields"},
		{"tab", Header + "\n" + replace(" announce", "\tannounce") + "\n", 2, "want 7 fields"},
		{"missing-field", Header + "\n" + good[:strings.Index(good, " retire")] + "\n", 2, "want 7 fields"},
		{"extra-field", Header + "\n" + good + " x=y\n", 2, "want 7 fields"},
		{"fields-out-of-order", Header + "\n" + replace("announce=", "activate=") + "\n", 2, "field 4 must be announce="},
		{"bad-time", Header + "\n" + replace("retire=2030-01-01T18:00:00Z", "retire=2030-01-01 18:00:00") + "\n", 2, "want 7 fields"},
		{"bad-time-value", Header + "\n" + replace("retire=2030-01-01T18:00:00Z", "retire=tomorrow") + "\n", 2, "bad retire time"},
		{"phases-order", Header + "\n" + replace("decrypt-only=2030-01-01T06:00:00Z", "decrypt-only=2029-01-01T06:00:00Z") + "\n", 2, "decrypt-only is before activate"},
		{"retire-early", Header + "\n" + replace("retire=2030-01-01T18:00:00Z", "retire=2030-01-01T05:00:00Z") + "\n", 2, "retire is before decrypt-only"},
		{"duplicate", Header + "\n" + good + "\n# again\n" + second + "\n" + good + "\n", 5, "duplicate key (same secret as line 2)"},
		{"duplicate-other-aead", Header + "\n" + good + "\n" + strings.Replace(good, "AES-256-GCM", "XAES-256-GCM", 1) + "\n", 3, "duplicate key (same secret as line 2)"},
		{"long-line", Header + "\n#" + strings.Repeat("x", 2000) + "\n", 2, "line longer than 1024 bytes"},
	}
	forbidden := secretscan.Forms(secretA)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Parse(strings.NewReader(tt.file))
			if s != nil || err == nil {
				t.Fatalf("Parse = %v, %v, want error", s, err)
			}
			var le *LineError
			if !errors.As(err, &le) || le.Line != tt.line {
				t.Fatalf("Parse error = %v, want a LineError at line %d", err, tt.line)
			}
			prefix := fmt.Sprintf("keyfile: line %d: ", tt.line)
			if !strings.HasPrefix(err.Error(), prefix+tt.want) {
				t.Errorf("Parse error = %q, want prefix %q", err, prefix+tt.want)
			}
			for _, f := range forbidden {
				if strings.Contains(err.Error(), f) {
					t.Errorf("Parse error %q contains the secret (%q)", err, f)
				}
			}
			if entries, err2 := ParseEntries(strings.NewReader(tt.file)); entries != nil || err2.Error() != err.Error() {
				t.Errorf("ParseEntries = %v, %v, want nil, %v", entries, err2, err)
			}
		})
	}
	if _, err := Parse(strings.NewReader(Header + "\n# no keys\n")); !errors.Is(err, ErrNoKeys) {
		t.Errorf("Parse(no keys) = %v, want ErrNoKeys", err)
	}
	if _, err := Parse(strings.NewReader(Header)); !errors.Is(err, ErrNoKeys) {
		t.Errorf("Parse(header without newline) = %v, want ErrNoKeys", err)
	}
	if _, err := Parse(strings.NewReader(Header + "\n" + good)); err != nil {
		t.Errorf("Parse(no final newline) = %v", err)
	}
	huge := Header + "\n" + strings.Repeat("#\n", MaxFileSize/2)
	if _, err := Parse(strings.NewReader(huge)); err == nil || strings.Contains(err.Error(), "line") {
		t.Errorf("Parse(huge) = %v, want a size error", err)
	}
	if _, err := Parse(iotestErrReader{}); err == nil || !strings.HasPrefix(err.Error(), "keyfile: failed to read") {
		t.Errorf("Parse(failing reader) = %v", err)
	}
}

type iotestErrReader struct{}

func (iotestErrReader) Read([]byte) (int, error) { return 0, errors.New("disk on fire") }

func TestWriteRefuses(t *testing.T) {
	tests := []struct {
		name string
		e    KeyEntry
		want string
	}{
		{"unknown-aead", KeyEntry{AEAD: 9, Secret: secretA, Phases: phases(0)}, "unknown AEAD"},
		{"short", KeyEntry{AEAD: seal.AES256GCM, Secret: secretA[:16], Phases: phases(0)}, "secret is 16 bytes"},
		{"weak", KeyEntry{AEAD: seal.AES128GCM, Secret: make([]byte, 16), Phases: phases(0)}, "weak secret"},
		{"order", KeyEntry{AEAD: seal.AES256GCM, Secret: secretA, Phases: seal.Phases{Announce: base.Add(time.Hour), Activate: base}}, "activate is before announce"},
	}
	for _, tt := range tests {
		var b bytes.Buffer
		err := Write(&b, []KeyEntry{{AEAD: seal.AES256GCM, Secret: secretB, Phases: phases(0)}, tt.e})
		if err == nil || !strings.Contains(err.Error(), "keyfile: key 2: "+tt.want) {
			t.Errorf("%s: Write error = %v, want %q", tt.name, err, tt.want)
		}
		if b.Len() != 0 {
			t.Errorf("%s: Write wrote %d bytes before failing", tt.name, b.Len())
		}
	}
	dup := []KeyEntry{{AEAD: seal.AES256GCM, Secret: secretA, Phases: phases(0)}, {AEAD: seal.XAES256GCM, Secret: secretA, Phases: phases(1)}}
	if err := Write(new(bytes.Buffer), dup); err == nil || !strings.Contains(err.Error(), "duplicate") {
		t.Errorf("Write(duplicate) = %v", err)
	}
}

func TestGenerateEntry(t *testing.T) {
	e, err := GenerateEntry(seal.XAES256GCM, phases(0), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(e.Secret) != 32 || e.Phases != phases(0) {
		t.Errorf("GenerateEntry = %v with %d-byte secret", e, len(e.Secret))
	}
	if _, err := e.Key(); err != nil {
		t.Error(err)
	}
	secret := e.Secret
	e.Clear()
	if e.Secret != nil || !bytes.Equal(secret, make([]byte, 32)) {
		t.Error("Clear did not zero the secret")
	}
	if _, err := GenerateEntry(seal.AES256GCM, phases(0), bytes.NewReader(make([]byte, 32))); !errors.Is(err, seal.ErrWeakKey) {
		t.Errorf("GenerateEntry(zero rand) = %v", err)
	}
	if _, err := GenerateEntry(seal.AES256GCM, phases(0), bytes.NewReader(nil)); err == nil {
		t.Error("GenerateEntry(empty rand) succeeded")
	}
	if _, err := GenerateEntry(0, phases(0), nil); err == nil {
		t.Error("GenerateEntry(AEAD 0) succeeded")
	}
}

func TestNoSecretsPrinted(t *testing.T) {
	e := KeyEntry{AEAD: seal.AES256GCM, Secret: secretA, Phases: phases(0)}
	want := "keyfile.KeyEntry{AES-256-GCM secret:REDACTED announce=2029-12-31T23:00:00Z activate=2030-01-01T00:00:00Z decrypt-only=2030-01-01T06:00:00Z retire=2030-01-01T18:00:00Z}"
	if got := fmt.Sprint(e); got != want {
		t.Errorf("Sprint(entry) = %q, want %q", got, want)
	}
	values := []any{e, &e, []KeyEntry{e}, struct{ E KeyEntry }{e}}
	forbidden := append(secretscan.Forms(secretA), secretscan.Forms(secretB)...)
	forbidden = append(forbidden, secretscan.Forms(secretA[:16])...)
	for _, v := range values {
		secretscan.Check(t, fmt.Sprintf("%T", v), v, forbidden)
	}
}

// FuzzParseEntries checks that any input either fails with a *LineError
// (or a read error) or parses to entries that Write writes and
// ParseEntries reads back unchanged.
func FuzzParseEntries(f *testing.F) {
	f.Add([]byte(validFile()))
	f.Add([]byte(Header + "\n"))
	f.Add([]byte(Header + "\n" + keyLine(seal.XChaCha20Poly1305, secretB, 3) + "\n#\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		entries, err := ParseEntries(bytes.NewReader(data))
		if err != nil {
			var le *LineError
			if entries != nil || !errors.As(err, &le) || le.Line < 1 {
				t.Fatalf("ParseEntries = %v, %v", entries, err)
			}
			return
		}
		var b bytes.Buffer
		if err := Write(&b, entries); err != nil {
			t.Fatalf("Write of parsed entries: %v", err)
		}
		again, err := ParseEntries(&b)
		if err != nil || len(again) != len(entries) {
			t.Fatalf("ParseEntries(Write(entries)) = %v, %v", again, err)
		}
		for i := range again {
			if again[i].AEAD != entries[i].AEAD || !bytes.Equal(again[i].Secret, entries[i].Secret) ||
				!again[i].Announce.Equal(entries[i].Announce) || !again[i].Activate.Equal(entries[i].Activate) ||
				!again[i].DecryptOnly.Equal(entries[i].DecryptOnly) || !again[i].Retire.Equal(entries[i].Retire) {
				t.Fatalf("entry %d changed in a round trip: %v, %v", i, entries[i], again[i])
			}
		}
	})
}

// FuzzParse checks that Parse never panics, returns a nil schedule with an
// error, fails wherever ParseEntries fails (with the same error), and
// otherwise returns the schedule of exactly the keys ParseEntries reads, in
// order of activation.
func FuzzParse(f *testing.F) {
	f.Add([]byte(validFile()))
	f.Add([]byte(Header + "\n# no keys\n"))
	f.Add([]byte(Header + "\n" + keyLine(seal.AES128GCM, secretC, 0) + "\n" + keyLine(seal.AES128GCM, secretC, 1) + "\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := Parse(bytes.NewReader(data))
		entries, entriesErr := ParseEntries(bytes.NewReader(data))
		defer func() {
			for i := range entries {
				entries[i].Clear()
			}
		}()
		if err != nil {
			if s != nil || (entriesErr != nil && err.Error() != entriesErr.Error()) {
				t.Fatalf("Parse = %v, %v; ParseEntries error %v", s, err, entriesErr)
			}
			return
		}
		slices.SortStableFunc(entries, func(a, b KeyEntry) int { return a.Activate.Compare(b.Activate) })
		if entriesErr != nil || len(entries) != len(s.Keys()) {
			t.Fatalf("Parse = %d keys; ParseEntries = %d, %v", len(s.Keys()), len(entries), entriesErr)
		}
		for i, k := range s.Keys() {
			want, err := entries[i].Key()
			if err != nil || k.Key.Name() != want.Name() || k.Phases != entries[i].Phases {
				t.Fatalf("key %d = %v %+v, ParseEntries has %v (%v)", i, k.Key, k.Phases, entries[i], err)
			}
		}
	})
}
