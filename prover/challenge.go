package prover

import (
	"context"
	"fmt"
	"log/slog"
	"math/big"
	"net/http"
	"os"
	"time"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"

	"github.com/probitylabs/probity/chain"
	"github.com/probitylabs/probity/circuits/universal"
	"github.com/probitylabs/probity/commit"
	"github.com/probitylabs/probity/jobs"
)

// publishTrace delivers the committed trace next to the job URI (specs/trace.md §8) before
// the proof is submitted: a job with a challenge window can be challenged only by a watcher
// that has it, and a provider that withholds it risks what settlement.md says of withheld
// data. Published once; a failure is logged and retried at the next attempt, never a reason
// to miss the prove deadline.
func (n *Node) publishTrace(ctx context.Context, r *Record, log *slog.Logger) {
	if r.Request.ChallengeWindow == 0 || r.TracePublished {
		return
	}
	if n.cfg.Falsify == FalsifyWithhold {
		log.Warn("DEMO ONLY: withholding the committed trace")
		return
	}
	b, err := os.ReadFile(r.TracePath)
	if err == nil {
		var root *big.Int
		if root, err = unword(r.TraceRoot); err == nil {
			err = n.fetch.Publish(ctx, func(ctx context.Context, c *http.Client) error {
				return jobs.PublishTrace(ctx, c, r.JobURI, root, b)
			})
		}
	}
	if err != nil {
		log.Error("publishing the committed trace failed; watchers cannot check the job", "err", err)
		return
	}
	r.TracePublished = true
	log.Info("published the committed trace", "bytes", len(b))
}

// challengeScan is what settle keeps between polls about a proved job's challenges: the
// next block to scan for ChallengeOpened (in ranges an RPC accepts), the challenges seen, and
// when a failed answer may be tried again.
type challengeScan struct {
	next  uint64
	seen  []*chain.ChallengeOpened
	retry map[string]time.Time
	tries map[string]int
	// checked and gen are the committed trace read back once (loadGenerated re-reads and
	// recommits every tensor), shared by every answer of the job.
	checked *jobs.Checked
	gen     *jobs.Generated
	opener  *jobs.Opener // the committed trees, for data challenges
}

// generated reads the committed trace back on the first answer and keeps it.
func (sc *challengeScan) generated(n *Node, r *Record) (*jobs.Checked, *jobs.Generated, error) {
	if sc.gen == nil {
		c, g, err := n.loadGenerated(r)
		if err != nil {
			return nil, nil, fmt.Errorf("the committed trace cannot be read back to answer a challenge: %w", err)
		}
		sc.checked, sc.gen = c, g
	}
	return sc.checked, sc.gen, nil
}

// openerFor builds the committed trace's trees on the first data challenge and keeps them.
func (sc *challengeScan) openerFor(n *Node, r *Record) (*jobs.Opener, error) {
	if sc.opener == nil {
		c, g, err := sc.generated(n, r)
		if err != nil {
			return nil, err
		}
		if sc.opener, err = jobs.NewOpener(c.Model, g); err != nil {
			return nil, fmt.Errorf("committing the trace's trees to open them: %w", err)
		}
	}
	return sc.opener, nil
}

func newChallengeScan(from uint64) *challengeScan {
	return &challengeScan{next: from, retry: map[string]time.Time{}, tries: map[string]int{}}
}

// answerChallenges answers every open challenge of a proved job with a targeted proof of its
// element (specs/circuit.md §5), in the order they were opened, which is their deadlines'
// (settlement.md §10: one proveWindow apart). The honest trace has a proof for every
// canonical element, those that name nothing included, so an honest node never loses a
// challenge it answers in time. A failed answer never fails the job: it is logged, the other
// challenges are still answered, and it is tried again with backoff until its deadline. It
// returns how many of the job's challenges are still open on chain.
func (n *Node) answerChallenges(ctx context.Context, r *Record, sc *challengeScan, log *slog.Logger) (int, error) {
	head, err := n.backend.BlockNumber(ctx)
	if err != nil {
		return 0, err
	}
	for sc.next <= head {
		end := min(head, sc.next+chain.MaxLogRange-1)
		evs, err := n.market.FilterChallengeOpened(ctx, chain.EventRange{Start: sc.next, End: &end}, r.ID())
		if err != nil {
			return 0, err
		}
		sc.seen = append(sc.seen, evs...)
		sc.next = end + 1
	}
	open := 0
	for _, ev := range sc.seen {
		c, err := n.market.ChallengeOf(ctx, r.ID(), ev.Element)
		if err != nil {
			return 0, err
		}
		if chain.ChallengeState(c.State) != chain.ChallengeStateOpen {
			continue
		}
		open++
		key := ev.Element.String()
		if time.Now().Before(sc.retry[key]) {
			continue
		}
		e, err := jobs.ParseElement(ev.Element)
		if err != nil {
			return 0, fmt.Errorf("a challenge the manager accepted: %w", err) // not reached
		}
		clog := log.With("element", e.String(), "challenger", ev.Challenger, "respondBy", c.RespondBy)
		clog.Warn("challenged; answering")
		if err := n.answer(ctx, r, sc, e, c.RespondBy, clog); err != nil {
			if ctx.Err() != nil {
				return 0, err
			}
			sc.tries[key]++
			wait := min(time.Second<<min(sc.tries[key], 6), time.Minute)
			sc.retry[key] = time.Now().Add(wait)
			n.metrics.Answers.WithLabelValues("failed").Inc()
			clog.Error("could not answer the challenge; trying again", "err", err, "in", wait, "tries", sc.tries[key])
			continue
		}
		n.metrics.Answers.WithLabelValues("answered").Inc()
		open--
	}
	return open, nil
}

// answer proves one element, or opens one data element, and sends the answer.
func (n *Node) answer(ctx context.Context, r *Record, sc *challengeScan, e jobs.Element, respondBy uint64, log *slog.Logger) error {
	if e.IsData() {
		return n.answerData(ctx, r, sc, e, log)
	}
	cl, err := n.class(r)
	if err != nil {
		return err
	}
	keys, err := n.keysFor(universal.TargetedClass{Class: cl})
	if err != nil {
		return err
	}
	c, g, err := sc.generated(n, r)
	if err != nil {
		return err
	}
	var p *universal.Proof
	t0 := time.Now()
	err = n.heavy(ctx, respondBy, func() error {
		a, err := universal.AssignTargeted(cl, c.Model, g.Trace, c.Job, g.Tokens, e)
		if err == nil {
			p, err = universal.ProveTargeted(keys, a)
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("cannot prove challenged element %s of the committed trace: %w", e, err)
	}
	// A proof the contract would refuse costs an answer's gas and saves nothing.
	if err := universal.VerifyTargeted(keys.VK, p.Groth16, p.Public); err != nil {
		return fmt.Errorf("the targeted proof of %s does not verify: %w", e, err)
	}
	d := time.Since(t0)
	n.metrics.StepSeconds.WithLabelValues("answer").Observe(d.Seconds())
	traceRoot, err := unword(r.TraceRoot)
	if err != nil {
		return err
	}
	resultDigest, err := unword(r.ResultDigest)
	if err != nil {
		return err
	}
	res, err := n.market.Answer(ctx, r.Request.Request, traceRoot, resultDigest, e.Word(), proofWords(p.Solidity[:]))
	if err != nil {
		return err
	}
	n.gas(r, "answer", &res.Tx)
	log.Info("answered the challenge", "proveMs", d.Milliseconds(), "bond", res.Answered.Bond)
	return nil
}

// answerData answers a data challenge (settlement.md §10) with the opening of the named node
// of the committed trace: no proof, only hashes the contract recomputes. An honest node has an
// opening for every canonical data element, one that names nothing included.
func (n *Node) answerData(ctx context.Context, r *Record, sc *challengeScan, e jobs.Element, log *slog.Logger) error {
	op, err := sc.openerFor(n, r)
	if err != nil {
		return err
	}
	o, err := op.Open(e)
	if err != nil {
		return fmt.Errorf("cannot open %s of the committed trace: %w", e, err)
	}
	_, g, err := sc.generated(n, r)
	if err != nil {
		return err
	}
	// An opening the contract would refuse costs an answer's gas and saves nothing.
	if _, err := o.Verify(g.TraceRoot, g.JobDigest, e); err != nil {
		return err
	}
	res, err := n.market.AnswerData(ctx, r.Request.Request, commit.ToBig(g.TraceRoot), commit.ToBig(g.ResultDigest), e.Word(), openingWords(o))
	if err != nil {
		return err
	}
	n.gas(r, "answerData", &res.Tx)
	log.Info("opened the committed trace for a data challenge", "bond", res.Answered.Bond, "leafWords", len(o.Leaf))
	return nil
}

// openingWords is an opening in the contract's form.
func openingWords(o *jobs.TraceOpening) chain.TraceOpening {
	words := func(es []fr.Element) []*big.Int {
		out := make([]*big.Int, len(es))
		for i, e := range es {
			out[i] = commit.ToBig(e)
		}
		return out
	}
	return chain.TraceOpening{Rows: o.Rows, Tensors: o.Tensors, Depth: o.Depth, TensorRoot: commit.ToBig(o.TensorRoot),
		RowRoot: commit.ToBig(o.RowRoot), ColRoot: commit.ToBig(o.ColRoot), TensorPath: words(o.TensorPath),
		TreeKind: o.TreeKind, TreeRows: o.TreeRows, TreeCols: o.TreeCols, TreeDepth: o.TreeDepth,
		TreeRoot: commit.ToBig(o.TreeRoot), Leaf: words(o.Leaf), Path: words(o.Path)}
}
