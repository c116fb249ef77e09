package seal

import (
	"testing"
)

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
						name string
						f    func()
					}{
						{"Ring.Seal", func() { tbuf, _ = r.Seal(tbuf[:0], pt, tt.ad) }},
						{"Ring.Open", func() { pbuf, _ = r.Open(pbuf[:0], ticket, tt.ad) }},
						{"Ring.OpenKey", func() { pbuf, _, _ = r.OpenKey(pbuf[:0], ticket, tt.ad) }},
						{"Keyring.Seal", func() { tbuf, _ = kr.Seal(tbuf[:0], pt, tt.ad) }},
						{"Keyring.Open", func() { pbuf, _ = kr.Open(pbuf[:0], ticket, tt.ad) }},
						{"Open-auth-failure", func() { r.Open(pbuf[:0], ticket[:len(ticket)-1], tt.ad) }},
						{"Open-unknown-key", func() { r.Open(pbuf[:0], forged, tt.ad) }},
						{"Open-malformed", func() { r.Open(pbuf[:0], ticket[:10], tt.ad) }},
					}
					for _, tc := range tests {
						if got := testing.AllocsPerRun(100, tc.f); got != 0 {
							t.Errorf("%s allocates %v times, want 0", tc.name, got)
						}
					}
				})
			}
		})
	}
}
