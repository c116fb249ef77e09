package conformance

import (
	"encoding/json"
	"io"
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/tlsticket/tlsticket"

// allowedImports lists, for each package with a rule, the packages of this
// module it may import. The rule of DEVELOPERS.md: status, format, seal and
// seal/legacy import nothing of ours; resumption may import format and
// status; engine composes them.
var allowedImports = map[string][]string{
	"status":      {},
	"format":      {},
	"seal":        {},
	"seal/legacy": {},
	"resumption":  {"format", "status"},
}

type goPackage struct {
	ImportPath string
	Imports    []string
	Deps       []string
}

func listPackages(t *testing.T) []goPackage {
	t.Helper()
	cmd := exec.Command("go", "list", "-deps=false", "-json", "./...")
	cmd.Dir = ".."
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	var pkgs []goPackage
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for {
		var p goPackage
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		pkgs = append(pkgs, p)
	}
	if len(pkgs) == 0 {
		t.Fatal("go list found no packages")
	}
	return pkgs
}

func TestImportDirection(t *testing.T) {
	seen := map[string]bool{}
	for _, p := range listPackages(t) {
		rel := strings.TrimPrefix(strings.TrimPrefix(p.ImportPath, module), "/")
		allowed, ruled := allowedImports[rel]
		if !ruled {
			continue
		}
		seen[rel] = true
		for _, imp := range p.Imports {
			if !strings.HasPrefix(imp, module+"/") {
				continue
			}
			target := strings.TrimPrefix(imp, module+"/")
			ok := false
			for _, a := range allowed {
				ok = ok || a == target
			}
			if !ok {
				t.Errorf("%s imports %s; it may import only %v of this module", rel, target, allowed)
			}
		}
	}
	for rel := range allowedImports {
		if !seen[rel] {
			t.Errorf("package %s not found", rel)
		}
	}
}

// TestCoreHasNoRedis checks that importing the core pulls no Redis client
// and no circl: Redis-backed stores and HPKE key distribution live in their
// own packages.
func TestCoreHasNoRedis(t *testing.T) {
	checked := 0
	for _, p := range listPackages(t) {
		rel := strings.TrimPrefix(strings.TrimPrefix(p.ImportPath, module), "/")
		if strings.Contains(rel, "redis") || strings.HasPrefix(rel, "keydist") || strings.HasPrefix(rel, "cmd/") ||
			rel == "conformance" || rel == "benchmarks" || strings.HasPrefix(rel, "internal/") || rel == "fuzz" {
			continue
		}
		for _, d := range p.Deps {
			if strings.Contains(d, "redis") || strings.Contains(d, "cloudflare/circl") {
				t.Errorf("%s depends on %s", rel, d)
			}
		}
		if len(p.Deps) > 0 {
			checked++
		}
	}
	if checked == 0 {
		t.Fatal("go list reported no dependencies at all")
	}
}
