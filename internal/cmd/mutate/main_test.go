package main

import (
	"bytes"
	"context"
	"encoding/json"
	"go/ast"
	"go/importer"
	"go/parser"
	"go/token"
	"go/types"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

func testConfig(t *testing.T, args ...string) *config {
	t.Helper()
	cfg, err := parseFlags(append(args, "PKG"), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// loadPkg lists and parses a package of testdata in place (no snapshot: nothing is written).
func loadPkg(t *testing.T, cfg *config, pattern string) *Package {
	t.Helper()
	root, err := moduleRoot()
	if err != nil {
		t.Fatal(err)
	}
	ps, err := goList(context.Background(), cfg, ".", root, []string{pattern})
	if err != nil || len(ps) != 1 {
		t.Fatalf("go list %s: %v (%d packages)", pattern, err, len(ps))
	}
	if err := ps[0].load(root, cfg); err != nil {
		t.Fatal(err)
	}
	return ps[0]
}

// The sites of testdata/tricky: every assert, nested sites, field receivers, a renamed bits
// import, the API's own conversions; no site for FromBinary with WithUnconstrainedInputs or
// for a local that shadows a helper's name.
func TestFindSites(t *testing.T) {
	cfg := testConfig(t, "-helpers", "toBits,wrap")
	p := loadPkg(t, cfg, "./testdata/tricky")
	var got []string
	for _, s := range p.sites {
		got = append(got, filepath.Base(s.File)+":"+strconv.Itoa(s.Line)+" "+s.Kind+" "+s.Op)
	}
	want := []string{
		"helpers.go:11 assert AssertIsEqual",
		"helpers.go:14 range bits.ToBinary",
		"helpers.go:19 helper toBits",
		"tricky.go:14 assert AssertIsEqual",
		"tricky.go:18 range bits.ToBinary",
		"tricky.go:23 assert AssertIsEqual",
		"tricky.go:23 helper toBits",
		"tricky.go:23 range bits.FromBinary",
		"tricky.go:24 assert AssertIsLessOrEqual",
		"tricky.go:25 assert AssertIsCrumb",
		"tricky.go:26 assert AssertIsDifferent",
		"tricky.go:27 range api.ToBinary",
		"tricky.go:28 range api.ToBinary",
		"tricky.go:29 range api.FromBinary",
		"tricky.go:35 helper wrap",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("sites:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if c := p.sites[3].Code; c != "g.api.AssertIsEqual(v, g.api.Add(v, 0))" {
		t.Errorf("multi-line code text %q", c)
	}
}

// Every mutant of testdata/tricky type-checks (against gnark's export data), in both range
// modes, and removes what it should.
func TestMutantsTypeCheck(t *testing.T) {
	for _, mode := range []string{rangeFree, rangeUnconstrained} {
		cfg := testConfig(t, "-helpers", "toBits,wrap", "-range", mode)
		p := loadPkg(t, cfg, "./testdata/tricky")
		imp := exportImporter(t, "./testdata/tricky")
		if err := typeCheck(t, p, nil, imp); err != nil {
			t.Fatalf("the original does not type-check: %v", err)
		}
		if typeCheck(t, p, map[string][]byte{filepath.Join(p.Dir, "bad.go"): []byte("package tricky\nvar _ int = \"\"\n")}, imp) == nil {
			t.Fatal("a type error passed")
		}
		for _, s := range p.sites {
			files, err := mutantFiles(s, mode)
			if err != nil {
				t.Fatalf("%s: %v", s.key(), err)
			}
			if err := typeCheck(t, p, files, imp); err != nil {
				t.Errorf("%s (%s): %v\n%s", s.key(), mode, err, files[s.file.abs])
			}
		}
	}

	cfg := testConfig(t, "-helpers", "toBits,wrap")
	p := loadPkg(t, cfg, "./testdata/tricky")
	site := func(line int, op string) *Site {
		for _, s := range p.sites {
			if s.Line == line && s.Op == op && strings.HasSuffix(s.File, "tricky.go") {
				return s
			}
		}
		t.Fatalf("no site %d %s", line, op)
		return nil
	}
	mut := func(s *Site) map[string]string {
		files, err := mutantFiles(s, rangeFree)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]string{}
		for k, v := range files {
			out[filepath.Base(k)] = string(v)
		}
		return out
	}
	// The multi-line assert with its trailing comma; line numbers do not move.
	m := mut(site(14, "AssertIsEqual"))["tricky.go"]
	if !strings.Contains(m, "\t_, _ = \n\t\tv,\n\t\tg.api.Add(v, 0)\n\treturn") {
		t.Errorf("multi-line assert mutant:\n%s", m)
	}
	if strings.Count(m, "\n") != strings.Count(string(site(14, "AssertIsEqual").file.src), "\n")-1 {
		t.Errorf("the mutant moved lines")
	}
	// Nested: deleting the outer assert keeps the helper call and FromBinary as they were.
	m = mut(site(23, "AssertIsEqual"))["tricky.go"]
	if !strings.Contains(m, "_, _ = toBits(api, x, 2)[0], gbits.FromBinary(api, b)\n") {
		t.Errorf("nested assert mutant:\n%s", m)
	}
	// A helper calling a helper: wrap's copy calls toBits's copy, whose body is mutated.
	ms := mut(site(35, "wrap"))
	if !strings.Contains(ms["tricky.go"], "_ = zzMutant_wrap(api, y)") {
		t.Errorf("helper call mutant:\n%s", ms["tricky.go"])
	}
	h := ms["helpers.go"]
	for _, want := range []string{
		"func zzMutant_wrap(api frontend.API, v frontend.Variable) []frontend.Variable {\n\treturn zzMutant_toBits(api, v, 3)",
		"func zzMutant_toBits(", "_, _ = v, 0", "return zzMutantBitsToBinary(api, v, bits.WithNbDigits(d))",
		"func toBits(", "\tapi.AssertIsEqual(v, 0)", // the original stays for the other call sites
	} {
		if !strings.Contains(h, want) {
			t.Errorf("helper copies lack %q:\n%s", want, h)
		}
	}
	if _, ok := ms[supportFile]; !ok {
		t.Error("the helper copy's range mutant has no support file")
	}
	m = mut(site(27, "api.ToBinary"))["tricky.go"]
	if !strings.Contains(m, "xb := zzMutantAPIToBinary(api, x, 8)") {
		t.Errorf("api.ToBinary mutant:\n%s", m)
	}
}

// exportImporter imports from the export data go list -export writes for pattern's deps.
func exportImporter(t *testing.T, pattern string) types.Importer {
	t.Helper()
	out, err := exec.Command("go", "list", "-export", "-deps", "-json=ImportPath,Export", pattern).Output()
	if err != nil {
		t.Fatalf("go list -export: %v", err)
	}
	exports := map[string]string{}
	dec := json.NewDecoder(bytes.NewReader(out))
	for dec.More() {
		var p struct{ ImportPath, Export string }
		if err := dec.Decode(&p); err != nil {
			t.Fatal(err)
		}
		exports[p.ImportPath] = p.Export
	}
	return importer.ForCompiler(token.NewFileSet(), "gc", func(path string) (io.ReadCloser, error) {
		return os.Open(exports[path])
	})
}

// typeCheck checks p with files (absolute path: content) replacing or adding to its own.
func typeCheck(t *testing.T, p *Package, files map[string][]byte, imp types.Importer) error {
	t.Helper()
	fset := token.NewFileSet()
	srcs := map[string][]byte{}
	for _, f := range p.Files {
		srcs[f.abs] = f.src
	}
	for k, v := range files {
		srcs[k] = v
	}
	var names []string
	for k := range srcs {
		names = append(names, k)
	}
	sort.Strings(names)
	var asts []*ast.File
	for _, n := range names {
		f, err := parser.ParseFile(fset, n, srcs[n], 0)
		if err != nil {
			return err
		}
		asts = append(asts, f)
	}
	conf := types.Config{Importer: imp}
	_, err := conf.Check(p.ImportPath, fset, asts, nil)
	return err
}

// The tool on testdata/fixture, end to end: the tested constraints are caught by the tests
// that exercise them, the untested booleanity survives, and the exit status says so.
func TestFixture(t *testing.T) {
	var stdout, stderr bytes.Buffer
	code := run([]string{"-j", "2", "-json", "./testdata/fixture"}, &stdout, &stderr)
	if code != 1 {
		t.Fatalf("exit %d, want 1 (a survivor)\n%s\n%s", code, stdout.String(), stderr.String())
	}
	var rep report
	if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
		t.Fatalf("%v\n%s", err, stdout.String())
	}
	type res struct{ kind, result, tests string }
	got := map[string]res{}
	for _, s := range rep.Sites {
		got[s.Code] = res{s.Kind, s.Result, strings.Join(s.Tests, ",")}
	}
	want := map[string]res{
		"bits.ToBinary(api, c.X, bits.WithNbDigits(8))": {kindRange, resCaught, "TestRange"},
		"api.AssertIsEqual(c.Out, api.Mul(c.X, c.X))":   {kindAssert, resCaught, "TestSquare"},
		"api.AssertIsBoolean(c.Flag)":                   {kindAssert, resSurvived, ""},
		"toBits(api, c.Nib, 4)":                         {kindHelper, resCaught, "TestNibble"},
		"api.AssertIsEqual(bits.FromBinary(api, nb, bits.WithUnconstrainedInputs()), bits.FromBinary(api, xb[:4], bits.WithUnconstrainedInputs()))": {kindAssert, resCaught, "TestNibble"},
		"bits.ToBinary(api, v, bits.WithNbDigits(d))": {kindRange, resCaught, "TestNibble"},
	}
	if len(got) != len(want) {
		t.Errorf("%d sites, want %d: %v", len(got), len(want), got)
	}
	for code, w := range want {
		if g, ok := got[code]; !ok || g != w {
			t.Errorf("%s: got %+v, want %+v", code, g, w)
		}
	}
	if s := rep.Summary; s.Caught != 5 || s.Survived != 1 || s.Broken != 0 || s.Timeout != 0 {
		t.Errorf("summary %+v", s)
	}

	// The same report as a markdown table, and the exit status with -allow-survivors.
	var md bytes.Buffer
	if err := write(&md, testConfig(t), &rep); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"| 3 | internal/cmd/mutate/testdata/fixture/fixture.go:23 | Circuit.Define | assert | `api.AssertIsBoolean(c.Flag)` | **survived** | **none** |",
		"| 2 | internal/cmd/mutate/testdata/fixture/fixture.go:22 | Circuit.Define | assert | `api.AssertIsEqual(c.Out, api.Mul(c.X, c.X))` | caught | TestSquare |",
		"mutate: 6 sites in github.com/probitylabs/probity/internal/cmd/mutate/testdata/fixture: 5 caught, 1 survived, 0 broken, 0 timeout",
		"survived: internal/cmd/mutate/testdata/fixture/fixture.go:23 Circuit.Define `api.AssertIsBoolean(c.Flag)`",
	} {
		if !strings.Contains(md.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, md.String())
		}
	}
	if exitCode(rep.Summary, true) != 0 || exitCode(summary{Sites: 1, Caught: 1}, false) != 0 ||
		exitCode(summary{Sites: 2, Survived: 1, Broken: 1}, true) != 2 {
		t.Error("exit codes")
	}
}

// A mutant that does not compile is reported broken (a bug of the tool), not caught, and its
// build error names the mutated file, not the overlay's copy.
func TestBrokenMutant(t *testing.T) {
	cfg := testConfig(t)
	root, err := moduleRoot()
	if err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	snap := filepath.Join(tmp, "src")
	if _, err := copyModule(root, snap, cfg.excludes); err != nil {
		t.Fatal(err)
	}
	ps, err := goList(context.Background(), cfg, filepath.Join(snap, "internal/cmd/mutate"), snap, []string{"./testdata/fixture"})
	if err != nil {
		t.Fatal(err)
	}
	p := ps[0]
	if err := p.load(snap, cfg); err != nil {
		t.Fatal(err)
	}
	s := *p.sites[0]
	s.ID = 1
	s.edits = []edit{{s.start, s.start, `"not a call" + `}} // a string plus a slice
	cfg.timeout = time.Minute
	testMutant(context.Background(), cfg, tmp, &s, nil)
	if s.Result != resBroken || !strings.Contains(s.Detail, "internal/cmd/mutate/testdata/fixture/fixture.go:21") {
		t.Fatalf("result %s, detail %q", s.Result, s.Detail)
	}
}

func TestFlags(t *testing.T) {
	for _, args := range [][]string{{}, {"-j", "0", "p"}, {"-range", "bogus", "p"}, {"-match", "(", "p"}} {
		if _, err := parseFlags(args, io.Discard); err == nil {
			t.Errorf("%q accepted", args)
		}
	}
	cfg := testConfig(t, "-also", "./a,./b", "-also", "./c", "-helpers", "f")
	if strings.Join(cfg.also, " ") != "./a ./b ./c" || !cfg.helpers["f"] || cfg.helpers["toBits"] {
		t.Errorf("lists: %v %v", cfg.also, cfg.helpers)
	}
}

func TestApplyAndCell(t *testing.T) {
	if _, err := apply([]byte("abcdef"), []edit{{1, 3, "x"}, {2, 4, "y"}}); err == nil {
		t.Error("overlapping edits applied")
	}
	b, err := apply([]byte("abcdef"), []edit{{4, 5, "Y"}, {0, 1, "X"}})
	if err != nil || string(b) != "XbcdYf" {
		t.Errorf("apply: %q %v", b, err)
	}
	if c := cell("a|b"); c != `a\|b` {
		t.Errorf("cell %q", c)
	}
	if c := codeText([]byte("f(\n\ta,\n\tb,\n)")); c != "f(a, b)" {
		t.Errorf("codeText %q", c)
	}
}
