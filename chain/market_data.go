package chain

import (
	"context"
	"math/big"

	"github.com/ethereum/go-ethereum/accounts/abi/bind/v2"
)

// Data challenges (specs/settlement.md §10): a data element (kinds 4 to 6) is
// challenged with Challenge like any element and answered with AnswerData, an
// opening of the named node of the committed trace that the manager checks and
// emits (TraceOpened), so a watcher reads a trace its provider did not publish.

// DataAnswerResult is a data challenge answered with an opening.
type DataAnswerResult struct {
	Tx
	Answered *ChallengeAnswered
	Opened   *TraceOpened
}

// AnswerData answers an open data challenge with the opening of its node; the
// bond goes to the job's provider whoever sends it. An opening that does not
// open the anchored trace root reverts InvalidOpening.
func (m *Market) AnswerData(ctx context.Context, req Request, traceRoot, resultDigest, element *big.Int, o TraceOpening) (*DataAnswerResult, error) {
	cm, err := m.challengeContract(ctx)
	if err != nil {
		return nil, err
	}
	tx, err := m.transact(ctx, cm, m.cm.PackAnswerData(req, traceRoot, resultDigest, element, o))
	if err != nil {
		return nil, err
	}
	answered, err := one(tx, tx.Events.ChallengeAnswered)
	if err != nil {
		return nil, err
	}
	opened, err := one(tx, tx.Events.TraceOpened)
	if err != nil {
		return nil, err
	}
	return &DataAnswerResult{Tx: *tx, Answered: answered, Opened: opened}, nil
}

// DataUntil returns the time until which a job's data answers keep its window
// open (0 when none): a challenge may be opened while the chain's time is at
// most the later of this and the job's payableAt.
func (m *Market) DataUntil(ctx context.Context, jobID *big.Int) (uint64, error) {
	cm, err := m.challengeContract(ctx)
	if err != nil {
		return 0, err
	}
	out, err := m.call(ctx, cm, m.cm.PackDataUntilOf(jobID))
	if err != nil {
		return 0, err
	}
	return m.cm.UnpackDataUntilOf(out)
}

// FilterTraceOpened returns the TraceOpened events in r, of jobIDs only when any
// are given: the openings of withheld traces that data challenges put on chain.
func (m *Market) FilterTraceOpened(ctx context.Context, r EventRange, jobIDs ...*big.Int) ([]*TraceOpened, error) {
	if _, err := m.challengeContract(ctx); err != nil {
		return nil, err
	}
	it, err := bind.FilterEvents(m.d.Challenges, &bind.FilterOpts{Context: ctx, Start: r.Start, End: r.End}, m.cm.UnpackTraceOpenedEvent, jobTopics(jobIDs)...)
	return collect(it, err)
}

// DataReleaseResult is the held bond of an answered data challenge, released.
type DataReleaseResult struct {
	Tx
	Released *DataBondReleased
}

// Release moves the bond of an answered data challenge, held until the job's fate
// is known: to the job's provider once it was paid, back to the challenger once it
// was slashed (anyone may call; each moves once). While the job is Proved it
// reverts JobStillProved.
func (m *Market) Release(ctx context.Context, req Request, element *big.Int) (*DataReleaseResult, error) {
	cm, err := m.challengeContract(ctx)
	if err != nil {
		return nil, err
	}
	tx, err := m.transact(ctx, cm, m.cm.PackRelease(req, element))
	if err != nil {
		return nil, err
	}
	ev, err := one(tx, tx.Events.DataBondReleased)
	if err != nil {
		return nil, err
	}
	return &DataReleaseResult{Tx: *tx, Released: ev}, nil
}
