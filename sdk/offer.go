package sdk

import (
	"context"
	"fmt"
	"math/big"

	"github.com/probitylabs/probity/chain"
	"github.com/probitylabs/probity/jobs"
)

// The two ways a prepared job reaches the chain (settlement.md §2, §8): a signed offer in an
// order book, which a provider locks with lockRequest or lockAndCommit (the buyer sends no
// transaction; the escrow is taken at lock from its manager balance, else by transferFrom),
// or a post by the buyer, which any provider then locks.

// Offer signs the job's request (EIP-712 over the job id, chain.SignRequest's digest) and
// writes the offer into the file:// order book (jobs.WriteOffer: <jobId>.json and the book's
// index.json), after checking that the escrow can be taken at lock: the escrow balance covers
// the price, or the token balance and the allowance to the manager both do. Offers share the
// balance and the allowance, so a buyer with several open offers Deposits or Approves their
// sum (an offer whose escrow fails at lock is simply not locked). It sends no transaction.
func (c *Client) Offer(ctx context.Context, job *Job, book string) (*jobs.Offer, error) {
	if err := c.checkEscrow(ctx, job.Request.Price); err != nil {
		return nil, err
	}
	o, err := jobs.SignOffer(c.key, c.ChainID(), c.Addresses().Manager, ProtocolRequest(job.Request), job.JobURI)
	if err != nil {
		return nil, fmt.Errorf("sdk: %w", err)
	}
	// What a provider checks first; failing here means the offer would never be locked.
	now, err := c.Now(ctx)
	if err != nil {
		return nil, err
	}
	if _, err := o.Check(c.ChainID(), c.Addresses().Manager, now); err != nil {
		return nil, fmt.Errorf("sdk: %w", err)
	}
	if _, err := jobs.WriteOffer(book, o); err != nil {
		return nil, fmt.Errorf("sdk: %w", err)
	}
	job.Offer, job.Book = o, book
	return o, nil
}

// checkEscrow reports whether the manager can take price from the client at lock.
func (c *Client) checkEscrow(ctx context.Context, price *big.Int) error {
	me, manager := c.Address(), c.Addresses().Manager
	bal, err := c.market.EscrowBalanceOf(ctx, me)
	if err != nil {
		return wrap("reading the escrow balance", err)
	}
	if bal.Cmp(price) >= 0 {
		return nil
	}
	allowance, err := c.market.Allowance(ctx, me, manager)
	if err != nil {
		return wrap("reading the allowance", err)
	}
	tokens, err := c.market.TokenBalance(ctx, me)
	if err != nil {
		return wrap("reading the token balance", err)
	}
	if allowance.Cmp(price) >= 0 && tokens.Cmp(price) >= 0 {
		return nil
	}
	return &EscrowError{Price: price, Balance: bal, Allowance: allowance, Tokens: tokens}
}

// Post posts the job on chain with its job URI (JobPosted carries both) and escrows the price:
// from the escrow balance when it covers it, else by transferFrom, raising the allowance by the
// price first when it is short (so outstanding offers keep theirs).
func (c *Client) Post(ctx context.Context, job *Job) (*Posted, error) {
	me, manager := c.Address(), c.Addresses().Manager
	bal, err := c.market.EscrowBalanceOf(ctx, me)
	if err != nil {
		return nil, wrap("reading the escrow balance", err)
	}
	if bal.Cmp(job.Request.Price) < 0 {
		allowance, err := c.market.Allowance(ctx, me, manager)
		if err != nil {
			return nil, wrap("reading the allowance", err)
		}
		if allowance.Cmp(job.Request.Price) < 0 {
			if err := c.Approve(ctx, new(big.Int).Add(allowance, job.Request.Price)); err != nil {
				return nil, err
			}
		}
	}
	r, err := c.market.Post(ctx, job.Request, job.JobURI)
	if err != nil {
		return nil, wrap("posting job "+job.ID.String(), err)
	}
	if r.JobID.Cmp(job.ID) != 0 {
		return nil, fmt.Errorf("sdk: the manager posted job %s, the request's id is %s", r.JobID, job.ID)
	}
	return &Posted{info(job.ID, r.Posted.Raw), r.Posted.Request, r.Posted.InputURI}, nil
}

// Cancel cancels the job while nobody has locked it: an open (posted) job's escrow is credited
// back (Withdraw), and a signed offer is revoked on chain, so no provider can lock it any
// more, then removed from its order book. It fails with *WrongStateError once the job is
// locked. Only the buyer may.
func (c *Client) Cancel(ctx context.Context, job *Job) (*Cancelled, error) {
	r, err := c.market.Cancel(ctx, job.Request)
	if err != nil {
		return nil, wrap("cancelling job "+job.ID.String(), err)
	}
	if job.Book != "" {
		if err := jobs.RemoveOffer(job.Book, job.ID); err != nil {
			return nil, fmt.Errorf("sdk: job %s is cancelled on chain, but its offer stays in the book: %w", job.ID, err)
		}
	}
	return &Cancelled{info(job.ID, r.Cancelled.Raw)}, nil
}

// Slash slashes a job whose provider missed its deadline (anyone may, for the bounty): locked
// and not committed by its commit deadline, committed and not proved by its proof deadline,
// or committed with a seed no longer derivable. The buyer is credited the price and the stake
// less the bounty (Withdraw). It reads the request and, for a committed job, the commitment
// from the job's events; it fails with *DeadlineNotPassedError while the deadline holds.
func (c *Client) Slash(ctx context.Context, jobID *big.Int) (*Slashed, error) {
	evs, err := c.Events(ctx, jobID)
	if err != nil {
		return nil, err
	}
	var req *chain.Request
	var com chain.Commitment
	for _, e := range evs {
		switch e := e.(type) {
		case Posted:
			req = &e.Request
		case Committed:
			com = e.Commitment
		}
	}
	if req == nil {
		return nil, fmt.Errorf("%w: job %s has no JobPosted event from block %d", ErrNoJob, jobID, c.FromBlock)
	}
	r, err := c.market.Slash(ctx, *req, com)
	if err != nil {
		return nil, wrap("slashing job "+jobID.String(), err)
	}
	ev := r.Slashed
	return &Slashed{info(jobID, ev.Raw), ev.Provider, ev.Caller, ev.Stake, ev.Bounty}, nil
}
