// Package benchmarks runs the tlsticket benchmark suite of
// internal/benchsuite under go test:
//
//	go test -run='^$' -bench=. -benchmem -count=10 ./benchmarks
//
// Each group of the suite is one top-level benchmark, so the names read
// BenchmarkSeal/AES128GCM/256, BenchmarkRawAEAD/Seal/AES128GCM/256,
// BenchmarkCryptoTLS/EncryptTicket/256 and so on; compare runs with
// benchstat. Add -cpu=1,2 for the speed-up of BenchmarkParallel.
package benchmarks

import (
	"flag"
	"testing"
	"time"

	"github.com/tlsticket/tlsticket/internal/benchsuite"
)

// runGroup runs every benchmark of group as a sub-benchmark of b.
func runGroup(b *testing.B, group string) {
	n := 0
	for _, bm := range benchsuite.All() {
		if bm.Group() == group {
			b.Run(bm.Sub(), bm.F)
			n++
		}
	}
	if n == 0 {
		b.Fatalf("benchsuite has no %s benchmarks", group)
	}
}

func BenchmarkSeal(b *testing.B)       { runGroup(b, "Seal") }
func BenchmarkOpen(b *testing.B)       { runGroup(b, "Open") }
func BenchmarkRawAEAD(b *testing.B)    { runGroup(b, "RawAEAD") }
func BenchmarkCryptoTLS(b *testing.B)  { runGroup(b, "CryptoTLS") }
func BenchmarkEngine(b *testing.B)     { runGroup(b, "Engine") }
func BenchmarkRingSize(b *testing.B)   { runGroup(b, "RingSize") }
func BenchmarkParallel(b *testing.B)   { runGroup(b, "Parallel") }
func BenchmarkHandshakes(b *testing.B) { runGroup(b, "Handshakes") }

// TestGroupsHaveBenchmarks checks that every group of the suite has a
// top-level benchmark above, and no benchmark sits outside the groups.
func TestGroupsHaveBenchmarks(t *testing.T) {
	groups := map[string]bool{}
	for _, g := range benchsuite.Groups() {
		groups[g] = true
	}
	wrapped := map[string]bool{
		"Seal": true, "Open": true, "RawAEAD": true, "CryptoTLS": true,
		"Engine": true, "RingSize": true, "Parallel": true, "Handshakes": true,
	}
	for g := range groups {
		if !wrapped[g] {
			t.Errorf("group %s has no BenchmarkX wrapper", g)
		}
	}
	for _, bm := range benchsuite.All() {
		if !groups[bm.Group()] {
			t.Errorf("benchmark %s is outside the groups", bm.Name)
		}
	}
}

// TestSuiteRuns runs every benchmark of the suite once (b.N = 1) through
// testing.Benchmark, to show that each one sets up, runs and tears down
// without failing. It asserts nothing about timings.
func TestSuiteRuns(t *testing.T) {
	old := flag.Lookup("test.benchtime").Value.String()
	if err := flag.Set("test.benchtime", "1x"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { flag.Set("test.benchtime", old) })
	start := time.Now()
	for _, bm := range benchsuite.All() {
		r := testing.Benchmark(bm.F)
		if r.N == 0 {
			t.Errorf("%s failed; run go test -run='^$' -bench='%s' ./benchmarks for the error", bm.Name, benchPattern(bm))
		}
	}
	t.Logf("ran %d benchmarks once in %v", len(benchsuite.All()), time.Since(start).Round(time.Millisecond))
}

// benchPattern returns the -bench pattern that selects bm alone.
func benchPattern(bm benchsuite.Benchmark) string {
	return "^Benchmark" + bm.Group() + "$/^" + bm.Sub() + "$"
}
