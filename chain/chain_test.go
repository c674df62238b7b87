package chain_test

import (
	"context"
	"crypto/ecdsa"
	"errors"
	"math/big"
	"sync"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/probitylabs/probity/chain"
)

var (
	ether    = new(big.Int).Exp(big.NewInt(10), big.NewInt(18), nil)
	epilogue = new(big.Int).SetUint64(1<<30 + 31<<32 + 128<<40 + 1<<48)
)

func tokens(n int64) *big.Int { return new(big.Int).Mul(big.NewInt(n), ether) }

type env struct {
	t                            *testing.T
	ctx                          context.Context
	sim                          *chain.Simulated
	gov, buyer, provider, keeper *chain.Client
	nodeKey                      *ecdsa.PrivateKey
	shape                        [32]byte
	k                            uint16 // samples of shape
}

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

// setup deploys the stack on a simulated chain, registers the tiny shape with a
// real Groth16Verifier, funds a buyer and stakes a provider.
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
	client := func(k *ecdsa.PrivateKey) *chain.Client {
		return must[*chain.Client](t)(chain.NewClient(ctx, sim.Client(), d.Addresses, k))
	}
	e := &env{t: t, ctx: ctx, sim: sim, gov: client(govK), buyer: client(buyerK), provider: client(provK), keeper: client(keeperK), nodeKey: nodeK}

	verifier := must[common.Address](t)(e.gov.DeployVerifier(ctx, syntheticVK()))
	e.shape, e.k = must[[32]byte](t)(e.gov.RegisterShape(ctx, verifier, 16, 4, 3, 2)), 2
	for _, c := range []*chain.Client{e.buyer, e.provider} {
		if _, err := e.gov.Mint(ctx, c.Address(), tokens(1_000_000)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.buyer.Approve(ctx, d.Manager.Address(), tokens(1_000_000)); err != nil {
		t.Fatal(err)
	}
	if _, err := e.provider.Approve(ctx, d.Providers.Address(), tokens(1_000_000)); err != nil {
		t.Fatal(err)
	}
	if _, err := e.provider.Register(ctx, addr(nodeK), tokens(100_000)); err != nil {
		t.Fatal(err)
	}
	return e
}

func (e *env) spec() chain.JobSpec {
	return chain.JobSpec{
		InputRoot: big.NewInt(111),
		Rows:      8,
		Layers:    []chain.Layer{{ShapeId: e.shape, WeightsRoot: big.NewInt(222), Epilogue: epilogue}},
	}
}

func (e *env) now() uint64 {
	h, err := e.sim.Client().HeaderByNumber(e.ctx, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	return h.Time
}

// lockedAndCommitted posts, locks and commits a job; returns its id and roots.
func (e *env) lockedAndCommitted() (*big.Int, []*big.Int) {
	t := e.t
	posted, _, err := e.buyer.PostJob(e.ctx, chain.PostJobParams{
		Spec: e.spec(), Price: tokens(1000), LockBy: e.now() + 3600, ExecWindow: 3600, ProveWindow: 3600, InputURI: "ipfs://job",
	})
	if err != nil {
		t.Fatal(err)
	}
	locked, _, err := e.provider.Lock(e.ctx, posted.JobId)
	if err != nil {
		t.Fatal(err)
	}
	want := must[*big.Int](t)(e.provider.RequiredStake(e.ctx, tokens(1000), e.k))
	if locked.Stake.Cmp(want) != 0 {
		t.Fatalf("locked stake %v, want %v", locked.Stake, want)
	}
	roots := []*big.Int{big.NewInt(1000)}
	committed, _, err := e.provider.Commit(e.ctx, posted.JobId, roots, [32]byte{1})
	if err != nil {
		t.Fatal(err)
	}
	if committed.SeedBlock == 0 {
		t.Fatal("commit event without seed block")
	}
	return posted.JobId, roots
}

// fixSeed mines past the seed block and fixes the seed.
func (e *env) fixSeed(jobID *big.Int) *big.Int {
	fixed, err := e.keeper.FixSeedWhenReady(e.ctx, jobID, 0)
	if err != nil {
		e.t.Fatal(err)
	}
	if fixed.ProveBy == 0 {
		e.t.Fatal("fixed seed without a proof deadline")
	}
	// A second call finds the seed already fixed and returns it, with the same deadline.
	again, err := e.buyer.FixSeedWhenReady(e.ctx, jobID, 0)
	if err != nil || again.Seed.Cmp(fixed.Seed) != 0 || again.ProveBy != fixed.ProveBy {
		e.t.Fatalf("second FixSeedWhenReady: %v, %v (want %v)", again, err, fixed)
	}
	return fixed.Seed
}

func (e *env) submission(jobID *big.Int, roots []*big.Int, seed *big.Int, proof chain.Proof) chain.Submission {
	t := e.t
	spec := e.spec()
	proofs := []chain.Proof{proof}
	digest := must[[32]byte](t)(e.provider.ReceiptDigest(e.ctx, chain.Receipt{
		JobId: jobID, Provider: e.provider.Address(), SpecHash: must[[32]byte](t)(e.provider.SpecHash(e.ctx, spec)),
		OutputRoots: roots, AttestationDigest: [32]byte{1}, Seed: seed, K: e.k, ProofsHash: chain.ProofsHash(proofs),
	}))
	sig := must[[]byte](t)(chain.SignDigest(e.nodeKey, digest))
	return chain.Submission{Spec: spec, OutputRoots: roots, AttestationDigest: [32]byte{1}, Proofs: proofs, Signature: sig}
}

func (e *env) validProof(roots []*big.Int, seed *big.Int) chain.Proof {
	spec := e.spec()
	ls := must[*big.Int](e.t)(e.provider.LayerSeed(e.ctx, seed, 0))
	return syntheticProof([5]*big.Int{spec.InputRoot, spec.Layers[0].WeightsRoot, roots[0], ls, spec.Layers[0].Epilogue})
}

func TestFullJobSettlesWithRealVerifier(t *testing.T) {
	e := setup(t)
	jobID, roots := e.lockedAndCommitted()
	seed := e.fixSeed(jobID)
	res, err := e.provider.SubmitProof(e.ctx, jobID, e.submission(jobID, roots, seed, e.validProof(roots, seed)))
	if err != nil {
		t.Fatal(err)
	}
	if res.Settled == nil || res.Settled.Price.Cmp(tokens(1000)) != 0 {
		t.Fatalf("not settled: %+v", res)
	}
	t.Logf("submitProof gas used: %d", res.Receipt.GasUsed)
	job := must[chain.Job](t)(e.provider.GetJob(e.ctx, jobID))
	if chain.JobState(job.State) != chain.StateSettled {
		t.Fatalf("state %v, want Settled", chain.JobState(job.State))
	}
	before := must[*big.Int](t)(e.provider.TokenBalance(e.ctx, e.provider.Address()))
	w, _, err := e.provider.Withdraw(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	after := must[*big.Int](t)(e.provider.TokenBalance(e.ctx, e.provider.Address()))
	if new(big.Int).Sub(after, before).Cmp(tokens(1000)) != 0 || w.Amount.Cmp(tokens(1000)) != 0 {
		t.Fatalf("withdrew %v (event %v), want 1000 tokens", new(big.Int).Sub(after, before), w.Amount)
	}
	// A settled job is final.
	_, err = e.provider.SubmitProof(e.ctx, jobID, e.submission(jobID, roots, seed, e.validProof(roots, seed)))
	if !chain.IsRevert(err, "WrongState") {
		t.Fatalf("resubmission: %v, want WrongState", err)
	}
}

func TestInvalidProofSlashes(t *testing.T) {
	e := setup(t)
	jobID, roots := e.lockedAndCommitted()
	seed := e.fixSeed(jobID)
	proof := e.validProof(roots, seed)
	proof[0] = new(big.Int).Xor(proof[0], big.NewInt(1)) // A off the curve
	res, err := e.provider.SubmitProof(e.ctx, jobID, e.submission(jobID, roots, seed, proof))
	if err != nil {
		t.Fatal(err)
	}
	if res.Settled != nil || res.Rejected == nil || res.Slashed == nil {
		t.Fatalf("want rejected and slashed, got %+v", res)
	}
	if res.Slashed.Bounty.Sign() != 0 {
		t.Fatalf("bounty %v on an invalid-proof slash", res.Slashed.Bounty)
	}
	credit := must[*big.Int](t)(e.buyer.CreditOf(e.ctx, e.buyer.Address()))
	want := new(big.Int).Add(tokens(1000), res.Slashed.Stake)
	if credit.Cmp(want) != 0 {
		t.Fatalf("buyer credit %v, want %v", credit, want)
	}
}

func TestProofForAnotherSeedSlashes(t *testing.T) {
	e := setup(t)
	jobID, roots := e.lockedAndCommitted()
	seed := e.fixSeed(jobID)
	other := new(big.Int).Add(seed, big.NewInt(1))
	res, err := e.provider.SubmitProof(e.ctx, jobID, e.submission(jobID, roots, seed, e.validProof(roots, other)))
	if err != nil {
		t.Fatal(err)
	}
	if res.Slashed == nil {
		t.Fatalf("a proof for another seed was not slashed: %+v", res)
	}
}

func TestBadSignatureReverts(t *testing.T) {
	e := setup(t)
	jobID, roots := e.lockedAndCommitted()
	seed := e.fixSeed(jobID)
	sub := e.submission(jobID, roots, seed, e.validProof(roots, seed))
	sub.Signature[10] ^= 1
	_, err := e.provider.SubmitProof(e.ctx, jobID, sub)
	if !errors.Is(err, chain.ErrReverted) || !chain.IsRevert(err, "BadReceiptSignature") {
		t.Fatalf("got %v, want BadReceiptSignature", err)
	}
}

func TestDeadlineSlashPaysBounty(t *testing.T) {
	e := setup(t)
	posted, _, err := e.buyer.PostJob(e.ctx, chain.PostJobParams{
		Spec: e.spec(), Price: tokens(1000), LockBy: e.now() + 3600, ExecWindow: 60, ProveWindow: 60,
	})
	if err != nil {
		t.Fatal(err)
	}
	locked, _, err := e.provider.Lock(e.ctx, posted.JobId)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.keeper.Slash(e.ctx, posted.JobId); !chain.IsRevert(err, "DeadlineNotPassed") {
		t.Fatalf("early slash: %v, want DeadlineNotPassed", err)
	}
	if err := e.sim.AdjustTime(2 * time.Minute); err != nil {
		t.Fatal(err)
	}
	slashed, _, err := e.keeper.Slash(e.ctx, posted.JobId)
	if err != nil {
		t.Fatal(err)
	}
	wantBounty := new(big.Int).Div(new(big.Int).Mul(locked.Stake, big.NewInt(500)), big.NewInt(10_000))
	if slashed.Bounty.Cmp(wantBounty) != 0 || slashed.Caller != e.keeper.Address() {
		t.Fatalf("bounty %v to %v, want %v to keeper", slashed.Bounty, slashed.Caller, wantBounty)
	}
	if _, _, err := e.keeper.Withdraw(e.ctx); err != nil {
		t.Fatal(err)
	}
}

func TestRevertsAreTyped(t *testing.T) {
	e := setup(t)
	posted, _, err := e.buyer.PostJob(e.ctx, chain.PostJobParams{
		Spec: e.spec(), Price: tokens(1), LockBy: e.now() + 3600, ExecWindow: 60, ProveWindow: 60,
	})
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = e.keeper.Cancel(e.ctx, posted.JobId)
	var re *chain.RevertError
	if !errors.As(err, &re) || re.Name != "Unauthorized" || len(re.Args) != 2 || re.Args[0] != e.keeper.Address() {
		t.Fatalf("got %v, want Unauthorized(keeper, buyer)", err)
	}
	bad := e.spec()
	bad.Layers[0].Epilogue = big.NewInt(0)
	_, _, err = e.buyer.PostJob(e.ctx, chain.PostJobParams{Spec: bad, Price: tokens(1), LockBy: e.now() + 3600, ExecWindow: 60, ProveWindow: 60})
	if !chain.IsRevert(err, "BadEpilogue") {
		t.Fatalf("got %v, want BadEpilogue", err)
	}
	// The sender recovers its nonce after a failed send.
	if _, _, err := e.buyer.Cancel(e.ctx, posted.JobId); err != nil {
		t.Fatal(err)
	}
}

func TestFilterEvents(t *testing.T) {
	e := setup(t)
	jobID, _ := e.lockedAndCommitted()
	posted := must[[]*chain.JobPosted](t)(e.keeper.FilterJobPosted(e.ctx, chain.EventRange{}))
	if len(posted) != 1 || posted[0].JobId.Cmp(jobID) != 0 || posted[0].Spec.Rows != 8 || posted[0].InputURI != "ipfs://job" {
		t.Fatalf("JobPosted events: %+v", posted)
	}
	committed := must[[]*chain.JobCommitted](t)(e.keeper.FilterJobCommitted(e.ctx, chain.EventRange{}))
	if len(committed) != 1 || committed[0].OutputRoots[0].Int64() != 1000 {
		t.Fatalf("JobCommitted events: %+v", committed)
	}
}

func TestSenderConcurrentNonces(t *testing.T) {
	e := setup(t)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			_, err := e.gov.Mint(e.ctx, e.keeper.Address(), big.NewInt(int64(i+1)))
			errs <- err
		}(i)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if bal := must[*big.Int](t)(e.keeper.TokenBalance(e.ctx, e.keeper.Address())); bal.Int64() != 36 {
		t.Fatalf("balance %v, want 36", bal)
	}
}

func TestIntervalMining(t *testing.T) {
	k := key(t)
	sim := chain.NewSimulated(chain.SimOptions{Policy: chain.MineOnInterval, Interval: 20 * time.Millisecond}, addr(k))
	defer sim.Close()
	ctx := context.Background()
	start, err := sim.Client().BlockNumber(ctx)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		n, err := sim.Client().BlockNumber(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if n >= start+3 {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("interval miner did not advance the chain")
}

func TestWatchJobPosted(t *testing.T) {
	e := setup(t)
	sink := make(chan *chain.JobPosted, 4)
	sub, err := e.keeper.WatchJobPosted(e.ctx, sink)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()
	posted, _, err := e.buyer.PostJob(e.ctx, chain.PostJobParams{
		Spec: e.spec(), Price: tokens(3), LockBy: e.now() + 3600, ExecWindow: 60, ProveWindow: 60, InputURI: "ipfs://w",
	})
	if err != nil {
		t.Fatal(err)
	}
	select {
	case ev := <-sink:
		if ev.JobId.Cmp(posted.JobId) != 0 || ev.Buyer != e.buyer.Address() || ev.Price.Cmp(tokens(3)) != 0 {
			t.Fatalf("watched %+v, posted %+v", ev, posted)
		}
	case err := <-sub.Err():
		t.Fatal(err)
	case <-time.After(10 * time.Second):
		t.Fatal("no JobPosted event delivered")
	}
}
