package prover_test

import (
	"context"
	"errors"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/probitylabs/probity/chain"
	"github.com/probitylabs/probity/prover"
)

// jobsFail is the reference executor for the node's self-test and a failing one for every
// job: a machine that breaks after the node started.
type jobsFail struct{}

func (jobsFail) Execute(ctx context.Context, req prover.ExecRequest) error {
	if req.SelfTest {
		return prover.ReferenceExecutor{}.Execute(ctx, req)
	}
	return errors.New("executor: device lost")
}

// freeStake is the provider's stake not reserved by a job.
func freeStake(t *testing.T, ctx context.Context, p *provider) *big.Int {
	t.Helper()
	pr, err := p.market.ProviderOf(ctx, p.market.Address())
	if err != nil {
		t.Fatal(err)
	}
	return pr.Free
}

// TestExecFailuresAbandon (review M5): a locked job whose executor fails Safety.MaxExecAttempts
// times is abandoned: it is Open again for another provider, and the node paid at most the
// abandonment fee instead of waiting for the commit deadline's slash of the whole stake.
func TestExecFailuresAbandon(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	w := newWorld(t, ctx, 1)
	j := w.job(t, []int32{3, 3}, 6)
	start := w.head(t, ctx)
	id := w.post(t, ctx, w.request(t, ctx, j, tokens(3), 0), j.uri)
	before := freeStake(t, ctx, w.provs[0])
	cfg := w.config(t, t.TempDir(), start)
	cfg.Safety.MaxExecAttempts = 2
	n := w.node(t, ctx, w.provs[0], cfg, func(o *prover.Options) {
		o.Executor = jobsFail{}
	})
	r := runUntil(t, ctx, n, 2*time.Minute, id)[0]
	if r.Step != prover.StepAbandoned || !strings.Contains(r.Reason, "execution failed 2 times") {
		t.Fatalf("job ended %s (%s); want abandoned after 2 failed executions", r.Step, r.Reason)
	}
	if st, _ := w.keeper.JobState(ctx, id); st != chain.StateOpen {
		t.Errorf("chain state %v, want Open again", st)
	}
	stake, _ := new(big.Int).SetString(r.LockedStake, 10)
	if lost := new(big.Int).Sub(before, freeStake(t, ctx, w.provs[0])); lost.Sign() < 0 || lost.Cmp(stake) >= 0 {
		t.Errorf("free stake fell by %v, the locked stake is %v: want at most the abandonment fee", lost, stake)
	}
}

// TestLateLockAbandons (review M5): when the chain clock leaves a locked job less time before
// its commit deadline than the execution needs, the node abandons it at once rather than
// execute and be slashed.
func TestLateLockAbandons(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	w := newWorld(t, ctx, 1)
	j := w.job(t, []int32{2, 7}, 6)
	start := w.head(t, ctx)
	id := w.post(t, ctx, w.request(t, ctx, j, tokens(3), 0), j.uri)
	moved := false
	hook := func(_ *big.Int, step prover.Step) error {
		if step != prover.StepLocked || moved {
			return nil
		}
		moved = true
		// The test config's margin is 100 s: 40 s before the deadline is too late.
		return w.sim.AdjustTime(3600*time.Second - 40*time.Second)
	}
	n := w.node(t, ctx, w.provs[0], w.config(t, t.TempDir(), start), func(o *prover.Options) { o.Hook = hook })
	r := runUntil(t, ctx, n, 2*time.Minute, id)[0]
	if r.Step != prover.StepAbandoned || r.TraceRoot != "" {
		t.Fatalf("job ended %s (%s), trace root %q; want abandoned before executing", r.Step, r.Reason, r.TraceRoot)
	}
	if _, ok := r.Txs["abandon"]; !ok {
		t.Errorf("no abandon transaction journaled: %v", r.Txs)
	}
}
