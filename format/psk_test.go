package format

import (
	"bytes"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

var (
	testBinder32 = strings.Repeat("b2", 32)
	testBinder48 = strings.Repeat("b3", 48)
)

type offeredPSKsTest struct {
	name string
	in   []byte
	want *OfferedPSKs
}

func offeredPSKsTests(t testing.TB) []offeredPSKsTest {
	v := loadRFC8448(t).Section4.PSK
	return []offeredPSKsTest{
		{"RFC 8448 Section 4", v.Extension[4:], &OfferedPSKs{
			Identities: []PSKIdentity{{v.Identity0, v.ObfuscatedAge0}},
			Binders:    [][]byte{v.Binder0},
		}},
		{"two identities", h("0010 0001 01 00000000 0003 aabbcc 12345678", "0052 20", testBinder32, "30", testBinder48),
			&OfferedPSKs{
				Identities: []PSKIdentity{{h("01"), 0}, {h("aabbcc"), 0x12345678}},
				Binders:    [][]byte{h(testBinder32), h(testBinder48)},
			}},
		{"largest binder", append(h("0007 0001 01 ffffffff 0100 ff"), rep(0xb5, 255)...),
			&OfferedPSKs{Identities: []PSKIdentity{{h("01"), 0xffffffff}}, Binders: [][]byte{rep(0xb5, 255)}}},
	}
}

func offeredPSKsEncodings(t testing.TB) [][]byte {
	var out [][]byte
	for _, tt := range offeredPSKsTests(t) {
		out = append(out, tt.in)
	}
	return out
}

func TestOfferedPSKs(t *testing.T) {
	for _, tt := range offeredPSKsTests(t) {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseOfferedPSKs(tt.in)
			if err != nil {
				t.Fatalf("ParseOfferedPSKs: %v", err)
			}
			if diff := cmp.Diff(tt.want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("ParseOfferedPSKs mismatch (-want +got):\n%s", diff)
			}
			out, err := tt.want.Append(nil)
			if err != nil {
				t.Fatalf("Append: %v", err)
			}
			if !bytes.Equal(out, tt.in) {
				t.Errorf("Append:\n got %x\nwant %x", out, tt.in)
			}
			// The binders list ends the body.
			n := got.BindersLen()
			binders := tt.in[len(tt.in)-n:]
			if l := int(binders[0])<<8 | int(binders[1]); l != n-2 {
				t.Errorf("BindersLen() = %d, but the list at that offset has length %d", n, l)
			}
		})
	}
}

func TestParseOfferedPSKsMalformed(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
	}{
		{"empty", nil},
		{"empty identities", h("0000 0021 20", testBinder32)},
		{"empty identities and binders", h("0000 0000")},
		{"empty identity", h("0006 0000 00000000 0021 20", testBinder32)},
		{"identity without its age", h("0003 0001 01 0021 20", testBinder32)},
		{"identities overrun", h("0008 0001 01 00000000 0021 20", testBinder32)},
		{"empty binders", h("0007 0001 01 00000000 0000")},
		{"no binders", h("0007 0001 01 00000000")},
		{"binder of 31 bytes", h("0007 0001 01 00000000 0020 1f", testBinder32[2:])},
		{"binder overruns", h("0007 0001 01 00000000 0021 21", testBinder32)},
		{"more binders than identities", h("0007 0001 01 00000000 0042 20", testBinder32, "20", testBinder32)},
		{"more identities than binders", h("000e 0001 01 00000000 0001 02 00000000 0021 20", testBinder32)},
		{"trailing byte", h("0007 0001 01 00000000 0021 20", testBinder32, "00")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseOfferedPSKs(tt.in)
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error = %v, want ErrMalformed", err)
			}
			if got != nil {
				t.Fatalf("returned %+v with an error", got)
			}
		})
	}
}

func TestOfferedPSKsAppendErrors(t *testing.T) {
	binder := h(testBinder32)
	manyIDs := make([]PSKIdentity, 2)
	for i := range manyIDs {
		manyIDs[i] = PSKIdentity{Identity: rep(1, 40000)}
	}
	manyBinders := make([][]byte, 300)
	for i := range manyBinders {
		manyBinders[i] = rep(2, 255)
	}
	manyIDs300 := make([]PSKIdentity, 300)
	for i := range manyIDs300 {
		manyIDs300[i] = PSKIdentity{Identity: h("01")}
	}
	tests := []struct {
		name string
		o    *OfferedPSKs
		want error
	}{
		{"no identities", &OfferedPSKs{}, ErrMalformed},
		{"no binders", &OfferedPSKs{Identities: []PSKIdentity{{h("01"), 0}}}, ErrMalformed},
		{"two binders for one identity", &OfferedPSKs{Identities: []PSKIdentity{{h("01"), 0}}, Binders: [][]byte{binder, binder}}, ErrMalformed},
		{"empty identity", &OfferedPSKs{Identities: []PSKIdentity{{nil, 0}}, Binders: [][]byte{binder}}, ErrMalformed},
		{"binder of 31 bytes", &OfferedPSKs{Identities: []PSKIdentity{{h("01"), 0}}, Binders: [][]byte{binder[:31]}}, ErrMalformed},
		{"binder of 256 bytes", &OfferedPSKs{Identities: []PSKIdentity{{h("01"), 0}}, Binders: [][]byte{rep(1, 256)}}, ErrFieldTooLarge},
		{"identity of 2^16 bytes", &OfferedPSKs{Identities: []PSKIdentity{{rep(1, maxUint16+1), 0}}, Binders: [][]byte{binder}}, ErrFieldTooLarge},
		{"identities over 2^16-1 bytes", &OfferedPSKs{Identities: manyIDs, Binders: [][]byte{binder, binder}}, ErrFieldTooLarge},
		{"binders over 2^16-1 bytes", &OfferedPSKs{Identities: manyIDs300, Binders: manyBinders}, ErrFieldTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := tt.o.Append([]byte("dst"))
			checkAppendError(t, out, err, tt.want)
		})
	}
}

type pskModesTest struct {
	name string
	in   []byte
	want PSKKeyExchangeModes
}

func pskModesTests() []pskModesTest {
	return []pskModesTest{
		{"psk_dhe_ke", h("01 01"), PSKKeyExchangeModes{PSKModeDHEKE}},
		{"both", h("02 00 01"), PSKKeyExchangeModes{PSKModeKE, PSKModeDHEKE}},
		{"unknown mode kept", h("03 01 00 ff"), PSKKeyExchangeModes{1, 0, 0xff}},
		{"255 modes", append(h("ff"), rep(1, 255)...), modesOf(rep(1, 255))},
	}
}

func pskModesEncodings() [][]byte {
	var out [][]byte
	for _, tt := range pskModesTests() {
		out = append(out, tt.in)
	}
	return out
}

func TestPSKKeyExchangeModes(t *testing.T) {
	for _, tt := range pskModesTests() {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParsePSKKeyExchangeModes(tt.in)
			if err != nil {
				t.Fatalf("ParsePSKKeyExchangeModes: %v", err)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("ParsePSKKeyExchangeModes = %x, want %x", got, tt.want)
			}
			out, err := tt.want.Append(nil)
			if err != nil {
				t.Fatalf("Append: %v", err)
			}
			if !bytes.Equal(out, tt.in) {
				t.Errorf("Append:\n got %x\nwant %x", out, tt.in)
			}
		})
	}
}

func TestParsePSKKeyExchangeModesMalformed(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
	}{
		{"empty", nil},
		{"empty list", h("00")},
		{"list overruns", h("02 01")},
		{"trailing byte", h("01 01 00")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParsePSKKeyExchangeModes(tt.in)
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error = %v, want ErrMalformed", err)
			}
			if got != nil {
				t.Fatalf("returned %x with an error", got)
			}
		})
	}
}

// modesOf returns b as a list of modes.
func modesOf(b []byte) PSKKeyExchangeModes {
	m := make(PSKKeyExchangeModes, len(b))
	for i, v := range b {
		m[i] = PSKMode(v)
	}
	return m
}

func TestPSKKeyExchangeModesAppendErrors(t *testing.T) {
	out, err := PSKKeyExchangeModes{}.Append([]byte("dst"))
	checkAppendError(t, out, err, ErrMalformed)
	out, err = modesOf(rep(1, 256)).Append([]byte("dst"))
	checkAppendError(t, out, err, ErrFieldTooLarge)
}

// parsePSKModesPtr adapts ParsePSKKeyExchangeModes to checkParse, which
// needs a comparable result.
func parsePSKModesPtr(b []byte) (*PSKKeyExchangeModes, error) {
	m, err := ParsePSKKeyExchangeModes(b)
	if err != nil {
		if m != nil {
			return &m, err
		}
		return nil, err
	}
	return &m, nil
}

func FuzzParseOfferedPSKs(f *testing.F) {
	for _, in := range offeredPSKsEncodings(f) {
		f.Add(in)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		checkParse(t, in, ParseOfferedPSKs, nil)
		if o, err := ParseOfferedPSKs(in); err == nil {
			n := o.BindersLen()
			if n < 35 || n > len(in) {
				t.Fatalf("BindersLen() = %d for a body of %d bytes", n, len(in))
			}
		}
	})
}

func FuzzParsePSKKeyExchangeModes(f *testing.F) {
	for _, in := range pskModesEncodings() {
		f.Add(in)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		checkParse(t, in, parsePSKModesPtr, nil)
	})
}
