package benchsuite

import (
	"fmt"
	"math"
)

// The performance targets of the suite. They are reported, never asserted
// in tests: timings on a shared machine are too noisy to fail a build on.
const (
	// TargetVsCryptoTLS: Seal and Open of a 256-byte state at least this
	// many times faster than crypto/tls's EncryptTicket and DecryptTicket.
	TargetVsCryptoTLS = 6.0
	// TargetVsRaw: Seal and Open within this factor of the raw AEAD.
	TargetVsRaw = 1.25
	// TargetEngineVsRaw: Engine Issue and Open within this factor of the
	// raw AEAD.
	TargetEngineVsRaw = 1.5
	// TargetRingFlat: Open under 48 keys within this factor of 1 key.
	TargetRingFlat = 1.1
	// TargetSpeedup: Parallel Seal and Open at least this many times the
	// single-goroutine rate on 2 cores.
	TargetSpeedup = 1.8
)

// A Target is one performance target checked against results.
type Target struct {
	// Name says what is measured, such as "Seal/AES128GCM/256 vs
	// crypto/tls".
	Name string `json:"name"`
	// Want is the target, such as ">= 6x".
	Want string `json:"want"`
	// Got is the measured value, NaN if it was not measured.
	Got float64 `json:"got"`
	// Unit qualifies Got: "x" for ratios, "allocs/op".
	Unit string `json:"unit"`
	// Met reports whether Got meets the target.
	Met bool `json:"met"`
	// Measured reports whether the benchmarks it needs were run.
	Measured bool `json:"measured"`
}

// Targets checks every target against s. A target whose benchmarks were
// not run is listed as not measured.
func Targets(s *Set) []Target {
	var ts []Target
	add := func(name, want, unit string, got float64, met func(float64) bool) {
		t := Target{Name: name, Want: want, Unit: unit, Got: got, Measured: !math.IsNaN(got)}
		t.Met = t.Measured && met(got)
		ts = append(ts, t)
	}
	atLeast := func(x float64) func(float64) bool { return func(v float64) bool { return v >= x } }
	atMost := func(x float64) func(float64) bool { return func(v float64) bool { return v <= x } }
	for _, op := range []string{"Seal", "Open"} {
		for _, c := range aeads {
			name := op + "/" + c.name() + "/256"
			r, ok := s.Get(name)
			vsTLS, vsRaw, allocs := math.NaN(), math.NaN(), math.NaN()
			if ok {
				vsTLS, vsRaw = s.Ratios(r)
				allocs = r.AllocsPerOp
			}
			add(name+" vs crypto/tls", fmt.Sprintf(">= %gx faster", TargetVsCryptoTLS), "x", vsTLS, atLeast(TargetVsCryptoTLS))
			add(name+" vs raw AEAD", fmt.Sprintf("<= %gx", TargetVsRaw), "x", vsRaw, atMost(TargetVsRaw))
			add(name+" allocations", "0 allocs/op", "allocs/op", allocs, atMost(0))
		}
	}
	for _, op := range []string{"Issue", "Open"} {
		for _, v := range []string{"TLS12", "TLS13"} {
			name := "Engine/" + op + "/" + v
			vsRaw := math.NaN()
			if r, ok := s.Get(name); ok {
				_, vsRaw = s.Ratios(r)
			}
			add(name+" vs raw AEAD", fmt.Sprintf("<= %gx", TargetEngineVsRaw), "x", vsRaw, atMost(TargetEngineVsRaw))
		}
	}
	flat := math.NaN()
	one, ok1 := s.Get("RingSize/Open/1keys")
	many, ok48 := s.Get("RingSize/Open/48keys")
	if ok1 && ok48 && one.NsPerOp > 0 {
		flat = many.NsPerOp / one.NsPerOp
	}
	add("RingSize/Open 48 keys vs 1 key", fmt.Sprintf("<= %gx", TargetRingFlat), "x", flat, atMost(TargetRingFlat))
	for _, op := range []string{"Seal", "Open"} {
		name := "Parallel/" + op
		sp := math.NaN()
		label := name + " speed-up"
		if v, procs, ok := s.Speedup(name); ok {
			sp = v
			label = fmt.Sprintf("%s speed-up 1 -> %d procs", name, procs)
		}
		add(label, fmt.Sprintf(">= %gx", TargetSpeedup), "x", sp, atLeast(TargetSpeedup))
	}
	return ts
}
