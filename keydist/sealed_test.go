package keydist

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tlsticket/tlsticket/keyfile"
	"github.com/tlsticket/tlsticket/seal"
)

func TestSealOpen(t *testing.T) {
	mk, pk := testParties(t, "sealopen")
	keys := testEntries(t, "sealopen", 4)
	sealed := mustSeal(t, "edge", 7, keys, mk.Public(), pk)
	b, err := Open(sealed, mk, pk.Public(), 6)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Clear()
	if b.Fleet != "edge" || b.Epoch != 7 {
		t.Errorf("got fleet %q epoch %d, want edge 7", b.Fleet, b.Epoch)
	}
	if diff := cmp.Diff(keys, b.Keys); diff != "" {
		t.Errorf("keys mismatch (-sealed +opened):\n%s", diff)
	}
	h, err := ParseHeader(sealed)
	if err != nil {
		t.Fatal(err)
	}
	want := Header{Fleet: "edge", Epoch: 7, Member: mk.Public().ID(), Publisher: pk.Public().ID()}
	if *h != want {
		t.Errorf("ParseHeader = %+v, want %+v", *h, want)
	}
	if len(sealed) < encSize+signatureSize {
		t.Errorf("sealed bundle is %d bytes", len(sealed))
	}
}

// TestSealedRoundTrip checks that the container parses and re-encodes byte
// for byte.
func TestSealedRoundTrip(t *testing.T) {
	mk, pk := testParties(t, "rt")
	sealed := mustSeal(t, "f", 1, testEntries(t, "rt", 1), mk.Public(), pk)
	if got := reencode(t, sealed); !bytes.Equal(got, sealed) {
		t.Errorf("re-encoding differs:\ngot  %x\nwant %x", got, sealed)
	}
}

// reencode parses a container and writes it back.
func reencode(t testing.TB, b []byte) []byte {
	t.Helper()
	var sb sealedBundle
	if !sb.unmarshal(b) {
		t.Fatal("unmarshal failed")
	}
	out, err := appendHeader(nil, &sb.Header)
	if err != nil {
		t.Fatal(err)
	}
	out = append(out, sb.enc...)
	n := len(sb.ciphertext)
	out = append(out, byte(n>>16), byte(n>>8), byte(n))
	out = append(out, sb.ciphertext...)
	return append(out, sb.signature...)
}

func TestOpenRejects(t *testing.T) {
	mk, pk := testParties(t, "rejects")
	other, otherPub := testParties(t, "other")
	keys := testEntries(t, "rejects", 2)
	sealed := mustSeal(t, "edge", 5, keys, mk.Public(), pk)
	var sb sealedBundle
	if !sb.unmarshal(sealed) {
		t.Fatal("unmarshal failed")
	}
	hl := len(sb.header)
	flip := func(i int) []byte {
		b := bytes.Clone(sealed)
		b[i] ^= 0x01
		return b
	}
	// The same keys sealed to another member, with the header of ours.
	forOther := mustSeal(t, "edge", 5, keys, other.Public(), pk)
	spliced := append(bytes.Clone(sealed[:hl]), forOther[hl:]...)
	tests := []struct {
		name      string
		in        []byte
		member    *MemberKey
		publisher *PublisherPublicKey
		last      uint64
		want      error
	}{
		{"empty", nil, mk, pk.Public(), 0, ErrMalformed},
		{"version", flip(0), mk, pk.Public(), 0, ErrMalformed},
		{"fleet", flip(2), mk, pk.Public(), 0, ErrAuth},
		{"epoch", flip(2 + len("edge") + 7), mk, pk.Public(), 0, ErrAuth},
		{"epoch lowered", flip(2 + len("edge") + 7), mk, pk.Public(), 4, ErrAuth},
		{"member id", flip(hl - 2*IDSize), mk, pk.Public(), 0, ErrWrongMember},
		{"publisher id", flip(hl - 1), mk, pk.Public(), 0, ErrAuth},
		{"enc", flip(hl + 10), mk, pk.Public(), 0, ErrAuth},
		{"ciphertext", flip(len(sealed) - signatureSize - 1), mk, pk.Public(), 0, ErrAuth},
		{"signature", flip(len(sealed) - 1), mk, pk.Public(), 0, ErrAuth},
		{"trailing byte", append(bytes.Clone(sealed), 0), mk, pk.Public(), 0, ErrMalformed},
		{"wrong member", sealed, other, pk.Public(), 0, ErrWrongMember},
		{"wrong publisher", sealed, mk, otherPub.Public(), 0, ErrAuth},
		{"spliced body", spliced, mk, pk.Public(), 0, ErrAuth},
		{"replayed epoch", sealed, mk, pk.Public(), 5, ErrRollback},
		{"old epoch", sealed, mk, pk.Public(), 9, ErrRollback},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := Open(tt.in, tt.member, tt.publisher, tt.last)
			if b != nil || !errors.Is(err, tt.want) {
				t.Fatalf("Open = %v, %v; want nil, %v", b, err, tt.want)
			}
		})
	}
}

// TestOpenNoPrefix checks, as crypto/tls does, that no strict prefix of a
// sealed bundle parses.
func TestOpenNoPrefix(t *testing.T) {
	mk, pk := testParties(t, "prefix")
	sealed := mustSeal(t, "edge", 1, testEntries(t, "prefix", 1), mk.Public(), pk)
	for n := range len(sealed) {
		if _, err := ParseHeader(sealed[:n]); !errors.Is(err, ErrMalformed) {
			t.Fatalf("prefix of %d bytes: %v, want ErrMalformed", n, err)
		}
	}
}

func TestSealRejects(t *testing.T) {
	mk, pk := testParties(t, "sealrejects")
	good := testEntries(t, "sealrejects", 2)
	dup := []keyfile.KeyEntry{good[0], good[0]}
	weak := []keyfile.KeyEntry{{AEAD: seal.AES256GCM, Secret: make([]byte, 32), Phases: testPhases(0)}}
	short := []keyfile.KeyEntry{{AEAD: seal.AES256GCM, Secret: good[0].Secret[:16], Phases: testPhases(0)}}
	order := []keyfile.KeyEntry{good[0]}
	order[0].Phases.Retire = order[0].Activate.Add(-time.Hour)
	far := []keyfile.KeyEntry{good[0]}
	far[0].Retire = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		b    Bundle
	}{
		{"epoch 0", Bundle{Fleet: "f", Epoch: 0, Keys: good}},
		{"empty fleet", Bundle{Fleet: "", Epoch: 1, Keys: good}},
		{"fleet with space", Bundle{Fleet: "a b", Epoch: 1, Keys: good}},
		{"long fleet", Bundle{Fleet: strings.Repeat("a", 256), Epoch: 1, Keys: good}},
		{"no keys", Bundle{Fleet: "f", Epoch: 1}},
		{"duplicate", Bundle{Fleet: "f", Epoch: 1, Keys: dup}},
		{"weak", Bundle{Fleet: "f", Epoch: 1, Keys: weak}},
		{"short secret", Bundle{Fleet: "f", Epoch: 1, Keys: short}},
		{"phases out of order", Bundle{Fleet: "f", Epoch: 1, Keys: order}},
		{"year 10000", Bundle{Fleet: "f", Epoch: 1, Keys: far}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if out, err := Seal(&tt.b, mk.Public(), pk, nil); err == nil {
				t.Fatalf("Seal succeeded with %d bytes", len(out))
			}
		})
	}
}

// TestOpenRejectsSignedBadContents checks that contents which break the
// key file rules are refused even from the publisher.
func TestOpenRejectsSignedBadContents(t *testing.T) {
	mk, pk := testParties(t, "badcontents")
	good := testEntries(t, "badcontents", 1)
	tests := []struct {
		name     string
		contents []byte
	}{
		{"duplicate", mustContents(t, []keyfile.KeyEntry{good[0], good[0]})},
		{"weak", mustContents(t, []keyfile.KeyEntry{{AEAD: seal.AES256GCM, Secret: make([]byte, 32), Phases: testPhases(0)}})},
		{"unknown AEAD", mustContents(t, []keyfile.KeyEntry{{AEAD: 99, Secret: good[0].Secret, Phases: testPhases(0)}})},
		{"trailing", append(mustContents(t, good), 0)},
		{"empty list", []byte{0, 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sealed := sealContents(t, "f", 1, tt.contents, mk.Public(), pk)
			if b, err := Open(sealed, mk, pk.Public(), 0); b != nil || !errors.Is(err, ErrMalformed) {
				t.Fatalf("Open = %v, %v; want ErrMalformed", b, err)
			}
		})
	}
}

func mustContents(t testing.TB, keys []keyfile.KeyEntry) []byte {
	t.Helper()
	c, err := appendContents(nil, keys)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// sealContents is Seal without the checks of the bundle.
func sealContents(t testing.TB, fleet string, epoch uint64, contents []byte, to *MemberPublicKey, by *PublisherKey) []byte {
	t.Helper()
	h := Header{Fleet: fleet, Epoch: epoch, Member: to.id, Publisher: by.pub.id}
	return sealHeaders(t, &h, &h, contents, to, by)
}

// sealHeaders seals contents with the HPKE info and aad of header hpkeH
// into a container with header outH, signed by by.
func sealHeaders(t testing.TB, hpkeH, outH *Header, contents []byte, to *MemberPublicKey, by *PublisherKey) []byte {
	t.Helper()
	header, _ := appendHeader(nil, hpkeH)
	sender, _ := suite.NewSender(to.pk, info(header))
	enc, sealer, err := sender.Setup(newDetRand("contents"))
	if err != nil {
		t.Fatal(err)
	}
	ct, _ := sealer.Seal(contents, header)
	out, _ := appendHeader(nil, outH)
	out = append(append(out, enc...), byte(len(ct)>>16), byte(len(ct)>>8), byte(len(ct)))
	out = append(out, ct...)
	return append(out, signEd25519(by, out)...)
}

// TestHPKEBindsHeader checks that the fleet and the epoch are bound by
// HPKE itself (info and aad), not only by the signature: a container whose
// header differs from the one the contents were sealed under does not open
// even with a valid signature.
func TestHPKEBindsHeader(t *testing.T) {
	mk, pk := testParties(t, "binds")
	contents := mustContents(t, testEntries(t, "binds", 1))
	base := Header{Fleet: "edge", Epoch: 1, Member: mk.Public().ID(), Publisher: pk.Public().ID()}
	for _, tt := range []struct {
		name string
		out  Header
	}{
		{"epoch", Header{Fleet: "edge", Epoch: 2, Member: base.Member, Publisher: base.Publisher}},
		{"fleet", Header{Fleet: "core", Epoch: 1, Member: base.Member, Publisher: base.Publisher}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			sealed := sealHeaders(t, &base, &tt.out, contents, mk.Public(), pk)
			if b, err := Open(sealed, mk, pk.Public(), 0); b != nil || !errors.Is(err, ErrAuth) {
				t.Fatalf("Open = %v, %v; want ErrAuth", b, err)
			}
		})
	}
	if _, err := Open(sealHeaders(t, &base, &base, contents, mk.Public(), pk), mk, pk.Public(), 0); err != nil {
		t.Fatalf("control: %v", err)
	}
}
