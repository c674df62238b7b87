package prover

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/probitylabs/probity/circuits/universal"
	"github.com/probitylabs/probity/commit"
)

// prove proves the committed trace for the seed. A trace that no longer commits to the
// journaled root, or that the statement refuses (a falsified trace), cannot be proved by
// retrying: the job fails, and its stake is slashed at the deadline.
func (n *Node) prove(ctx context.Context, r *Record, log *slog.Logger) (Step, error) {
	cl, err := n.class(r)
	if err != nil {
		return r.Step, err
	}
	keys, err := n.keysFor(cl)
	if err != nil {
		return r.Step, err
	}
	c, g, err := n.loadGenerated(r)
	if err != nil {
		return r.Step, permanent{fmt.Errorf("the committed trace cannot be read back: %w", err)}
	}
	seed, err := unword(r.Seed)
	if err != nil {
		return r.Step, permanent{err}
	}
	seedFr, err := commit.FromBig(seed)
	if err != nil {
		return r.Step, permanent{err}
	}
	st := &universal.Statement{Model: c.Model, Job: c.Job, Trace: g.Trace, Tokens: g.Tokens, Seed: seedFr}
	var p *universal.Proof
	t0 := time.Now()
	deadline := r.ProveBy
	if deadline == 0 {
		deadline = ^uint64(0) // the clock has not started (a seed commitment not revealed)
	}
	err = n.heavy(ctx, deadline, func() (err error) {
		p, err = universal.Prove(keys, st)
		return err
	})
	if err != nil {
		if ctx.Err() != nil {
			return r.Step, err
		}
		return r.Step, permanent{fmt.Errorf("cannot prove the committed trace: %w", err)}
	}
	if err := universal.Verify(keys.VK, p.Groth16, p.Public); err != nil {
		return r.Step, permanent{err}
	}
	d := time.Since(t0)
	n.metrics.StepSeconds.WithLabelValues("prove").Observe(d.Seconds())
	n.metrics.ProveSeconds.WithLabelValues(cl.Name).Observe(d.Seconds())
	r.timing("proveMs", d)
	r.Proof = append(hexBytes(nil), p.Solidity[:]...)
	log.Info("proved", "ms", d.Milliseconds(), "class", cl.Name)
	return StepProved, nil
}
