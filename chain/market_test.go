package chain_test

import (
	"context"
	"crypto/ecdsa"
	"encoding/json"
	"errors"
	"math/big"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/probitylabs/probity/chain"
	"github.com/probitylabs/probity/protocol"
)

const (
	v1Tokens = 48 // tokens per job: five result words, the last one partly filled
	v1Class  = "universal-test-class"
)

var ether = new(big.Int).Exp(big.NewInt(10), big.NewInt(18), nil)

func tokens(n int64) *big.Int { return new(big.Int).Mul(big.NewInt(n), ether) }

func key(t *testing.T) *ecdsa.PrivateKey {
	k, err := crypto.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func addr(k *ecdsa.PrivateKey) common.Address { return crypto.PubkeyToAddress(k.PublicKey) }

func must[T any](t *testing.T) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

var v1Price = tokens(1000)

// env is a deployment on a simulated chain: a class whose verifier is the real
// Groth16Verifier under the synthetic key (synthetic_test.go), a funded buyer and a
// registered, staked provider, as contracts/test/helpers/Fixture.sol sets them up.
type env struct {
	t                            *testing.T
	ctx                          context.Context
	sim                          *chain.Simulated
	gov, buyer, provider, keeper *chain.Market
	buyerKey, nodeKey, keeperKey *ecdsa.PrivateKey
	class                        [32]byte
	salt                         int64
}

func setup(t *testing.T) *env {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	govK, buyerK, provK, keeperK, nodeK := key(t), key(t), key(t), key(t), key(t)
	sim := chain.NewSimulated(chain.SimOptions{Policy: chain.MineOnSend}, addr(govK), addr(buyerK), addr(provK), addr(keeperK))
	t.Cleanup(func() { sim.Close() })
	d, err := chain.Deploy(ctx, sim.Client(), govK, chain.DeployParams{UnbondingDelay: 3600})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"DevToken", "ProviderRegistry", "ClassRegistry", "ResultHasher", "SLAManager", "setManager"} {
		if d.GasUsed[name] == 0 {
			t.Fatalf("no deployment gas for %s: %v", name, d.GasUsed)
		}
	}
	market := func(k *ecdsa.PrivateKey) *chain.Market {
		return must[*chain.Market](t)(chain.NewMarket(ctx, sim.Client(), d.Addresses, k))
	}
	e := &env{t: t, ctx: ctx, sim: sim, gov: market(govK), buyer: market(buyerK), provider: market(provK), keeper: market(keeperK),
		buyerKey: buyerK, nodeKey: nodeK, keeperKey: keeperK}
	verifier := must[common.Address](t)(e.gov.DeployVerifier(ctx, syntheticVK()))
	targeted := must[common.Address](t)(e.gov.DeployVerifier(ctx, syntheticTargetedVK()))
	reg := must[*chain.ClassResult](t)(e.gov.RegisterClass(ctx, v1Class, verifier, targeted, 1))
	if reg.ClassID != crypto.Keccak256Hash([]byte(v1Class)) || reg.Registered.Name != v1Class {
		t.Fatalf("class id %x (event %+v), want keccak256(%q)", reg.ClassID, reg.Registered, v1Class)
	}
	e.class = reg.ClassID
	for _, m := range []*chain.Market{e.buyer, e.provider} {
		e.ok(e.gov.Mint(ctx, m.Address(), tokens(10_000_000)))
	}
	e.ok(e.buyer.Approve(ctx, d.Manager.Address(), tokens(10_000_000)))
	e.ok(e.provider.Approve(ctx, d.Providers.Address(), tokens(10_000_000)))
	e.ok(e.provider.Register(ctx, addr(nodeK), tokens(1_000_000)))
	return e
}

func (e *env) ok(_ *chain.Tx, err error) {
	e.t.Helper()
	if err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) now() uint64 {
	h, err := e.sim.Client().HeaderByNumber(e.ctx, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	return h.Time
}

// request is a fresh request of the buyer: no seed commitment, payment at once.
func (e *env) request() chain.Request {
	e.salt++
	return chain.Request{
		Buyer: e.buyer.Address(), ClassId: e.class, ModelRoot: big.NewInt(0x1111), JobDigest: big.NewInt(0x2222 + e.salt),
		NewTokens: v1Tokens, Price: v1Price, LockBy: e.now() + 86400, ExecWindow: 3600, ProveWindow: 3600,
		Salt: big.NewInt(e.salt),
	}
}

func (e *env) jobID(req chain.Request) *big.Int {
	return must[*big.Int](e.t)(e.buyer.JobID(req))
}

func (e *env) sign(req chain.Request) []byte {
	return must[[]byte](e.t)(chain.SignRequest(e.buyerKey, e.jobID(req)))
}

func traceRootOf(id *big.Int) *big.Int {
	h := crypto.Keccak256([]byte("trace"), id.Bytes())
	return new(big.Int).Mod(new(big.Int).SetBytes(h), protocol.R)
}

func attestationOf(id *big.Int) [32]byte {
	return crypto.Keccak256Hash([]byte("attestation"), id.Bytes())
}

// tokensFor are the job's "generated" tokens: any ids below GPT-2's vocabulary.
func tokensFor(id *big.Int, n int) []uint32 {
	t := make([]uint32, n)
	for i := range t {
		h := crypto.Keccak256(id.Bytes(), big.NewInt(int64(i)).Bytes())
		t[i] = uint32(new(big.Int).Mod(new(big.Int).SetBytes(h), big.NewInt(50_257)).Uint64())
	}
	return t
}

// toSeed mines past the job's seed block, so that the head derives its seed.
func (e *env) toSeed(c *chain.JobCommitted) {
	if err := e.provider.WaitForBlock(e.ctx, c.SeedBlock+1, 0); err != nil {
		e.t.Fatal(err)
	}
}

// submission is an honest submission of req, committed as committed says (valid),
// or one whose proof is valid for another seed (invalid): the public inputs are the
// ones the manager rebuilds.
func (e *env) submission(req chain.Request, committed *chain.JobCommitted, valid bool) chain.Submission {
	seed := must[*big.Int](e.t)(e.provider.SeedOf(e.ctx, e.jobID(req)))
	if !valid {
		seed = new(big.Int).Mod(new(big.Int).Add(seed, big.NewInt(1)), protocol.R)
	}
	return e.submissionFor(req, committed, seed)
}

// submissionFor is a submission of req, built by NewSubmission from its JobCommitted
// event, whose proof is valid for seed.
func (e *env) submissionFor(req chain.Request, committed *chain.JobCommitted, seed *big.Int) chain.Submission {
	t := e.t
	id := e.jobID(req)
	words := must[[]*big.Int](t)(chain.PackResultTokens(tokensFor(id, int(req.NewTokens))))
	rd := must[*big.Int](t)(e.provider.ResultDigest(e.ctx, req.NewTokens, words))
	proof := syntheticProof([5]*big.Int{req.ModelRoot, req.JobDigest, committed.TraceRoot, rd, seed})
	sub := must[chain.Submission](t)(e.provider.NewSubmission(req, committed, words, proof))
	if c := sub.Commitment; c.Provider != e.provider.Address() || c.TraceRoot.Cmp(traceRootOf(id)) != 0 || c.AttestationDigest != attestationOf(id) {
		t.Fatalf("submission's commitment %+v is not the provider's commit of job %v", c, id)
	}
	return sub
}

// lockedCommitted locks a signed request and commits it; returns its id and the commit event.
func (e *env) lockedCommitted(req chain.Request) (*big.Int, *chain.CommitResult) {
	t := e.t
	locked := must[*chain.LockResult](t)(e.provider.LockRequest(e.ctx, req, e.sign(req), chain.AnyTerms))
	c := must[*chain.CommitResult](t)(e.provider.Commit(e.ctx, locked.JobID, traceRootOf(locked.JobID), attestationOf(locked.JobID)))
	return locked.JobID, c
}

// sameCommitment compares commitments by value (their numbers are *big.Int).
func sameCommitment(a, b chain.Commitment) bool {
	return a.Provider == b.Provider && a.Stake.Cmp(b.Stake) == 0 && a.TraceRoot.Cmp(b.TraceRoot) == 0 && a.AttestationDigest == b.AttestationDigest
}

// must2 is must for a call returning a provider and a stake (HolderOf).
func must2(t *testing.T) func(common.Address, *big.Int, error) (common.Address, *big.Int) {
	t.Helper()
	return func(a common.Address, b *big.Int, err error) (common.Address, *big.Int) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return a, b
	}
}

func (e *env) state(id *big.Int) chain.JobState {
	return must[chain.JobState](e.t)(e.keeper.JobState(e.ctx, id))
}

func (e *env) balance(a common.Address) *big.Int {
	return must[*big.Int](e.t)(e.keeper.BalanceOf(e.ctx, a))
}

func TestSignedRequestSettles(t *testing.T) {
	e := setup(t)
	req := e.request()
	id := e.jobID(req)
	if onChain := must[*big.Int](t)(e.keeper.JobIDOf(e.ctx, req)); onChain.Cmp(id) != 0 {
		t.Fatalf("jobIdOf %x, local %x", onChain, id)
	}
	sep := must[[32]byte](t)(e.keeper.DomainSeparator(e.ctx))
	want := protocol.Domain{ChainID: e.keeper.Sender().ChainID(), Contract: e.keeper.Addresses().Manager}.Separator()
	if sep != want {
		t.Fatalf("domain separator %x, protocol gives %x", sep, want)
	}

	locked := must[*chain.LockResult](t)(e.provider.LockRequest(e.ctx, req, e.sign(req), chain.AnyTerms))
	if locked.JobID.Cmp(id) != 0 || locked.Posted == nil || locked.Posted.Request.Salt.Cmp(req.Salt) != 0 || locked.Posted.Buyer != e.buyer.Address() {
		t.Fatalf("lockRequest events: %+v", locked)
	}
	stake := must[*big.Int](t)(e.keeper.RequiredStake(e.ctx, v1Price, 1))
	if locked.Locked.Stake.Cmp(stake) != 0 || locked.Locked.Provider != e.provider.Address() {
		t.Fatalf("locked %+v, want stake %v", locked.Locked, stake)
	}
	if got := must[chain.Provider](t)(e.keeper.ProviderOf(e.ctx, e.provider.Address())); got.Reserved.Cmp(stake) != 0 {
		t.Fatalf("reserved %v, want %v", got.Reserved, stake)
	}
	c := must[*chain.CommitResult](t)(e.provider.Commit(e.ctx, id, traceRootOf(id), attestationOf(id)))
	if c.Committed.ProveBy == 0 || c.Committed.TraceRoot.Cmp(traceRootOf(id)) != 0 {
		t.Fatalf("committed %+v", c.Committed)
	}
	// JobCommitted carries the whole commitment: the locking provider, its stake and
	// what it committed.
	wantC := chain.Commitment{Provider: e.provider.Address(), Stake: stake, TraceRoot: traceRootOf(id), AttestationDigest: attestationOf(id)}
	if !sameCommitment(c.Commitment, wantC) || c.Committed.Provider != wantC.Provider || c.Committed.Stake.Cmp(stake) != 0 {
		t.Fatalf("commitment %+v (event %+v), want %+v", c.Commitment, c.Committed, wantC)
	}
	e.toSeed(c.Committed)
	sub := e.submission(req, c.Committed, true)
	res := must[*chain.SubmitResult](t)(e.provider.Submit(e.ctx, sub))
	if res.Outcome != chain.OutcomeProved || res.Settled == nil || res.Settled.Price.Cmp(v1Price) != 0 {
		t.Fatalf("submit: %+v", res.JobOutcome)
	}
	// The result read back from JobProved is the one submitted.
	if !slices.Equal(res.Tokens, tokensFor(id, v1Tokens)) || len(res.Proved.Result) != 5 {
		t.Fatalf("tokens on chain %v, submitted %v", res.Tokens, tokensFor(id, v1Tokens))
	}
	if got := must[[]uint32](t)(chain.ResultTokens(res.Proved.Result, v1Tokens)); !slices.Equal(got, res.Tokens) {
		t.Fatal("ResultTokens disagrees with the outcome's tokens")
	}
	// The receipt digest in JobProved is the manager's digest of what it verified, and the
	// node key's signature over it checks out.
	rc := chain.Receipt{
		JobId: id, Provider: e.provider.Address(), ModelRoot: req.ModelRoot, JobDigest: req.JobDigest,
		TraceRoot: sub.Commitment.TraceRoot, AttestationDigest: sub.Commitment.AttestationDigest, Seed: res.Proved.Seed,
		ResultDigest: res.Proved.ResultDigest, ProofHash: proofHash(sub.Proof),
	}
	digest := must[[32]byte](t)(e.keeper.ReceiptDigest(e.ctx, rc))
	if digest != res.Proved.ReceiptDigest {
		t.Fatalf("receipt digest %x, JobProved says %x", digest, res.Proved.ReceiptDigest)
	}
	sig := must[[]byte](t)(chain.SignDigest(e.nodeKey, digest))
	if !must[bool](t)(e.keeper.VerifyReceipt(e.ctx, rc, sig)) {
		t.Fatal("node key signature over the receipt does not verify")
	}
	if e.state(id) != chain.StateSettled {
		t.Fatalf("state %v, want Settled", e.state(id))
	}
	before := must[*big.Int](t)(e.keeper.TokenBalance(e.ctx, e.provider.Address()))
	w := must[*chain.WithdrawResult](t)(e.provider.Withdraw(e.ctx))
	after := must[*big.Int](t)(e.keeper.TokenBalance(e.ctx, e.provider.Address()))
	if w.Withdrawn.Amount.Cmp(v1Price) != 0 || new(big.Int).Sub(after, before).Cmp(v1Price) != 0 {
		t.Fatalf("withdrew %v (event %v), want %v", new(big.Int).Sub(after, before), w.Withdrawn.Amount, v1Price)
	}
	t.Logf("gas: lockRequest %d, commit %d, submit %d (job end to end %d), withdraw %d",
		locked.GasUsed, c.GasUsed, res.GasUsed, locked.GasUsed+c.GasUsed+res.GasUsed, w.GasUsed)
}

func proofHash(p [8]*big.Int) [32]byte {
	var buf []byte
	for _, w := range p {
		buf = append(buf, common.LeftPadBytes(w.Bytes(), 32)...)
	}
	return crypto.Keccak256Hash(buf)
}

func TestInvalidProofSlashes(t *testing.T) {
	e := setup(t)
	req := e.request()
	id, c := e.lockedCommitted(req)
	e.toSeed(c.Committed)
	res := must[*chain.SubmitResult](t)(e.provider.Submit(e.ctx, e.submission(req, c.Committed, false)))
	if res.Outcome != chain.OutcomeSlashed || res.Rejected == nil || res.Slashed == nil || res.Proved != nil || res.Tokens != nil {
		t.Fatalf("submit: %+v", res.JobOutcome)
	}
	if res.Slashed.Bounty.Sign() != 0 || res.Slashed.Caller != (common.Address{}) {
		t.Fatalf("bounty %v to %v on an invalid-proof slash", res.Slashed.Bounty, res.Slashed.Caller)
	}
	if e.state(id) != chain.StateSlashed {
		t.Fatalf("state %v, want Slashed", e.state(id))
	}
	if got, want := e.balance(e.buyer.Address()), new(big.Int).Add(v1Price, res.Slashed.Stake); got.Cmp(want) != 0 {
		t.Fatalf("buyer balance %v, want price + stake %v", got, want)
	}
	if got := e.balance(e.provider.Address()); got.Sign() != 0 {
		t.Fatalf("provider balance %v after a slash", got)
	}
	t.Logf("gas: submit with an invalid proof (slash) %d", res.GasUsed)
}

func TestBatchOfThreeOneInvalid(t *testing.T) {
	e := setup(t)
	reqs := []chain.Request{e.request(), e.request(), e.request()}
	sigs := [][]byte{e.sign(reqs[0]), e.sign(reqs[1]), e.sign(reqs[2])}
	locked := must[*chain.LockRequestsResult](t)(e.provider.LockRequests(e.ctx, reqs, sigs, nil))
	for i, id := range locked.JobIDs {
		if id.Cmp(e.jobID(reqs[i])) != 0 || locked.Events.Posted[i].JobId.Cmp(id) != 0 {
			t.Fatalf("job %d: locked %v, want %v", i, id, e.jobID(reqs[i]))
		}
	}
	roots := make([]*big.Int, 3)
	atts := make([][32]byte, 3)
	for i, id := range locked.JobIDs {
		roots[i], atts[i] = traceRootOf(id), attestationOf(id)
	}
	committed := must[*chain.CommitManyResult](t)(e.provider.CommitMany(e.ctx, locked.JobIDs, roots, atts))
	for i, c := range committed.Commitments {
		want := chain.Commitment{Provider: e.provider.Address(), Stake: locked.Locked[i].Stake, TraceRoot: roots[i], AttestationDigest: atts[i]}
		if !sameCommitment(c, want) || committed.Committed[i].JobId.Cmp(locked.JobIDs[i]) != 0 {
			t.Fatalf("commitMany member %d: %+v, want %+v", i, c, want)
		}
	}
	e.toSeed(committed.Committed[2])
	subs := []chain.Submission{
		e.submission(reqs[0], committed.Committed[0], true),
		e.submission(reqs[1], committed.Committed[1], false),
		e.submission(reqs[2], committed.Committed[2], true),
	}
	res := must[*chain.BatchResult](t)(e.provider.SubmitBatch(e.ctx, subs))
	if res.Proved != 2 || res.Slashed != 1 || res.Skipped != 0 {
		t.Fatalf("batch: %d proved, %d slashed, %d skipped; want 2, 1, 0", res.Proved, res.Slashed, res.Skipped)
	}
	want := []chain.Outcome{chain.OutcomeProved, chain.OutcomeSlashed, chain.OutcomeProved}
	for i, o := range res.Jobs {
		if o.Outcome != want[i] || o.JobID.Cmp(locked.JobIDs[i]) != 0 {
			t.Fatalf("member %d: %v for job %v, want %v for %v", i, o.Outcome, o.JobID, want[i], locked.JobIDs[i])
		}
		if o.Outcome == chain.OutcomeProved && (!slices.Equal(o.Tokens, tokensFor(o.JobID, v1Tokens)) || o.Settled == nil) {
			t.Fatalf("member %d: tokens %v settled %v", i, o.Tokens, o.Settled)
		}
		if o.Outcome == chain.OutcomeSlashed && (o.Rejected == nil || o.Slashed == nil) {
			t.Fatalf("member %d slashed without its events: %+v", i, o)
		}
	}
	wantStates := []chain.JobState{chain.StateSettled, chain.StateSlashed, chain.StateSettled}
	for i, id := range locked.JobIDs {
		if s := e.state(id); s != wantStates[i] {
			t.Fatalf("job %d is %v, want %v", i, s, wantStates[i])
		}
	}
	// A member whose job has moved on is skipped, with the error a single submission
	// would have reverted with.
	again := must[*chain.BatchResult](t)(e.provider.SubmitBatch(e.ctx, subs[:1]))
	if again.Skipped != 1 || again.Jobs[0].Outcome != chain.OutcomeSkipped {
		t.Fatalf("resubmission: %+v", again.Jobs)
	}
	reason := again.Jobs[0].Skipped.Reason
	if reason.Name != "WrongState" || reason.Args[0].(*big.Int).Cmp(locked.JobIDs[0]) != 0 || chain.JobState(reason.Args[1].(uint8)) != chain.StateSettled {
		t.Fatalf("skip reason %v, want WrongState(job 0, Settled)", reason)
	}
	t.Logf("gas: lockRequests(3) %d (%d a job), commitMany(3) %d (%d a job), submitBatch(3, one invalid) %d (%d a job), submitBatch(1, skipped) %d",
		locked.GasUsed, locked.GasUsed/3, committed.GasUsed, committed.GasUsed/3, res.GasUsed, res.GasUsed/3, again.GasUsed)
}

func TestBatchAllValid(t *testing.T) {
	e := setup(t)
	reqs := []chain.Request{e.request(), e.request(), e.request()}
	var subs []chain.Submission
	var committed []*chain.JobCommitted
	for _, r := range reqs {
		_, c := e.lockedCommitted(r)
		committed = append(committed, c.Committed)
	}
	e.toSeed(committed[len(committed)-1])
	for i, r := range reqs {
		subs = append(subs, e.submission(r, committed[i], true))
	}
	res := must[*chain.BatchResult](t)(e.provider.SubmitBatch(e.ctx, subs))
	if res.Proved != 3 {
		t.Fatalf("batch: %+v", res.Jobs)
	}
	t.Logf("gas: submitBatch(3, all valid: one aggregated check) %d (%d a job)", res.GasUsed, res.GasUsed/3)
}

func TestLockAndCommitThenCollect(t *testing.T) {
	e := setup(t)
	req := e.request()
	req.ChallengeWindow = 3600
	id := e.jobID(req)
	lc := must[*chain.LockResult](t)(e.provider.LockAndCommit(e.ctx, req, e.sign(req), traceRootOf(id), attestationOf(id), chain.AnyTerms))
	if lc.JobID.Cmp(id) != 0 || lc.Posted == nil || lc.Locked == nil || lc.Committed == nil || lc.Committed.JobId.Cmp(id) != 0 {
		t.Fatalf("lockAndCommit: %+v", lc)
	}
	if e.state(id) != chain.StateCommitted {
		t.Fatalf("state %v, want Committed", e.state(id))
	}
	want := chain.Commitment{Provider: e.provider.Address(), Stake: lc.Locked.Stake, TraceRoot: traceRootOf(id), AttestationDigest: attestationOf(id)}
	if !sameCommitment(lc.Commitment, want) {
		t.Fatalf("lockAndCommit commitment %+v, want %+v", lc.Commitment, want)
	}
	e.toSeed(lc.Committed)
	res := must[*chain.SubmitResult](t)(e.provider.Submit(e.ctx, e.submission(req, lc.Committed, true)))
	if res.Outcome != chain.OutcomeProved || res.Settled != nil || res.Proved.PayableAt == 0 {
		t.Fatalf("submit: %+v", res.JobOutcome)
	}
	if e.state(id) != chain.StateProved {
		t.Fatalf("state %v, want Proved", e.state(id))
	}
	// A Proved job holds its provider and stake again.
	if p, st := must2(t)(e.keeper.HolderOf(e.ctx, id)); p != e.provider.Address() || st.Cmp(lc.Locked.Stake) != 0 {
		t.Fatalf("holderOf a proved job: %v, %v", p, st)
	}
	// Its seed was never stored, and its holder is no commitment to derive it from:
	// seedOf refuses, and the seed is JobProved's.
	if _, err := e.keeper.SeedOf(e.ctx, id); !chain.IsRevert(err, "WrongState") {
		t.Fatalf("seedOf a proved job without a stored seed: %v, want WrongState", err)
	}
	early := must[*chain.SettleResult](t)(e.keeper.Finalize(e.ctx, []*big.Int{id}))
	if len(early.Settled) != 0 {
		t.Fatal("finalized inside the challenge window")
	}
	if err := e.sim.AdjustTime(time.Hour + time.Minute); err != nil {
		t.Fatal(err)
	}
	col := must[*chain.SettleResult](t)(e.provider.Collect(e.ctx, []*big.Int{id}, e.provider.Address()))
	if len(col.Settled) != 1 || col.Withdrawn.Amount.Cmp(v1Price) != 0 {
		t.Fatalf("collect: settled %v, withdrew %v", col.Settled, col.Withdrawn)
	}
	if e.state(id) != chain.StateSettled {
		t.Fatalf("state %v, want Settled", e.state(id))
	}
	t.Logf("gas: lockAndCommit %d, submit (challenge window) %d, collect %d", lc.GasUsed, res.GasUsed, col.GasUsed)
}

func TestDeadlineSlashPaysBounty(t *testing.T) {
	e := setup(t)
	req := e.request()
	req.ExecWindow = 60
	locked := must[*chain.LockResult](t)(e.provider.LockRequest(e.ctx, req, e.sign(req), chain.AnyTerms))
	if _, err := e.keeper.Slash(e.ctx, req, chain.Commitment{}); !chain.IsRevert(err, "DeadlineNotPassed") {
		t.Fatalf("early slash: %v, want DeadlineNotPassed", err)
	}
	if err := e.sim.AdjustTime(2 * time.Minute); err != nil {
		t.Fatal(err)
	}
	// A Locked job's commitment is ignored: a zero one will do.
	s := must[*chain.SlashResult](t)(e.keeper.Slash(e.ctx, req, chain.Commitment{}))
	stake := locked.Locked.Stake
	bounty := new(big.Int).Div(new(big.Int).Mul(stake, big.NewInt(500)), big.NewInt(10_000))
	if s.Slashed.Bounty.Cmp(bounty) != 0 || s.Slashed.Caller != e.keeper.Address() || s.Slashed.Stake.Cmp(stake) != 0 {
		t.Fatalf("slashed %+v, want bounty %v to the keeper", s.Slashed, bounty)
	}
	if got := e.balance(e.keeper.Address()); got.Cmp(bounty) != 0 {
		t.Fatalf("keeper balance %v, want bounty %v", got, bounty)
	}
	wantBuyer := new(big.Int).Sub(new(big.Int).Add(v1Price, stake), bounty)
	if got := e.balance(e.buyer.Address()); got.Cmp(wantBuyer) != 0 {
		t.Fatalf("buyer balance %v, want price + stake - bounty = %v", got, wantBuyer)
	}
	w := must[*chain.WithdrawResult](t)(e.keeper.Withdraw(e.ctx))
	if w.Withdrawn.Amount.Cmp(bounty) != 0 {
		t.Fatalf("keeper withdrew %v, want %v", w.Withdrawn.Amount, bounty)
	}
	t.Logf("gas: deadline slash %d, keeper withdraw (registry credit) %d", s.GasUsed, w.GasUsed)
}

func TestRevertsDecodeByName(t *testing.T) {
	e := setup(t)
	// Escrow from a deposit, a job posted by its buyer, locked by the provider.
	dep := must[*chain.DepositResult](t)(e.buyer.Deposit(e.ctx, v1Price))
	if dep.Deposited.Amount.Cmp(v1Price) != 0 {
		t.Fatalf("deposited %v", dep.Deposited.Amount)
	}
	req := e.request()
	posted := must[*chain.PostResult](t)(e.buyer.Post(e.ctx, req, "file:///jobs/1"))
	if posted.Posted.InputURI != "file:///jobs/1" || e.state(posted.JobID) != chain.StateOpen {
		t.Fatalf("posted %+v", posted.Posted)
	}
	if b := e.balance(e.buyer.Address()); b.Sign() != 0 {
		t.Fatalf("deposit not used for escrow: balance %v", b)
	}
	lock := must[*chain.LockResult](t)(e.provider.Lock(e.ctx, req, chain.AnyTerms))
	if lock.Posted != nil || lock.JobID.Cmp(posted.JobID) != 0 {
		t.Fatalf("lock: %+v", lock)
	}

	_, err := e.provider.Lock(e.ctx, req, chain.AnyTerms)
	var re *chain.RevertError
	if !errors.As(err, &re) || re.Name != "WrongState" || re.Args[0].(*big.Int).Cmp(posted.JobID) != 0 ||
		chain.JobState(re.Args[1].(uint8)) != chain.StateLocked || !errors.Is(err, chain.ErrReverted) {
		t.Fatalf("second lock: %v, want WrongState(job, Locked)", err)
	}
	// ProviderRegistry's errors come through the manager.
	other := e.request()
	if _, err := e.keeper.LockRequest(e.ctx, other, e.sign(other), chain.AnyTerms); !chain.IsRevert(err, "NotRegistered") {
		t.Fatalf("lock by a stranger: %v, want NotRegistered", err)
	}
	forged := e.sign(other)
	other.Price = new(big.Int).Mul(v1Price, big.NewInt(2))
	if _, err := e.provider.LockRequest(e.ctx, other, forged, chain.AnyTerms); !chain.IsRevert(err, "BadRequestSignature") {
		t.Fatalf("altered request: %v, want BadRequestSignature", err)
	}
	bad := e.request()
	bad.Price = big.NewInt(0)
	if _, err := e.buyer.Post(e.ctx, bad, ""); !chain.IsRevert(err, "BadTerms") {
		t.Fatalf("zero price: %v, want BadTerms", err)
	}
	// ClassRegistry's.
	if _, err := e.gov.RegisterClass(e.ctx, v1Class, e.gov.Addresses().Hasher, e.gov.Addresses().Hasher, 1); !chain.IsRevert(err, "ClassAlreadyRegistered") {
		t.Fatalf("class registered twice: %v, want ClassAlreadyRegistered", err)
	}
	if _, err := e.keeper.RetireClass(e.ctx, e.class); !chain.IsRevert(err, "OwnableUnauthorizedAccount") {
		t.Fatalf("retire by a stranger: %v, want OwnableUnauthorizedAccount", err)
	}

	c := must[*chain.CommitResult](t)(e.provider.Commit(e.ctx, posted.JobID, traceRootOf(posted.JobID), attestationOf(posted.JobID)))
	if _, err := e.provider.SeedOf(e.ctx, posted.JobID); !chain.IsRevert(err, "SeedUnavailable") {
		t.Fatalf("seed before the seed block: %v, want SeedUnavailable", err)
	}
	if _, err := e.provider.Submit(e.ctx, e.submissionFor(req, c.Committed, big.NewInt(1))); !chain.IsRevert(err, "SeedUnavailable") {
		t.Fatalf("submission before the seed block: %v, want SeedUnavailable", err)
	}
	e.toSeed(c.Committed)
	sub := e.submission(req, c.Committed, true)
	stored := must[[32]byte](t)(chain.HashCommitment(c.Commitment))
	// Each field of the commitment is bound: another trace root, attestation or
	// stake does not open the stored hash.
	for name, alter := range map[string]func(*chain.Commitment){
		"trace root":  func(c *chain.Commitment) { c.TraceRoot = new(big.Int).Add(c.TraceRoot, big.NewInt(1)) },
		"attestation": func(c *chain.Commitment) { c.AttestationDigest[0] ^= 1 },
		"stake":       func(c *chain.Commitment) { c.Stake = new(big.Int).Sub(c.Stake, big.NewInt(1)) },
	} {
		wrong := sub
		wrong.Commitment = chain.CommitmentFromEvent(c.Committed)
		alter(&wrong.Commitment)
		_, err := e.provider.Submit(e.ctx, wrong)
		if !errors.As(err, &re) || re.Name != "CommitmentMismatch" || re.Args[2].([32]byte) != stored {
			t.Fatalf("other %s: %v, want CommitmentMismatch(.., .., stored commitment)", name, err)
		}
	}
	// A stranger naming itself as the provider opens nothing either.
	stranger := sub
	stranger.Commitment.Provider = e.keeper.Address()
	if _, err := e.keeper.Submit(e.ctx, stranger); !chain.IsRevert(err, "CommitmentMismatch") {
		t.Fatalf("stranger's own commitment: %v, want CommitmentMismatch", err)
	}
	oversized := sub
	oversized.Commitment.Stake = new(big.Int).Lsh(big.NewInt(1), 96)
	if _, err := e.provider.Submit(e.ctx, oversized); err == nil || errors.Is(err, chain.ErrReverted) {
		t.Fatalf("stake of 2^96: %v, want a local error", err)
	}
	// ResultDigest's errors come from the ResultHasher through the manager.
	short := sub
	short.Result = sub.Result[:1]
	_, err = e.provider.Submit(e.ctx, short)
	if !errors.As(err, &re) || re.Name != "BadResultLength" || re.Args[0].(*big.Int).Int64() != 1 || re.Args[1].(*big.Int).Int64() != v1Tokens {
		t.Fatalf("one result word: %v, want BadResultLength(1, %d)", err, v1Tokens)
	}
	if _, err := e.keeper.Submit(e.ctx, sub); !chain.IsRevert(err, "Unauthorized") {
		t.Fatalf("submission by a stranger: %v, want Unauthorized", err)
	}
	if e.state(posted.JobID) != chain.StateCommitted {
		t.Fatalf("state %v after refused submissions, want Committed", e.state(posted.JobID))
	}
	// The sender recovered its nonce after every refused send.
	if res := must[*chain.SubmitResult](t)(e.provider.Submit(e.ctx, sub)); res.Outcome != chain.OutcomeProved {
		t.Fatalf("honest submission: %v", res.Outcome)
	}
	t.Logf("gas: deposit %d, post (escrow from the deposit) %d, lock %d, commit %d", dep.GasUsed, posted.GasUsed, lock.GasUsed, c.GasUsed)
}

func TestRegistryAndParams(t *testing.T) {
	e := setup(t)
	cls := must[chain.Class](t)(e.keeper.ClassOf(e.ctx, e.class))
	if chain.ClassStatus(cls.Status) != chain.ClassStatusActive || cls.MinSlots != 1 {
		t.Fatalf("class %+v", cls)
	}
	root := big.NewInt(0x1111)
	e.ok(e.keeper.RegisterModel(e.ctx, root, e.class, "file:///models/m"))
	if m := must[chain.ModelEntry](t)(e.keeper.ModelOf(e.ctx, root)); m.ClassId != e.class || m.Registrant != e.keeper.Address() || m.Uri != "file:///models/m" {
		t.Fatalf("model %+v", m)
	}
	// Only governance corrects a claim.
	if _, err := e.keeper.CorrectModel(e.ctx, root, e.class, "file:///models/squat"); !chain.IsRevert(err, "OwnableUnauthorizedAccount") {
		t.Fatalf("correction by a stranger: %v, want OwnableUnauthorizedAccount", err)
	}
	if _, err := e.gov.CorrectModel(e.ctx, big.NewInt(0x9999), e.class, ""); !chain.IsRevert(err, "ModelNotRegistered") {
		t.Fatalf("correction of an unknown model: %v, want ModelNotRegistered", err)
	}
	e.ok(e.gov.CorrectModel(e.ctx, root, e.class, "file:///models/m2"))
	if m := must[chain.ModelEntry](t)(e.keeper.ModelOf(e.ctx, root)); m.Registrant != e.gov.Address() || m.Uri != "file:///models/m2" {
		t.Fatalf("corrected model %+v", m)
	}
	e.ok(e.gov.SetBountyBps(e.ctx, 700))
	e.ok(e.gov.SetMinWindows(e.ctx, 120, 180))
	p := must[chain.Params](t)(e.keeper.Params(e.ctx))
	if p.BountyBps != 700 || p.MinExecWindow != 120 || p.MinProveWindow != 180 || p.DetectionFloorBps != 1000 || p.AbandonBps != 1000 {
		t.Fatalf("params %+v", p)
	}
	if _, err := e.buyer.Post(e.ctx, e.request(), ""); err != nil { // windows of an hour pass the new minimums
		t.Fatal(err)
	}
	short := e.request()
	short.ExecWindow = 60
	if _, err := e.buyer.Post(e.ctx, short, ""); !chain.IsRevert(err, "BadWindows") {
		t.Fatalf("short window: %v, want BadWindows", err)
	}
	e.ok(e.gov.RetireClass(e.ctx, e.class))
	if _, err := e.buyer.Post(e.ctx, e.request(), ""); !chain.IsRevert(err, "ClassNotActive") {
		t.Fatalf("retired class: %v, want ClassNotActive", err)
	}
}

func TestAddressesFile(t *testing.T) {
	a := chain.Addresses{
		Token: common.HexToAddress("0x01"), Providers: common.HexToAddress("0x02"), Classes: common.HexToAddress("0x03"),
		Hasher: common.HexToAddress("0x04"), Manager: common.HexToAddress("0x05"),
	}
	raw, err := json.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "v1.json")
	if err := os.WriteFile(path, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	if got, err := chain.ReadAddresses(path); err != nil || got != a {
		t.Fatalf("read back %+v, %v", got, err)
	}
	// A configuration names its deployment inline or by file, never both.
	if got, err := chain.ResolveAddresses(chain.Addresses{}, path); err != nil || got != a {
		t.Fatalf("resolved from the file %+v, %v", got, err)
	}
	if got, err := chain.ResolveAddresses(a, ""); err != nil || got != a {
		t.Fatalf("resolved inline %+v, %v", got, err)
	}
	if _, err := chain.ResolveAddresses(a, path); err == nil || err.Error() != "set either deploymentFile or the deployment addresses, not both" {
		t.Fatalf("both: %v", err)
	}
	a.Hasher = common.Address{}
	raw, _ = json.Marshal(a)
	if err := os.WriteFile(path, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := chain.ReadAddresses(path); err == nil {
		t.Fatal("a file without the hasher address was accepted")
	}
}

func TestJobIDRefusesUnencodableRequest(t *testing.T) {
	req := chain.Request{ModelRoot: big.NewInt(1), JobDigest: big.NewInt(2), Price: new(big.Int).Lsh(big.NewInt(1), 96), Salt: big.NewInt(3)}
	if _, err := chain.JobID(big.NewInt(1337), common.Address{}, req); err == nil {
		t.Fatal("a price of 2^96 got a job id")
	}
	req.Price, req.Salt = big.NewInt(1), nil
	if _, err := chain.JobID(big.NewInt(1337), common.Address{}, req); err == nil {
		t.Fatal("a nil salt got a job id")
	}
	if _, err := chain.SignRequest(key(t), big.NewInt(-1)); err == nil {
		t.Fatal("signed a negative job id")
	}
}

func TestBatchNamesAJobTwice(t *testing.T) {
	e := setup(t)
	a, b := e.request(), e.request()
	_, ca := e.lockedCommitted(a)
	_, cb := e.lockedCommitted(b)
	e.toSeed(cb.Committed)
	sa := e.submission(a, ca.Committed, true)
	res := must[*chain.BatchResult](t)(e.provider.SubmitBatch(e.ctx, []chain.Submission{sa, e.submission(b, cb.Committed, true), sa}))
	got := []chain.Outcome{res.Jobs[0].Outcome, res.Jobs[1].Outcome, res.Jobs[2].Outcome}
	if !slices.Equal(got, []chain.Outcome{chain.OutcomeProved, chain.OutcomeProved, chain.OutcomeSkipped}) {
		t.Fatalf("outcomes %v, want proved, proved, skipped", got)
	}
	if r := res.Jobs[2].Skipped.Reason; r.Name != "WrongState" || chain.JobState(r.Args[1].(uint8)) != chain.StateSettled {
		t.Fatalf("second occurrence skipped with %v, want WrongState(.., Settled)", r)
	}
}

// A deployment file names its chain; a client on another chain is refused.
func TestMarketRefusesAnotherChainsDeployment(t *testing.T) {
	ctx := context.Background()
	key, err := crypto.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	sim := chain.NewSimulated(chain.SimOptions{Policy: chain.MineOnSend}, crypto.PubkeyToAddress(key.PublicKey))
	defer sim.Close()
	d, err := chain.Deploy(ctx, sim.Client(), key, chain.DeployParams{UnbondingDelay: 60})
	if err != nil {
		t.Fatal(err)
	}
	a := d.Addresses
	a.ChainID = 1337
	if _, err := chain.NewMarket(ctx, sim.Client(), a, key); err != nil {
		t.Fatalf("its own chain refused: %v", err)
	}
	a.ChainID = 1
	if _, err := chain.NewMarket(ctx, sim.Client(), a, key); err == nil || !strings.Contains(err.Error(), "chain 1, the endpoint is chain 1337") {
		t.Fatalf("another chain's deployment: %v", err)
	}
}

// TestLockLimitsRefuseRaisedRates (review F5): a provider that read the terms (LockLimitsNow)
// is not locked on worse ones when governance raises the stake (a lower detection floor) or
// the abandonment fee before its lock is mined: the lock reverts with LockTermsExceeded, and
// the terms read again lock.
func TestLockLimitsRefuseRaisedRates(t *testing.T) {
	e := setup(t)
	req := e.request()
	read := must[chain.LockLimits](t)(e.provider.LockLimitsNow(e.ctx, req))
	if read.MaxStake.Cmp(must[*big.Int](t)(e.keeper.RequiredStake(e.ctx, req.Price, 1))) != 0 || read.MaxAbandonBps == 0 {
		t.Fatalf("limits %+v", read)
	}
	p := must[chain.Params](t)(e.keeper.Params(e.ctx))
	e.ok(e.gov.SetDetectionFloorBps(e.ctx, p.DetectionFloorBps/2))
	if _, err := e.provider.LockRequest(e.ctx, req, e.sign(req), read); !chain.IsRevert(err, "LockTermsExceeded") {
		t.Fatalf("raised stake: %v, want LockTermsExceeded", err)
	}
	again := must[chain.LockLimits](t)(e.provider.LockLimitsNow(e.ctx, req))
	e.ok(e.gov.SetAbandonBps(e.ctx, p.AbandonBps+100))
	if _, err := e.provider.LockRequest(e.ctx, req, e.sign(req), again); !chain.IsRevert(err, "LockTermsExceeded") {
		t.Fatalf("raised fee: %v, want LockTermsExceeded", err)
	}
	now := must[chain.LockLimits](t)(e.provider.LockLimitsNow(e.ctx, req))
	locked := must[*chain.LockResult](t)(e.provider.LockRequest(e.ctx, req, e.sign(req), now))
	if locked.Locked.Stake.Cmp(now.MaxStake) != 0 {
		t.Fatalf("locked stake %v, limit %v", locked.Locked.Stake, now.MaxStake)
	}
}
