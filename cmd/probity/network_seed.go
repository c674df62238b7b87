package main

import (
	"context"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	iofs "io/fs"
	"math/big"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/probitylabs/probity/chain"
	"github.com/probitylabs/probity/protocol"
	"github.com/probitylabs/probity/sdk"
)

// The buyer's seed secret (spec §6.2) on the command line: `post` draws one and keeps it in a
// file, `job wait` and `job reveal` reveal it once the job is committed.

func init() {
	register("params", "the SLA manager's governance parameters: show them, or set them (governance)", subcommands("params",
		map[string]func(context.Context, []string, io.Writer, io.Writer) error{"show": runParamsShow, "set": runParamsSet},
		"show", "set"))
}

// seedSecretSuffix names the default secret file of a job published into DIR: DIR.seed-secret,
// beside the directory rather than in it, because providers read (and a web server publishing
// the directory serves) everything inside it, and a provider that knows the secret before it
// commits can bias the seed.
const seedSecretSuffix = ".seed-secret"

func defaultSeedSecretFile(publishDir string) string {
	return filepath.Clean(publishDir) + seedSecretSuffix
}

// seedSecretFileOf is the default secret file of a job whose manifest is a file:// URI, as
// `post --publish-dir` writes it; "" for other manifests.
func seedSecretFileOf(manifestURI string) string {
	u, err := url.Parse(manifestURI)
	if err != nil || u.Scheme != "file" {
		return ""
	}
	return defaultSeedSecretFile(filepath.Dir(filepath.FromSlash(u.Path)))
}

// writeSeedSecret creates path (never replacing a file: it may be another job's secret)
// readable by its owner only, holding the secret in hex.
func writeSeedSecret(path string, secret [32]byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, iofs.ErrExist) {
		return withHint(fmt.Errorf("seed secret file %s already exists", path),
			"it may hold the secret of another job: choose another --seed-secret-file, or delete it if it is stale")
	}
	if err != nil {
		return fmt.Errorf("seed secret file: %w", err)
	}
	if _, err := fmt.Fprintf(f, "0x%x\n", secret); err != nil {
		f.Close()
		return fmt.Errorf("seed secret file: %w", err)
	}
	return f.Close()
}

// readSeedSecret reads a file written by writeSeedSecret (64 hex digits, 0x optional).
func readSeedSecret(path string) ([32]byte, error) {
	var s [32]byte
	b, err := os.ReadFile(path)
	if err != nil {
		return s, fmt.Errorf("seed secret file: %w", err)
	}
	h := strings.TrimPrefix(strings.TrimSpace(string(b)), "0x")
	raw, err := hex.DecodeString(h)
	if err != nil || len(raw) != 32 {
		return s, withHint(fmt.Errorf("seed secret file %s: not 32 bytes in hex", path),
			"a seed secret file holds the 64 hex digits `probity post` wrote")
	}
	copy(s[:], raw)
	return s, nil
}

// jobSecret finds the seed secret of job j: from path when given, else from the default file
// beside a file:// manifest. found is false, with no error, when the job has no commitment or
// no path was given and the default file does not exist; where says what was looked at. A
// secret that does not hash to the job's commitment is an error: revealing it would revert.
func jobSecret(ctx context.Context, c *sdk.Client, id *big.Int, j chain.Job, path string) (secret [32]byte, found bool, where string, err error) {
	if j.SeedCommitment == ([32]byte{}) {
		if path != "" {
			return secret, false, "", failedError{fmt.Errorf("job %s was posted without a seed commitment: there is nothing to reveal", id)}
		}
		return secret, false, "", nil
	}
	where = path
	if where == "" {
		uri, err := manifestOf(ctx, c, id)
		if err != nil {
			return secret, false, "", err
		}
		if where = seedSecretFileOf(uri); where == "" {
			return secret, false, "", nil
		}
		if _, err := os.Stat(where); errors.Is(err, iofs.ErrNotExist) {
			return secret, false, where, nil
		}
	}
	if secret, err = readSeedSecret(where); err != nil {
		return secret, false, where, err
	}
	if protocol.SeedCommitment(secret) != j.SeedCommitment {
		return secret, false, where, withHint(fmt.Errorf("%s does not hold the seed secret of job %s (its hash is not the job's commitment 0x%x)",
			where, id, j.SeedCommitment), "pass the file `probity post` wrote for this job with --seed-secret-file")
	}
	return secret, true, where, nil
}

// manifestOf reads the job's manifest URI from its JobPosted event.
func manifestOf(ctx context.Context, c *sdk.Client, id *big.Int) (string, error) {
	evs, err := c.Events(ctx, id)
	if err != nil {
		return "", fromChain(err)
	}
	for _, e := range evs {
		if p, ok := e.(sdk.Posted); ok {
			return p.InputURI, nil
		}
	}
	return "", fmt.Errorf("job %s: no JobPosted event from block %d (pass --from-block)", id, c.FromBlock)
}

// seedSource says how a fixed seed was made.
func seedSource(revealed bool, commitment [32]byte) string {
	switch {
	case revealed:
		return "revealed by buyer"
	case commitment == ([32]byte{}):
		return "block hash only (posted without a seed commitment)"
	}
	return "fixed without the buyer's secret (not revealed in time)"
}

func runJobReveal(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newCommandFlags("job reveal", "job reveal ID [--seed-secret-file FILE] [--timeout D] --key FILE [--rpc URL] [--deployment FILE]\n\n"+
		"Reveals the buyer's seed secret of a job (anyone holding it may): waits until the job is\n"+
		"committed and its seed block mined, then fixes the seed with the secret, which starts the\n"+
		"proof window. The secret comes from --seed-secret-file, or from the file `probity post`\n"+
		"wrote beside the published directory. Until "+fmt.Sprint(protocol.RevealBlocks)+" blocks after the seed block only the\n"+
		"secret can fix the seed; after that anyone may fix it without.", stderr)
	n := addNetFlags(fs, true)
	secretFile := fs.String("seed-secret-file", "", "`file` with the job's seed secret (default: beside the job's published directory)")
	timeout := fs.Duration("timeout", 0, "give up after this long (0: wait until interrupted)")
	poll := fs.Duration("poll", time.Second, "how often to poll the chain")
	fromBlock := fs.Uint64("from-block", 0, "first `block` searched for the job's events (at or before the one that posted it)")
	done, pos, err := parseInterspersed(fs, args)
	if done || err != nil {
		return err
	}
	id, err := jobIDArg(pos)
	if err != nil {
		return err
	}
	if *poll <= 0 || *timeout < 0 {
		return usageError{"--poll must be positive and --timeout not negative"}
	}
	c, err := n.connect(ctx, true)
	if err != nil {
		return err
	}
	c.PollInterval, c.FromBlock = *poll, *fromBlock
	j, err := existingJob(ctx, c, id)
	if err != nil {
		return err
	}
	secret, found, where, err := jobSecret(ctx, c, id, j, *secretFile)
	if err != nil {
		return err
	}
	if !found {
		if where == "" {
			return usageError{fmt.Sprintf("job %s's manifest is not a local file: pass --seed-secret-file FILE", id)}
		}
		return withHint(fmt.Errorf("no seed secret for job %s at %s", id, where), "pass the file `probity post` wrote with --seed-secret-file")
	}
	if *timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, *timeout)
		defer cancel()
	}
	ev, err := c.RevealSeedWhenReady(ctx, id, secret)
	switch {
	case errors.Is(err, sdk.ErrJobSlashed), errors.Is(err, sdk.ErrJobCancelled):
		return failedError{err}
	case errors.Is(err, context.DeadlineExceeded):
		return withHint(fmt.Errorf("job %s: %w", id, err), "`probity job status "+id.String()+"` shows where it stands")
	case err != nil:
		return fromChain(err)
	}
	switch {
	case !ev.Revealed:
		// Too late: the fallback fixed the seed without the secret.
		return failedError{fmt.Errorf("the seed of job %s was already %s at block %d", id, seedSource(false, j.SeedCommitment), ev.BlockNumber)}
	case j.SeedFixed:
		fmt.Fprintf(stdout, "the seed of job %s was already %s at block %d\n", id, seedSource(true, j.SeedCommitment), ev.BlockNumber)
	default:
		fmt.Fprintf(stdout, "seed of job %s %s at block %d: %s; proof due by %s\n", id, seedSource(true, j.SeedCommitment),
			ev.BlockNumber, ev.Seed, unixTime(ev.ProveBy))
	}
	return nil
}

// paramsReport is `params show --json`.
type paramsReport struct {
	Manager           string `json:"manager"`
	DetectionFloorBps uint16 `json:"detectionFloorBps"`
	BountyBps         uint16 `json:"bountyBps"`
	AbandonBps        uint16 `json:"abandonBps"`
	MinExecWindow     uint32 `json:"minExecWindow"`  // seconds
	MinProveWindow    uint32 `json:"minProveWindow"` // seconds
}

func runParamsShow(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newCommandFlags("params show", "params show [--json] [--rpc URL] [--deployment FILE]\n\n"+
		"Prints the SLA manager's governance parameters: the detection floor, the slashing bounty\n"+
		"and abandonment fee (fixed per job when it is locked) and the shortest exec and prove\n"+
		"windows a job may be posted with.", stderr)
	n := addNetFlags(fs, true)
	asJSON := fs.Bool("json", false, "print JSON")
	done, pos, err := parseInterspersed(fs, args)
	if done || err != nil {
		return err
	}
	if err := noArgs(pos); err != nil {
		return err
	}
	c, err := n.connect(ctx, false)
	if err != nil {
		return err
	}
	return showParams(ctx, c, *asJSON, stdout)
}

func showParams(ctx context.Context, c *sdk.Client, asJSON bool, w io.Writer) error {
	p, err := c.Chain().Params(ctx)
	if err != nil {
		return fromChain(err)
	}
	r := paramsReport{Manager: c.Addresses().Manager.Hex(), DetectionFloorBps: p.DetectionFloorBps, BountyBps: p.BountyBps,
		AbandonBps: p.AbandonBps, MinExecWindow: p.MinExecWindow, MinProveWindow: p.MinProveWindow}
	if asJSON {
		return writeJSON(w, r)
	}
	bps := func(v uint16) string { return fmt.Sprintf("%d bps (%d.%02d%%)", v, v/100, v%100) }
	secs := func(v uint32) string { return (time.Duration(v) * time.Second).String() }
	fmt.Fprintf(w, "manager            %s\ndetection floor    %s of a layer's outputs\nslash bounty       %s of the stake, to the slasher\n"+
		"abandonment fee    %s of the stake, to the buyer\nmin exec window    %s\nmin prove window   %s\n",
		r.Manager, bps(r.DetectionFloorBps), bps(r.BountyBps), bps(r.AbandonBps), secs(r.MinExecWindow), secs(r.MinProveWindow))
	return nil
}

func runParamsSet(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newCommandFlags("params set", "params set [--min-exec-window D] [--min-prove-window D] [--abandon-bps N] [--bounty-bps N]\n"+
		"       [--detection-floor-bps N] --key FILE [--rpc URL] [--deployment FILE]\n\n"+
		"Sets governance parameters of the SLA manager (its owner only) and prints them all. Window\n"+
		"minimums apply to jobs posted from now on; the bounty and abandonment fee to jobs locked\n"+
		"from now on. The contract bounds them: bounty <= 2000 bps, fee <= 5000 bps, windows 1s..30d.", stderr)
	n := addNetFlags(fs, true)
	minExec := fs.Duration("min-exec-window", 0, "shortest exec window (lock to commit) a job may be posted with; above the block time")
	minProve := fs.Duration("min-prove-window", 0, "shortest prove window (seed fixed to proof) a job may be posted with")
	abandon := fs.Int("abandon-bps", -1, "abandonment fee, basis points of the stake")
	bounty := fs.Int("bounty-bps", -1, "slashing bounty, basis points of the stake")
	floor := fs.Int("detection-floor-bps", -1, "detection floor f0, basis points")
	done, pos, err := parseInterspersed(fs, args)
	if done || err != nil {
		return err
	}
	if err := noArgs(pos); err != nil {
		return err
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if !set["min-exec-window"] && !set["min-prove-window"] && !set["abandon-bps"] && !set["bounty-bps"] && !set["detection-floor-bps"] {
		return usageError{"nothing to set: give at least one of --min-exec-window, --min-prove-window, --abandon-bps, --bounty-bps, --detection-floor-bps"}
	}
	for name, d := range map[string]time.Duration{"min-exec-window": *minExec, "min-prove-window": *minProve} {
		if set[name] && (d < time.Second || d%time.Second != 0) {
			return usageError{fmt.Sprintf("--%s %v: a whole number of seconds, at least 1s", name, d)}
		}
	}
	for name, v := range map[string]int{"abandon-bps": *abandon, "bounty-bps": *bounty, "detection-floor-bps": *floor} {
		if set[name] && (v < 0 || v > 10000) {
			return usageError{fmt.Sprintf("--%s %d: basis points are 0 to 10000", name, v)}
		}
	}
	c, err := n.connect(ctx, true)
	if err != nil {
		return err
	}
	ch := c.Chain()
	if set["min-exec-window"] || set["min-prove-window"] {
		// One call sets both: keep the one not given.
		exec, prove, err := ch.MinWindows(ctx)
		if err != nil {
			return fromChain(err)
		}
		if set["min-exec-window"] {
			exec = uint32(minExec.Seconds())
		}
		if set["min-prove-window"] {
			prove = uint32(minProve.Seconds())
		}
		if _, err := ch.SetMinWindows(ctx, exec, prove); err != nil {
			return fromChain(fmt.Errorf("set minimum windows: %w", err))
		}
	}
	if set["abandon-bps"] {
		if _, err := ch.SetAbandonBps(ctx, uint16(*abandon)); err != nil {
			return fromChain(fmt.Errorf("set abandonment fee: %w", err))
		}
	}
	if set["bounty-bps"] {
		if _, err := ch.SetBountyBps(ctx, uint16(*bounty)); err != nil {
			return fromChain(fmt.Errorf("set bounty: %w", err))
		}
	}
	if set["detection-floor-bps"] {
		if _, err := ch.SetDetectionFloorBps(ctx, uint16(*floor)); err != nil {
			return fromChain(fmt.Errorf("set detection floor: %w", err))
		}
	}
	return showParams(ctx, c, false, stdout)
}
