package prover_test

import (
	"context"
	"math/big"
	"testing"
	"time"

	"github.com/probitylabs/probity/chain"
	"github.com/probitylabs/probity/prover"
)

// reorgSeedBlock replaces the chain from the job's seed block on with a longer branch, so the
// seed the chain derives changes, and returns the seeds before and after.
func (w *world) reorgSeedBlock(t *testing.T, ctx context.Context, id *big.Int) (before, after *big.Int, err error) {
	job, err := w.keeper.GetJob(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	s := job.SeedBlock.Uint64()
	before, err = w.keeper.SeedOf(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	parent, err := w.sim.Client().HeaderByNumber(ctx, new(big.Int).SetUint64(s-1))
	if err != nil {
		return nil, nil, err
	}
	head := w.head(t, ctx)
	if err := w.sim.Reorg(parent.Hash(), int(head-(s-1))+1); err != nil {
		return nil, nil, err
	}
	after, err = w.keeper.SeedOf(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	if before.Cmp(after) == 0 {
		t.Fatal("the reorganisation did not change the seed")
	}
	return before, after, nil
}

// TestReorgOfSeedBlockNotSlashed (review H1a, H1b): the node reads the seed only
// SeedConfirmations blocks past the seed block; a reorganisation deeper than that replaces the
// seed block after the node read it. The node's simulation of its submission finds the proof
// invalid for the chain's seed, so it does not send it, reads the seed again, proves again
// and is paid: an honest node is never slashed for a reorganisation.
func TestReorgOfSeedBlockNotSlashed(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	w := newWorld(t, ctx, 1)
	j := w.job(t, []int32{4, 5}, 10)
	start := w.head(t, ctx)
	id := w.post(t, ctx, w.request(t, ctx, j, tokens(3), 0), j.uri)
	const confirmations = 3
	var after *big.Int
	var headAtSeed, seedBlock uint64
	hook := func(jobID *big.Int, step prover.Step) error {
		if step != prover.StepSeeded || after != nil {
			return nil
		}
		job, err := w.keeper.GetJob(ctx, jobID)
		if err != nil {
			return err
		}
		headAtSeed, seedBlock = w.head(t, ctx), job.SeedBlock.Uint64()
		var before *big.Int
		before, after, err = w.reorgSeedBlock(t, ctx, jobID)
		t.Logf("seed %x replaced by %x", before, after)
		return err
	}
	cfg := w.config(t, t.TempDir(), start)
	cfg.SeedConfirmations = confirmations
	n := w.node(t, ctx, w.provs[0], cfg, func(o *prover.Options) { o.Hook = hook })
	r := runUntil(t, ctx, n, 2*time.Minute, id)[0]
	if headAtSeed < seedBlock+1+confirmations {
		t.Errorf("the seed was read at head %d, before %d confirmations of seed block %d", headAtSeed, confirmations, seedBlock)
	}
	st, _ := w.keeper.JobState(ctx, id)
	if r.Step != prover.StepDone || st != chain.StateSettled {
		t.Fatalf("job ended %s (%s), chain state %v; want done and settled", r.Step, r.Reason, st)
	}
	if r.Seed != word(after) {
		t.Errorf("proved seed %s, the chain's after the reorganisation is %s", r.Seed, word(after))
	}
}

// TestReorgThenStoredSeedReproved (review H1c): after the node proved, the seed block is
// reorganised away and the new seed is stored on chain (fixSeed mined again on the new branch); the node's reconcile sees the stored
// seed differ from the journaled one and proves again instead of submitting the old proof.
func TestReorgThenStoredSeedReproved(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	w := newWorld(t, ctx, 1)
	j := w.job(t, []int32{6, 1}, 8)
	start := w.head(t, ctx)
	id := w.post(t, ctx, w.request(t, ctx, j, tokens(3), 0), j.uri)
	var after *big.Int
	proofs := 0
	hook := func(jobID *big.Int, step prover.Step) error {
		if step != prover.StepProved {
			return nil
		}
		proofs++
		if after != nil {
			return nil
		}
		if _, _, err := w.reorgSeedBlock(t, ctx, jobID); err != nil {
			return err
		}
		// The node fixed the seed itself (its proof outlasts the test chain's horizon); the
		// reorganisation dropped that fixSeed and the pool mined it again on the new branch.
		// Else fix it now.
		if _, err := w.keeper.FixSeed(ctx, jobID); err != nil && !chain.IsRevert(err, "SeedAlreadyFixed") {
			return err
		}
		job, err := w.keeper.GetJob(ctx, jobID)
		after = job.Seed
		return err
	}
	n := w.node(t, ctx, w.provs[0], w.config(t, t.TempDir(), start), func(o *prover.Options) { o.Hook = hook })
	r := runUntil(t, ctx, n, 2*time.Minute, id)[0]
	if r.Step != prover.StepDone {
		t.Fatalf("job ended %s (%s); want done", r.Step, r.Reason)
	}
	if r.Seed != word(after) || !r.SeedFixed {
		t.Errorf("proved seed %s (fixed %v), the chain's stored seed is %s", r.Seed, r.SeedFixed, word(after))
	}
	if proofs != 2 {
		t.Errorf("%d proofs, want 2 (the journaled seed's, then the stored one's)", proofs)
	}
}

// dropBlockOf reorganises away the block that holds the job's event picked by which, leaving
// its transaction in the pool: the miner pauses for hold, as a chain whose next block is
// slow to come.
func (w *world) dropBlockOf(t *testing.T, ctx context.Context, id *big.Int, since uint64, hold time.Duration, which func(chain.Events) uint64) error {
	evs, err := w.keeper.FilterJobEvents(ctx, chain.EventRange{Start: since}, id)
	if err != nil {
		return err
	}
	b := which(evs)
	parent, err := w.sim.Client().HeaderByNumber(ctx, new(big.Int).SetUint64(b-1))
	if err != nil {
		return err
	}
	w.paused.Store(true)
	w.sim.SetMineOnSend(false)
	time.AfterFunc(hold, func() { w.sim.SetMineOnSend(true); w.paused.Store(false) })
	return w.sim.Reorg(parent.Hash(), 0)
}

// TestDroppedLockIsPending (review H1c): a reorganisation drops the block of the node's lock,
// so the chain says Open again while the lock waits in the pool. The node waits for its own
// transaction instead of calling the job lost, and is paid once it is mined again.
func TestDroppedLockIsPending(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	w := newWorld(t, ctx, 1)
	j := w.job(t, []int32{7, 2}, 6)
	start := w.head(t, ctx)
	id := w.post(t, ctx, w.request(t, ctx, j, tokens(3), 0), j.uri)
	dropped := false
	hook := func(jobID *big.Int, step prover.Step) error {
		if step != prover.StepLocked || dropped {
			return nil
		}
		dropped = true
		return w.dropBlockOf(t, ctx, jobID, start, time.Second, func(e chain.Events) uint64 { return e.Locked[0].Raw.BlockNumber })
	}
	n := w.node(t, ctx, w.provs[0], w.config(t, t.TempDir(), start), func(o *prover.Options) { o.Hook = hook })
	r := runUntil(t, ctx, n, 2*time.Minute, id)[0]
	if !dropped || r.Step != prover.StepDone {
		t.Fatalf("job ended %s (%s) (lock dropped: %v); want done", r.Step, r.Reason, dropped)
	}
}

// TestDroppedLockAndCommitIsPending (review H1c): the same for an offer's lockAndCommit: the
// chain knows no such job while the transaction waits in the pool; the node neither fails the
// job nor calls it lost.
func TestDroppedLockAndCommitIsPending(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	w := newWorld(t, ctx, 1)
	j := w.job(t, []int32{7, 3}, 6)
	start := w.head(t, ctx)
	o, id := w.offer(t, w.request(t, ctx, j, tokens(3), 0), j.uri)
	dropped := false
	hook := func(jobID *big.Int, step prover.Step) error {
		if step != prover.StepCommitted || dropped {
			return nil
		}
		dropped = true
		return w.dropBlockOf(t, ctx, jobID, start, time.Second, func(e chain.Events) uint64 { return e.Committed[0].Raw.BlockNumber })
	}
	n := w.node(t, ctx, w.provs[0], w.config(t, t.TempDir(), start), func(o *prover.Options) { o.Hook = hook })
	n.Consider(o)
	r := runUntil(t, ctx, n, 2*time.Minute, id)[0]
	if !dropped || r.Step != prover.StepDone {
		t.Fatalf("job ended %s (%s) (lockAndCommit dropped: %v); want done", r.Step, r.Reason, dropped)
	}
}
