// Package rfc8448 loads the known-answer values of RFC 8448, "Example
// Handshake Traces for TLS 1.3", Sections 3 (a full 1-RTT handshake that
// issues a ticket) and 4 (the resumed 0-RTT handshake), from rfc8448.json,
// the one copy of the vectors in the repository (README.md gives their
// provenance). It is for tests; it imports nothing of this module, so that
// the tests of every package, format included, may use it.
package rfc8448

import (
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"sort"
	"strings"
	"testing"
)

//go:embed rfc8448.json
var file []byte

// The sections of the file.
const (
	Section3 = "section3_initial_handshake"
	Section4 = "section4_resumed_0rtt_handshake"
)

// Vectors are the sections of the file by name.
type Vectors map[string]Section

// Section is one section of the file: its fields by name.
type Section map[string]json.RawMessage

// Load returns the vectors. It fails the test if a section is missing or
// empty, so that the vectors cannot silently stop running.
func Load(tb testing.TB) Vectors {
	tb.Helper()
	var all map[string]json.RawMessage
	if err := json.Unmarshal(file, &all); err != nil {
		tb.Fatalf("RFC 8448 vectors: %v", err)
	}
	v := make(Vectors)
	for _, name := range []string{Section3, Section4} {
		var s Section
		if err := json.Unmarshal(all[name], &s); err != nil || len(s) == 0 {
			tb.Fatalf("RFC 8448 vectors: section %q missing or malformed: %v", name, err)
		}
		v[name] = s
	}
	return v
}

// Decode decodes the whole file into v, for tests that read it into a
// struct of their own.
func Decode(tb testing.TB, v any) {
	tb.Helper()
	if err := json.Unmarshal(file, v); err != nil {
		tb.Fatalf("RFC 8448 vectors: %v", err)
	}
}

// Field decodes the field called name into v; "outer.inner" names a field
// of a nested object. It fails the test if the field is missing.
func (s Section) Field(tb testing.TB, name string, v any) {
	tb.Helper()
	outer, inner, nested := strings.Cut(name, ".")
	raw, ok := s[outer]
	if ok && nested {
		var sub Section
		if err := json.Unmarshal(raw, &sub); err != nil {
			tb.Fatalf("RFC 8448 field %q: %v", name, err)
		}
		raw, ok = sub[inner]
	}
	if !ok {
		tb.Fatalf("RFC 8448 field %q missing", name)
	}
	if err := json.Unmarshal(raw, v); err != nil {
		tb.Fatalf("RFC 8448 field %q: %v", name, err)
	}
}

// Hex returns the bytes of the hex field called name (see [Section.Field]).
// It fails the test if the field is missing, not hex, or empty.
func (s Section) Hex(tb testing.TB, name string) []byte {
	tb.Helper()
	var str string
	s.Field(tb, name, &str)
	b, err := hex.DecodeString(str)
	if err != nil || len(b) == 0 {
		tb.Fatalf("RFC 8448 field %q: %q is not hex bytes: %v", name, str, err)
	}
	return b
}

// Uint returns the integer field called name (see [Section.Field]).
func (s Section) Uint(tb testing.TB, name string) uint32 {
	tb.Helper()
	var n uint32
	s.Field(tb, name, &n)
	return n
}

// AllHex returns every hex string of the file, in the order of their JSON
// paths ("section.field.subfield"), for fuzz seeds. It fails the test if
// there are none.
func AllHex(tb testing.TB) [][]byte {
	tb.Helper()
	var doc any
	Decode(tb, &doc)
	m := map[string][]byte{}
	collectHex(doc, "", m)
	if len(m) == 0 {
		tb.Fatal("RFC 8448 vectors: no hex values")
	}
	paths := make([]string, 0, len(m))
	for p := range m {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	out := make([][]byte, len(paths))
	for i, p := range paths {
		out[i] = m[p]
	}
	return out
}

func collectHex(v any, path string, out map[string][]byte) {
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			collectHex(x, path+"."+k, out)
		}
	case string:
		if b, err := hex.DecodeString(v); err == nil && len(b) > 0 {
			out[path] = b
		}
	}
}
