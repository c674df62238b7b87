package prover

import (
	"context"
	"crypto/ecdsa"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/ethclient"

	"github.com/probitylabs/probity/attestation"
	"github.com/probitylabs/probity/chain"
	"github.com/probitylabs/probity/circuits"
	"github.com/probitylabs/probity/jobs"
	"github.com/probitylabs/probity/prover/gpu"
)

// ErrAbort, returned by a Hook, stops the job where it is, as a crash would: the step the
// hook was told about is not journaled. Tests use it to crash a node at every step.
var ErrAbort = errors.New("prover: job aborted by hook")

// ErrNotRegistered: the provider account has no registry entry or another node key.
var ErrNotRegistered = errors.New("provider is not registered with this node key")

// KeySource gives a shape's proving keys (circuits.Cache does, building them on first use).
type KeySource interface {
	Setup(s circuits.Shape) (*circuits.Keys, error)
}

// Hook is called when a job reached step, after the chain action and before the journal
// records it. A non-nil error stops the job there.
type Hook func(jobID *big.Int, step Step) error

// Options assemble a Node. Only Config is required when it names an RPC endpoint and
// key files; the rest override what the config would build.
type Options struct {
	Config      Config
	Backend     chain.Backend     // nil: dial Config.RPCURL
	ProviderKey *ecdsa.PrivateKey // nil: Config.ProviderKeyFile
	NodeKey     *ecdsa.PrivateKey // nil: Config.NodeKeyFile, else the provider key
	Executor    Executor          // nil: Config.Executor
	Keys        KeySource         // nil: circuits.Cache at Config.KeysDir
	GPU         *gpu.Collector    // nil: per Config.GPU.Mode
	Logger      *slog.Logger      // nil: per Config.Log on stderr
	Metrics     *Metrics          // nil: NewMetrics()
	Hook        Hook
	HTTPClient  *http.Client
	// Progress, when set, gets a live progress line while layers are proved (the CLI sets
	// it to a terminal only).
	Progress io.Writer
	// ShutdownGrace is how long a step in progress may run on after shutdown is asked
	// for (default 30s); past it the step is cancelled and redone on restart.
	ShutdownGrace time.Duration
}

// Node is a running provider.
type Node struct {
	cfg      Config
	backend  *ResilientBackend
	c        *chain.Client
	chainID  *big.Int
	nodeKey  *ecdsa.PrivateKey
	journal  *Journal
	fetcher  *Fetcher
	exec     Executor
	keys     KeySource
	gpu      *gpu.Collector
	ocsp     *nodeOCSP
	log      *slog.Logger
	metrics  *Metrics
	hook     Hook
	progress io.Writer
	grace    time.Duration
	served   map[[32]byte]circuits.Shape

	mu       sync.Mutex
	active   map[string]bool
	atRisk   map[string]*big.Int
	keyCache map[[32]byte]*circuits.Keys
	keyMu    sync.Mutex
	sem      chan struct{}
	wg       sync.WaitGroup

	// Guarded by mu: what the last self-test measured, whether an execution failed since,
	// and why the node stopped taking jobs (another node uses its provider key).
	est        *estimates
	execFailed bool
	sharedKey  error
	keysOK     map[[32]byte]bool // shapes whose local key equals the chain's
}

// ReadKeyFile reads a hex secp256k1 key (with or without 0x) from path.
func ReadKeyFile(path string) (*ecdsa.PrivateKey, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	k, err := crypto.HexToECDSA(strings.TrimPrefix(strings.TrimSpace(string(b)), "0x"))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return k, nil
}

// NewLogger builds the slog logger a config asks for.
func NewLogger(c LogConfig, w io.Writer) *slog.Logger {
	var lvl slog.Level
	_ = lvl.UnmarshalText([]byte(c.Level))
	o := &slog.HandlerOptions{Level: lvl}
	if c.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, o))
	}
	return slog.New(slog.NewTextHandler(w, o))
}

// New assembles a node and checks that the provider is registered with the node key.
func New(ctx context.Context, o Options) (*Node, error) {
	cfg := o.Config
	if o.Backend == nil {
		if err := cfg.Validate(); err != nil {
			return nil, err
		}
	} else if err := cfg.validateRest(); err != nil {
		return nil, err
	}
	n := &Node{cfg: cfg, hook: o.Hook, progress: o.Progress, grace: o.ShutdownGrace,
		active: map[string]bool{}, atRisk: map[string]*big.Int{}, keyCache: map[[32]byte]*circuits.Keys{}, served: map[[32]byte]circuits.Shape{}, keysOK: map[[32]byte]bool{}}
	if n.grace <= 0 {
		n.grace = 30 * time.Second
	}
	n.log = o.Logger
	if n.log == nil {
		n.log = NewLogger(cfg.Log, os.Stderr)
	}
	n.metrics = o.Metrics
	if n.metrics == nil {
		n.metrics = NewMetrics()
	}
	provKey := o.ProviderKey
	if provKey == nil {
		k, err := ReadKeyFile(cfg.ProviderKeyFile)
		if err != nil {
			return nil, &ConfigError{Field: "providerKeyFile", Err: err}
		}
		provKey = k
	}
	n.nodeKey = o.NodeKey
	if n.nodeKey == nil && cfg.NodeKeyFile != "" {
		k, err := ReadKeyFile(cfg.NodeKeyFile)
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
	c, err := chain.NewClient(ctx, n.backend, cfg.Deployment, provKey)
	if err != nil {
		return nil, err
	}
	c.Sender().PollInterval = min(cfg.PollInterval.D(), 500*time.Millisecond)
	n.c = c
	if n.chainID, err = n.backend.ChainID(ctx); err != nil {
		return nil, err
	}
	p, err := c.ProviderOf(ctx, c.Address())
	if err != nil {
		return nil, fmt.Errorf("reading provider %s: %w", c.Address(), err)
	}
	if want := crypto.PubkeyToAddress(n.nodeKey.PublicKey); p.NodeKey != want {
		return nil, fmt.Errorf("%w: provider %s has node key %s, this node signs with %s", ErrNotRegistered, c.Address(), p.NodeKey, want)
	}
	for _, name := range cfg.Shapes {
		s, _ := circuits.Lookup(name)
		n.served[s.ID()] = s
	}
	if n.journal, err = OpenJournal(filepath.Join(cfg.DataDir, "jobs")); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cfg.receiptsDir(), 0o755); err != nil {
		return nil, err
	}
	n.fetcher = &Fetcher{MaxManifestBytes: cfg.Fetch.MaxManifestBytes, MaxFileBytes: cfg.Fetch.MaxFileBytes,
		Timeout: cfg.Fetch.Timeout.D(), AllowFile: cfg.Fetch.AllowFile, Client: o.HTTPClient}
	n.exec = o.Executor
	if n.exec == nil {
		if cfg.Executor.Kind == "command" {
			n.exec = CommandExecutor{Args: cfg.Executor.Command, Timeout: cfg.Executor.Timeout.D()}
		} else {
			n.exec = ReferenceExecutor{}
		}
	}
	n.keys = o.Keys
	if n.keys == nil {
		cache := circuits.Cache{Dir: cfg.KeysDir}
		if cache.Dir == "" {
			if cache, err = circuits.DefaultCache(); err != nil {
				return nil, err
			}
		}
		// Load only: a node that made its own keys would prove with keys no registered
		// verifier accepts (spec §10.2).
		n.keys = installedKeys{cache}
	}
	n.gpu = o.GPU
	if n.gpu == nil && cfg.GPU.Mode != "none" {
		g, err := gpu.Open(cfg.GPU.Index)
		switch {
		case errors.Is(err, gpu.ErrNoGPU) && cfg.GPU.Mode == "auto":
			n.log.Info("no GPU: receipts will say attestation mode none")
		case err != nil:
			return nil, fmt.Errorf("gpu: %w", err)
		default:
			n.gpu = g
		}
	}
	n.ocsp = newNodeOCSP(cfg, n.metrics, o.HTTPClient, n.log)
	n.sem = make(chan struct{}, cfg.Concurrency)
	return n, nil
}

// Address is the provider account.
func (n *Node) Address() common.Address { return n.c.Address() }

// Metrics are the node's metrics.
func (n *Node) Metrics() *Metrics { return n.metrics }

// Journal is the node's job journal.
func (n *Node) Journal() *Journal { return n.journal }

// Run resumes every unfinished job in the journal, then watches for new jobs until ctx
// ends. On shutdown it lets each job finish the step it is in (up to the grace period)
// and returns once every job goroutine has journaled and stopped.
func (n *Node) Run(ctx context.Context) error {
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
	// Transactions a previous run left unmined are tracked again before any job step sends
	// a new one: a stuck one would otherwise hold back every later nonce of the key.
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
	// Before anything can be locked: the chain must accept this node's proofs, and its
	// executor and prover must work (spec §10: an honest provider is never slashed).
	if err := n.CheckKeys(ctx); err != nil {
		return err
	}
	if err := n.SelfTest(ctx); err != nil {
		n.metrics.ExecutorFailures.Inc()
		return err
	}
	recs, err := n.journal.All()
	if err != nil {
		return err
	}
	n.log.Info("prover started", "provider", n.c.Address(), "nodeKey", crypto.PubkeyToAddress(n.nodeKey.PublicKey),
		"chainId", n.chainID, "manager", n.cfg.Deployment.Manager, "journal", len(recs))
	for _, r := range recs {
		n.countStep(r.Step, 1)
		n.trackStake(r)
		if !r.Step.Terminal() {
			n.log.Info("resuming job", "job", r.JobID, "step", r.Step)
			n.start(ctx, jobCtx, r)
		}
	}
	err = n.watch(ctx, jobCtx)
	n.wg.Wait()
	if errors.Is(err, context.Canceled) && ctx.Err() != nil {
		n.log.Info("prover stopped")
		return nil
	}
	return err
}

// trackStake keeps the stake-at-risk gauge equal to the stake reserved by the jobs
// this node holds between lock and settlement.
func (n *Node) trackStake(r *Record) {
	n.mu.Lock()
	defer n.mu.Unlock()
	stake, ok := new(big.Int).SetString(r.Stake, 10)
	if ok && !r.Step.Before(StepLocked) && r.Step.Before(StepSettled) {
		n.atRisk[r.JobID] = stake
	} else {
		delete(n.atRisk, r.JobID)
	}
	sum := new(big.Int)
	for _, v := range n.atRisk {
		sum.Add(sum, v)
	}
	n.metrics.StakeAtRisk.Set(tokens(sum))
}

func (n *Node) countStep(s Step, d float64) { n.metrics.Jobs.WithLabelValues(string(s)).Add(d) }

// start runs a job in its own goroutine. stop is the shutdown signal (checked between
// steps); work is the context steps run under (cancelled only after the grace period).
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
		select {
		case n.sem <- struct{}{}:
			defer func() { <-n.sem }()
		case <-stop.Done():
			return
		}
		n.runJob(stop, work, r)
	}()
}

// cursor is the last block scanned for JobPosted.
type cursor struct {
	Block uint64 `json:"block"`
}

func (n *Node) cursorPath() string { return filepath.Join(n.cfg.DataDir, "cursor.json") }

func (n *Node) loadCursor() (uint64, bool) {
	b, err := os.ReadFile(n.cursorPath())
	if err != nil {
		return 0, false
	}
	var c cursor
	if json.Unmarshal(b, &c) != nil {
		return 0, false
	}
	return c.Block, true
}

// maxRange bounds one eth_getLogs query (providers cap ranges).
const maxRange = 2000

// watch polls JobPosted events from the cursor on.
func (n *Node) watch(ctx, jobCtx context.Context) error {
	next := n.cfg.StartBlock
	if b, ok := n.loadCursor(); ok {
		next = b + 1
	}
	t := time.NewTicker(n.cfg.PollInterval.D())
	defer t.Stop()
	for {
		head, err := n.backend.BlockNumber(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			n.log.Warn("reading head", "err", err)
		}
		for err == nil && next <= head {
			end := min(head, next+maxRange-1)
			evs, ferr := n.c.FilterJobPosted(ctx, chain.EventRange{Start: next, End: &end})
			if ferr != nil {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				n.log.Warn("scanning JobPosted", "from", next, "to", end, "err", ferr)
				break
			}
			locks, lerr := n.c.FilterJobLocked(ctx, chain.EventRange{Start: next, End: &end})
			if lerr != nil {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				n.log.Warn("scanning JobLocked", "from", next, "to", end, "err", lerr)
				break
			}
			for _, ev := range locks {
				if n.foreignLock(ctx, ev) {
					n.noteForeignLock(ev)
				}
			}
			for _, ev := range evs {
				n.consider(ctx, jobCtx, ev)
			}
			if werr := writeAtomic(n.cursorPath(), fmt.Appendf(nil, `{"block":%d}`+"\n", end)); werr != nil {
				n.log.Error("writing cursor", "err", werr)
			}
			next = end + 1
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}

func (n *Node) refuse(jobID *big.Int, reason string, attrs ...any) {
	n.metrics.Refused.WithLabelValues(reason).Inc()
	n.log.Info("refusing job", append([]any{"job", jobID, "reason", reason}, attrs...)...)
}

// consider decides whether to take a posted job and starts it if so.
func (n *Node) consider(ctx, jobCtx context.Context, ev *chain.JobPosted) {
	id := ev.JobId.String()
	if _, err := n.journal.Load(id); err == nil {
		return // already known (taken, refused or done)
	}
	n.mu.Lock()
	shared := n.sharedKey
	n.mu.Unlock()
	if shared != nil {
		n.refuse(ev.JobId, "shared-key", "err", shared)
		return
	}
	kmin := uint16(0)
	for l, ly := range ev.Spec.Layers {
		s, ok := n.served[ly.ShapeId]
		if !ok {
			n.refuse(ev.JobId, "shape", "layer", l, "shapeId", common.Hash(ly.ShapeId))
			return
		}
		if kmin == 0 || s.Kn < kmin {
			kmin = s.Kn
		}
	}
	if ev.Price.Cmp(n.cfg.minPrice()) < 0 {
		n.refuse(ev.JobId, "price", "price", ev.Price, "minPrice", n.cfg.MinPrice)
		return
	}
	job, err := n.c.GetJob(ctx, ev.JobId)
	if err != nil {
		n.log.Warn("reading job", "job", id, "err", err)
		return
	}
	if chain.JobState(job.State) != chain.StateOpen {
		n.log.Debug("job no longer open", "job", id, "state", chain.JobState(job.State))
		return
	}
	if now, err := n.chainTime(ctx); err == nil && now > ev.LockBy {
		n.refuse(ev.JobId, "expired", "lockBy", ev.LockBy)
		return
	}
	need, err := n.c.RequiredStake(ctx, ev.Price, kmin)
	if err != nil {
		n.log.Warn("required stake", "job", id, "err", err)
		return
	}
	p, err := n.c.ProviderOf(ctx, n.c.Address())
	if err != nil {
		n.log.Warn("reading stake", "err", err)
		return
	}
	if p.Free.Cmp(need) < 0 {
		n.refuse(ev.JobId, "stake", "required", need, "free", p.Free)
		return
	}
	r := &Record{JobID: id, Step: StepAccepted, Buyer: ev.Buyer, SpecHash: ev.SpecHash, InputRoot: bigHex(ev.Spec.InputRoot),
		Rows: ev.Spec.Rows, Price: ev.Price.String(), LockBy: ev.LockBy, ExecWindow: ev.ExecWindow, ProveWindow: ev.ProveWindow,
		SeedCommitment: ev.SeedCommitment, InputURI: ev.InputURI, PostedBlock: ev.Raw.BlockNumber}
	for _, ly := range ev.Spec.Layers {
		r.Layers = append(r.Layers, LayerSpec{ShapeID: ly.ShapeId, WeightsRoot: bigHex(ly.WeightsRoot), Epilogue: bigHex(ly.Epilogue)})
	}
	if err := n.journal.Save(r); err != nil {
		n.log.Error("journal", "job", id, "err", err)
		return
	}
	n.countStep(StepAccepted, 1)
	n.metrics.Transitions.WithLabelValues(string(StepAccepted)).Inc()
	n.log.Info("accepted job", "job", id, "price", ev.Price, "layers", len(ev.Spec.Layers), "stake", need)
	n.start(ctx, jobCtx, r)
}

func (n *Node) chainTime(ctx context.Context) (uint64, error) {
	h, err := n.backend.HeaderByNumber(ctx, nil)
	if err != nil {
		return 0, err
	}
	return h.Time, nil
}

// permanent marks errors that retrying the step cannot fix.
type permanent struct{ err error }

func (p permanent) Error() string { return p.err.Error() }
func (p permanent) Unwrap() error { return p.err }

// runJob advances a job step by step until it is terminal, shutdown is asked for, or a
// hook aborts it.
func (n *Node) runJob(stop, work context.Context, r *Record) {
	log := n.log.With("job", r.JobID)
	resumed := r.Step != StepAccepted
	attempt := 0
	for !r.Step.Terminal() {
		if stop.Err() != nil {
			log.Info("stopping; job journaled", "step", r.Step)
			return
		}
		prev := r.Step
		cp := *r
		ctx := work
		if r.Step == StepCommitted {
			// Waiting for the seed block loses nothing when interrupted: stop at once.
			ctx = stop
		}
		next, err := n.step(ctx, &cp, resumed, log)
		if err != nil {
			var perm permanent
			if errors.As(err, &perm) {
				cp.Step, cp.Reason = StepFailed, err.Error()
				log.Error("job failed", "step", prev, "err", err)
			} else if ctx.Err() != nil {
				log.Info("step interrupted by shutdown; will redo", "step", prev)
				return
			} else {
				if cp.ExecFailures != r.ExecFailures {
					// The failure count outlives the retry (and a restart): it decides when
					// the job is abandoned.
					r.ExecFailures = cp.ExecFailures
					if err := n.journal.Save(r); err != nil {
						log.Error("journal write failed; stopping job", "err", err)
						return
					}
				}
				attempt++
				wait := min(n.cfg.PollInterval.D()*time.Duration(1<<min(attempt, 5)), 30*time.Second)
				log.Warn("step failed; retrying", "step", prev, "attempt", attempt, "in", wait, "err", err)
				select {
				case <-stop.Done():
					return
				case <-time.After(wait):
				}
				resumed = true // re-verify what is on disk after a failure
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
		if err := n.journal.Save(&cp); err != nil {
			log.Error("journal write failed; stopping job", "err", err)
			return
		}
		*r = cp
		n.trackStake(r)
		if prev != r.Step {
			if r.Step == StepSettled {
				if price, ok := new(big.Int).SetString(r.Price, 10); ok {
					n.metrics.Earned.Add(tokens(price))
				}
			}
			n.countStep(prev, -1)
			n.countStep(r.Step, 1)
			n.metrics.Transitions.WithLabelValues(string(r.Step)).Inc()
			switch r.Step {
			case StepSlashed, StepFailed, StepAbandoned:
				// Losing events: an operator must see them (and why) without debug logs.
				log.Error("job step", "step", r.Step, "reason", r.Reason)
			default:
				log.Info("job step", "step", r.Step, "reason", r.Reason)
			}
		}
	}
}

func (n *Node) gas(r *Record, kind string, rc *types.Receipt) {
	if rc == nil {
		return
	}
	r.tx(kind, rc.TxHash)
	r.GasUsed += rc.GasUsed
	n.metrics.GasUsed.WithLabelValues(kind).Add(float64(rc.GasUsed))
	if rc.EffectiveGasPrice != nil {
		n.metrics.GasSpentWei.Add(tokens(new(big.Int).Mul(rc.EffectiveGasPrice, new(big.Int).SetUint64(rc.GasUsed))))
	}
}

// sync moves r to where the chain says the job is, for the cases where the node did
// something the journal missed (crash after a transaction, before the journal write) or
// the job ended without us. It returns true when r changed.
func (n *Node) sync(r *Record, job chain.Job) (bool, error) {
	me := n.c.Address()
	st := chain.JobState(job.State)
	old := r.Step
	switch st {
	case chain.StateOpen:
		if r.Step == StepLocked || r.Step == StepExecuted {
			// Only this node's abandon reopens a job it locked: the abandon was mined
			// before the journal recorded it.
			r.Step, r.Reason = StepAbandoned, "abandoned (the chain says Open again)"
			break
		}
		if !r.Step.Before(StepLocked) {
			return false, permanent{fmt.Errorf("journal says %s but the chain says Open", r.Step)}
		}
	case chain.StateCancelled:
		if r.Step == StepLocked || r.Step == StepExecuted {
			r.Step, r.Reason = StepAbandoned, "abandoned (escrow refunded)"
			break
		}
		r.Step, r.Reason = StepLost, "cancelled by the buyer"
	case chain.StateLocked, chain.StateCommitted, chain.StateSettled, chain.StateSlashed:
		if job.Provider != me {
			r.Step, r.Reason = StepLost, "locked by "+job.Provider.Hex()
			break
		}
		if r.Step.Before(StepLocked) {
			// Locked before the journal knew: execute fetches the files if it has none.
			r.Step, r.CommitBy, r.Stake = StepLocked, job.CommitBy, job.Stake.String()
		}
		if st == chain.StateLocked {
			break
		}
		if st == chain.StateSlashed {
			r.Step, r.Reason = StepSlashed, "slashed on chain"
			break
		}
		if r.Step.Before(StepCommitted) {
			if r.Step != StepExecuted {
				return false, permanent{errors.New("the chain holds a commitment this journal has no outputs for")}
			}
			att := common.Hash(r.AttestationDigest)
			if got := outputsDigest(r.Roots(), att); got != job.OutputsDigest {
				return false, permanent{fmt.Errorf("committed outputsDigest %x differs from the journaled outputs %x", job.OutputsDigest, got)}
			}
			r.Step, r.SeedBlock = StepCommitted, job.SeedBlock
		}
		if job.SeedFixed && r.Step == StepCommitted {
			r.Step, r.Seed, r.ProveBy = StepSeeded, bigHex(job.Seed), job.ProveBy
		}
		if job.SeedFixed && r.ProveBy != job.ProveBy {
			// Fixed on chain after the node derived it itself (submitProof or anyone's fixSeed).
			r.ProveBy = job.ProveBy
		}
		if st == chain.StateSettled && r.Step.Before(StepSettled) {
			if r.Step != StepProved {
				return false, permanent{errors.New("the chain says Settled but no proofs are journaled")}
			}
			r.Step = StepSettled
		}
	}
	return r.Step != old, nil
}

// step performs the action that follows r.Step and returns the step reached.
func (n *Node) step(ctx context.Context, r *Record, resumed bool, log *slog.Logger) (Step, error) {
	id := r.ID()
	if r.Step != StepAccepted && r.Step != StepSettled {
		job, err := n.c.GetJob(ctx, id)
		if err != nil {
			return r.Step, err
		}
		changed, err := n.sync(r, job)
		if err != nil {
			return r.Step, err
		}
		if changed {
			log.Info("reconciled with chain", "step", r.Step)
			return r.Step, nil
		}
	}
	switch r.Step {
	case StepAccepted:
		return n.fetch(ctx, r, log)
	case StepFetched:
		return n.lock(ctx, r, log)
	case StepLocked:
		return n.execute(ctx, r, log)
	case StepExecuted:
		return n.commit(ctx, r, resumed, log)
	case StepCommitted:
		return n.seed(ctx, r)
	case StepSeeded:
		return n.prove(ctx, r, resumed, log)
	case StepProved:
		return n.submit(ctx, r, log)
	case StepSettled:
		return n.finish(ctx, r, log)
	}
	return r.Step, permanent{fmt.Errorf("no action for step %q", r.Step)}
}

func (n *Node) workDir(r *Record) string { return filepath.Join(n.cfg.DataDir, "work", r.JobID) }

func (n *Node) fetch(ctx context.Context, r *Record, log *slog.Logger) (Step, error) {
	in, model, err := n.fetcher.FetchJob(ctx, r.InputURI, n.workDir(r))
	if err != nil {
		n.refuse(r.ID(), "fetch", "err", err)
		r.Reason = err.Error()
		return StepRefused, nil
	}
	files, err := CheckJobFiles(r.Spec(), in, model)
	if err != nil {
		n.refuse(r.ID(), "files", "err", err)
		r.Reason = err.Error()
		return StepRefused, nil
	}
	if err := n.preflight(ctx, r, files); err != nil {
		if ctx.Err() != nil {
			return r.Step, ctx.Err()
		}
		n.refuse(r.ID(), preflightReason(err), "err", err)
		r.Reason = err.Error()
		return StepRefused, nil
	}
	r.InputPath, r.ModelPath = in, model
	log.Info("job files match the spec", "input", in, "model", model)
	return StepFetched, nil
}

func (n *Node) lock(ctx context.Context, r *Record, log *slog.Logger) (Step, error) {
	if now, err := n.chainTime(ctx); err == nil && now > r.LockBy {
		r.Reason = "lock deadline passed"
		return StepExpired, nil
	}
	ev, rc, err := n.c.Lock(ctx, r.ID())
	if err != nil {
		if errors.Is(err, chain.ErrReverted) {
			// Someone else was faster, or the buyer cancelled: sync will say which.
			job, gerr := n.c.GetJob(ctx, r.ID())
			if gerr == nil {
				if changed, _ := n.sync(r, job); changed {
					return r.Step, nil
				}
			}
			r.Reason = "lock reverted: " + err.Error()
			return StepLost, nil
		}
		return r.Step, err
	}
	n.gas(r, "lock", rc)
	r.CommitBy, r.Stake = ev.CommitBy, ev.Stake.String()
	log.Info("locked", "stake", ev.Stake, "commitBy", ev.CommitBy)
	return StepLocked, nil
}

// nonceFor is the CC nonce of spec §9.3 for a job's output roots.
func (n *Node) nonceFor(id *big.Int, roots []*big.Int) [32]byte {
	return attestation.Nonce(n.chainID, n.cfg.Deployment.Manager, id, attestation.NonceOutputsDigest(roots))
}

func (n *Node) execute(ctx context.Context, r *Record, log *slog.Logger) (Step, error) {
	if now, err := n.chainTime(ctx); err == nil && now > r.CommitBy {
		r.Reason = "commit deadline passed before execution"
		return StepExpired, nil
	}
	if r.InputPath == "" {
		in, model, err := n.fetcher.FetchJob(ctx, r.InputURI, n.workDir(r))
		if err != nil {
			return r.Step, err
		}
		if _, err := CheckJobFiles(r.Spec(), in, model); err != nil {
			return r.Step, permanent{err}
		}
		r.InputPath, r.ModelPath = in, model
	}
	outDir := jobs.Dir(n.workDir(r)).Outputs()
	var sampler *gpu.Sampler
	if n.gpu != nil {
		sampler = n.gpu.NewSampler(n.cfg.GPU.Interval.D())
		if err := sampler.Start(ctx); err != nil {
			return r.Step, fmt.Errorf("gpu sampler: %w", err)
		}
	}
	var pidMu sync.Mutex
	pids := []uint32{uint32(os.Getpid())}
	if _, ok := n.exec.(CommandExecutor); ok {
		pids = nil
	}
	t0 := time.Now()
	err := n.exec.Execute(ctx, ExecRequest{InputPath: r.InputPath, ModelPath: r.ModelPath, OutDir: outDir, Layers: len(r.Layers),
		OnProcess: func(pid int) {
			pidMu.Lock()
			pids = append(pids, uint32(pid))
			pidMu.Unlock()
		}})
	var summary *gpu.Summary
	if sampler != nil {
		s, serr := sampler.Stop()
		if serr != nil && err == nil {
			err = fmt.Errorf("gpu sampler: %w", serr)
		}
		summary = s
	}
	if err != nil {
		if ctx.Err() != nil {
			return r.Step, err
		}
		return n.executionFailed(ctx, r, err, log)
	}
	files, err := CheckJobFiles(r.Spec(), r.InputPath, r.ModelPath)
	if err != nil {
		return r.Step, permanent{err}
	}
	paths := make([]string, len(r.Layers))
	for l := range paths {
		paths[l] = jobs.OutputPath(outDir, l)
	}
	roots, err := commitOutputs(files, paths)
	if err != nil {
		return r.Step, permanent{fmt.Errorf("executor outputs: %w", err)}
	}
	execDur := time.Since(t0)
	n.metrics.StepSeconds.WithLabelValues("execute").Observe(execDur.Seconds())
	r.timing("executeMs", execDur)

	rec := gpu.NoneRecord()
	if n.gpu != nil {
		nonce := n.nonceFor(r.ID(), roots)
		pidMu.Lock()
		rec, err = n.gpu.BuildRecord(gpu.RecordOptions{Telemetry: summary, PIDs: pids, Nonce: &nonce, RequireCC: n.cfg.GPU.RequireCC,
			Staple: func(chain []byte) ([][]byte, error) { return n.ocsp.staples(ctx, chain, log) }})
		pidMu.Unlock()
		if errors.Is(err, ErrGPURevoked) {
			// No receipt from this GPU would pass an audit: give the job back for the fee.
			return n.abandon(ctx, r, "attestation record: "+err.Error())
		}
		if err != nil {
			return r.Step, fmt.Errorf("attestation record: %w", err)
		}
	}
	canon, err := rec.Canonical()
	if err != nil {
		return r.Step, permanent{err}
	}
	dig, err := rec.Digest()
	if err != nil {
		return r.Step, permanent{err}
	}
	r.OutputPaths, r.Attestation, r.AttestationDigest = paths, canon, dig
	r.OutputRoots = nil
	for _, x := range roots {
		r.OutputRoots = append(r.OutputRoots, bigHex(x))
	}
	log.Info("executed", "ms", execDur.Milliseconds(), "attestation", rec.Mode)
	return StepExecuted, nil
}

// commitOutputs loads every output, checks its shape against the layer and commits it
// with the job's rows depth.
func commitOutputs(files *JobFiles, paths []string) ([]*big.Int, error) {
	roots := make([]*big.Int, len(paths))
	M := files.Input.Rows()
	D := int(files.Shapes[0].D)
	for l, p := range paths {
		y, err := jobs.LoadOutput(p)
		if err != nil {
			return nil, fmt.Errorf("layer %d: %w", l, err)
		}
		if y.Rows() != M || y.Cols() != int(files.Shapes[l].N) {
			return nil, fmt.Errorf("layer %d: output is %dx%d, want %dx%d", l, y.Rows(), y.Cols(), M, files.Shapes[l].N)
		}
		t, err := commitActivations(y, D)
		if err != nil {
			return nil, fmt.Errorf("layer %d: %w", l, err)
		}
		roots[l] = t
	}
	return roots, nil
}

// verifyOutputs recommits the output files and compares them with the journaled roots,
// so a resumed node never proves files that changed on disk since it committed.
func (n *Node) verifyOutputs(r *Record) (*JobFiles, error) {
	files, err := CheckJobFiles(r.Spec(), r.InputPath, r.ModelPath)
	if err != nil {
		return nil, err
	}
	roots, err := commitOutputs(files, r.OutputPaths)
	if err != nil {
		return nil, err
	}
	want := r.Roots()
	for l := range roots {
		if roots[l].Cmp(want[l]) != 0 {
			return nil, fmt.Errorf("output of layer %d on disk no longer matches its committed root", l)
		}
	}
	return files, nil
}

func (n *Node) commit(ctx context.Context, r *Record, resumed bool, log *slog.Logger) (Step, error) {
	if resumed {
		if _, err := n.verifyOutputs(r); err != nil {
			// Nothing is committed yet: run the job again.
			log.Warn("outputs on disk are not the journaled ones; executing again", "err", err)
			return StepLocked, nil
		}
	}
	t0 := time.Now()
	ev, rc, err := n.c.Commit(ctx, r.ID(), r.Roots(), r.AttestationDigest)
	if err != nil {
		return r.Step, err
	}
	n.gas(r, "commit", rc)
	d := time.Since(t0)
	n.metrics.StepSeconds.WithLabelValues("commit").Observe(d.Seconds())
	r.timing("commitMs", d)
	r.SeedBlock = ev.SeedBlock
	log.Info("committed", "seedBlock", ev.SeedBlock)
	return StepCommitted, nil
}

// seed learns the challenge seed. The proof clock starts when the seed is fixed on chain, so
// fixing it is what the node normally does; only a job without a buyer seed commitment can
// have its seed derived locally (cfg.FixSeed false) and fixed by submitProof itself.
func (n *Node) seed(ctx context.Context, r *Record) (Step, error) {
	if n.cfg.FixSeed || r.SeedCommitment != (common.Hash{}) {
		ev, err := n.c.FixSeedWhenReady(ctx, r.ID(), n.cfg.PollInterval.D())
		if err != nil {
			return r.Step, err
		}
		r.Seed, r.ProveBy = bigHex(ev.Seed), ev.ProveBy
		return StepSeeded, nil
	}
	if err := n.c.WaitForBlock(ctx, r.SeedBlock+1, n.cfg.PollInterval.D()); err != nil {
		return r.Step, err
	}
	h, err := n.backend.HeaderByNumber(ctx, new(big.Int).SetUint64(r.SeedBlock))
	if err != nil {
		return r.Step, err
	}
	dig := outputsDigest(r.Roots(), common.Hash(r.AttestationDigest))
	r.Seed = bigHex(seedOf(n.chainID, n.cfg.Deployment.Manager, r.ID(), dig, h.Hash()))
	r.ProveBy = 0
	return StepSeeded, nil
}

func (n *Node) submit(ctx context.Context, r *Record, log *slog.Logger) (Step, error) {
	if n.proofDeadlinePassed(ctx, r) {
		r.Reason = "prove deadline passed"
		return StepExpired, nil
	}
	rc, err := loadReceipt(r.ReceiptPath)
	if err != nil {
		return r.Step, permanent{err}
	}
	proofs := make([]chain.Proof, len(r.Proofs))
	for l, h := range r.Proofs {
		b, _ := hex.DecodeString(strings.TrimPrefix(h, "0x"))
		if len(b) != circuits.ProofSize {
			return r.Step, permanent{fmt.Errorf("journaled proof %d has %d bytes", l, len(b))}
		}
		for i := range proofs[l] {
			proofs[l][i] = new(big.Int).SetBytes(b[32*i : 32*i+32])
		}
	}
	t0 := time.Now()
	res, err := n.c.SubmitProof(ctx, r.ID(), chain.Submission{Spec: r.Spec(), OutputRoots: r.Roots(),
		AttestationDigest: r.AttestationDigest, Proofs: proofs, Signature: rc.Signature})
	if err != nil {
		return r.Step, err // the next step's sync sees a settlement that happened anyway
	}
	n.gas(r, "submitProof", res.Receipt)
	d := time.Since(t0)
	n.metrics.StepSeconds.WithLabelValues("submit").Observe(d.Seconds())
	r.timing("submitMs", d)
	if res.Settled == nil {
		r.Reason = fmt.Sprintf("the contract rejected the proof of layer %v and slashed stake %v", res.Rejected.Layer, res.Slashed.Stake)
		log.Error("slashed: proof rejected", "layer", res.Rejected.Layer, "stake", res.Slashed.Stake,
			"hint", "the local keys or outputs do not match what the chain verifies; check the keys with the node's start-up check")
		return StepSlashed, nil
	}
	if res.Settled.ReceiptDigest != rc.Digest() {
		log.Warn("settled receipt digest differs from ours", "chain", common.Hash(res.Settled.ReceiptDigest), "ours", rc.Digest())
	}
	rc.Timings.SubmitMs = uint64(d.Milliseconds())
	if err := writeReceipt(r.ReceiptPath, rc); err != nil {
		log.Warn("rewriting receipt timings", "err", err)
	}
	log.Info("settled", "price", r.Price, "receipt", r.ReceiptPath)
	return StepSettled, nil
}

func (n *Node) finish(ctx context.Context, r *Record, log *slog.Logger) (Step, error) {
	if n.cfg.PublishReceipts {
		doc, err := os.ReadFile(r.ReceiptPath)
		if err != nil {
			return r.Step, permanent{err}
		}
		if err := n.fetcher.publishReceipt(ctx, r.InputURI, r.ID(), doc); err != nil {
			return r.Step, fmt.Errorf("publishing receipt: %w", err)
		}
	}
	if n.cfg.Withdraw {
		credit, err := n.c.CreditOf(ctx, n.c.Address())
		if err != nil {
			return r.Step, err
		}
		if credit.Sign() > 0 {
			_, rc, err := n.c.Withdraw(ctx)
			if err != nil && !chain.IsRevert(err, "NothingToWithdraw") {
				return r.Step, err
			}
			n.gas(r, "withdraw", rc)
			log.Info("withdrew", "amount", credit)
		}
	}
	return StepDone, nil
}
