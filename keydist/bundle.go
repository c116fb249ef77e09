package keydist

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"golang.org/x/crypto/cryptobyte"

	"github.com/tlsticket/tlsticket/keyfile"
	"github.com/tlsticket/tlsticket/seal"
)

// MaxFleetName is the longest fleet name, in bytes.
const MaxFleetName = 255

// A Bundle is one publication of a fleet's key schedule: the fleet's name,
// the publication's epoch and the keys, with their secrets and phases, in
// the order of a key file.
//
// Warning: a Bundle holds every ticket key of the fleet; call
// [Bundle.Clear] when done. Bundles print their fleet, epoch, and the AEAD
// and phases of each key under every fmt verb, never the secrets.
type Bundle struct {
	// Fleet names the fleet, 1 to [MaxFleetName] bytes of printable ASCII
	// without spaces. A [Member] installs only bundles of its fleet.
	Fleet string
	// Epoch numbers the publication. It must be at least 1 and increase
	// with every publication to a member: see [Open].
	Epoch uint64
	// Keys are the fleet's keys. They obey the rules of a key file
	// ([keyfile.Write]): known AEAD, secret of its key size and not weak,
	// phases in order, no secret twice. There is at least one.
	Keys []keyfile.KeyEntry
}

var (
	_ fmt.Formatter  = Bundle{}
	_ fmt.GoStringer = Bundle{}
)

// Clear zeroes and drops the secrets of b's keys.
func (b *Bundle) Clear() {
	for i := range b.Keys {
		b.Keys[i].Clear()
	}
}

// Schedule returns the [seal.Schedule] of b's keys. The secrets stay in b.
func (b *Bundle) Schedule() (*seal.Schedule, error) {
	keys := make([]seal.ScheduledKey, len(b.Keys))
	for i, e := range b.Keys {
		k, err := e.Key()
		if err != nil {
			return nil, fmt.Errorf("keydist: key %d: %w", i+1, err)
		}
		keys[i] = seal.ScheduledKey{Key: k, Phases: e.Phases}
	}
	s, err := seal.NewSchedule(keys...)
	if err != nil {
		return nil, fmt.Errorf("keydist: %w", err)
	}
	return s, nil
}

// check returns an error if b cannot be sealed.
func (b *Bundle) check() error {
	if err := checkFleet(b.Fleet); err != nil {
		return err
	}
	if b.Epoch == 0 {
		return fmt.Errorf("keydist: bundle epoch must be at least 1")
	}
	return checkKeys(b.Keys)
}

// The range of a Time in a bundle: the years 0000 to 9999 of RFC 3339,
// which a key file can hold.
var (
	minTime = time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC).Unix()
	maxTime = time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC).Unix()
)

// inRange reports whether t can be encoded in a bundle.
func inRange(t time.Time) bool {
	return t.Unix() >= minTime && t.Unix() <= maxTime
}

// checkFleet returns an error if name is not a valid fleet name.
func checkFleet(name string) error {
	if len(name) == 0 || len(name) > MaxFleetName {
		return fmt.Errorf("keydist: fleet name must be 1 to %d bytes", MaxFleetName)
	}
	for i := 0; i < len(name); i++ {
		if name[i] <= ' ' || name[i] > '~' {
			return fmt.Errorf("keydist: fleet name must be printable ASCII without spaces")
		}
	}
	return nil
}

// checkKeys applies the rules of a key file to keys, so that every bundle
// converts to a key file: it is exactly the check of [keyfile.Write], which
// writes nothing on error (and clears its buffer).
func checkKeys(keys []keyfile.KeyEntry) error {
	if len(keys) == 0 {
		return fmt.Errorf("keydist: bundle has no keys")
	}
	for i, e := range keys {
		if !inRange(e.Announce) || !inRange(e.Activate) || !inRange(e.DecryptOnly) || !inRange(e.Retire) {
			return fmt.Errorf("keydist: key %d: time outside the years 0000 to 9999", i+1)
		}
	}
	if err := keyfile.Write(io.Discard, keys); err != nil {
		return fmt.Errorf("keydist: %w", err)
	}
	return nil
}

// String returns a description such as "keydist.Bundle{fleet edge epoch 7
// [AES-256-GCM secret:REDACTED announce=… …]}".
func (b Bundle) String() string {
	var s strings.Builder
	s.WriteString("keydist.Bundle{fleet " + strconv.Quote(b.Fleet) + " epoch " + strconv.FormatUint(b.Epoch, 10) + " [")
	for i, e := range b.Keys {
		if i > 0 {
			s.WriteString(", ")
		}
		s.WriteString(e.String())
	}
	s.WriteString("]}")
	return s.String()
}

// GoString returns the same description as [Bundle.String].
func (b Bundle) GoString() string { return b.String() }

// Format implements [fmt.Formatter] so that every verb prints
// [Bundle.String] and never a secret.
func (b Bundle) Format(f fmt.State, verb rune) { io.WriteString(f, b.String()) }

// The encrypted contents of a sealed bundle, in the presentation language
// of RFC 8446, Section 3:
//
//	struct {
//	    uint64 seconds;             // Unix time, two's complement, years 0000 to 9999
//	    uint32 nanoseconds;         // < 10^9
//	} Time;
//
//	struct {
//	    uint8  aead;                // seal.AEAD
//	    opaque secret<1..2^8-1>;    // exactly aead's key size
//	    Time   announce;
//	    Time   activate;
//	    Time   decrypt_only;
//	    Time   retire;
//	} BundleKey;
//
//	struct {
//	    BundleKey keys<1..2^16-1>;
//	} BundleContents;
//
// Evolution: the layout is fixed by the version byte of the sealed
// bundle; any change needs a new version of the container.

// appendContents appends the BundleContents of keys to dst.
func appendContents(dst []byte, keys []keyfile.KeyEntry) ([]byte, error) {
	b := cryptobyte.NewBuilder(dst)
	b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) {
		for _, e := range keys {
			b.AddUint8(uint8(e.AEAD))
			b.AddUint8LengthPrefixed(func(b *cryptobyte.Builder) {
				b.AddBytes(e.Secret)
			})
			for _, t := range [...]time.Time{e.Announce, e.Activate, e.DecryptOnly, e.Retire} {
				b.AddUint64(uint64(t.Unix()))
				b.AddUint32(uint32(t.Nanosecond()))
			}
		}
	})
	out, err := b.Bytes()
	if err != nil {
		return nil, fmt.Errorf("keydist: too many keys for one bundle: %w", err)
	}
	return out, nil
}

// parseContents parses a BundleContents. The secrets are copied; on error
// every copy is cleared. It checks the structure only; see checkKeys.
func parseContents(in []byte) ([]keyfile.KeyEntry, bool) {
	var keys []keyfile.KeyEntry
	fail := func() ([]keyfile.KeyEntry, bool) {
		for i := range keys {
			keys[i].Clear()
		}
		return nil, false
	}
	s := cryptobyte.String(in)
	var list cryptobyte.String
	if !s.ReadUint16LengthPrefixed(&list) || list.Empty() || !s.Empty() {
		return fail()
	}
	for !list.Empty() {
		var e keyfile.KeyEntry
		var aead uint8
		var secret cryptobyte.String
		if !list.ReadUint8(&aead) || !list.ReadUint8LengthPrefixed(&secret) || len(secret) == 0 {
			return fail()
		}
		for _, t := range [...]*time.Time{&e.Announce, &e.Activate, &e.DecryptOnly, &e.Retire} {
			var sec uint64
			var nsec uint32
			if !list.ReadUint64(&sec) || int64(sec) < minTime || int64(sec) > maxTime ||
				!list.ReadUint32(&nsec) || nsec >= 1e9 {
				return fail()
			}
			*t = time.Unix(int64(sec), int64(nsec)).UTC()
		}
		e.AEAD = seal.AEAD(aead)
		e.Secret = append([]byte(nil), secret...)
		keys = append(keys, e)
	}
	return keys, true
}
