package conformance

import (
	"encoding/json"
	"io"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// This file is the one home of the dependency rules (docs/architecture.md):
// which packages of this module a package may import, which modules the
// module may require, and where each optional module may be used. make test
// runs it with every other test.

const module = "github.com/tlsticket/tlsticket"

// allowedImports lists, for each package with a rule, the packages of this
// module it may import: status, format and seal import nothing of ours;
// seal/legacy returns sessions as format.State and shares seal's weak-key
// rule; resumption may import format
// and status; engine composes the core and nothing else (no migration, no
// metrics publishing, no network code).
var allowedImports = map[string][]string{
	"status":      {},
	"format":      {},
	"seal":        {},
	"seal/legacy": {"format", "seal"},
	"resumption":  {"format", "status"},
	"engine":      {"format", "resumption", "seal", "status"},
}

// forbiddenDeps lists, for packages a TLS stack imports, standard or outside
// packages that must not be among their dependencies: importing the engine
// must not register HTTP handlers or pull a Redis client, HPKE, Prometheus
// or QUIC, and the server binary must not link the testing package. An
// entry with a leading "=" is a package path, matched exactly; any other
// entry matches every dependency whose path contains it.
var forbiddenDeps = map[string][]string{
	"engine":            {"=expvar", "=net/http", "=" + module + "/seal/legacy", "redis", "cloudflare/circl", "prometheus", "quic-go"},
	"engine/tlsadapter": {"=expvar", "redis", "cloudflare/circl", "prometheus", "quic-go"},
	"format":            {"redis", "cloudflare/circl", "prometheus", "quic-go"},
	"seal":              {"redis", "cloudflare/circl", "prometheus", "quic-go"},
	"status":            {"redis", "cloudflare/circl", "prometheus", "quic-go"},
	"resumption":        {"redis", "cloudflare/circl", "prometheus", "quic-go", "=net/http"},
	"keyfile":           {"redis", "cloudflare/circl", "prometheus", "quic-go"},
	"cmd/ticketctl":     {"=testing", "gonum.org", "golang.org/x/perf"},
}

// allowedModules are the modules this module may require, each with the
// packages (by path prefix, relative to the module) that may import it.
// An empty list means any package.
var allowedModules = map[string][]string{
	"golang.org/x/crypto":                 {},
	"golang.org/x/sys":                    {},
	"github.com/google/go-cmp":            {}, // test diffs only
	"github.com/cloudflare/circl":         {"keydist", "cmd/"},
	"github.com/redis/go-redis/v9":        {"resumption/redisreplay", "keydist/rediskeys", "internal/redistest", "cmd/"},
	"github.com/prometheus/client_golang": {"engine/promexport", "internal/", "cmd/"},
	"github.com/prometheus/common":        {"engine/promexport", "internal/", "cmd/"},
	"golang.org/x/perf":                   {"internal/tools/"},
	"gonum.org/v1/plot":                   {"internal/tools/"},
	"github.com/fsnotify/fsnotify":        {"keyfile", "cmd/"},
}

type goPackage struct {
	ImportPath   string
	Imports      []string
	TestImports  []string
	XTestImports []string
	Deps         []string
}

func goList(t *testing.T, args ...string) []byte {
	t.Helper()
	cmd := exec.Command("go", args...)
	cmd.Dir = ".."
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go %v: %v", args, err)
	}
	return out
}

func listPackages(t *testing.T) map[string]goPackage {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(string(goList(t, "list", "-json", "./..."))))
	pkgs := map[string]goPackage{}
	for {
		var p goPackage
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		pkgs[strings.TrimPrefix(strings.TrimPrefix(p.ImportPath, module), "/")] = p
	}
	if len(pkgs) == 0 {
		t.Fatal("go list found no packages")
	}
	return pkgs
}

// eachListed calls check with every package that rules names and its
// rule, and reports each package of rules that go list did not find.
func eachListed(t *testing.T, rules map[string][]string, check func(rel string, p goPackage, rule []string)) {
	t.Helper()
	pkgs := listPackages(t)
	for rel, rule := range rules {
		p, ok := pkgs[rel]
		if !ok {
			t.Errorf("package %s not found", rel)
			continue
		}
		check(rel, p, rule)
	}
}

func TestImportDirection(t *testing.T) {
	eachListed(t, allowedImports, func(rel string, p goPackage, allowed []string) {
		for _, imp := range p.Imports {
			target, ours := strings.CutPrefix(imp, module+"/")
			if ours && !slices.Contains(allowed, target) {
				t.Errorf("%s imports %s; it may import only %v of this module", rel, target, allowed)
			}
		}
	})
}

// TestKitsOutsideProduct checks that no product package links a package
// of internal/: internal/ holds test kits and tools, and the product (the
// libraries and ticketctl) needs none of them. Code that only ticketctl
// needs lives under cmd/ticketctl. Test files, and public test kits such
// as resumption/replaytest (packages that import testing), may use them.
func TestKitsOutsideProduct(t *testing.T) {
	for rel, p := range listPackages(t) {
		if strings.HasPrefix(rel, "internal/") || slices.Contains(p.Imports, "testing") {
			continue
		}
		for _, d := range p.Deps {
			if strings.HasPrefix(d, module+"/internal/") {
				t.Errorf("%s links the test kit %s", rel, strings.TrimPrefix(d, module+"/"))
			}
		}
	}
}

func TestForbiddenDependencies(t *testing.T) {
	eachListed(t, forbiddenDeps, func(rel string, p goPackage, forbidden []string) {
		if len(p.Deps) == 0 {
			t.Errorf("go list reported no dependencies for %s", rel)
		}
		for _, d := range p.Deps {
			for _, f := range forbidden {
				exact, isExact := strings.CutPrefix(f, "=")
				if isExact && d == exact || !isExact && strings.Contains(d, f) {
					t.Errorf("%s depends on %s", rel, d)
				}
			}
		}
	})
}

// TestModules checks the module allow-list, and that each optional module
// is imported only where its integration lives.
func TestModules(t *testing.T) {
	out := goList(t, "list", "-m", "-f", "{{if not .Main}}{{.Path}}{{end}}", "all")
	required := map[string]bool{}
	for _, m := range strings.Fields(string(out)) {
		required[m] = true
	}
	// Direct requirements must be on the list; indirect ones come with them.
	direct := goList(t, "list", "-m", "-f", "{{if and (not .Main) (not .Indirect)}}{{.Path}}{{end}}", "all")
	for _, m := range strings.Fields(string(direct)) {
		if _, ok := allowedModules[m]; !ok {
			t.Errorf("go.mod requires %s, which is not on the allow-list", m)
		}
	}
	for rel, p := range listPackages(t) {
		for _, imp := range slices.Concat(p.Imports, p.TestImports, p.XTestImports) {
			for m, where := range allowedModules {
				if len(where) == 0 || !strings.HasPrefix(imp, m) {
					continue
				}
				if !slices.ContainsFunc(where, func(w string) bool { return strings.HasPrefix(rel, w) }) {
					t.Errorf("%s imports %s; %s belongs only in %v", rel, imp, m, where)
				}
			}
		}
	}
	if len(required) == 0 {
		t.Fatal("go list -m reported no modules")
	}
}
