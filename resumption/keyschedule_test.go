package resumption_test

import (
	"bytes"
	"crypto"
	"crypto/hkdf"
	"crypto/hmac"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/tlsticket/tlsticket/internal/testkit/rfc8448"
	"github.com/tlsticket/tlsticket/internal/testkit/secretscan"
	"github.com/tlsticket/tlsticket/resumption"
)

type check struct {
	name      string
	got, want []byte
}

// TestRFC8448 reproduces every key schedule value of RFC 8448, Sections 3
// and 4, that this package computes.
func TestRFC8448(t *testing.T) {
	v := rfc8448.Load(t)
	checks := append(section3Checks(t, v[rfc8448.Section3]),
		section4Checks(t, v[rfc8448.Section3], v[rfc8448.Section4])...)
	if len(checks) == 0 {
		t.Fatal("RFC 8448 vectors yielded zero checks")
	}
	for _, c := range checks {
		t.Run(c.name, func(t *testing.T) {
			if len(c.want) == 0 {
				t.Fatalf("empty expected value")
			}
			if !bytes.Equal(c.got, c.want) {
				t.Errorf("got  %x\nwant %x", c.got, c.want)
			}
		})
	}
	t.Logf("%d RFC 8448 checks", len(checks))
}

func section3Checks(t *testing.T, s rfc8448.Section) []check {
	t.Helper()
	h := crypto.SHA256
	th := resumption.TranscriptHash(h,
		s.Hex(t, "client_hello"), s.Hex(t, "server_hello"),
		s.Hex(t, "encrypted_extensions"), s.Hex(t, "certificate"),
		s.Hex(t, "certificate_verify"), s.Hex(t, "server_finished"),
		s.Hex(t, "client_finished"))
	rms, err := resumption.DeriveResumptionMasterSecret(h, s.Hex(t, "master_secret"),
		s.Hex(t, "transcript_hash_client_hello_to_client_finished"))
	if err != nil {
		t.Fatal(err)
	}
	nonce := s.Hex(t, "ticket_nonce")
	return []check{
		{"S3/TranscriptHash", th, s.Hex(t, "transcript_hash_client_hello_to_client_finished")},
		{"S3/ResMasterHkdfLabel", resumption.HKDFLabel(h.Size(), "res master", th), s.Hex(t, "res_master_hkdf_label_info")},
		{"S3/ResumptionMasterSecret", resumption.SecretBytes(rms), s.Hex(t, "resumption_master_secret")},
		{"S3/NSTNonce", nonce, s.Hex(t, "new_session_ticket_fields.ticket_nonce")},
		{"S3/ResumptionHkdfLabel", resumption.HKDFLabel(h.Size(), "resumption", nonce), s.Hex(t, "resumption_hkdf_label_info")},
		{"S3/PSK", rms.PSK(nonce).AppendBytes(nil), s.Hex(t, "psk")},
	}
}

func section4Checks(t *testing.T, s3, s rfc8448.Section) []check {
	t.Helper()
	h := crypto.SHA256
	psk, err := resumption.NewPSK(h, s.Hex(t, "psk"))
	if err != nil {
		t.Fatal(err)
	}
	es := psk.EarlySecret()
	bk := es.ResumptionBinderKey()

	ch := s.Hex(t, "client_hello")
	truncated := s.Hex(t, "truncated_client_hello")
	offset := int(s.Uint(t, "pre_shared_key_extension.truncation_offset"))
	if len(truncated) != offset || !bytes.HasPrefix(ch, truncated) {
		t.Fatalf("truncated ClientHello is %d bytes, want a %d-byte prefix of the ClientHello", len(truncated), offset)
	}
	binderHash := resumption.TranscriptHash(h, truncated)
	binder := bk.Binder(nil, binderHash)
	wantBinder := s.Hex(t, "binder")
	if !bk.VerifyBinder(binderHash, wantBinder) {
		t.Errorf("VerifyBinder rejected the RFC 8448 binder")
	}
	if !bytes.HasSuffix(ch, wantBinder) {
		t.Errorf("ClientHello does not end with the binder")
	}
	chHash := resumption.TranscriptHash(h, ch)
	rms, err := resumption.DeriveResumptionMasterSecret(h, s.Hex(t, "master_secret"),
		s.Hex(t, "transcript_hash_client_hello_to_client_finished"))
	if err != nil {
		t.Fatal(err)
	}
	age := resumption.TicketAge(s.Uint(t, "ticket_age_check.obfuscated_ticket_age"),
		s.Uint(t, "ticket_age_check.ticket_age_add"))
	wantAge := s.Uint(t, "ticket_age_check.derived_ticket_age_ms")
	return []check{
		{"S4/PSKFromSection3", s3.Hex(t, "psk"), s.Hex(t, "psk")},
		{"S4/EarlySecret", resumption.SecretBytes(es), s.Hex(t, "early_secret")},
		{"S4/BinderKey", resumption.SecretBytes(bk), s.Hex(t, "binder_key")},
		{"S4/FinishedHkdfLabel", resumption.HKDFLabel(h.Size(), "finished", nil), s.Hex(t, "binder_finished_key_hkdf_label_info")},
		{"S4/BinderFinishedKey", resumption.FinishedKey(bk), s.Hex(t, "binder_finished_key")},
		{"S4/BinderHash", binderHash, s.Hex(t, "binder_hash")},
		{"S4/Binder", binder, wantBinder},
		{"S4/BinderInExtension", binder, s.Hex(t, "pre_shared_key_extension.binder_0")},
		{"S4/ClientHelloHash", chHash, s.Hex(t, "client_hello_hash")},
		{"S4/ClientEarlyTrafficSecret", es.ClientEarlyTrafficSecret(chHash), s.Hex(t, "client_early_traffic_secret")},
		{"S4/TicketAge", binary.BigEndian.AppendUint32(nil, age), binary.BigEndian.AppendUint32(nil, wantAge)},
		{"S4/TranscriptHash", resumption.TranscriptHash(h, ch,
			s.Hex(t, "server_hello"), s.Hex(t, "encrypted_extensions"),
			s.Hex(t, "server_finished"), s.Hex(t, "end_of_early_data"),
			s.Hex(t, "client_finished")), s.Hex(t, "transcript_hash_client_hello_to_client_finished")},
		{"S4/ResumptionMasterSecret", resumption.SecretBytes(rms), s.Hex(t, "resumption_master_secret")},
	}
}

func TestVerifyBinderRejects(t *testing.T) {
	s := rfc8448.Load(t)[rfc8448.Section4]
	psk, err := resumption.NewPSK(crypto.SHA256, s.Hex(t, "psk"))
	if err != nil {
		t.Fatal(err)
	}
	bk := psk.EarlySecret().ResumptionBinderKey()
	binderHash := s.Hex(t, "binder_hash")
	binder := s.Hex(t, "binder")
	flipped := bytes.Clone(binder)
	flipped[len(flipped)-1] ^= 1
	otherHash := bytes.Clone(binderHash)
	otherHash[0] ^= 1
	tests := []struct {
		name               string
		transcript, binder []byte
	}{
		{"FlippedBit", binderHash, flipped},
		{"Truncated", binderHash, binder[:len(binder)-1]},
		{"Extended", binderHash, append(bytes.Clone(binder), 0)},
		{"Empty", binderHash, nil},
		{"OtherTranscript", otherHash, binder},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if bk.VerifyBinder(tt.transcript, tt.binder) {
				t.Errorf("VerifyBinder accepted %x", tt.binder)
			}
		})
	}
}

func TestHashForSuite(t *testing.T) {
	tests := []struct {
		name  string
		suite uint16
		hash  crypto.Hash
		ok    bool
	}{
		{"TLS_AES_128_GCM_SHA256", 0x1301, crypto.SHA256, true},
		{"TLS_AES_256_GCM_SHA384", 0x1302, crypto.SHA384, true},
		{"TLS_CHACHA20_POLY1305_SHA256", 0x1303, crypto.SHA256, true},
		{"TLS_AES_128_CCM_SHA256", 0x1304, 0, false},
		{"TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", 0xc02f, 0, false},
		{"Zero", 0, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, ok := resumption.HashForSuite(tt.suite)
			if h != tt.hash || ok != tt.ok {
				t.Errorf("HashForSuite(%#04x) = %v, %v; want %v, %v", tt.suite, h, ok, tt.hash, tt.ok)
			}
		})
	}
}

// refExpandLabel is an independent HKDF-Expand-Label (RFC 8446, Section 7.1)
// on the standard library's crypto/hkdf, to cross-check SHA-384.
func refExpandLabel(t *testing.T, h crypto.Hash, secret []byte, label string, context []byte) []byte {
	t.Helper()
	info := []byte{0, byte(h.Size()), byte(len("tls13 ") + len(label))}
	info = append(append(info, "tls13 "+label...), byte(len(context)))
	info = append(info, context...)
	out, err := hkdf.Expand(h.New, secret, string(info), h.Size())
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestSHA384 checks the SHA-384 chain (TLS_AES_256_GCM_SHA384) for
// self-consistency and against refExpandLabel; RFC 8448 has no SHA-384 trace.
func TestSHA384(t *testing.T) {
	h := crypto.SHA384
	rmsBytes := bytes.Repeat([]byte{0x5a}, 48)
	rms, err := resumption.NewResumptionMasterSecret(h, rmsBytes)
	if err != nil {
		t.Fatal(err)
	}
	nonce := []byte{0, 1}
	psk := rms.PSK(nonce)
	pskBytes := psk.AppendBytes(nil)
	if len(pskBytes) != 48 || psk.Hash() != h {
		t.Fatalf("PSK is %d bytes of %v, want 48 of SHA-384", len(pskBytes), psk.Hash())
	}
	if want := refExpandLabel(t, h, rmsBytes, "resumption", nonce); !bytes.Equal(pskBytes, want) {
		t.Errorf("PSK = %x, want %x", pskBytes, want)
	}
	if other := rms.PSK([]byte{0, 2}).AppendBytes(nil); bytes.Equal(other, pskBytes) {
		t.Errorf("two nonces gave the same PSK")
	}

	es := psk.EarlySecret()
	wantES, err := hkdf.Extract(h.New, pskBytes, make([]byte, 48))
	if err != nil {
		t.Fatal(err)
	}
	if got := resumption.SecretBytes(es); !bytes.Equal(got, wantES) {
		t.Errorf("Early Secret = %x, want %x", got, wantES)
	}
	bk := es.ResumptionBinderKey()
	emptyHash := h.New().Sum(nil)
	if got, want := resumption.SecretBytes(bk), refExpandLabel(t, h, wantES, "res binder", emptyHash); !bytes.Equal(got, want) {
		t.Errorf("binder_key = %x, want %x", got, want)
	}

	th := resumption.TranscriptHash(h, []byte("truncated ClientHello"))
	binder := bk.Binder(nil, th)
	if len(binder) != 48 {
		t.Fatalf("binder is %d bytes, want 48", len(binder))
	}
	mac := hmac.New(h.New, refExpandLabel(t, h, resumption.SecretBytes(bk), "finished", nil))
	mac.Write(th)
	if want := mac.Sum(nil); !bytes.Equal(binder, want) {
		t.Errorf("binder = %x, want %x", binder, want)
	}

	// A PSK rebuilt from the ticket's stored bytes gives the same binder.
	psk2, err := resumption.NewPSK(h, pskBytes)
	if err != nil {
		t.Fatal(err)
	}
	if !psk2.EarlySecret().ResumptionBinderKey().VerifyBinder(th, binder) {
		t.Errorf("binder from the rebuilt PSK does not verify")
	}
	if _, err := resumption.NewPSK(crypto.SHA256, pskBytes); !errors.Is(err, resumption.ErrLength) {
		t.Errorf("NewPSK(SHA-256, 48 bytes) error = %v, want ErrLength", err)
	}
}

// TestTranscriptHashAfterHRR checks the message_hash construction of
// RFC 8446, Section 4.4.1.
func TestTranscriptHashAfterHRR(t *testing.T) {
	for _, h := range []crypto.Hash{crypto.SHA256, crypto.SHA384} {
		t.Run(h.String(), func(t *testing.T) {
			ch1 := []byte("\x01\x00\x00\x05hello")
			hrr := []byte("\x02\x00\x00\x03hrr")
			ch2 := []byte("\x01\x00\x00\x06hello2")

			sum := h.New()
			sum.Write(ch1)
			messageHash := append([]byte{0xfe, 0, 0, byte(h.Size())}, sum.Sum(nil)...)
			want := resumption.TranscriptHash(h, messageHash, hrr, ch2)

			got := resumption.TranscriptHashAfterHRR(h, ch1, hrr, ch2)
			if !bytes.Equal(got, want) {
				t.Errorf("got  %x\nwant %x", got, want)
			}
			if plain := resumption.TranscriptHash(h, ch1, hrr, ch2); bytes.Equal(got, plain) {
				t.Errorf("HRR transcript equals the plain transcript")
			}
			if len(got) != h.Size() {
				t.Errorf("transcript hash is %d bytes, want %d", len(got), h.Size())
			}
		})
	}
}

func TestConstructorErrors(t *testing.T) {
	k32 := make([]byte, 32)
	tests := []struct {
		name string
		err  error
		want error
	}{
		{"NewPSK/ShortPSK", second(resumption.NewPSK(crypto.SHA256, k32[:31])), resumption.ErrLength},
		{"NewPSK/MD5", second(resumption.NewPSK(crypto.MD5, k32[:16])), resumption.ErrUnsupportedHash},
		{"NewPSK/SHA512", second(resumption.NewPSK(crypto.SHA512, make([]byte, 64))), resumption.ErrUnsupportedHash},
		{"NewResumptionMasterSecret/Long", second(resumption.NewResumptionMasterSecret(crypto.SHA256, make([]byte, 48))), resumption.ErrLength},
		{"NewResumptionMasterSecret/ZeroHash", second(resumption.NewResumptionMasterSecret(0, nil)), resumption.ErrUnsupportedHash},
		{"Derive/ShortMaster", second(resumption.DeriveResumptionMasterSecret(crypto.SHA256, k32[:16], k32)), resumption.ErrLength},
		{"Derive/ShortTranscript", second(resumption.DeriveResumptionMasterSecret(crypto.SHA256, k32, k32[:16])), resumption.ErrLength},
		{"Derive/SHA1", second(resumption.DeriveResumptionMasterSecret(crypto.SHA1, k32[:20], k32[:20])), resumption.ErrUnsupportedHash},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !errors.Is(tt.err, tt.want) {
				t.Errorf("error = %v, want %v", tt.err, tt.want)
			}
			if tt.err != nil && !strings.HasPrefix(tt.err.Error(), "resumption: ") {
				t.Errorf("error %q lacks the package prefix", tt.err)
			}
		})
	}
}

func second[T any](_ T, err error) error { return err }

func TestNewPSKCopiesInput(t *testing.T) {
	in := bytes.Repeat([]byte{1}, 32)
	psk, err := resumption.NewPSK(crypto.SHA256, in)
	if err != nil {
		t.Fatal(err)
	}
	in[0] = 2
	if got := psk.AppendBytes(nil); got[0] != 1 {
		t.Errorf("NewPSK kept a reference to its input")
	}
}

func TestPanics(t *testing.T) {
	rms, err := resumption.NewResumptionMasterSecret(crypto.SHA256, make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		f    func()
	}{
		{"PSK/NonceTooLong", func() { rms.PSK(make([]byte, 256)) }},
		{"TranscriptHash/MD5", func() { resumption.TranscriptHash(crypto.MD5, nil) }},
		{"TranscriptHashAfterHRR/SHA512", func() { resumption.TranscriptHashAfterHRR(crypto.SHA512, nil, nil) }},
		{"MemoryStore/ZeroValue", func() {
			var s resumption.MemoryStore
			s.CheckAndStore(t.Context(), []byte("k"), 1)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer func() {
				msg, _ := recover().(string)
				if !strings.HasPrefix(msg, "resumption: internal error: ") {
					t.Errorf("panic = %q, want a resumption internal error", msg)
				}
			}()
			tt.f()
		})
	}
	// The longest nonce the wire allows does not panic.
	rms.PSK(make([]byte, 255))
}

type holder struct {
	RMS      *resumption.ResumptionMasterSecret
	PSK      resumption.PSK
	inner    *resumption.BinderKey
	innerPSK resumption.PSK
}

// TestSecretsNeverFormatted checks that no fmt verb prints secret bytes, on
// pointers, on values and inside structs.
func TestSecretsNeverFormatted(t *testing.T) {
	secret := bytes.Repeat([]byte{0xab, 0xcd}, 16)
	rms, err := resumption.NewResumptionMasterSecret(crypto.SHA256, secret)
	if err != nil {
		t.Fatal(err)
	}
	psk, err := resumption.NewPSK(crypto.SHA256, secret)
	if err != nil {
		t.Fatal(err)
	}
	es := psk.EarlySecret()
	bk := es.ResumptionBinderKey()
	values := map[string]any{
		"*ResumptionMasterSecret": rms, "ResumptionMasterSecret": *rms,
		"*PSK": psk, "PSK": *psk,
		"*EarlySecret": es, "EarlySecret": *es,
		"*BinderKey": bk, "BinderKey": *bk,
		"Struct":        holder{rms, *psk, bk, *psk},
		"PointerStruct": &holder{rms, *psk, bk, *psk},
		"ZeroPSK":       resumption.PSK{},
		"NilPSK":        (*resumption.PSK)(nil),
	}
	var forbidden []string
	for _, s := range [][]byte{secret, resumption.SecretBytes(es), resumption.SecretBytes(bk)} {
		forbidden = append(forbidden, secretscan.Forms(s)...)
	}
	for name, v := range values {
		t.Run(name, func(t *testing.T) {
			for _, verb := range append(slices.Clone(secretscan.Verbs), "% x") {
				out := fmt.Sprintf(verb, v)
				secretscan.CheckText(t, verb+" of "+name, out, forbidden)
				if !strings.Contains(out, "REDACTED") && !strings.Contains(out, "0x") &&
					!strings.Contains(out, "{}") && !strings.Contains(out, "nil") {
					t.Errorf("%s of %s = %s, want a redacted description", verb, name, out)
				}
			}
		})
	}
	if got, want := psk.String(), "resumption.PSK{SHA-256, REDACTED}"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	if got := fmt.Sprintf("%#v", psk); got != psk.GoString() {
		t.Errorf("%%#v = %q, want GoString %q", got, psk.GoString())
	}
}
