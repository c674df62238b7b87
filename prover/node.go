package prover

import (
	"context"
	"crypto/ecdsa"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/ethclient"

	"github.com/probitylabs/probity/attestation"
	"github.com/probitylabs/probity/chain"
	"github.com/probitylabs/probity/circuits"
	"github.com/probitylabs/probity/circuits/universal"
	"github.com/probitylabs/probity/commit"
	"github.com/probitylabs/probity/internal/fetch"
	"github.com/probitylabs/probity/internal/settings"
	"github.com/probitylabs/probity/jobs"
	"github.com/probitylabs/probity/model"
	"github.com/probitylabs/probity/prover/gpu"
	"github.com/probitylabs/probity/verifier/attest"
)

// ErrDataDirLocked: another node holds the data directory (lockDataDir).
var ErrDataDirLocked = errors.New("data directory in use by another node")

// ErrAbort, returned by a Hook, stops the job where it is, as a crash would: the step the
// hook was told about is not journaled. Tests crash a node at every step with it.
var ErrAbort = errors.New("prover: job aborted by hook")

// ErrNotRegistered: the provider has no registry entry, or another node key.
var ErrNotRegistered = errors.New("provider is not registered with this node key")

// ErrKeyMismatch: the node's keys for a class are not the ones its verifier was deployed with.
var ErrKeyMismatch = errors.New("proving keys do not match the class's verifier")

// Hook is called when a job reached step, after the chain action and before the journal
// records it. A non-nil error stops the job there.
type Hook func(jobID *big.Int, step Step) error

// KeySource returns the keys of a circuit the node proves: a class's sampled circuit, or its
// targeted one (universal.TargetedClass), which answers challenges.
type KeySource func(t circuits.Target) (*circuits.Keys, error)

// Options assemble a Node. Only Config is required when it names an endpoint, key files and
// model files; the rest override what the config would build.
type Options struct {
	Config      Config
	Backend     chain.Backend     // nil: dial Config.RPCURL
	ProviderKey *ecdsa.PrivateKey // nil: Config.ProviderKeyFile
	NodeKey     *ecdsa.PrivateKey // nil: Config.NodeKeyFile, else the provider key
	// Classes are served beside Config.Classes (tests: universaltest.Class()).
	Classes []*universal.Class
	// Models are held beside Config.Models (written to DATA-DIR/models for an executor).
	Models []*model.Model
	// Keys gives a circuit's keys; nil: the key cache at Config.KeysDir (set up on first use,
	// then checked against the class's verifiers before any job).
	Keys KeySource
	// Executor runs a job; nil: Config.Executor ("reference": in process).
	Executor   Executor
	GPU        *gpu.Collector // nil: per Config.GPU.Mode
	Logger     *slog.Logger   // nil: per Config.Log on stderr
	Metrics    *Metrics
	Hook       Hook
	HTTPClient *http.Client
	// RIMRoots replace NVIDIA's pinned RIM root for Config.GPU.RIMs, and DeviceRoots its Device
	// Identity CA in the check of a job's hardware requirement (tests only).
	RIMRoots, DeviceRoots []*x509.Certificate
	// ShutdownGrace is how long a step in progress may run on after shutdown (default 30s).
	ShutdownGrace time.Duration
}

// heldModel is a model the node holds and the file an executor reads it from.
type heldModel struct {
	m    *model.Model
	path string
}

// Node is a running provider.
type Node struct {
	cfg      Config
	backend  *ResilientBackend
	market   *chain.Market
	chainID  *big.Int
	nodeKey  *ecdsa.PrivateKey
	journal  *Journal
	fetch    *fetch.Fetcher
	prefetch *prefetcher
	exec     Executor
	keySrc   KeySource
	gpu      *gpu.Collector
	log      *slog.Logger
	metrics  *Metrics
	hook     Hook
	grace    time.Duration
	raw      chain.Backend // the endpoint under the retrying wrapper (transactions by hash)
	minPrice *big.Int
	classes  map[[32]byte]*universal.Class
	models   map[string]heldModel // by model root, word()
	batch    *batcher

	// What the records must show every auditor (revocation.go, rims.go, hardware.go): the
	// stapler for the GPUs' chains, the verified gpu.rims every report must match, and the
	// roots that replace NVIDIA's Device Identity CA in the hardware check (tests only).
	ocsp        *nodeOCSP
	rims        []*attest.RIM
	deviceRoots []*x509.Certificate

	mu      sync.Mutex
	active  map[string]bool
	keys    map[[32]byte]*circuits.Keys
	keysOK  map[[32]byte]bool
	est     map[[32]byte]*estimate
	sched   *scheduler
	work    map[string]work // heavy work left per unproved job (the admission backlog)
	wg      sync.WaitGroup
	changed chan struct{}       // closed and replaced on every journal write (RunUntil waits on it)
	offered []*jobs.Offer       // handed over by Consider, taken by intake
	passed  map[string]bool     // jobs refused or passed over (seen)
	atRisk  map[string]*big.Int // stake held by unsettled jobs
	// unlocked are the offers accepted and not yet locked, by buyer: their compute is spent
	// before the chain holds anyone to anything (capped by MaxUnlockedOffers).
	unlocked map[string]common.Address
	// hwRecord is the record of the GPUs a job's hardware requirement is judged on, over
	// hwNonce (hardware.go); collected once, under hwMu.
	hwMu     sync.Mutex
	hwRecord *attestation.Record
	hwNonce  [32]byte
}

// New assembles a node: keys, backend, market client, the models' roots, and the check that
// the provider is registered with the node key.
func New(ctx context.Context, o Options) (*Node, error) {
	cfg := o.Config
	if o.Backend == nil {
		if err := cfg.Validate(); err != nil {
			return nil, err
		}
	} else if err := cfg.validateRest(); err != nil {
		return nil, err
	}
	n := &Node{cfg: cfg, hook: o.Hook, grace: o.ShutdownGrace,
		classes: map[[32]byte]*universal.Class{}, models: map[string]heldModel{}, active: map[string]bool{},
		keys: map[[32]byte]*circuits.Keys{}, keysOK: map[[32]byte]bool{}, est: map[[32]byte]*estimate{},
		changed: make(chan struct{}), passed: map[string]bool{}, atRisk: map[string]*big.Int{},
		unlocked: map[string]common.Address{}, work: map[string]work{}}
	if n.grace <= 0 {
		n.grace = 30 * time.Second
	}
	n.minPrice, _ = cfg.minPrice()
	n.log = o.Logger
	if n.log == nil {
		n.log = settings.NewLogger(cfg.Log, os.Stderr)
	}
	n.metrics = o.Metrics
	if n.metrics == nil {
		n.metrics = NewMetrics()
	}
	provKey := o.ProviderKey
	if provKey == nil {
		k, err := settings.ReadKeyFile(cfg.ProviderKeyFile)
		if err != nil {
			return nil, &ConfigError{Field: "providerKeyFile", Err: err}
		}
		provKey = k
	}
	n.nodeKey = o.NodeKey
	if n.nodeKey == nil && cfg.NodeKeyFile != "" {
		k, err := settings.ReadKeyFile(cfg.NodeKeyFile)
		if err != nil {
			return nil, &ConfigError{Field: "nodeKeyFile", Err: err}
		}
		n.nodeKey = k
	}
	if n.nodeKey == nil {
		n.nodeKey = provKey
	}
	backend := o.Backend
	if backend == nil {
		ec, err := ethclient.DialContext(ctx, cfg.RPCURL)
		if err != nil {
			return nil, &ConfigError{Field: "rpcUrl", Err: err}
		}
		backend = ec
	}
	n.raw = backend
	pol := RetryPolicy{Retries: cfg.RPC.Retries, Min: cfg.RPC.BackoffMin.D(), Max: cfg.RPC.BackoffMax.D(),
		OnRetry: func(op string, attempt int, err error) {
			n.metrics.RPCRetries.WithLabelValues(op).Inc()
			n.log.Warn("rpc retry", "op", op, "attempt", attempt, "err", err)
		}}
	n.backend = NewResilientBackend(backend, provKey, pol, cfg.RPC.TxStuckAfter.D(), cfg.RPC.FeeBumpPercent)
	n.backend.OnReplace = func(nonce uint64, old, new common.Hash) {
		n.metrics.TxReplaced.Inc()
		n.log.Warn("replaced stuck transaction", "nonce", nonce, "old", old, "new", new)
	}
	n.backend.PendingDir = filepath.Join(cfg.DataDir, "pending")
	n.backend.OnStoreError = func(err error) { n.log.Error("pending transaction store", "err", err) }
	mk, err := chain.NewMarket(ctx, n.backend, cfg.Deployment, provKey)
	if err != nil {
		return nil, err
	}
	mk.Sender().PollInterval = min(cfg.PollInterval.D(), 500*time.Millisecond)
	n.market = mk
	if n.chainID, err = n.backend.ChainID(ctx); err != nil {
		return nil, err
	}
	p, err := mk.ProviderOf(ctx, mk.Address())
	if err != nil {
		return nil, fmt.Errorf("reading provider %s: %w", mk.Address(), err)
	}
	if want := crypto.PubkeyToAddress(n.nodeKey.PublicKey); p.NodeKey != want {
		return nil, fmt.Errorf("%w: provider %s has node key %s, this node signs with %s", ErrNotRegistered, mk.Address(), p.NodeKey, want)
	}
	for _, name := range cfg.Classes {
		cl := classByName(name)
		n.classes[cl.ID()] = cl
	}
	for _, cl := range o.Classes {
		if err := cl.Validate(); err != nil {
			return nil, err
		}
		n.classes[cl.ID()] = cl
	}
	if len(n.classes) == 0 {
		return nil, &ConfigError{Field: "classes", Err: errors.New("the node serves no class")}
	}
	if err := n.loadModels(cfg.Models, o.Models); err != nil {
		return nil, err
	}
	if n.journal, err = OpenJournal(filepath.Join(cfg.DataDir, "jobs")); err != nil {
		return nil, err
	}
	client := o.HTTPClient
	if client == nil {
		client = fetch.SafeClient(cfg.AllowPrivateAddresses)
	}
	n.fetch = &fetch.Fetcher{MaxBytes: min(cfg.Fetch.MaxFileBytes, jobFileLimit(n.classes)), Timeout: min(cfg.Fetch.Timeout.D(), cfg.JobFetchTimeout.D()),
		AllowFile: cfg.Fetch.AllowFile, Client: client}
	n.prefetch = newPrefetcher(n.fetch)
	n.exec = o.Executor
	if n.exec == nil && cfg.Executor.Kind == "command" {
		n.exec = CommandExecutor{Args: cfg.Executor.Command, Timeout: cfg.Executor.Timeout.D()}
	}
	n.keySrc = o.Keys
	if n.keySrc == nil {
		cache := circuits.Cache{Dir: cfg.KeysDir}
		if cache.Dir == "" {
			if cache, err = circuits.DefaultCache(); err != nil {
				return nil, err
			}
		}
		n.keySrc = cache.Setup
	}
	n.gpu = o.GPU
	if n.gpu == nil && cfg.GPU.Mode != "none" {
		g, err := gpu.Open(cfg.GPU.Index)
		switch {
		case errors.Is(err, gpu.ErrNoGPU) && cfg.GPU.Mode == "auto":
			n.log.Info("no GPU: attestation records say mode none")
		case err != nil:
			return nil, fmt.Errorf("gpu: %w", err)
		default:
			if err := g.AddPeers(cfg.GPU.Peers...); err != nil {
				return nil, &ConfigError{Field: "gpu.peers", Err: err}
			}
			n.gpu = g
		}
	}
	n.ocsp, n.deviceRoots = newNodeOCSP(cfg, n.metrics, n.log), o.DeviceRoots
	if len(cfg.GPU.RIMs) > 0 {
		if n.gpu == nil {
			return nil, &ConfigError{Field: "gpu.rims", Err: errors.New("RIMs are for a GPU's records, and the node has none")}
		}
		id, _, err := n.gpu.Identity()
		if err != nil {
			return nil, fmt.Errorf("gpu: %w", err)
		}
		if n.ocsp.rims, n.rims, err = loadRIMs(cfg.GPU.RIMs, id, o.RIMRoots, time.Now()); err != nil {
			return nil, &ConfigError{Field: "gpu.rims", Err: err}
		}
	}
	n.sched = newScheduler(cfg.Concurrency)
	n.batch = newBatcher(n)
	return n, nil
}

// loadModels reads the model files and registers the given models by root; a model given in
// memory is written to DATA-DIR/models so an external executor can read it.
func (n *Node) loadModels(paths []string, given []*model.Model) error {
	for _, p := range paths {
		m, err := model.ReadFile(p)
		if err != nil {
			return &ConfigError{Field: "models", Err: err}
		}
		root, err := m.Root()
		if err != nil {
			return &ConfigError{Field: "models", Err: fmt.Errorf("%s: %w", p, err)}
		}
		n.models[word(commit.ToBig(root))] = heldModel{m: m, path: p}
	}
	for _, m := range given {
		root, err := m.Root()
		if err != nil {
			return err
		}
		w := word(commit.ToBig(root))
		p := filepath.Join(n.cfg.DataDir, "models", w+".safetensors")
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := model.WriteFile(p, m); err != nil {
			return err
		}
		n.models[w] = heldModel{m: m, path: p}
	}
	return nil
}

// Address is the provider account.
func (n *Node) Address() common.Address { return n.market.Address() }

// Metrics are the node's metrics.
func (n *Node) Metrics() *Metrics { return n.metrics }

// Journal is the node's job journal.
func (n *Node) Journal() *Journal { return n.journal }

// Market is the node's chain client.
func (n *Node) Market() *chain.Market { return n.market }

// Run checks the node's keys and measures its execution and proving time, resumes every
// unfinished job of the journal, then takes new jobs (posted and offered) until ctx ends.
// On shutdown each job finishes the step it is in (up to the grace period).
func (n *Node) Run(ctx context.Context) error {
	return n.run(ctx)
}

// RunUntil runs the node until every job of ids has reached a terminal step, and returns
// their records (the demo runs a node for its own jobs). It returns ctx's error if ctx ends
// first.
func (n *Node) RunUntil(ctx context.Context, ids ...*big.Int) ([]*Record, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var recs []*Record
	done := make(chan error, 1)
	go func() { done <- n.run(ctx) }()
	for {
		n.mu.Lock()
		ch := n.changed
		n.mu.Unlock()
		recs = recs[:0]
		all := true
		for _, id := range ids {
			r, err := n.journal.Load(id.String())
			if err != nil || !r.Step.Terminal() {
				all = false
				break
			}
			recs = append(recs, r)
		}
		if all {
			cancel()
			if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
				return recs, err
			}
			return recs, nil
		}
		select {
		case err := <-done:
			if err == nil {
				err = ctx.Err()
			}
			return nil, err
		case <-ch:
		case <-time.After(n.cfg.PollInterval.D()):
		}
	}
}

func (n *Node) run(ctx context.Context) error {
	unlock, err := lockDataDir(n.cfg.DataDir)
	if err != nil {
		return err
	}
	defer unlock()
	if n.cfg.MetricsAddr != "" {
		addr, err := n.metrics.Serve(ctx, n.cfg.MetricsAddr)
		if err != nil {
			return &ConfigError{Field: "metricsAddr", Err: err}
		}
		n.log.Info("metrics", "url", "http://"+addr+"/metrics")
	}
	// Jobs run under a context that outlives ctx by the grace period.
	jobCtx, stopJobs := context.WithCancel(context.WithoutCancel(ctx))
	defer stopJobs()
	go func() {
		<-ctx.Done()
		t := time.NewTimer(n.grace)
		defer t.Stop()
		done := make(chan struct{})
		go func() { n.wg.Wait(); close(done) }()
		select {
		case <-done:
		case <-t.C:
			stopJobs()
		}
	}()
	n.batch.ctx = jobCtx
	n.prefetch.ctx = ctx
	restored, err := n.backend.Restore(ctx)
	if err != nil {
		return fmt.Errorf("restoring pending transactions: %w", err)
	}
	if restored > 0 {
		n.log.Info("tracking transactions left pending", "count", restored)
	}
	if st := n.cfg.RPC.TxStuckAfter.D(); st > 0 {
		go n.backend.Pump(jobCtx, max(st/4, 50*time.Millisecond))
	}
	// Before anything is locked: the chain must accept this node's proofs, and the node must
	// know how long it takes to execute and prove (an honest provider is never slashed).
	if err := n.preflight(ctx); err != nil {
		return err
	}
	recs, err := n.journal.All()
	if err != nil {
		return err
	}
	n.log.Info("prover started", "provider", n.Address(), "nodeKey", crypto.PubkeyToAddress(n.nodeKey.PublicKey),
		"chainId", n.chainID, "manager", n.cfg.Deployment.Manager, "classes", len(n.classes), "models", len(n.models), "journal", len(recs))
	for _, r := range recs {
		n.metrics.Jobs.WithLabelValues(string(r.Step)).Inc()
		n.trackStake(r)
		if !r.Step.Terminal() {
			n.log.Info("resuming job", "job", r.JobID, "step", r.Step)
			n.start(ctx, jobCtx, r)
		}
	}
	err = n.intake(ctx, jobCtx)
	n.wg.Wait()
	if errors.Is(err, context.Canceled) && ctx.Err() != nil {
		n.log.Info("prover stopped")
		return nil
	}
	return err
}

// start runs a job in its own goroutine unless it already runs. stop is the shutdown signal
// (checked between steps); work is the context steps run under.
func (n *Node) start(stop, work context.Context, r *Record) {
	n.mu.Lock()
	if n.active[r.JobID] {
		n.mu.Unlock()
		return
	}
	n.active[r.JobID] = true
	n.mu.Unlock()
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		defer func() {
			n.mu.Lock()
			delete(n.active, r.JobID)
			n.mu.Unlock()
		}()
		n.runJob(stop, work, r)
	}()
}

// heavy runs f holding one of the Concurrency slots: execution and proving share the
// machine, waiting for blocks and batches does not. Slots go to the earliest deadline (chain
// seconds) first.
func (n *Node) heavy(ctx context.Context, deadline uint64, f func() error) error {
	if err := n.sched.acquire(ctx, deadline); err != nil {
		return err
	}
	defer n.sched.release()
	return f()
}

// save journals r and wakes RunUntil.
func (n *Node) save(r *Record) error {
	if err := n.journal.Save(r); err != nil {
		return err
	}
	n.mu.Lock()
	close(n.changed)
	n.changed = make(chan struct{})
	n.mu.Unlock()
	return nil
}

// permanent marks errors that retrying the step cannot fix: the job fails.
type permanent struct{ err error }

func (p permanent) Error() string { return p.err.Error() }
func (p permanent) Unwrap() error { return p.err }

// runJob advances a job step by step until it is terminal, shutdown is asked for, or a hook
// aborts it. A step works on a copy of the record, which is journaled before it replaces r.
func (n *Node) runJob(stop, work context.Context, r *Record) {
	log := n.log.With("job", r.JobID)
	attempt, execFails := 0, 0
	for !r.Step.Terminal() {
		if stop.Err() != nil {
			log.Info("stopping; job journaled", "step", r.Step)
			return
		}
		prev := r.Step
		cp := *r
		ctx := work
		if r.Step == StepCommitted || r.Step == StepSubmitted {
			// Waiting for a seed or a payout loses nothing when interrupted: stop at once.
			ctx = stop
		}
		next, err := n.step(ctx, &cp, log)
		var ef execFailure
		if err != nil && errors.As(err, &ef) {
			execFails++
		}
		if err != nil && prev == StepLocked && cp.Step == StepLocked && ctx.Err() == nil {
			// A locked job that cannot be executed is given back for its abandonment fee
			// rather than slashed for its whole stake at the commit deadline.
			var perm permanent
			if errors.As(err, &perm) || execFails >= n.cfg.Safety.MaxExecAttempts {
				why := fmt.Sprintf("execution failed %d times: %v", execFails, err)
				if errors.As(err, &perm) {
					why = "cannot execute: " + err.Error()
				}
				next, err = n.abandon(ctx, &cp, why, log)
			}
		}
		if err != nil {
			var perm permanent
			switch {
			case errors.As(err, &perm):
				cp.Step, cp.Reason = StepFailed, err.Error()
			case ctx.Err() != nil:
				log.Info("step interrupted by shutdown; will redo", "step", prev)
				return
			default:
				attempt++
				wait := min(n.cfg.PollInterval.D()*time.Duration(1<<min(attempt, 5)), 30*time.Second)
				log.Warn("step failed; retrying", "step", prev, "attempt", attempt, "in", wait, "err", err)
				select {
				case <-stop.Done():
					return
				case <-time.After(wait):
				}
				continue
			}
		} else {
			cp.Step = next
		}
		attempt = 0
		if n.hook != nil {
			if herr := n.hook(r.ID(), cp.Step); herr != nil {
				log.Warn("job stopped by hook", "step", cp.Step, "err", herr)
				return
			}
		}
		if err := n.save(&cp); err != nil {
			log.Error("journal write failed; stopping job", "err", err)
			return
		}
		*r = cp
		n.trackStake(r)
		if prev != r.Step {
			n.metrics.Jobs.WithLabelValues(string(prev)).Dec()
			n.metrics.Jobs.WithLabelValues(string(r.Step)).Inc()
			n.metrics.Transitions.WithLabelValues(string(r.Step)).Inc()
			switch r.Step {
			case StepSlashed, StepFailed:
				log.Error("job step", "step", r.Step, "reason", r.Reason)
			case StepSettled:
				n.metrics.Earned.Add(units(r.Request.Price))
				log.Info("job step", "step", r.Step)
			default:
				log.Info("job step", "step", r.Step, "reason", r.Reason)
			}
		}
	}
}

// units is a token amount as a float for the metrics (which may round).
func units(v *big.Int) float64 {
	f, _ := new(big.Float).SetInt(v).Float64()
	return f
}

// trackStake keeps the stake-at-risk gauge at the stake the node's jobs hold between lock (or
// commit) and settlement, and the set of offers executing before their lock.
func (n *Node) trackStake(r *Record) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.trackWork(r)
	if r.Source == FromOffer && !r.Step.Terminal() && r.Step.Before(StepCommitted) {
		n.unlocked[r.JobID] = r.Request.Buyer
	} else {
		delete(n.unlocked, r.JobID)
	}
	stake, ok := new(big.Int).SetString(r.Stake, 10)
	if !ok {
		stake, ok = new(big.Int).SetString(r.LockedStake, 10)
	}
	if ok && !r.Step.Terminal() && r.Step.Before(StepSettled) {
		n.atRisk[r.JobID] = stake
	} else {
		delete(n.atRisk, r.JobID)
	}
	sum := new(big.Int)
	for _, v := range n.atRisk {
		sum.Add(sum, v)
	}
	n.metrics.StakeAtRisk.Set(units(sum))
}

// step performs the action that follows r.Step, after reconciling r with the chain, and
// returns the step reached.
func (n *Node) step(ctx context.Context, r *Record, log *slog.Logger) (Step, error) {
	changed, err := n.reconcile(ctx, r)
	if err != nil {
		return r.Step, err
	}
	if changed {
		log.Info("reconciled with chain", "step", r.Step, "reason", r.Reason)
		return r.Step, nil
	}
	switch r.Step {
	case StepAccepted:
		if r.Source == FromOffer {
			return n.execute(ctx, r, log)
		}
		return n.lock(ctx, r, log)
	case StepLocked:
		return n.execute(ctx, r, log)
	case StepExecuted:
		return n.commit(ctx, r, log)
	case StepCommitted:
		return n.seed(ctx, r, log)
	case StepSeeded:
		return n.prove(ctx, r, log)
	case StepProved:
		return n.submit(ctx, r, log)
	case StepSubmitted:
		return n.settle(ctx, r, log)
	case StepSettled:
		return n.finish(ctx, r, log)
	}
	return r.Step, permanent{fmt.Errorf("no action for step %q", r.Step)}
}

// gas records a transaction's hash and gas under kind, in r and the metrics.
func (n *Node) gas(r *Record, kind string, tx *chain.Tx) {
	if tx == nil || tx.Receipt == nil {
		return
	}
	if r.Txs == nil {
		r.Txs, r.Gas = map[string]common.Hash{}, map[string]uint64{}
	}
	if r.Gas == nil {
		r.Gas = map[string]uint64{}
	}
	r.Txs[kind] = tx.Receipt.TxHash
	r.Gas[kind] += tx.GasUsed
	n.metrics.GasUsed.WithLabelValues(kind).Add(float64(tx.GasUsed))
	if p := tx.Receipt.EffectiveGasPrice; p != nil {
		f, _ := new(big.Float).SetInt(new(big.Int).Mul(p, new(big.Int).SetUint64(tx.GasUsed))).Float64()
		n.metrics.GasSpentWei.Add(f)
	}
}

func (n *Node) chainTime(ctx context.Context) (uint64, error) {
	h, err := n.backend.HeaderByNumber(ctx, nil)
	if err != nil {
		return 0, err
	}
	return h.Time, nil
}

func (n *Node) workDir(r *Record) string { return filepath.Join(n.cfg.DataDir, "work", r.JobID) }

func (n *Node) class(r *Record) (*universal.Class, error) {
	cl, ok := n.classes[r.Request.ClassId]
	if !ok {
		return nil, permanent{fmt.Errorf("class %x is not served by this node", r.Request.ClassId)}
	}
	return cl, nil
}

func (n *Node) modelOf(r *Record) (heldModel, error) {
	hm, ok := n.models[word(r.Request.ModelRoot)]
	if !ok {
		return heldModel{}, permanent{fmt.Errorf("model %s is not held by this node", word(r.Request.ModelRoot))}
	}
	return hm, nil
}
