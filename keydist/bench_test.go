package keydist

import (
	"strconv"
	"testing"
)

// BenchmarkSeal and BenchmarkOpen measure one bundle of n AES-256-GCM keys
// (the ring of a default rotation holds 4): X-Wing encapsulation or
// decapsulation, HPKE AES-256-GCM, and Ed25519 signing or verification.
func BenchmarkSeal(b *testing.B) {
	for _, n := range []int{1, 4} {
		b.Run(strconv.Itoa(n)+"keys", func(b *testing.B) {
			mk, pk := testParties(b, "bench")
			bundle := &Bundle{Fleet: "bench", Epoch: 1, Keys: testEntries(b, "bench", n)}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Seal(bundle, mk.Public(), pk, nil); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkOpen(b *testing.B) {
	for _, n := range []int{1, 4} {
		b.Run(strconv.Itoa(n)+"keys", func(b *testing.B) {
			mk, pk := testParties(b, "bench")
			sealed := mustSeal(b, "bench", 1, testEntries(b, "bench", n), mk.Public(), pk)
			b.SetBytes(int64(len(sealed)))
			b.ReportAllocs()
			for b.Loop() {
				bundle, err := Open(sealed, mk, pk.Public(), 0)
				if err != nil {
					b.Fatal(err)
				}
				bundle.Clear()
			}
		})
	}
}

// BenchmarkInstall is Open plus building the schedule.
func BenchmarkInstall(b *testing.B) {
	mk, pk := testParties(b, "bench")
	sealed := mustSeal(b, "bench", 1, testEntries(b, "bench", 4), mk.Public(), pk)
	b.ReportAllocs()
	for b.Loop() {
		m, err := NewMember(MemberConfig{Fleet: "bench", Key: mk, Publisher: pk.Public()})
		if err != nil {
			b.Fatal(err)
		}
		if err := m.Install(sealed); err != nil {
			b.Fatal(err)
		}
	}
}
