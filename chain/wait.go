package chain

import (
	"context"
	"fmt"
	"math/big"
	"time"
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

// FixSeedWhenReady waits until the job's seed block is in the past and fixes
// the seed (spec §6.2). If someone else fixed it first, it returns that seed.
func (c *Client) FixSeedWhenReady(ctx context.Context, jobID *big.Int, interval time.Duration) (*big.Int, error) {
	job, err := c.GetJob(ctx, jobID)
	if err != nil {
		return nil, err
	}
	if JobState(job.State) != StateCommitted {
		return nil, fmt.Errorf("chain: job %v is %v, not Committed", jobID, JobState(job.State))
	}
	if job.SeedFixed {
		return job.Seed, nil
	}
	// fixSeed needs block.number > seedBlock; gas estimation runs on the head, so the head
	// itself must be past the seed block.
	if err := c.WaitForBlock(ctx, job.SeedBlock+1, interval); err != nil {
		return nil, err
	}
	ev, _, err := c.FixSeed(ctx, jobID)
	if err != nil {
		if IsRevert(err, "SeedAlreadyFixed") {
			job, gerr := c.GetJob(ctx, jobID)
			if gerr != nil {
				return nil, gerr
			}
			return job.Seed, nil
		}
		return nil, err
	}
	return ev.Seed, nil
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
