package fuzz

import (
	"bytes"
	"crypto"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"github.com/tlsticket/tlsticket/internal/fakeclock"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tlsticket/tlsticket/engine"
	"github.com/tlsticket/tlsticket/format"
	"github.com/tlsticket/tlsticket/internal/testkit"
	"github.com/tlsticket/tlsticket/resumption"
	"github.com/tlsticket/tlsticket/seal"
	"github.com/tlsticket/tlsticket/status"
)

// epoch is the fixed time of every fixture clock.
var epoch = time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)

// detReader is a deterministic, concurrency-safe random source, so that every
// fuzzing worker seals byte-identical tickets.
type detReader struct {
	mu sync.Mutex
	r  *rand.ChaCha8
}

// fakeClock is the shared fake clock of internal/fakeclock.
type fakeClock = fakeclock.Clock

func newDetReader(label string) *detReader {
	return &detReader{r: rand.NewChaCha8(sha256.Sum256([]byte("tlsticket fuzz rand " + label)))}
}

func (d *detReader) Read(p []byte) (int, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.r.Read(p)
}

// testKey returns a deterministic key of AEAD a named after label.
func testKey(tb testing.TB, a seal.AEAD, label string) *seal.Key {
	tb.Helper()
	sum := sha256.Sum256([]byte("tlsticket fuzz key " + label))
	k, err := seal.NewKey(a, sum[:a.KeySize()])
	if err != nil {
		tb.Fatal(err)
	}
	return k
}

func newRing(tb testing.TB, label string, primary *seal.Key, decryptOnly ...*seal.Key) *seal.Ring {
	tb.Helper()
	r, err := seal.NewRing(newDetReader(label), primary, decryptOnly...)
	if err != nil {
		tb.Fatal(err)
	}
	return r
}

// call is one call of the decrypt callback.
type call struct {
	session *format.State
	keyName []byte
	status  status.Status
}

// issued is a ticket the fixture sealed, with the state Open must return.
type issued struct {
	name     string
	ticket   []byte
	want     format.State
	openable bool // sealed under a key of the fixture's ring
	primary  bool // sealed under the ring's primary key
	// psk is the PSK in the ticket, for TLS 1.3 states with a PSK of their
	// suite's hash length: the key a binder must be made with.
	psk *resumption.PSK
}

// helloSeed is a ClientHello and the negotiation it is presented with.
type helloSeed struct {
	msg       []byte
	suite     uint16
	sni, alpn string
}

// fixture is an engine under test and the tickets and ClientHellos it is
// seeded with. It is used by one goroutine at a time: the fuzzing engine
// calls a target's function sequentially in each worker process.
type fixture struct {
	clock   *fakeClock
	keys    *seal.Keyring
	e       *engine.Engine
	calls   []call
	issued  map[string]*issued
	order   []*issued
	hellos  []helloSeed
	capture *format.State
}

const (
	sni  = "example.com"
	alpn = "h2"
)

// newFixture builds the engine under test: a ring whose primary key is
// AES-256-GCM and whose decrypt-only keys are ChaCha20-Poly1305,
// XChaCha20-Poly1305 and AES-128-GCM, a memory replay store past its
// startup window, 0-RTT allowed, and a decrypt callback that records its
// calls and returns the default. It then issues the seed tickets.
func newFixture(tb testing.TB) *fixture {
	tb.Helper()
	f := &fixture{clock: fakeclock.New(epoch), issued: map[string]*issued{}}
	store := resumption.NewMemoryStore(resumption.MemoryStoreConfig{Time: f.clock.Now})
	f.clock.Advance(resumption.DefaultFreshnessWindow + time.Second)
	keys := []*seal.Key{
		testKey(tb, seal.AES256GCM, "primary"),
		testKey(tb, seal.ChaCha20Poly1305, "chacha"),
		testKey(tb, seal.XChaCha20Poly1305, "xchacha"),
		testKey(tb, seal.AES128GCM, "aes128"),
	}
	f.keys = seal.NewKeyring(newRing(tb, "open", keys[0], keys[1:]...))
	var err error
	f.e, err = engine.New(&engine.Config{
		Keys: f.keys, Time: f.clock.Now, Rand: newDetReader("engine"),
		MaxEarlyData: 16384, ReplayStore: store,
		DecryptTicket: func(ti engine.TicketInfo) status.Return {
			s, keyName, st := ti.Session, ti.KeyName, ti.Status
			f.calls = append(f.calls, call{s, keyName, st})
			return status.Default(st)
		},
	})
	if err != nil {
		tb.Fatal(err)
	}
	f.issueSeeds(tb, keys)
	f.buildHellos(tb)
	return f
}

// issuer returns an engine that seals with key (under a ring of its own) and
// whose clock is the fixture's shifted by skew.
func (f *fixture) issuer(tb testing.TB, key *seal.Key, skew time.Duration, binding string) *engine.Engine {
	tb.Helper()
	e, err := engine.New(&engine.Config{
		Keys:         seal.NewKeyring(newRing(tb, "issue "+key.String()+skew.String()+binding, key)),
		Time:         func() time.Time { return f.clock.Now().Add(skew) },
		Rand:         newDetReader("issuer " + key.String() + skew.String() + binding),
		MaxEarlyData: 16384,
		Binding:      []byte(binding),
		GenerateTicket: func(s *format.State) error {
			c := cloneState(*s)
			c.Binding = []byte(binding) // sealed in place of s.Binding
			f.capture = &c
			return nil
		},
	})
	if err != nil {
		tb.Fatal(err)
	}
	return e
}

// record adds a ticket whose state was captured by the GenerateTicket
// callback of an issuing engine.
func (f *fixture) record(tb testing.TB, name string, iss engine.Issued, openable, primary bool) *issued {
	tb.Helper()
	if f.capture == nil {
		tb.Fatalf("%s: GenerateTicket was not called", name)
	}
	in := &issued{name: name, ticket: iss.Ticket, want: opened(*f.capture), openable: openable, primary: primary}
	f.capture = nil
	if h, ok := resumption.HashForSuite(in.want.CipherSuite); ok && in.want.Version == format.VersionTLS13 && len(in.want.Secret) == h.Size() {
		psk, err := resumption.NewPSK(h, in.want.Secret)
		if err != nil {
			tb.Fatal(err)
		}
		in.psk = psk
	}
	if _, dup := f.issued[string(iss.Ticket)]; dup {
		tb.Fatalf("%s: ticket issued twice", name)
	}
	f.issued[string(iss.Ticket)] = in
	f.order = append(f.order, in)
	return in
}

// issueSeeds issues tickets of both versions under every key, in and out of
// context, and one under a key the fixture's ring lacks.
func (f *fixture) issueSeeds(tb testing.TB, keys []*seal.Key) {
	tb.Helper()
	stranger := testKey(tb, seal.AES256GCM, "stranger")
	secret12 := bytes.Repeat([]byte{0x12}, 48)
	tls12 := []struct {
		name     string
		key      *seal.Key
		skew     time.Duration
		binding  string
		s        format.State
		openable bool
	}{
		{"tls12", keys[0], 0, "", format.State{CipherSuite: 0xc02f, ServerName: sni, ALPN: alpn, ExtendedMasterSecret: true}, true},
		{"tls12-chacha", keys[1], 0, "", format.State{CipherSuite: 0xc030, ServerName: sni}, true},
		{"tls12-certs", keys[0], 0, "", format.State{CipherSuite: 0xc02f, PeerCertificates: [][]byte{{1, 2, 3}, {4}}, AppData: []byte("app")}, true},
		{"tls12-expired", keys[0], -3 * time.Hour, "", format.State{CipherSuite: 0xc02f, ServerName: sni, ALPN: alpn}, true},
		{"tls12-future", keys[0], engine.DefaultMaxClockSkew + time.Second, "", format.State{CipherSuite: 0xc02f, ServerName: sni, ALPN: alpn}, true},
		{"tls12-binding", keys[0], 0, "other context", format.State{CipherSuite: 0xc02f, ServerName: sni, ALPN: alpn}, true},
		{"tls12-embedded", keys[2], 0, "", format.State{CipherSuite: 0xc02f, Embedded: []byte("host stack state")}, true},
		{"tls12-stranger", stranger, 0, "", format.State{CipherSuite: 0xc02f, ServerName: sni, ALPN: alpn}, false},
	}
	for _, tt := range tls12 {
		s := tt.s
		s.Version = format.VersionTLS12
		if len(s.Embedded) == 0 {
			s.Secret = secret12
		}
		iss, err := f.issuer(tb, tt.key, tt.skew, tt.binding).Issue(&s, nil)
		if err != nil {
			tb.Fatalf("%s: %v", tt.name, err)
		}
		f.record(tb, tt.name, iss, tt.openable, tt.key == keys[0])
	}
	f.issueTLS13Seeds(tb, keys, stranger)
}

func (f *fixture) issueTLS13Seeds(tb testing.TB, keys []*seal.Key, stranger *seal.Key) {
	tb.Helper()
	rms256, err := resumption.NewResumptionMasterSecret(crypto.SHA256, bytes.Repeat([]byte{0x13}, 32))
	if err != nil {
		tb.Fatal(err)
	}
	rms384, err := resumption.NewResumptionMasterSecret(crypto.SHA384, bytes.Repeat([]byte{0x38}, 48))
	if err != nil {
		tb.Fatal(err)
	}
	tls13 := []struct {
		name      string
		key       *seal.Key
		skew      time.Duration
		binding   string
		rms       *resumption.ResumptionMasterSecret
		suite     uint16
		sni, alpn string
		n         int
		openable  bool
	}{
		{"tls13", keys[0], 0, "", rms256, 0x1301, sni, alpn, 2, true},
		{"tls13-aes128", keys[3], 0, "", rms256, 0x1301, sni, alpn, 1, true},
		{"tls13-sha384", keys[0], 0, "", rms384, 0x1302, sni, alpn, 1, true},
		{"tls13-chacha-suite", keys[1], 0, "", rms256, 0x1303, sni, alpn, 1, true},
		{"tls13-other-context", keys[0], 0, "", rms256, 0x1301, "other.example", "http/1.1", 1, true},
		{"tls13-expired", keys[0], -3 * time.Hour, "", rms256, 0x1301, sni, alpn, 1, true},
		{"tls13-future", keys[0], engine.DefaultMaxClockSkew + time.Second, "", rms256, 0x1301, sni, alpn, 1, true},
		{"tls13-binding", keys[2], 0, "other context", rms256, 0x1301, sni, alpn, 1, true},
		{"tls13-stranger", stranger, 0, "", rms256, 0x1301, sni, alpn, 1, false},
	}
	for _, tt := range tls13 {
		ti, err := f.issuer(tb, tt.key, tt.skew, tt.binding).NewTicketIssuer(tt.rms, &format.State{
			Version: format.VersionTLS13, CipherSuite: tt.suite, ServerName: tt.sni, ALPN: tt.alpn,
		})
		if err != nil {
			tb.Fatal(err)
		}
		for i := range tt.n {
			iss, err := ti.Issue()
			if err != nil {
				tb.Fatalf("%s: %v", tt.name, err)
			}
			f.record(tb, tt.name+"-"+string(rune('0'+i)), iss, tt.openable, tt.key == keys[0])
		}
	}
	// A state whose secret lives in the host stack's embedded state, as
	// crypto/tls keeps it: it opens, but SelectTLS13 has no PSK to check.
	s := &format.State{Version: format.VersionTLS13, CipherSuite: 0x1301, ServerName: sni, ALPN: alpn, Embedded: []byte("crypto/tls state")}
	iss, err := f.issuer(tb, keys[0], 0, "").Issue(s, []byte{9})
	if err != nil {
		tb.Fatal(err)
	}
	f.record(tb, "tls13-embedded", iss, true, true)
}

// byName returns the seed ticket called name.
func (f *fixture) byName(tb testing.TB, name string) *issued {
	tb.Helper()
	for _, in := range f.order {
		if in.name == name {
			return in
		}
	}
	tb.Fatalf("no seed ticket %q", name)
	return nil
}

// offer builds a ClientHello for example.com (ALPN h2, psk_dhe_ke) that
// offers the tickets at the fixture's time, with binders made with each
// ticket's PSK (or, for a ticket without one, a PSK of the client's
// choosing, as an attacker would). adjust may change the ClientHello before
// it is marshalled; binders are set only when pre_shared_key is last.
func (f *fixture) offer(tb testing.TB, tickets []*issued, adjust func(*testkit.ClientHello)) []byte {
	tb.Helper()
	now := f.clock.Now()
	o := &format.OfferedPSKs{}
	psks := make([]*resumption.PSK, len(tickets))
	for i, in := range tickets {
		psks[i] = in.psk
		if psks[i] == nil {
			psk, err := resumption.NewPSK(crypto.SHA256, bytes.Repeat([]byte{0xee}, 32))
			if err != nil {
				tb.Fatal(err)
			}
			psks[i] = psk
		}
		o.Identities = append(o.Identities, format.PSKIdentity{
			Identity:            in.ticket,
			ObfuscatedTicketAge: resumption.ObfuscateTicketAge(now.Sub(in.want.CreatedAt), in.want.AgeAdd),
		})
		o.Binders = append(o.Binders, make([]byte, psks[i].Hash().Size()))
	}
	ch := &testkit.ClientHello{ServerName: sni, ALPN: []string{alpn}, Modes: []format.PSKMode{format.PSKModeDHEKE}, PSKs: o}
	if adjust != nil {
		adjust(ch)
	}
	msg, err := ch.Marshal()
	if err != nil {
		tb.Fatal(err)
	}
	if ch.PSKs != nil && !ch.PSKNotLast {
		setBinders(tb, msg, psks)
	}
	return msg
}

// setBinders writes the binders of msg, whose last extension is a
// pre_shared_key with one identity per PSK, made with psks.
func setBinders(tb testing.TB, msg []byte, psks []*resumption.PSK) {
	tb.Helper()
	exts, err := format.ParseClientHelloExtensions(msg)
	if err != nil {
		tb.Fatal(err)
	}
	data, _ := exts.Lookup(format.ExtensionPreSharedKey)
	o, err := format.ParseOfferedPSKs(data)
	if err != nil || len(o.Binders) != len(psks) {
		tb.Fatalf("setBinders: %v", err)
	}
	for i, psk := range psks {
		copy(o.Binders[i], binder(psk, msg[:exts.BindersOffset])) // aliases msg
	}
}

// binder computes the binder of psk over a truncated ClientHello (RFC 8446,
// Section 4.2.11.2), with no HelloRetryRequest.
func binder(psk *resumption.PSK, truncated []byte) []byte {
	th := resumption.TranscriptHash(psk.Hash(), truncated)
	return psk.EarlySecret().ResumptionBinderKey().Binder(nil, th)
}

// buildHellos builds the ClientHello seeds: good ones, 0-RTT ones, ones
// that fall back, and malformed ones.
func (f *fixture) buildHellos(tb testing.TB) {
	tb.Helper()
	good, second := f.byName(tb, "tls13-0"), f.byName(tb, "tls13-1")
	early := func(c *testkit.ClientHello) { c.EarlyData = true }
	add := func(msg []byte, suite uint16, sn, ap string) {
		f.hellos = append(f.hellos, helloSeed{msg, suite, sn, ap})
	}
	add(f.offer(tb, []*issued{good}, nil), 0x1301, sni, alpn)
	add(f.offer(tb, []*issued{good}, early), 0x1301, sni, alpn)
	add(f.offer(tb, []*issued{good, second}, early), 0x1301, sni, alpn)
	add(f.offer(tb, []*issued{f.byName(tb, "tls13-stranger-0"), good}, early), 0x1301, sni, alpn)
	add(f.offer(tb, []*issued{f.byName(tb, "tls13-expired-0"), f.byName(tb, "tls13-aes128-0")}, nil), 0x1301, sni, alpn)
	add(f.offer(tb, []*issued{f.byName(tb, "tls13-sha384-0")}, early), 0x1302, sni, alpn)
	add(f.offer(tb, []*issued{f.byName(tb, "tls13-chacha-suite-0")}, early), 0x1303, sni, alpn)
	add(f.offer(tb, []*issued{f.byName(tb, "tls13-other-context-0")}, nil), 0x1301, "other.example", "http/1.1")
	add(f.offer(tb, []*issued{f.byName(tb, "tls13-other-context-0")}, nil), 0x1301, sni, alpn)
	add(f.offer(tb, []*issued{f.byName(tb, "tls13-embedded"), f.byName(tb, "tls12")}, nil), 0x1301, sni, alpn)
	add(f.offer(tb, []*issued{f.byName(tb, "tls13-binding-0"), f.byName(tb, "tls13-future-0")}, nil), 0x1301, sni, alpn)
	add(f.offer(tb, []*issued{good}, func(c *testkit.ClientHello) {
		c.TicketRequest = &format.TicketRequest{NewSessionCount: 3, ResumptionCount: 1}
	}), 0x1301, sni, alpn)
	add(f.offer(tb, []*issued{good}, func(c *testkit.ClientHello) { c.Modes = nil }), 0x1301, sni, alpn)
	add(f.offer(tb, []*issued{good}, func(c *testkit.ClientHello) { c.Modes = []format.PSKMode{format.PSKModeKE} }), 0x1301, sni, alpn)
	add(f.offer(tb, []*issued{good}, func(c *testkit.ClientHello) { c.PSKNotLast = true }), 0x1301, sni, alpn)
	add(f.offer(tb, []*issued{good}, func(c *testkit.ClientHello) { c.PSKs = nil }), 0x1301, sni, alpn)
	// The client side of package resumption, through testkit.
	rms, err := resumption.NewResumptionMasterSecret(crypto.SHA256, bytes.Repeat([]byte{0x77}, 32))
	if err != nil {
		tb.Fatal(err)
	}
	ti, err := f.issuer(tb, testKey(tb, seal.AES256GCM, "primary"), 0, "").NewTicketIssuer(rms, &format.State{
		Version: format.VersionTLS13, CipherSuite: 0x1301, ServerName: sni, ALPN: alpn,
	})
	if err != nil {
		tb.Fatal(err)
	}
	iss, err := ti.Issue()
	if err != nil {
		tb.Fatal(err)
	}
	f.record(tb, "tls13-testkit", iss, true, true)
	ct, err := testkit.StoreTicket(iss.Message, rms, 0x1301, f.clock.Now())
	if err != nil {
		tb.Fatal(err)
	}
	msg, err := testkit.OfferHello([]*resumption.ClientTicket{ct}, f.clock.Now(), early)
	if err != nil {
		tb.Fatal(err)
	}
	add(msg, 0x1301, sni, alpn)
}

// opened returns s as Engine.Open returns it: CreatedAt in whole
// milliseconds, in UTC.
func opened(s format.State) format.State {
	s.CreatedAt = time.UnixMilli(s.CreatedAt.UnixMilli()).UTC()
	if !s.AuthenticatedAt.IsZero() {
		s.AuthenticatedAt = time.UnixMilli(s.AuthenticatedAt.UnixMilli()).UTC()
	}
	return s
}

// cloneState returns a deep copy of s.
func cloneState(s format.State) format.State {
	s.Secret = bytes.Clone(s.Secret)
	s.Binding = bytes.Clone(s.Binding)
	s.AppData = bytes.Clone(s.AppData)
	s.Embedded = bytes.Clone(s.Embedded)
	certs := make([][]byte, len(s.PeerCertificates))
	for i, c := range s.PeerCertificates {
		certs[i] = bytes.Clone(c)
	}
	if s.PeerCertificates != nil {
		s.PeerCertificates = certs
	}
	return s
}

// vectors returns every hex string of the RFC 8448 vectors in
// format/testdata, by JSON path, and the payloads and hex header values of
// any CCTV-style vector files (<pkg>/testdata/vectors/*.txt). It fails if
// the RFC 8448 file is missing or yields nothing: a seed loader that
// silently finds zero vectors is how age's fuzz seeds broke.
func vectors(tb testing.TB) map[string][]byte {
	tb.Helper()
	raw, err := os.ReadFile("../format/testdata/rfc8448.json")
	if err != nil {
		tb.Fatalf("the RFC 8448 vectors must exist: %v", err)
	}
	var doc any
	if err := json.Unmarshal(raw, &doc); err != nil {
		tb.Fatal(err)
	}
	out := map[string][]byte{}
	collectHex(doc, "rfc8448", out)
	if len(out) == 0 {
		tb.Fatal("no hex vectors found in format/testdata/rfc8448.json")
	}
	files, err := filepath.Glob("../*/testdata/vectors/*.txt")
	if err != nil {
		tb.Fatal(err)
	}
	for _, name := range files {
		readVectorFile(tb, name, out)
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

// readVectorFile adds the hex header values and the payload of a vector
// file (docs/vectors.md: a "key: value" header, a blank line, hex payload).
func readVectorFile(tb testing.TB, name string, out map[string][]byte) {
	tb.Helper()
	raw, err := os.ReadFile(name)
	if err != nil {
		tb.Fatal(err)
	}
	header, payload, _ := strings.Cut(string(raw), "\n\n")
	for _, line := range strings.Split(header, "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok {
			if b, err := hex.DecodeString(strings.TrimSpace(v)); err == nil && len(b) > 0 {
				out[name+":"+strings.TrimSpace(k)] = b
			}
		}
	}
	if b, err := hex.DecodeString(strings.Join(strings.Fields(payload), "")); err == nil && len(b) > 0 {
		out[name] = b
	}
}

// sortedVectors returns the vectors in a fixed order.
func sortedVectors(tb testing.TB) [][]byte {
	tb.Helper()
	m := vectors(tb)
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, k)
	}
	sort.Strings(names)
	out := make([][]byte, len(names))
	for i, k := range names {
		out[i] = m[k]
	}
	return out
}

// fuzzConn returns the connection the fixture's sessions are resumed on,
// for version v.
func fuzzConn(v uint16) engine.ConnInfo {
	return engine.ConnInfo{Version: v, ServerName: sni, ALPN: alpn}
}
