package prover_test

import (
	"context"
	"math/big"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/probitylabs/probity/chain"
	"github.com/probitylabs/probity/jobs"
	"github.com/probitylabs/probity/protocol"
	"github.com/probitylabs/probity/prover"
)

// TestUnfundedOfferNotExecuted (review H3): an offer signed by a key with no tokens, no
// allowance and no escrow passes every check of the node's own; the node simulates its
// lockAndCommit from the provider before executing, the manager refuses it, and the node
// refuses the offer without spending its compute on it.
func TestUnfundedOfferNotExecuted(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	w := newWorld(t, ctx, 1)
	j := w.job(t, []int32{1, 2, 3}, 8)
	req := w.request(t, ctx, j, tokens(10), 0)
	poor := key(t)
	req.Buyer = addr(poor)
	o, err := jobs.SignOffer(poor, w.buyer.Sender().ChainID(), w.d.Addresses.Manager, protocol.Request{Buyer: req.Buyer,
		ClassID: req.ClassId, ModelRoot: req.ModelRoot, JobDigest: req.JobDigest, NewTokens: req.NewTokens, Price: req.Price,
		LockBy: req.LockBy, ExecWindow: req.ExecWindow, ProveWindow: req.ProveWindow, ChallengeWindow: req.ChallengeWindow,
		SeedCommitment: req.SeedCommitment, Salt: req.Salt}, j.uri)
	if err != nil {
		t.Fatal(err)
	}
	id, _ := o.JobID()
	n := w.node(t, ctx, w.provs[0], w.config(t, t.TempDir(), w.head(t, ctx)), nil)
	n.Consider(o)
	r := runUntil(t, ctx, n, 2*time.Minute, id)[0]
	if r.Step != prover.StepRefused || !strings.Contains(r.Reason, "lock-simulation") {
		t.Fatalf("unfunded offer ended %s (%s); want refused by the lock simulation", r.Step, r.Reason)
	}
	if r.TraceRoot != "" || r.Timings["executeMs"] != 0 {
		t.Errorf("the node executed the unfunded offer (trace root %q, timings %v)", r.TraceRoot, r.Timings)
	}
	if st, _ := w.keeper.JobState(ctx, id); st != chain.StateNone {
		t.Errorf("chain state %v, want none", st)
	}
}

// TestOffersCappedPerBuyer (review H3): with MaxUnlockedPerBuyer 1, a buyer's second offer is
// not accepted while the first executes unlocked; it is taken once the first is committed,
// and both are paid.
func TestOffersCappedPerBuyer(t *testing.T) {
	testOffersCapped(t, false, func(c *prover.Config) { c.MaxUnlockedPerBuyer, c.MaxUnlockedOffers = 1, 4 })
}

// TestOffersCappedOverall (review H3): with MaxUnlockedOffers 1, two buyers' offers are not
// executed unlocked at once either.
func TestOffersCappedOverall(t *testing.T) {
	testOffersCapped(t, true, func(c *prover.Config) { c.MaxUnlockedPerBuyer, c.MaxUnlockedOffers = 2, 1 })
}

// testOffersCapped offers two jobs (of one buyer, or of two when twoBuyers) to a node with
// the caps set by caps, and checks that neither was accepted while the other executed unlocked.
func testOffersCapped(t *testing.T, twoBuyers bool, caps func(*prover.Config)) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	w := newWorld(t, ctx, 1)
	var ids []*big.Int
	var offers []*jobs.Offer
	for i := range 2 {
		j := w.job(t, []int32{int32(i + 2), 3}, 6)
		req := w.request(t, ctx, j, tokens(2), 0)
		o, id := w.offer(t, req, j.uri)
		if twoBuyers && i == 1 {
			o, id = w.otherBuyerOffer(t, req, j.uri)
		}
		offers, ids = append(offers, o), append(ids, id)
	}
	cfg := w.config(t, t.TempDir(), w.head(t, ctx))
	caps(&cfg)
	var mu sync.Mutex
	var overlap []string
	var n *prover.Node
	hook := func(jobID *big.Int, step prover.Step) error {
		if step != prover.StepExecuted {
			return nil
		}
		for _, other := range ids {
			if other.Cmp(jobID) == 0 {
				continue
			}
			if r, err := n.Journal().Load(other.String()); err == nil && r.Step.Before(prover.StepCommitted) {
				mu.Lock()
				overlap = append(overlap, r.JobID)
				mu.Unlock()
			}
		}
		return nil
	}
	n = w.node(t, ctx, w.provs[0], cfg, func(o *prover.Options) { o.Hook = hook })
	for _, o := range offers {
		n.Consider(o)
	}
	recs := runUntil(t, ctx, n, 2*time.Minute, ids...)
	for _, r := range recs {
		if r.Step != prover.StepDone {
			t.Errorf("job %s… ended %s (%s); want done", r.JobID[:8], r.Step, r.Reason)
		}
	}
	if len(overlap) > 0 {
		t.Errorf("offers executed unlocked at once past the cap: %v", overlap)
	}
}

// otherBuyerOffer is req signed by the world's second buyer.
func (w *world) otherBuyerOffer(t *testing.T, req chain.Request, uri string) (*jobs.Offer, *big.Int) {
	t.Helper()
	req.Buyer = addr(w.buyer2Key)
	o, err := jobs.SignOffer(w.buyer2Key, w.buyer.Sender().ChainID(), w.d.Addresses.Manager, protocol.Request{Buyer: req.Buyer,
		ClassID: req.ClassId, ModelRoot: req.ModelRoot, JobDigest: req.JobDigest, NewTokens: req.NewTokens, Price: req.Price,
		LockBy: req.LockBy, ExecWindow: req.ExecWindow, ProveWindow: req.ProveWindow, ChallengeWindow: req.ChallengeWindow,
		SeedCommitment: req.SeedCommitment, Salt: req.Salt}, uri)
	if err != nil {
		t.Fatal(err)
	}
	id, err := o.JobID()
	if err != nil {
		t.Fatal(err)
	}
	return o, id
}
