package prover_test

import (
	"context"
	"fmt"
	"math/big"
	"testing"
	"time"

	"github.com/probitylabs/probity/chain"
	"github.com/probitylabs/probity/jobs"
	"github.com/probitylabs/probity/prover"
)

// TestCrashAtEveryStep kills the node at every step of both paths, in the worst window: after
// the step's chain action, before the journal records it. A new node on the same data
// directory must reconcile with the chain, prove exactly what was committed, and be paid,
// never slashed.
func TestCrashAtEveryStep(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	w := newWorld(t, ctx, 1)
	p := w.provs[0]
	paths := []struct {
		source prover.Source
		steps  []prover.Step
	}{
		{prover.FromOffer, []prover.Step{prover.StepExecuted, prover.StepCommitted, prover.StepSeeded,
			prover.StepProved, prover.StepSubmitted, prover.StepSettled, prover.StepDone}},
		{prover.FromPosted, []prover.Step{prover.StepLocked, prover.StepExecuted, prover.StepCommitted,
			prover.StepSeeded, prover.StepProved, prover.StepSubmitted, prover.StepSettled, prover.StepDone}},
	}
	k := 0
	for _, path := range paths {
		for _, crashAt := range path.steps {
			k++
			t.Run(fmt.Sprintf("%s/%s", path.source, crashAt), func(t *testing.T) {
				j := w.job(t, []int32{int32(k % 16), 3}, 5+k%7)
				req := w.request(t, ctx, j, tokens(1), 5)
				dir := t.TempDir()
				cfg := w.config(t, dir, w.head(t, ctx))
				var id *big.Int
				var o *jobs.Offer
				if path.source == prover.FromOffer {
					off, oid := w.offer(t, req, j.uri)
					id, o = oid, off
				} else {
					id = w.post(t, ctx, req, j.uri)
				}
				nctx, ncancel := context.WithCancel(ctx)
				defer ncancel()
				crashed := false
				n1 := w.node(t, ctx, p, cfg, func(opt *prover.Options) {
					opt.Hook = func(jid *big.Int, s prover.Step) error {
						if jid.Cmp(id) == 0 && s == crashAt {
							crashed = true
							ncancel() // the process dies here
							return prover.ErrAbort
						}
						return nil
					}
				})
				if o != nil {
					n1.Consider(o)
				}
				if _, err := n1.RunUntil(nctx, id); err == nil {
					t.Fatal("the first node finished the job")
				}
				w.keepEstimates(t, dir)
				if !crashed {
					t.Fatalf("never reached %s", crashAt)
				}
				r, err := n1.Journal().Load(id.String())
				if err != nil {
					t.Fatal(err)
				}
				if !r.Step.Before(crashAt) {
					t.Fatalf("journal at %s: the hook ran after the write", r.Step)
				}
				n2 := w.node(t, ctx, p, w.config(t, dir, 0), nil)
				r = runUntil(t, ctx, n2, 2*time.Minute, id)[0]
				// The timing of the step whose journal write was lost is lost with it.
				wantSettled(t, ctx, w, r, j.want, "proveMs")
			})
		}
	}
	slashed, err := w.keeper.FilterJobSlashed(ctx, chain.EventRange{})
	if err != nil || len(slashed) != 0 {
		t.Fatalf("%d slashes (%v)", len(slashed), err)
	}
	prov, err := w.keeper.ProviderOf(ctx, p.market.Address())
	if err != nil || prov.Reserved.Sign() != 0 {
		t.Fatalf("stake reserved after all jobs: %+v (%v)", prov, err)
	}
}
