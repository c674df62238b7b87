package chain

import (
	"context"
	"fmt"
	"math/big"
	"time"

	"github.com/probitylabs/probity/protocol"
)

// blockMiner is implemented by simulated backends that can produce blocks on
// demand; WaitForBlock uses it instead of waiting for blocks that would never come.
type blockMiner interface {
	mineTo(ctx context.Context, n uint64) error
}

// WaitForBlock returns once the chain's head is at least n. On a simulated chain
// it mines the missing blocks; on a node it polls every interval (default 1s).
func (c *Client) WaitForBlock(ctx context.Context, n uint64, interval time.Duration) error {
	if m, ok := c.backend.(blockMiner); ok {
		return m.mineTo(ctx, n)
	}
	if interval <= 0 {
		interval = time.Second
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		head, err := c.backend.BlockNumber(ctx)
		if err != nil {
			return fmt.Errorf("chain: reading block number: %w", err)
		}
		if head >= n {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("chain: waiting for block %d (head %d): %w", n, head, ctx.Err())
		case <-t.C:
		}
	}
}

// FixSeedWhenReady waits until the job's seed can be fixed and fixes it (spec
// §6.2): at once after the seed block for a job without a seed commitment;
// otherwise it waits for the buyer's reveal and fixes the seed without it once
// RevealBlocks have passed. If someone else fixed it first, it returns that seed.
// On a simulated chain it mines one block per interval while it waits, so that the
// reveal window passes in bounded time.
func (c *Client) FixSeedWhenReady(ctx context.Context, jobID *big.Int, interval time.Duration) (*SeedFixed, error) {
	if interval <= 0 {
		interval = time.Second
	}
	for {
		job, err := c.GetJob(ctx, jobID)
		if err != nil {
			return nil, err
		}
		if job.SeedFixed {
			return &SeedFixed{JobId: jobID, Seed: job.Seed, ProveBy: job.ProveBy}, nil
		}
		if JobState(job.State) != StateCommitted {
			return nil, fmt.Errorf("chain: job %v is %v, not Committed", jobID, JobState(job.State))
		}
		// fixSeed needs block.number > seedBlock (+ RevealBlocks with a commitment); gas
		// estimation runs on the head, so the head itself must be past that block.
		ready := job.SeedBlock + 1
		if job.SeedCommitment != ([32]byte{}) {
			ready += protocol.RevealBlocks
		}
		head, err := c.backend.BlockNumber(ctx)
		if err != nil {
			return nil, fmt.Errorf("chain: reading block number: %w", err)
		}
		if head >= ready {
			ev, _, err := c.FixSeed(ctx, jobID)
			if err == nil {
				return ev, nil
			}
			if !IsRevert(err, "SeedAlreadyFixed") {
				return nil, err
			}
			continue // the buyer's reveal (or another caller) came first
		}
		if head < job.SeedBlock+1 {
			if err := c.WaitForBlock(ctx, job.SeedBlock+1, interval); err != nil {
				return nil, err
			}
			continue
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("chain: waiting for the seed of job %v: %w", jobID, ctx.Err())
		case <-time.After(interval):
		}
		if m, ok := c.backend.(blockMiner); ok {
			if err := m.mineTo(ctx, head+1); err != nil {
				return nil, err
			}
		}
	}
}

func (c *simClient) mineTo(ctx context.Context, n uint64) error {
	head, err := c.BlockNumber(ctx)
	if err != nil {
		return fmt.Errorf("chain: reading block number: %w", err)
	}
	if head < n {
		c.sim.Mine(int(n - head))
	}
	return nil
}
