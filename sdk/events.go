package sdk

import (
	"cmp"
	"context"
	"fmt"
	"iter"
	"math/big"
	"slices"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"

	"github.com/probitylabs/probity/chain"
)

// Event is one step of a job through the state machine (settlement.md §3).
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

func info(jobID *big.Int, l *types.Log) EventInfo {
	if l == nil {
		return EventInfo{JobID: jobID}
	}
	return EventInfo{JobID: jobID, BlockNumber: l.BlockNumber, TxHash: l.TxHash, index: l.Index}
}

// Posted: the job exists, posted by its buyer (JobURI set) or created by a provider's lock of
// a signed request (JobURI empty: the offer carried it).
type Posted struct {
	EventInfo
	Request chain.Request
	JobURI  string
}

// Locked: a provider locked the job and reserved Stake; it must commit by CommitBy (chain
// time) or be slashed.
type Locked struct {
	EventInfo
	Provider common.Address
	Stake    *big.Int
	CommitBy uint64
}

// Committed: the provider committed its trace root. The seed comes from the hash of block
// SeedBlock (and the buyer's secret, once revealed). ProveBy is zero while the seed waits for
// the reveal.
type Committed struct {
	EventInfo
	Commitment chain.Commitment
	SeedBlock  uint64
	ProveBy    uint64
}

// SeedFixed: the seed was stored before the submission, with the buyer's secret when
// Revealed; the provider must prove by ProveBy.
type SeedFixed struct {
	EventInfo
	Seed     *big.Int
	ProveBy  uint64
	Revealed bool
}

// Proved: the proof verified and the generated tokens are on chain. Tokens is the result
// (request.newTokens ids), bound to the proof by ResultDigest; ReceiptDigest is the EIP-712
// digest of the receipt the provider's node key signs; the job pays at PayableAt.
type Proved struct {
	EventInfo
	Provider      common.Address
	Seed          *big.Int
	ResultDigest  *big.Int
	Tokens        []uint32
	ReceiptDigest [32]byte
	PayableAt     uint64
}

// Rejected: the proof did not verify; the job is slashed in the same transaction.
type Rejected struct{ EventInfo }

// Abandoned: the provider gave the locked job back before committing, paying Fee of its stake
// to the buyer; the job reopened or, past its lock deadline, was refunded.
type Abandoned struct {
	EventInfo
	Provider common.Address
	Fee      *big.Int
	Reopened bool
}

// Settled: the provider was paid Price.
type Settled struct {
	EventInfo
	Provider common.Address
	Price    *big.Int
}

// Slashed: the provider's stake went to the buyer (less Bounty to Caller, the keeper that
// slashed a late job; no bounty for a rejected proof), and the escrow back to the buyer.
type Slashed struct {
	EventInfo
	Provider, Caller common.Address
	Stake, Bounty    *big.Int
}

// Cancelled: the buyer cancelled the open job (escrow credited) or revoked its signed request.
type Cancelled struct{ EventInfo }

// final reports whether e ends its job.
func final(e Event) bool {
	switch e := e.(type) {
	case Settled, Slashed, Cancelled:
		return true
	case Abandoned:
		return !e.Reopened
	}
	return false
}

// Events returns the job's events so far, in chain order, from FromBlock on.
func (c *Client) Events(ctx context.Context, jobID *big.Int) ([]Event, error) {
	return c.events(ctx, jobID, chain.EventRange{Start: c.FromBlock})
}

func (c *Client) events(ctx context.Context, jobID *big.Int, r chain.EventRange) ([]Event, error) {
	ev, err := c.market.FilterJobEvents(ctx, r, jobID)
	if err != nil {
		return nil, fmt.Errorf("sdk: events of job %s: %w", jobID, err)
	}
	var out []Event
	var n uint32
	for _, e := range ev.Posted {
		n = e.Request.NewTokens
		out = append(out, Posted{info(jobID, e.Raw), e.Request, e.InputURI})
	}
	if n == 0 && len(ev.Proved) > 0 {
		// The range starts after the posting: the request is in the job's JobPosted.
		req, _, err := c.request(ctx, jobID)
		if err != nil {
			return nil, err
		}
		n = req.NewTokens
	}
	for _, e := range ev.Locked {
		out = append(out, Locked{info(jobID, e.Raw), e.Provider, e.Stake, e.CommitBy})
	}
	for _, e := range ev.Committed {
		out = append(out, Committed{info(jobID, e.Raw), chain.CommitmentFromEvent(e), e.SeedBlock, e.ProveBy})
	}
	for _, e := range ev.SeedFixed {
		out = append(out, SeedFixed{info(jobID, e.Raw), e.Seed, e.ProveBy, e.Revealed})
	}
	for _, e := range ev.Proved {
		tokens, err := chain.ResultTokens(e.Result, n)
		if err != nil {
			return nil, fmt.Errorf("sdk: job %s's JobProved result: %w", jobID, err)
		}
		out = append(out, Proved{info(jobID, e.Raw), e.Provider, e.Seed, e.ResultDigest, tokens, e.ReceiptDigest, e.PayableAt})
	}
	for _, e := range ev.Rejected {
		out = append(out, Rejected{info(jobID, e.Raw)})
	}
	for _, e := range ev.Abandoned {
		out = append(out, Abandoned{info(jobID, e.Raw), e.Provider, e.Fee, e.Reopened})
	}
	for _, e := range ev.Settled {
		out = append(out, Settled{info(jobID, e.Raw), e.Provider, e.Price})
	}
	for _, e := range ev.Slashed {
		out = append(out, Slashed{info(jobID, e.Raw), e.Provider, e.Caller, e.Stake, e.Bounty})
	}
	for _, e := range ev.Cancelled {
		out = append(out, Cancelled{info(jobID, e.Raw)})
	}
	slices.SortStableFunc(out, func(a, b Event) int {
		x, y := a.Info(), b.Info()
		if c := cmp.Compare(x.BlockNumber, y.BlockNumber); c != 0 {
			return c
		}
		return cmp.Compare(x.index, y.index)
	})
	return out, nil
}

// request returns a job's request and job URI from its JobPosted event.
func (c *Client) request(ctx context.Context, jobID *big.Int) (chain.Request, string, error) {
	ev, err := c.market.FilterJobEvents(ctx, chain.EventRange{Start: c.FromBlock}, jobID)
	if err != nil {
		return chain.Request{}, "", fmt.Errorf("sdk: events of job %s: %w", jobID, err)
	}
	if len(ev.Posted) == 0 {
		return chain.Request{}, "", fmt.Errorf("%w: job %s has no JobPosted event from block %d", ErrNoJob, jobID, c.FromBlock)
	}
	return ev.Posted[0].Request, ev.Posted[0].InputURI, nil
}

// Watch yields the job's events in chain order, from FromBlock on, until a final one
// (Settled, Slashed, Cancelled, or an Abandoned that did not reopen):
//
//	for ev, err := range buyer.Watch(ctx, job.ID) {
//		if err != nil {
//			return err // the chain could not be read, or ctx ended before a final event
//		}
//		fmt.Printf("%T in block %d\n", ev, ev.Info().BlockNumber)
//	}
//
// An error is yielded once, with a nil event, and ends the watch. Watch polls logs every
// PollInterval, so it works over plain HTTP RPC as well as on a simulated chain; it only
// reads (Result also reveals the seed).
func (c *Client) Watch(ctx context.Context, jobID *big.Int) iter.Seq2[Event, error] {
	return func(yield func(Event, error) bool) {
		from := c.FromBlock
		for {
			head, err := c.backend.BlockNumber(ctx)
			if err != nil {
				yield(nil, fmt.Errorf("sdk: watching job %s: %w", jobID, err))
				return
			}
			if head >= from {
				evs, err := c.events(ctx, jobID, chain.EventRange{Start: from, End: &head})
				if err != nil {
					yield(nil, err)
					return
				}
				for _, e := range evs {
					if !yield(e, nil) || final(e) {
						return
					}
				}
				from = head + 1
			}
			if err := c.wait(ctx, "watching job "+jobID.String()); err != nil {
				yield(nil, err)
				return
			}
		}
	}
}
