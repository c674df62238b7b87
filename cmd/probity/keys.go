package main

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/consensys/gnark/backend/groth16"

	"github.com/probitylabs/probity/circuits"
	"github.com/probitylabs/probity/circuits/universal"
	"github.com/probitylabs/probity/verifier"
)

// Commands over the universal classes' key cache: setup, vk and export-verifier. Ceremony keys reach the same cache through `probity ceremony finalize
// --install` (ceremony.go).

func init() {
	register("setup", "development key setup into the key cache (NOT for production)", runSetup)
	register("vk", "print a class's verifying key as Groth16Verifier constructor words", runVK)
	register("export-verifier", "write gnark's Solidity verifier for a class's keys", runExportVerifier)
}

// devKeysWarning is printed by every command that creates development keys.
const devKeysWarning = "probity: warning: development keys: the machine that ran this setup knew its randomness " +
	"(the toxic waste), so whoever had it can forge proofs. Never use them in production: deployments " +
	"run `probity ceremony` and install its keys."

// parseFlags parses args and turns flag errors into usage errors; done is true after -h.
func parseFlags(fs *flag.FlagSet, args []string) (done bool, err error) {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return true, nil
		}
		return false, usageError{err.Error()}
	}
	return false, nil
}

// keyCache is the cache at dir, or the default one ($XDG_CACHE_HOME/probity/keys).
func keyCache(dir string) (circuits.Cache, error) {
	if dir != "" {
		return circuits.Cache{Dir: dir}, nil
	}
	return circuits.DefaultCache()
}

func idHex(t circuits.Target) string { id := t.ID(); return "0x" + hex.EncodeToString(id[:]) }

// countConstraints compiles a target (--count) and returns its constraint count.
func countConstraints(ctx context.Context, t circuits.Target) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	ccs, err := t.Compile()
	if err != nil {
		return 0, err
	}
	return ccs.GetNbConstraints(), nil
}

// cacheCells are a listing's CONSTRAINTS and KEYS cells ("-" for unknown or not cached).
func cacheCells(constraints int, keysCached bool) (cons, keys string) {
	cons, keys = "-", "-"
	if constraints > 0 {
		cons = fmt.Sprint(constraints)
	}
	if keysCached {
		keys = "cached"
	}
	return cons, keys
}

// cached reports whether the cache has a complete entry for s (its checksums file is written
// last, when the entry is renamed into place). It does not read the keys.
func cached(c circuits.Cache, s circuits.Target) bool {
	_, err := os.Stat(filepath.Join(c.EntryDir(s), "checksums"))
	return err == nil
}

func runSetup(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("setup", "setup --class NAME [--keys-dir DIR] [--regenerate]\n\n"+
		"Runs a single-party Groth16 setup for a universal class (`small`, `gpt2-small`) whose keys\n"+
		"are not cached yet and prints the entry's files with their sha256. These are DEVELOPMENT\n"+
		"keys: this machine knew the setup randomness, so they must never secure real stakes (use\n"+
		"`probity ceremony`).", stderr)
	class := fs.String("class", "", "universal class `name`")
	dir := keysDirFlag(fs, "dir")
	regen := fs.Bool("regenerate", false, "replace an existing (or corrupt) entry with fresh keys")
	asJSON := jsonFlag(fs)
	if done, err := parseFlags(fs, args); done || err != nil {
		return err
	}
	if err := noArgs(fs.Args()); err != nil {
		return err
	}
	c, err := lookupClass("class", *class)
	if err != nil {
		return err
	}
	shapes := []circuits.Target{c}
	cache, err := keyCache(*dir)
	if err != nil {
		return err
	}
	warned := false
	var reports []setupReport
	for _, s := range shapes {
		s := s.(*universal.Class)
		if err := ctx.Err(); err != nil {
			return err
		}
		fresh := *regen || !cached(cache, s)
		if fresh && !warned {
			fmt.Fprintln(stderr, devKeysWarning)
			warned = true
		}
		start := time.Now()
		var err error
		if *regen {
			_, err = cache.Regenerate(s)
		} else {
			_, err = cache.Setup(s)
		}
		if errors.Is(err, circuits.ErrCacheCorrupt) {
			return withHint(err, fmt.Sprintf("`probity setup --class %s --regenerate` replaces the entry", s.Name))
		}
		if err != nil {
			return err
		}
		files, err := entryChecksums(cache.EntryDir(s))
		if err != nil {
			return err
		}
		r := setupReport{Circuit: s.String(), ID: idHex(s), Generated: fresh, Files: files}
		if fresh {
			r.Seconds = time.Since(start).Seconds()
		}
		reports = append(reports, r)
		if !*asJSON {
			how := "already cached (checksums verified)"
			if fresh {
				how = fmt.Sprintf("generated in %v", time.Since(start).Round(time.Millisecond))
			}
			fmt.Fprintf(stdout, "%s %s: %s\n", s, idHex(s), how)
			printChecksums(stdout, files)
		}
	}
	if *asJSON {
		return writeJSON(stdout, reports)
	}
	return nil
}

// setupReport is one circuit of `setup --json`.
type setupReport struct {
	Circuit   string      `json:"circuit"`
	ID        string      `json:"id"`
	Generated bool        `json:"generated"` // false: already cached, checksums verified
	Seconds   float64     `json:"seconds,omitempty"`
	Files     []entryFile `json:"files"`
}

// entryFile is a cache entry's file and the sha256 its checksums file records.
type entryFile struct {
	SHA256 string `json:"sha256"`
	Path   string `json:"path"`
}

// entryChecksums reads a cache entry's files with the sha256 its checksums file records
// (Cache.Setup has just verified them against the files).
func entryChecksums(entry string) ([]entryFile, error) {
	b, err := os.ReadFile(filepath.Join(entry, "checksums"))
	if err != nil {
		return nil, err
	}
	var files []entryFile
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		f := strings.Fields(line)
		if len(f) != 2 {
			return nil, fmt.Errorf("%s: malformed line %q", filepath.Join(entry, "checksums"), line)
		}
		files = append(files, entryFile{SHA256: f[0], Path: filepath.Join(entry, f[1])})
	}
	return files, nil
}

func printChecksums(w io.Writer, files []entryFile) {
	for _, f := range files {
		fmt.Fprintf(w, "  sha256 %s  %s\n", f.SHA256, f.Path)
	}
}

// verifyingKey reads --vk FILE, or the class's key from the cache (whose checksums are
// checked). A missing entry is reported with how to create one.
func verifyingKey(className, vkFile, dir string) (groth16.VerifyingKey, string, error) {
	if vkFile != "" {
		if className != "" {
			return nil, "", usageError{"--class and --vk exclude each other"}
		}
		vk, err := verifier.ReadVerifyingKeyFile(vkFile)
		if err != nil {
			return nil, "", err
		}
		return vk, vkFile, nil
	}
	s, err := lookupClass("class", className)
	if err != nil {
		return nil, "", err
	}
	cache, err := keyCache(dir)
	if err != nil {
		return nil, "", err
	}
	keys, err := cache.Load(s)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return nil, "", withHint(fmt.Errorf("no keys for %s in %s", s, cache.Dir),
			fmt.Sprintf("`probity setup --class %s` creates development keys; `probity ceremony finalize --install` installs ceremony keys", s.Name))
	case errors.Is(err, circuits.ErrCacheCorrupt):
		return nil, "", withHint(err, fmt.Sprintf("`probity setup --class %s --regenerate` replaces the entry with development keys", s.Name))
	case err != nil:
		return nil, "", err
	}
	return keys.VK, cache.EntryDir(s), nil
}

func runVK(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("vk", "vk --class NAME [--keys-dir DIR] [--json] | --vk FILE\n\n"+
		"Prints the verifying key as the 26 constructor words of contracts/src/Groth16Verifier.sol:\n"+
		"alpha (x, y), beta, gamma, delta (G2 as x.a1, x.a0, y.a1, y.a0) and IC_0..IC_5, in decimal.\n"+
		"The last line is the five constructor arguments as forge/cast take them.", stderr)
	class := fs.String("class", "", "universal class `name` (keys from the key cache)")
	vkFile := fs.String("vk", "", "verifying key `file` (gnark binary, e.g. from `probity ceremony finalize`)")
	dir := keysDirFlag(fs, "dir")
	asJSON := fs.Bool("json", false, "print JSON: {alpha, beta, gamma, delta, ic, flat} as decimal strings")
	if done, err := parseFlags(fs, args); done || err != nil {
		return err
	}
	if err := noArgs(fs.Args()); err != nil {
		return err
	}
	vk, from, err := verifyingKey(*class, *vkFile, *dir)
	if err != nil {
		return err
	}
	w, err := circuits.VerifyingKeyWords(vk)
	if err != nil {
		return fmt.Errorf("%s: %w", from, err)
	}
	if *asJSON {
		return writeJSON(stdout, map[string][]string{
			"alpha": dec(w.Alpha[:]), "beta": dec(w.Beta[:]), "gamma": dec(w.Gamma[:]),
			"delta": dec(w.Delta[:]), "ic": dec(w.IC[:]), "flat": dec(w.Flat()),
		})
	}
	fmt.Fprintf(stdout, "# verifying key from %s\n", from)
	for _, g := range []struct {
		name  string
		words []*big.Int
	}{{"alpha", w.Alpha[:]}, {"beta", w.Beta[:]}, {"gamma", w.Gamma[:]}, {"delta", w.Delta[:]}, {"ic", w.IC[:]}} {
		for i, x := range g.words {
			fmt.Fprintf(stdout, "%-5s[%2d] %s\n", g.name, i, x)
		}
	}
	fmt.Fprintf(stdout, "[%s] [%s] [%s] [%s] [%s]\n", strings.Join(dec(w.Alpha[:]), ","), strings.Join(dec(w.Beta[:]), ","),
		strings.Join(dec(w.Gamma[:]), ","), strings.Join(dec(w.Delta[:]), ","), strings.Join(dec(w.IC[:]), ","))
	return nil
}

func dec(xs []*big.Int) []string {
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = x.String()
	}
	return out
}

func runExportVerifier(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("export-verifier", "export-verifier --class NAME [--keys-dir DIR] | --vk FILE [--out FILE]\n\n"+
		"Writes gnark's Solidity verifier (contract Verifier) with the key compiled in. Probity's\n"+
		"contracts use Groth16Verifier with the key as constructor words instead (`probity vk`);\n"+
		"this export is for cross-checking and for deployments that want gnark's contract.", stderr)
	class := fs.String("class", "", "universal class `name` (keys from the key cache)")
	vkFile := fs.String("vk", "", "verifying key `file` (gnark binary)")
	dir := keysDirFlag(fs, "dir")
	out := fs.String("out", "", "output `file` (default stdout)")
	asJSON := jsonFlag(fs)
	if done, err := parseFlags(fs, args); done || err != nil {
		return err
	}
	if err := noArgs(fs.Args()); err != nil {
		return err
	}
	vk, from, err := verifyingKey(*class, *vkFile, *dir)
	if err != nil {
		return err
	}
	if *out == "" {
		if *asJSON {
			return usageError{"--json reports the file written: give --out FILE"}
		}
		return circuits.ExportSolidity(vk, stdout)
	}
	sum, err := writeNew(*out, false, func(w io.Writer) error { return circuits.ExportSolidity(vk, w) })
	if err != nil {
		return err
	}
	r := struct {
		File   string `json:"file"`
		SHA256 string `json:"sha256"`
		From   string `json:"from"`
	}{*out, sum, from}
	return emit(stdout, *asJSON, r, "wrote %s (sha256 %s) from %s", r.File, r.SHA256, r.From)
}

// writeNew writes a file through a temporary file in the same directory renamed into place,
// so an interrupted command leaves no half-written file under the final name, and returns
// its sha256 (hex). With noClobber it refuses to replace an existing file: a ceremony
// transcript is evidence, and silently overwriting one would lose it.
func writeNew(path string, noClobber bool, write func(io.Writer) error) (string, error) {
	if noClobber {
		if _, err := os.Stat(path); err == nil {
			return "", withHint(fmt.Errorf("%s already exists", path), "choose another name, or delete it first")
		}
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return "", err
	}
	f, err := os.CreateTemp(filepath.Dir(path), ".probity-tmp-")
	if err != nil {
		return "", err
	}
	defer os.Remove(f.Name()) // a no-op after the rename
	h := sha256.New()
	bw := bufio.NewWriterSize(io.MultiWriter(f, h), 1<<20)
	if err := write(bw); err != nil {
		f.Close()
		return "", err
	}
	if err := bw.Flush(); err != nil {
		f.Close()
		return "", err
	}
	if err := f.Close(); err != nil {
		return "", err
	}
	if err := os.Chmod(f.Name(), 0o644); err != nil {
		return "", err
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
