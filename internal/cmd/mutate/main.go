// Command mutate checks that the tests of gnark circuit packages notice the loss of each
// constraint: it deletes every constraint site in turn, in a private copy of the module, and
// runs the packages' tests. A deletion the tests do not notice (a survivor) is a constraint
// whose removal only the pinned constraint count would reveal: either the constraint is not
// needed or a behavioural test is missing.
//
//	go run ./internal/cmd/mutate [flags] PKG...
//
// Constraint sites (found with go/ast in the non-test files of each package):
//
//   - assert: an expression statement api.AssertXxx(args) (AssertIsEqual, AssertIsDifferent,
//     AssertIsBoolean, AssertIsLessOrEqual, AssertIsCrumb, ...) on a receiver named api (or
//     x.api; -api names others). The mutant is `_, _ = args`, which keeps every argument
//     evaluated and used, so the file still compiles and sub-circuits built inside the
//     arguments stay.
//   - range: a call of gnark's bits.ToBinary, bits.FromBinary without
//     WithUnconstrainedInputs, or api.ToBinary / api.FromBinary. The mutant keeps the outputs
//     (the honest hint still computes them) but constrains nothing: see -range.
//   - helper: a call of a package-local function named by -helpers (range-check wrappers such
//     as toBits). The call is redirected to a copy of the function with every constraint site
//     of its body mutated, so that one call site loses its constraints and the others keep
//     them.
//
// Each mutant is built with `go test -overlay` against one snapshot of the module (tracked and
// untracked, non-ignored files; copied once to a temporary directory), so the working tree is
// never written and files others edit during the run do not change the result. A mutant is
// caught (some test fails), survived (all pass), broken (it does not compile: a bug of this
// tool) or timeout. The unmutated snapshot must pass first.
//
// Output: a markdown table (or -json) on stdout, progress on stderr. Exit status 1 when a
// mutant survived (unless -allow-survivors), 2 on any other problem (usage, baseline failure,
// broken mutants, timeouts).
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// bitsPath is gnark's std/math/bits; the range mutants call it through the support file.
const bitsPath = "github.com/consensys/gnark/std/math/bits"

// Names the mutants introduce into a package. The prefix keeps them clear of real code.
const (
	mutantPrefix = "zzMutant"
	supportFile  = "zz_mutant_support.go"
)

// Site kinds.
const (
	kindAssert = "assert"
	kindRange  = "range"
	kindHelper = "helper"
)

// Mutant results.
const (
	resCaught   = "caught"
	resSurvived = "survived"
	resBroken   = "broken"
	resTimeout  = "timeout"
)

// Range mutation modes (-range).
const (
	rangeFree          = "free"
	rangeUnconstrained = "unconstrained-outputs"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

// listFlag is a repeatable, comma-separated string list flag; the first use replaces the
// default.
type listFlag struct {
	vals []string
	set  bool
}

func (l *listFlag) String() string { return strings.Join(l.vals, ",") }

func (l *listFlag) Set(s string) error {
	if !l.set {
		l.vals, l.set = nil, true
	}
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			l.vals = append(l.vals, v)
		}
	}
	return nil
}

// config is the parsed command line.
type config struct {
	pkgs           []string
	also           []string
	apiNames       map[string]bool
	helpers        map[string]bool
	skip, runRe    string
	tags           string
	short          bool
	testflags      []string
	jobs           int
	timeout        time.Duration
	rangeMode      string
	json           bool
	list           bool
	allowSurvivors bool
	keep           bool
	match          *regexp.Regexp
	excludes       map[string]bool
	stderr         io.Writer
}

func parseFlags(args []string, stderr io.Writer) (*config, error) {
	fl := flag.NewFlagSet("mutate", flag.ContinueOnError)
	fl.SetOutput(stderr)
	fl.Usage = func() {
		fmt.Fprintln(stderr, "usage: go run ./internal/cmd/mutate [flags] PKG...  (flags before packages)")
		fl.PrintDefaults()
	}
	var also, apiNames, helpers, excludes listFlag
	apiNames.vals = []string{"api"}
	helpers.vals = []string{"toBits", "Prefix"}
	excludes.vals = []string{".git", "node_modules"}
	fl.Var(&also, "also", "extra packages whose tests also run for every mutant (repeatable, comma-separated)")
	fl.Var(&apiNames, "api", "receiver names (identifier or final selector) whose Assert* calls are sites")
	fl.Var(&helpers, "helpers", "package-local functions whose calls are range-check sites")
	fl.Var(&excludes, "exclude", "path components not copied into the snapshot (with the git-ignored files)")
	skip := fl.String("skip", "TestConstraintCounts", "go test -skip regexp: tests that do not count (the constraint-count pins)")
	runRe := fl.String("run", "", "go test -run regexp")
	tags := fl.String("tags", "", "build tags, for go list and go test")
	short := fl.Bool("short", true, "run the tests with -short, as CI does")
	testflags := fl.String("testflags", "", "extra go test flags, space-separated")
	jobs := fl.Int("j", 1, "mutants tested in parallel")
	timeout := fl.Duration("timeout", 0, "per-mutant test timeout (0: 4 x the baseline run + 1m)")
	rangeMode := fl.String("range", rangeFree, "range mutant: free (no constraint at all) or unconstrained-outputs (bits.WithUnconstrainedOutputs: only the bits' booleanity goes)")
	jsonOut := fl.Bool("json", false, "write JSON instead of the markdown table")
	list := fl.Bool("list", false, "only list the sites (no copy, no tests)")
	allow := fl.Bool("allow-survivors", false, "exit 0 even when a mutant survived")
	keep := fl.Bool("keep", false, "keep the snapshot and the mutant files (the path is printed)")
	match := fl.String("match", "", "only mutate sites whose \"file:line func code\" matches this regexp")
	if err := fl.Parse(args); err != nil {
		return nil, err
	}
	c := &config{
		pkgs: fl.Args(), also: also.vals, skip: *skip, runRe: *runRe, tags: *tags, short: *short,
		testflags: strings.Fields(*testflags), jobs: *jobs, timeout: *timeout, rangeMode: *rangeMode,
		json: *jsonOut, list: *list, allowSurvivors: *allow, keep: *keep, stderr: stderr,
		apiNames: set(apiNames.vals), helpers: set(helpers.vals), excludes: set(excludes.vals),
	}
	if len(c.pkgs) == 0 {
		fl.Usage()
		return nil, errors.New("no packages")
	}
	if c.jobs < 1 {
		return nil, errors.New("-j must be at least 1")
	}
	if c.rangeMode != rangeFree && c.rangeMode != rangeUnconstrained {
		return nil, fmt.Errorf("-range %q: want %s or %s", c.rangeMode, rangeFree, rangeUnconstrained)
	}
	if *match != "" {
		re, err := regexp.Compile(*match)
		if err != nil {
			return nil, fmt.Errorf("-match: %v", err)
		}
		c.match = re
	}
	return c, nil
}

func set(l []string) map[string]bool {
	m := map[string]bool{}
	for _, s := range l {
		m[s] = true
	}
	return m
}

// run is main without os.Exit, for the tests.
func run(args []string, stdout, stderr io.Writer) int {
	cfg, err := parseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, "mutate:", err)
		return 2
	}
	code, err := mutate(context.Background(), cfg, stdout)
	if err != nil {
		fmt.Fprintln(stderr, "mutate:", err)
		return 2
	}
	return code
}

// Package is one Go package of the snapshot and its parsed non-test files.
type Package struct {
	ImportPath string
	Name       string
	Dir        string // absolute, in the snapshot
	Files      []*srcFile
	helpers    map[string]*helperDecl
	sites      []*Site // every site, including those -match leaves out
}

type srcFile struct {
	abs  string // absolute path in the snapshot
	rel  string // slash path relative to the module root
	src  []byte
	fset *token.FileSet
	ast  *ast.File
}

type helperDecl struct {
	file *srcFile
	decl *ast.FuncDecl
}

// edit replaces src[start:end] with text. A site's edits touch only the head and tail of its
// call, never its arguments, so the edits of nested sites never overlap.
type edit struct {
	start, end int
	text       string
}

// Site is one constraint site and its mutant.
type Site struct {
	ID       int      `json:"id"`
	File     string   `json:"file"`
	Line     int      `json:"line"`
	Col      int      `json:"col"`
	Func     string   `json:"func"`
	Kind     string   `json:"kind"`
	Op       string   `json:"op"`
	Code     string   `json:"code"`
	Mutation string   `json:"mutation"`
	Result   string   `json:"result,omitempty"`
	Tests    []string `json:"tests,omitempty"`    // failing top-level tests (caught), running ones (timeout)
	Subtests []string `json:"subtests,omitempty"` // failing subtests
	Detail   string   `json:"detail,omitempty"`   // build errors (broken) or why no test is named
	Seconds  float64  `json:"seconds,omitempty"`

	pkg     *Package
	file    *srcFile
	start   int // offset of the site in file.src
	edits   []edit
	needs   []string // helpers whose mutated copies the mutant calls
	support bool     // needs the support file
}

func (s *Site) key() string { return fmt.Sprintf("%s:%d %s %s", s.File, s.Line, s.Func, s.Code) }

// report is the JSON output.
type report struct {
	Module   string   `json:"module"`
	Packages []string `json:"packages"`
	Also     []string `json:"also,omitempty"`
	Range    string   `json:"range_mode"`
	Sites    []*Site  `json:"sites"`
	Summary  summary  `json:"summary"`
}

type summary struct {
	Sites    int     `json:"sites"`
	Caught   int     `json:"caught"`
	Survived int     `json:"survived"`
	Broken   int     `json:"broken"`
	Timeout  int     `json:"timeout"`
	Seconds  float64 `json:"seconds"`
}

func mutate(ctx context.Context, cfg *config, stdout io.Writer) (int, error) {
	start := time.Now()
	root, err := moduleRoot()
	if err != nil {
		return 0, err
	}
	cwd, err := os.Getwd()
	if err != nil {
		return 0, err
	}
	rel, err := filepath.Rel(root, cwd)
	if err != nil {
		return 0, err
	}
	snap := root
	var tmp string
	if !cfg.list {
		tmp, err = os.MkdirTemp("", "mutate-")
		if err != nil {
			return 0, err
		}
		if cfg.keep {
			fmt.Fprintln(cfg.stderr, "mutate: snapshot and mutants in", tmp)
		} else {
			defer os.RemoveAll(tmp)
		}
		snap = filepath.Join(tmp, "src")
		n, err := copyModule(root, snap, cfg.excludes)
		if err != nil {
			return 0, fmt.Errorf("snapshot: %v", err)
		}
		fmt.Fprintf(cfg.stderr, "mutate: snapshot of %s: %d files\n", root, n)
	}
	workDir := filepath.Join(snap, rel)

	pkgs, err := goList(ctx, cfg, workDir, snap, cfg.pkgs)
	if err != nil {
		return 0, err
	}
	var also []string
	if len(cfg.also) > 0 {
		ap, err := goList(ctx, cfg, workDir, snap, cfg.also)
		if err != nil {
			return 0, err
		}
		for _, p := range ap {
			also = append(also, p.ImportPath)
		}
	}
	var sites []*Site
	for _, p := range pkgs {
		if err := p.load(snap, cfg); err != nil {
			return 0, err
		}
		for _, s := range p.sites {
			if cfg.match == nil || cfg.match.MatchString(s.key()) {
				sites = append(sites, s)
			}
		}
	}
	for i, s := range sites {
		s.ID = i + 1
	}
	rep := &report{Module: root, Also: also, Range: cfg.rangeMode, Sites: sites}
	for _, p := range pkgs {
		rep.Packages = append(rep.Packages, p.ImportPath)
	}
	if cfg.list {
		rep.Summary = summarize(sites, time.Since(start))
		return 0, write(stdout, cfg, rep)
	}
	if len(sites) == 0 {
		return 0, errors.New("no constraint sites in " + strings.Join(rep.Packages, " "))
	}

	// Baseline: the unmutated snapshot must pass, or every mutant would look caught.
	testPkgs := map[string]bool{}
	for _, s := range sites {
		testPkgs[s.pkg.ImportPath] = true
	}
	base := keys(testPkgs)
	base = append(base, also...)
	fmt.Fprintf(cfg.stderr, "mutate: %d sites; baseline go test %s\n", len(sites), strings.Join(base, " "))
	t0 := time.Now()
	bt := cfg.timeout
	if bt == 0 {
		bt = 20 * time.Minute
	}
	out := goTest(ctx, cfg, snap, "", uniq(base), bt)
	if out.result != resSurvived {
		return 0, fmt.Errorf("baseline (no mutation) does not pass: %s %s\n%s", out.result, strings.Join(out.tests, " "), tail(out.log, 40))
	}
	if cfg.timeout == 0 {
		cfg.timeout = 4*time.Since(t0) + time.Minute
	}
	fmt.Fprintf(cfg.stderr, "mutate: baseline passed in %.1fs; per-mutant timeout %s, -j %d\n",
		time.Since(t0).Seconds(), cfg.timeout.Round(time.Second), cfg.jobs)

	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		done int
	)
	next := make(chan *Site)
	for range cfg.jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for s := range next {
				testMutant(ctx, cfg, tmp, s, also)
				mu.Lock()
				done++
				fmt.Fprintf(cfg.stderr, "[%d/%d] %s:%d %s: %s %s (%.1fs)\n", done, len(sites), s.File, s.Line,
					s.Code, s.Result, strings.Join(s.Tests, ","), s.Seconds)
				mu.Unlock()
			}
		}()
	}
	for _, s := range sites {
		next <- s
	}
	close(next)
	wg.Wait()

	rep.Summary = summarize(sites, time.Since(start))
	if err := write(stdout, cfg, rep); err != nil {
		return 0, err
	}
	return exitCode(rep.Summary, cfg.allowSurvivors), nil
}

// exitCode is 2 when a result is unknown (broken, timeout), 1 when a mutant survived and
// survivors are not allowed, else 0.
func exitCode(sm summary, allowSurvivors bool) int {
	switch {
	case sm.Broken > 0 || sm.Timeout > 0:
		return 2
	case sm.Survived > 0 && !allowSurvivors:
		return 1
	}
	return 0
}

func keys(m map[string]bool) []string {
	var l []string
	for k := range m {
		l = append(l, k)
	}
	sort.Strings(l)
	return l
}

func uniq(l []string) []string {
	seen := map[string]bool{}
	var r []string
	for _, s := range l {
		if !seen[s] {
			seen[s] = true
			r = append(r, s)
		}
	}
	return r
}

func summarize(sites []*Site, d time.Duration) summary {
	s := summary{Sites: len(sites), Seconds: d.Round(time.Second).Seconds()}
	for _, x := range sites {
		switch x.Result {
		case resCaught:
			s.Caught++
		case resSurvived:
			s.Survived++
		case resBroken:
			s.Broken++
		case resTimeout:
			s.Timeout++
		}
	}
	return s
}

// moduleRoot is the directory of the main module's go.mod.
func moduleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %v", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", errors.New("not inside a Go module")
	}
	return filepath.Dir(gomod), nil
}

// copyModule copies the module at root to dst: the files git lists as tracked or untracked
// and not ignored (so build outputs and binaries stay behind), or, outside git, every file.
// Path components in exclude are skipped either way. It returns the number of files copied.
func copyModule(root, dst string, exclude map[string]bool) (int, error) {
	skip := func(rel string) bool {
		for _, c := range strings.Split(filepath.ToSlash(rel), "/") {
			if exclude[c] {
				return true
			}
		}
		return false
	}
	var files []string
	cmd := exec.Command("git", "-C", root, "ls-files", "-z", "--cached", "--others", "--exclude-standard")
	if out, err := cmd.Output(); err == nil {
		for _, f := range strings.Split(string(out), "\x00") {
			if f != "" {
				files = append(files, filepath.FromSlash(f))
			}
		}
	} else {
		err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(root, p)
			if rel != "." && skip(rel) {
				if d.IsDir() {
					return filepath.SkipDir
				}
				return nil
			}
			if !d.IsDir() {
				files = append(files, rel)
			}
			return nil
		})
		if err != nil {
			return 0, err
		}
	}
	n := 0
	for _, rel := range files {
		if skip(rel) {
			continue
		}
		src := filepath.Join(root, rel)
		fi, err := os.Lstat(src)
		if err != nil || fi.IsDir() { // deleted but still tracked; a submodule
			continue
		}
		out := filepath.Join(dst, rel)
		if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
			return n, err
		}
		if fi.Mode()&fs.ModeSymlink != 0 {
			target, err := os.Readlink(src)
			if err != nil {
				return n, err
			}
			if err := os.Symlink(target, out); err != nil {
				return n, err
			}
			n++
			continue
		}
		if !fi.Mode().IsRegular() {
			continue
		}
		data, err := os.ReadFile(src)
		if err != nil {
			return n, err
		}
		if err := os.WriteFile(out, data, fi.Mode().Perm()); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// goList resolves package patterns in the snapshot.
func goList(ctx context.Context, cfg *config, dir, snap string, patterns []string) ([]*Package, error) {
	args := []string{"list", "-e", "-json=ImportPath,Name,Dir,GoFiles,CgoFiles,Module,Error"}
	if cfg.tags != "" {
		args = append(args, "-tags", cfg.tags)
	}
	cmd := exec.CommandContext(ctx, "go", append(args, patterns...)...)
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("go list %s: %v\n%s", strings.Join(patterns, " "), err, stderr.String())
	}
	var pkgs []*Package
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p struct {
			ImportPath, Name, Dir string
			GoFiles, CgoFiles     []string
			Module                *struct{ Dir string }
			Error                 *struct{ Err string }
		}
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			return nil, err
		}
		if p.Error != nil {
			return nil, fmt.Errorf("package %s: %s", p.ImportPath, p.Error.Err)
		}
		if p.Module == nil || !sameDir(p.Module.Dir, snap) {
			return nil, fmt.Errorf("package %s is not in the main module", p.ImportPath)
		}
		pkg := &Package{ImportPath: p.ImportPath, Name: p.Name, Dir: p.Dir}
		for _, f := range p.GoFiles {
			pkg.Files = append(pkg.Files, &srcFile{abs: filepath.Join(p.Dir, f)})
		}
		pkgs = append(pkgs, pkg)
	}
	return pkgs, nil
}

func sameDir(a, b string) bool {
	ra, err1 := filepath.EvalSymlinks(a)
	rb, err2 := filepath.EvalSymlinks(b)
	if err1 != nil || err2 != nil {
		return filepath.Clean(a) == filepath.Clean(b)
	}
	return ra == rb
}

// load parses the package's files and finds its sites.
func (p *Package) load(root string, cfg *config) error {
	p.helpers = map[string]*helperDecl{}
	for _, f := range p.Files {
		src, err := os.ReadFile(f.abs)
		if err != nil {
			return err
		}
		r, err := filepath.Rel(root, f.abs)
		if err != nil {
			return err
		}
		f.src, f.rel, f.fset = src, filepath.ToSlash(r), token.NewFileSet()
		f.ast, err = parser.ParseFile(f.fset, f.abs, src, parser.ParseComments)
		if err != nil {
			return err
		}
		for _, d := range f.ast.Decls {
			if fd, ok := d.(*ast.FuncDecl); ok && fd.Recv == nil && cfg.helpers[fd.Name.Name] {
				p.helpers[fd.Name.Name] = &helperDecl{file: f, decl: fd}
			}
		}
	}
	for _, f := range p.Files {
		p.sites = append(p.sites, findSites(p, f, cfg)...)
	}
	return nil
}

// findSites lists the constraint sites of one file, in source order.
func findSites(p *Package, f *srcFile, cfg *config) []*Site {
	bitsName := ""
	for _, im := range f.ast.Imports {
		if p, _ := strconv.Unquote(im.Path.Value); p == bitsPath {
			bitsName = "bits"
			if im.Name != nil {
				bitsName = im.Name.Name
			}
		}
	}
	off := func(pos token.Pos) int { return f.fset.Position(pos).Offset }
	isAPI := func(x ast.Expr) bool {
		switch x := x.(type) {
		case *ast.Ident:
			return cfg.apiNames[x.Name]
		case *ast.SelectorExpr:
			return cfg.apiNames[x.Sel.Name]
		}
		return false
	}
	isBits := func(x ast.Expr) bool {
		id, ok := x.(*ast.Ident)
		return ok && bitsName != "" && id.Name == bitsName && id.Obj == nil // Obj == nil: not a local
	}
	var sites []*Site
	add := func(n ast.Node, fn, kind, op, mutation string, edits ...edit) *Site {
		pos := f.fset.Position(n.Pos())
		s := &Site{File: f.rel, Line: pos.Line, Col: pos.Column, Func: fn, Kind: kind, Op: op,
			Code: codeText(f.src[off(n.Pos()):off(n.End())]), Mutation: mutation,
			pkg: p, file: f, start: pos.Offset, edits: edits}
		sites = append(sites, s)
		return s
	}
	for _, d := range f.ast.Decls {
		fn := ""
		if fd, ok := d.(*ast.FuncDecl); ok {
			fn = fd.Name.Name
			if fd.Recv != nil && len(fd.Recv.List) == 1 {
				fn = recvName(fd.Recv.List[0].Type) + "." + fn
			}
		}
		ast.Inspect(d, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.ExprStmt:
				call, ok := n.X.(*ast.CallExpr)
				if !ok || len(call.Args) == 0 || call.Ellipsis.IsValid() {
					return true
				}
				sel, ok := call.Fun.(*ast.SelectorExpr)
				if !ok || !isAPI(sel.X) || !strings.HasPrefix(sel.Sel.Name, "Assert") {
					return true
				}
				// api.AssertX(a, b) -> _, _ = a, b: the head becomes the blanks, the closing
				// parenthesis (and a trailing comma) goes.
				blanks := strings.TrimSuffix(strings.Repeat("_, ", len(call.Args)), ", ") + " = "
				last := call.Args[len(call.Args)-1]
				add(n, fn, kindAssert, sel.Sel.Name, "delete (blank-assign the arguments)",
					edit{off(n.Pos()), off(call.Lparen) + 1, blanks},
					edit{off(last.End()), off(call.Rparen) + 1, ""})
			case *ast.CallExpr:
				switch fun := n.Fun.(type) {
				case *ast.SelectorExpr:
					name := fun.Sel.Name
					switch {
					case isBits(fun.X) && name == "ToBinary":
						s := add(n, fn, kindRange, "bits.ToBinary", cfg.rangeMode,
							edit{off(fun.Pos()), off(fun.End()), mutantPrefix + "BitsToBinary"})
						s.support = true
					case isBits(fun.X) && name == "FromBinary" && !hasOption(n, bitsName, "WithUnconstrainedInputs"):
						s := add(n, fn, kindRange, "bits.FromBinary", "WithUnconstrainedInputs",
							edit{off(fun.Pos()), off(fun.End()), mutantPrefix + "BitsFromBinary"})
						s.support = true
					case isAPI(fun.X) && (name == "ToBinary" || name == "FromBinary") && len(n.Args) > 0:
						recv := string(f.src[off(fun.X.Pos()):off(fun.X.End())])
						m := cfg.rangeMode
						if name == "FromBinary" {
							m = "WithUnconstrainedInputs"
						}
						s := add(n, fn, kindRange, "api."+name, m,
							edit{off(fun.Pos()), off(n.Lparen) + 1, mutantPrefix + "API" + name + "(" + recv + ", "})
						s.support = true
					}
				case *ast.Ident:
					// Obj is nil for a function declared in another file of the package, the
					// FuncDecl for one in this file, and something else for a local that
					// shadows the helper's name.
					if h := p.helpers[fun.Name]; h != nil && (fun.Obj == nil || fun.Obj.Decl == h.decl) {
						s := add(n, fn, kindHelper, fun.Name, "call a copy with its constraints mutated",
							edit{off(fun.Pos()), off(fun.End()), helperCopyName(fun.Name)})
						s.needs = []string{fun.Name}
					}
				}
			}
			return true
		})
	}
	sort.SliceStable(sites, func(i, j int) bool { return sites[i].start < sites[j].start })
	return sites
}

// hasOption reports whether one of call's arguments is a call of bitsName.opt.
func hasOption(call *ast.CallExpr, bitsName, opt string) bool {
	for _, a := range call.Args {
		if c, ok := a.(*ast.CallExpr); ok {
			if s, ok := c.Fun.(*ast.SelectorExpr); ok && s.Sel.Name == opt {
				if id, ok := s.X.(*ast.Ident); ok && id.Name == bitsName {
					return true
				}
			}
		}
	}
	return false
}

func recvName(t ast.Expr) string {
	switch t := t.(type) {
	case *ast.StarExpr:
		return recvName(t.X)
	case *ast.IndexExpr:
		return recvName(t.X)
	case *ast.IndexListExpr:
		return recvName(t.X)
	case *ast.Ident:
		return t.Name
	}
	return "?"
}

func helperCopyName(h string) string { return mutantPrefix + "_" + h }

var spaces = regexp.MustCompile(`\s+`)

// codeText is a site's source on one line.
func codeText(b []byte) string {
	s := spaces.ReplaceAllString(string(b), " ")
	s = strings.ReplaceAll(strings.ReplaceAll(s, "( ", "("), ", )", ")")
	return s
}

// apply returns src with the edits applied.
func apply(src []byte, edits []edit) ([]byte, error) {
	es := append([]edit(nil), edits...)
	sort.Slice(es, func(i, j int) bool { return es[i].start < es[j].start })
	var b bytes.Buffer
	at := 0
	for _, e := range es {
		if e.start < at || e.end < e.start || e.end > len(src) {
			return nil, fmt.Errorf("overlapping or bad edit at offset %d", e.start)
		}
		b.Write(src[at:e.start])
		b.WriteString(e.text)
		at = e.end
	}
	b.Write(src[at:])
	return b.Bytes(), nil
}

// mutantFiles returns the files (absolute path in the snapshot: content) of site s's mutant.
func mutantFiles(s *Site, rangeMode string) (map[string][]byte, error) {
	p := s.pkg
	edits := map[*srcFile][]edit{s.file: s.edits}
	appendix := map[*srcFile][]byte{}
	support := s.support
	done := map[string]bool{}
	queue := append([]string(nil), s.needs...)
	for len(queue) > 0 {
		h := queue[0]
		queue = queue[1:]
		if done[h] {
			continue
		}
		done[h] = true
		hd := p.helpers[h]
		text, needs, sup, err := helperCopy(p, hd)
		if err != nil {
			return nil, err
		}
		appendix[hd.file] = append(appendix[hd.file], text...)
		queue = append(queue, needs...)
		support = support || sup
		if _, ok := edits[hd.file]; !ok {
			edits[hd.file] = nil
		}
	}
	out := map[string][]byte{}
	for f, es := range edits {
		b, err := apply(f.src, es)
		if err != nil {
			return nil, fmt.Errorf("%s: %v", f.rel, err)
		}
		out[f.abs] = append(b, appendix[f]...)
	}
	if support {
		out[filepath.Join(p.Dir, supportFile)] = supportSource(p.Name, rangeMode)
	}
	for name, b := range out {
		if _, err := parser.ParseFile(token.NewFileSet(), name, b, 0); err != nil {
			return nil, fmt.Errorf("mutant does not parse: %v", err)
		}
	}
	return out, nil
}

// helperCopy returns the source of a renamed copy of helper hd with every site of its body
// mutated (helper calls go to their copies too: needs), and whether it needs the support file.
func helperCopy(p *Package, hd *helperDecl) (text []byte, needs []string, support bool, err error) {
	f := hd.file
	off := func(pos token.Pos) int { return f.fset.Position(pos).Offset }
	lo, hi := off(hd.decl.Pos()), off(hd.decl.End())
	es := []edit{{off(hd.decl.Name.Pos()) - lo, off(hd.decl.Name.End()) - lo, helperCopyName(hd.decl.Name.Name)}}
	for _, s := range p.sites {
		if s.file != f || s.start < lo || s.start >= hi {
			continue
		}
		for _, e := range s.edits {
			es = append(es, edit{e.start - lo, e.end - lo, e.text})
		}
		needs = append(needs, s.needs...)
		support = support || s.support
	}
	b, err := apply(f.src[lo:hi], es)
	if err != nil {
		return nil, nil, false, err
	}
	return append([]byte("\n\n// Mutant copy (go run ./internal/cmd/mutate).\n"), append(b, '\n')...), needs, support, nil
}

// supportSource is the file the range mutants call. In free mode gnark's ToBinary runs on an
// API whose AssertIsEqual and AssertIsBoolean record nothing, with the modulus check off: the
// honest hint still computes the bits, but nothing ties them to v or to {0, 1}. That is the
// deletion of the range check. (bits.WithUnconstrainedOutputs alone keeps the constraint
// sum(2^i b_i) = v and the < R check: an honest solver's bits are the same, so no test short
// of overriding gnark's nBits hint can notice it; -range unconstrained-outputs selects it.)
func supportSource(pkg, rangeMode string) []byte {
	toBinary := `bits.ToBinary(zzMutantFreeAPI{api}, v, append(opts, bits.OmitModulusCheck())...)`
	if rangeMode == rangeUnconstrained {
		toBinary = `bits.ToBinary(api, v, append(opts, bits.WithUnconstrainedOutputs())...)`
	}
	return []byte(`// Code generated by go run ./internal/cmd/mutate; DO NOT EDIT.

package ` + pkg + `

import (
	"github.com/consensys/gnark/frontend"
	"github.com/consensys/gnark/std/math/bits"
)

type zzMutantFreeAPI struct{ frontend.API }

func (zzMutantFreeAPI) AssertIsEqual(_, _ frontend.Variable) {}

func (zzMutantFreeAPI) AssertIsBoolean(_ frontend.Variable) {}

func zzMutantBitsToBinary(api frontend.API, v frontend.Variable, opts ...bits.BaseConversionOption) []frontend.Variable {
	return ` + toBinary + `
}

func zzMutantBitsFromBinary(api frontend.API, d []frontend.Variable, opts ...bits.BaseConversionOption) frontend.Variable {
	return bits.FromBinary(api, d, append(opts, bits.WithUnconstrainedInputs())...)
}

func zzMutantAPIToBinary(api frontend.API, v frontend.Variable, n ...int) []frontend.Variable {
	var opts []bits.BaseConversionOption
	if len(n) > 0 {
		opts = append(opts, bits.WithNbDigits(n[0]))
	}
	return zzMutantBitsToBinary(api, v, opts...)
}

func zzMutantAPIFromBinary(api frontend.API, d ...frontend.Variable) frontend.Variable {
	return zzMutantBitsFromBinary(api, d)
}
`)
}

// testMutant builds site s's mutant and records the result in s.
func testMutant(ctx context.Context, cfg *config, tmp string, s *Site, also []string) {
	t0 := time.Now()
	defer func() { s.Seconds = time.Since(t0).Round(100 * time.Millisecond).Seconds() }()
	files, err := mutantFiles(s, cfg.rangeMode)
	if err != nil {
		s.Result, s.Detail = resBroken, err.Error()
		return
	}
	dir := filepath.Join(tmp, "mutants", strconv.Itoa(s.ID))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		s.Result, s.Detail = resBroken, err.Error()
		return
	}
	ov := struct{ Replace map[string]string }{map[string]string{}}
	var names []string // overlay file, original's path relative to the snapshot, ...
	i := 0
	for orig, b := range files {
		i++
		p := filepath.Join(dir, fmt.Sprintf("%d_%s", i, filepath.Base(orig)))
		if err := os.WriteFile(p, b, 0o644); err != nil {
			s.Result, s.Detail = resBroken, err.Error()
			return
		}
		ov.Replace[orig] = p
		rel, _ := filepath.Rel(filepath.Join(tmp, "src"), orig)
		names = append(names, p, filepath.ToSlash(rel))
		if pr, err := filepath.Rel(filepath.Join(tmp, "src"), p); err == nil { // go prints paths relative to its directory
			names = append(names, pr, filepath.ToSlash(rel))
		}
	}
	ovPath := filepath.Join(dir, "overlay.json")
	ob, _ := json.Marshal(ov)
	if err := os.WriteFile(ovPath, ob, 0o644); err != nil {
		s.Result, s.Detail = resBroken, err.Error()
		return
	}
	out := goTest(ctx, cfg, filepath.Join(tmp, "src"), ovPath, uniq(append([]string{s.pkg.ImportPath}, also...)), cfg.timeout)
	// Build errors name the overlay's files: name the mutated originals instead.
	s.Result, s.Tests, s.Subtests, s.Detail = out.result, out.tests, out.subtests, strings.NewReplacer(names...).Replace(out.detail)
}

// testOutcome is one go test run, classified. result is resSurvived when every test passed.
type testOutcome struct {
	result          string
	tests, subtests []string
	detail          string
	log             string
}

// testEvent is go test -json's event (cmd/test2json), with the build events of Go 1.24+.
type testEvent struct {
	Action      string
	Package     string
	Test        string
	Output      string
	FailedBuild string
}

var timedOutRe = regexp.MustCompile(`(?m)^panic: test timed out after`)

// goTest runs go test -json on pkgs in dir with the overlay (if any) and classifies the run.
func goTest(ctx context.Context, cfg *config, dir, overlay string, pkgs []string, timeout time.Duration) testOutcome {
	args := []string{"test", "-count=1", "-vet=off", "-json", "-timeout", timeout.String()}
	if cfg.short {
		args = append(args, "-short")
	}
	if cfg.tags != "" {
		args = append(args, "-tags", cfg.tags)
	}
	if cfg.runRe != "" {
		args = append(args, "-run", cfg.runRe)
	}
	if cfg.skip != "" {
		args = append(args, "-skip", cfg.skip)
	}
	if overlay != "" {
		args = append(args, "-overlay", overlay)
	}
	args = append(args, cfg.testflags...)
	args = append(args, pkgs...)
	// go test kills a test binary that outlives -timeout by a minute; this bounds the build.
	ctx, cancel := context.WithTimeout(ctx, timeout+3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = dir
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()

	var o testOutcome
	var log strings.Builder
	failed, subFailed := map[string]bool{}, map[string]bool{}
	buildFailed := false
	var buildOut strings.Builder
	sc := bufio.NewScanner(&stdout)
	sc.Buffer(make([]byte, 1<<20), 1<<26)
	for sc.Scan() {
		var ev testEvent
		if json.Unmarshal(sc.Bytes(), &ev) != nil {
			log.WriteString(sc.Text() + "\n")
			continue
		}
		log.WriteString(ev.Output)
		switch {
		case ev.Action == "build-output":
			buildOut.WriteString(ev.Output)
		case ev.Action == "build-fail" || ev.FailedBuild != "":
			buildFailed = true
		case ev.Action == "fail" && ev.Test != "":
			name := ev.Test
			if len(pkgs) > 1 { // say which package's test it is
				name = path.Base(ev.Package) + "." + name
			}
			if top, _, sub := strings.Cut(name, "/"); sub {
				subFailed[name] = true
				failed[top] = true
			} else {
				failed[name] = true
			}
		}
	}
	log.WriteString(stderr.String())
	o.log = log.String()
	if strings.Contains(o.log, "[build failed]") || strings.Contains(o.log, "[setup failed]") {
		buildFailed = true
	}
	o.tests, o.subtests = keys(failed), keys(subFailed)
	switch {
	case buildFailed:
		o.result = resBroken
		o.detail = tail(buildOut.String()+stderr.String(), 10)
	case ctx.Err() != nil || timedOutRe.MatchString(o.log):
		o.result = resTimeout
		o.detail = "tests ran past " + timeout.String()
	case err == nil:
		o.result = resSurvived
	case len(failed) > 0:
		o.result = resCaught
	default:
		var ee *exec.ExitError
		if errors.As(err, &ee) && strings.Contains(o.log, "FAIL") {
			// A failure outside any test: a panic in init or TestMain, a failing example.
			o.result = resCaught
			o.tests = []string{"(package)"}
			o.detail = tail(o.log, 10)
		} else {
			o.result = resBroken
			o.detail = fmt.Sprintf("go test: %v\n%s", err, tail(o.log, 10))
		}
	}
	return o
}

// tail is the last n lines of s.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// write prints the report as JSON or as a markdown table with a summary line.
func write(w io.Writer, cfg *config, rep *report) error {
	if cfg.json {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	var b strings.Builder
	if cfg.list {
		b.WriteString("| # | site | func | kind | code | mutation |\n|---|---|---|---|---|---|\n")
		for _, s := range rep.Sites {
			fmt.Fprintf(&b, "| %d | %s:%d | %s | %s | `%s` | %s |\n", s.ID, s.File, s.Line, s.Func, s.Kind, cell(s.Code), s.Mutation)
		}
		fmt.Fprintf(&b, "\n%d sites in %s\n", len(rep.Sites), strings.Join(rep.Packages, " "))
		_, err := io.WriteString(w, b.String())
		return err
	}
	b.WriteString("| # | site | func | kind | code | result | caught by |\n|---|---|---|---|---|---|---|\n")
	for _, s := range rep.Sites {
		by := strings.Join(s.Tests, ", ")
		switch s.Result {
		case resSurvived:
			by = "**none**"
		case resBroken:
			by = firstLine(s.Detail)
		case resTimeout:
			by = "(timeout) " + by
		}
		res := s.Result
		if res != resCaught {
			res = "**" + res + "**"
		}
		fmt.Fprintf(&b, "| %d | %s:%d | %s | %s | `%s` | %s | %s |\n", s.ID, s.File, s.Line, s.Func, s.Kind, cell(s.Code), res, cell(by))
	}
	sm := rep.Summary
	fmt.Fprintf(&b, "\nmutate: %d sites in %s: %d caught, %d survived, %d broken, %d timeout (%s, -range %s)\n",
		sm.Sites, strings.Join(rep.Packages, " "), sm.Caught, sm.Survived, sm.Broken, sm.Timeout,
		time.Duration(sm.Seconds*float64(time.Second)), rep.Range)
	for _, s := range rep.Sites {
		if s.Result == resSurvived {
			fmt.Fprintf(&b, "survived: %s:%d %s `%s`\n", s.File, s.Line, s.Func, s.Code)
		}
		if s.Result == resBroken {
			fmt.Fprintf(&b, "broken: %s:%d `%s`:\n%s\n", s.File, s.Line, s.Code, s.Detail)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(strings.TrimSpace(s), "\n")
	return l
}

// cell makes s safe inside a markdown table cell (and its code span).
func cell(s string) string {
	s = strings.ReplaceAll(s, "|", `\|`)
	if r := []rune(s); len(r) > 90 {
		s = string(r[:87]) + "..."
	}
	return s
}
