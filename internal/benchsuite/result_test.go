package benchsuite

import (
	"bytes"
	"encoding/json"
	"math"
	"regexp"
	"strings"
	"testing"
)

const goTestOutput = `goos: linux
goarch: amd64
pkg: github.com/tlsticket/tlsticket/benchmarks
cpu: Intel(R) Xeon(R) Processor
BenchmarkSeal/AES128GCM/256-2         	 1306356	       200.0 ns/op	1392.94 MB/s	       256.0 state-bytes	       0 B/op	       0 allocs/op
BenchmarkSeal/AES128GCM/256-2         	 1306356	       180.0 ns/op	1422.94 MB/s	       256.0 state-bytes	       0 B/op	       0 allocs/op
BenchmarkSeal/AES128GCM/256-2         	 1306356	       190.0 ns/op	1402.94 MB/s	       256.0 state-bytes	       0 B/op	       0 allocs/op
BenchmarkRawAEAD/Seal/AES128GCM/256-2 	 1448470	       160.0 ns/op	1546.90 MB/s	       256.0 state-bytes	       0 B/op	       0 allocs/op
BenchmarkCryptoTLS/EncryptTicket/256-2	   90747	      2280 ns/op	 105.61 MB/s	       256.0 state-bytes	    2800 B/op	      20 allocs/op
BenchmarkParallel/Seal                	 1820054	       200.0 ns/op	1633.66 MB/s	       256.0 state-bytes	       0 B/op	       0 allocs/op
BenchmarkParallel/Seal-2              	 1820054	       100.0 ns/op	1633.66 MB/s	       256.0 state-bytes	       0 B/op	       0 allocs/op
BenchmarkRingSize/Open/1keys-2        	 1790835	       100.0 ns/op	1923.39 MB/s	       256.0 state-bytes	       0 B/op	       0 allocs/op
BenchmarkRingSize/Open/48keys-2       	 1853682	       120.0 ns/op	1977.60 MB/s	       256.0 state-bytes	       0 B/op	       0 allocs/op
BenchmarkHandshakes/Resumed/Adapter/TLS13-2 	     426	    600000 ns/op	      1665 handshakes/s	   80973 B/op	     950 allocs/op
--- FAIL: something
PASS
ok  	github.com/tlsticket/tlsticket/benchmarks	25.125s
`

func parsed(t *testing.T) *Set {
	t.Helper()
	runs, err := ParseGoTest(strings.NewReader(goTestOutput))
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) != 10 {
		t.Fatalf("parsed %d results, want 10", len(runs))
	}
	return NewSet(Merge(runs))
}

func TestParseAndMerge(t *testing.T) {
	s := parsed(t)
	r, ok := s.Get("Seal/AES128GCM/256")
	if !ok {
		t.Fatal("Seal/AES128GCM/256 missing")
	}
	if r.Procs != 2 || r.Runs != 3 || r.NsPerOp != 190 || r.MinNsPerOp != 180 || r.MBPerSec != 1402.94 || r.Metrics["state-bytes"] != 256 {
		t.Errorf("merged result %+v", r)
	}
	if want := (200.0 - 180.0) / 190.0; math.Abs(r.Spread-want) > 1e-9 {
		t.Errorf("spread %v, want %v", r.Spread, want)
	}
	h, _ := s.Get("Handshakes/Resumed/Adapter/TLS13")
	if h.Metrics["handshakes/s"] != 1665 || h.AllocsPerOp != 950 {
		t.Errorf("handshake result %+v", h)
	}
	if sp, procs, ok := s.Speedup("Parallel/Seal"); !ok || sp != 2 || procs != 2 {
		t.Errorf("Speedup = %v, %v, %v; want 2, 2, true", sp, procs, ok)
	}
	if _, _, ok := s.Speedup("Seal/AES128GCM/256"); ok {
		t.Error("speed-up of a benchmark measured at one procs count")
	}
}

func TestRatios(t *testing.T) {
	s := parsed(t)
	r, _ := s.Get("Seal/AES128GCM/256")
	vsTLS, vsRaw := s.Ratios(r)
	if vsTLS != 12 || vsRaw != 190.0/160 {
		t.Errorf("Ratios = %v, %v; want 12, %v", vsTLS, vsRaw, 190.0/160)
	}
	raw, _ := s.Get("RawAEAD/Seal/AES128GCM/256")
	if vsTLS, vsRaw := s.Ratios(raw); !math.IsNaN(vsTLS) || !math.IsNaN(vsRaw) {
		t.Errorf("RawAEAD ratios = %v, %v; want none", vsTLS, vsRaw)
	}
}

func TestBaselinesExist(t *testing.T) {
	names := map[string]bool{}
	for _, bm := range All() {
		names[bm.Name] = true
	}
	for _, bm := range All() {
		tls, raw := Baselines(bm.Name)
		for _, b := range []string{tls, raw} {
			if b != "" && !names[b] {
				t.Errorf("%s: baseline %s is not a benchmark", bm.Name, b)
			}
		}
	}
}

func TestTargets(t *testing.T) {
	s := parsed(t)
	got := map[string]Target{}
	for _, tg := range Targets(s) {
		got[tg.Name] = tg
	}
	tests := []struct {
		name          string
		measured, met bool
	}{
		{"Seal/AES128GCM/256 vs crypto/tls", true, true},
		{"Seal/AES128GCM/256 vs raw AEAD", true, true},
		{"Seal/AES128GCM/256 allocations", true, true},
		{"Open/AES128GCM/256 vs crypto/tls", false, false},
		{"RingSize/Open 48 keys vs 1 key", true, false},
		{"Parallel/Seal speed-up 1 -> 2 procs", true, true},
		{"Parallel/Open speed-up", false, false},
	}
	for _, tt := range tests {
		tg, ok := got[tt.name]
		if !ok {
			t.Errorf("no target %q", tt.name)
			continue
		}
		if tg.Measured != tt.measured || tg.Met != tt.met {
			t.Errorf("%s: measured %v, met %v; want %v, %v", tt.name, tg.Measured, tg.Met, tt.measured, tt.met)
		}
	}
}

func TestReports(t *testing.T) {
	runs, err := ParseGoTest(strings.NewReader(goTestOutput))
	if err != nil {
		t.Fatal(err)
	}
	results := Merge(runs)
	env := Env{GoVersion: "go1.26", OS: "linux", Arch: "amd64", CPU: "test CPU", GOMAXPROCS: 2, Benchtime: "1s", Count: 3}

	var table bytes.Buffer
	if err := WriteTable(&table, env, results, []string{"Engine/Open/TLS12"}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"test CPU", "handshakes/s", "12.0x faster", "1.19x",
		"Parallel/Seal-2", "[MISSED] RingSize/Open 48 keys vs 1 key", "FAILED: Engine/Open/TLS12",
	} {
		if !strings.Contains(table.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, table.String())
		}
	}

	var js bytes.Buffer
	if err := WriteJSON(&js, env, results, nil); err != nil {
		t.Fatal(err)
	}
	var out struct {
		Env     Env
		Results []struct {
			Name        string
			VsCryptoTLS *float64 `json:"vs_crypto_tls"`
		}
		Targets []Target
	}
	if err := json.Unmarshal(js.Bytes(), &out); err != nil {
		t.Fatalf("%v:\n%s", err, js.String())
	}
	if out.Env.CPU != "test CPU" || len(out.Results) != len(results) || len(out.Targets) == 0 {
		t.Errorf("JSON %+v", out)
	}
	if r := out.Results[0]; r.Name != "Seal/AES128GCM/256" || r.VsCryptoTLS == nil || *r.VsCryptoTLS != 12 {
		t.Errorf("first JSON result %+v", r)
	}

	var md bytes.Buffer
	if err := WriteMarkdown(&md, results); err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`\| Seal/AES128GCM/256-2 \| 190 \| 180 \| 11% \|`).MatchString(md.String()) {
		t.Errorf("markdown:\n%s", md.String())
	}
}

func TestRun(t *testing.T) {
	runs, failed, err := Run(Options{
		Filter:    regexp.MustCompile(`^(Seal/AES128GCM/64|Parallel/Open)$`),
		Benchtime: "1x",
		Count:     2,
	})
	if err != nil || len(failed) != 0 {
		t.Fatalf("Run: failed %v, error %v", failed, err)
	}
	names := map[string]int{}
	for _, r := range runs {
		names[r.Name]++
	}
	if names["Seal/AES128GCM/64"] != 2 || names["Parallel/Open"] < 2 || len(names) != 2 {
		t.Errorf("runs %v", names)
	}
	if _, _, err := Run(Options{Benchtime: "forever"}); err == nil {
		t.Error("Run accepted an invalid benchtime")
	}
}

func TestPlot(t *testing.T) {
	img := Plot(parsed(t))
	if img.Bounds().Dx() != PlotWidth || img.Bounds().Dy() != PlotHeight {
		t.Errorf("plot bounds %v", img.Bounds())
	}
}
