package benchsuite

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// A Result is the measurement of one benchmark at one GOMAXPROCS: a single
// run, or the median of several (see [Merge]).
type Result struct {
	// Name is the suite name, such as "Seal/AES128GCM/256".
	Name string `json:"name"`
	// Procs is GOMAXPROCS during the run.
	Procs int `json:"procs"`
	// Runs is the number of runs merged into this result.
	Runs int `json:"runs"`
	// N is the iteration count (of the median run, when merged).
	N int `json:"n"`
	// NsPerOp is the time per operation, the median when merged.
	NsPerOp float64 `json:"ns_per_op"`
	// MinNsPerOp is the fastest run's time per operation: on a shared
	// machine, the least disturbed.
	MinNsPerOp float64 `json:"min_ns_per_op"`
	// Spread is (max-min)/median of NsPerOp over the runs: 0 for one run.
	Spread float64 `json:"spread"`
	// MBPerSec is the plaintext throughput, 0 without b.SetBytes.
	MBPerSec float64 `json:"mb_per_s,omitempty"`
	// BytesPerOp and AllocsPerOp are the heap allocations per operation.
	BytesPerOp  float64 `json:"bytes_per_op"`
	AllocsPerOp float64 `json:"allocs_per_op"`
	// Metrics holds the custom metrics, such as "state-bytes" and
	// "handshakes/s".
	Metrics map[string]float64 `json:"metrics,omitempty"`
}

// OpsPerSec returns the operations per second (tickets, or handshakes,
// per second) of r.
func (r Result) OpsPerSec() float64 {
	if r.NsPerOp == 0 {
		return 0
	}
	return 1e9 / r.NsPerOp
}

// FromBenchmark converts a testing.Benchmark result. It returns false if
// the benchmark failed (no iterations).
func FromBenchmark(name string, procs int, br testing.BenchmarkResult) (Result, bool) {
	if br.N == 0 {
		return Result{Name: name, Procs: procs}, false
	}
	r := Result{
		Name:        name,
		Procs:       procs,
		Runs:        1,
		N:           br.N,
		NsPerOp:     float64(br.T.Nanoseconds()) / float64(br.N),
		MinNsPerOp:  float64(br.T.Nanoseconds()) / float64(br.N),
		BytesPerOp:  float64(br.AllocedBytesPerOp()),
		AllocsPerOp: float64(br.AllocsPerOp()),
	}
	if br.Bytes > 0 && br.T > 0 {
		r.MBPerSec = float64(br.Bytes) * float64(br.N) / 1e6 / br.T.Seconds()
	}
	for k, v := range br.Extra {
		if r.Metrics == nil {
			r.Metrics = map[string]float64{}
		}
		r.Metrics[k] = v
	}
	return r, true
}

// Merge combines the runs of each (name, procs) into one result holding the
// median of every measurement and the spread of ns/op, in first-seen order.
func Merge(runs []Result) []Result {
	type key struct {
		name  string
		procs int
	}
	var order []key
	groups := map[key][]Result{}
	for _, r := range runs {
		k := key{r.Name, r.Procs}
		if _, ok := groups[k]; !ok {
			order = append(order, k)
		}
		groups[k] = append(groups[k], r)
	}
	out := make([]Result, 0, len(order))
	for _, k := range order {
		out = append(out, merge(groups[k]))
	}
	return out
}

func merge(rs []Result) Result {
	if len(rs) == 1 {
		return rs[0]
	}
	m := Result{Name: rs[0].Name, Procs: rs[0].Procs}
	for _, r := range rs {
		m.Runs += max(r.Runs, 1)
	}
	sorted := slices.Clone(rs)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].NsPerOp < sorted[j].NsPerOp })
	m.N = sorted[len(sorted)/2].N
	field := func(f func(Result) float64) float64 {
		vs := make([]float64, len(rs))
		for i, r := range rs {
			vs[i] = f(r)
		}
		return median(vs)
	}
	m.NsPerOp = field(func(r Result) float64 { return r.NsPerOp })
	m.MinNsPerOp = sorted[0].NsPerOp
	if m.NsPerOp > 0 {
		m.Spread = (sorted[len(sorted)-1].NsPerOp - sorted[0].NsPerOp) / m.NsPerOp
	}
	m.MBPerSec = field(func(r Result) float64 { return r.MBPerSec })
	m.BytesPerOp = field(func(r Result) float64 { return r.BytesPerOp })
	m.AllocsPerOp = field(func(r Result) float64 { return r.AllocsPerOp })
	for _, r := range rs {
		for k := range r.Metrics {
			if m.Metrics == nil {
				m.Metrics = map[string]float64{}
			}
			if _, done := m.Metrics[k]; !done {
				m.Metrics[k] = field(func(r Result) float64 { return r.Metrics[k] })
			}
		}
	}
	return m
}

// median returns the median of vs (the mean of the middle two for an even
// count). It reorders vs.
func median(vs []float64) float64 {
	if len(vs) == 0 {
		return 0
	}
	sort.Float64s(vs)
	n := len(vs)
	if n%2 == 1 {
		return vs[n/2]
	}
	return (vs[n/2-1] + vs[n/2]) / 2
}

// ParseGoTest reads the output of go test -bench on package benchmarks (in
// the benchstat format) and returns one Result per line, named as in the
// suite: "BenchmarkSeal/AES128GCM/256-2" becomes "Seal/AES128GCM/256" at
// 2 procs. Other lines are ignored. Merge the results to combine -count runs.
func ParseGoTest(r io.Reader) ([]Result, error) {
	var out []Result
	sc := bufio.NewScanner(r)
	for line := 1; sc.Scan(); line++ {
		f := strings.Fields(sc.Text())
		if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") || len(f)%2 != 0 {
			continue
		}
		n, err := strconv.Atoi(f[1])
		if err != nil {
			continue
		}
		name, procs := splitProcs(strings.TrimPrefix(f[0], "Benchmark"))
		res := Result{Name: name, Procs: procs, Runs: 1, N: n}
		for i := 2; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				return nil, fmt.Errorf("benchsuite: line %d: bad value %q", line, f[i])
			}
			switch unit := f[i+1]; unit {
			case "ns/op":
				res.NsPerOp, res.MinNsPerOp = v, v
			case "MB/s":
				res.MBPerSec = v
			case "B/op":
				res.BytesPerOp = v
			case "allocs/op":
				res.AllocsPerOp = v
			default:
				if res.Metrics == nil {
					res.Metrics = map[string]float64{}
				}
				res.Metrics[unit] = v
			}
		}
		out = append(out, res)
	}
	return out, sc.Err()
}

// splitProcs splits the "-N" GOMAXPROCS suffix that go test adds to
// benchmark names when N is not 1.
func splitProcs(name string) (string, int) {
	i := strings.LastIndexByte(name, '-')
	if i < 0 {
		return name, 1
	}
	p, err := strconv.Atoi(name[i+1:])
	if err != nil || p < 1 {
		return name, 1
	}
	return name[:i], p
}

// A Set indexes results by name for the comparisons.
type Set struct {
	byName map[string][]Result
}

// NewSet indexes results, which should be merged.
func NewSet(results []Result) *Set {
	s := &Set{byName: map[string][]Result{}}
	for _, r := range results {
		s.byName[r.Name] = append(s.byName[r.Name], r)
	}
	return s
}

// Get returns the result of name at the most procs measured: the
// single-goroutine benchmarks hardly depend on GOMAXPROCS, and the
// parallel ones are reported at their widest.
func (s *Set) Get(name string) (Result, bool) {
	rs := s.byName[name]
	if len(rs) == 0 {
		return Result{}, false
	}
	best := rs[0]
	for _, r := range rs[1:] {
		if r.Procs > best.Procs {
			best = r
		}
	}
	return best, true
}

// Speedup returns how many times faster per operation the parallel
// benchmark name ran at its most procs than at 1, and that procs count.
func (s *Set) Speedup(name string) (float64, int, bool) {
	var one, most Result
	for _, r := range s.byName[name] {
		if r.Procs == 1 {
			one = r
		}
		if r.Procs > most.Procs {
			most = r
		}
	}
	if one.NsPerOp == 0 || most.Procs <= 1 || most.NsPerOp == 0 {
		return 0, 0, false
	}
	return one.NsPerOp / most.NsPerOp, most.Procs, true
}

// Baselines returns the names of the benchmarks that name is compared
// with: crypto/tls's equivalent, and the raw AEAD. Either is empty when it
// does not apply.
func Baselines(name string) (cryptoTLS, raw string) {
	f := strings.Split(name, "/")
	switch {
	case len(f) == 3 && f[0] == "Seal":
		return "CryptoTLS/EncryptTicket/" + f[2], "RawAEAD/Seal/" + f[1] + "/" + f[2]
	case len(f) == 3 && f[0] == "Open":
		return "CryptoTLS/DecryptTicket/" + f[2], "RawAEAD/Open/" + f[1] + "/" + f[2]
	case len(f) == 3 && f[0] == "Engine" && f[1] == "Issue":
		return "CryptoTLS/EncryptTicket/256", "RawAEAD/Seal/" + EngineAEAD + "/256"
	case len(f) == 3 && f[0] == "Engine" && f[1] == "Open",
		f[0] == "RingSize":
		return "CryptoTLS/DecryptTicket/256", "RawAEAD/Open/" + EngineAEAD + "/256"
	case len(f) == 4 && f[0] == "Handshakes" && f[2] == "Adapter":
		return "Handshakes/Resumed/CryptoTLS/" + f[3], ""
	}
	return "", ""
}

// Ratios returns, for the result r, how many times faster it is than its
// crypto/tls baseline and how many times slower than its raw AEAD
// baseline; NaN where there is no baseline in s.
func (s *Set) Ratios(r Result) (vsTLS, vsRaw float64) {
	vsTLS, vsRaw = math.NaN(), math.NaN()
	t, raw := Baselines(r.Name)
	if b, ok := s.Get(t); ok && r.NsPerOp > 0 {
		vsTLS = b.NsPerOp / r.NsPerOp
	}
	if b, ok := s.Get(raw); ok && b.NsPerOp > 0 {
		vsRaw = r.NsPerOp / b.NsPerOp
	}
	return vsTLS, vsRaw
}
