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
	"github.com/probitylabs/probity/sdk"
	"github.com/probitylabs/probity/tensor"
)

// Buyer commands: post a job, follow it, cancel it; and slash (anyone).

func init() {
	register("post", "buyer: publish a job's files, escrow the price and post the job", runPost)
	register("job", "a job's state (status), its receipt (wait), or cancel it", subcommands("job",
		map[string]func(context.Context, []string, io.Writer, io.Writer) error{"status": runJobStatus, "wait": runJobWait, "cancel": runJobCancel},
		"status", "wait", "cancel"))
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
}

func runPost(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newCommandFlags("post", "post --input X.safetensors --model M.safetensors --shapes S[,S...] --price X\n"+
		"       (--publish-dir DIR | --manifest-uri URI) --key FILE [--rpc URL] [--deployment FILE]\n\n"+
		"Commits the input and every layer's parameters, publishes both files with a manifest\n"+
		"(--publish-dir: a file:// URI providers with fetch.allowFile read; --manifest-uri: a\n"+
		"manifest already published, e.g. over https), approves and escrows --price and posts the\n"+
		"job. Prints the job id, the spec hash, the stake a provider must lock and the chance that\n"+
		"the sampled proofs catch a provider who falsified the deployment's floor fraction.", stderr)
	n := addNetFlags(fs, true)
	input := fs.String("input", "", "activation `file` (tensor \"x\", int8 [M, K])")
	model := fs.String("model", "", "model `file` (layers.{l}.weight/bias and epilogue metadata)")
	shapes := fs.String("shapes", "", "catalogue shape per layer, comma-separated (e.g. demo-64,demo-64)")
	price := fs.String("price", "", "price: "+amountHelp)
	publishDir := fs.String("publish-dir", "", "`dir` to publish the files and manifest.json into")
	manifestURI := fs.String("manifest-uri", "", "`uri` of a manifest published elsewhere")
	lockWindow := fs.Duration("lock-window", time.Hour, "from now until the last moment a provider may lock")
	execWindow := fs.Duration("exec-window", time.Hour, "from lock to the commit deadline")
	proveWindow := fs.Duration("prove-window", time.Hour, "from commit to the proof deadline")
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
	job, err := c.PostJob(ctx, sdk.JobRequest{InputFile: *input, ModelFile: *model, PublishDir: *publishDir,
		ManifestURI: *manifestURI, Shapes: names, Price: p, LockWindow: *lockWindow, ExecWindow: *execWindow, ProveWindow: *proveWindow})
	if err != nil {
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
	if *asJSON {
		return writeJSON(stdout, r)
	}
	fmt.Fprintf(stdout, "job            %s\nspec hash      %s\nmanifest       %s\nprice          %s (escrowed)\n"+
		"required stake %s (k = %d samples per layer)\ndetection      %s (chance a provider falsifying the floor fraction is caught)\n",
		r.JobID, r.SpecHash, r.ManifestURI, r.Price, r.RequiredStake, r.Kmin, percent(det))
	return nil
}

// percent prints an 18-decimal fixed-point probability as a percentage.
func percent(p *big.Int) string {
	bp := new(big.Int).Div(p, big.NewInt(1e12)) // 10^-6 steps
	return fmt.Sprintf("%d.%04d%%", bp.Int64()/10000, bp.Int64()%10000)
}

// jobReport is `job status --json`: the manager's record plus what the job's events add.
type jobReport struct {
	ID            string           `json:"id"`
	State         string           `json:"state"`
	Buyer         common.Address   `json:"buyer"`
	Provider      *common.Address  `json:"provider,omitempty"`
	Price         string           `json:"price"`
	Stake         string           `json:"stake"`
	Kmin          uint16           `json:"kmin"`
	Layers        uint8            `json:"layers"`
	LockBy        uint64           `json:"lockBy"`
	CommitBy      uint64           `json:"commitBy,omitempty"`
	ProveBy       uint64           `json:"proveBy,omitempty"`
	SeedBlock     uint64           `json:"seedBlock,omitempty"`
	Seed          string           `json:"seed,omitempty"`
	SpecHash      string           `json:"specHash"`
	InputURI      string           `json:"inputUri,omitempty"`
	OutputRoots   []string         `json:"outputRoots,omitempty"`
	ReceiptDigest string           `json:"receiptDigest,omitempty"`
	Slashed       *slashReportJSON `json:"slashed,omitempty"`
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
	for _, ev := range evs {
		switch e := ev.(type) {
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
	row("prove by", unixTime(r.ProveBy))
	if r.SeedBlock != 0 {
		row("seed block", fmt.Sprint(r.SeedBlock))
	}
	if r.Seed != "" {
		row("seed", r.Seed)
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
	fs := newCommandFlags("job wait", "job wait ID [--out FILE] [--timeout D] [--from-block N] [--rpc URL] [--deployment FILE]\n\n"+
		"Waits until the job settles, fetches the provider's receipt from next to the job's manifest\n"+
		"and authenticates it against the chain (its EIP-712 digest must be the one JobSettled\n"+
		"carries). Exit 1 when the job ends slashed or cancelled, or the receipt does not match.\n"+
		"Audit the receipt further with `probity verify`.", stderr)
	n := addNetFlags(fs, true)
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
	c, err := n.connect(ctx, false)
	if err != nil {
		return err
	}
	c.PollInterval, c.FromBlock = *poll, *fromBlock
	// A job that does not exist emits nothing: waiting for it would never end.
	if _, err := existingJob(ctx, c, id); err != nil {
		return err
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
