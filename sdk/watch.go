package sdk

import (
	"context"
	"fmt"
	"math/big"
	"sort"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"

	"github.com/probitylabs/probity/chain"
)

// Event is one step of a job through the SLA state machine (spec §10).
type Event interface {
	Info() EventInfo
}

// EventInfo locates an event on chain.
type EventInfo struct {
	JobID       *big.Int
	BlockNumber uint64
	TxHash      common.Hash
	index       uint
}

// Info returns the event's location.
func (e EventInfo) Info() EventInfo { return e }

// Posted: a buyer posted the job and escrowed its price.
type Posted struct {
	EventInfo
	Buyer    common.Address
	Price    *big.Int
	SpecHash [32]byte
	InputURI string
}

// Locked: a provider locked the job and reserved stake.
type Locked struct {
	EventInfo
	Provider common.Address
	Stake    *big.Int
	CommitBy uint64
}

// Committed: the provider committed its output roots and attestation digest. The seed comes
// from the hash of SeedBlock (and the buyer's secret, once revealed); the proof deadline is
// set only when the seed is fixed (SeedFixed.ProveBy).
type Committed struct {
	EventInfo
	OutputRoots       []*big.Int
	AttestationDigest [32]byte
	SeedBlock         uint64
}

// SeedFixed: the challenge seed was fixed from the seed block's hash, with the buyer's secret
// when Revealed; the provider must prove by ProveBy (chain time).
type SeedFixed struct {
	EventInfo
	Seed     *big.Int
	ProveBy  uint64
	Revealed bool
}

// Abandoned: the provider gave the locked job back before committing and paid Fee of its
// stake to the buyer. The job reopened for other providers (Reopened) or, past its lock
// deadline, was cancelled with the escrow credited back to the buyer.
type Abandoned struct {
	EventInfo
	Provider common.Address
	Fee      *big.Int
	Reopened bool
}

// Settled: every proof verified and the provider was paid. ReceiptDigest is the EIP-712
// digest of the receipt the node key signed.
type Settled struct {
	EventInfo
	Provider      common.Address
	Price         *big.Int
	ReceiptDigest [32]byte
}

// Slashed: the provider's reserved stake went to the buyer (a bounty to Caller).
type Slashed struct {
	EventInfo
	Provider, Caller common.Address
	Stake, Bounty    *big.Int
}

// Cancelled: the buyer cancelled the open job.
type Cancelled struct{ EventInfo }

// WatchError ends a watch that could not read the chain.
type WatchError struct {
	EventInfo
	Err error
}

func info(jobID *big.Int, l *types.Log) EventInfo {
	if l == nil {
		return EventInfo{JobID: jobID}
	}
	return EventInfo{JobID: jobID, BlockNumber: l.BlockNumber, TxHash: l.TxHash, index: l.Index}
}

// Watch streams the job's events in chain order, from its posting on, until a final one
// (Settled, Slashed, Cancelled), a WatchError, or ctx ends; then the channel closes. It polls
// logs, so it works over plain HTTP RPC as well as on a simulated chain.
func (c *Client) Watch(ctx context.Context, jobID *big.Int) <-chan Event {
	out := make(chan Event, 16)
	go func() {
		defer close(out)
		from := c.FromBlock
		send := func(e Event) bool {
			select {
			case out <- e:
				return true
			case <-ctx.Done():
				return false
			}
		}
		for {
			head, err := c.backend.BlockNumber(ctx)
			if err != nil {
				if ctx.Err() == nil {
					send(WatchError{EventInfo{JobID: jobID}, fmt.Errorf("sdk: watch: %w", err)})
				}
				return
			}
			if head >= from {
				evs, err := c.jobEvents(ctx, jobID, chain.EventRange{Start: from, End: &head})
				if err != nil {
					if ctx.Err() == nil {
						send(WatchError{EventInfo{JobID: jobID}, err})
					}
					return
				}
				for _, e := range evs {
					if !send(e) {
						return
					}
					switch e.(type) {
					case Settled, Slashed:
						return
					}
				}
				from = head + 1
				// JobCancelled has no log filter in the chain client; the state says it.
				if st, err := c.JobState(ctx, jobID); err == nil && st == chain.StateCancelled {
					send(Cancelled{EventInfo{JobID: jobID, BlockNumber: head}})
					return
				}
			}
			select {
			case <-ctx.Done():
				return
			case <-time.After(c.PollInterval):
			}
		}
	}()
	return out
}

// jobEvents collects the job's events in r, sorted by block and log index.
func (c *Client) jobEvents(ctx context.Context, jobID *big.Int, r chain.EventRange) ([]Event, error) {
	var evs []Event
	is := func(id *big.Int) bool { return id != nil && id.Cmp(jobID) == 0 }
	posted, err := c.chain.FilterJobPosted(ctx, r)
	if err != nil {
		return nil, fmt.Errorf("sdk: JobPosted logs: %w", err)
	}
	for _, e := range posted {
		if is(e.JobId) {
			evs = append(evs, Posted{info(jobID, e.Raw), e.Buyer, e.Price, e.SpecHash, e.InputURI})
		}
	}
	locked, err := c.chain.FilterJobLocked(ctx, r)
	if err != nil {
		return nil, fmt.Errorf("sdk: JobLocked logs: %w", err)
	}
	for _, e := range locked {
		if is(e.JobId) {
			evs = append(evs, Locked{info(jobID, e.Raw), e.Provider, e.Stake, e.CommitBy})
		}
	}
	committed, err := c.chain.FilterJobCommitted(ctx, r)
	if err != nil {
		return nil, fmt.Errorf("sdk: JobCommitted logs: %w", err)
	}
	for _, e := range committed {
		if is(e.JobId) {
			evs = append(evs, Committed{info(jobID, e.Raw), e.OutputRoots, e.AttestationDigest, e.SeedBlock})
		}
	}
	seeds, err := c.chain.FilterSeedFixed(ctx, r)
	if err != nil {
		return nil, fmt.Errorf("sdk: SeedFixed logs: %w", err)
	}
	for _, e := range seeds {
		if is(e.JobId) {
			evs = append(evs, SeedFixed{info(jobID, e.Raw), e.Seed, e.ProveBy, e.Revealed})
		}
	}
	abandoned, err := c.chain.FilterJobAbandoned(ctx, r)
	if err != nil {
		return nil, fmt.Errorf("sdk: JobAbandoned logs: %w", err)
	}
	for _, e := range abandoned {
		if is(e.JobId) {
			evs = append(evs, Abandoned{info(jobID, e.Raw), e.Provider, e.Fee, e.Reopened})
		}
	}
	settled, err := c.chain.FilterJobSettled(ctx, r)
	if err != nil {
		return nil, fmt.Errorf("sdk: JobSettled logs: %w", err)
	}
	for _, e := range settled {
		if is(e.JobId) {
			evs = append(evs, Settled{info(jobID, e.Raw), e.Provider, e.Price, e.ReceiptDigest})
		}
	}
	slashed, err := c.chain.FilterJobSlashed(ctx, r)
	if err != nil {
		return nil, fmt.Errorf("sdk: JobSlashed logs: %w", err)
	}
	for _, e := range slashed {
		if is(e.JobId) {
			evs = append(evs, Slashed{info(jobID, e.Raw), e.Provider, e.Caller, e.Stake, e.Bounty})
		}
	}
	sort.SliceStable(evs, func(i, j int) bool {
		a, b := evs[i].Info(), evs[j].Info()
		if a.BlockNumber != b.BlockNumber {
			return a.BlockNumber < b.BlockNumber
		}
		return a.index < b.index
	})
	return evs, nil
}
