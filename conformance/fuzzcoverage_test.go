package conformance

import (
	"go/ast"
	"go/build/constraint"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// parserName matches the names of the functions that must be fuzzed.
var parserName = regexp.MustCompile(`^(Parse|Unmarshal|Open)([A-Z0-9_]|$)`)

// fuzzExempt lists the parsers that need no fuzz target, each with the
// reason, by package directory and name ("Type.Method" for a method). Only
// a function whose input is neither attacker nor operator data belongs
// here: everything that reads the wire, a ticket, a key file, a bundle, a
// flag or a configuration file is fuzzed. An entry that matches no
// function is reported in the log, not as a failure, so that removing a
// function elsewhere does not break this test.
var fuzzExempt = map[string]string{}

// A parserFunc is an exported function or method whose name starts with
// Parse, Unmarshal or Open and that takes bytes or text.
type parserFunc struct {
	dir  string // package directory, slash-separated, relative to the module root
	recv string // receiver type name, or "" for a function
	name string
	pos  token.Position
}

// key returns the name of p in fuzzExempt: "dir.Name" or "dir.Type.Name".
func (p parserFunc) key() string {
	if p.recv != "" {
		return p.dir + "." + p.recv + "." + p.name
	}
	return p.dir + "." + p.name
}

// A goFile is a parsed file of the module.
type goFile struct {
	dir  string // package directory, slash-separated, relative to the root
	file *ast.File
	test bool
}

// parseModule parses every Go file of the module that the go command
// builds for some configuration: it skips testdata, vendor, hidden and
// underscore directories, nested modules, and files constrained by the
// "ignore" build tag (generators run by go run).
func parseModule(t *testing.T, fset *token.FileSet) []goFile {
	t.Helper()
	var files []goFile
	err := filepath.WalkDir("..", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() {
			if p == ".." {
				return nil
			}
			if name == "testdata" || name == "vendor" || strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") {
				return filepath.SkipDir
			}
			if _, err := os.Stat(filepath.Join(p, "go.mod")); err == nil {
				return filepath.SkipDir // a nested module
			}
			return nil
		}
		if !strings.HasSuffix(name, ".go") {
			return nil
		}
		f, err := parser.ParseFile(fset, p, nil, parser.ParseComments|parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		if ignored(f) {
			return nil
		}
		dir, err := filepath.Rel("..", filepath.Dir(p))
		if err != nil {
			return err
		}
		files = append(files, goFile{dir: filepath.ToSlash(dir), file: f, test: strings.HasSuffix(name, "_test.go")})
		return nil
	})
	if err != nil {
		t.Fatalf("walking the module: %v", err)
	}
	return files
}

// ignored reports whether f's build constraint needs the "ignore" tag.
func ignored(f *ast.File) bool {
	for _, g := range f.Comments {
		if g.Pos() > f.Package {
			break
		}
		for _, c := range g.List {
			if !constraint.IsGoBuild(c.Text) {
				continue
			}
			expr, err := constraint.Parse(c.Text)
			if err == nil && !expr.Eval(func(tag string) bool { return tag != "ignore" }) &&
				expr.Eval(func(string) bool { return true }) {
				return true
			}
		}
	}
	return false
}

// takesBytesOrText reports whether fn has a parameter of type []byte,
// string or io.Reader (with io imported as io).
func takesBytesOrText(fn *ast.FuncDecl) bool {
	for _, field := range fn.Type.Params.List {
		switch typ := field.Type.(type) {
		case *ast.Ident:
			if typ.Name == "string" {
				return true
			}
		case *ast.ArrayType:
			if elt, ok := typ.Elt.(*ast.Ident); ok && typ.Len == nil && elt.Name == "byte" {
				return true
			}
		case *ast.SelectorExpr:
			if x, ok := typ.X.(*ast.Ident); ok && x.Name == "io" && typ.Sel.Name == "Reader" {
				return true
			}
		}
	}
	return false
}

// recvName returns the name of the receiver's base type of fn, or "".
func recvName(fn *ast.FuncDecl) string {
	if fn.Recv == nil || len(fn.Recv.List) == 0 {
		return ""
	}
	typ := fn.Recv.List[0].Type
	if star, ok := typ.(*ast.StarExpr); ok {
		typ = star.X
	}
	switch typ := typ.(type) {
	case *ast.Ident:
		return typ.Name
	case *ast.IndexExpr: // a generic type
		if id, ok := typ.X.(*ast.Ident); ok {
			return id.Name
		}
	case *ast.IndexListExpr:
		if id, ok := typ.X.(*ast.Ident); ok {
			return id.Name
		}
	}
	return ""
}

// listParsers returns the exported parsers of the non-test files: exported
// functions, and exported methods of exported types, named Parse*,
// Unmarshal* or Open*, that take []byte, string or io.Reader.
func listParsers(fset *token.FileSet, files []goFile) []parserFunc {
	var out []parserFunc
	for _, gf := range files {
		if gf.test {
			continue
		}
		for _, decl := range gf.file.Decls {
			fn, ok := decl.(*ast.FuncDecl)
			if !ok || !fn.Name.IsExported() || !parserName.MatchString(fn.Name.Name) || !takesBytesOrText(fn) {
				continue
			}
			recv := recvName(fn)
			if fn.Recv != nil && !ast.IsExported(recv) {
				continue // reachable only through an interface: fuzzed with its exported user
			}
			out = append(out, parserFunc{dir: gf.dir, recv: recv, name: fn.Name.Name, pos: fset.Position(fn.Pos())})
		}
	}
	return out
}

// A fuzzReach is what the fuzz targets of one test package refer to,
// directly or through the functions of that test package they call.
type fuzzReach struct {
	target  string                     // "dir.FuzzX"
	refs    map[string]map[string]bool // package dir -> identifiers of that package
	methods map[string]bool            // selected names not qualified by a package
}

// reachOfFuzzTargets returns, for every fuzz target of the module, the
// identifiers it refers to. A qualified identifier pkg.Name counts for the
// package pkg imports, an unqualified one for the package under test (in
// an internal test file). It follows calls into the top-level functions of
// the same test package, transitively, so that a target that calls a
// helper that calls the parser counts.
func reachOfFuzzTargets(files []goFile) []fuzzReach {
	type testPkg struct{ dir, name string }
	type declIn struct {
		fn   *ast.FuncDecl
		file *ast.File
	}
	funcs := map[testPkg]map[string]declIn{}
	for _, gf := range files {
		if !gf.test {
			continue
		}
		tp := testPkg{gf.dir, gf.file.Name.Name}
		if funcs[tp] == nil {
			funcs[tp] = map[string]declIn{}
		}
		for _, decl := range gf.file.Decls {
			if fn, ok := decl.(*ast.FuncDecl); ok && fn.Recv == nil {
				funcs[tp][fn.Name.Name] = declIn{fn, gf.file}
			}
		}
	}
	var out []fuzzReach
	for tp, decls := range funcs {
		for name, d := range decls {
			if !isFuzzTarget(d.fn) {
				continue
			}
			r := fuzzReach{target: tp.dir + "." + name, refs: map[string]map[string]bool{}, methods: map[string]bool{}}
			add := func(dir, id string) {
				if r.refs[dir] == nil {
					r.refs[dir] = map[string]bool{}
				}
				r.refs[dir][id] = true
			}
			internal := !strings.HasSuffix(tp.name, "_test")
			seen := map[string]bool{name: true}
			queue := []declIn{d}
			for len(queue) > 0 {
				d := queue[0]
				queue = queue[1:]
				imports := importedDirs(d.file)
				ast.Inspect(d.fn, func(n ast.Node) bool {
					switch n := n.(type) {
					case *ast.SelectorExpr:
						if x, ok := n.X.(*ast.Ident); ok {
							if dir, ok := imports[x.Name]; ok {
								add(dir, n.Sel.Name)
								return false
							}
						}
						r.methods[n.Sel.Name] = true
					case *ast.Ident:
						if internal {
							add(tp.dir, n.Name)
						}
						if next, ok := decls[n.Name]; ok && !seen[n.Name] {
							seen[n.Name] = true
							queue = append(queue, next)
						}
					}
					return true
				})
			}
			out = append(out, r)
		}
	}
	return out
}

// importedDirs returns the packages of this module that f imports, by the
// name f uses for them, as directories relative to the module root.
func importedDirs(f *ast.File) map[string]string {
	dirs := map[string]string{}
	for _, imp := range f.Imports {
		p, err := strconv.Unquote(imp.Path.Value)
		if err != nil || (p != module && !strings.HasPrefix(p, module+"/")) {
			continue
		}
		dir := strings.TrimPrefix(strings.TrimPrefix(p, module), "/")
		name := path.Base(p)
		if imp.Name != nil {
			name = imp.Name.Name
		}
		dirs[name] = dir
	}
	return dirs
}

// covers reports whether r reaches p. A function is reached when r refers
// to it. A method is reached when r selects its name and refers to its
// type or to the type's constructor (NewT), or, when no other listed type
// of the package has a method of that name, refers to anything of its
// package: without type checking, the receiver of x.Open(…) is known only
// by what else the target names.
func (r fuzzReach) covers(p parserFunc, ambiguous bool) bool {
	if !strings.HasPrefix(r.target, p.dir+".") && !strings.HasPrefix(r.target, "fuzz.") {
		return false // only the package's own targets and the engine-level ones count
	}
	refs := r.refs[p.dir]
	if p.recv == "" {
		return refs[p.name]
	}
	return r.methods[p.name] && (refs[p.recv] || refs["New"+p.recv] || (!ambiguous && len(refs) > 0))
}

// TestParsersAreFuzzed lists every exported function or method of the
// module named Parse*, Unmarshal* or Open* that takes []byte, string or
// io.Reader, and fails for each one that no fuzz target reaches: a target
// in the same package, or an engine-level target in fuzz/. The list is
// computed from the source, so parsers added or removed anywhere are
// checked without editing this test.
func TestParsersAreFuzzed(t *testing.T) {
	fset := token.NewFileSet()
	files := parseModule(t, fset)
	parsers := listParsers(fset, files)
	reach := reachOfFuzzTargets(files)
	if len(parsers) == 0 || len(reach) == 0 {
		t.Fatalf("found %d parsers and %d fuzz targets: the walk is broken", len(parsers), len(reach))
	}
	methods := map[string]int{} // "dir.Name" -> listed methods of that name
	for _, p := range parsers {
		if p.recv != "" {
			methods[p.dir+"."+p.name]++
		}
	}
	sort.Slice(parsers, func(i, j int) bool { return parsers[i].key() < parsers[j].key() })
	used := map[string]bool{}
	for _, p := range parsers {
		if reason, ok := fuzzExempt[p.key()]; ok {
			used[p.key()] = true
			t.Logf("%s: exempt: %s", p.key(), reason)
			continue
		}
		var by []string
		for _, r := range reach {
			if r.covers(p, methods[p.dir+"."+p.name] > 1) {
				by = append(by, r.target)
			}
		}
		if len(by) == 0 {
			t.Errorf("%s:%d: %s takes bytes or text and no fuzz target calls it: add one beside it (no panic, zero values on error, byte-for-byte round trip)",
				filepath.ToSlash(strings.TrimPrefix(p.pos.Filename, "../")), p.pos.Line, p.key())
			continue
		}
		sort.Strings(by)
		t.Logf("%s: fuzzed by %s", p.key(), strings.Join(by, ", "))
	}
	for k := range fuzzExempt {
		if !used[k] {
			t.Logf("exemption %s matches no function: remove it", k)
		}
	}
}

// TestParsersAreFuzzedFindsGaps runs the listing and the matching of
// TestParsersAreFuzzed on a small package, so that a change that made
// them find nothing, or everything, fails here.
func TestParsersAreFuzzedFindsGaps(t *testing.T) {
	const src = `package p
import "io"
func ParseA(b []byte) error { return nil }
func ParseB(s string) error { return nil }
func ParseN(n int) error { return nil }
func parseLower(b []byte) error { return nil }
type T struct{}
func (T) OpenX(r io.Reader) error { return nil }
type U struct{}
func (U) OpenX(b []byte) error { return nil }
func (U) UnmarshalText(b []byte) error { return nil }
type hidden struct{}
func (hidden) Open(b []byte) error { return nil }
`
	const test = `package p
import "testing"
func FuzzA(f *testing.F) { f.Fuzz(func(t *testing.T, b []byte) { helper(b) }) }
func helper(b []byte) { ParseA(b); var t T; t.OpenX(nil) }
func TestNotFuzz(t *testing.T) { ParseB(""); var u U; u.UnmarshalText(nil) }
`
	const engineLevel = `package fuzz
import (
	"testing"
	q "github.com/tlsticket/tlsticket/p"
)
func FuzzEngine(f *testing.F) { f.Fuzz(func(t *testing.T, b []byte) { var u q.U; u.UnmarshalText(b) }) }
`
	fset := token.NewFileSet()
	var files []goFile
	for _, f := range []struct {
		dir, src string
		test     bool
	}{{"p", src, false}, {"p", test, true}, {"fuzz", engineLevel, true}} {
		af, err := parser.ParseFile(fset, f.dir+".go", f.src, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, goFile{dir: f.dir, file: af, test: f.test})
	}
	parsers := listParsers(fset, files)
	var listed []string
	for _, p := range parsers {
		listed = append(listed, p.key())
	}
	sort.Strings(listed)
	if got, want := strings.Join(listed, " "), "p.ParseA p.ParseB p.T.OpenX p.U.OpenX p.U.UnmarshalText"; got != want {
		t.Fatalf("listed %q, want %q", got, want)
	}
	reach := reachOfFuzzTargets(files)
	var covered []string
	for _, p := range parsers {
		for _, r := range reach {
			if r.covers(p, p.name == "OpenX") {
				covered = append(covered, p.key()+"<-"+r.target)
			}
		}
	}
	sort.Strings(covered)
	// ParseB is called only by a test that is not a fuzz target. FuzzA
	// calls x.OpenX and names T but not U: OpenX is a method of both, so
	// only T.OpenX counts. (A target that named U anywhere would count
	// for U.OpenX too: without type checking, that is the limit.)
	if got, want := strings.Join(covered, " "), "p.ParseA<-p.FuzzA p.T.OpenX<-p.FuzzA p.U.UnmarshalText<-fuzz.FuzzEngine"; got != want {
		t.Errorf("covered %q, want %q", got, want)
	}
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
