package conformance

import (
	"os"
	"os/exec"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// fuzzTargets returns, by package directory (slash-separated, relative to
// the module root), the fuzz targets that make fuzz runs: it asks
// scripts/fuzz.sh for its list (FUZZLIST=1), which is go test -list's, so
// that the targets are listed in one place.
func fuzzTargets(t *testing.T) map[string][]string {
	t.Helper()
	cmd := exec.Command("sh", "scripts/fuzz.sh")
	cmd.Dir = ".."
	cmd.Env = append(os.Environ(), "FUZZLIST=1")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("FUZZLIST=1 sh scripts/fuzz.sh: %v\n%s", err, out)
	}
	targets := map[string][]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		dir, name, ok := strings.Cut(line, " ")
		if !ok || !strings.HasPrefix(name, "Fuzz") {
			t.Fatalf("scripts/fuzz.sh listed %q, want \"<dir> <FuzzX>\"", line)
		}
		targets[dir] = append(targets[dir], name)
	}
	return targets
}

// seedRun matches the result line of one seed input in go test -v output:
// "--- PASS: FuzzX/seed#0" for an f.Add seed, "--- PASS: FuzzX/<file>" for
// one under testdata/fuzz/FuzzX.
var seedRun = regexp.MustCompile(`(?m)^\s*--- (?:PASS|FAIL): (Fuzz\w*)/\S+`)

// TestFuzzTargetsHaveSeeds runs the seed corpus of every fuzz target in the
// module (go test -run, without -fuzz: f.Add seeds and testdata/fuzz files)
// and fails if a target executes zero seed inputs.
//
// It counts the seeds that ran rather than looking for f.Add calls in the
// source: a target whose f.Add sits in a loop over vectors that are not
// there, as age's fuzz seeds once did, has an f.Add call and no seeds. One
// go test invocation per package keeps it fast.
func TestFuzzTargetsHaveSeeds(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go test on the packages with fuzz targets")
	}
	targets := fuzzTargets(t)
	if len(targets["fuzz"]) == 0 || len(targets["format"]) == 0 || len(targets["seal"]) == 0 {
		t.Fatalf("found fuzz targets %v: the walk missed the fuzz, format or seal targets", targets)
	}
	dirs := make([]string, 0, len(targets))
	for dir := range targets {
		dirs = append(dirs, dir)
	}
	sort.Strings(dirs)
	for _, dir := range dirs {
		names := targets[dir]
		t.Run(dir, func(t *testing.T) {
			t.Parallel()
			cmd := exec.Command("go", "test", "-run", "^("+strings.Join(names, "|")+")$", "-v", "./"+dir)
			cmd.Dir = ".."
			out, err := cmd.CombinedOutput()
			seeds := map[string]int{}
			for _, m := range seedRun.FindAllSubmatch(out, -1) {
				seeds[string(m[1])]++
			}
			for _, name := range names {
				if seeds[name] == 0 {
					t.Errorf("%s.%s executed no seed inputs (go test: %v)", dir, name, err)
				}
			}
			if t.Failed() {
				t.Logf("go test -v ./%s output:\n%s", dir, out)
			}
		})
	}
}
