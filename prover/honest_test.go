package prover_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/probitylabs/probity/chain"
	"github.com/probitylabs/probity/circuits"
	"github.com/probitylabs/probity/prover"
	"github.com/probitylabs/probity/sdk"
	"github.com/probitylabs/probity/tensor"
)

// The tests of this file hold the node's half of the promise that an honest provider is never
// slashed (spec §10): each case used to lock a job the node could not finish and lose its
// stake; now the node refuses it before the lock, or refuses to start.

// postFiles posts a tiny-shape job from the given files with the given windows.
func (w *world) postFiles(t testing.TB, ctx context.Context, in, mf string, execW, proveW time.Duration) *sdk.Job {
	t.Helper()
	job, err := w.buyer.PostJob(ctx, sdk.JobRequest{InputFile: in, ModelFile: mf, PublishDir: filepath.Join(filepath.Dir(in), "pub"),
		Shapes: []string{"tiny"}, Price: big.NewInt(10), ExecWindow: execW, ProveWindow: proveW})
	if err != nil {
		t.Fatal(err)
	}
	return job
}

// runUntilRefused runs the node until it journals the job, which must be refused for reason,
// and checks that the job is still Open on chain (never locked, so no stake at risk).
func runUntilRefused(t *testing.T, ctx context.Context, w *world, n *prover.Node, job *sdk.Job, reason, detail string) {
	t.Helper()
	rec := runUntil(t, ctx, n, job.ID, time.Minute)
	if rec.Step != prover.StepRefused {
		t.Fatalf("step %s (%s), want refused", rec.Step, rec.Reason)
	}
	if !strings.Contains(rec.Reason, detail) {
		t.Fatalf("reason %q does not mention %q", rec.Reason, detail)
	}
	if got := testutil.ToFloat64(n.Metrics().Refused.WithLabelValues(reason)); got != 1 {
		t.Fatalf("refused{%s} = %v, want 1", reason, got)
	}
	w.requireState(t, ctx, job.ID, chain.StateOpen)
}

// requireState fails unless the job is in state on chain.
func (w *world) requireState(t testing.TB, ctx context.Context, jobID *big.Int, state chain.JobState) {
	t.Helper()
	j, err := w.buyer.Chain().GetJob(ctx, jobID)
	if err != nil {
		t.Fatal(err)
	}
	if got := chain.JobState(j.State); got != state {
		t.Fatalf("job %v is %v on chain, want %v", jobID, got, state)
	}
}

// A proof window the chain accepts (the governance minimum, 60 s) but shorter than this node
// needs: with 20 s blocks three transaction blocks and the margin alone exceed it.
func TestRefuseWindowShorterThanNodeNeeds(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	w := newWorld(t, ctx)
	start := w.head(t, ctx)
	dir := t.TempDir()
	in, mf := writeFiles(t, dir, 7, 5, 16, 4)
	job := w.postFiles(t, ctx, in, mf, time.Hour, time.Minute)
	cfg := w.config(t.TempDir(), start)
	cfg.Safety.BlockTime = prover.Duration(20 * time.Second)
	runUntilRefused(t, ctx, w, w.node(t, ctx, cfg, nil), job, "window", "proveWindow 1m0s")
}

// The same windows are taken by a node whose measured needs fit them: the check is measured,
// not a blanket minimum.
func TestAcceptWindowThatFits(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	w := newWorld(t, ctx)
	start := w.head(t, ctx)
	dir := t.TempDir()
	in, mf := writeFiles(t, dir, 7, 5, 16, 4)
	job := w.postFiles(t, ctx, in, mf, time.Minute, time.Minute)
	cfg := w.config(t.TempDir(), start)
	cfg.Safety.BlockTime = prover.Duration(time.Second)
	rec := runUntil(t, ctx, w.node(t, ctx, cfg, nil), job.ID, time.Minute)
	if rec.Step != prover.StepDone {
		t.Fatalf("step %s (%s), want done", rec.Step, rec.Reason)
	}
}

// overflowingModel is a tiny-shape model whose first output column accumulates past 2^31 - 1
// for an all-127 input: bias near 2^31 and positive weights.
func overflowingModel(t *testing.T, dir string, input int8) (string, string) {
	t.Helper()
	m, err := tensor.RandomModel(3, 16, 4)
	if err != nil {
		t.Fatal(err)
	}
	m.Layers[0].Bias.Data[0] = math.MaxInt32 - 100
	for k := 0; k < 16; k++ {
		m.Layers[0].Weight.Data[k] = 50
	}
	x := tensor.NewInt8(5, 16)
	for i := range x.Data {
		x.Data[i] = input
	}
	in, mf := filepath.Join(dir, "x.safetensors"), filepath.Join(dir, "m.safetensors")
	if err := tensor.SaveActivations(in, x); err != nil {
		t.Fatal(err)
	}
	if err := tensor.SaveModel(mf, m); err != nil {
		t.Fatal(err)
	}
	return in, mf
}

// Files that match the spec but whose accumulators overflow int32 used to pass the pre-lock
// check; execution then failed after the lock and the provider was slashed at commitBy.
func TestRefuseOverflowingJobBeforeLock(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	w := newWorld(t, ctx)
	start := w.head(t, ctx)
	in, mf := overflowingModel(t, t.TempDir(), 127)
	job := w.postFiles(t, ctx, in, mf, time.Hour, time.Hour)
	runUntilRefused(t, ctx, w, w.node(t, ctx, w.config(t.TempDir(), start), nil), job, "uncomputable", "overflow")
}

// A model that fails the static bound is still taken when the actual input keeps every
// accumulator in range (the dry run decides).
func TestTakeJobThatOnlyTheStaticBoundRejects(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	w := newWorld(t, ctx)
	start := w.head(t, ctx)
	in, mf := overflowingModel(t, t.TempDir(), -3)
	job := w.postFiles(t, ctx, in, mf, time.Hour, time.Hour)
	rec := runUntil(t, ctx, w.node(t, ctx, w.config(t.TempDir(), start), nil), job.ID, time.Minute)
	if rec.Step != prover.StepDone {
		t.Fatalf("step %s (%s), want done", rec.Step, rec.Reason)
	}
}

// otherKeys are development keys of a fresh setup: what `probity setup` on another machine
// makes, not the keys the shape's verifier was deployed with.
type otherKeys struct{ shape string }

func (o otherKeys) Setup(s circuits.Shape) (*circuits.Keys, error) {
	if s.Name == o.shape {
		return circuits.DevSetup(s)
	}
	return sharedKeys.Setup(s)
}

// A node proving with keys other than the registered verifier's locked, proved, was rejected
// and slashed; now it refuses to start and says why.
func TestRefuseToStartWithKeysTheChainRejects(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	w := newWorld(t, ctx)
	n := w.node(t, ctx, w.config(t.TempDir(), w.head(t, ctx)), func(o *prover.Options) { o.Keys = otherKeys{"tiny"} })
	err := n.Run(ctx)
	if !errors.Is(err, prover.ErrKeyMismatch) || !strings.Contains(err.Error(), "tiny") {
		t.Fatalf("Run: %v, want ErrKeyMismatch naming the shape", err)
	}
}

// flakyExecutor fails every real job and computes self-test jobs correctly, like a GPU that
// runs out of memory on real sizes; broken fails self-tests too.
type flakyExecutor struct{ broken bool }

func (f flakyExecutor) Execute(ctx context.Context, req prover.ExecRequest) error {
	if f.broken || !req.SelfTest {
		return fmt.Errorf("%w: CUDA error: out of memory", prover.ErrExecutor)
	}
	return prover.ReferenceExecutor{}.Execute(ctx, req)
}

// An executor that cannot run is found by the start-up self-test, before any lock.
func TestBrokenExecutorDetectedAtStart(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	w := newWorld(t, ctx)
	n := w.node(t, ctx, w.config(t.TempDir(), w.head(t, ctx)), func(o *prover.Options) { o.Executor = flakyExecutor{broken: true} })
	if err := n.Run(ctx); !errors.Is(err, prover.ErrSelfTest) || !strings.Contains(err.Error(), "out of memory") {
		t.Fatalf("Run: %v, want ErrSelfTest with the executor's error", err)
	}
	if got := testutil.ToFloat64(n.Metrics().ExecutorFailures); got != 1 {
		t.Fatalf("executor failures = %v, want 1", got)
	}
}

// An executor that fails after the lock used to be retried until commitBy passed and the
// stake was slashed; now the node abandons the job after MaxExecAttempts, for the job's
// abandonment fee, and the job reopens for other providers.
func TestFailingExecutorAbandonsInsteadOfSlash(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	w := newWorld(t, ctx)
	start := w.head(t, ctx)
	job := w.post(t, ctx, big.NewInt(1e18))
	cfg := w.config(t.TempDir(), start)
	cfg.Safety.MaxExecAttempts = 2
	n := w.node(t, ctx, cfg, func(o *prover.Options) { o.Executor = flakyExecutor{} })
	before, err := w.prov.Chain().ProviderOf(ctx, w.prov.Address())
	if err != nil {
		t.Fatal(err)
	}
	rec := runUntil(t, ctx, n, job.ID, time.Minute)
	if rec.Step != prover.StepAbandoned || rec.ExecFailures != 2 {
		t.Fatalf("step %s after %d failures (%s), want abandoned after 2", rec.Step, rec.ExecFailures, rec.Reason)
	}
	w.requireState(t, ctx, job.ID, chain.StateOpen) // reopened for other providers
	after, err := w.prov.Chain().ProviderOf(ctx, w.prov.Address())
	if err != nil {
		t.Fatal(err)
	}
	stake, _ := new(big.Int).SetString(rec.Stake, 10)
	fee := new(big.Int).Div(new(big.Int).Mul(stake, big.NewInt(1000)), big.NewInt(10000))
	if lost := new(big.Int).Sub(before.Free, after.Free); lost.Cmp(fee) != 0 || after.Reserved.Sign() != 0 {
		t.Fatalf("provider lost %v free stake with %v reserved, want exactly the 10%% fee %v and nothing reserved", lost, after.Reserved, fee)
	}
	if credit, _ := w.buyer.Chain().CreditOf(ctx, w.buyer.Address()); credit.Cmp(fee) != 0 {
		t.Fatalf("buyer credited %v, want the fee %v", credit, fee)
	}
	if got := testutil.ToFloat64(n.Metrics().ExecutorFailures); got != 2 {
		t.Fatalf("executor failures = %v, want 2", got)
	}
}

// Two nodes of one provider key lock the same jobs and fight over nonces. A node that sees a
// lock by its account that it did not make stops taking jobs and says why.
func TestSharedProviderKeyStopsTakingJobs(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	w := newWorld(t, ctx)
	start := w.head(t, ctx)
	first := w.post(t, ctx, big.NewInt(10))
	// "Another node" with the same provider key locks the first job.
	if _, _, err := w.prov.Chain().Lock(ctx, first.ID); err != nil {
		t.Fatal(err)
	}
	second := w.post(t, ctx, big.NewInt(10))
	n := w.node(t, ctx, w.config(t.TempDir(), start), nil)
	rctx, rcancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- n.Run(rctx) }()
	deadline := time.Now().Add(time.Minute)
	for testutil.ToFloat64(n.Metrics().Refused.WithLabelValues("shared-key")) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("second job not refused")
		}
		time.Sleep(20 * time.Millisecond)
	}
	rcancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if testutil.ToFloat64(n.Metrics().SharedKey) != 1 {
		t.Fatal("shared-key gauge not set")
	}
	w.requireState(t, ctx, second.ID, chain.StateOpen)
}

// Two node processes on one data directory would run every job twice: the second stops.
func TestDataDirLockedBySecondNode(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	w := newWorld(t, ctx)
	cfg := w.config(t.TempDir(), w.head(t, ctx))
	a := w.node(t, ctx, cfg, nil)
	actx, acancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- a.Run(actx) }()
	defer func() { acancel(); <-done }()
	lock := filepath.Join(cfg.DataDir, "node.lock")
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(20 * time.Millisecond) {
		if _, err := os.Stat(lock); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("first node never locked its data dir")
		}
	}
	bctx, bcancel := context.WithTimeout(ctx, 10*time.Second)
	defer bcancel()
	if err := w.node(t, ctx, cfg, nil).Run(bctx); !errors.Is(err, prover.ErrDataDirLocked) {
		t.Fatalf("second node on the same data dir: %v, want ErrDataDirLocked", err)
	}
}

// A node that derives the seed itself (fixSeed false) fixes it on chain before proving when
// proving might outlast the seed horizon: past seedBlock + 256 the seed could never be fixed
// and the job would be slashable. Far from the horizon it leaves the fixing to submitProof.
func TestSelfDerivedSeedFixedBeforeHorizon(t *testing.T) {
	for _, c := range []struct {
		name   string
		margin time.Duration
		early  bool
	}{{"far", time.Second, false}, {"near", time.Hour, true}} {
		t.Run(c.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			w := newWorld(t, ctx)
			start := w.head(t, ctx)
			dir := t.TempDir()
			in, mf := writeFiles(t, dir, 7, 5, 16, 4)
			job, err := w.buyer.PostJob(ctx, sdk.JobRequest{InputFile: in, ModelFile: mf, PublishDir: filepath.Join(dir, "pub"),
				Shapes: []string{"tiny"}, Price: big.NewInt(10), NoSeedCommitment: true, ExecWindow: 2 * time.Hour, ProveWindow: 2 * time.Hour})
			if err != nil {
				t.Fatal(err)
			}
			cfg := w.config(t.TempDir(), start)
			cfg.FixSeed = false
			cfg.Safety.WindowMargin = prover.Duration(c.margin)
			cfg.Safety.BlockTime = prover.Duration(time.Second)
			rec := runUntil(t, ctx, w.node(t, ctx, cfg, nil), job.ID, time.Minute)
			if rec.Step != prover.StepDone {
				t.Fatalf("step %s (%s), want done", rec.Step, rec.Reason)
			}
			_, sentFixSeed := rec.Txs["fixSeed"]
			seeds, err := w.buyer.Chain().FilterSeedFixed(ctx, chain.EventRange{Start: start})
			if err != nil || len(seeds) != 1 {
				t.Fatalf("SeedFixed events: %v, %v", len(seeds), err)
			}
			fixedBySubmit := seeds[0].Raw.TxHash == rec.Txs["submitProof"]
			if c.early == fixedBySubmit {
				t.Fatalf("seed fixed by submitProof: %v, want %v (fixSeed tx journaled: %v)", fixedBySubmit, !c.early, sentFixSeed)
			}
		})
	}
}

// A node never makes keys of its own: with nothing installed for a registered shape it
// refuses to start, names the directory it looked in, and leaves it empty.
func TestNoInstalledKeysRefusesToStart(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	w := newWorld(t, ctx)
	cfg := w.config(t.TempDir(), w.head(t, ctx))
	cfg.KeysDir = t.TempDir()
	n := w.node(t, ctx, cfg, func(o *prover.Options) { o.Keys = nil })
	err := n.Run(ctx)
	if !errors.Is(err, prover.ErrNoKeys) || !strings.Contains(err.Error(), cfg.KeysDir) {
		t.Fatalf("Run: %v, want ErrNoKeys naming %s", err, cfg.KeysDir)
	}
	if entries, _ := os.ReadDir(cfg.KeysDir); len(entries) != 0 {
		t.Fatalf("the node wrote %d entries into its key directory", len(entries))
	}
}

// A node started on a fresh data directory rescans blocks with this provider's old, settled
// jobs: they are history, not another node, and new jobs are still taken.
func TestFreshDataDirIgnoresEndedLocks(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	w := newWorld(t, ctx)
	start := w.head(t, ctx)
	first := w.post(t, ctx, big.NewInt(10))
	if rec := runUntil(t, ctx, w.node(t, ctx, w.config(t.TempDir(), start), nil), first.ID, time.Minute); rec.Step != prover.StepDone {
		t.Fatalf("first job: %s (%s)", rec.Step, rec.Reason)
	}
	second := w.post(t, ctx, big.NewInt(10))
	n := w.node(t, ctx, w.config(t.TempDir(), start), nil)
	if rec := runUntil(t, ctx, n, second.ID, time.Minute); rec.Step != prover.StepDone {
		t.Fatalf("second job on a fresh data dir: %s (%s)", rec.Step, rec.Reason)
	}
	if testutil.ToFloat64(n.Metrics().SharedKey) != 0 {
		t.Fatal("an ended job of this provider was taken for another node's lock")
	}
}
