package chain_test

import (
	"math/big"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/probitylabs/probity/chain"
	"github.com/probitylabs/probity/protocol"
)

// TestCommitmentAndSeedMatchProtocol is the cross-implementation check of the
// commitment and the seed (settlement.md §3, §4): protocol.Commitment and
// protocol.SeedV2, computed in Go from the job's public data, equal what the
// manager stores (getJob), computes (commitmentOf) and derives (seedOf, fixSeed,
// revealSeed) on the simulated chain; and the job record decodes as the contract
// lays it out, through lock, commit and a fixed seed.
func TestCommitmentAndSeedMatchProtocol(t *testing.T) {
	e := setup(t)
	chainID, manager := e.keeper.Sender().ChainID(), e.keeper.Addresses().Manager
	req := e.request()
	id := e.jobID(req)

	locked := must[*chain.LockResult](t)(e.provider.LockRequest(e.ctx, req, e.sign(req), chain.AnyTerms))
	stake := locked.Locked.Stake
	j := must[chain.Job](t)(e.keeper.GetJob(e.ctx, id))
	if chain.JobState(j.State) != chain.StateLocked || j.Flags != 0 || j.Deadline.Uint64() != locked.Locked.CommitBy ||
		j.ProveWindow != req.ProveWindow || j.BountyBps != 500 || j.AbandonBps != 1000 || j.Price.Cmp(req.Price) != 0 || j.Seed.Sign() != 0 {
		t.Fatalf("locked job %+v", j)
	}
	if p, st, ok := chain.JobHolder(j); !ok || p != e.provider.Address() || st.Cmp(stake) != 0 {
		t.Fatalf("locked job's holder: %v %v %v, want %v %v", p, st, ok, e.provider.Address(), stake)
	}
	if p, st := must2(t)(e.keeper.HolderOf(e.ctx, id)); p != e.provider.Address() || st.Cmp(stake) != 0 {
		t.Fatalf("holderOf a locked job: %v %v", p, st)
	}
	if _, ok := chain.JobCommitment(j); ok {
		t.Fatal("a locked job has a commitment")
	}

	c := must[*chain.CommitResult](t)(e.provider.Commit(e.ctx, id, traceRootOf(id), attestationOf(id)))
	local := protocol.Commitment(e.provider.Address(), stake, traceRootOf(id), attestationOf(id))
	if h := must[[32]byte](t)(chain.HashCommitment(c.Commitment)); h != local {
		t.Fatalf("HashCommitment %x, protocol.Commitment %x", h, local)
	}
	if onChain := must[[32]byte](t)(e.keeper.CommitmentOf(e.ctx, c.Commitment)); onChain != local {
		t.Fatalf("commitmentOf %x, protocol.Commitment %x", onChain, local)
	}
	j = must[chain.Job](t)(e.keeper.GetJob(e.ctx, id))
	if stored, ok := chain.JobCommitment(j); !ok || stored != local {
		t.Fatalf("stored commitment %x (%v), protocol.Commitment %x", stored, ok, local)
	}
	if chain.JobState(j.State) != chain.StateCommitted || j.SeedBlock.Uint64() != c.Committed.SeedBlock ||
		j.Deadline.Uint64() != c.Committed.ProveBy || j.Price.Cmp(req.Price) != 0 || j.ProveWindow != req.ProveWindow {
		t.Fatalf("committed job %+v, event %+v", j, c.Committed)
	}
	if _, _, ok := chain.JobHolder(j); ok {
		t.Fatal("a committed job decodes as a holder")
	}
	if p, st := must2(t)(e.keeper.HolderOf(e.ctx, id)); p != (common.Address{}) || st.Sign() != 0 {
		t.Fatalf("holderOf a committed job: %v %v, want zero", p, st)
	}
	// The logs give the same commitment back to a caller that did not keep it.
	evs := must[[]*chain.JobCommitted](t)(e.keeper.FilterJobCommitted(e.ctx, chain.EventRange{}, id))
	if len(evs) != 1 || !sameCommitment(chain.CommitmentFromEvent(evs[0]), c.Commitment) {
		t.Fatalf("JobCommitted of job %v from the logs: %+v", id, evs)
	}

	// The seed: derived without a secret from the seed block's hash, as seedOf and
	// fixSeed give it.
	e.toSeed(c.Committed)
	seedHeader, err := e.sim.Client().HeaderByNumber(e.ctx, new(big.Int).SetUint64(c.Committed.SeedBlock))
	if err != nil {
		t.Fatal(err)
	}
	want := protocol.SeedV2(chainID, manager, id, local, seedHeader.Hash(), [32]byte{})
	if got := must[*big.Int](t)(e.keeper.SeedOf(e.ctx, id)); got.Cmp(want) != 0 {
		t.Fatalf("seedOf %v, protocol.SeedV2 %v", got, want)
	}
	fixed := must[*chain.SeedResult](t)(e.keeper.FixSeed(e.ctx, id))
	if fixed.Fixed.Seed.Cmp(want) != 0 || fixed.Fixed.Revealed {
		t.Fatalf("fixSeed %+v, protocol.SeedV2 %v", fixed.Fixed, want)
	}
	j = must[chain.Job](t)(e.keeper.GetJob(e.ctx, id))
	if j.Flags != chain.JobFlagSeedFixed || j.Seed.Cmp(want) != 0 || j.Holder != local {
		t.Fatalf("job with a fixed seed %+v", j)
	}

	// With a seed commitment: the seed is derived with the buyer's secret, the proof
	// clock waits for it.
	secret := crypto.Keccak256Hash([]byte("buyer secret"))
	rq := e.request()
	rq.SeedCommitment = crypto.Keccak256Hash(secret[:])
	rq.ChallengeWindow = 3600
	rid := e.jobID(rq)
	lc := must[*chain.LockResult](t)(e.provider.LockAndCommit(e.ctx, rq, e.sign(rq), traceRootOf(rid), attestationOf(rid), chain.AnyTerms))
	rlocal := protocol.Commitment(e.provider.Address(), lc.Locked.Stake, traceRootOf(rid), attestationOf(rid))
	j = must[chain.Job](t)(e.keeper.GetJob(e.ctx, rid))
	if j.Flags != chain.JobFlagSeedCommitment || j.Deadline.Sign() != 0 || j.Holder != rlocal || lc.Committed.ProveBy != 0 {
		t.Fatalf("committed job with a seed commitment %+v (event %+v)", j, lc.Committed)
	}
	if onChain := must[[32]byte](t)(e.keeper.CommitmentOf(e.ctx, lc.Commitment)); onChain != rlocal {
		t.Fatalf("commitmentOf %x, protocol.Commitment %x", onChain, rlocal)
	}
	e.toSeed(lc.Committed)
	rh, err := e.sim.Client().HeaderByNumber(e.ctx, new(big.Int).SetUint64(lc.Committed.SeedBlock))
	if err != nil {
		t.Fatal(err)
	}
	revealed := must[*chain.SeedResult](t)(e.buyer.RevealSeed(e.ctx, rq, secret))
	rwant := protocol.SeedV2(chainID, manager, rid, rlocal, rh.Hash(), secret)
	if revealed.Fixed.Seed.Cmp(rwant) != 0 || !revealed.Fixed.Revealed || revealed.Fixed.ProveBy == 0 {
		t.Fatalf("revealSeed %+v, protocol.SeedV2 %v", revealed.Fixed, rwant)
	}
	if got := must[*big.Int](t)(e.keeper.SeedOf(e.ctx, rid)); got.Cmp(rwant) != 0 {
		t.Fatalf("seedOf after the reveal %v, protocol.SeedV2 %v", got, rwant)
	}
	if rwant.Cmp(protocol.SeedV2(chainID, manager, rid, rlocal, rh.Hash(), [32]byte{})) == 0 {
		t.Fatal("the secret does not enter the seed")
	}
	// The seed a proof is checked against is the one derived here.
	res := must[*chain.SubmitResult](t)(e.provider.Submit(e.ctx, e.submissionFor(rq, lc.Committed, rwant)))
	if res.Outcome != chain.OutcomeProved || res.Proved.Seed.Cmp(rwant) != 0 {
		t.Fatalf("submission with the Go seed: %+v", res.JobOutcome)
	}
	// Proved, the job holds its provider and stake again, and its seed slot the challenge
	// anchor: seedOf refuses (the seed is JobProved's).
	j = must[chain.Job](t)(e.keeper.GetJob(e.ctx, rid))
	if p, st, ok := chain.JobHolder(j); !ok || p != e.provider.Address() || st.Cmp(lc.Locked.Stake) != 0 {
		t.Fatalf("proved job's holder %v %v %v", p, st, ok)
	}
	if common.BigToHash(j.Seed) != chain.Anchor(lc.Committed.TraceRoot, res.Proved.ResultDigest) {
		t.Fatalf("proved job's third slot %x is not its anchor", j.Seed)
	}
	if _, err := e.keeper.SeedOf(e.ctx, rid); !chain.IsRevert(err, "WrongState") {
		t.Fatalf("seedOf a proved job: %v, want WrongState", err)
	}
}

// TestCommittedSlashOpensCommitment: a Committed job past its proof deadline is
// slashed only with the commitment that opens its stored hash.
func TestCommittedSlashOpensCommitment(t *testing.T) {
	e := setup(t)
	req := e.request()
	req.ProveWindow = 60
	id, c := e.lockedCommitted(req)
	if _, err := e.keeper.Slash(e.ctx, req, c.Commitment); !chain.IsRevert(err, "DeadlineNotPassed") {
		t.Fatalf("slash inside the proof window: %v, want DeadlineNotPassed", err)
	}
	if err := e.sim.AdjustTime(2 * time.Minute); err != nil {
		t.Fatal(err)
	}
	wrongStake := chain.CommitmentFromEvent(c.Committed)
	wrongStake.Stake = new(big.Int).Add(wrongStake.Stake, big.NewInt(1))
	for name, wrong := range map[string]chain.Commitment{"a zero commitment": {}, "a larger stake": wrongStake} {
		if _, err := e.keeper.Slash(e.ctx, req, wrong); !chain.IsRevert(err, "CommitmentMismatch") {
			t.Fatalf("slash of a committed job with %s: %v, want CommitmentMismatch", name, err)
		}
	}
	if _, err := e.keeper.Slash(e.ctx, req, chain.Commitment{Stake: new(big.Int).Lsh(big.NewInt(1), 96)}); err == nil || chain.IsRevert(err, "CommitmentMismatch") {
		t.Fatalf("stake of 2^96: %v, want a local error", err)
	}
	// The keeper did not see the commit: it reads the commitment from the logs.
	evs := must[[]*chain.JobCommitted](t)(e.keeper.FilterJobCommitted(e.ctx, chain.EventRange{}, id))
	if len(evs) != 1 {
		t.Fatalf("%d JobCommitted for job %v", len(evs), id)
	}
	s := must[*chain.SlashResult](t)(e.keeper.Slash(e.ctx, req, chain.CommitmentFromEvent(evs[0])))
	bounty := new(big.Int).Div(new(big.Int).Mul(c.Commitment.Stake, big.NewInt(500)), big.NewInt(10_000))
	if s.Slashed.Provider != e.provider.Address() || s.Slashed.Stake.Cmp(c.Commitment.Stake) != 0 || s.Slashed.Bounty.Cmp(bounty) != 0 {
		t.Fatalf("slashed %+v, want stake %v, bounty %v", s.Slashed, c.Commitment.Stake, bounty)
	}
	if e.state(id) != chain.StateSlashed {
		t.Fatalf("state %v, want Slashed", e.state(id))
	}
	j := must[chain.Job](t)(e.keeper.GetJob(e.ctx, id))
	if j.Holder != ([32]byte{}) || j.Price.Sign() != 0 || j.Flags != 0 {
		t.Fatalf("a slashed job keeps %+v", j)
	}
	if got := must[chain.Provider](t)(e.keeper.ProviderOf(e.ctx, e.provider.Address())).Reserved; got.Sign() != 0 {
		t.Fatalf("reserved stake %v after the slash", got)
	}
	t.Logf("gas: slash of a committed job (commitment opened) %d", s.GasUsed)
}

// TestNewSubmissionRefusesOtherJob: a JobCommitted event of another job does not
// make a submission.
func TestNewSubmissionRefusesOtherJob(t *testing.T) {
	e := setup(t)
	a, b := e.request(), e.request()
	_, ca := e.lockedCommitted(a)
	var proof [8]*big.Int
	if _, err := e.provider.NewSubmission(b, ca.Committed, nil, proof); err == nil {
		t.Fatal("built a submission of b from a's JobCommitted")
	}
	if _, err := e.provider.NewSubmission(a, nil, nil, proof); err == nil {
		t.Fatal("built a submission without a JobCommitted")
	}
	if _, err := chain.HashCommitment(chain.Commitment{Stake: big.NewInt(1)}); err == nil {
		t.Fatal("hashed a commitment without a trace root")
	}
}
