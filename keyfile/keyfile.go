// Package keyfile reads and writes ticket key files: tlsticket's own
// versioned text format, which holds the secret and the [seal.Phases] of
// every key, and the session ticket key files of nginx and HAProxy, read
// into [legacy.Key] values for a server that moves from them and must open
// the tickets their clients hold.
//
// # Format
//
// A key file is UTF-8 text with Unix line endings. The first line is
// exactly "tlsticket-keys v1". Every other line is blank, a comment that
// starts with "#", or one key:
//
//	key <aead> <secret> announce=<time> activate=<time> decrypt-only=<time> retire=<time>
//
// <aead> is a [seal.AEAD] name such as AES-256-GCM, <secret> is the key's
// secret in standard base64 with padding (RFC 4648, Section 4), of exactly
// the AEAD's key size, and each <time> is an RFC 3339 time. Fields are
// separated by single spaces, in this order, with nothing else on the line.
// No two keys may share a secret. [Write] writes times in UTC with the
// fraction of a second only when there is one, so that a file written by
// Write and parsed again is written back byte for byte.
//
// Parse errors name the line and the problem and never quote the line: a
// misplaced field could be a secret.
//
// Warning: a key file holds every ticket key of a fleet, past and future.
// Whoever reads it can decrypt every ticket sealed by its keys, and so
// every session resumed from them. Keep it readable by the server only,
// distribute it over authenticated encrypted channels, and remove retired
// keys from it.
package keyfile

import (
	"bytes"
	cryptorand "crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"time"

	"github.com/tlsticket/tlsticket/seal"
)

// Header is the first line of a key file of this version.
const Header = "tlsticket-keys v1"

// maxLine is the longest line a key file may have, in bytes.
const maxLine = 1024

// Errors returned by this package, besides [*LineError]. They never contain
// key bytes.
var (
	// ErrNoKeys means a key file has no key.
	ErrNoKeys = errors.New("keyfile: no keys")
)

// A LineError reports a problem at one line of a key file. Its message
// names the line and the problem, such as "keyfile: line 3: bad base64
// secret", and never contains any of the line's text.
type LineError struct {
	Line int   // 1-based line number
	Err  error // the problem, without the "keyfile: line N: " prefix
}

// Error returns "keyfile: line N: " followed by the problem.
func (e *LineError) Error() string {
	return "keyfile: line " + strconv.Itoa(e.Line) + ": " + e.Err.Error()
}

// Unwrap returns e.Err.
func (e *LineError) Unwrap() error { return e.Err }

// lineErr returns a *LineError for line n.
func lineErr(n int, format string, args ...any) error {
	return &LineError{Line: n, Err: fmt.Errorf(format, args...)}
}

// A KeyEntry is one key of a key file: its AEAD, its secret and its phases.
//
// Warning: a KeyEntry holds a secret. [seal.Key] keeps none, so only the key
// file layer holds ticket key secrets, and only for as long as it needs
// them: call [KeyEntry.Clear] when done. KeyEntry values print their AEAD
// and phases under every fmt verb, never the secret, except as the
// unexported field of another struct, which fmt prints by reflection.
type KeyEntry struct {
	AEAD   seal.AEAD
	Secret []byte
	seal.Phases
}

var (
	_ fmt.Formatter  = KeyEntry{}
	_ fmt.GoStringer = KeyEntry{}
)

// GenerateEntry returns a KeyEntry for a with phases p and a secret read
// from rand, or from crypto/rand if rand is nil.
func GenerateEntry(a seal.AEAD, p seal.Phases, rand io.Reader) (KeyEntry, error) {
	if a.KeySize() == 0 {
		return KeyEntry{}, fmt.Errorf("keyfile: unknown AEAD %v", a)
	}
	if rand == nil {
		rand = cryptorand.Reader
	}
	e := KeyEntry{AEAD: a, Secret: make([]byte, a.KeySize()), Phases: p}
	if _, err := io.ReadFull(rand, e.Secret); err != nil {
		e.Clear()
		return KeyEntry{}, fmt.Errorf("keyfile: failed to generate key: %w", err)
	}
	if err := e.check(); err != nil {
		e.Clear()
		return KeyEntry{}, fmt.Errorf("keyfile: %w", err)
	}
	return e, nil
}

// Key returns the [seal.Key] of e.
func (e KeyEntry) Key() (*seal.Key, error) {
	return seal.NewKey(e.AEAD, e.Secret)
}

// Clear zeroes e's secret and drops it.
func (e *KeyEntry) Clear() {
	clear(e.Secret)
	e.Secret = nil
}

// check returns an error if e cannot be written or scheduled.
func (e KeyEntry) check() error {
	if e.AEAD.KeySize() == 0 {
		return fmt.Errorf("unknown AEAD %v", e.AEAD)
	}
	if len(e.Secret) != e.AEAD.KeySize() {
		return fmt.Errorf("secret is %d bytes, %v needs %d", len(e.Secret), e.AEAD, e.AEAD.KeySize())
	}
	if seal.WeakSecret(e.Secret) {
		return fmt.Errorf("weak secret (all bytes equal): %w", seal.ErrWeakKey)
	}
	p := e.Phases
	switch {
	case p.Activate.Before(p.Announce):
		return errors.New("activate is before announce")
	case p.DecryptOnly.Before(p.Activate):
		return errors.New("decrypt-only is before activate")
	case p.Retire.Before(p.DecryptOnly):
		return errors.New("retire is before decrypt-only")
	}
	return nil
}

// String returns a description such as "keyfile.KeyEntry{AES-256-GCM
// secret:REDACTED announce=… activate=… decrypt-only=… retire=…}".
func (e KeyEntry) String() string {
	return "keyfile.KeyEntry{" + e.AEAD.String() + " secret:REDACTED" +
		" announce=" + formatTime(e.Announce) +
		" activate=" + formatTime(e.Activate) +
		" decrypt-only=" + formatTime(e.DecryptOnly) +
		" retire=" + formatTime(e.Retire) + "}"
}

// GoString returns the same description as [KeyEntry.String].
func (e KeyEntry) GoString() string { return e.String() }

// Format implements [fmt.Formatter] so that every verb prints
// [KeyEntry.String] and never the secret.
func (e KeyEntry) Format(f fmt.State, verb rune) { io.WriteString(f, e.String()) }

// formatTime formats t as a key file time: RFC 3339 in UTC, with a fraction
// of a second only if t has one.
func formatTime(t time.Time) string {
	return t.UTC().Format(time.RFC3339Nano)
}

// Parse reads a key file and returns the schedule of its keys. It keeps no
// copy of the secrets: they are cleared once the keys are made. It returns
// a [*LineError] for a malformed line and [ErrNoKeys] for a file without
// keys.
func Parse(r io.Reader) (*seal.Schedule, error) {
	entries, err := ParseEntries(r)
	defer func() {
		for i := range entries {
			entries[i].Clear()
		}
	}()
	if err != nil {
		return nil, err
	}
	if len(entries) == 0 {
		return nil, ErrNoKeys
	}
	keys := make([]seal.ScheduledKey, len(entries))
	for i, e := range entries {
		k, err := e.Key()
		if err != nil {
			return nil, fmt.Errorf("keyfile: key %d: %w", i+1, err)
		}
		keys[i] = seal.ScheduledKey{Key: k, Phases: e.Phases}
	}
	s, err := seal.NewSchedule(keys...)
	if err != nil {
		return nil, fmt.Errorf("keyfile: %w", err)
	}
	return s, nil
}

// ParseEntries reads a key file and returns its keys in file order, for
// tools that edit key files. The caller should [KeyEntry.Clear] each entry
// when done. It returns a [*LineError] for a malformed line. It reads at
// most [MaxFileSize] bytes and clears its copy of the file before it
// returns.
func ParseEntries(r io.Reader) ([]KeyEntry, error) {
	buf, err := readAll(r, MaxFileSize)
	defer clear(buf)
	if err != nil {
		return nil, err
	}
	var entries []KeyEntry
	var lines []int // the line of each entry
	fail := func(err error) ([]KeyEntry, error) {
		for i := range entries {
			entries[i].Clear()
		}
		return nil, err
	}
	if len(buf) == 0 {
		return fail(lineErr(1, "empty file, want header %q", Header))
	}
	rest := buf
	for n := 1; len(rest) > 0; n++ {
		var line []byte
		line, rest, _ = bytes.Cut(rest, []byte("\n"))
		if len(line) > maxLine {
			return fail(lineErr(n, "line longer than %d bytes", maxLine))
		}
		if n == 1 {
			if err := checkHeader(line); err != nil {
				return fail(err)
			}
			continue
		}
		e, ok, err := parseLine(n, line)
		if err != nil {
			return fail(err)
		}
		if !ok {
			continue
		}
		for i, prev := range entries {
			if subtle.ConstantTimeCompare(prev.Secret, e.Secret) == 1 {
				e.Clear()
				return fail(lineErr(n, "duplicate key (same secret as line %d)", lines[i]))
			}
		}
		entries = append(entries, e)
		lines = append(lines, n)
	}
	return entries, nil
}

// MaxFileSize is the largest key file [Parse] and [ParseEntries] read, in
// bytes: about 6,000 keys.
const MaxFileSize = 1 << 20

// readAll reads r to EOF into a buffer of at most limit bytes. When the
// buffer grows, it clears the old one, so that no copy of the file is left
// behind but the one it returns, which the caller clears.
func readAll(r io.Reader, limit int) ([]byte, error) {
	buf := make([]byte, 0, 4096)
	for {
		if len(buf) == cap(buf) {
			if cap(buf) > limit {
				clear(buf)
				return nil, fmt.Errorf("keyfile: file larger than %d bytes", limit)
			}
			grown := make([]byte, len(buf), 2*cap(buf))
			copy(grown, buf)
			clear(buf)
			buf = grown
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			clear(buf)
			return nil, fmt.Errorf("keyfile: failed to read: %w", err)
		}
	}
}

// checkHeader checks the first line of a key file.
func checkHeader(line []byte) error {
	switch {
	case string(line) == Header:
		return nil
	case string(line) == Header+"\r":
		return lineErr(1, "carriage return at end of line (use Unix line endings)")
	case bytes.HasPrefix(line, []byte("tlsticket-keys ")):
		return lineErr(1, "unsupported key file version, want %q", Header)
	}
	return lineErr(1, "not a tlsticket key file: the first line must be %q", Header)
}

// parseAEAD returns the AEAD named b, without making a string of b (which
// might be a misplaced secret).
func parseAEAD(b []byte) (seal.AEAD, bool) {
	for a := seal.AEAD(1); a.KeySize() != 0; a++ {
		if string(b) == a.String() {
			return a, true
		}
	}
	return 0, false
}

// keyFields are the names of the time fields of a key line, in order.
var keyFields = [...]string{"announce", "activate", "decrypt-only", "retire"}

// parseLine parses line n after the header. It reports false for a blank
// or comment line. It never converts the secret field to a string, which
// could not be cleared.
func parseLine(n int, line []byte) (KeyEntry, bool, error) {
	switch {
	case len(line) == 0 || line[0] == '#':
		return KeyEntry{}, false, nil
	case bytes.HasSuffix(line, []byte("\r")):
		return KeyEntry{}, false, lineErr(n, "carriage return at end of line (use Unix line endings)")
	case !bytes.HasPrefix(line, []byte("key ")):
		return KeyEntry{}, false, lineErr(n, "unknown line, want a key, a # comment or a blank line")
	}
	fields := bytes.Split(line, []byte(" "))
	if len(fields) != 7 || bytes.ContainsAny(line, "\t\v\f") || slices.ContainsFunc(fields, func(f []byte) bool { return len(f) == 0 }) {
		return KeyEntry{}, false, lineErr(n, "want 7 fields separated by single spaces: key <aead> <secret> announce= activate= decrypt-only= retire=")
	}
	a, ok := parseAEAD(fields[1])
	if !ok {
		return KeyEntry{}, false, lineErr(n, "unknown AEAD in field 2")
	}
	enc := base64.StdEncoding.Strict()
	secret := make([]byte, enc.DecodedLen(len(fields[2])))
	m, err := enc.Decode(secret, fields[2])
	if err != nil || bytes.IndexByte(fields[2], '\r') >= 0 { // the decoder skips "\r"
		clear(secret)
		return KeyEntry{}, false, lineErr(n, "bad base64 secret")
	}
	e := KeyEntry{AEAD: a, Secret: secret[:m]}
	times := [...]*time.Time{&e.Announce, &e.Activate, &e.DecryptOnly, &e.Retire}
	for i, name := range keyFields {
		v, ok := bytes.CutPrefix(fields[3+i], []byte(name+"="))
		if !ok {
			e.Clear()
			return KeyEntry{}, false, lineErr(n, "field %d must be %s=<RFC 3339 time>", 4+i, name)
		}
		if *times[i], err = time.Parse(time.RFC3339Nano, string(v)); err != nil {
			e.Clear()
			return KeyEntry{}, false, lineErr(n, "bad %s time, want RFC 3339 such as 2030-01-02T15:04:05Z", name)
		}
	}
	if err := e.check(); err != nil {
		e.Clear()
		return KeyEntry{}, false, &LineError{Line: n, Err: err}
	}
	return e, true, nil
}

// Write writes a key file of keys, in order, after the header line. It
// checks every entry before writing anything: an unknown AEAD, a secret of
// the wrong size or a weak one, phases out of order or a repeated secret
// is an error, and nothing is written.
func Write(w io.Writer, keys []KeyEntry) error {
	var b bytes.Buffer
	b.Grow(len(Header) + 1 + 256*len(keys)) // no copies left by growing
	defer func() { clear(b.Bytes()[:b.Cap()]) }()
	b.WriteString(Header + "\n")
	for i, e := range keys {
		if err := e.check(); err != nil {
			return fmt.Errorf("keyfile: key %d: %w", i+1, err)
		}
		for j := range i {
			if subtle.ConstantTimeCompare(keys[j].Secret, e.Secret) == 1 {
				return fmt.Errorf("keyfile: key %d: duplicate key (same secret as key %d)", i+1, j+1)
			}
		}
		b.WriteString("key " + e.AEAD.String() + " ")
		// Encode into b's spare capacity, which Grow sized: the only
		// copy of the encoded secret is in b, cleared on return.
		b.Write(base64.StdEncoding.AppendEncode(b.AvailableBuffer(), e.Secret))
		b.WriteString(" announce=" + formatTime(e.Announce) +
			" activate=" + formatTime(e.Activate) +
			" decrypt-only=" + formatTime(e.DecryptOnly) +
			" retire=" + formatTime(e.Retire) + "\n")
	}
	if _, err := w.Write(b.Bytes()); err != nil {
		return fmt.Errorf("keyfile: failed to write: %w", err)
	}
	return nil
}
