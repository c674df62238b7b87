package demo

import (
	"context"
	"crypto/ecdsa"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/probitylabs/probity/chain"
	"github.com/probitylabs/probity/circuits"
	"github.com/probitylabs/probity/protocol"
	"github.com/probitylabs/probity/prover"
	"github.com/probitylabs/probity/sdk"
	"github.com/probitylabs/probity/tensor"
	"github.com/probitylabs/probity/verifier"
)

// ErrUnexpected matches every act that did not turn out as the protocol says (the self-check
// failed), as opposed to the demo being unable to run.
var ErrUnexpected = errors.New("demo: unexpected outcome")

// Options configure Run. The zero value runs the standard demo.
type Options struct {
	// Shape is the catalogue shape of every layer (default "demo-64"). A square shape
	// (K = N) gets a 2-layer model, any other one a single layer; "tiny" makes a fast run.
	Shape string
	// Falsify is the fraction of each layer's outputs the cheating node corrupts (default
	// 0.5: with demo-64's 2 × 8 samples the cheat escapes with probability 2^-16).
	Falsify float64
	// Keys is the circuit key cache (default circuits.DefaultCache: the first run builds the
	// shape's development keys, later runs load them).
	Keys *circuits.Cache
	// Keep, when set, is a directory that receives the job files, the prover data
	// directories and the receipts; otherwise they go to a temporary directory that is removed.
	Keep string
	// Logs receives the prover nodes' logs (nil: discarded).
	Logs io.Writer
	// Price of each job in token base units (default 1 token, 10^18).
	Price *big.Int
}

// Gas is the gas used by a job's transactions, by contract function.
type Gas struct {
	PostJob uint64 `json:"postJob"`
	Lock    uint64 `json:"lock"`
	Commit  uint64 `json:"commit,omitempty"`
	// RevealSeed is the buyer's reveal of its seed secret; FixSeed a seed fixed without it
	// (by the provider, once the reveal window passed). A job has one or the other.
	RevealSeed  uint64 `json:"revealSeed,omitempty"`
	FixSeed     uint64 `json:"fixSeed,omitempty"`
	SubmitProof uint64 `json:"submitProof,omitempty"`
	Slash       uint64 `json:"slash,omitempty"`
	// Settlement is what the provider spends to get paid: lock, commit, fixSeed (when it
	// had to) and submitProof (honest job only).
	Settlement uint64 `json:"settlement,omitempty"`
	// Total is the sum of the above: the job's whole on-chain life, posting included.
	Total uint64 `json:"total"`
}

// Job is what happened to one job.
type Job struct {
	ID       string         `json:"id"`
	Role     string         `json:"role"` // "honest", "falsifying" or "silent"
	Provider common.Address `json:"provider"`
	Outcome  string         `json:"outcome"` // the final on-chain state: "Settled" or "Slashed"
	// Seed says how the challenge seed was fixed: SeedRevealed (the buyer's secret mixed in)
	// or SeedFallback; empty for a job that never committed.
	Seed string `json:"seed,omitempty"`
	// NodeStep and NodeReason are where the provider's node left the job (its journal).
	NodeStep   string `json:"nodeStep"`
	NodeReason string `json:"nodeReason,omitempty"`
	Price      string `json:"price"`
	Stake      string `json:"stake"`            // reserved at lock
	Bounty     string `json:"bounty,omitempty"` // paid to the slasher
	Gas        Gas    `json:"gas"`
	// Honest job: proving time (all layers, and the mean per layer), the receipt's file
	// (when Options.Keep is set) and its stated detection bound.
	ProveMs         uint64  `json:"proveMs,omitempty"`
	ProveMsPerLayer float64 `json:"proveMsPerLayer,omitempty"`
	Receipt         string  `json:"receipt,omitempty"`
	// Falsifying job: the fraction corrupted and the probability that k samples per layer
	// catch it, 1-(1-f)^(k·layers).
	Falsified         float64 `json:"falsified,omitempty"`
	CatchProbability  float64 `json:"catchProbability,omitempty"`
	DetectionFloorBps uint32  `json:"detectionFloorBps,omitempty"`
	DetectionBps      uint32  `json:"detectionBps,omitempty"`
}

// Balance is one account's tokens before the jobs and after every withdrawal.
type Balance struct {
	Name    string         `json:"name"`
	Address common.Address `json:"address"`
	Before  string         `json:"before"`
	After   string         `json:"after"`
	Delta   string         `json:"delta"`
}

// Audit is the auditor's verdict on the honest receipt.
type Audit struct {
	OK      bool             `json:"ok"`
	Checks  []verifier.Check `json:"checks"`
	Policy  verifier.Policy  `json:"policy"`
	Elapsed time.Duration    `json:"elapsedNs"`
	Report  *verifier.Report `json:"-"`
}

// Summary is the machine-readable account of a run.
type Summary struct {
	ChainID   string        `json:"chainId"`
	Addresses sdk.Addresses `json:"addresses"`
	Shape     string        `json:"shape"`
	Layers    int           `json:"layers"`
	Rows      int           `json:"rows"`
	K         uint16        `json:"k"` // samples per layer
	// KeysCached says whether the shape's keys were already in the cache; KeysMs is the time
	// to load or build them.
	KeysCached bool   `json:"keysCached"`
	KeysMs     uint64 `json:"keysMs"`
	Jobs       []Job  `json:"jobs"` // honest, falsifying, silent
	// Balances: buyer, the three providers, and the two contracts holding stake and escrow.
	Balances []Balance `json:"balances"`
	// Conserved says that the token balances above sum to the same before and after.
	Conserved bool  `json:"conserved"`
	Audit     Audit `json:"audit"`
	// Generation is the text act: a prompt to the shipped model, checked by the buyer.
	Generation Generation `json:"generation"`
	Dir        string     `json:"dir,omitempty"` // kept files (Options.Keep)
	ElapsedMs  uint64     `json:"elapsedMs"`
}

// Job returns the summary of the job played by role, or nil.
func (s *Summary) Job(role string) *Job {
	for i := range s.Jobs {
		if s.Jobs[i].Role == role {
			return &s.Jobs[i]
		}
	}
	return nil
}

// Roles of the three providers.
const (
	RoleHonest     = "honest"
	RoleFalsifying = "falsifying"
	RoleSilent     = "silent"
)

// How a job's seed was fixed (Job.Seed).
const (
	SeedRevealed = "revealed by buyer"
	SeedFallback = "fixed without the buyer's secret"
)

// errSilent is the silent node's hook error: it stops the job right after the lock.
var errSilent = errors.New("silent provider: stops after locking")

type provider struct {
	role    string
	key     *ecdsa.PrivateKey
	nodeKey *ecdsa.PrivateKey
	client  *sdk.Client
}

type run struct {
	o       Options
	out     io.Writer
	dir     string
	shape   circuits.Shape
	layers  int
	rows    int
	keys    *memoKeys
	sim     *sdk.Simulated
	buyer   *sdk.Client
	provs   []*provider
	logger  *slog.Logger
	sum     *Summary
	watcher *sdk.Client // the honest provider, after its node stopped
	// stopMiner stops the block ticker.
	stopMiner func()
}

// Run plays the demo, writing a few lines per act to out, and returns the summary. It fails
// with an error wrapping ErrUnexpected when an act does not turn out as expected.
func Run(ctx context.Context, o Options, out io.Writer) (*Summary, error) {
	t0 := time.Now()
	if o.Shape == "" {
		o.Shape = "demo-64"
	}
	if o.Falsify == 0 {
		o.Falsify = 0.5
	}
	if o.Falsify < 0 || o.Falsify > 1 {
		return nil, fmt.Errorf("demo: falsify fraction %v is not in (0, 1]", o.Falsify)
	}
	if o.Price == nil {
		o.Price = big.NewInt(1e18)
	}
	if out == nil {
		out = io.Discard
	}
	s, err := circuits.Lookup(o.Shape)
	if err != nil {
		return nil, fmt.Errorf("demo: %w", err)
	}
	r := &run{o: o, out: out, shape: s, layers: 1, rows: 1 << s.D, sum: &Summary{Shape: s.Name, K: s.Kn}}
	if s.K == s.N {
		r.layers = 2
	}
	r.sum.Layers, r.sum.Rows = r.layers, r.rows
	logs := o.Logs
	if logs == nil {
		logs = io.Discard
	}
	r.logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelInfo}))

	if o.Keep != "" {
		if err := os.MkdirAll(o.Keep, 0o755); err != nil {
			return nil, fmt.Errorf("demo: --keep: %w", err)
		}
		if r.dir, err = filepath.Abs(o.Keep); err != nil {
			return nil, err
		}
		r.sum.Dir = r.dir
	} else {
		if r.dir, err = os.MkdirTemp("", "probity-demo-"); err != nil {
			return nil, err
		}
		defer os.RemoveAll(r.dir)
	}
	cache := o.Keys
	if cache == nil {
		c, err := circuits.DefaultCache()
		if err != nil {
			return nil, fmt.Errorf("demo: %w", err)
		}
		cache = &c
	}
	r.keys = &memoKeys{cache: *cache, keys: map[string]*circuits.Keys{}}

	err = r.play(ctx)
	if r.stopMiner != nil {
		r.stopMiner()
	}
	if r.sim != nil {
		r.sim.Close()
	}
	r.sum.ElapsedMs = uint64(time.Since(t0).Milliseconds())
	if o.Keep == "" {
		// The temporary directory is gone: name no file in it.
		for i := range r.sum.Jobs {
			r.sum.Jobs[i].Receipt = ""
		}
	}
	if err != nil {
		return r.sum, err
	}
	fmt.Fprintf(out, "\nAll acts turned out as the protocol says (%.1f s).\n", time.Since(t0).Seconds())
	return r.sum, nil
}

func (r *run) printf(format string, args ...any) { fmt.Fprintf(r.out, format, args...) }

func (r *run) play(ctx context.Context) error {
	if err := r.setup(ctx); err != nil {
		return err
	}
	if err := r.stake(ctx); err != nil {
		return err
	}
	// Balances once the stakes are in the registry: the jobs move tokens between the buyer,
	// the providers, the registry and the manager, and no token may appear or vanish.
	before, err := r.balances(ctx)
	if err != nil {
		return err
	}
	in, model, err := r.writeJobFiles()
	if err != nil {
		return err
	}
	honest, err := r.honestAct(ctx, in, model)
	if err != nil {
		return err
	}
	cheat, err := r.falsifyingAct(ctx, in, model)
	if err != nil {
		return err
	}
	silent, err := r.silentAct(ctx, in, model)
	if err != nil {
		return err
	}
	if err := r.slashAct(ctx, cheat, silent); err != nil {
		return err
	}
	r.printf("\nGas per job, from the buyer's view of each job's events\n")
	for _, j := range []*sdk.Job{honest, cheat, silent} {
		if err := r.jobGas(ctx, j); err != nil {
			return err
		}
		g := r.sum.jobByID(j.ID).Gas
		line := fmt.Sprintf("  job %s: postJob %d, lock %d", j.ID, g.PostJob, g.Lock)
		for _, x := range []struct {
			name string
			v    uint64
		}{{"commit", g.Commit}, {"revealSeed", g.RevealSeed}, {"fixSeed", g.FixSeed}, {"submitProof", g.SubmitProof}, {"slash", g.Slash}} {
			if x.v > 0 {
				line += fmt.Sprintf(", %s %d", x.name, x.v)
			}
		}
		if g.SubmitProof > 0 {
			line += fmt.Sprintf("; settlement (lock to submitProof) %d", g.Settlement)
		}
		r.printf("%s; total %d\n", line, g.Total)
	}
	if err := r.settleAccounts(ctx, before); err != nil {
		return err
	}
	if err := r.auditAct(ctx); err != nil {
		return err
	}
	return r.generateAct(ctx)
}

// setup starts the chain, deploys, and registers the shape.
func (r *run) setup(ctx context.Context) error {
	r.printf("Act 0: an in-process chain\n")
	var err error
	r.sim, err = sdk.NewSimulated(ctx, sdk.SimulatedConfig{Accounts: 4})
	if err != nil {
		return fmt.Errorf("demo: starting the simulated chain: %w", err)
	}
	// Blocks come every 20 ms as well as after every transaction: the nodes wait for the
	// block after their commit to fix the challenge seed, as on a real chain.
	r.stopMiner = r.mine(20 * time.Millisecond)
	gov, err := r.sim.Client(ctx, r.sim.Governance)
	if err != nil {
		return err
	}
	chainID, err := gov.ChainID(ctx)
	if err != nil {
		return err
	}
	r.sum.ChainID, r.sum.Addresses = chainID.String(), r.sim.Addresses
	r.printf("  chain %s: token %s, registry %s, SLA manager %s\n", chainID, short(r.sim.Addresses.Token),
		short(r.sim.Addresses.Providers), short(r.sim.Addresses.Manager))

	t := time.Now()
	keys, err := r.keys.cache.Load(r.shape)
	r.sum.KeysCached = err == nil
	if errors.Is(err, os.ErrNotExist) {
		r.printf("  building %s development keys into %s (once; later runs load them)...\n", r.shape.Name, r.keys.cache.Dir)
		keys, err = r.keys.cache.Setup(r.shape)
	}
	if err != nil {
		return fmt.Errorf("demo: circuit keys: %w", err)
	}
	r.sum.KeysMs = uint64(time.Since(t).Milliseconds())
	r.keys.keys[r.shape.Name] = keys // the nodes, started later, take them from here
	if _, err := gov.RegisterShape(ctx, r.shape, keys.VK); err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	how := "loaded"
	if !r.sum.KeysCached {
		how = "built"
	}
	r.printf("  shape %s (K=%d, N=%d, 2^%d rows, k=%d samples per layer) registered; keys %s in %.1f s\n",
		r.shape.Name, r.shape.K, r.shape.N, r.shape.D, r.shape.Kn, how, float64(r.sum.KeysMs)/1000)
	if r.buyer, err = r.sim.Client(ctx, r.sim.Accounts[0]); err != nil {
		return err
	}
	return nil
}

// mine mines a block every interval until the returned function is called.
func (r *run) mine(interval time.Duration) func() {
	stop, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				r.sim.Chain.Mine(1)
			}
		}
	}()
	return func() { close(stop); <-done }
}

// stake registers the three providers with a node key and stake each.
func (r *run) stake(ctx context.Context) error {
	stake := new(big.Int).Mul(r.o.Price, big.NewInt(5))
	for i, role := range []string{RoleHonest, RoleFalsifying, RoleSilent} {
		p := &provider{role: role, key: r.sim.Accounts[i+1]}
		var err error
		if p.client, err = r.sim.Client(ctx, p.key); err != nil {
			return err
		}
		if p.nodeKey, err = crypto.GenerateKey(); err != nil {
			return err
		}
		if _, err := p.client.Stake(ctx, crypto.PubkeyToAddress(p.nodeKey.PublicKey), stake); err != nil {
			return fmt.Errorf("demo: %s provider: %w", role, err)
		}
		r.provs = append(r.provs, p)
	}
	r.printf("  3 providers staked %s each and registered node keys\n", amount(stake))
	return nil
}

// writeJobFiles writes the buyer's random int8 MLP and input.
func (r *run) writeJobFiles() (string, string, error) {
	dir := filepath.Join(r.dir, "buyer")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", "", err
	}
	dims := []int{int(r.shape.K)}
	for range r.layers {
		dims = append(dims, int(r.shape.N))
	}
	in, mf := filepath.Join(dir, "input.safetensors"), filepath.Join(dir, "model.safetensors")
	if err := tensor.SaveActivations(in, tensor.RandomInput(1, r.rows, dims[0])); err != nil {
		return "", "", err
	}
	m, err := tensor.RandomModel(1, dims...)
	if err != nil {
		return "", "", err
	}
	if err := tensor.SaveModel(mf, m); err != nil {
		return "", "", err
	}
	return in, mf, nil
}

// node is a prover node running in the background.
type node struct {
	n      *prover.Node
	cancel context.CancelFunc
	done   chan error
	once   sync.Once
	err    error
}

func (r *run) startNode(ctx context.Context, p *provider, exec prover.Executor, hook prover.Hook) (*node, error) {
	head, err := r.sim.Chain.Client().BlockNumber(ctx)
	if err != nil {
		return nil, err
	}
	c := prover.DefaultConfig()
	c.RPCURL = "simulated"
	c.Deployment = r.sim.Addresses
	c.DataDir = filepath.Join(r.dir, "node-"+p.role)
	c.Shapes = []string{r.shape.Name}
	// Only jobs posted from now on: each node takes exactly the job of its act.
	c.StartBlock = head + 1
	c.PollInterval = prover.Duration(20 * time.Millisecond)
	c.Fetch.AllowFile = true
	c.GPU.Mode = "none"
	c.RPC.BackoffMin = prover.Duration(10 * time.Millisecond)
	c.RPC.BackoffMax = prover.Duration(200 * time.Millisecond)
	n, err := prover.New(ctx, prover.Options{Config: c, Backend: r.sim.Chain.Client(), ProviderKey: p.key, NodeKey: p.nodeKey,
		Executor: exec, Keys: r.keys, Hook: hook, Logger: r.logger.With("node", p.role), ShutdownGrace: 10 * time.Second})
	if err != nil {
		return nil, fmt.Errorf("demo: %s node: %w", p.role, err)
	}
	if err := n.WarmKeys(); err != nil {
		return nil, fmt.Errorf("demo: %s node: %w", p.role, err)
	}
	nctx, cancel := context.WithCancel(ctx)
	nd := &node{n: n, cancel: cancel, done: make(chan error, 1)}
	go func() { nd.done <- n.Run(nctx) }()
	return nd, nil
}

// stop shuts the node down and waits for it; later calls return the first one's result.
func (nd *node) stop() error {
	nd.once.Do(func() {
		nd.cancel()
		if err := <-nd.done; err != nil && !errors.Is(err, context.Canceled) {
			nd.err = err
		}
	})
	return nd.err
}

// waitStep waits until the node's journal holds the job at a terminal step and returns the
// record.
func (nd *node) waitStep(ctx context.Context, jobID *big.Int, limit time.Duration) (*prover.Record, error) {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	for {
		if rec, err := nd.n.Journal().Load(jobID.String()); err == nil {
			if rec.Step.Terminal() {
				return rec, nil
			}
		}
		select {
		case err := <-nd.done:
			nd.done <- err
			return nil, fmt.Errorf("demo: node stopped before job %s was done: %v", jobID, err)
		case <-ctx.Done():
			return nil, fmt.Errorf("demo: waiting for the node on job %s: %w", jobID, ctx.Err())
		case <-t.C:
		}
	}
}

func (r *run) post(ctx context.Context, in, model, name string) (*sdk.Job, error) {
	head, err := r.sim.Chain.Client().BlockNumber(ctx)
	if err != nil {
		return nil, err
	}
	r.buyer.FromBlock = head
	job, err := r.buyer.PostJob(ctx, sdk.JobRequest{InputFile: in, ModelFile: model, PublishDir: filepath.Join(r.dir, "jobs", name),
		Shapes: r.shapeNames(), Price: r.o.Price})
	if err != nil {
		return nil, fmt.Errorf("demo: posting the %s job: %w", name, err)
	}
	return job, nil
}

func (r *run) shapeNames() []string {
	s := make([]string, r.layers)
	for i := range s {
		s[i] = r.shape.Name
	}
	return s
}

// honestAct: the honest node proves, the contract verifies and pays.
func (r *run) honestAct(ctx context.Context, in, model string) (*sdk.Job, error) {
	p := r.provs[0]
	r.printf("\nAct 1: an honest provider (%s)\n", short(p.client.Address()))
	nd, err := r.startNode(ctx, p, prover.ReferenceExecutor{}, nil)
	if err != nil {
		return nil, err
	}
	defer nd.stop()
	job, err := r.post(ctx, in, model, "1-honest")
	if err != nil {
		return nil, err
	}
	r.printf("  buyer posted job %s: %d-layer int8 MLP %s, %d rows, price %s, manifest %s\n",
		job.ID, r.layers, r.dims(), r.rows, amount(job.Price), job.ManifestURI)
	wctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	rc, err := r.buyer.WaitReceipt(wctx, job.ID)
	if err != nil {
		return nil, fmt.Errorf("%w: the honest job did not settle: %w", ErrUnexpected, err)
	}
	rec, err := nd.waitStep(ctx, job.ID, time.Minute)
	if err != nil {
		return nil, err
	}
	if rec.Step != prover.StepDone {
		return nil, fmt.Errorf("%w: the honest node ended job %s at %s: %s", ErrUnexpected, job.ID, rec.Step, rec.Reason)
	}
	path := filepath.Join(r.dir, "receipts", job.ID.String()+".json")
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, err
	}
	b, err := rc.MarshalIndent()
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		return nil, err
	}
	j := Job{ID: job.ID.String(), Role: RoleHonest, Provider: p.client.Address(), NodeStep: string(rec.Step), Price: job.Price.String(),
		Stake: rec.Stake, ProveMs: rc.Timings.ProveMs, Receipt: path,
		DetectionFloorBps: rc.Detection.FloorBps, DetectionBps: rc.Detection.ProbabilityBps}
	if sum, n := proveSeconds(nd.n); n > 0 {
		j.ProveMsPerLayer = sum * 1000 / float64(n)
	}
	if j.Seed, err = r.seedOf(ctx, job.ID); err != nil {
		return nil, err
	}
	r.sum.Jobs = append(r.sum.Jobs, j)
	r.printf("  node locked (stake %s), executed and committed; seed: %s; proved %d layers in %.2f s (%.2f s per layer)\n",
		amount(bigOf(rec.Stake)), j.Seed, r.layers, float64(j.ProveMs)/1000, j.ProveMsPerLayer/1000)
	r.printf("  proofs verified on chain: job %s settled, provider paid %s; the buyer fetched and authenticated the receipt\n",
		job.ID, amount(job.Price))
	r.printf("  receipt: k=%d samples per layer, detection >= %s if >= %s of a layer's outputs were falsified\n",
		rc.K, pct(float64(rc.Detection.ProbabilityBps)/1e4), pct(float64(rc.Detection.FloorBps)/1e4))
	return job, nd.stop()
}

// falsifyingAct: the cheating node commits corrupted outputs and cannot prove them.
func (r *run) falsifyingAct(ctx context.Context, in, model string) (*sdk.Job, error) {
	p := r.provs[1]
	f := r.o.Falsify
	// Each layer's k samples are independent chances to hit a corrupted element.
	catch := protocol.DetectionProbability(uint32(math.Round(f*10000)), r.shape.Kn*uint16(r.layers))
	r.printf("\nAct 2: a provider that falsifies %s of every layer's outputs (%s)\n", pct(f), short(p.client.Address()))
	nd, err := r.startNode(ctx, p, prover.ReferenceExecutor{Falsify: f, FalsifySeed: 7}, nil)
	if err != nil {
		return nil, err
	}
	defer nd.stop()
	job, err := r.post(ctx, in, model, "2-falsifying")
	if err != nil {
		return nil, err
	}
	r.printf("  buyer posted job %s\n", job.ID)
	// The buyer is not waiting for a receipt here, so it reveals its secret by itself.
	revealed := make(chan error, 1)
	rctx, stopReveal := context.WithTimeout(ctx, 5*time.Minute)
	defer stopReveal()
	go func() {
		_, err := r.buyer.RevealSeedWhenReady(rctx, job.ID, job.SeedSecret)
		revealed <- err
	}()
	rec, err := nd.waitStep(ctx, job.ID, 5*time.Minute)
	if err != nil {
		return nil, err
	}
	if err := nd.stop(); err != nil {
		return nil, err
	}
	if err := <-revealed; err != nil {
		return nil, fmt.Errorf("demo: the buyer's reveal of job %s: %w", job.ID, err)
	}
	if rec.Step != prover.StepFailed {
		// With probability (1-f)^(k·layers) no sample hits a falsified element, the proofs exist
		// and the cheat is paid: that is the bound the receipt states, not a bug, but the demo
		// is meant to show a catch.
		return nil, fmt.Errorf("%w: the falsifying node ended job %s at %s (%s); the samples catch this cheat with probability %s",
			ErrUnexpected, job.ID, rec.Step, rec.Reason, pct(catch))
	}
	st, err := r.buyer.JobState(ctx, job.ID)
	if err != nil {
		return nil, err
	}
	if st != chain.StateCommitted {
		return nil, fmt.Errorf("%w: falsified job %s is %s on chain, want Committed", ErrUnexpected, job.ID, st)
	}
	seed, err := r.seedOf(ctx, job.ID)
	if err != nil {
		return nil, err
	}
	r.sum.Jobs = append(r.sum.Jobs, Job{ID: job.ID.String(), Role: RoleFalsifying, Provider: p.client.Address(), NodeStep: string(rec.Step),
		NodeReason: rec.Reason, Price: job.Price.String(), Stake: rec.Stake, Seed: seed, Falsified: f, CatchProbability: catch})
	r.printf("  node locked (stake %s) and committed falsified outputs; seed: %s, after the commit; it picked %d elements per layer\n",
		amount(bigOf(rec.Stake)), seed, r.shape.Kn)
	reason := rec.Reason
	if i := strings.Index(reason, ": prove:"); i > 0 {
		reason = reason[:i] // the circuit's detail (which sample, which values) is in the summary
	}
	r.printf("  no proof exists for a falsified sample, so the node gave up (%s)\n", firstLine(reason, 90))
	r.printf("  chance that %d samples per layer over %d layers catch a %s falsification: 1-(1-%.2f)^%d = %s\n",
		r.shape.Kn, r.layers, pct(f), f, int(r.shape.Kn)*r.layers, pct(catch))
	return job, nil
}

// silentAct: the silent node locks and never commits.
func (r *run) silentAct(ctx context.Context, in, model string) (*sdk.Job, error) {
	p := r.provs[2]
	r.printf("\nAct 3: a provider that locks a job and goes silent (%s)\n", short(p.client.Address()))
	hook := func(_ *big.Int, step prover.Step) error {
		if step == prover.StepLocked {
			return errSilent
		}
		return nil
	}
	nd, err := r.startNode(ctx, p, prover.ReferenceExecutor{}, hook)
	if err != nil {
		return nil, err
	}
	defer nd.stop()
	job, err := r.post(ctx, in, model, "3-silent")
	if err != nil {
		return nil, err
	}
	r.printf("  buyer posted job %s\n", job.ID)
	wctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	var locked *sdk.Locked
	for ev := range r.buyer.Watch(wctx, job.ID) {
		switch e := ev.(type) {
		case sdk.Locked:
			locked = &e
			cancel()
		case sdk.WatchError:
			return nil, e.Err
		}
	}
	if locked == nil {
		return nil, fmt.Errorf("%w: nobody locked job %s", ErrUnexpected, job.ID)
	}
	if locked.Provider != p.client.Address() {
		return nil, fmt.Errorf("%w: job %s locked by %s, not the silent provider", ErrUnexpected, job.ID, locked.Provider.Hex())
	}
	if err := nd.stop(); err != nil {
		return nil, err
	}
	rec, _ := nd.n.Journal().Load(job.ID.String())
	step := ""
	if rec != nil {
		step = string(rec.Step)
	}
	r.sum.Jobs = append(r.sum.Jobs, Job{ID: job.ID.String(), Role: RoleSilent, Provider: p.client.Address(), NodeStep: step,
		NodeReason: errSilent.Error(), Price: job.Price.String(), Stake: locked.Stake.String()})
	r.printf("  node locked it (stake %s, commit deadline %s) and stopped\n", amount(locked.Stake), time.Unix(int64(locked.CommitBy), 0).UTC().Format(time.TimeOnly))
	return job, nil
}

// slashAct passes the deadlines and has a watcher (the honest provider) slash both jobs.
func (r *run) slashAct(ctx context.Context, cheat, silent *sdk.Job) error {
	r.printf("\nAct 4: deadlines pass; a watcher slashes\n")
	var deadline uint64
	for _, j := range []*sdk.Job{cheat, silent} {
		job, err := r.buyer.Chain().GetJob(ctx, j.ID)
		if err != nil {
			return err
		}
		deadline = max(deadline, job.CommitBy, job.ProveBy)
	}
	h, err := r.sim.Chain.Client().HeaderByNumber(ctx, nil)
	if err != nil {
		return err
	}
	if deadline >= h.Time {
		adv := time.Duration(deadline-h.Time+1) * time.Second
		if err := r.sim.Chain.AdjustTime(adv); err != nil {
			return err
		}
		r.printf("  chain clock moved forward %v, past the commit and proof deadlines\n", adv)
	}
	// A fresh client: the honest node sent transactions from the same account, so the
	// nonce the provider's earlier client counted is stale.
	watcher, err := r.sim.Client(ctx, r.provs[0].key)
	if err != nil {
		return err
	}
	r.watcher = watcher
	for _, j := range []*sdk.Job{cheat, silent} {
		ev, rc, err := watcher.Chain().Slash(ctx, j.ID)
		if err != nil {
			return fmt.Errorf("%w: slashing job %s: %w", ErrUnexpected, j.ID, err)
		}
		js := r.sum.jobByID(j.ID)
		js.Bounty = ev.Bounty.String()
		if ev.Stake.String() != js.Stake {
			return fmt.Errorf("%w: job %s slashed %s, but %s was reserved", ErrUnexpected, j.ID, ev.Stake, js.Stake)
		}
		r.printf("  slash(job %s, %s provider): stake %s -> buyer %s + watcher bounty %s (gas %d)\n", j.ID, js.Role,
			tokens(ev.Stake), tokens(new(big.Int).Sub(ev.Stake, ev.Bounty)), tokens(ev.Bounty), rc.GasUsed)
	}
	return nil
}

// jobByID returns the summary of the job with on-chain id, or nil.
func (s *Summary) jobByID(id *big.Int) *Job {
	for i := range s.Jobs {
		if s.Jobs[i].ID == id.String() {
			return &s.Jobs[i]
		}
	}
	return nil
}

// jobGas reads the job's events (all on chain by now: every job has ended) and the gas of the
// transactions that emitted them.
func (r *run) jobGas(ctx context.Context, job *sdk.Job) error {
	js := r.sum.jobByID(job.ID)
	c := *r.buyer
	c.FromBlock = 0
	evs, err := c.Events(ctx, job.ID)
	if err != nil {
		return fmt.Errorf("demo: events of job %s: %w", job.ID, err)
	}
	seen := map[common.Hash]bool{}
	final := ""
	for _, ev := range evs {
		var slot *uint64
		switch e := ev.(type) {
		case sdk.Posted:
			slot = &js.Gas.PostJob
		case sdk.Locked:
			slot = &js.Gas.Lock
		case sdk.Committed:
			slot = &js.Gas.Commit
		case sdk.SeedFixed:
			slot = &js.Gas.FixSeed
			if e.Revealed {
				slot = &js.Gas.RevealSeed
			}
		case sdk.Settled:
			slot, final = &js.Gas.SubmitProof, "Settled"
		case sdk.Slashed:
			slot, final = &js.Gas.Slash, "Slashed"
		default:
			continue
		}
		h := ev.Info().TxHash
		if seen[h] {
			continue
		}
		seen[h] = true
		rc, err := r.sim.Chain.Client().TransactionReceipt(ctx, h)
		if err != nil {
			return fmt.Errorf("demo: receipt of %s: %w", h.Hex(), err)
		}
		*slot += rc.GasUsed
		js.Gas.Total += rc.GasUsed
	}
	js.Outcome = final
	if final == "Settled" {
		js.Gas.Settlement = js.Gas.Lock + js.Gas.Commit + js.Gas.FixSeed + js.Gas.SubmitProof
	}
	want := "Slashed"
	if js.Role == RoleHonest {
		want = "Settled"
	}
	if final != want {
		return fmt.Errorf("%w: %s job %s ended %q, want %s", ErrUnexpected, js.Role, job.ID, final, want)
	}
	return nil
}

// seedOf says how the job's seed was fixed. The buyer posts every job with a seed secret and
// reveals it, so a seed fixed without it is a self-check failure.
func (r *run) seedOf(ctx context.Context, jobID *big.Int) (string, error) {
	evs, err := r.buyer.Events(ctx, jobID)
	if err != nil {
		return "", fmt.Errorf("demo: events of job %s: %w", jobID, err)
	}
	for _, ev := range evs {
		if sf, ok := ev.(sdk.SeedFixed); ok {
			if !sf.Revealed {
				return SeedFallback, fmt.Errorf("%w: the seed of job %s was %s", ErrUnexpected, jobID, SeedFallback)
			}
			return SeedRevealed, nil
		}
	}
	return "", fmt.Errorf("%w: job %s has no SeedFixed event", ErrUnexpected, jobID)
}

// tokenHolders are the accounts whose balances the demo accounts for.
func (r *run) tokenHolders() ([]string, []common.Address) {
	names := []string{"buyer"}
	addrs := []common.Address{crypto.PubkeyToAddress(r.sim.Accounts[0].PublicKey)}
	for i, role := range []string{RoleHonest, RoleFalsifying, RoleSilent} {
		names = append(names, role+" provider")
		addrs = append(addrs, crypto.PubkeyToAddress(r.sim.Accounts[i+1].PublicKey))
	}
	names = append(names, "registry (stake)", "SLA manager (escrow)")
	addrs = append(addrs, r.sim.Addresses.Providers, r.sim.Addresses.Manager)
	return names, addrs
}

func (r *run) balances(ctx context.Context) ([]*big.Int, error) {
	_, addrs := r.tokenHolders()
	out := make([]*big.Int, len(addrs))
	for i, a := range addrs {
		b, err := r.buyer.Chain().TokenBalance(ctx, a)
		if err != nil {
			return nil, err
		}
		out[i] = b
	}
	return out, nil
}

// settleAccounts withdraws the credits, prints the balances and checks where the tokens went.
func (r *run) settleAccounts(ctx context.Context, before []*big.Int) error {
	r.printf("\nAct 5: withdrawals and balances (tokens)\n")
	refund, err := r.buyer.Withdraw(ctx)
	if err != nil {
		return fmt.Errorf("demo: buyer withdraw: %w", err)
	}
	bounty, err := r.watcher.Withdraw(ctx)
	if err != nil {
		return fmt.Errorf("demo: watcher withdraw: %w", err)
	}
	r.printf("  buyer withdrew %s (2 escrows back + slashed stake - bounties); watcher withdrew %s in bounties\n", tokens(refund), tokens(bounty))
	after, err := r.balances(ctx)
	if err != nil {
		return err
	}
	names, addrs := r.tokenHolders()
	sb, sa := new(big.Int), new(big.Int)
	for i := range names {
		d := new(big.Int).Sub(after[i], before[i])
		r.sum.Balances = append(r.sum.Balances, Balance{Name: names[i], Address: addrs[i], Before: before[i].String(),
			After: after[i].String(), Delta: d.String()})
		r.printf("  %-22s %14s -> %14s  (%s)\n", names[i], tokens(before[i]), tokens(after[i]), signed(d))
		sb.Add(sb, before[i])
		sa.Add(sa, after[i])
	}
	r.sum.Conserved = sb.Cmp(sa) == 0
	if !r.sum.Conserved {
		return fmt.Errorf("%w: token balances summed to %s before and %s after", ErrUnexpected, sb, sa)
	}
	// Where the tokens must have gone (spec §10): the buyer paid the honest price and got the
	// other two escrows back plus the slashed stakes less the bounties; the watcher earned
	// the price and the bounties; each slashed provider lost exactly its reserved stake.
	price := r.o.Price
	cheat, silent := r.sum.Job(RoleFalsifying), r.sum.Job(RoleSilent)
	gain := func(j *Job) *big.Int { return new(big.Int).Sub(bigOf(j.Stake), bigOf(j.Bounty)) }
	slashed := new(big.Int).Add(bigOf(cheat.Stake), bigOf(silent.Stake))
	want := []*big.Int{
		new(big.Int).Sub(new(big.Int).Add(gain(cheat), gain(silent)), price),
		new(big.Int).Add(price, new(big.Int).Add(bigOf(cheat.Bounty), bigOf(silent.Bounty))),
		new(big.Int), new(big.Int),
		new(big.Int).Neg(slashed),
		new(big.Int),
	}
	for i := range want {
		if d := new(big.Int).Sub(after[i], before[i]); d.Cmp(want[i]) != 0 {
			return fmt.Errorf("%w: the %s's balance changed by %s, want %s", ErrUnexpected, names[i], d, want[i])
		}
	}
	for _, j := range []*Job{cheat, silent} {
		st, err := r.buyer.ProviderStake(ctx, j.Provider)
		if err != nil {
			return err
		}
		if st.Reserved.Sign() != 0 {
			return fmt.Errorf("%w: the %s provider still has %s reserved", ErrUnexpected, j.Role, st.Reserved)
		}
	}
	r.printf("  conserved: the balances sum to %s tokens before and after; the cheaters lost their reserved stake\n", tokens(sa))
	return nil
}

// auditAct verifies the honest receipt offline, as a third party would.
func (r *run) auditAct(ctx context.Context) error {
	hj := r.sum.Job(RoleHonest)
	r.printf("\nAct 6: an auditor verifies the honest receipt offline\n")
	chainID := bigOf(r.sum.ChainID)
	mgr := r.sim.Addresses.Manager
	p := verifier.DefaultPolicy()
	p.ExpectedChainID, p.ExpectedContract = chainID, &mgr
	// No GPU in an in-process demo: the node's record says attestation mode "none".
	p.AllowNoAttestation = true
	p.MinK = r.shape.Kn
	tf, err := verifier.TensorDir(filepath.Join(r.dir, "jobs", "1-honest"))
	if err != nil {
		return err
	}
	rep, err := verifier.AuditFile(ctx, hj.Receipt, p, verifier.Options{
		Keys:    &verifier.CacheKeys{Cache: r.keys.cache},
		Tensors: tf,
		Chain:   verifier.NewChainView(r.sim.Chain.Client(), r.buyer.Chain()),
	})
	if err != nil {
		return fmt.Errorf("demo: audit: %w", err)
	}
	r.sum.Audit = Audit{OK: rep.OK(), Checks: rep.Checks, Policy: p, Elapsed: rep.Elapsed, Report: rep}
	for _, c := range rep.Checks {
		msg := c.Detail
		if c.Err != nil {
			msg = c.Err.Error()
		}
		r.printf("  %-4s %-13s %s\n", c.Status, c.Name, firstLine(msg, 100))
	}
	if !rep.OK() {
		return fmt.Errorf("%w: the honest receipt failed its audit: %w", ErrUnexpected, rep.Err())
	}
	r.printf("  verdict: valid (%.0f ms; policy: chain %s, manager %s, k >= %d, attestation mode none allowed)\n",
		float64(rep.Elapsed.Microseconds())/1000, chainID, short(mgr), p.MinK)
	return nil
}

func (r *run) dims() string {
	s := fmt.Sprint(r.shape.K)
	for range r.layers {
		s += fmt.Sprintf("->%d", r.shape.N)
	}
	return s
}

// memoKeys loads each shape's keys from the cache once for all nodes.
type memoKeys struct {
	cache circuits.Cache
	mu    sync.Mutex
	keys  map[string]*circuits.Keys
}

func (m *memoKeys) Setup(s circuits.Shape) (*circuits.Keys, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if k := m.keys[s.Name]; k != nil {
		return k, nil
	}
	k, err := m.cache.Setup(s)
	if err != nil {
		return nil, err
	}
	m.keys[s.Name] = k
	return k, nil
}

// proveSeconds sums the node's per-layer proving histogram.
func proveSeconds(n *prover.Node) (float64, uint64) {
	mfs, err := n.Metrics().Registry.Gather()
	if err != nil {
		return 0, 0
	}
	var sum float64
	var cnt uint64
	for _, mf := range mfs {
		if mf.GetName() != "probity_prover_proving_seconds" {
			continue
		}
		for _, m := range mf.GetMetric() {
			sum += m.GetHistogram().GetSampleSum()
			cnt += m.GetHistogram().GetSampleCount()
		}
	}
	return sum, cnt
}
