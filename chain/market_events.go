package chain

import (
	"cmp"
	"context"
	"fmt"
	"math/big"
	"slices"

	"github.com/ethereum/go-ethereum/accounts/abi/bind/v2"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"

	"github.com/probitylabs/probity/contracts/bindings"
)

// Tx is a mined transaction of the client: its receipt, its gas, and every
// SLAManager, ClassRegistry and ChallengeManager event it emitted, decoded in
// log order.
type Tx struct {
	Receipt *types.Receipt
	// GasUsed is Receipt.GasUsed: what the transaction cost, for reporting gas per job.
	GasUsed uint64
	Events  Events
}

// Events are the events of one transaction, by kind, each kind in log order.
type Events struct {
	Posted    []*JobPosted
	Locked    []*JobLocked
	Committed []*JobCommitted
	SeedFixed []*SeedFixed
	Proved    []*JobProved
	Rejected  []*ProofRejected
	Skipped   []*SubmissionSkipped
	Settled   []*JobSettled
	Slashed   []*JobSlashed
	Abandoned []*JobAbandoned
	Cancelled []*JobCancelled
	Deposited []*Deposited
	Withdrawn []*Withdrawn

	ClassRegistered []*ClassRegistered
	ClassRetired    []*ClassRetired
	ModelRegistered []*ModelRegistered

	ChallengeOpened   []*ChallengeOpened
	ChallengeAnswered []*ChallengeAnswered
	ChallengeUpheld   []*ChallengeUpheld
	ChallengeVoided   []*ChallengeVoided
	TraceOpened       []*TraceOpened
	DataBondReleased  []*DataBondReleased
	BondSet           []*BondSet
	BondsWithdrawn    []*BondsWithdrawn
}

// eventDecoder decodes the logs of one deployment. Each bindings unpacker checks
// the log's topic against its event id, so a log is tried against each in turn;
// the first that accepts it wins.
type eventDecoder struct {
	manager, classes, challenges common.Address
	m                            *bindings.SLAManager
	c                            *bindings.ClassRegistry
	cm                           *bindings.ChallengeManager
}

// try unpacks l with unpack and appends the event to *dst when it matches.
func try[T any](l *types.Log, unpack func(*types.Log) (*T, error), dst *[]*T) bool {
	ev, err := unpack(l)
	if err != nil {
		return false
	}
	*dst = append(*dst, ev)
	return true
}

func (d *eventDecoder) decode(logs []*types.Log) Events {
	var e Events
	for _, l := range logs {
		switch l.Address {
		case d.manager:
			_ = try(l, d.m.UnpackJobPostedEvent, &e.Posted) ||
				try(l, d.m.UnpackJobLockedEvent, &e.Locked) ||
				try(l, d.m.UnpackJobCommittedEvent, &e.Committed) ||
				try(l, d.m.UnpackSeedFixedEvent, &e.SeedFixed) ||
				try(l, d.m.UnpackJobProvedEvent, &e.Proved) ||
				try(l, d.m.UnpackProofRejectedEvent, &e.Rejected) ||
				try(l, d.m.UnpackJobSettledEvent, &e.Settled) ||
				try(l, d.m.UnpackJobSlashedEvent, &e.Slashed) ||
				try(l, d.m.UnpackJobAbandonedEvent, &e.Abandoned) ||
				try(l, d.m.UnpackJobCancelledEvent, &e.Cancelled) ||
				try(l, d.m.UnpackDepositedEvent, &e.Deposited) ||
				try(l, d.m.UnpackWithdrawnEvent, &e.Withdrawn) ||
				d.skipped(l, &e.Skipped)
		case d.classes:
			_ = try(l, d.c.UnpackClassRegisteredEvent, &e.ClassRegistered) ||
				try(l, d.c.UnpackClassRetiredEvent, &e.ClassRetired) ||
				try(l, d.c.UnpackModelRegisteredEvent, &e.ModelRegistered)
		case d.challenges:
			_ = try(l, d.cm.UnpackChallengeOpenedEvent, &e.ChallengeOpened) ||
				try(l, d.cm.UnpackChallengeAnsweredEvent, &e.ChallengeAnswered) ||
				try(l, d.cm.UnpackChallengeUpheldEvent, &e.ChallengeUpheld) ||
				try(l, d.cm.UnpackChallengeVoidedEvent, &e.ChallengeVoided) ||
				try(l, d.cm.UnpackTraceOpenedEvent, &e.TraceOpened) ||
				try(l, d.cm.UnpackDataBondReleasedEvent, &e.DataBondReleased) ||
				try(l, d.cm.UnpackBondSetEvent, &e.BondSet) ||
				try(l, d.cm.UnpackWithdrawnEvent, &e.BondsWithdrawn)
		}
	}
	return e
}

func (d *eventDecoder) skipped(l *types.Log, dst *[]*SubmissionSkipped) bool {
	ev, err := d.m.UnpackSubmissionSkippedEvent(l)
	if err != nil {
		return false
	}
	*dst = append(*dst, newSkipped(ev))
	return true
}

func newSkipped(ev *bindings.SLAManagerSubmissionSkipped) *SubmissionSkipped {
	return &SubmissionSkipped{JobID: ev.JobId, Reason: DecodeRevertData(ev.Reason), Event: ev}
}

func (d *eventDecoder) tx(rcpt *types.Receipt) Tx {
	return Tx{Receipt: rcpt, GasUsed: rcpt.GasUsed, Events: d.decode(rcpt.Logs)}
}

// Outcome is how one submitted job ended in submit or submitBatch.
type Outcome uint8

// Outcomes of a submission (settlement.md §5).
const (
	// OutcomeSkipped: the job was left as it was (a batch member only).
	OutcomeSkipped Outcome = iota
	// OutcomeProved: the proof verified; the job is Proved or, with a zero
	// challenge window, Settled.
	OutcomeProved
	// OutcomeSlashed: the proof was rejected and the job slashed without bounty.
	OutcomeSlashed
)

func (o Outcome) String() string {
	switch o {
	case OutcomeSkipped:
		return "skipped"
	case OutcomeProved:
		return "proved"
	case OutcomeSlashed:
		return "slashed"
	}
	return fmt.Sprintf("Outcome(%d)", uint8(o))
}

// JobOutcome is one submitted job's outcome and the events that say so.
type JobOutcome struct {
	JobID   *big.Int
	Outcome Outcome
	// Proved is the JobProved event (OutcomeProved), and Tokens its result
	// unpacked with the request's NewTokens.
	Proved *JobProved
	Tokens []uint32
	// Settled is set when a proved job was paid in the same call (a zero challenge window).
	Settled *JobSettled
	// Rejected and Slashed are set for OutcomeSlashed.
	Rejected *ProofRejected
	Slashed  *JobSlashed
	// Skipped is set for OutcomeSkipped; Skipped.Reason says why.
	Skipped *SubmissionSkipped
}

// outcomes assigns a submission transaction's events to its submissions, in order.
// Each job's conclusions (proved, slashed or skipped) come in the order of its
// occurrences in the batch: a job named twice concludes at its first occurrence and
// is skipped at the second, and a job skipped before verification is skipped at
// every occurrence.
func outcomes(ev Events, ids []*big.Int, reqs []Request) ([]JobOutcome, error) {
	settled := byJob(ev.Settled, func(e *JobSettled) *big.Int { return e.JobId })
	slashed := byJob(ev.Slashed, func(e *JobSlashed) *big.Int { return e.JobId })
	type conclusion struct {
		index uint // log index: the order the manager concluded in
		o     JobOutcome
	}
	var all []conclusion
	for _, p := range ev.Proved {
		o := JobOutcome{JobID: p.JobId, Outcome: OutcomeProved, Proved: p, Settled: pop(settled, p.JobId)}
		all = append(all, conclusion{p.Raw.Index, o})
	}
	for _, r := range ev.Rejected {
		o := JobOutcome{JobID: r.JobId, Outcome: OutcomeSlashed, Rejected: r, Slashed: pop(slashed, r.JobId)}
		all = append(all, conclusion{r.Raw.Index, o})
	}
	for _, s := range ev.Skipped {
		all = append(all, conclusion{s.Event.Raw.Index, JobOutcome{JobID: s.JobID, Outcome: OutcomeSkipped, Skipped: s}})
	}
	slices.SortFunc(all, func(a, b conclusion) int { return cmp.Compare(a.index, b.index) })
	queue := map[string][]JobOutcome{}
	for _, c := range all {
		queue[c.o.JobID.String()] = append(queue[c.o.JobID.String()], c.o)
	}
	out := make([]JobOutcome, len(ids))
	for i, id := range ids {
		l := queue[id.String()]
		if len(l) == 0 {
			return nil, fmt.Errorf("%w: no outcome for job %v (submission %d)", ErrWrongEvent, id, i)
		}
		out[i], queue[id.String()] = l[0], l[1:]
		if out[i].Proved != nil {
			t, err := ResultTokens(out[i].Proved.Result, reqs[i].NewTokens)
			if err != nil {
				return nil, fmt.Errorf("job %v: %w", id, err)
			}
			out[i].Tokens = t
		}
	}
	return out, nil
}

// byJob groups events by job id, each group in log order.
func byJob[T any](evs []T, id func(T) *big.Int) map[string][]T {
	m := map[string][]T{}
	for _, e := range evs {
		m[id(e).String()] = append(m[id(e).String()], e)
	}
	return m
}

// pop removes and returns the first event of job id (nil when none is left).
func pop[T any](m map[string][]*T, id *big.Int) *T {
	l := m[id.String()]
	if len(l) == 0 {
		return nil
	}
	m[id.String()] = l[1:]
	return l[0]
}

// ---------------------------------------------------------------- log queries

// FilterJobPosted returns the JobPosted events in r (every job has one, carrying
// its request).
func (m *Market) FilterJobPosted(ctx context.Context, r EventRange) ([]*JobPosted, error) {
	it, err := bind.FilterEvents(m.d.Manager, &bind.FilterOpts{Context: ctx, Start: r.Start, End: r.End}, m.manager.UnpackJobPostedEvent)
	return collect(it, err)
}

// FilterJobProved returns the JobProved events in r: the results on chain.
func (m *Market) FilterJobProved(ctx context.Context, r EventRange) ([]*JobProved, error) {
	it, err := bind.FilterEvents(m.d.Manager, &bind.FilterOpts{Context: ctx, Start: r.Start, End: r.End}, m.manager.UnpackJobProvedEvent)
	return collect(it, err)
}

// FilterJobSlashed returns the JobSlashed events in r.
func (m *Market) FilterJobSlashed(ctx context.Context, r EventRange) ([]*JobSlashed, error) {
	it, err := bind.FilterEvents(m.d.Manager, &bind.FilterOpts{Context: ctx, Start: r.Start, End: r.End}, m.manager.UnpackJobSlashedEvent)
	return collect(it, err)
}

// FilterJobCommitted returns the JobCommitted events in r, of jobIDs only when
// any are given: each carries the commitment a submission or a committed slash
// must open (CommitmentFromEvent), for a caller that did not keep it.
func (m *Market) FilterJobCommitted(ctx context.Context, r EventRange, jobIDs ...*big.Int) ([]*JobCommitted, error) {
	it, err := bind.FilterEvents(m.d.Manager, &bind.FilterOpts{Context: ctx, Start: r.Start, End: r.End}, m.manager.UnpackJobCommittedEvent, jobTopics(jobIDs)...)
	return collect(it, err)
}

// jobTopics filters an event whose first indexed topic is the job id to jobIDs (any job when
// none are given).
func jobTopics(jobIDs []*big.Int) [][]any {
	if len(jobIDs) == 0 {
		return nil
	}
	ids := make([]any, len(jobIDs))
	for i, id := range jobIDs {
		ids[i] = id
	}
	return [][]any{ids}
}

// MaxLogRange is the most blocks one eth_getLogs query spans: RPC providers cap ranges, so
// long-running readers scan in ranges of at most this many blocks.
const MaxLogRange = 2000

// EventRange bounds a log query; End nil means the latest block.
type EventRange struct {
	Start uint64
	End   *uint64
}

func collect[T any](it *bind.EventIterator[T], err error) ([]*T, error) {
	if err != nil {
		return nil, fmt.Errorf("chain: filtering logs: %w", err)
	}
	defer it.Close()
	var out []*T
	for it.Next() {
		out = append(out, it.Value())
	}
	if err := it.Error(); err != nil {
		return nil, fmt.Errorf("chain: reading logs: %w", err)
	}
	return out, nil
}
