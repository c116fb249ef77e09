package benchsuite

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"os"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"
)

// Options configures [Run].
type Options struct {
	// Filter, if not nil, selects the benchmarks whose name it matches.
	Filter *regexp.Regexp
	// Benchtime is the -test.benchtime of every run, such as "1s" or
	// "100x". Empty means 1s.
	Benchtime string
	// Count is the number of runs of each benchmark; 0 means 1.
	Count int
	// Progress, if not nil, receives a progress line, rewritten in place
	// with carriage returns, while the suite runs.
	Progress io.Writer
}

// Run runs the selected benchmarks of the suite through testing.Benchmark,
// Count times each, and returns every run (see [Merge]) and the names of
// the benchmarks that failed. Parallel benchmarks run at GOMAXPROCS 1 and
// then at the current GOMAXPROCS, so that their speed-up can be computed.
//
// Run sets the process-wide -test.benchtime flag (calling testing.Init if
// needed) and restores it before returning.
func Run(opts Options) (runs []Result, failed []string, err error) {
	testing.Init()
	bt := flag.Lookup("test.benchtime")
	if bt == nil {
		return nil, nil, fmt.Errorf("benchsuite: no test.benchtime flag")
	}
	old := bt.Value.String()
	if opts.Benchtime == "" {
		opts.Benchtime = "1s"
	}
	if err := bt.Value.Set(opts.Benchtime); err != nil {
		return nil, nil, fmt.Errorf("benchsuite: invalid benchtime %q: %w", opts.Benchtime, err)
	}
	defer bt.Value.Set(old)
	count := max(opts.Count, 1)

	var selected []Benchmark
	for _, bm := range All() {
		if opts.Filter == nil || opts.Filter.MatchString(bm.Name) {
			selected = append(selected, bm)
		}
	}
	procs := runtime.GOMAXPROCS(0)
	type job struct {
		bm    Benchmark
		procs int
	}
	var jobs []job
	for _, bm := range selected {
		if bm.Parallel && procs > 1 {
			jobs = append(jobs, job{bm, 1})
		}
		jobs = append(jobs, job{bm, procs})
	}
	isFailed := map[string]bool{}
	start := time.Now()
	total := len(jobs) * count
	for i := range count {
		for j, jb := range jobs {
			if opts.Progress != nil {
				fmt.Fprintf(opts.Progress, "\rbench [%d/%d] %-50s", i*len(jobs)+j+1, total, jb.bm.Name+procSuffix(jb.procs))
			}
			prev := runtime.GOMAXPROCS(jb.procs)
			r, ok := FromBenchmark(jb.bm.Name, jb.procs, testing.Benchmark(jb.bm.F))
			runtime.GOMAXPROCS(prev)
			if !ok {
				if !isFailed[jb.bm.Name] {
					failed = append(failed, jb.bm.Name)
				}
				isFailed[jb.bm.Name] = true
				continue
			}
			runs = append(runs, r)
		}
	}
	if opts.Progress != nil {
		fmt.Fprintf(opts.Progress, "\rbench: ran %d benchmarks %d times in %v%s\n",
			len(jobs), count, time.Since(start).Round(time.Second), strings.Repeat(" ", 40))
	}
	return runs, failed, nil
}

// procSuffix returns the go test name suffix for procs: "" for 1, "-2"
// for 2.
func procSuffix(procs int) string {
	if procs == 1 {
		return ""
	}
	return fmt.Sprintf("-%d", procs)
}

// Env describes the machine and settings of a run.
type Env struct {
	GoVersion  string `json:"go_version"`
	OS         string `json:"os"`
	Arch       string `json:"arch"`
	CPU        string `json:"cpu"`
	GOMAXPROCS int    `json:"gomaxprocs"`
	Benchtime  string `json:"benchtime,omitempty"`
	Count      int    `json:"count,omitempty"`
}

// CurrentEnv returns the Env of this process.
func CurrentEnv() Env {
	return Env{
		GoVersion:  runtime.Version(),
		OS:         runtime.GOOS,
		Arch:       runtime.GOARCH,
		CPU:        cpuModel(),
		GOMAXPROCS: runtime.GOMAXPROCS(0),
	}
}

// cpuModel returns the CPU model name from /proc/cpuinfo, or "unknown".
func cpuModel() string {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return "unknown"
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown"
}
