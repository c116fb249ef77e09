package conformance

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// fuzzTargets walks the module from its root and returns, by package
// directory (slash-separated, relative to the root), the fuzz targets
// declared in its _test.go files: the functions FuzzX(f *testing.F). It
// parses the files rather than matching text, so formatting cannot hide a
// target. testdata, vendor and hidden directories are skipped, as the go
// command skips them.
func fuzzTargets(t *testing.T) map[string][]string {
	t.Helper()
	targets := map[string][]string{}
	fset := token.NewFileSet()
	err := filepath.WalkDir("..", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() {
			if path != ".." && (name == "testdata" || name == "vendor" || strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_")) {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(name, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		dir, err := filepath.Rel("..", filepath.Dir(path))
		if err != nil {
			return err
		}
		for _, decl := range f.Decls {
			if fn, ok := decl.(*ast.FuncDecl); ok && isFuzzTarget(fn) {
				targets[filepath.ToSlash(dir)] = append(targets[filepath.ToSlash(dir)], fn.Name.Name)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("walking the module: %v", err)
	}
	return targets
}

// isFuzzTarget reports whether fn is a fuzz target as the testing package
// defines one: func FuzzXxx(*testing.F), with no receiver or result.
func isFuzzTarget(fn *ast.FuncDecl) bool {
	name := fn.Name.Name
	if fn.Recv != nil || !strings.HasPrefix(name, "Fuzz") || fn.Type.Results != nil ||
		fn.Type.Params == nil || len(fn.Type.Params.List) != 1 || len(fn.Type.Params.List[0].Names) > 1 {
		return false
	}
	if len(name) > len("Fuzz") && strings.ToLower(name[4:5]) == name[4:5] && strings.ToUpper(name[4:5]) != name[4:5] {
		return false // Fuzzy(…) is not a target
	}
	star, ok := fn.Type.Params.List[0].Type.(*ast.StarExpr)
	if !ok {
		return false
	}
	sel, ok := star.X.(*ast.SelectorExpr)
	if !ok {
		return false
	}
	pkg, ok := sel.X.(*ast.Ident)
	return ok && pkg.Name == "testing" && sel.Sel.Name == "F"
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
