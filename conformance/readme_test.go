package conformance

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// The README is what a new user copies from: these tests keep its Go
// version, its go get line, its Quick start and its package table true.

func readREADME(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestReadmeInstall checks that the README names the module path, a go get
// line for it and the Go version of go.mod.
func TestReadmeInstall(t *testing.T) {
	readme := readREADME(t)
	gomod, err := os.ReadFile("../go.mod")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^go (\d+\.\d+)`).FindSubmatch(gomod)
	if m == nil {
		t.Fatal("go.mod has no go line")
	}
	for _, want := range []string{"go get " + module, "Go " + string(m[1]) + " or later"} {
		if !strings.Contains(readme, want) {
			t.Errorf("README.md lacks %q", want)
		}
	}
}

// TestReadmeQuickStartBuilds extracts the Go block of the README's Quick
// start, builds it in a new module that requires this one (replaced by the
// working tree), and fails if it does not compile as written.
func TestReadmeQuickStartBuilds(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a program: not in -short")
	}
	readme := readREADME(t)
	_, quick, ok := strings.Cut(readme, "\n## Quick start")
	if !ok {
		t.Fatal("README.md has no Quick start section")
	}
	quick, _, _ = strings.Cut(quick, "\n## ")
	m := regexp.MustCompile("(?s)```go\n(.*?)```").FindStringSubmatch(quick)
	if m == nil {
		t.Fatal("the Quick start has no ```go block")
	}
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	gomod := "module quickstart\n\ngo 1.26\n\nrequire " + module + " v0.0.0\n\nreplace " + module + " => " + root + "\n"
	sum, err := os.ReadFile(filepath.Join(root, "go.sum"))
	if err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string][]byte{"go.mod": []byte(gomod), "go.sum": sum, "main.go": []byte(m[1])} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command("go", "build", "-mod=mod", "-o", os.DevNull, ".")
	cmd.Dir = dir
	// Offline: every module the block needs is one this module requires,
	// already in the module cache.
	cmd.Env = append(os.Environ(), "GOFLAGS=", "GOPROXY=off", "GOWORK=off")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("the README's Quick start does not build: %v\n%s\n--- main.go:\n%s", err, out, m[1])
	}
}

// pendingRows are rows of the README's package table whose directory may be
// missing from a branch, each with the reason. Remove an entry once its
// directory is merged.
var pendingRows = map[string]string{}

// TestReadmePackages checks that every package of the module outside
// internal/ and the test-only directories has a row in the README's
// package table, and that every row names a directory that exists.
func TestReadmePackages(t *testing.T) {
	readme := readREADME(t)
	rows := map[string]bool{}
	for _, m := range regexp.MustCompile("(?m)^\\| `([a-z/.]+)` \\|").FindAllStringSubmatch(readme, -1) {
		rows[m[1]] = true
	}
	testOnly := map[string]bool{"conformance": true, "fuzz": true, "benchmarks": true}
	for rel := range listPackages(t) {
		if rel == "" || strings.HasPrefix(rel, "internal") || testOnly[rel] {
			continue
		}
		if !rows[rel] {
			t.Errorf("package %s has no row in the README's package table", rel)
		}
	}
	for row := range rows {
		dir := strings.TrimSuffix(row, "/...")
		_, err := os.Stat(filepath.Join("..", dir))
		if reason, ok := pendingRows[row]; ok && err != nil {
			t.Logf("the README's package table names %s, not yet in this tree: %s", row, reason)
			continue
		}
		if err != nil {
			t.Errorf("the README's package table names %s, which is not in the module: %v", row, err)
		}
	}
}
