package seal

import (
	"testing"
)

// xaesAllocs is the number of allocations of every XAES-256-GCM seal or
// authenticated open: the per-message aes.NewCipher block and cipher.NewGCM
// AEAD, which crypto/cipher cannot key without allocating (see xaesGCM).
const xaesAllocs = 2

// wantAllocs returns the allocations per call of an operation under a: 0,
// except for the XAES-256-GCM operations that reach the cipher.
func wantAllocs(a AEAD, reachesCipher bool) float64 {
	if a == XAES256GCM && reachesCipher {
		return xaesAllocs
	}
	return 0
}

func TestAllocs(t *testing.T) {
	if testing.Short() {
		t.Skip("allocation counts are not checked in -short mode")
	}
	for _, a := range aeads {
		t.Run(aeadName(a), func(t *testing.T) {
			r := newTestRing(t, a, 8)
			kr := NewKeyring(r)
			pt := make([]byte, 256)
			tbuf := make([]byte, 0, 1024)
			pbuf := make([]byte, 0, 1024)
			for _, tt := range []struct {
				name string
				ad   []byte
			}{
				{"no-ad", nil},
				{"ad", []byte("example.com:443")},
			} {
				t.Run(tt.name, func(t *testing.T) {
					if len(tt.ad) > 0 && raceEnabled {
						t.Skip("the race detector makes sync.Pool drop buffers")
					}
					ticket := mustSeal(t, r, pt, tt.ad)
					forged := append([]byte{version, byte(a)}, make([]byte, len(ticket)-2)...)
					tests := []struct {
						name          string
						reachesCipher bool
						f             func()
					}{
						{"Ring.Seal", true, func() { tbuf, _ = r.Seal(tbuf[:0], pt, tt.ad) }},
						{"Ring.Open", true, func() { pbuf, _ = r.Open(pbuf[:0], ticket, tt.ad) }},
						{"Ring.OpenKey", true, func() { pbuf, _, _ = r.OpenKey(pbuf[:0], ticket, tt.ad) }},
						{"Keyring.Seal", true, func() { tbuf, _ = kr.Seal(tbuf[:0], pt, tt.ad) }},
						{"Keyring.Open", true, func() { pbuf, _ = kr.Open(pbuf[:0], ticket, tt.ad) }},
						{"Open-auth-failure", true, func() { r.Open(pbuf[:0], ticket[:len(ticket)-1], tt.ad) }},
						{"Open-unknown-key", false, func() { r.Open(pbuf[:0], forged, tt.ad) }},
						{"Open-malformed", false, func() { r.Open(pbuf[:0], ticket[:10], tt.ad) }},
					}
					for _, tc := range tests {
						want := wantAllocs(a, tc.reachesCipher)
						if a == XAES256GCM && raceEnabled {
							continue // the key scratch buffers are pooled
						}
						if got := testing.AllocsPerRun(100, tc.f); got != want {
							t.Errorf("%s allocates %v times, want %v", tc.name, got, want)
						}
					}
				})
			}
		})
	}
}
