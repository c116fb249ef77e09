package conformance

import (
	"bytes"
	"crypto"
	"crypto/hkdf"
	"crypto/sha256"
	"fmt"
	"log/slog"
	"testing"

	"github.com/tlsticket/tlsticket/engine"
	"github.com/tlsticket/tlsticket/format"
	"github.com/tlsticket/tlsticket/internal/testkit"
	"github.com/tlsticket/tlsticket/internal/testkit/rfc8448"
	"github.com/tlsticket/tlsticket/internal/testkit/secretscan"
	"github.com/tlsticket/tlsticket/resumption"
	"github.com/tlsticket/tlsticket/seal"
	"github.com/tlsticket/tlsticket/status"
)

// secrets is key material that must never be printed, as the forms in
// which a printout could carry it; the labels say what each secret is.
type secrets []string

func (s *secrets) add(_ string, b []byte) { *s = append(*s, secretscan.Forms(b)...) }

// aeadKey derives the AEAD key of a seal.Key from its secret, as documented
// in package seal (HKDF-SHA256, info "tlsticket v1 aead key" ‖ aead).
func aeadKey(t *testing.T, a seal.AEAD, secret []byte) []byte {
	t.Helper()
	k, err := hkdf.Key(sha256.New, secret, nil, "tlsticket v1 aead key"+string([]byte{byte(a)}), a.KeySize())
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// TestAdversarialNoSecretsInOutput: no key material or session secret
// appears in the fmt output of any type that holds one, under any verb, nor
// in any error or engine log line.
func TestAdversarialNoSecretsInOutput(t *testing.T) {
	var sec secrets
	var logs bytes.Buffer
	a := newAdv(t, nil)
	keySecret := advSecret("printed key")
	key, err := seal.NewKey(seal.ChaCha20Poly1305, keySecret)
	if err != nil {
		t.Fatal(err)
	}
	sec.add("key secret", keySecret)
	sec.add("derived AEAD key", aeadKey(t, seal.ChaCha20Poly1305, keySecret))
	for _, label := range []string{"primary", "decrypt-only"} {
		s := testkit.KeySecret("adversarial " + label)
		sec.add(label+" key secret", s[:])
		sec.add(label+" AEAD key", aeadKey(t, seal.AES256GCM, s[:]))
	}
	ring, err := seal.NewRing(nil, key, a.k...)
	if err != nil {
		t.Fatal(err)
	}
	keys := seal.NewKeyring(ring)
	e := a.engine(t, func(c *engine.Config) {
		c.Keys = keys
		c.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	})
	rfc := rfc8448.Load(t)
	s3, s4 := rfc[rfc8448.Section3], rfc[rfc8448.Section4]
	rms, err := resumption.NewResumptionMasterSecret(crypto.SHA256, s3.Hex(t, "resumption_master_secret"))
	if err != nil {
		t.Fatal(err)
	}
	psk := rms.PSK(s3.Hex(t, "ticket_nonce"))
	es := psk.EarlySecret()
	bk := es.ResumptionBinderKey()
	for _, k := range []string{"resumption_master_secret", "psk"} {
		sec.add("RFC 8448 "+k, s3.Hex(t, k))
	}
	for _, k := range []string{"early_secret", "binder_key", "binder_finished_key"} {
		sec.add("RFC 8448 "+k, s4.Hex(t, k))
	}
	values, errs := hygieneValues(t, a, e, &sec, rms)
	values = append(values, key, *key, ring, *ring, keys, rms, *rms, psk, *psk, es, *es, bk, *bk, ring.Keys(),
		struct {
			Key   *seal.Key
			Ring  *seal.Ring
			Early *resumption.EarlySecret
		}{key, ring, es})
	for i, v := range values {
		secretscan.Check(t, fmt.Sprintf("value %d (%T)", i, v), v, sec)
	}
	for i, err := range errs {
		if err == nil {
			t.Fatalf("error %d is nil: the failure it stands for did not happen", i)
		}
		secretscan.Check(t, fmt.Sprintf("error %d", i), err, sec)
	}
	if logs.Len() == 0 {
		t.Fatal("the engine logged nothing at Debug level")
	}
	secretscan.CheckText(t, "engine log", logs.String(), sec)
}

// hygieneValues runs e through issuing, resumption (both versions), a bad
// binder and a callback abort, adds the session secrets to sec, and returns
// the values the engine handed out and the errors it and the constructors
// returned.
func hygieneValues(t *testing.T, a *adv, e *engine.Engine, sec *secrets, rms *resumption.ResumptionMasterSecret) ([]any, []error) {
	t.Helper()
	var values []any
	var errs []error
	s12 := advSession(format.VersionTLS12)
	sec.add("TLS 1.2 master secret", s12.Secret)
	iss, err := e.Issue(s12, nil)
	if err != nil {
		t.Fatal(err)
	}
	d, err := e.Open(advConn(format.VersionTLS12), true, iss.Ticket)
	if err != nil || !d.Resumed {
		t.Fatalf("control: resumed %v, error %v", d.Resumed, err)
	}
	values = append(values, s12, *s12, iss, d, d.Session, &d.Session)
	ti, err := e.NewTicketIssuer(rms, &format.State{Version: format.VersionTLS13, CipherSuite: advSuite, ServerName: advSNI, ALPN: advALPN})
	if err != nil {
		t.Fatal(err)
	}
	iss13, err := ti.Issue()
	if err != nil {
		t.Fatal(err)
	}
	ct, err := testkit.StoreTicket(iss13.Message, rms, advSuite, a.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	sec.add("TLS 1.3 ticket PSK", ct.PSK().AppendBytes(nil))
	msg := a.hello(t, []*resumption.ClientTicket{ct}, func(c *testkit.ClientHello) { c.EarlyData = true })
	sel, err := a.selectHello(e, msg, advSuite, advSNI, advALPN)
	if err != nil || !sel.Resumed || sel.EarlySecret == nil {
		t.Fatalf("control: resumed %v, error %v", sel.Resumed, err)
	}
	values = append(values, ti, ct, *ct, sel, sel.Decision, iss13, e, a.keys)
	// Failures, each with secrets at hand.
	bad := bytes.Clone(msg)
	bad[len(bad)-1] ^= 1
	_, err = a.selectHello(e, bad, advSuite, advSNI, advALPN)
	errs = append(errs, err)
	aborting := a.engine(t, func(c *engine.Config) {
		c.DecryptTicket = func(engine.TicketInfo) status.Return { return status.Abort }
	})
	_, err = aborting.Open(advConn(format.VersionTLS12), true, iss.Ticket)
	errs = append(errs, err)
	_, err = e.Issue(&format.State{Version: 0x0301, Secret: s12.Secret}, nil)
	errs = append(errs, err)
	_, err = e.Issue(&format.State{Version: format.VersionTLS12, Secret: bytes.Repeat(s12.Secret, 6)}, nil)
	errs = append(errs, err)
	_, err = seal.NewKey(seal.AES256GCM, advSecret("printed key")[:31])
	errs = append(errs, err)
	_, err = seal.NewKey(seal.AES128GCM, advSecret("printed key"))
	errs = append(errs, err)
	_, err = resumption.NewPSK(crypto.SHA384, ct.PSK().AppendBytes(nil))
	errs = append(errs, err)
	_, err = resumption.NewResumptionMasterSecret(crypto.SHA256, s12.Secret)
	errs = append(errs, err)
	pt, err := s12.Append(nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = format.ParseState(pt[:len(pt)-1])
	errs = append(errs, err)
	values = append(values, errs[0], errs[1])
	return values, errs
}
