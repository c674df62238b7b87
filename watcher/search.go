package watcher

import (
	"context"
	"fmt"
	"log/slog"
	"math/big"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"

	"github.com/probitylabs/probity/chain"
	"github.com/probitylabs/probity/commit"
	"github.com/probitylabs/probity/jobs"
)

// searchJob is a search of one withheld trace (settlement.md §10): the search itself, what
// the chain says of the job, and the next block to read TraceOpened logs from.
type searchJob struct {
	s    *jobs.Search
	req  chain.Request
	p    *Proved
	next uint64
	// seen are the data elements whose openings were read from the logs.
	seen map[string]bool
}

// searchStep moves a search on by one round: it adds the openings the chain has logged (the
// watcher's and anyone else's), enforces a data challenge of its own left unanswered, and
// when none of its own is open asks the search what to open next, or challenges the fault it
// names. Everything it needs is on chain, so a restarted watcher rebuilds the same search.
func (w *Watcher) searchStep(ctx context.Context, r *Record, sj *searchJob, log *slog.Logger) error {
	if err := w.readOpenings(ctx, sj, log); err != nil {
		return err
	}
	state, err := w.market.JobState(ctx, r.ID())
	if err != nil {
		return err
	}
	now, err := w.chainTime(ctx)
	if err != nil {
		return err
	}
	waiting := false
	for _, word := range r.Data {
		element, _ := new(big.Int).SetString(word, 10)
		c, err := w.market.ChallengeOf(ctx, r.ID(), element)
		if err != nil {
			return err
		}
		if chain.ChallengeState(c.State) != chain.ChallengeStateOpen {
			continue
		}
		switch {
		case state != chain.StateProved:
			res, err := w.market.Reclaim(ctx, sj.req, element)
			if err != nil {
				return err
			}
			r.gas("reclaim", res.GasUsed)
		case now > c.RespondBy:
			res, err := w.market.Enforce(ctx, sj.req, element)
			if err != nil {
				return err
			}
			r.gas("enforce", res.GasUsed)
			r.Element = word
			if res.Slashed != nil && res.Slashed.Bounty != nil {
				w.metrics.Bounties.Add(float64FromBig(res.Slashed.Bounty))
			}
			w.metrics.Challenges.WithLabelValues("data-upheld").Inc()
			delete(w.searches, r.JobID)
			log.Warn("data challenge upheld: the provider withheld its trace and would not open it; slashed", "tx", res.Receipt.TxHash)
			return w.withdrawAnd(ctx, r, StatusUpheld, "a data challenge went unanswered", log)
		default:
			waiting = true
		}
	}
	if state != chain.StateProved {
		delete(w.searches, r.JobID)
		return w.withdrawAnd(ctx, r, StatusClosed, fmt.Sprintf("the job left Proved (%s) during the search", state), log)
	}
	if waiting {
		return w.journal.Put(r)
	}
	// The window stays open one proveWindow after each data answer.
	until, err := w.market.DataUntil(ctx, r.ID())
	if err != nil {
		return err
	}
	r.PayableAt = max(r.PayableAt, until)
	f, asks, err := sj.s.Next()
	if err != nil {
		delete(w.searches, r.JobID)
		return w.conclude(r, StatusSkipped, fmt.Sprintf("search: %v", err), log)
	}
	if f != nil {
		delete(w.searches, r.JobID)
		r.Element, r.Reason = f.Element.Word().String(), f.Reason
		log.Warn("fault found in the withheld trace", "element", f.Element.String(), "reason", f.Reason, "dataChallenges", len(r.Data))
		return w.challenge(ctx, r, sj.req, sj.p, log)
	}
	if len(asks) == 0 {
		delete(w.searches, r.JobID)
		return w.conclude(r, StatusHonest, "the withheld trace differs from the job's only where no proof reads", log)
	}
	if closing, err := w.closing(ctx, r); err != nil {
		return err
	} else if closing {
		delete(w.searches, r.JobID)
		return w.conclude(r, StatusLate, fmt.Sprintf("the search needed %d more openings when the window closed", len(asks)), log)
	}
	bond, err := w.market.Bond(ctx)
	if err != nil {
		return err
	}
	if bond.Cmp(w.maxBond) > 0 {
		delete(w.searches, r.JobID)
		return w.conclude(r, StatusWithheld, fmt.Sprintf("the bond %s exceeds maxBond %s: the withheld trace is not searched", bond, w.maxBond), log)
	}
	for _, e := range asks {
		word := e.Word()
		if sj.seen[word.String()] {
			// The search has this opening: asking again would wait out the window for nothing.
			delete(w.searches, r.JobID)
			return w.conclude(r, StatusSkipped, fmt.Sprintf("the search asked again for %s, which the chain has opened (a watcher bug: report it)", e), log)
		}
		c, err := w.market.ChallengeOf(ctx, r.ID(), word)
		if err != nil {
			return err
		}
		if c.State != uint8(chain.ChallengeStateNone) {
			continue // another's, or answered and its opening not read yet
		}
		if len(r.Data) >= w.cfg.MaxDataChallenges {
			delete(w.searches, r.JobID)
			return w.conclude(r, StatusWithheld, fmt.Sprintf("the search reached maxDataChallenges (%d) without a fault", w.cfg.MaxDataChallenges), log)
		}
		if err := w.fundBond(ctx, bond); err != nil {
			return err
		}
		// Journaled before the transaction: a restart asks the chain whether it was mined.
		r.Data = append(r.Data, word.String())
		if err := w.journal.Put(r); err != nil {
			return err
		}
		res, err := w.market.Challenge(ctx, sj.req, sj.p.TraceRoot, sj.p.ResultDigest, word)
		if err != nil {
			return err
		}
		r.gas("challenge", res.GasUsed)
		w.metrics.Challenges.WithLabelValues("data-opened").Inc()
		log.Info("data challenge opened", "element", e.String(), "respondBy", res.Opened.RespondBy, "tx", res.Receipt.TxHash)
	}
	return w.journal.Put(r)
}

// readOpenings adds the job's TraceOpened logs since the last read to the search. An opening
// the contract accepted verifies here too (the same checks, one vector file); one that does
// not is logged and left out.
func (w *Watcher) readOpenings(ctx context.Context, sj *searchJob, log *slog.Logger) error {
	head, err := w.backend.BlockNumber(ctx)
	if err != nil {
		return err
	}
	for sj.next <= head {
		end := min(head, sj.next+chain.MaxLogRange-1)
		evs, err := w.market.FilterTraceOpened(ctx, chain.EventRange{Start: sj.next, End: &end}, sj.p.JobID)
		if err != nil {
			return err
		}
		for _, ev := range evs {
			e, err := jobs.ParseElement(ev.Element)
			if err == nil {
				var o *jobs.TraceOpening
				if o, err = openingOf(ev.Opening); err == nil {
					err = sj.s.Add(e, o)
				}
			}
			if err != nil {
				log.Error("an opening the contract accepted does not verify (report this)", "element", ev.Element, "err", err)
				continue
			}
			sj.seen[ev.Element.String()] = true
		}
		sj.next = end + 1
	}
	return nil
}

// openingOf is a logged opening in field form.
func openingOf(o chain.TraceOpening) (*jobs.TraceOpening, error) {
	var err error
	el := func(x *big.Int) fr.Element {
		e, ferr := commit.FromBig(x)
		if ferr != nil && err == nil {
			err = ferr
		}
		return e
	}
	els := func(xs []*big.Int) []fr.Element {
		out := make([]fr.Element, len(xs))
		for i, x := range xs {
			out[i] = el(x)
		}
		return out
	}
	out := &jobs.TraceOpening{Rows: o.Rows, Tensors: o.Tensors, Depth: o.Depth, TensorRoot: el(o.TensorRoot),
		RowRoot: el(o.RowRoot), ColRoot: el(o.ColRoot), TensorPath: els(o.TensorPath),
		TreeKind: o.TreeKind, TreeRows: o.TreeRows, TreeCols: o.TreeCols, TreeDepth: o.TreeDepth,
		TreeRoot: el(o.TreeRoot), Leaf: els(o.Leaf), Path: els(o.Path)}
	return out, err
}

// releaseData takes back the held bonds of the watcher's answered data challenges once their
// job has left Proved (a slashed job's come back to the watcher; a paid job's go to its
// provider, whoever releases them).
func (w *Watcher) releaseData(ctx context.Context, r *Record, log *slog.Logger) error {
	if len(r.Data) == 0 {
		return nil
	}
	if st, err := w.market.JobState(ctx, r.ID()); err != nil || st == chain.StateProved {
		return err
	}
	req, err := w.request(ctx, r)
	if err != nil {
		return err
	}
	for _, word := range r.Data {
		element, _ := new(big.Int).SetString(word, 10)
		c, err := w.market.ChallengeOf(ctx, r.ID(), element)
		if err != nil {
			return err
		}
		if chain.ChallengeState(c.State) != chain.ChallengeStateAnswered {
			continue
		}
		res, err := w.market.Release(ctx, req, element)
		if err != nil {
			return err
		}
		r.gas("release", res.GasUsed)
		log.Info("data challenge bond released", "to", res.Released.To, "bond", res.Released.Bond)
	}
	return nil
}
