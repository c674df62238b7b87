package proverv1

import (
	"context"
	"errors"
	"fmt"

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
	old := r.Step
	lost := func(why string) { r.Step, r.Reason = StepLost, why }
	mine := func() (bool, error) {
		p, _, err := n.market.HolderOf(ctx, r.ID())
		return p == n.Address(), err
	}
	switch st := chain.JobStateV1(job.State); st {
	case chain.StateV1None:
		if r.Source == FromPosted {
			return false, permanent{errors.New("a posted job unknown to the chain")}
		}
		if !r.Step.Before(StepCommitted) {
			return false, permanent{fmt.Errorf("journal says %s but the chain has no such job", r.Step)}
		}
	case chain.StateV1Open:
		if !r.Step.Before(StepLocked) || r.Source == FromOffer {
			lost("the job is Open again")
		}
	case chain.StateV1Cancelled:
		lost("cancelled by the buyer")
	case chain.StateV1Locked:
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
		}
	case chain.StateV1Committed:
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
		if h, err := chain.HashCommitmentV1(c); err != nil || h != job.Holder {
			return false, permanent{fmt.Errorf("the chain holds another commitment than the journaled one (%v)", err)}
		}
		if job.Flags&chain.JobFlagSeedFixed != 0 {
			if r.Step == StepCommitted {
				r.Step, r.Seed = StepSeeded, word(job.Seed)
			}
			r.SeedFixed, r.ProveBy = true, job.Deadline.Uint64()
		}
	case chain.StateV1Proved, chain.StateV1Settled:
		if st == chain.StateV1Proved {
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
		if st == chain.StateV1Settled && r.Step == StepSubmitted {
			r.Step = StepSettled
		}
	case chain.StateV1Slashed:
		if r.Step.Before(StepLocked) || (r.Source == FromOffer && r.Step.Before(StepCommitted)) {
			lost("slashed (another provider's job)")
			break
		}
		r.Step, r.Reason = StepSlashed, "slashed on chain"
	}
	return r.Step != old, nil
}

// committedEvent finds the job's JobCommitted event from the block the job was accepted at.
func (n *Node) committedEvent(ctx context.Context, r *Record) (*chain.JobCommittedV1, error) {
	evs, err := n.market.FilterJobCommittedV1(ctx, chain.EventRange{Start: r.FromBlock}, r.ID())
	if err != nil {
		return nil, err
	}
	if len(evs) == 0 {
		return nil, fmt.Errorf("no JobCommitted event for a committed job since block %d", r.FromBlock)
	}
	return evs[len(evs)-1], nil
}

// provedEvent finds the job's JobProved event from the block the job was accepted at.
func (n *Node) provedEvent(ctx context.Context, r *Record) (*chain.JobProvedV1, error) {
	evs, err := n.market.FilterJobProvedV1(ctx, chain.EventRange{Start: r.FromBlock})
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
