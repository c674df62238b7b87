package prover

import (
	"context"
	"errors"
	"fmt"

	"github.com/ethereum/go-ethereum"

	"github.com/probitylabs/probity/chain"
)

// reconcile moves r to where the chain says the job is, for what the node did that the
// journal missed (a crash after a transaction, before the journal write) and for what others
// did (another provider's lock, the buyer's cancel, a slash). It reports whether r changed;
// the chain is the truth about the job's state, the journal about what the node holds.
func (n *Node) reconcile(ctx context.Context, r *Record) (bool, error) {
	job, err := n.market.GetJob(ctx, r.ID())
	if err != nil {
		return false, err
	}
	old, oldSeed, oldBlock := r.Step, r.Seed, r.SeedBlock
	lost := func(why string) { r.Step, r.Reason = StepLost, why }
	mine := func() (bool, error) {
		p, _, err := n.market.HolderOf(ctx, r.ID())
		return p == n.Address(), err
	}
	switch st := chain.JobState(job.State); st {
	case chain.StateNone:
		if r.Source == FromPosted {
			return false, permanent{errors.New("a posted job unknown to the chain")}
		}
		if !r.Step.Before(StepCommitted) {
			// Our lockAndCommit was mined, then a reorganisation dropped its block.
			switch fate, err := n.ownTx(ctx, r, "lockAndCommit"); {
			case err != nil:
				return false, err
			case fate == txPending:
				return false, errReorgPending("lockAndCommit")
			case fate == txGone && !r.Step.After(StepProved):
				// Dropped for good: nothing is committed, the trace is still ours to commit.
				n.log.Warn("lockAndCommit dropped by a reorganisation; committing again", "job", r.JobID)
				r.Step, r.Seed, r.Proof, r.SeedFixed, r.SeedBlock, r.ProveBy = StepExecuted, "", nil, false, 0, 0
			default:
				return false, permanent{fmt.Errorf("journal says %s but the chain has no such job", r.Step)}
			}
		}
	case chain.StateOpen:
		if !r.Step.Before(StepLocked) && r.Source == FromPosted && r.Step.Before(StepCommitted) {
			// Our lock was mined, then a reorganisation dropped its block: wait for it to be
			// mined again, or lock again when it is gone.
			fate, err := n.ownTx(ctx, r, "lock")
			if err != nil {
				return false, err
			}
			if fate == txPending {
				return false, errReorgPending("lock")
			}
			if fate == txGone {
				n.log.Warn("lock dropped by a reorganisation; locking again", "job", r.JobID)
				r.Step, r.LockedStake, r.CommitBy = StepAccepted, "", 0
				break
			}
		}
		if !r.Step.Before(StepLocked) || r.Source == FromOffer {
			lost("the job is Open again")
		}
	case chain.StateCancelled:
		lost("cancelled by the buyer")
	case chain.StateLocked:
		ok, err := mine()
		if err != nil {
			return false, err
		}
		switch {
		case !ok:
			lost("locked by another provider")
		case r.Source == FromOffer:
			return false, permanent{errors.New("an offer locked without its commitment")}
		case r.Step == StepAccepted:
			// Locked before the journal knew it.
			_, stake, err := n.market.HolderOf(ctx, r.ID())
			if err != nil {
				return false, err
			}
			r.Step, r.LockedStake, r.CommitBy = StepLocked, stake.String(), job.Deadline.Uint64()
		case !r.Step.Before(StepCommitted) && r.Step.Before(StepSubmitted):
			// Our commit was mined, then a reorganisation dropped its block.
			fate, err := n.ownTx(ctx, r, "commit")
			if err != nil {
				return false, err
			}
			if fate != txGone {
				// Pending again, or mined in a block this read did not see yet: wait.
				return false, errReorgPending("commit")
			}
			n.log.Warn("commit dropped by a reorganisation; committing again", "job", r.JobID)
			r.Step, r.Seed, r.Proof, r.SeedFixed, r.SeedBlock, r.ProveBy = StepExecuted, "", nil, false, 0, 0
		}
	case chain.StateCommitted:
		if r.Step.Before(StepCommitted) {
			ev, err := n.committedEvent(ctx, r)
			if err != nil {
				return false, err
			}
			if ev.Provider != n.Address() {
				lost("committed by " + ev.Provider.Hex())
				break
			}
			if r.Step != StepExecuted {
				return false, permanent{errors.New("the chain holds this node's commitment but the journal has no trace for it")}
			}
			if word(ev.TraceRoot) != r.TraceRoot || ev.AttestationDigest != r.AttestationDigest {
				return false, permanent{fmt.Errorf("committed trace root %s differs from the journaled %s", word(ev.TraceRoot), r.TraceRoot)}
			}
			n.committed(r, ev)
			r.Step = StepCommitted
			break
		}
		c, err := n.commitment(r)
		if err != nil {
			return false, err
		}
		if h, err := chain.HashCommitment(c); err != nil || h != job.Holder {
			return false, permanent{fmt.Errorf("the chain holds another commitment than the journaled one (%v)", err)}
		}
		if sb := job.SeedBlock.Uint64(); sb != r.SeedBlock && r.Step.Before(StepSubmitted) {
			// The commit was mined again in another block after a reorganisation: another seed
			// block, so another seed.
			n.log.Warn("the seed block moved (reorganisation); waiting for the new seed", "job", r.JobID, "was", r.SeedBlock, "now", sb)
			n.reseed(r, job)
			r.Step = StepCommitted
		}
		if job.Flags&chain.JobFlagSeedFixed != 0 {
			switch {
			case r.Step == StepCommitted:
				r.Step, r.Seed = StepSeeded, word(job.Seed)
			case (r.Step == StepSeeded || r.Step == StepProved) && r.Seed != word(job.Seed):
				// The stored seed is not the one journaled (a reorganisation replaced the
				// derived seed before it was fixed): a proof of the journaled one would be
				// slashed, so prove the stored one.
				n.log.Warn("the chain's stored seed is not the journaled one; proving again", "job", r.JobID, "journaled", r.Seed, "chain", word(job.Seed))
				r.Step, r.Seed, r.Proof = StepSeeded, word(job.Seed), nil
			}
			r.SeedFixed, r.ProveBy = true, job.Deadline.Uint64()
		}
	case chain.StateProved, chain.StateSettled:
		if st == chain.StateProved {
			if ok, err := mine(); err != nil || !ok {
				if err != nil {
					return false, err
				}
				lost("proved by another provider")
				break
			}
		}
		if r.Step.Before(StepProved) {
			lost(fmt.Sprintf("%v without this node's proof", st))
			break
		}
		if r.Step == StepProved {
			// Submitted before the journal knew it: the event has what the node records.
			ev, err := n.provedEvent(ctx, r)
			if err != nil {
				return false, err
			}
			if ev.Provider != n.Address() {
				lost("proved by " + ev.Provider.Hex())
				break
			}
			if err := n.proved(ctx, r, ev, n.log.With("job", r.JobID)); err != nil {
				return false, err
			}
			r.Step = StepSubmitted
			break
		}
		if st == chain.StateSettled && r.Step == StepSubmitted {
			r.Step = StepSettled
		}
	case chain.StateSlashed:
		if r.Step.Before(StepLocked) || (r.Source == FromOffer && r.Step.Before(StepCommitted)) {
			lost("slashed (another provider's job)")
			break
		}
		r.Step, r.Reason = StepSlashed, "slashed on chain"
	}
	return r.Step != old || r.Seed != oldSeed || r.SeedBlock != oldBlock, nil
}

// errReorgPending: the node's own transaction was mined and its block then reorganised away;
// it waits in the pool to be mined again, and the job waits for it (a retried step) rather
// than being called lost or failed.
func errReorgPending(kind string) error {
	return fmt.Errorf("our %s transaction is pending again after a reorganisation; waiting for it", kind)
}

// txFate is where the node's own journaled transaction is now.
type txFate int

const (
	txMined   txFate = iota // in the canonical chain (or not journaled: nothing to wait for)
	txPending               // back in the pool after a reorganisation dropped its block
	txGone                  // unknown to the endpoint: dropped for good
)

// ownTx reports the fate of the journaled transaction of kind.
func (n *Node) ownTx(ctx context.Context, r *Record, kind string) (txFate, error) {
	h, ok := r.Txs[kind]
	if !ok {
		return txMined, nil
	}
	txs, ok := n.raw.(chain.TxByHash)
	if !ok {
		return txMined, nil
	}
	_, pending, err := txs.TransactionByHash(ctx, h)
	switch {
	case errors.Is(err, ethereum.NotFound):
		return txGone, nil
	case err != nil:
		return txMined, err
	case pending:
		return txPending, nil
	}
	return txMined, nil
}

// committedEvent finds the job's JobCommitted event from the block the job was accepted at.
func (n *Node) committedEvent(ctx context.Context, r *Record) (*chain.JobCommitted, error) {
	evs, err := n.market.FilterJobCommitted(ctx, chain.EventRange{Start: r.FromBlock}, r.ID())
	if err != nil {
		return nil, err
	}
	if len(evs) == 0 {
		return nil, fmt.Errorf("no JobCommitted event for a committed job since block %d", r.FromBlock)
	}
	return evs[len(evs)-1], nil
}

// provedEvent finds the job's JobProved event from the block the job was accepted at.
func (n *Node) provedEvent(ctx context.Context, r *Record) (*chain.JobProved, error) {
	evs, err := n.market.FilterJobProved(ctx, chain.EventRange{Start: r.FromBlock})
	if err != nil {
		return nil, err
	}
	for _, ev := range evs {
		if ev.JobId.Cmp(r.ID()) == 0 {
			return ev, nil
		}
	}
	return nil, fmt.Errorf("no JobProved event for a proved job since block %d", r.FromBlock)
}
