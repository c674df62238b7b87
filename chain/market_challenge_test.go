package chain_test

import (
	"math/big"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"

	"github.com/probitylabs/probity/chain"
	"github.com/probitylabs/probity/jobs"
)

// provedWindowed is a job with a one-hour challenge window, proved honestly: its
// request, id, trace root and result digest (what a challenger opens the anchor with).
func (e *env) provedWindowed() (chain.Request, *big.Int, *big.Int, *big.Int) {
	t := e.t
	req := e.request()
	req.ChallengeWindow = 3600
	id, c := e.lockedCommitted(req)
	e.toSeed(c.Committed)
	res := must[*chain.SubmitResult](t)(e.provider.Submit(e.ctx, e.submission(req, c.Committed, true)))
	if res.Outcome != chain.OutcomeProved || e.state(id) != chain.StateProved {
		t.Fatalf("submit: %+v, state %v", res.JobOutcome, e.state(id))
	}
	return req, id, c.Committed.TraceRoot, res.Proved.ResultDigest
}

func (e *env) targetedProof(req chain.Request, traceRoot, rd, element *big.Int) [8]*big.Int {
	return syntheticTargetedProof([5]*big.Int{req.ModelRoot, req.JobDigest, traceRoot, rd, element})
}

// TestChallengeAnsweredThenPaid: a watcher challenges an honest job; the provider
// answers with a targeted proof, collects the bond, and is paid after the window.
func TestChallengeAnsweredThenPaid(t *testing.T) {
	e := setup(t)
	req, id, tr, rd := e.provedWindowed()
	cmAddr := e.keeper.Addresses().Challenges
	if cmAddr == (common.Address{}) {
		t.Fatal("Deploy left Addresses.Challenges empty")
	}
	if job := must[chain.Job](t)(e.keeper.GetJob(e.ctx, id)); common.BigToHash(job.Seed) != chain.Anchor(tr, rd) {
		t.Fatalf("anchor %x, want %x", job.Seed, chain.Anchor(tr, rd))
	}
	bond := must[*big.Int](t)(e.keeper.Bond(e.ctx))
	e.ok(e.gov.Mint(e.ctx, e.keeper.Address(), tokens(1000)))
	e.ok(e.keeper.Approve(e.ctx, cmAddr, tokens(1000)))
	element := jobs.Element{Kind: jobs.ElementToken, Row: 5}.Word()
	opened := must[*chain.ChallengeResult](t)(e.keeper.Challenge(e.ctx, req, tr, rd, element))
	if opened.Opened.JobId.Cmp(id) != 0 || opened.Opened.Element.Cmp(element) != 0 || opened.Opened.Challenger != e.keeper.Address() || opened.Opened.Bond.Cmp(bond) != 0 {
		t.Fatalf("ChallengeOpened %+v", opened.Opened)
	}
	if _, err := e.keeper.Challenge(e.ctx, req, tr, rd, element); !chain.IsRevert(err, "AlreadyChallenged") {
		t.Fatalf("second challenge: %v, want AlreadyChallenged", err)
	}
	bad := new(big.Int).Lsh(big.NewInt(3), 96)
	if _, err := e.keeper.Challenge(e.ctx, req, tr, rd, bad); !chain.IsRevert(err, "BadElement") {
		t.Fatalf("bad element: %v, want BadElement", err)
	}
	if _, err := e.keeper.Challenge(e.ctx, req, tr, new(big.Int).Add(rd, big.NewInt(1)), big.NewInt(1)); !chain.IsRevert(err, "AnchorMismatch") {
		t.Fatalf("wrong digest: %v, want AnchorMismatch", err)
	}
	c := must[chain.Challenge](t)(e.keeper.ChallengeOf(e.ctx, id, element))
	if chain.ChallengeState(c.State) != chain.ChallengeStateOpen || c.Challenger != e.keeper.Address() {
		t.Fatalf("challengeOf %+v", c)
	}
	if n := must[*big.Int](t)(e.keeper.OpenChallenges(e.ctx, id)); n.Int64() != 1 {
		t.Fatalf("open challenges %v, want 1", n)
	}
	wrong := e.targetedProof(req, tr, rd, new(big.Int).Add(element, big.NewInt(1)))
	if _, err := e.provider.Answer(e.ctx, req, tr, rd, element, wrong); !chain.IsRevert(err, "InvalidAnswer") {
		t.Fatalf("wrong answer: %v, want InvalidAnswer", err)
	}
	ans := must[*chain.AnswerResult](t)(e.provider.Answer(e.ctx, req, tr, rd, element, e.targetedProof(req, tr, rd, element)))
	if ans.Answered.Provider != e.provider.Address() || ans.Answered.Bond.Cmp(bond) != 0 {
		t.Fatalf("ChallengeAnswered %+v", ans.Answered)
	}
	if got := must[*big.Int](t)(e.keeper.BondBalanceOf(e.ctx, e.provider.Address())); got.Cmp(bond) != 0 {
		t.Fatalf("provider bond balance %v, want %v", got, bond)
	}
	if err := e.sim.AdjustTime(time.Hour + time.Minute); err != nil {
		t.Fatal(err)
	}
	col := must[*chain.SettleResult](t)(e.provider.Collect(e.ctx, []*big.Int{id}, e.provider.Address()))
	if len(col.Settled) != 1 {
		t.Fatalf("collect settled %d jobs, want 1", len(col.Settled))
	}
	w := must[*chain.BondWithdrawResult](t)(e.provider.WithdrawBonds(e.ctx))
	if w.Withdrawn.Amount.Cmp(bond) != 0 {
		t.Fatalf("bonds withdrawn %v, want %v", w.Withdrawn.Amount, bond)
	}
	t.Logf("gas: challenge %d, answer %d", opened.GasUsed, ans.GasUsed)
}

// TestChallengeUnansweredSlashes: an unanswered challenge is enforced after respondBy:
// the job is slashed with the bounty to the challenger, whose bond comes back; a second
// open challenge of the job reclaims its bond. A Market built from addresses without
// Challenges reads it from the manager.
func TestChallengeUnansweredSlashes(t *testing.T) {
	e := setup(t)
	req, id, tr, rd := e.provedWindowed()
	a := e.keeper.Addresses()
	a.Challenges = common.Address{}
	keeper := must[*chain.Market](t)(chain.NewMarket(e.ctx, e.sim.Client(), a, e.keeperKey))
	e.ok(e.gov.Mint(e.ctx, keeper.Address(), tokens(1000)))
	e.ok(keeper.Approve(e.ctx, e.keeper.Addresses().Challenges, tokens(1000)))
	e.ok(e.gov.Mint(e.ctx, e.buyer.Address(), tokens(1000)))
	e.ok(e.buyer.Approve(e.ctx, e.keeper.Addresses().Challenges, tokens(1000)))
	bond := must[*big.Int](t)(keeper.Bond(e.ctx))
	first := must[*chain.ChallengeResult](t)(keeper.Challenge(e.ctx, req, tr, rd, big.NewInt(1)))
	must[*chain.ChallengeResult](t)(e.buyer.Challenge(e.ctx, req, tr, rd, big.NewInt(2)))
	if _, err := keeper.Enforce(e.ctx, req, big.NewInt(1)); !chain.IsRevert(err, "DeadlineNotPassed") {
		t.Fatalf("early enforce: %v, want DeadlineNotPassed", err)
	}
	if _, err := keeper.Reclaim(e.ctx, req, big.NewInt(2)); !chain.IsRevert(err, "JobStillProved") {
		t.Fatalf("early reclaim: %v, want JobStillProved", err)
	}
	if err := e.sim.AdjustTime(time.Hour + time.Minute); err != nil {
		t.Fatal(err)
	}
	if got := must[*chain.SettleResult](t)(e.provider.Finalize(e.ctx, []*big.Int{id})); len(got.Settled) != 0 {
		t.Fatal("finalized with open challenges")
	}
	stake := must[*big.Int](t)(func() (*big.Int, error) { _, s, err := keeper.HolderOf(e.ctx, id); return s, err }())
	enf := must[*chain.EnforceResult](t)(keeper.Enforce(e.ctx, req, big.NewInt(1)))
	bounty := new(big.Int).Div(new(big.Int).Mul(stake, big.NewInt(500)), big.NewInt(10_000))
	if enf.Upheld.Challenger != keeper.Address() || enf.Slashed.Caller != keeper.Address() || enf.Slashed.Bounty.Cmp(bounty) != 0 {
		t.Fatalf("enforce: upheld %+v, slashed %+v", enf.Upheld, enf.Slashed)
	}
	if e.state(id) != chain.StateSlashed {
		t.Fatalf("state %v, want Slashed", e.state(id))
	}
	if got := e.balance(keeper.Address()); got.Cmp(bounty) != 0 {
		t.Fatalf("challenger's manager balance %v, want the bounty %v", got, bounty)
	}
	if _, err := e.provider.Answer(e.ctx, req, tr, rd, big.NewInt(2), e.targetedProof(req, tr, rd, big.NewInt(2))); !chain.IsRevert(err, "WrongState") {
		t.Fatalf("answer after the slash: %v, want WrongState", err)
	}
	rec := must[*chain.ReclaimResult](t)(keeper.Reclaim(e.ctx, req, big.NewInt(2)))
	if rec.Voided.Challenger != e.buyer.Address() || rec.Voided.Bond.Cmp(bond) != 0 {
		t.Fatalf("ChallengeVoided %+v", rec.Voided)
	}
	if got := must[*big.Int](t)(keeper.BondBalanceOf(e.ctx, keeper.Address())); got.Cmp(bond) != 0 {
		t.Fatalf("challenger bond balance %v, want %v", got, bond)
	}
	if _, err := e.gov.SetBond(e.ctx, big.NewInt(0)); !chain.IsRevert(err, "BadParameter") {
		t.Fatalf("zero bond: %v, want BadParameter", err)
	}
	e.ok(e.gov.SetBond(e.ctx, tokens(2)))
	if got := must[*big.Int](t)(keeper.Bond(e.ctx)); got.Cmp(tokens(2)) != 0 {
		t.Fatalf("bond %v after SetBond", got)
	}
	t.Logf("gas: challenge %d, enforce %d, reclaim %d", first.GasUsed, enf.GasUsed, rec.GasUsed)
}
