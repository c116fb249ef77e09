package keydist

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/binary"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/tlsticket/tlsticket/keyfile"
	"github.com/tlsticket/tlsticket/seal"
)

// detRand is a deterministic random source for tests: SHA-256 in counter
// mode over a label. It is safe for concurrent use.
type detRand struct {
	mu    sync.Mutex
	label string
	n     uint64
	buf   []byte
}

func newDetRand(label string) *detRand { return &detRand{label: label} }

func (r *detRand) Read(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i := range p {
		if len(r.buf) == 0 {
			h := sha256.New()
			h.Write([]byte(r.label))
			h.Write(binary.BigEndian.AppendUint64(nil, r.n))
			r.n++
			r.buf = h.Sum(nil)
		}
		p[i], r.buf = r.buf[0], r.buf[1:]
	}
	return len(p), nil
}

var _ io.Reader = (*detRand)(nil)

// testStart is the activation time of the first test key.
var testStart = time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)

const (
	testRotation    = 6 * time.Hour
	testAnnounce    = time.Hour
	testDecryptOnly = 12 * time.Hour
)

// testPhases returns the phases of the i-th key of a chain starting at
// testStart.
func testPhases(i int) seal.Phases {
	act := testStart.Add(time.Duration(i) * testRotation)
	return seal.Phases{
		Announce:    act.Add(-testAnnounce),
		Activate:    act,
		DecryptOnly: act.Add(testRotation),
		Retire:      act.Add(testRotation + testDecryptOnly),
	}
}

// testEntries returns n chained keys with deterministic secrets.
func testEntries(t testing.TB, label string, n int) []keyfile.KeyEntry {
	t.Helper()
	rand := newDetRand("entries " + label)
	keys := make([]keyfile.KeyEntry, n)
	for i := range keys {
		e, err := keyfile.GenerateEntry(seal.AES256GCM, testPhases(i), rand)
		if err != nil {
			t.Fatal(err)
		}
		keys[i] = e
	}
	return keys
}

// testParties returns a deterministic member key and publisher key.
func testParties(t testing.TB, label string) (*MemberKey, *PublisherKey) {
	t.Helper()
	mk, err := GenerateMemberKey(newDetRand("member " + label))
	if err != nil {
		t.Fatal(err)
	}
	pk, err := GeneratePublisherKey(newDetRand("publisher " + label))
	if err != nil {
		t.Fatal(err)
	}
	return mk, pk
}

// mustSeal seals a bundle of keys for fleet at epoch, deterministically.
func mustSeal(t testing.TB, fleet string, epoch uint64, keys []keyfile.KeyEntry, to *MemberPublicKey, by *PublisherKey) []byte {
	t.Helper()
	sealed, err := Seal(&Bundle{Fleet: fleet, Epoch: epoch, Keys: keys}, to, by, newDetRand("seal"))
	if err != nil {
		t.Fatal(err)
	}
	return sealed
}

// signEd25519 signs a container prefix as Seal does.
func signEd25519(by *PublisherKey, signed []byte) []byte {
	return ed25519.Sign(by.priv, signedMessage(signed))
}
