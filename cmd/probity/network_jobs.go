package main

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/ethereum/go-ethereum/common"

	"github.com/probitylabs/probity/chain"
	"github.com/probitylabs/probity/circuits"
	"github.com/probitylabs/probity/protocol"
	"github.com/probitylabs/probity/sdk"
	"github.com/probitylabs/probity/tensor"
)

// Buyer commands: post a job, follow it, cancel it; and slash (anyone).

func init() {
	register("post", "buyer: publish a job's files, escrow the price and post the job", runPost)
	register("job", "a job's state (status), its receipt (wait), reveal its seed secret, or cancel it", subcommands("job",
		map[string]func(context.Context, []string, io.Writer, io.Writer) error{"status": runJobStatus, "wait": runJobWait,
			"reveal": runJobReveal, "cancel": runJobCancel},
		"status", "wait", "reveal", "cancel"))
	register("slash", "slash a job whose commit or proof deadline passed (anyone; earns the bounty)", runSlash)
}

// postReport is `post --json`.
type postReport struct {
	JobID                string `json:"jobId"`
	SpecHash             string `json:"specHash"`
	ManifestURI          string `json:"manifestUri"`
	Price                string `json:"price"`
	Kmin                 uint16 `json:"kmin"`
	RequiredStake        string `json:"requiredStake"`
	DetectionProbability string `json:"detectionProbability"`
	// SeedSecretFile holds the buyer's seed secret; empty with --no-seed-secret.
	SeedSecretFile string `json:"seedSecretFile,omitempty"`
}

func runPost(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newCommandFlags("post", "post --input X.safetensors --model M.safetensors --shapes S[,S...] --price X\n"+
		"       (--publish-dir DIR | --manifest-uri URI) [--seed-secret-file FILE | --no-seed-secret]\n"+
		"       --key FILE [--rpc URL] [--deployment FILE]\n\n"+
		"Commits the input and every layer's parameters, publishes both files with a manifest\n"+
		"(--publish-dir: a file:// URI providers with fetch.allowFile read; --manifest-uri: a\n"+
		"manifest already published, e.g. over https), approves and escrows --price and posts the\n"+
		"job. Prints the job id, the spec hash, the stake a provider must lock and the chance that\n"+
		"the sampled proofs catch a provider who falsified the deployment's floor fraction.\n\n"+
		"The job commits to a random seed secret, written before posting to --seed-secret-file\n"+
		"(default DIR"+seedSecretSuffix+", beside the published directory: keep it from providers).\n"+
		"`probity job wait` reveals it once the job is committed, so that nobody, not even the\n"+
		"producer of the seed block, can choose the challenge seed. --no-seed-secret posts without\n"+
		"one: the seed then rests on a block hash alone, which its producer can bias.", stderr)
	n := addNetFlags(fs, true)
	input := fs.String("input", "", "activation `file` (tensor \"x\", int8 [M, K])")
	model := fs.String("model", "", "model `file` (layers.{l}.weight/bias and epilogue metadata)")
	shapes := fs.String("shapes", "", "catalogue shape per layer, comma-separated (e.g. demo-64,demo-64)")
	price := fs.String("price", "", "price: "+amountHelp)
	publishDir := fs.String("publish-dir", "", "`dir` to publish the files and manifest.json into")
	manifestURI := fs.String("manifest-uri", "", "`uri` of a manifest published elsewhere")
	lockWindow := fs.Duration("lock-window", time.Hour, "from now until the last moment a provider may lock")
	execWindow := fs.Duration("exec-window", time.Hour, "from lock to the commit deadline (at least the deployment's minimum, `probity params show`)")
	proveWindow := fs.Duration("prove-window", time.Hour, "from the seed being fixed to the proof deadline (at least the deployment's minimum)")
	secretFile := fs.String("seed-secret-file", "", "`file` to write the job's seed secret to, mode 0600 (default: DIR"+seedSecretSuffix+")")
	noSecret := fs.Bool("no-seed-secret", false, "post without a seed secret (a weaker seed: the seed block's producer can bias it)")
	asJSON := fs.Bool("json", false, "print JSON")
	done, pos, err := parseInterspersed(fs, args)
	if done || err != nil {
		return err
	}
	if err := noArgs(pos); err != nil {
		return err
	}
	switch {
	case *input == "":
		return usageError{"--input is required"}
	case *model == "":
		return usageError{"--model is required"}
	case *shapes == "":
		return usageError{"--shapes is required: one catalogue shape per layer (see `probity shapes`)"}
	case (*publishDir == "") == (*manifestURI == ""):
		return usageError{"give exactly one of --publish-dir DIR and --manifest-uri URI"}
	case *lockWindow < time.Second || *execWindow < time.Second || *proveWindow < time.Second:
		return usageError{"--lock-window, --exec-window and --prove-window must be at least 1s"}
	case *noSecret && *secretFile != "":
		return usageError{"--seed-secret-file and --no-seed-secret exclude each other"}
	case !*noSecret && *secretFile == "" && *manifestURI != "":
		return usageError{"--manifest-uri needs --seed-secret-file FILE (where to keep the job's seed secret), or --no-seed-secret"}
	}
	if !*noSecret && *secretFile == "" {
		*secretFile = defaultSeedSecretFile(*publishDir)
	}
	layers, err := shapeList(*shapes)
	if err != nil {
		return err
	}
	names := make([]string, len(layers))
	for l, s := range layers {
		names[l] = s.Name
	}
	p, err := parseAmount("price", *price)
	if err != nil {
		return err
	}
	c, err := n.connect(ctx, true)
	if err != nil {
		return err
	}
	req := sdk.JobRequest{InputFile: *input, ModelFile: *model, PublishDir: *publishDir, ManifestURI: *manifestURI,
		Shapes: names, Price: p, LockWindow: *lockWindow, ExecWindow: *execWindow, ProveWindow: *proveWindow, NoSeedCommitment: *noSecret}
	if !*noSecret {
		// The secret is on disk before the job exists: a post that dies after the transaction
		// must not lose the only copy.
		secret, err := sdk.NewSeedSecret()
		if err != nil {
			return err
		}
		if err := writeSeedSecret(*secretFile, secret); err != nil {
			return err
		}
		req.SeedSecret = &secret
	}
	job, err := c.PostJob(ctx, req)
	if err != nil {
		if !*noSecret {
			os.Remove(*secretFile) // nothing committed to it
		}
		var short *sdk.WindowTooShortError
		if errors.As(err, &short) {
			return failedError{withHint(err, "`probity params show` prints the deployment's minimum windows")}
		}
		return fromChain(err)
	}
	rec, err := c.Chain().GetJob(ctx, job.ID)
	if err != nil {
		return fromChain(err)
	}
	stake, err := c.Chain().RequiredStake(ctx, job.Price, rec.Kmin)
	if err != nil {
		return fromChain(err)
	}
	det, err := c.Chain().DetectionProbability(ctx, rec.Kmin)
	if err != nil {
		return fromChain(err)
	}
	r := postReport{JobID: job.ID.String(), SpecHash: "0x" + hex.EncodeToString(job.SpecHash[:]), ManifestURI: job.ManifestURI,
		Price: formatAmount(job.Price), Kmin: rec.Kmin, RequiredStake: formatAmount(stake), DetectionProbability: formatAmount(det)}
	if !*noSecret {
		r.SeedSecretFile = *secretFile
	}
	if *asJSON {
		return writeJSON(stdout, r)
	}
	fmt.Fprintf(stdout, "job            %s\nspec hash      %s\nmanifest       %s\nprice          %s (escrowed)\n"+
		"required stake %s (k = %d samples per layer)\ndetection      %s (chance a provider falsifying the floor fraction is caught)\n",
		r.JobID, r.SpecHash, r.ManifestURI, r.Price, r.RequiredStake, r.Kmin, percent(det))
	if r.SeedSecretFile != "" {
		fmt.Fprintf(stdout, "seed secret    %s (keep it from providers; `probity job wait %s --key KEYFILE` reveals it once committed, or `probity job reveal %s --key KEYFILE`)\n", r.SeedSecretFile, r.JobID, r.JobID)
	} else {
		fmt.Fprintln(stdout, "seed secret    none (--no-seed-secret: the seed rests on a block hash alone)")
	}
	return nil
}

// percent prints an 18-decimal fixed-point probability as a percentage.
func percent(p *big.Int) string {
	bp := new(big.Int).Div(p, big.NewInt(1e12)) // 10^-6 steps
	return fmt.Sprintf("%d.%04d%%", bp.Int64()/10000, bp.Int64()%10000)
}

// jobReport is `job status --json`: the manager's record plus what the job's events add.
type jobReport struct {
	ID        string          `json:"id"`
	State     string          `json:"state"`
	Buyer     common.Address  `json:"buyer"`
	Provider  *common.Address `json:"provider,omitempty"`
	Price     string          `json:"price"`
	Stake     string          `json:"stake"`
	Kmin      uint16          `json:"kmin"`
	Layers    uint8           `json:"layers"`
	LockBy    uint64          `json:"lockBy"`
	CommitBy  uint64          `json:"commitBy,omitempty"`
	ProveBy   uint64          `json:"proveBy,omitempty"`
	SeedBlock uint64          `json:"seedBlock,omitempty"`
	Seed      string          `json:"seed,omitempty"`
	// SeedCommitment is the buyer's commitment to a seed secret (absent: none); SeedRevealed,
	// once the seed is fixed, whether with that secret; RevealUntil, while the seed waits for
	// the reveal, the last block in which only the secret can fix it.
	SeedCommitment string           `json:"seedCommitment,omitempty"`
	SeedRevealed   *bool            `json:"seedRevealed,omitempty"`
	RevealUntil    uint64           `json:"revealUntil,omitempty"`
	SpecHash       string           `json:"specHash"`
	InputURI       string           `json:"inputUri,omitempty"`
	OutputRoots    []string         `json:"outputRoots,omitempty"`
	ReceiptDigest  string           `json:"receiptDigest,omitempty"`
	Slashed        *slashReportJSON `json:"slashed,omitempty"`
}

type slashReportJSON struct {
	Stake  string         `json:"stake"`
	Bounty string         `json:"bounty"`
	Caller common.Address `json:"caller"`
}

func runJobStatus(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newCommandFlags("job status", "job status ID [--json] [--from-block N] [--rpc URL] [--deployment FILE]\n\n"+
		"Prints the job's state, buyer, provider, price, locked stake, deadlines (chain time),\n"+
		"seed, spec hash, manifest URI, committed output roots and the settled receipt digest.", stderr)
	n := addNetFlags(fs, true)
	asJSON := fs.Bool("json", false, "print JSON")
	fromBlock := fs.Uint64("from-block", 0, "first `block` searched for the job's events (at or before the one that posted it)")
	done, pos, err := parseInterspersed(fs, args)
	if done || err != nil {
		return err
	}
	id, err := jobIDArg(pos)
	if err != nil {
		return err
	}
	c, err := n.connect(ctx, false)
	if err != nil {
		return err
	}
	c.FromBlock = *fromBlock
	j, err := existingJob(ctx, c, id)
	if err != nil {
		return err
	}
	evs, err := c.Events(ctx, id)
	if err != nil {
		return fromChain(err)
	}
	r := jobReport{ID: id.String(), State: chain.JobState(j.State).String(), Buyer: j.Buyer, Price: formatAmount(j.Price),
		Stake: formatAmount(j.Stake), Kmin: j.Kmin, Layers: j.NumLayers, LockBy: j.LockBy, CommitBy: j.CommitBy,
		ProveBy: j.ProveBy, SeedBlock: j.SeedBlock, SpecHash: "0x" + hex.EncodeToString(j.SpecHash[:])}
	if j.Provider != (common.Address{}) {
		r.Provider = &j.Provider
	}
	if j.SeedFixed {
		r.Seed = j.Seed.String()
	}
	if j.SeedCommitment != ([32]byte{}) {
		r.SeedCommitment = "0x" + hex.EncodeToString(j.SeedCommitment[:])
	}
	var head uint64
	if chain.JobState(j.State) == chain.StateCommitted && !j.SeedFixed {
		if head, err = c.BlockNumber(ctx); err != nil {
			return err
		}
		if r.SeedCommitment != "" {
			r.RevealUntil = j.SeedBlock + protocol.RevealBlocks
		}
	}
	for _, ev := range evs {
		switch e := ev.(type) {
		case sdk.SeedFixed:
			r.SeedRevealed = &e.Revealed
		case sdk.Posted:
			r.InputURI = e.InputURI
		case sdk.Committed:
			for _, root := range e.OutputRoots {
				r.OutputRoots = append(r.OutputRoots, fmt.Sprintf("0x%064x", root))
			}
		case sdk.Settled:
			r.ReceiptDigest = "0x" + hex.EncodeToString(e.ReceiptDigest[:])
		case sdk.Slashed:
			r.Slashed = &slashReportJSON{Stake: formatAmount(e.Stake), Bounty: formatAmount(e.Bounty), Caller: e.Caller}
		}
	}
	if *asJSON {
		return writeJSON(stdout, r)
	}
	row := func(k, v string) { fmt.Fprintf(stdout, "%-14s %s\n", k, v) }
	row("job", r.ID)
	row("state", r.State)
	row("buyer", r.Buyer.Hex())
	if r.Provider != nil {
		row("provider", r.Provider.Hex())
	}
	row("price", r.Price)
	row("stake", r.Stake)
	row("k", fmt.Sprint(r.Kmin))
	row("layers", fmt.Sprint(r.Layers))
	row("lock by", unixTime(r.LockBy))
	row("commit by", unixTime(r.CommitBy))
	// The proof deadline is set when the seed is fixed, not at commit.
	if r.ProveBy != 0 {
		row("prove by", unixTime(r.ProveBy))
	}
	if r.SeedBlock != 0 {
		row("seed block", fmt.Sprint(r.SeedBlock))
	}
	switch {
	case r.Seed != "":
		row("seed", r.Seed)
		if r.SeedRevealed != nil {
			row("seed source", seedSource(*r.SeedRevealed, j.SeedCommitment))
		}
	case r.RevealUntil != 0 && head <= r.RevealUntil:
		row("seed", fmt.Sprintf("waiting for reveal until block %d (now %d)", r.RevealUntil, head))
	case r.RevealUntil != 0:
		row("seed", fmt.Sprintf("not revealed by block %d; anyone may now fix it without the secret", r.RevealUntil))
	case r.SeedBlock != 0 && chain.JobState(j.State) == chain.StateCommitted:
		row("seed", fmt.Sprintf("not fixed yet (fixable once block %d is mined; posted without a seed secret)", r.SeedBlock))
	}
	row("spec hash", r.SpecHash)
	row("manifest", r.InputURI)
	for l, root := range r.OutputRoots {
		row(fmt.Sprintf("output root %d", l), root)
	}
	if r.ReceiptDigest != "" {
		row("receipt", r.ReceiptDigest)
	}
	if s := r.Slashed; s != nil {
		row("slashed", fmt.Sprintf("%s to the buyer, bounty %s to %s", s.Stake, s.Bounty, s.Caller.Hex()))
	}
	return nil
}

// orNone names a looked-at path, or says none was.
func orNone(path string) string {
	if path == "" {
		return "the manifest is not a local file; pass --seed-secret-file"
	}
	return "looked at " + path
}

// existingJob reads a job's record. The manager answers for any id, with an all-zero record
// (state None) for one never posted; that is the chain's "no" (exit 1), named as such.
func existingJob(ctx context.Context, c *sdk.Client, id *big.Int) (chain.Job, error) {
	j, err := c.Chain().GetJob(ctx, id)
	if err != nil {
		return j, fromChain(err)
	}
	if chain.JobState(j.State) == chain.StateNone {
		return j, failedError{fmt.Errorf("job %s does not exist on this deployment (manager %s)", id, c.Addresses().Manager.Hex())}
	}
	return j, nil
}

func runJobWait(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newCommandFlags("job wait", "job wait ID [--out FILE] [--seed-secret-file FILE] [--timeout D] [--from-block N] [--key FILE]\n"+
		"       [--rpc URL] [--deployment FILE]\n\n"+
		"Waits until the job settles, fetches the provider's receipt from next to the job's manifest\n"+
		"and authenticates it against the chain (its EIP-712 digest must be the one JobSettled\n"+
		"carries). Exit 1 when the job ends slashed or cancelled, or the receipt does not match.\n"+
		"Audit the receipt further with `probity verify`.\n\n"+
		"With the job's seed secret (--seed-secret-file, or the file `probity post` wrote beside\n"+
		"the published directory) and --key, it reveals the secret as soon as the job is committed\n"+
		"and its seed block mined (the same as `probity job reveal`).", stderr)
	n := addNetFlags(fs, true)
	secretFile := fs.String("seed-secret-file", "", "`file` with the job's seed secret to reveal (default: beside the job's published directory)")
	out := fs.String("out", "", "write the receipt to `file`")
	timeout := fs.Duration("timeout", 0, "give up after this long (0: wait until interrupted)")
	poll := fs.Duration("poll", time.Second, "how often to poll the chain and the receipt location")
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
	// A key is needed only to reveal; a buyer's key file is usually at hand ($PROBITY_KEY_FILE).
	haveKey := *n.key != "" || os.Getenv(keyFileEnv) != ""
	c, err := n.connect(ctx, false)
	if err != nil {
		return err
	}
	c.PollInterval, c.FromBlock = *poll, *fromBlock
	// A job that does not exist emits nothing: waiting for it would never end.
	j, err := existingJob(ctx, c, id)
	if err != nil {
		return err
	}
	if !j.SeedFixed {
		secret, found, where, err := jobSecret(ctx, c, id, j, *secretFile)
		switch {
		case err != nil:
			return err
		case found && haveKey:
			c.SetSeedSecret(id, secret)
			fmt.Fprintf(stderr, "probity: revealing the seed secret from %s once job %s is committed\n", where, id)
		case found:
			fmt.Fprintf(stderr, "probity: not revealing the seed secret from %s: pass --key FILE to send the reveal\n", where)
		case j.SeedCommitment != ([32]byte{}):
			fmt.Fprintf(stderr, "probity: no seed secret for job %s (%s); its seed will be fixed without it %d blocks after the seed block\n",
				id, orNone(where), protocol.RevealBlocks)
		}
	}
	if *timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, *timeout)
		defer cancel()
	}
	rc, err := c.WaitReceipt(ctx, id)
	switch {
	case errors.Is(err, sdk.ErrJobSlashed), errors.Is(err, sdk.ErrJobCancelled), errors.Is(err, sdk.ErrReceiptDigest):
		return failedError{err}
	case errors.Is(err, context.DeadlineExceeded):
		return withHint(fmt.Errorf("job %s: %w", id, err), "`probity job status "+id.String()+"` shows where it stands")
	case err != nil:
		return fromChain(err)
	}
	fmt.Fprintf(stdout, "job %s settled; receipt digest %s authenticated (node key %s)\n", id, rc.Digest().Hex(), rc.NodeKey.Hex())
	if evs, err := c.Events(ctx, id); err == nil {
		for _, e := range evs {
			if sf, ok := e.(sdk.SeedFixed); ok {
				fmt.Fprintf(stdout, "seed: %s\n", seedSource(sf.Revealed, j.SeedCommitment))
			}
		}
	}
	if *out != "" {
		doc, err := rc.MarshalIndent()
		if err != nil {
			return err
		}
		if _, err := writeNew(*out, false, func(w io.Writer) error { _, err := w.Write(doc); return err }); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "wrote %s; audit it with `probity verify %s`\n", *out, *out)
	}
	return nil
}

func runJobCancel(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newCommandFlags("job cancel", "job cancel ID --key FILE [--rpc URL] [--deployment FILE]\n\n"+
		"Cancels an open job (not locked yet; the buyer only). The escrow is credited back:\n"+
		"`probity withdraw` pays it out.", stderr)
	n := addNetFlags(fs, true)
	done, pos, err := parseInterspersed(fs, args)
	if done || err != nil {
		return err
	}
	id, err := jobIDArg(pos)
	if err != nil {
		return err
	}
	c, err := n.connect(ctx, true)
	if err != nil {
		return err
	}
	if err := c.Cancel(ctx, id); err != nil {
		return fromChain(err)
	}
	credit, err := c.Credit(ctx)
	if err != nil {
		return fromChain(err)
	}
	fmt.Fprintf(stdout, "cancelled job %s; credit of %s now %s (`probity withdraw` pays it out)\n", id, c.Address().Hex(), formatAmount(credit))
	return nil
}

func runSlash(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newCommandFlags("slash", "slash ID --key FILE [--rpc URL] [--deployment FILE]\n\n"+
		"Slashes a locked job past its commit deadline or a committed one past its proof deadline:\n"+
		"the provider's locked stake goes to the buyer and the bounty to the caller, as credit.", stderr)
	n := addNetFlags(fs, true)
	done, pos, err := parseInterspersed(fs, args)
	if done || err != nil {
		return err
	}
	id, err := jobIDArg(pos)
	if err != nil {
		return err
	}
	c, err := n.connect(ctx, true)
	if err != nil {
		return err
	}
	ev, err := c.Slash(ctx, id)
	if err != nil {
		return fromChain(err)
	}
	fmt.Fprintf(stdout, "slashed job %s: provider %s lost %s; bounty %s credited to %s\n", id, ev.Provider.Hex(),
		formatAmount(ev.Stake), formatAmount(ev.Bounty), ev.Caller.Hex())
	return nil
}

func init() {
	register("random-job", "write a random input and model for catalogue shapes (to try a network)", runRandomJob)
}

func runRandomJob(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newCommandFlags("random-job", "random-job --shapes S[,S...] --out DIR [--rows M] [--seed N]\n\n"+
		"Writes DIR/input.safetensors (M random int8 rows) and DIR/model.safetensors (random\n"+
		"weights, calibrated epilogues), one layer per shape, ready for `probity post`.", stderr)
	shapes := fs.String("shapes", "", "catalogue shape per layer, comma-separated (e.g. demo-64,demo-64)")
	out := fs.String("out", "", "output `dir`")
	rows := fs.Int("rows", 0, "input rows M (default: the first shape's 2^D)")
	seed := fs.Uint64("seed", 1, "random `seed`")
	done, pos, err := parseInterspersed(fs, args)
	if done || err != nil {
		return err
	}
	if err := noArgs(pos); err != nil {
		return err
	}
	if *shapes == "" || *out == "" {
		return usageError{"--shapes and --out are required"}
	}
	layers, err := shapeList(*shapes)
	if err != nil {
		return err
	}
	first := layers[0]
	dims := []int{int(first.K)}
	for l, s := range layers {
		if l > 0 && (s.K != layers[l-1].N || s.D != first.D) {
			return usageError{fmt.Sprintf("--shapes: layer %d (%s) does not follow layer %d (%s): K must equal the previous N, and D the first layer's",
				l, s, l-1, layers[l-1])}
		}
		dims = append(dims, int(s.N))
	}
	m := *rows
	if m == 0 {
		m = 1 << first.D
	}
	if m < 1 || m > 1<<first.D {
		return usageError{fmt.Sprintf("--rows %d: shape %s takes 1 to %d rows", m, first.Name, 1<<first.D)}
	}
	model, err := tensor.RandomModel(*seed, dims...)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		return err
	}
	in, mf := filepath.Join(*out, "input.safetensors"), filepath.Join(*out, "model.safetensors")
	if err := tensor.SaveActivations(in, tensor.RandomInput(*seed, m, dims[0])); err != nil {
		return err
	}
	if err := tensor.SaveModel(mf, model); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s (%d x %d) and %s (%d layers)\n", in, m, dims[0], mf, len(dims)-1)
	return nil
}

// shapeList reads --shapes, a comma-separated list of catalogue shapes, one per layer.
func shapeList(list string) ([]circuits.Shape, error) {
	var out []circuits.Shape
	for _, name := range strings.Split(list, ",") {
		s, err := lookupShape("shapes", strings.TrimSpace(name))
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}
