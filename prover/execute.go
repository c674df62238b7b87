package prover

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/ethereum/go-ethereum/common"

	"github.com/probitylabs/probity/attestation"
	"github.com/probitylabs/probity/chain"
	"github.com/probitylabs/probity/commit"
	"github.com/probitylabs/probity/internal/atomicfile"
	"github.com/probitylabs/probity/jobs"
	"github.com/probitylabs/probity/model"
	"github.com/probitylabs/probity/prover/gpu"
)

// lock locks a posted job (its stake reserved, the execution window running).
func (n *Node) lock(ctx context.Context, r *Record, log *slog.Logger) (Step, error) {
	if now, err := n.chainTime(ctx); err == nil && now > r.Request.LockBy {
		r.Reason = "lock deadline passed"
		return StepExpired, nil
	}
	limits, err := n.lockLimits(ctx, r)
	if err != nil {
		return r.Step, err
	}
	res, err := n.market.Lock(ctx, r.Request.Request, limits)
	if err != nil {
		if st, serr := n.market.JobState(ctx, r.ID()); errors.Is(err, chain.ErrReverted) && serr == nil && st == chain.StateOpen {
			// Still open, and the manager will not let this node lock it (stake, terms).
			r.Reason = "lock reverted: " + err.Error()
			return StepLost, nil
		}
		return r.Step, err
	}
	n.gas(r, "lock", &res.Tx)
	r.LockedStake, r.CommitBy = res.Locked.Stake.String(), res.Locked.CommitBy
	log.Info("locked", "stake", res.Locked.Stake, "commitBy", res.Locked.CommitBy, "gas", res.GasUsed)
	return StepLocked, nil
}

// loadJob reads the journaled job file and checks it against its model.
func (n *Node) loadJob(r *Record) (*jobs.Checked, heldModel, error) {
	hm, err := n.modelOf(r)
	if err != nil {
		return nil, hm, err
	}
	b, err := os.ReadFile(r.JobPath)
	if err != nil {
		return nil, hm, permanent{err}
	}
	j, err := jobs.ParseJob(b)
	if err != nil {
		return nil, hm, permanent{err}
	}
	c, err := j.Check(hm.m)
	if err != nil {
		return nil, hm, permanent{err}
	}
	return c, hm, nil
}

// nonce is the CC nonce of a job (protocol.md §9.3) with the trace root as its one output
// root, as receipt.Receipt.Nonce rebuilds it: the GPU's report names the trace it vouches
// for, known before the commit that carries the attestation digest.
func (n *Node) nonce(r *Record, traceRoot fr.Element) [32]byte {
	return attestation.Nonce(n.chainID, n.cfg.Deployment.Manager, r.ID(), attestation.NonceOutputsDigest([]*big.Int{commit.ToBig(traceRoot)}))
}

// execute generates the job while the GPU sampler watches, checks what an external executor
// wrote, and journals the trace root, the result digest and the attestation record: what the
// commit binds, before it is sent.
func (n *Node) execute(ctx context.Context, r *Record, log *slog.Logger) (Step, error) {
	now, err := n.chainTime(ctx)
	if err != nil {
		return r.Step, err
	}
	if r.Source == FromOffer && now > r.Request.LockBy {
		r.Reason = "lock deadline passed before execution"
		return StepExpired, nil
	}
	if r.Source == FromPosted && now > r.CommitBy {
		r.Reason = "commit deadline passed before execution"
		return StepExpired, nil
	}
	if r.Source == FromOffer {
		// Checked again right before the compute is spent: the buyer may have drained the
		// escrow, or another node locked the job, while this one waited for a slot.
		rf, err := n.simulateLock(ctx, r.Request.Request, r.Signature)
		if err != nil {
			return r.Step, err
		}
		if rf != nil {
			n.metrics.Refused.WithLabelValues(rf.Reason).Inc()
			r.Reason = rf.Error()
			return StepRefused, nil
		}
	}
	c, hm, err := n.loadJob(r)
	if err != nil {
		return r.Step, err
	}
	out := filepath.Join(n.workDir(r), "out")
	var sampler *gpu.Sampler
	if n.gpu != nil {
		sampler = n.gpu.NewSampler(n.cfg.GPU.Interval.D())
		if err := sampler.Start(ctx); err != nil {
			return r.Step, fmt.Errorf("gpu sampler: %w", err)
		}
	}
	var pidMu sync.Mutex
	pids := []uint32{uint32(os.Getpid())}
	var gen *jobs.Generated
	t0 := time.Now()
	deadline := r.CommitBy
	if r.Source == FromOffer {
		deadline = r.Request.LockBy
	}
	err = n.heavy(ctx, deadline, func() error {
		if r.Source == FromPosted {
			// Checked once the slot is ours: the wait for it counts against the deadline.
			why, err := n.tooLateToExecute(ctx, r, c.Job.Rows())
			if err != nil {
				return err
			}
			if why != "" {
				return errTooLate(why)
			}
		}
		if n.exec == nil {
			tr, tokens, err := c.Generate()
			if err != nil {
				return err
			}
			gen, err = c.Commit(tr, tokens)
			return err
		}
		var err error
		gen, err = Generate(ctx, pidExecutor{n.exec, func(pid int) {
			pidMu.Lock()
			pids = append(pids, uint32(pid))
			pidMu.Unlock()
		}}, hm.path, r.JobPath, out)
		return err
	})
	var summary *gpu.Summary
	if sampler != nil {
		s, serr := sampler.Stop()
		if serr != nil && err == nil {
			err = fmt.Errorf("gpu sampler: %w", serr)
		}
		summary = s
	}
	if err != nil {
		var late errTooLate
		switch {
		case ctx.Err() != nil:
			return r.Step, err
		case errors.As(err, &late):
			return n.abandon(ctx, r, string(late), log)
		}
		n.metrics.ExecutorFailures.Inc()
		return r.Step, execFailure{err}
	}
	if n.cfg.Falsify != "" {
		if gen, err = falsify(c, gen, n.cfg.Falsify); err != nil {
			return r.Step, permanent{err}
		}
	}
	d := time.Since(t0)
	n.metrics.StepSeconds.WithLabelValues("execute").Observe(d.Seconds())
	r.timing("executeMs", d)
	if err := writeGenerated(c.Model, gen, out); err != nil {
		return r.Step, err
	}

	rec := gpu.NoneRecord()
	if n.gpu != nil {
		nonce := n.nonce(r, gen.TraceRoot)
		pidMu.Lock()
		rec, err = n.gpu.BuildRecord(gpu.RecordOptions{Telemetry: summary, PIDs: pids, Nonce: &nonce, RequireCC: n.cfg.GPU.RequireCC})
		pidMu.Unlock()
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
	r.TracePath, r.ResultPath = filepath.Join(out, jobs.TraceFile), filepath.Join(out, jobs.ResultFile)
	r.TraceRoot, r.ResultDigest = word(commit.ToBig(gen.TraceRoot)), word(commit.ToBig(gen.ResultDigest))
	r.Attestation, r.AttestationDigest = canon, common.Hash(dig)
	log.Info("executed", "ms", d.Milliseconds(), "tokens", len(gen.Tokens), "traceRoot", r.TraceRoot, "attestation", rec.Mode, "falsified", n.cfg.Falsify != "")
	return StepExecuted, nil
}

// pidExecutor tells the sampler's accounting the executor's processes.
type pidExecutor struct {
	Executor
	onPID func(int)
}

func (p pidExecutor) Execute(ctx context.Context, req ExecRequest) error {
	req.OnProcess = p.onPID
	return p.Executor.Execute(ctx, req)
}

// falsify is the cheating provider of Config.Falsify (demonstrations and tests only).
//
// FalsifyLazy changes every activation of the trace (each I8 tensor after the input) by one
// step, as a provider that did not run the model and made its trace up; the tokens are kept,
// so the trace root commits to a trace no proof can open.
//
// FalsifyAnswer is the targeted cheat: it changes the answer's last token by raising one
// element of the last logits row above the row's maximum (two when the maximum is 127 at
// column 0) and reports the token that row now selects, so the trace is consistent
// everywhere else. Sampling misses it with probability close to 1; a watcher's
// recomputation finds it (specs/trace.md §8). FalsifyWithhold is the same cheat by a node that
// does not publish its trace (publishTrace): a watcher finds the element from data challenges.
func falsify(c *jobs.Checked, g *jobs.Generated, mode string) (*jobs.Generated, error) {
	switch mode {
	case FalsifyLazy:
		for _, v := range g.Trace.Tensors[1:] {
			if v.I8 == nil {
				continue
			}
			for i := range v.I8.Data {
				v.I8.Data[i] ^= 1
			}
		}
	case FalsifyAnswer, FalsifyWithhold:
		if c.Job.Select.Sample {
			return nil, fmt.Errorf("falsify %q: only argmax jobs", mode)
		}
		V, T, n := c.Vocab, g.Trace.T, len(g.Tokens)
		row := g.Trace.Output().I8.Data[(T-1)*V : T*V]
		if V < 2 {
			return nil, fmt.Errorf("falsify %q: a vocabulary of one token has no other answer", mode)
		}
		honest := g.Tokens[n-1]
		other := int32(0)
		if honest == 0 {
			other = 1
		}
		if top := row[honest]; top < 127 {
			row[other] = top + 1
		} else {
			row[other] = 127
			if other > honest { // a tie keeps the first maximum: lower it
				row[honest] = 126
			}
		}
		g.Tokens[n-1] = other
	default:
		return nil, fmt.Errorf("falsify %q: want %q, %q or %q", mode, FalsifyLazy, FalsifyAnswer, FalsifyWithhold)
	}
	return c.Commit(g.Trace, g.Tokens)
}

// writeGenerated writes the trace and result files the prover reads back.
func writeGenerated(m *model.Model, g *jobs.Generated, out string) error {
	tb, err := jobs.EncodeTrace(m, g.Trace)
	if err != nil {
		return permanent{err}
	}
	rb, err := jobs.EncodeResult(g.Tokens)
	if err != nil {
		return permanent{err}
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	if err := atomicfile.Write(filepath.Join(out, jobs.TraceFile), tb); err != nil {
		return err
	}
	return atomicfile.Write(filepath.Join(out, jobs.ResultFile), rb)
}

// loadGenerated reads the trace and result back and recommits them; it fails when they no
// longer commit to the journaled roots (a resumed node never proves files that changed).
func (n *Node) loadGenerated(r *Record) (*jobs.Checked, *jobs.Generated, error) {
	c, _, err := n.loadJob(r)
	if err != nil {
		return nil, nil, err
	}
	tb, err := os.ReadFile(r.TracePath)
	if err != nil {
		return nil, nil, err
	}
	rb, err := os.ReadFile(r.ResultPath)
	if err != nil {
		return nil, nil, err
	}
	tr, err := jobs.ParseTrace(c.Model, tb)
	if err != nil {
		return nil, nil, err
	}
	tokens, err := jobs.ParseResult(rb)
	if err != nil {
		return nil, nil, err
	}
	g, err := c.Commit(tr, tokens)
	if err != nil {
		return nil, nil, err
	}
	if got := word(commit.ToBig(g.TraceRoot)); got != r.TraceRoot {
		return nil, nil, fmt.Errorf("the trace on disk commits to %s, the journal to %s", got, r.TraceRoot)
	}
	if got := word(commit.ToBig(g.ResultDigest)); got != r.ResultDigest {
		return nil, nil, fmt.Errorf("the result on disk has digest %s, the journal %s", got, r.ResultDigest)
	}
	return c, g, nil
}

// commit sends the journaled commitment: lockAndCommit for an offer (one transaction), commit
// for a locked posted job. A resumed node rereads its trace first; one that changed on disk
// is executed again, since nothing is committed yet.
func (n *Node) commit(ctx context.Context, r *Record, log *slog.Logger) (Step, error) {
	if _, _, err := n.loadGenerated(r); err != nil {
		log.Warn("trace on disk is not the journaled one; executing again", "err", err)
		if r.Source == FromOffer {
			return StepAccepted, nil
		}
		return StepLocked, nil
	}
	traceRoot, _ := unword(r.TraceRoot)
	t0 := time.Now()
	var ev *chain.JobCommitted
	if r.Source == FromOffer {
		if now, err := n.chainTime(ctx); err == nil && now > r.Request.LockBy {
			r.Reason = "lock deadline passed after execution"
			return StepExpired, nil
		}
		limits, err := n.lockLimits(ctx, r)
		if err != nil {
			return r.Step, err
		}
		res, err := n.market.LockAndCommit(ctx, r.Request.Request, r.Signature, traceRoot, r.AttestationDigest, limits)
		if err != nil {
			if st, serr := n.market.JobState(ctx, r.ID()); errors.Is(err, chain.ErrReverted) && serr == nil && st == chain.StateNone {
				// Nobody holds it and the manager will not create it (signature, terms, stake).
				r.Reason = "lockAndCommit reverted: " + err.Error()
				return StepLost, nil
			}
			return r.Step, err // the next reconcile sees another provider's lock
		}
		n.gas(r, "lockAndCommit", &res.Tx)
		ev = res.Committed
	} else {
		res, err := n.market.Commit(ctx, r.ID(), traceRoot, r.AttestationDigest)
		if err != nil {
			return r.Step, err
		}
		n.gas(r, "commit", &res.Tx)
		ev = res.Committed
	}
	d := time.Since(t0)
	n.metrics.StepSeconds.WithLabelValues("commit").Observe(d.Seconds())
	r.timing("commitMs", d)
	n.committed(r, ev)
	log.Info("committed", "seedBlock", ev.SeedBlock, "proveBy", ev.ProveBy, "stake", ev.Stake, "gas", r.Gas)
	return StepCommitted, nil
}

// committed records a JobCommitted event's commitment and seed block.
func (n *Node) committed(r *Record, ev *chain.JobCommitted) {
	r.Stake, r.SeedBlock, r.ProveBy = ev.Stake.String(), ev.SeedBlock, ev.ProveBy
}

// errTooLate: a locked job can no longer be executed and committed before its deadline.
type errTooLate string

func (e errTooLate) Error() string { return string(e) }

// execFailure is a failed execution (the executor or the generation), counted against
// Safety.MaxExecAttempts; other failures of the step (the endpoint) are retried without limit.
type execFailure struct{ err error }

func (e execFailure) Error() string { return "execution failed: " + e.err.Error() }
func (e execFailure) Unwrap() error { return e.err }

// lockLimits bounds a lock (chain.LockLimits) by the terms the manager gives right before it is
// sent, and its stake by the one the node admitted the job at: a rate raised after admission
// (during an offer's execution, say) or in front of the lock reverts the lock instead of
// reserving stake the node never checked it could spare.
func (n *Node) lockLimits(ctx context.Context, r *Record) (chain.LockLimits, error) {
	limits, err := n.market.LockLimitsNow(ctx, r.Request.Request)
	if err != nil {
		return limits, err
	}
	if admitted, ok := new(big.Int).SetString(r.AdmittedStake, 10); ok && admitted.Cmp(limits.MaxStake) < 0 {
		limits.MaxStake = admitted
	}
	return limits, nil
}
