package testkit

import (
	"crypto/sha256"
	"io"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/tlsticket/tlsticket/internal/fakeclock"
	"github.com/tlsticket/tlsticket/resumption"
	"github.com/tlsticket/tlsticket/seal"
)

// The connection every test server expects, and that OfferHello and
// PSKHello build ClientHellos for.
const (
	ServerName = "example.com"
	ALPN       = "h2"
)

// MaxEarlyData is the max_early_data_size of the test servers.
const MaxEarlyData = 16384

// Epoch is the time every test server's clock starts at.
var Epoch = time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)

// Server is the state an engine under attack is built on, shared by the
// engine-level suites (the adversarial tests in conformance and the fuzz
// targets in fuzz): a fake clock, a memory replay store past its startup
// window (so that 0-RTT can be accepted at once), and a key ring whose
// first key seals. The suites build their engines on it with their own
// decrypt callbacks; this package cannot build them, as the engine's own
// tests import it.
type Server struct {
	Clock *fakeclock.Clock
	Store *resumption.MemoryStore
	// Keys are the ring's keys, the primary first.
	Keys    []*seal.Key
	Keyring *seal.Keyring
}

// NewServer returns a Server whose ring holds keys, the first as primary,
// and draws its nonces from rand (crypto/rand if nil). The clock shows Epoch
// plus the store's startup window and a second.
func NewServer(tb testing.TB, rand io.Reader, keys ...*seal.Key) *Server {
	tb.Helper()
	s := &Server{Clock: fakeclock.New(Epoch), Keys: keys}
	s.Store = resumption.NewMemoryStore(resumption.MemoryStoreConfig{Time: s.Clock.Now})
	s.Clock.Advance(resumption.DefaultFreshnessWindow + time.Second)
	r, err := seal.NewRing(rand, keys[0], keys[1:]...)
	if err != nil {
		tb.Fatal(err)
	}
	s.Keyring = seal.NewKeyring(r)
	return s
}

// Rand returns a deterministic random source named after label, safe for
// concurrent use: the same label always gives the same bytes, so that
// fuzzing workers seal byte-identical tickets.
func Rand(label string) io.Reader {
	return &detReader{r: rand.NewChaCha8(sha256.Sum256([]byte("tlsticket test rand " + label)))}
}

type detReader struct {
	mu sync.Mutex
	r  *rand.ChaCha8
}

func (d *detReader) Read(p []byte) (int, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.r.Read(p)
}
