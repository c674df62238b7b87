package chain

import (
	"context"
	"fmt"
	"time"
)

// blockMiner is implemented by simulated backends that can produce blocks on
// demand; waitForBlock uses it instead of waiting for blocks that would never come.
type blockMiner interface {
	mineTo(ctx context.Context, n uint64) error
}

// waitForBlock returns once the chain's head is at least n. On a simulated chain
// it mines the missing blocks; on a node it polls every interval (default 1s).
func waitForBlock(ctx context.Context, backend Backend, n uint64, interval time.Duration) error {
	if m, ok := backend.(blockMiner); ok {
		return m.mineTo(ctx, n)
	}
	if interval <= 0 {
		interval = time.Second
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		head, err := backend.BlockNumber(ctx)
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

// mineTo makes a *Simulated passed as a Backend mine on demand as its Client() does.
func (s *Simulated) mineTo(ctx context.Context, n uint64) error { return s.client.mineTo(ctx, n) }
