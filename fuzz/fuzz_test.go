package fuzz

import (
	"bytes"
	"context"
	"crypto/hmac"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tlsticket/tlsticket/engine"
	"github.com/tlsticket/tlsticket/format"
	"github.com/tlsticket/tlsticket/internal/testkit"
	"github.com/tlsticket/tlsticket/resumption"
	"github.com/tlsticket/tlsticket/seal"
	"github.com/tlsticket/tlsticket/status"
)

// sealOverhead is the length a sealed ticket adds to its plaintext under the
// fixture's primary key, AES-256-GCM: version, aead, key_name, a 12-byte
// nonce and a 16-byte tag (seal package documentation).
const sealOverhead = seal.HeaderSize + 12 + 16

// maxTicket is the largest ticket: the 16-bit ticket field of RFC 5077,
// Section 3.3 and RFC 8446, Section 4.6.1.
const maxTicket = 1<<16 - 1

var versions = []uint16{format.VersionTLS12, format.VersionTLS13}

// stateCmp compares sessions field by field, with nil and empty byte slices
// equal (a parsed state has empty, not nil, fields). The comparers take
// whole slices: go-cmp's element-wise walk (as with cmpopts.EquateEmpty)
// costs milliseconds per kilobyte and would stall the fuzzer on large
// states.
var stateCmp = cmp.Options{
	cmp.Comparer(bytes.Equal),
	cmp.Comparer(func(a, b [][]byte) bool {
		return slices.EqualFunc(a, b, bytes.Equal)
	}),
}

// FuzzOpenTicket opens arbitrary bytes as a TLS 1.2 ticket and as a TLS 1.3
// PSK identity, with Engine.Open on a fuzzed connection, and checks that:
//
//   - the engine aborts exactly for an offered, empty TLS 1.3 identity;
//   - the decrypt callback is called once per offered ticket, with the
//     status, key name and session of the Decision;
//   - a key name, when reported, is the key_name bytes of the input;
//   - only the tickets the fixture sealed under the ring's keys open
//     (Success or SuccessRenew), and they always do, with the status the
//     key and version call for;
//   - the session is resumed exactly when the ticket opened and fits the
//     connection (version, clock, binding, SNI, ALPN, suite hash), and it is
//     then the state that was sealed.
func FuzzOpenTicket(f *testing.F) {
	fx := newFixture(f)
	for _, in := range fx.order {
		s := in.want
		f.Add(in.ticket, true, s.ServerName, s.ALPN, s.CipherSuite)
		f.Add(in.ticket, true, strings.ToUpper(s.ServerName), "http/1.1", uint16(0x1302))
		f.Add(in.ticket[:seal.HeaderSize], true, s.ServerName, s.ALPN, s.CipherSuite)
	}
	f.Add([]byte{}, true, sni, alpn, uint16(0x1301))
	f.Add([]byte{}, false, sni, alpn, uint16(0x1301))
	f.Add(fx.order[0].ticket, false, sni, alpn, uint16(0))
	for _, v := range sortedVectors(f) {
		f.Add(v, true, "server", "", uint16(0x1301))
	}
	f.Fuzz(func(t *testing.T, ticket []byte, offered bool, serverName, proto string, suite uint16) {
		orig := bytes.Clone(ticket)
		for _, v := range versions {
			c := engine.ConnInfo{Version: v, ServerName: serverName, ALPN: proto, CipherSuite: suite}
			fx.calls = fx.calls[:0]
			d, err := fx.e.Open(c, offered, ticket)
			fx.checkOpen(t, v, &c, offered, ticket, d, err)
		}
		if !bytes.Equal(ticket, orig) {
			t.Fatalf("Open modified the ticket: %x, was %x", ticket, orig)
		}
	})
}

// checkOpen checks the decision d, err of Open on connection c for
// ticket; see FuzzOpenTicket.
func (f *fixture) checkOpen(t *testing.T, v uint16, c *engine.ConnInfo, offered bool, ticket []byte, d engine.Decision, err error) {
	t.Helper()
	wantAbort := offered && v == format.VersionTLS13 && len(ticket) == 0
	if (err != nil) != wantAbort {
		t.Fatalf("%#x offered=%v ticket %x: error %v; want an abort: %v", v, offered, ticket, err, wantAbort)
	}
	if err != nil {
		var ae *engine.AbortError
		if !errors.As(err, &ae) || !errors.Is(err, engine.ErrEmptyIdentity) || ae.Alert != d.Alert || d.Alert != engine.AlertDecodeError {
			t.Fatalf("%#x empty identity: error %v, alert %v; want ErrEmptyIdentity with decode_error", v, err, d.Alert)
		}
		if d.Resumed || hasSession(d.Session) || len(f.calls) != 0 {
			t.Fatalf("%#x empty identity: resumed %v, session %v, %d callbacks", v, d.Resumed, d.Session, len(f.calls))
		}
		return
	}
	if d.Alert != 0 {
		t.Fatalf("%#x ticket %x: alert %v without an error", v, ticket, d.Alert)
	}
	if !offered {
		if d.Callback || len(f.calls) != 0 || d.Resumed || hasSession(d.Session) {
			t.Fatalf("%#x no ticket offered: %+v with %d callbacks", v, d, len(f.calls))
		}
		return
	}
	if !d.Callback || len(f.calls) != 1 {
		t.Fatalf("%#x ticket %x: Callback %v with %d callbacks, want 1", v, ticket, d.Callback, len(f.calls))
	}
	if cl := f.calls[0]; cl.status != d.Status || !bytes.Equal(cl.keyName, d.KeyName) || hasSession(cl.session) != d.Status.Opened() {
		t.Fatalf("%#x ticket %x: callback saw (%v, %x, session %v), decision (%v, %x)", v, ticket, cl.status, cl.keyName, hasSession(cl.session), d.Status, d.KeyName)
	}
	if d.KeyName != nil && (len(ticket) < seal.HeaderSize || !bytes.Equal(d.KeyName, ticket[2:seal.HeaderSize])) {
		t.Fatalf("%#x ticket %x: KeyName %x is not the ticket's key_name", v, ticket, d.KeyName)
	}
	in := f.issued[string(ticket)]
	if d.Status.Opened() && (in == nil || !in.openable) {
		t.Fatalf("%#x ticket %x opened (%v), but the ring never sealed it", v, ticket, d.Status)
	}
	if in != nil && in.openable {
		want := status.SuccessRenew
		if in.primary && v == format.VersionTLS12 {
			want = status.Success
		}
		if d.Status != want {
			t.Fatalf("%#x ticket %s: status %v, want %v", v, in.name, d.Status, want)
		}
	}
	wantResumed := in != nil && f.fits(in, v, c)
	if d.Resumed != wantResumed {
		t.Fatalf("%#x ticket %x, conn %+v: resumed %v (fallback %v), want %v", v, ticket, c, d.Resumed, d.Fallback, wantResumed)
	}
	if !d.Resumed {
		if hasSession(d.Session) || (d.Status.Opened() && d.Fallback == nil) {
			t.Fatalf("%#x ticket %x: not resumed, session %v, fallback %v", v, ticket, d.Session, d.Fallback)
		}
		return
	}
	if diff := cmp.Diff(in.want, d.Session, stateCmp); diff != "" {
		t.Fatalf("%#x ticket %s: session differs from the sealed state (-want +got):\n%s", v, in.name, diff)
	}
}

// fits reports whether the sealed state of in may be resumed on a
// connection of version v (and c, if not nil) at the fixture's time: the
// checks engine.Open documents after the decrypt callback, restated.
func (f *fixture) fits(in *issued, v uint16, c *engine.ConnInfo) bool {
	s := &in.want
	now := f.clock.Now()
	switch {
	case !in.openable, s.Version != v, s.CreatedAt.After(now.Add(engine.DefaultMaxClockSkew)),
		!now.Before(s.Expires()), len(s.Binding) != 0:
		return false
	case c == nil:
		return true
	case !strings.EqualFold(s.ServerName, c.ServerName), s.ALPN != c.ALPN:
		return false
	case v == format.VersionTLS13 && c.CipherSuite != 0:
		h, ok := resumption.HashForSuite(c.CipherSuite)
		sh, sok := resumption.HashForSuite(s.CipherSuite)
		return ok && sok && h == sh && (len(s.Secret) == 0 || len(s.Secret) == h.Size())
	}
	return true
}

// FuzzSealOpenState builds a session state from fuzzed fields, issues it
// with an engine of fuzzed settings (clock, lifetime, binding,
// max_early_data) and opens it again. Issue either succeeds, and then the
// ticket has the documented size, the NewSessionTicket message carries it,
// and Open returns exactly the sealed state (resumed while its lifetime
// lasts); or it fails, and then the state really has no ticket: its Append
// fails, its TLS 1.3 nonce is longer than 255 bytes, or the sealed ticket
// would exceed 65535 bytes.
//
// pad zero bytes are appended to the application data, so that states near
// and over the ticket size limit come from small inputs: the fuzzer
// minimizes a 64 KiB input slowly enough to stall for a minute.
func FuzzSealOpenState(f *testing.F) {
	fx := newFixture(f)
	now := testkit.Epoch.UnixMilli()
	for _, in := range fx.order {
		s := in.want
		var cert []byte
		if len(s.PeerCertificates) > 0 {
			cert = s.PeerCertificates[0]
		}
		f.Add(s.Version, s.CipherSuite, s.Secret, s.CreatedAt.UnixMilli(), int64(s.Lifetime)*1000, s.ExtendedMasterSecret,
			s.ServerName, s.ALPN, s.Binding, uint8(len(s.PeerCertificates)), cert, s.AppData, uint16(0), s.Embedded, s.MaxEarlyData, []byte{0, 1})
	}
	f.Add(uint16(0x0304), uint16(0x1301), make([]byte, 32), now, int64(0), false, "", "", []byte{}, uint8(0), []byte{}, []byte{}, uint16(0), []byte{}, uint32(0), []byte{})
	f.Add(uint16(0x0303), uint16(0xc02f), []byte{}, now, int64(500), true, sni, alpn, make([]byte, 256), uint8(1), []byte{}, []byte{}, uint16(0), []byte{}, uint32(0), []byte{})
	f.Add(uint16(0x0302), uint16(0x002f), make([]byte, 48), int64(-1), int64(-1), false, sni, alpn, []byte{}, uint8(3), []byte{1}, []byte{1}, uint16(65535), []byte{}, uint32(1), make([]byte, 256))
	f.Add(uint16(0x0304), uint16(0x1302), make([]byte, 48), now, int64(30*24*3600*1000), false, sni, alpn, []byte("b"), uint8(2), []byte{2}, []byte{3}, uint16(65400), []byte{}, uint32(1<<20), []byte{})
	f.Add(uint16(0x0303), uint16(0xc02f), make([]byte, 48), now, int64(1000), true, sni, alpn, []byte{}, uint8(0), []byte{}, []byte{}, uint16(65535-46-54), []byte{}, uint32(0), []byte{})
	f.Fuzz(func(t *testing.T, version, suite uint16, secret []byte, nowMS, lifetimeMS int64, ems bool,
		serverName, proto string, binding []byte, ncerts uint8, cert, appData []byte, pad uint16, embedded []byte, maxEarly uint32, nonce []byte) {
		s := &format.State{
			Version: version, CipherSuite: suite, Secret: secret, ExtendedMasterSecret: ems,
			ServerName: serverName, ALPN: proto, AppData: slices.Concat(appData, make([]byte, pad)), Embedded: embedded,
		}
		for range ncerts % 4 {
			s.PeerCertificates = append(s.PeerCertificates, cert)
		}
		var n []byte
		if version == format.VersionTLS13 {
			n = nonce
		}
		cfg := &engine.Config{
			Keys: fx.keys, Time: func() time.Time { return time.UnixMilli(nowMS) }, Rand: testkit.Rand("fuzz seal-open"),
			Lifetime: time.Duration(lifetimeMS) * time.Millisecond, Binding: binding, MaxEarlyData: maxEarly,
		}
		fx.checkSealOpen(t, cfg, s, n)
	})
}

// checkSealOpen issues s with an engine for cfg and opens the ticket; see
// FuzzSealOpenState.
func (f *fixture) checkSealOpen(t *testing.T, cfg *engine.Config, s *format.State, nonce []byte) {
	t.Helper()
	e, err := engine.New(cfg)
	if err != nil {
		if cfg.Lifetime >= 0 && len(cfg.Binding) <= 255 {
			t.Fatalf("New refused lifetime %v, binding of %d bytes: %v", cfg.Lifetime, len(cfg.Binding), err)
		}
		return
	}
	iss, err := e.Issue(s, nonce)
	s.Binding = cfg.Binding // what the engine sealed in place of the caller's
	pt, aerr := s.Append(nil)
	if err != nil {
		if aerr == nil && len(nonce) <= 255 && len(pt)+sealOverhead <= maxTicket {
			t.Fatalf("Issue(%v) = %v, but the state encodes in %d bytes", s, err, len(pt))
		}
		return
	}
	if aerr != nil {
		t.Fatalf("Issue sealed a state whose Append fails: %v", aerr)
	}
	if len(iss.Ticket) != len(pt)+sealOverhead {
		t.Fatalf("ticket of %d bytes for a %d-byte state, want %d", len(iss.Ticket), len(pt), len(pt)+sealOverhead)
	}
	if want := wantLifetime(cfg.Lifetime, s.Version); s.Lifetime != want || iss.Lifetime != want {
		t.Fatalf("lifetime %d (issued %d), want %d for %v", s.Lifetime, iss.Lifetime, want, cfg.Lifetime)
	}
	checkMessage(t, s, nonce, iss)
	d, err := e.Open(engine.ConnInfo{Version: s.Version, ServerName: s.ServerName, ALPN: s.ALPN}, true, iss.Ticket)
	if err != nil || !d.Status.Opened() {
		t.Fatalf("Open(issued ticket) = status %v, error %v", d.Status, err)
	}
	if wantResumed := s.Lifetime > 0; d.Resumed != wantResumed {
		t.Fatalf("resumed %v (fallback %v), want %v for lifetime %d s", d.Resumed, d.Fallback, wantResumed, s.Lifetime)
	}
	if !d.Resumed {
		return
	}
	if diff := cmp.Diff(opened(*s), d.Session, stateCmp); diff != "" {
		t.Fatalf("Open returned another state (-sealed +opened):\n%s", diff)
	}
}

// wantLifetime is the lifetime in seconds of a ticket issued for version v
// by an engine configured with lifetime (engine.Config.Lifetime).
func wantLifetime(lifetime time.Duration, v uint16) uint32 {
	if lifetime == 0 {
		lifetime = engine.DefaultLifetime
	}
	if v == format.VersionTLS13 {
		lifetime = min(lifetime, format.MaxTicketLifetime)
	}
	lifetime = min(lifetime, engine.DefaultMaxSessionAge)
	return uint32(min(int64(lifetime/time.Second), 1<<32-1))
}

// checkMessage checks that the NewSessionTicket message of iss carries the
// ticket and the state's lifetime, ticket_age_add, nonce and max_early_data.
func checkMessage(t *testing.T, s *format.State, nonce []byte, iss engine.Issued) {
	t.Helper()
	if s.Version == format.VersionTLS12 {
		m, err := format.ParseNewSessionTicketTLS12(iss.Message)
		if err != nil || m.LifetimeHint != s.Lifetime || !bytes.Equal(m.Ticket, iss.Ticket) {
			t.Fatalf("TLS 1.2 NewSessionTicket %x: %+v, %v", iss.Message, m, err)
		}
		return
	}
	m, err := format.ParseNewSessionTicketTLS13(iss.Message)
	if err != nil {
		t.Fatalf("TLS 1.3 NewSessionTicket %x: %v", iss.Message, err)
	}
	maxEarly, ok := m.MaxEarlyData()
	if m.Lifetime != s.Lifetime || m.AgeAdd != s.AgeAdd || iss.AgeAdd != s.AgeAdd || !bytes.Equal(m.Nonce, nonce) ||
		!bytes.Equal(m.Ticket, iss.Ticket) || ok != (s.MaxEarlyData > 0) || maxEarly != s.MaxEarlyData {
		t.Fatalf("TLS 1.3 NewSessionTicket %+v does not match the state %v", m, s)
	}
}

// FuzzMutateTicket applies fuzzed mutations (an XOR mask at an offset, a
// truncation, an insertion) to a ticket the fixture sealed, and checks that
// a ticket that differs from every sealed one never opens: Open reports
// NoDecrypt (Empty or the empty-identity abort for zero bytes), and a TLS 1.3
// ClientHello that offers it, with the binder of the original ticket's PSK,
// is never resumed.
func FuzzMutateTicket(f *testing.F) {
	fx := newFixture(f)
	var targets []*issued
	for _, in := range fx.order {
		if in.openable {
			targets = append(targets, in)
		}
	}
	for i, in := range targets {
		w, n := uint8(i), uint16(len(in.ticket))
		f.Add(w, uint16(0), []byte{}, uint16(0), uint16(0), []byte{})
		f.Add(w, uint16(0), []byte{0x01}, uint16(0), uint16(0), []byte{})
		f.Add(w, uint16(1), []byte{0x07}, uint16(0), uint16(0), []byte{})
		f.Add(w, uint16(2), []byte{0x80}, uint16(0), uint16(0), []byte{})
		f.Add(w, uint16(seal.HeaderSize), []byte{0x01}, uint16(0), uint16(0), []byte{})
		f.Add(w, n/2, []byte{0xff, 0xff}, uint16(0), uint16(0), []byte{})
		f.Add(w, n-1, []byte{0x01}, uint16(0), uint16(0), []byte{})
		f.Add(w, uint16(0), []byte{}, uint16(1), uint16(0), []byte{})
		f.Add(w, uint16(0), []byte{}, uint16(16), uint16(0), []byte{})
		f.Add(w, uint16(0), []byte{}, n, uint16(0), []byte{})
		f.Add(w, uint16(0), []byte{}, uint16(0), n, []byte{0})
		f.Add(w, uint16(0), []byte{}, uint16(0), uint16(0), []byte{0x01})
		f.Add(w, uint16(0), []byte{}, uint16(1), n, []byte{in.ticket[n-1] ^ 1})
	}
	f.Fuzz(func(t *testing.T, which uint8, off uint16, mask []byte, cut, at uint16, insert []byte) {
		in := targets[int(which)%len(targets)]
		fx.checkMutated(t, in, mutate(in.ticket, int(off), mask, int(cut), int(at), insert))
	})
}

// mutate returns a copy of orig with mask XORed in at off, then the last
// cut%(len+1) bytes removed, then insert inserted at at%(len+1).
func mutate(orig []byte, off int, mask []byte, cut, at int, insert []byte) []byte {
	b := bytes.Clone(orig)
	for i, m := range mask {
		if off+i >= len(b) {
			break
		}
		b[off+i] ^= m
	}
	b = b[:len(b)-cut%(len(b)+1)]
	return slices.Insert(b, at%(len(b)+1), insert...)
}

func (f *fixture) checkMutated(t *testing.T, in *issued, tk []byte) {
	t.Helper()
	v := in.want.Version
	f.calls = f.calls[:0]
	d, err := f.e.Open(fuzzConn(v), true, tk)
	if other := f.issued[string(tk)]; other != nil {
		// The mutations cancelled out: the ticket is one the ring sealed.
		if other.openable && (err != nil || !d.Status.Opened()) {
			t.Fatalf("sealed ticket %s did not open: %v, %v", other.name, d.Status, err)
		}
		return
	}
	switch {
	case len(tk) == 0 && v == format.VersionTLS13:
		if !errors.Is(err, engine.ErrEmptyIdentity) {
			t.Fatalf("empty TLS 1.3 identity: %v, want ErrEmptyIdentity", err)
		}
	case len(tk) == 0:
		if err != nil || d.Status != status.Empty {
			t.Fatalf("empty TLS 1.2 ticket: %v, %v; want Empty", d.Status, err)
		}
	default:
		if err != nil || d.Status != status.NoDecrypt {
			t.Fatalf("mutated %s %x: status %v, error %v; want NoDecrypt", in.name, tk, d.Status, err)
		}
	}
	if d.Resumed || hasSession(d.Session) {
		t.Fatalf("mutated %s %x resumed", in.name, tk)
	}
	if v != format.VersionTLS13 || in.psk == nil || len(tk) == 0 || len(tk) > 60000 {
		return
	}
	s := in.want
	msg := f.offer(t, []*issued{{ticket: tk, want: s, psk: in.psk}}, nil)
	sel, err := f.e.SelectTLS13(context.Background(), &engine.ClientHelloTLS13{
		Message: msg, CipherSuite: s.CipherSuite, ServerName: s.ServerName, ALPN: s.ALPN,
	})
	if err != nil || sel.Resumed || sel.Examined != 1 {
		t.Fatalf("ClientHello offering mutated %s %x: resumed %v, examined %d, error %v", in.name, tk, sel.Resumed, sel.Examined, err)
	}
}

// FuzzSelectTLS13 runs Engine.SelectTLS13 on arbitrary ClientHello bytes
// and negotiation parameters, and checks that:
//
//   - the engine neither panics nor modifies the message;
//   - the error is non-nil if and only if Selection.Alert is not zero, and
//     is then an *AbortError with that alert;
//   - at most MaxPSKIdentities identities are examined, one decrypt
//     callback each;
//   - a selection that does not resume carries no session, early secret,
//     0-RTT or identity;
//   - a resumption happens only for an identity that is a ticket the fixture
//     sealed, that fits the connection, whose binder is the one computed
//     independently with the ticket's PSK over the truncated ClientHello,
//     and it returns the sealed state. Since the binder covers the whole
//     ClientHello up to the binders, no modified ClientHello resumes (only
//     the binders of identities that were not selected may differ).
//   - 0-RTT is accepted only for the first identity, with the early_data
//     extension, the ticket's cipher suite and max_early_data_size.
func FuzzSelectTLS13(f *testing.F) {
	fx := newFixture(f)
	for _, h := range fx.hellos {
		f.Add(h.msg, h.suite, h.sni, h.alpn)
	}
	for _, v := range sortedVectors(f) {
		if len(v) > 0 && v[0] == byte(format.HandshakeClientHello) {
			f.Add(v, uint16(0x1301), "server", "")
		}
	}
	f.Add([]byte{}, uint16(0x1301), sni, alpn)
	f.Fuzz(func(t *testing.T, msg []byte, suite uint16, serverName, proto string) {
		orig := bytes.Clone(msg)
		ch := &engine.ClientHelloTLS13{Message: msg, CipherSuite: suite, ServerName: serverName, ALPN: proto}
		fx.calls = fx.calls[:0]
		sel, err := fx.e.SelectTLS13(context.Background(), ch)
		if !bytes.Equal(msg, orig) {
			t.Fatalf("SelectTLS13 modified the ClientHello")
		}
		fx.checkSelection(t, ch, sel, err)
	})
}

func (f *fixture) checkSelection(t *testing.T, ch *engine.ClientHelloTLS13, sel engine.Selection, err error) {
	t.Helper()
	if (err != nil) != (sel.Alert != 0) {
		t.Fatalf("error %v with alert %v", err, sel.Alert)
	}
	var ae *engine.AbortError
	if err != nil && (!errors.As(err, &ae) || ae.Alert != sel.Alert) {
		t.Fatalf("error %v is not an *AbortError with alert %v", err, sel.Alert)
	}
	if sel.Examined > engine.MaxPSKIdentities || sel.Examined != len(f.calls) {
		t.Fatalf("examined %d identities with %d callbacks (max %d)", sel.Examined, len(f.calls), engine.MaxPSKIdentities)
	}
	if !sel.Resumed {
		if hasSession(sel.Session) || sel.EarlySecret != nil || sel.EarlyData || sel.Identity != -1 {
			t.Fatalf("not resumed, but session %v, early secret %v, 0-RTT %v, identity %d", sel.Session, sel.EarlySecret, sel.EarlyData, sel.Identity)
		}
		return
	}
	exts, perr := format.ParseClientHelloExtensions(ch.Message)
	if perr != nil {
		t.Fatalf("resumed a ClientHello that does not parse: %v", perr)
	}
	data, _ := exts.Lookup(format.ExtensionPreSharedKey)
	psks, perr := format.ParseOfferedPSKs(data)
	i := sel.Identity
	if perr != nil || i < 0 || i >= len(psks.Identities) || i != sel.Examined-1 {
		t.Fatalf("resumed identity %d of %d after examining %d (%v)", i, len(psks.Identities), sel.Examined, perr)
	}
	in := f.issued[string(psks.Identities[i].Identity)]
	conn := &engine.ConnInfo{Version: format.VersionTLS13, ServerName: ch.ServerName, ALPN: ch.ALPN, CipherSuite: ch.CipherSuite}
	if in == nil || in.psk == nil || !f.fits(in, format.VersionTLS13, conn) {
		t.Fatalf("resumed identity %x, which is no sealed TLS 1.3 ticket fitting %+v", psks.Identities[i].Identity, conn)
	}
	// Rewriting binder i with the ticket's PSK must leave the message as
	// it is.
	only := make([]*resumption.PSK, len(psks.Binders))
	only[i] = in.psk
	want := bytes.Clone(ch.Message)
	if err := resumption.SetPSKBinders(want, only); err != nil || !hmac.Equal(want, ch.Message) {
		t.Fatalf("resumed %s with binder %x, not the ticket PSK's (%v)", in.name, psks.Binders[i], err)
	}
	if diff := cmp.Diff(in.want, sel.Session, stateCmp); diff != "" {
		t.Fatalf("resumed %s: session differs from the sealed state (-want +got):\n%s", in.name, diff)
	}
	if _, asked := exts.Lookup(format.ExtensionEarlyData); sel.EarlyData &&
		(i != 0 || !asked || in.want.CipherSuite != ch.CipherSuite || in.want.MaxEarlyData == 0) {
		t.Fatalf("0-RTT accepted for identity %d (early_data %v, suite %#04x, ticket %#04x, max %d)",
			i, asked, ch.CipherSuite, in.want.CipherSuite, in.want.MaxEarlyData)
	}
}
