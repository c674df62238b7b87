package sdk

import (
	"context"
	"fmt"
	"math/big"

	"github.com/ethereum/go-ethereum/common"

	"github.com/probitylabs/probity/chain"
)

// Stake approves the provider registry for amount and stakes it: it registers the client as a
// provider with nodeKey (the address of the key that signs receipts; zero means the client's
// own address, as a prover without a separate node key signs with its provider key) when it is
// not registered yet, and adds to its free stake otherwise, where nodeKey must be zero or the
// registered key (rotating it is chain.Client.RotateNodeKey). It reports whether it registered.
func (c *Client) Stake(ctx context.Context, nodeKey common.Address, amount *big.Int) (registered bool, err error) {
	if amount == nil || amount.Sign() <= 0 {
		return false, fmt.Errorf("sdk: stake: amount must be positive")
	}
	cur, err := c.ProviderStake(ctx, c.Address())
	if err != nil {
		return false, err
	}
	registered = cur.NodeKey == (common.Address{})
	if registered && nodeKey == (common.Address{}) {
		nodeKey = c.Address()
	}
	if !registered && nodeKey != (common.Address{}) && nodeKey != cur.NodeKey {
		return false, fmt.Errorf("sdk: stake: %s is registered with node key %s, not %s (rotate it with RotateNodeKey)",
			c.Address().Hex(), cur.NodeKey.Hex(), nodeKey.Hex())
	}
	if _, err := c.chain.Approve(ctx, c.Addresses().Providers, amount); err != nil {
		return false, fmt.Errorf("sdk: approving the stake: %w", decodeError(err))
	}
	if registered {
		_, err = c.chain.Register(ctx, nodeKey, amount)
	} else {
		_, err = c.chain.AddStake(ctx, amount)
	}
	if err != nil {
		return false, fmt.Errorf("sdk: stake: %w", decodeError(err))
	}
	return registered, nil
}

// Slash slashes a locked or committed job whose deadline passed (anyone may call it): the
// provider's reserved stake goes to the buyer, a bounty to the caller.
func (c *Client) Slash(ctx context.Context, jobID *big.Int) (*Slashed, error) {
	ev, _, err := c.chain.Slash(ctx, jobID)
	if err != nil {
		return nil, fmt.Errorf("sdk: slash job %s: %w", jobID, decodeError(err))
	}
	return &Slashed{info(jobID, ev.Raw), ev.Provider, ev.Caller, ev.Stake, ev.Bounty}, nil
}

// Abandon gives a job the client locked back before its commit deadline, for a provider that
// finds it cannot deliver: the job's abandonment fee (a share of the reserved stake fixed at
// lock) goes to the buyer and the rest of the stake is freed, which costs less than being
// slashed at the deadline. The job reopens for other providers while its lock deadline allows.
func (c *Client) Abandon(ctx context.Context, jobID *big.Int) (*Abandoned, error) {
	ev, _, err := c.chain.Abandon(ctx, jobID)
	if err != nil {
		return nil, fmt.Errorf("sdk: abandon job %s: %w", jobID, decodeError(err))
	}
	return &Abandoned{info(jobID, ev.Raw), ev.Provider, ev.Fee, ev.Reopened}, nil
}

// Events returns the job's events so far (from FromBlock to the latest block), in chain order,
// without waiting: the one-shot counterpart of Watch. A cancelled job's history ends with
// Cancelled.
func (c *Client) Events(ctx context.Context, jobID *big.Int) ([]Event, error) {
	head, err := c.backend.BlockNumber(ctx)
	if err != nil {
		return nil, fmt.Errorf("sdk: events: %w", err)
	}
	evs, err := c.jobEvents(ctx, jobID, chain.EventRange{Start: c.FromBlock, End: &head})
	if err != nil {
		return nil, err
	}
	if st, err := c.JobState(ctx, jobID); err != nil {
		return nil, err
	} else if st == chain.StateCancelled {
		evs = append(evs, Cancelled{EventInfo{JobID: jobID, BlockNumber: head}})
	}
	return evs, nil
}
