package main

import (
	"context"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/probitylabs/probity/circuits"
)

// `probity ceremony ACTION`: one action per method of circuits.Ceremony. The package does the
// cryptography and checks every file's header (magic, phase, class id); this file opens and
// writes files and, when a transcript fails, names the first contribution that breaks it.

func init() {
	register("ceremony", "multi-party key ceremony for a universal class: init, contribute, verify, seal, finalize", runCeremony)
}

type ceremonyAction struct {
	name, args, summary string
	run                 func(ctx context.Context, fs *flag.FlagSet, args []string, stdout, stderr io.Writer) error
}

// ceremonyActions, in the order a ceremony runs. Contribute serves both phases: the package
// reads the phase from the file's header.
var ceremonyActions = []ceremonyAction{
	{"init", "--class C --out FILE", "write the initial phase-1 state", ceremonyInit},
	{"contribute", "--class C --in FILE --out FILE", "add fresh randomness to the latest state of either phase", ceremonyContribute},
	{"verify-phase1", "--class C FILE...", "check the phase-1 contributions, in order", ceremonyVerifyPhase1},
	{"seal-phase1", "--class C --beacon HEX --commons-out FILE --out FILE FILE...", "verify phase 1, apply the beacon; write the SRS commons and the initial phase-2 state", ceremonySealPhase1},
	{"verify", "--class C --commons FILE FILE...", "check the phase-2 contributions, in order", ceremonyVerify},
	{"finalize", "--class C --beacon HEX --commons FILE --out-dir DIR [--install] [--keys-dir DIR] FILE...", "verify phase 2, apply the beacon, write pk and vk (and install them in the key cache)", ceremonyFinalize},
}

func printCeremonyUsage(w io.Writer) {
	fmt.Fprintln(w, "Usage: probity ceremony ACTION [flags] [FILE...]\n\n"+
		"Runs gnark's two-phase Groth16 MPC for one universal class. The keys are sound if at least one\n"+
		"contributor destroyed their randomness (contribute keeps it only in memory). The flow:\n\n"+
		"  init -> contribute* -> seal-phase1 -> contribute* -> finalize\n\n"+
		"FILE... lists the contributions of a phase in order: every contribute output after init\n"+
		"(phase 1) or after seal-phase1 (phase 2), not the initial states themselves.\n\nActions:")
	for _, a := range ceremonyActions {
		fmt.Fprintf(w, "  %-14s %s\n  %-14s   %s\n", a.name, a.summary, "", a.args)
	}
}

func runCeremony(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		printCeremonyUsage(stderr)
		return usageError{"ceremony needs an action"}
	}
	if args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		printCeremonyUsage(stdout)
		return nil
	}
	for _, a := range ceremonyActions {
		if a.name != args[0] {
			continue
		}
		fs := newFlags("ceremony "+a.name, fmt.Sprintf("ceremony %s %s\n\n%s.", a.name, a.args, a.summary), stderr)
		jsonFlag(fs) // read by each action through report
		return runAction(ctx, a, fs, args[1:], stdout, stderr)
	}
	names := make([]string, len(ceremonyActions))
	for i, a := range ceremonyActions {
		names[i] = a.name
	}
	return usageError{fmt.Sprintf("unknown ceremony action %q (known: %s)", args[0], strings.Join(names, ", "))}
}

// runAction runs one action. gnark's mpcsetup panics on some inconsistent inputs, notably SRS
// commons sealed for a smaller circuit ("Number of constraints is larger than expected"); such
// a file is bad input, reported as an error rather than a crash.
func runAction(ctx context.Context, a ceremonyAction, fs *flag.FlagSet, args []string, stdout, stderr io.Writer) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = withHint(fmt.Errorf("ceremony %s: %w: inconsistent input files: %v", a.name, circuits.ErrCeremony, r),
				"check that every file, --commons included, belongs to this class's ceremony")
		}
	}()
	return a.run(ctx, fs, args, stdout, stderr)
}

// newCeremony compiles the class's circuit.
func newCeremony(class string) (*circuits.Ceremony, error) {
	s, err := lookupClass("class", class)
	if err != nil {
		return nil, err
	}
	return circuits.NewCeremony(s)
}

func parseBeacon(s string) ([]byte, error) {
	if s == "" {
		return nil, usageError{"--beacon is required: public randomness fixed after the last contribution (e.g. a future block hash), as hex"}
	}
	b, err := hex.DecodeString(strings.TrimPrefix(strings.TrimPrefix(s, "0x"), "0X"))
	if err != nil || len(b) == 0 {
		return nil, usageError{fmt.Sprintf("--beacon %q is not hex", s)}
	}
	return b, nil
}

// openAll opens the files; the caller closes them with the returned function.
func openAll(paths []string) ([]io.Reader, func(), error) {
	files := make([]*os.File, 0, len(paths))
	closeAll := func() {
		for _, f := range files {
			f.Close()
		}
	}
	rs := make([]io.Reader, 0, len(paths))
	for _, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			closeAll()
			return nil, nil, err
		}
		files = append(files, f)
		rs = append(rs, f)
	}
	return rs, closeAll, nil
}

// withFiles runs fn on freshly opened readers of paths.
func withFiles(paths []string, fn func([]io.Reader) error) error {
	rs, closeAll, err := openAll(paths)
	if err != nil {
		return err
	}
	defer closeAll()
	return fn(rs)
}

// blame turns a transcript failure into one naming the first bad contribution. The package
// checks contributions in order and stops at the first failure, so whether a prefix of the
// transcript verifies is monotone and a binary search over prefixes finds the culprit in
// log2(n) extra checks, paid only when the transcript has already failed. full is the error
// of check(files) when checked is true; otherwise it came from another operation (sealing,
// finalizing) whose failure may not be the transcript's, which is then checked whole first.
func blame(files []string, full error, checked bool, check func(prefix []string) error) error {
	if !errors.Is(full, circuits.ErrCeremony) || len(files) == 0 {
		return full
	}
	if !checked {
		err := check(files)
		if err == nil {
			return full
		}
		full = err
	}
	lo, hi, errHi := 0, len(files)-1, full
	for lo < hi {
		mid := (lo + hi) / 2
		if err := check(files[:mid+1]); err != nil {
			hi, errHi = mid, err
		} else {
			lo = mid + 1
		}
	}
	return fmt.Errorf("%s (contribution %d of %d) does not verify: %w", files[lo], lo+1, len(files), errHi)
}

// verifyTranscript checks a phase's contributions in order. A transcript that does not verify
// is the answer "no" (exit 1), naming the first contribution that breaks it; a file that
// cannot be read is a failure to run.
func verifyTranscript(files []string, check func(prefix []string) error) error {
	err := check(files)
	if err == nil {
		return nil
	}
	if err = blame(files, err, true, check); errors.Is(err, circuits.ErrCeremony) {
		return failedError{err}
	}
	return err
}

// phase1Check verifies a phase-1 transcript prefix.
func phase1Check(c *circuits.Ceremony) func([]string) error {
	return func(paths []string) error {
		return withFiles(paths, func(rs []io.Reader) error { return c.VerifyPhase1(rs...) })
	}
}

// checkCommons reads the SRS commons on their own, so that a bad commons file is reported as
// such rather than blamed on the first contribution.
func checkCommons(c *circuits.Ceremony, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := c.CheckCommons(f); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

func needFiles(fs *flag.FlagSet, phase int) ([]string, error) {
	if fs.NArg() == 0 {
		return nil, usageError{fmt.Sprintf("list the phase-%d contribution files, in order", phase)}
	}
	return fs.Args(), nil
}

func ceremonyInit(ctx context.Context, fs *flag.FlagSet, args []string, stdout, stderr io.Writer) error {
	class := fs.String("class", "", "universal class `name`")
	out := fs.String("out", "", "output `file` (the initial phase-1 state)")
	if done, err := parseFlags(fs, args); done || err != nil {
		return err
	}
	switch {
	case *out == "":
		return usageError{"--out is required"}
	case fs.NArg() > 0:
		return usageError{fmt.Sprintf("unexpected argument %q", fs.Arg(0))}
	}
	c, err := newCeremony(*class)
	if err != nil {
		return err
	}
	sum, err := writeNew(*out, true, c.Init)
	if err != nil {
		return err
	}
	return report(fs, stdout, ceremonyReport{Circuit: c.Target.String(), Files: []entryFile{{sum, *out}}},
		"%s: initial phase-1 state for %s\n  sha256 %s", *out, c.Target, sum)
}

func ceremonyContribute(ctx context.Context, fs *flag.FlagSet, args []string, stdout, stderr io.Writer) error {
	class := fs.String("class", "", "universal class `name`")
	in := fs.String("in", "", "latest state `file` (init, seal-phase1 or contribute output)")
	out := fs.String("out", "", "output `file` (your contribution; publish its sha256)")
	if done, err := parseFlags(fs, args); done || err != nil {
		return err
	}
	switch {
	case *in == "" || *out == "":
		return usageError{"--in and --out are required"}
	case fs.NArg() > 0:
		return usageError{fmt.Sprintf("unexpected argument %q", fs.Arg(0))}
	}
	c, err := newCeremony(*class)
	if err != nil {
		return err
	}
	f, err := os.Open(*in)
	if err != nil {
		return err
	}
	defer f.Close()
	sum, err := writeNew(*out, true, func(w io.Writer) error { return c.Contribute(f, w) })
	if err != nil {
		if errors.Is(err, circuits.ErrCeremony) {
			return fmt.Errorf("--in %s: %w", *in, err)
		}
		return err
	}
	return report(fs, stdout, ceremonyReport{Circuit: c.Target.String(), Files: []entryFile{{sum, *out}}},
		"%s: contribution to %s (the randomness was discarded with this process)\n  sha256 %s", *out, c.Target, sum)
}

func ceremonyVerifyPhase1(ctx context.Context, fs *flag.FlagSet, args []string, stdout, stderr io.Writer) error {
	class := fs.String("class", "", "universal class `name`")
	if done, err := parseFlags(fs, args); done || err != nil {
		return err
	}
	files, err := needFiles(fs, 1)
	if err != nil {
		return err
	}
	c, err := newCeremony(*class)
	if err != nil {
		return err
	}
	if err := verifyTranscript(files, phase1Check(c)); err != nil {
		return err
	}
	return report(fs, stdout, ceremonyReport{Circuit: c.Target.String(), Contributions: len(files)},
		"phase 1 of %s: %d contributions verify", c.Target, len(files))
}

func ceremonySealPhase1(ctx context.Context, fs *flag.FlagSet, args []string, stdout, stderr io.Writer) error {
	class := fs.String("class", "", "universal class `name`")
	beaconHex := fs.String("beacon", "", "public random beacon, `hex`")
	commonsOut := fs.String("commons-out", "", "output `file` for the SRS commons (needed by verify and finalize)")
	out := fs.String("out", "", "output `file` for the initial phase-2 state")
	if done, err := parseFlags(fs, args); done || err != nil {
		return err
	}
	beacon, err := parseBeacon(*beaconHex)
	if err != nil {
		return err
	}
	if *commonsOut == "" || *out == "" {
		return usageError{"--commons-out and --out are required"}
	}
	files, err := needFiles(fs, 1)
	if err != nil {
		return err
	}
	c, err := newCeremony(*class)
	if err != nil {
		return err
	}
	var commonsSum, phase2Sum string
	// SealPhase1 writes both outputs at once, so the phase-2 state is written inside the
	// commons' writer callback.
	err = withFiles(files, func(rs []io.Reader) error {
		var werr error
		commonsSum, werr = writeNew(*commonsOut, true, func(cw io.Writer) error {
			var perr error
			phase2Sum, perr = writeNew(*out, true, func(pw io.Writer) error {
				return c.SealPhase1(beacon, cw, pw, rs...)
			})
			return perr
		})
		return werr
	})
	if err != nil {
		return blame(files, err, false, phase1Check(c))
	}
	return report(fs, stdout, ceremonyReport{Circuit: c.Target.String(), Contributions: len(files), Beacon: fmt.Sprintf("0x%x", beacon),
		Files: []entryFile{{commonsSum, *commonsOut}, {phase2Sum, *out}}},
		"phase 1 of %s sealed with beacon 0x%x after %d contributions\n  %s (SRS commons)  sha256 %s\n  %s (initial phase-2 state)  sha256 %s",
		c.Target, beacon, len(files), *commonsOut, commonsSum, *out, phase2Sum)
}

// phase2Check verifies a phase-2 transcript prefix against the commons.
func phase2Check(c *circuits.Ceremony, commons string) func([]string) error {
	return func(paths []string) error {
		return withFiles(append([]string{commons}, paths...), func(rs []io.Reader) error {
			return c.Verify(rs[0], rs[1:]...)
		})
	}
}

func ceremonyVerify(ctx context.Context, fs *flag.FlagSet, args []string, stdout, stderr io.Writer) error {
	class := fs.String("class", "", "universal class `name`")
	commons := fs.String("commons", "", "SRS commons `file` (from seal-phase1)")
	if done, err := parseFlags(fs, args); done || err != nil {
		return err
	}
	if *commons == "" {
		return usageError{"--commons is required"}
	}
	files, err := needFiles(fs, 2)
	if err != nil {
		return err
	}
	c, err := newCeremony(*class)
	if err != nil {
		return err
	}
	if err := checkCommons(c, *commons); err != nil {
		return err
	}
	if err := verifyTranscript(files, phase2Check(c, *commons)); err != nil {
		return err
	}
	return report(fs, stdout, ceremonyReport{Circuit: c.Target.String(), Contributions: len(files)},
		"phase 2 of %s: %d contributions verify", c.Target, len(files))
}

func ceremonyFinalize(ctx context.Context, fs *flag.FlagSet, args []string, stdout, stderr io.Writer) error {
	class := fs.String("class", "", "universal class `name`")
	beaconHex := fs.String("beacon", "", "public random beacon, `hex`")
	commons := fs.String("commons", "", "SRS commons `file` (from seal-phase1)")
	outDir := fs.String("out-dir", "", "output `dir` for pk (gnark raw encoding) and vk (gnark binary, as `probity verify --vk` reads it)")
	install := fs.Bool("install", false, "also install the keys into the key cache, replacing the class's entry")
	dir := keysDirFlag(fs, "dir") // where --install puts the keys
	if done, err := parseFlags(fs, args); done || err != nil {
		return err
	}
	beacon, err := parseBeacon(*beaconHex)
	if err != nil {
		return err
	}
	switch {
	case *commons == "":
		return usageError{"--commons is required"}
	case *outDir == "":
		return usageError{"--out-dir is required"}
	case given(fs, "keys-dir", "dir") && !*install:
		return usageError{"--keys-dir names the key cache for --install"}
	}
	files, err := needFiles(fs, 2)
	if err != nil {
		return err
	}
	c, err := newCeremony(*class)
	if err != nil {
		return err
	}
	if err := checkCommons(c, *commons); err != nil {
		return err
	}
	var keys *circuits.Keys
	err = withFiles(append([]string{*commons}, files...), func(rs []io.Reader) error {
		var err error
		keys, err = c.Finalize(beacon, rs[0], rs[1:]...)
		return err
	})
	if err != nil {
		return blame(files, err, false, phase2Check(c, *commons))
	}
	pkPath, vkPath := filepath.Join(*outDir, "pk"), filepath.Join(*outDir, "vk")
	pkSum, err := writeNew(pkPath, true, func(w io.Writer) error { _, err := keys.PK.WriteRawTo(w); return err })
	if err != nil {
		return err
	}
	vkSum, err := writeNew(vkPath, true, func(w io.Writer) error { _, err := keys.VK.WriteTo(w); return err })
	if err != nil {
		return err
	}
	r := ceremonyReport{Circuit: c.Target.String(), Contributions: len(files), Beacon: fmt.Sprintf("0x%x", beacon),
		Files: []entryFile{{pkSum, pkPath}, {vkSum, vkPath}}}
	if *install {
		cache, err := keyCache(*dir)
		if err != nil {
			return err
		}
		if err := cache.Store(keys); err != nil {
			return err
		}
		if r.Installed, err = entryChecksums(cache.EntryDir(c.Target)); err != nil {
			return err
		}
	}
	if wantJSON(fs) {
		return writeJSON(stdout, r)
	}
	fmt.Fprintf(stdout, "keys for %s from %d phase-2 contributions, beacon 0x%x\n  sha256 %s  %s\n  sha256 %s  %s\n",
		c.Target, len(files), beacon, pkSum, pkPath, vkSum, vkPath)
	if r.Installed != nil {
		fmt.Fprintf(stdout, "installed in the key cache:\n")
		printChecksums(stdout, r.Installed)
	}
	return nil
}

// ceremonyReport is every ceremony action's --json: the files it wrote with their sha256 (what
// a participant publishes), the contributions it verified, the beacon it applied.
type ceremonyReport struct {
	Circuit       string      `json:"circuit"`
	Contributions int         `json:"contributions,omitempty"`
	Beacon        string      `json:"beacon,omitempty"`
	Files         []entryFile `json:"files,omitempty"`
	Installed     []entryFile `json:"installed,omitempty"` // finalize --install: the key cache entry
}

// report prints r as JSON when the action's --json is set, else the text.
func report(fs *flag.FlagSet, w io.Writer, r ceremonyReport, format string, args ...any) error {
	return emit(w, wantJSON(fs), r, format, args...)
}
