package fuzz

import (
	"bytes"
	"crypto"
	"encoding/hex"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/tlsticket/tlsticket/engine"
	"github.com/tlsticket/tlsticket/format"
	"github.com/tlsticket/tlsticket/internal/fakeclock"
	"github.com/tlsticket/tlsticket/internal/testkit"
	"github.com/tlsticket/tlsticket/internal/testkit/rfc8448"
	"github.com/tlsticket/tlsticket/resumption"
	"github.com/tlsticket/tlsticket/seal"
	"github.com/tlsticket/tlsticket/status"
)

// testKey returns a deterministic key of AEAD a named after label.
func testKey(tb testing.TB, a seal.AEAD, label string) *seal.Key {
	tb.Helper()
	return testkit.Key(tb, a, "fuzz "+label)
}

// newRing returns a ring of primary and decryptOnly keys with deterministic
// nonces named after label.
func newRing(tb testing.TB, label string, primary *seal.Key, decryptOnly ...*seal.Key) *seal.Ring {
	tb.Helper()
	r, err := seal.NewRing(testkit.Rand(label), primary, decryptOnly...)
	if err != nil {
		tb.Fatal(err)
	}
	return r
}

// call is one call of the decrypt callback.
type call struct {
	session format.State
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
	clock   *fakeclock.Clock
	keys    *seal.Keyring
	e       *engine.Engine
	calls   []call
	issued  map[string]*issued
	order   []*issued
	hellos  []helloSeed
	capture *format.State
}

const (
	sni  = testkit.ServerName
	alpn = testkit.ALPN
)

// newFixture builds the engine under test: a ring whose primary key is
// AES-256-GCM and whose decrypt-only keys are ChaCha20-Poly1305,
// XChaCha20-Poly1305 and AES-128-GCM, a memory replay store past its
// startup window, 0-RTT allowed, and a decrypt callback that records its
// calls and returns the default. It then issues the seed tickets.
func newFixture(tb testing.TB) *fixture {
	tb.Helper()
	srv := testkit.NewServer(tb, testkit.Rand("fuzz open"),
		testKey(tb, seal.AES256GCM, "primary"),
		testKey(tb, seal.ChaCha20Poly1305, "chacha"),
		testKey(tb, seal.XChaCha20Poly1305, "xchacha"),
		testKey(tb, seal.AES128GCM, "aes128"),
	)
	f := &fixture{clock: srv.Clock, keys: srv.Keyring, issued: map[string]*issued{}}
	keys := srv.Keys
	var err error
	f.e, err = engine.New(&engine.Config{
		Keys: f.keys, Time: f.clock.Now, Rand: testkit.Rand("fuzz engine"),
		MaxEarlyData: testkit.MaxEarlyData, ReplayStore: srv.Store,
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
		Keys:         seal.NewKeyring(newRing(tb, "fuzz issue "+key.String()+skew.String()+binding, key)),
		Time:         func() time.Time { return f.clock.Now().Add(skew) },
		Rand:         testkit.Rand("fuzz issuer " + key.String() + skew.String() + binding),
		MaxEarlyData: testkit.MaxEarlyData,
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
	ids := make([]format.PSKIdentity, len(tickets))
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
		ids[i] = format.PSKIdentity{
			Identity:            in.ticket,
			ObfuscatedTicketAge: resumption.ObfuscateTicketAge(now.Sub(in.want.CreatedAt), in.want.AgeAdd),
		}
	}
	msg, err := testkit.PSKHello(ids, psks, adjust)
	if err != nil {
		tb.Fatal(err)
	}
	return msg
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

// sortedVectors returns every hex value of the RFC 8448 vectors, then the
// payloads and hex header values of any CCTV-style vector files
// (<pkg>/testdata/vectors/*.txt), in a fixed order. It fails if the RFC 8448
// vectors yield nothing: a seed loader that silently finds zero vectors is
// how age's fuzz seeds broke.
func sortedVectors(tb testing.TB) [][]byte {
	tb.Helper()
	files, err := filepath.Glob("../*/testdata/vectors/*.txt")
	if err != nil {
		tb.Fatal(err)
	}
	m := map[string][]byte{}
	for _, name := range files {
		readVectorFile(tb, name, m)
	}
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, k)
	}
	sort.Strings(names)
	out := rfc8448.AllHex(tb)
	for _, k := range names {
		out = append(out, m[k])
	}
	return out
}

// fuzzConn returns the connection the fixture's sessions are resumed on,
// for version v.
func fuzzConn(v uint16) engine.ConnInfo {
	return engine.ConnInfo{Version: v, ServerName: sni, ALPN: alpn}
}

// hasSession reports whether s is not the zero State: a Decision carries a
// session only when it resumes one, and then nothing of it is zero.
func hasSession(s format.State) bool { return !reflect.ValueOf(s).IsZero() }
