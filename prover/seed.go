package prover

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/probitylabs/probity/chain"
)

// seedHorizon is SEED_HORIZON: a seed that is not stored is derivable up to seedBlock + 256.
const seedHorizon = 256

// horizonReserve is how many blocks before the horizon the node stops relying on a derived seed.
const horizonReserve = 32

// seed learns the challenge seed once the seed block is mined and confirmed: the stored one (the buyer's
// reveal, or anyone's fixSeed), else the one the chain derives. A derived seed is fixed on
// chain when the proof would otherwise not be mined inside the seed horizon (settlement.md
// §4); inside a seed commitment's reveal window the node waits for the buyer.
func (n *Node) seed(ctx context.Context, r *Record, log *slog.Logger) (Step, error) {
	// The seed is a block hash: it is only read once SeedConfirmations blocks are mined on the
	// seed block, so a shallow reorganisation cannot replace it under the proof.
	if err := n.market.WaitForBlock(ctx, r.SeedBlock+1+uint64(n.cfg.SeedConfirmations), n.cfg.PollInterval.D()); err != nil {
		return r.Step, err
	}
	for {
		job, err := n.market.GetJob(ctx, r.ID())
		if err != nil {
			return r.Step, err
		}
		if st := chain.JobState(job.State); st != chain.StateCommitted {
			return r.Step, fmt.Errorf("job is %v while waiting for its seed", st) // reconciled at the retry
		}
		if job.Flags&chain.JobFlagSeedFixed != 0 {
			r.Seed, r.SeedFixed, r.ProveBy = word(job.Seed), true, job.Deadline.Uint64()
			log.Info("seed fixed on chain", "seed", r.Seed, "proveBy", r.ProveBy)
			return StepSeeded, nil
		}
		seed, err := n.market.SeedOf(ctx, r.ID())
		if chain.IsRevert(err, "RevealPending") {
			select {
			case <-ctx.Done():
				return r.Step, ctx.Err()
			case <-time.After(n.cfg.PollInterval.D()):
			}
			continue
		}
		if err != nil {
			return r.Step, err
		}
		near, err := n.horizonNear(ctx, r)
		if err != nil {
			return r.Step, err
		}
		if near {
			if err := n.fixSeed(ctx, r, log); err != nil {
				// Fixed by someone else meanwhile (read it back), or the endpoint failed: wait
				// a poll either way rather than spin on the endpoint.
				log.Warn("fixing the seed failed; reading it again", "err", err)
				select {
				case <-ctx.Done():
					return r.Step, ctx.Err()
				case <-time.After(n.cfg.PollInterval.D()):
				}
				continue
			}
			return StepSeeded, nil
		}
		r.Seed, r.SeedFixed, r.ProveBy = word(seed), false, job.Deadline.Uint64()
		log.Info("seed derived", "seed", r.Seed, "proveBy", r.ProveBy)
		return StepSeeded, nil
	}
}

// fixSeed stores the derived seed on chain (a seed-commitment job's proof clock starts).
func (n *Node) fixSeed(ctx context.Context, r *Record, log *slog.Logger) error {
	res, err := n.market.FixSeed(ctx, r.ID())
	if err != nil {
		return err
	}
	n.gas(r, "fixSeed", &res.Tx)
	r.Seed, r.SeedFixed, r.ProveBy = word(res.Fixed.Seed), true, res.Fixed.ProveBy
	log.Info("fixed the seed", "seed", r.Seed, "proveBy", r.ProveBy, "gas", res.GasUsed)
	return nil
}

// horizonNear reports whether a submission sent after the remaining work (proving unless
// proved, the batch wait, the transaction blocks) might be mined past seedBlock + 256.
func (n *Node) horizonNear(ctx context.Context, r *Record) (bool, error) {
	head, err := n.backend.BlockNumber(ctx)
	if err != nil {
		return false, err
	}
	bt, err := n.blockTime(ctx)
	if err != nil {
		return false, err
	}
	var work time.Duration
	if r.Step.Before(StepProved) {
		cl, err := n.class(r)
		if err != nil {
			return false, err
		}
		n.mu.Lock()
		if e := n.est[cl.ID()]; e != nil {
			work = e.Prove
		}
		n.mu.Unlock()
	}
	// Blocks, not the windows' time margin: the transactions' blocks and a fixed reserve.
	need := time.Duration(float64(work)*n.cfg.Safety.WindowFactor) + n.batchWait()
	blocks := uint64(need/bt) + 1 + uint64(n.cfg.Safety.TxBlocks) + horizonReserve
	return head+blocks >= r.SeedBlock+seedHorizon, nil
}

// batchWait is the longest a proved job waits for its batch (none when jobs go alone).
func (n *Node) batchWait() time.Duration {
	if n.cfg.BatchSize <= 1 {
		return 0
	}
	return n.cfg.BatchMaxWait.D()
}
