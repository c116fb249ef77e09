package benchmarks

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestPerformanceDocNamesBenchmarks checks that every benchmark that the
// "What is measured" table of docs/performance.md lists is a Benchmark
// function of the package the table names, so that the document cannot
// describe a benchmark that was renamed or removed.
func TestPerformanceDocNamesBenchmarks(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "docs", "performance.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(doc), "\n## What is measured\n")
	if !ok {
		t.Fatal(`docs/performance.md has no "## What is measured" section`)
	}
	section, _, _ = strings.Cut(section, "\n## ")
	rows := 0
	for line := range strings.Lines(section) {
		if !strings.HasPrefix(line, "| `") {
			continue
		}
		cells := strings.Split(strings.ReplaceAll(line, `\|`, "¦"), "|")
		if len(cells) < 4 {
			t.Fatalf("malformed row %q", line)
		}
		pkg := strings.Trim(strings.TrimSpace(cells[2]), "`")
		funcs := benchmarkFuncs(t, filepath.Join("..", pkg))
		for name := range strings.SplitSeq(cells[1], ",") {
			name = strings.Trim(strings.TrimSpace(name), "`")
			top, _, _ := strings.Cut(name, "/")
			if !funcs["Benchmark"+top] {
				t.Errorf("docs/performance.md lists %s, but package %s has no Benchmark%s", name, pkg, top)
			}
			rows++
		}
	}
	if rows == 0 {
		t.Fatal("docs/performance.md lists no benchmarks")
	}
}

// benchmarkFuncs returns the names of the Benchmark functions in the test
// files of the package in dir.
func benchmarkFuncs(t *testing.T, dir string) map[string]bool {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*_test.go"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no test files in %s (%v)", dir, err)
	}
	funcs := map[string]bool{}
	fset := token.NewFileSet()
	for _, name := range files {
		f, err := parser.ParseFile(fset, name, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range f.Decls {
			if fn, ok := d.(*ast.FuncDecl); ok && fn.Recv == nil && strings.HasPrefix(fn.Name.Name, "Benchmark") {
				funcs[fn.Name.Name] = true
			}
		}
	}
	return funcs
}
