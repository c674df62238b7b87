package prover

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/big"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/ethereum/go-ethereum/common"

	"github.com/probitylabs/probity/chain"
	"github.com/probitylabs/probity/circuits"
	"github.com/probitylabs/probity/jobs"
	"github.com/probitylabs/probity/protocol"
	"github.com/probitylabs/probity/tensor"
)

// The checks of this file keep the promise of spec §10 that an honest provider is never
// slashed: a node locks only jobs it has shown it can compute and prove within their
// windows, with keys the chain accepts, and it refuses to run beside another node of the
// same provider account.

// Sentinel errors of the node's preflight checks.
var (
	// ErrKeyMismatch: the local verifying key of a served shape is not the one the chain's
	// verifier holds, so every proof would be rejected and the job slashed.
	ErrKeyMismatch = errors.New("verifying key differs from the chain's")
	// ErrSelfTest: the executor or the prover failed on a synthetic job.
	ErrSelfTest = errors.New("self-test failed")
	// ErrUncomputable: the job's accumulators leave the int32 range (an invalid job, §10).
	ErrUncomputable = errors.New("job is not computable")
	// ErrWindowTooShort: a window is shorter than this node's measured time for the step.
	ErrWindowTooShort = errors.New("window too short for this node")
	// ErrSharedKey: another node sends transactions for this provider account.
	ErrSharedKey = errors.New("provider key shared with another node")
	// ErrDataDirLocked: another node process holds the data directory.
	ErrDataDirLocked = errors.New("data directory in use by another node")
	// ErrNoKeys: the key directory holds no keys for a served shape.
	ErrNoKeys = errors.New("no keys installed for the shape")
)

// installedKeys serves a node's keys from its key directory and never generates any.
type installedKeys struct{ cache circuits.Cache }

func (k installedKeys) Setup(s circuits.Shape) (*circuits.Keys, error) {
	keys, err := k.cache.Load(s)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%w: shape %s: nothing at %s; install the keys the shape was registered with "+
			"(its ceremony output, or the registering machine's cache entry, copied as that directory; see docs/prover.md, Keys)",
			ErrNoKeys, s.Name, k.cache.EntryDir(s))
	}
	return keys, err
}

// CheckKeys compares, for every served shape registered on chain, the verifying key of the
// local proving keys with the key of the verifier the chain's ShapeRegistry names for the
// shape. A node proving with other keys (say from its own `probity setup`) would lock, prove,
// be rejected and be slashed; it refuses to start instead. A served shape not registered yet
// is checked before the first job that uses it (preflight).
func (n *Node) CheckKeys(ctx context.Context) error {
	for _, s := range n.servedShapes() {
		err := n.checkShapeKey(ctx, s)
		if errors.Is(err, errUnregistered) {
			n.log.Warn("served shape not registered on chain; its key is checked when a job uses it", "shape", s.Name)
			continue
		}
		if err != nil {
			return err
		}
	}
	return nil
}

var errUnregistered = fmt.Errorf("%w: shape not registered on chain", ErrKeyMismatch)

func (n *Node) checkShapeKey(ctx context.Context, s circuits.Shape) error {
	n.mu.Lock()
	ok := n.keysOK[s.ID()]
	n.mu.Unlock()
	if ok {
		return nil
	}
	sh, err := n.c.Shape(ctx, s.ID())
	if err != nil {
		return fmt.Errorf("reading shape %s from the registry: %w", s.Name, err)
	}
	if sh.Verifier == (common.Address{}) {
		return errUnregistered
	}
	onChain, err := n.c.VerifierKey(ctx, sh.Verifier)
	if err != nil {
		return fmt.Errorf("reading the verifying key of shape %s from verifier %s: %w", s.Name, sh.Verifier, err)
	}
	keys, err := n.keysFor(s)
	if err != nil {
		return err
	}
	w, err := circuits.VerifyingKeyWords(keys.VK)
	if err != nil {
		return fmt.Errorf("shape %s: %w", s.Name, err)
	}
	local := chain.VerifyingKey{Alpha: w.Alpha, Beta: w.Beta, Gamma: w.Gamma, Delta: w.Delta, IC: w.IC}
	if !local.Equal(onChain) {
		return fmt.Errorf("%w: shape %s: the keys in %s are not the ones verifier %s was deployed with; "+
			"install the keys the shape was registered with (its ceremony output; see docs/prover.md, Keys) instead of keys from `probity setup`",
			ErrKeyMismatch, s.Name, n.keysDir(), sh.Verifier)
	}
	n.mu.Lock()
	n.keysOK[s.ID()] = true
	n.mu.Unlock()
	return nil
}

func (n *Node) keysDir() string {
	if c, ok := n.keys.(installedKeys); ok {
		return c.cache.Dir
	}
	return "the node's key source"
}

func (n *Node) servedShapes() []circuits.Shape {
	out := make([]circuits.Shape, 0, len(n.served))
	for _, s := range n.served {
		out = append(out, s)
	}
	slices.SortFunc(out, func(a, b circuits.Shape) int { return int(a.K) - int(b.K) })
	return out
}

// estimates are what the self-test measured: the executor's time as a fixed part plus a rate
// per multiply-accumulate, and the proving time of one layer of each served shape (which
// does not depend on the job: the circuit is fixed per shape).
type estimates struct {
	at        time.Time
	execFixed time.Duration
	execPerOp float64 // nanoseconds per MAC
	prove     map[[32]byte]time.Duration
}

func (e *estimates) exec(macs int64) time.Duration {
	return e.execFixed + time.Duration(e.execPerOp*float64(macs))
}

// jobMACs is the multiply-accumulates of a job: what execution time scales with.
func jobMACs(rows int, shapes []circuits.Shape) int64 {
	var macs int64
	for _, s := range shapes {
		macs += int64(rows) * int64(s.K) * int64(s.N)
	}
	return macs
}

// need is how long a window must be for work that ends in txBlocks transaction blocks:
// the safety factor times the work, the blocks, and the margin.
func (sf SafetyConfig) need(work, blockTime time.Duration, txBlocks int) time.Duration {
	return time.Duration(sf.WindowFactor*float64(work)) + time.Duration(txBlocks)*blockTime + sf.WindowMargin.D()
}

// SelfTest runs the configured executor on synthetic jobs of each served shape at two sizes,
// compares every output bit for bit with the reference kernels, proves one layer with the
// shape's keys and verifies the proof. It records the measured times, which the window check
// uses, and fails with ErrSelfTest when anything differs or fails: a node that cannot compute
// or prove must not lock jobs.
func (n *Node) SelfTest(ctx context.Context) error {
	return n.selfTest(ctx, true)
}

// selfTest runs the executor half of the self-test and, with prove, the proving half. The
// re-test before a lock runs only the executor: proving a layer of a large shape takes long
// enough that a competitor would lock the job meanwhile, and the proving estimates are kept
// current by every real proof instead (noteProveTime).
func (n *Node) selfTest(ctx context.Context, prove bool) error {
	est := &estimates{prove: map[[32]byte]time.Duration{}}
	n.mu.Lock()
	if n.est != nil {
		for id, d := range n.est.prove {
			est.prove[id] = d
		}
	}
	n.mu.Unlock()
	dir := filepath.Join(n.cfg.DataDir, "selftest")
	defer os.RemoveAll(dir)
	var fixed time.Duration
	var perOp float64
	for i, s := range n.servedShapes() {
		small, err := n.selfTestExec(ctx, dir, s, 1)
		if err != nil {
			return err
		}
		rows := min(1<<s.D, 256)
		large, err := n.selfTestExec(ctx, dir, s, rows)
		if err != nil {
			return err
		}
		ops := int64(rows-1) * int64(s.K) * int64(s.N)
		if i == 0 || small.took > fixed {
			fixed = small.took
		}
		if ops > 0 && large.took > small.took {
			perOp = max(perOp, float64(large.took-small.took)/float64(ops))
		}
		if !prove {
			continue
		}
		d, err := n.selfTestProve(s, large.inputs)
		if err != nil {
			return err
		}
		est.prove[s.ID()] = d
		n.log.Info("self-test passed", "shape", s.Name, "executeMs", large.took.Milliseconds(), "proveMs", d.Milliseconds())
	}
	est.execFixed, est.execPerOp, est.at = fixed, perOp, time.Now()
	n.mu.Lock()
	n.est = est
	n.execFailed = false
	n.mu.Unlock()
	return nil
}

// noteProveTime keeps a shape's proving estimate at what the last real proof took, so the
// window check follows the machine (a slower GPU host, a loaded CPU) without re-proving.
func (n *Node) noteProveTime(s circuits.Shape, d time.Duration) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.est == nil {
		return
	}
	// Copy on write: preflights read the estimates they got without holding mu.
	next := *n.est
	next.prove = make(map[[32]byte]time.Duration, len(n.est.prove))
	for id, p := range n.est.prove {
		next.prove[id] = p
	}
	next.prove[s.ID()] = d
	n.est = &next
}

type execResult struct {
	took   time.Duration
	inputs circuits.Inputs
}

func (n *Node) selfTestExec(ctx context.Context, dir string, s circuits.Shape, rows int) (execResult, error) {
	fail := func(format string, a ...any) (execResult, error) {
		return execResult{}, fmt.Errorf("%w: shape %s, %d rows: %s", ErrSelfTest, s.Name, rows, fmt.Sprintf(format, a...))
	}
	m, err := tensor.RandomModel(uint64(rows)<<32|uint64(s.K), int(s.K), int(s.N))
	if err != nil {
		return fail("synthetic model: %v", err)
	}
	x := tensor.RandomInput(uint64(rows)^0x5e1f, rows, int(s.K))
	want, err := tensor.Linear(x, m.Layers[0])
	if err != nil {
		return fail("reference: %v", err)
	}
	job := filepath.Join(dir, fmt.Sprintf("%s-%d", s.Name, rows))
	in, model, out := filepath.Join(job, "input.safetensors"), filepath.Join(job, "model.safetensors"), filepath.Join(job, "out")
	if err := os.MkdirAll(job, 0o755); err != nil {
		return fail("%v", err)
	}
	if err := tensor.SaveActivations(in, x); err != nil {
		return fail("%v", err)
	}
	if err := tensor.SaveModel(model, m); err != nil {
		return fail("%v", err)
	}
	t0 := time.Now()
	if err := n.exec.Execute(ctx, ExecRequest{InputPath: in, ModelPath: model, OutDir: out, Layers: 1, SelfTest: true}); err != nil {
		return fail("executor: %v", err)
	}
	took := time.Since(t0)
	got, err := jobs.LoadOutput(jobs.OutputPath(out, 0))
	if err != nil {
		return fail("executor output: %v", err)
	}
	if !slices.Equal(got.Shape, want.Shape) {
		return fail("executor output shape %v, want %v", got.Shape, want.Shape)
	}
	for i := range want.Data {
		if got.Data[i] != want.Data[i] {
			return fail("executor output differs from the reference at element %d (row %d, column %d): %d, want %d",
				i, i/int(s.N), i%int(s.N), got.Data[i], want.Data[i])
		}
	}
	return execResult{took: took, inputs: circuits.Inputs{Shape: s, Input: x, Layer: m.Layers[0], Output: got, Seed: big.NewInt(int64(rows) + 1)}}, nil
}

func (n *Node) selfTestProve(s circuits.Shape, in circuits.Inputs) (time.Duration, error) {
	keys, err := n.keysFor(s)
	if err != nil {
		return 0, fmt.Errorf("%w: %v", ErrSelfTest, err)
	}
	t0 := time.Now()
	pf, err := circuits.Prove(keys, in)
	if err != nil {
		return 0, fmt.Errorf("%w: shape %s: proving: %v", ErrSelfTest, s.Name, err)
	}
	d := time.Since(t0)
	if err := circuits.Verify(keys.VK, pf, pf.PublicInputs); err != nil {
		return 0, fmt.Errorf("%w: shape %s: the proof does not verify with the local key: %v", ErrSelfTest, s.Name, err)
	}
	return d, nil
}

// preflight runs before every lock: it refuses jobs this node could not finish in time or at
// all. It re-runs the executor self-test when the last one is stale or an execution failed
// since, so a broken executor (say a GPU out of memory) is found before the stake is at risk.
func (n *Node) preflight(ctx context.Context, r *Record, files *JobFiles) error {
	n.mu.Lock()
	est, failed := n.est, n.execFailed
	n.mu.Unlock()
	if est == nil || failed || time.Since(est.at) > n.cfg.Safety.SelfTestEvery.D() {
		if err := n.selfTest(ctx, est == nil); err != nil {
			n.metrics.ExecutorFailures.Inc()
			return err
		}
		n.mu.Lock()
		est = n.est
		n.mu.Unlock()
	}
	for _, s := range files.Shapes {
		if err := n.checkShapeKey(ctx, s); err != nil {
			return err
		}
	}
	if err := n.checkGPURevocation(ctx, n.log.With("job", r.JobID)); err != nil {
		return err
	}
	if err := checkComputable(files); err != nil {
		return err
	}
	return n.checkWindows(ctx, r, files, est)
}

// checkComputable is the computability check of spec §10: a job is valid only if every
// accumulator of its trace stays in the int32 range. The static bound (CheckNoOverflow)
// proves it for any input at the cost of one pass over the weights; only a model that fails
// it is run on the actual input (a dry run as long as the job itself).
func checkComputable(files *JobFiles) error {
	static := true
	for _, l := range files.Model.Layers {
		if l.CheckNoOverflow() != nil {
			static = false
			break
		}
	}
	if static {
		return nil
	}
	if _, err := files.Model.Run(files.Input); err != nil {
		return fmt.Errorf("%w: %v", ErrUncomputable, err)
	}
	return nil
}

// checkWindows refuses a job whose windows are shorter than what this node measured for the
// step, scaled by the safety factor, plus the blocks a transaction needs and a margin. The
// proof window runs from the seed being fixed (§10), so it must hold proving and submission.
func (n *Node) checkWindows(ctx context.Context, r *Record, files *JobFiles, est *estimates) error {
	macs := jobMACs(files.Input.Rows(), files.Shapes)
	var prove time.Duration
	for l, s := range files.Shapes {
		p, ok := est.prove[s.ID()]
		if !ok {
			return fmt.Errorf("%w: layer %d: shape %s has no measured proving time", ErrWindowTooShort, l, s.Name)
		}
		prove += p
	}
	bt, err := n.blockTime(ctx)
	if err != nil {
		return err
	}
	sf := n.cfg.Safety
	needExec, needProve := sf.need(est.exec(macs), bt, sf.TxBlocks), sf.need(prove, bt, sf.TxBlocks)
	if have := time.Duration(r.ExecWindow) * time.Second; have < needExec {
		return fmt.Errorf("%w: execWindow %v, this node needs %v (execute about %v, x%g, + %d blocks of %v, + %v)",
			ErrWindowTooShort, have, needExec.Round(time.Second), est.exec(macs).Round(time.Millisecond), sf.WindowFactor, sf.TxBlocks, bt, sf.WindowMargin.D())
	}
	if have := time.Duration(r.ProveWindow) * time.Second; have < needProve {
		return fmt.Errorf("%w: proveWindow %v, this node needs %v (prove about %v, x%g, + %d blocks of %v, + %v)",
			ErrWindowTooShort, have, needProve.Round(time.Second), prove.Round(time.Millisecond), sf.WindowFactor, sf.TxBlocks, bt, sf.WindowMargin.D())
	}
	return nil
}

// blockTime is the configured block time, or the mean over the last 32 blocks (a chain that
// mines on demand measures near zero; the margin covers it).
func (n *Node) blockTime(ctx context.Context) (time.Duration, error) {
	if bt := n.cfg.Safety.BlockTime.D(); bt > 0 {
		return bt, nil
	}
	head, err := n.backend.HeaderByNumber(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("reading the head for the block time: %w", err)
	}
	const span = 32
	if head.Number.Uint64() < span {
		return time.Second, nil
	}
	old, err := n.backend.HeaderByNumber(ctx, new(big.Int).Sub(head.Number, big.NewInt(span)))
	if err != nil {
		return 0, fmt.Errorf("reading block %v for the block time: %w", head.Number, err)
	}
	return time.Duration(head.Time-old.Time) * time.Second / span, nil
}

// foreignLock reports a lock by this provider account that this node did not take: a job it
// never journaled, or one it had decided not to run. Only another node with the same
// provider key does that (the node journals a job before it locks it). Jobs that have ended
// are history, not a rival: a node started on a fresh data directory rescans old blocks.
func (n *Node) foreignLock(ctx context.Context, ev *chain.JobLocked) bool {
	if ev.Provider != n.c.Address() {
		return false
	}
	if r, err := n.journal.Load(ev.JobId.String()); err == nil && r.Step != StepRefused && r.Step != StepLost {
		return false
	}
	j, err := n.c.GetJob(ctx, ev.JobId)
	if err != nil {
		return false // unknown: the next scan of a later lock decides
	}
	switch chain.JobState(j.State) {
	case chain.StateLocked, chain.StateCommitted:
		return j.Provider == ev.Provider
	}
	return false
}

// noteForeignLock stops the node taking new jobs once another node is seen using its key:
// two nodes of one key lock the same jobs and replace each other's transactions by nonce.
func (n *Node) noteForeignLock(ev *chain.JobLocked) {
	n.mu.Lock()
	first := n.sharedKey == nil
	if first {
		n.sharedKey = fmt.Errorf("%w: job %v was locked by provider %s in transaction %s, which this node did not send",
			ErrSharedKey, ev.JobId, ev.Provider, ev.Raw.TxHash)
	}
	n.mu.Unlock()
	n.metrics.SharedKey.Set(1)
	if first {
		n.log.Error("another node uses this provider key; taking no new jobs (jobs already locked by this node continue)",
			"job", ev.JobId, "tx", ev.Raw.TxHash,
			"hint", "run one node per provider key; one node serves several GPUs (concurrency), or register another provider account per node; "+
				"if this node's data directory was lost while the job was in flight, finish or let that job expire, then restart")
	}
}

// preflightReason is the refusal metric label of a preflight error.
func preflightReason(err error) string {
	switch {
	case errors.Is(err, ErrWindowTooShort):
		return "window"
	case errors.Is(err, ErrUncomputable):
		return "uncomputable"
	case errors.Is(err, ErrSelfTest):
		return "executor"
	case errors.Is(err, ErrKeyMismatch), errors.Is(err, ErrNoKeys):
		return "keys"
	case errors.Is(err, ErrGPURevoked):
		return "revoked"
	case errors.Is(err, ErrNoStaple):
		return "ocsp"
	}
	return "preflight"
}

// executionFailed handles an executor failure after the lock: it is retried while attempts
// remain and the commit deadline leaves time for another run; otherwise the job is
// abandoned, which costs the job's abandonment fee instead of the whole stake.
func (n *Node) executionFailed(ctx context.Context, r *Record, err error, log interface {
	Error(string, ...any)
}) (Step, error) {
	n.metrics.ExecutorFailures.Inc()
	n.mu.Lock()
	n.execFailed = true
	est := n.est
	n.mu.Unlock()
	r.ExecFailures++
	log.Error("execution failed", "attempt", r.ExecFailures, "of", n.cfg.Safety.MaxExecAttempts, "err", err)
	timeLeft := true
	if now, terr := n.chainTime(ctx); terr == nil && est != nil {
		// The posted spec names the shapes and rows: no need to reload the job's files.
		shapes := make([]circuits.Shape, 0, len(r.Layers))
		for _, l := range r.Layers {
			if s, serr := circuits.ByID(l.ShapeID); serr == nil {
				shapes = append(shapes, s)
			}
		}
		// Another run, its commit and, failing that, the abandon must all land by commitBy.
		bt, _ := n.blockTime(ctx)
		sf := n.cfg.Safety
		need := sf.need(est.exec(jobMACs(int(r.Rows), shapes)), bt, 2*sf.TxBlocks)
		timeLeft = now+uint64(need.Seconds()) < r.CommitBy
	}
	if r.ExecFailures < n.cfg.Safety.MaxExecAttempts && timeLeft {
		return r.Step, err // retried with backoff by runJob
	}
	return n.abandon(ctx, r, fmt.Sprintf("executor failed %d times (last: %v)", r.ExecFailures, err))
}

// abandon gives a locked job back before its commit deadline (SLAManager.abandon).
func (n *Node) abandon(ctx context.Context, r *Record, why string) (Step, error) {
	ev, rc, err := n.c.Abandon(ctx, r.ID())
	if err != nil {
		if errors.Is(err, chain.ErrReverted) {
			// Past commitBy: nothing cheaper than the slash is left; sync will see it.
			r.Reason = why + "; abandon reverted: " + err.Error()
			return StepExpired, nil
		}
		return r.Step, err
	}
	n.gas(r, "abandon", rc)
	r.Reason = fmt.Sprintf("%s; abandoned for a fee of %v", why, ev.Fee)
	return StepAbandoned, nil
}

// fixSeedIfHorizonNear fixes, on chain, the seed of a job the node derived itself (cfg.FixSeed
// false: submitProof would fix it) when proving might not end before the seed horizon: past
// seedBlock + SeedHorizon the seed can no longer be fixed and the job is slashable. Fixing
// starts the proof clock, so the job then has its whole proveWindow.
func (n *Node) fixSeedIfHorizonNear(ctx context.Context, r *Record, files *JobFiles) error {
	if r.ProveBy != 0 {
		return nil
	}
	n.mu.Lock()
	est := n.est
	n.mu.Unlock()
	var prove time.Duration
	for _, s := range files.Shapes {
		if est == nil || est.prove[s.ID()] == 0 {
			prove = time.Duration(math.MaxInt64 / 4) // unknown: fix it
			break
		}
		prove += est.prove[s.ID()]
	}
	head, err := n.backend.BlockNumber(ctx)
	if err != nil {
		return err
	}
	bt, err := n.blockTime(ctx)
	if err != nil {
		return err
	}
	need := n.cfg.Safety.need(prove, bt, n.cfg.Safety.TxBlocks)
	horizon := r.SeedBlock + protocol.SeedHorizon
	if head < horizon && time.Duration(horizon-head)*max(bt, time.Second) > need {
		return nil
	}
	ev, err := n.c.FixSeedWhenReady(ctx, r.ID(), n.cfg.PollInterval.D())
	if err != nil {
		return err
	}
	if ev.Seed.Cmp(hexBig(r.Seed)) != 0 {
		return fmt.Errorf("the seed fixed on chain %v differs from the one this node derived %v", ev.Seed, r.Seed)
	}
	r.ProveBy = ev.ProveBy
	return nil
}
