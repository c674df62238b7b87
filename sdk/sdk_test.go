package sdk_test

import (
	"context"
	"crypto/ecdsa"
	"errors"
	"math/big"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"

	attestationpkg "github.com/probitylabs/probity/attestation"
	"github.com/probitylabs/probity/chain"
	"github.com/probitylabs/probity/circuits"
	"github.com/probitylabs/probity/circuits/universal"
	"github.com/probitylabs/probity/circuits/universal/universaltest"
	"github.com/probitylabs/probity/commit"
	"github.com/probitylabs/probity/jobs"
	"github.com/probitylabs/probity/model"
	"github.com/probitylabs/probity/receipt"
	"github.com/probitylabs/probity/sdk"
)

// The provider side of these tests is driven directly with chain.Market and universal.Prove,
// as e2e/settlement_v1_test.go does: a real job of universaltest's model, a real proof of
// universaltest's class, checked on chain by the class's real verifier.

var ether = new(big.Int).Exp(big.NewInt(10), big.NewInt(18), nil)

func tokens(n int64) *big.Int { return new(big.Int).Mul(big.NewInt(n), ether) }

var (
	keysOnce sync.Once
	keys     *circuits.Keys
	keysErr  error
)

func classKeys(t testing.TB) *circuits.Keys {
	t.Helper()
	keysOnce.Do(func() { keys, keysErr = universal.Setup(universaltest.Class()) })
	if keysErr != nil {
		t.Fatal(keysErr)
	}
	return keys
}

var (
	targetedOnce sync.Once
	targetedKeys *circuits.Keys
	targetedErr  error
)

// targetedClassKeys are the keys of the test class's targeted statement.
func targetedClassKeys(t testing.TB) *circuits.Keys {
	t.Helper()
	targetedOnce.Do(func() {
		cache, err := circuits.DefaultCache()
		if err != nil {
			targetedErr = err
			return
		}
		targetedKeys, targetedErr = cache.Setup(universal.TargetedClass{Class: universaltest.Class()})
	})
	if targetedErr != nil {
		t.Fatal(targetedErr)
	}
	return targetedKeys
}

type env struct {
	t        *testing.T
	ctx      context.Context
	sim      *sdk.Simulated
	buyer    *sdk.Client
	keeper   *sdk.Client
	provider *chain.Market
	provKey  *ecdsa.PrivateKey
	nodeKey  *ecdsa.PrivateKey
	class    *universal.Class
	classID  [32]byte
	model    *model.Model
	dir      string
	book     string
}

func setup(t *testing.T) *env {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	t.Cleanup(cancel)
	sim, err := sdk.NewSimulated(ctx, sdk.SimulatedConfig{Accounts: 3})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sim.Close() })
	e := &env{t: t, ctx: ctx, sim: sim, class: universaltest.Class(), dir: t.TempDir()}
	e.book = (&url.URL{Scheme: "file", Path: filepath.ToSlash(filepath.Join(e.dir, "book"))}).String()
	gov := e.client(sim.Governance)
	if e.classID, err = gov.RegisterClass(ctx, e.class, classKeys(t).VK, targetedClassKeys(t).VK); err != nil {
		t.Fatal(err)
	}
	e.buyer, e.keeper = e.client(sim.Accounts[0]), e.client(sim.Accounts[2])
	e.provKey = sim.Accounts[1]
	if e.provider, err = chain.NewMarket(ctx, sim.Chain.Client(), sim.Addresses, e.provKey); err != nil {
		t.Fatal(err)
	}
	e.nodeKey, _ = crypto.GenerateKey()
	e.ok(e.provider.Approve(ctx, sim.Addresses.Providers, tokens(100_000)))
	e.ok(e.provider.Register(ctx, crypto.PubkeyToAddress(e.nodeKey.PublicKey), tokens(100_000)))
	if e.model, err = universaltest.Model(1); err != nil {
		t.Fatal(err)
	}
	return e
}

func (e *env) client(k *ecdsa.PrivateKey) *sdk.Client {
	c, err := e.sim.Client(e.ctx, k)
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

func (e *env) ok(_ *chain.Tx, err error) { e.t.Helper(); e.must(err) }

func (e *env) must(err error) {
	e.t.Helper()
	if err != nil {
		e.t.Fatal(err)
	}
}

// lock locks an open job for the provider.
func (e *env) lock(req chain.Request) {
	e.t.Helper()
	_, err := e.provider.Lock(e.ctx, req, chain.AnyTerms)
	e.must(err)
}

func (e *env) generation(name string, prompt []int32, n int) sdk.Generation {
	return sdk.Generation{
		Model: e.model, Prompt: prompt, NewTokens: n, Price: tokens(100),
		Class: e.class, JobDir: filepath.Join(e.dir, name),
	}
}

func (e *env) prepare(g sdk.Generation) *sdk.Job {
	e.t.Helper()
	job, err := e.buyer.Prepare(e.ctx, g)
	if err != nil {
		e.t.Fatal(err)
	}
	return job
}

// executed is what a provider computes for a job before committing.
type executed struct {
	job    *jobs.GenJob
	trace  *model.Trace
	tokens []int32
	gen    *jobs.Generated
	file   []byte
	proof  []byte // the 256-byte Solidity encoding, once proved
}

// execute is the provider's intake and execution: fetch the job file from the job URI, check
// it against the request, check it against the model it holds, generate and commit.
func (e *env) execute(req chain.Request, jobURI string) *executed {
	e.t.Helper()
	u, err := url.Parse(jobURI)
	if err != nil {
		e.t.Fatal(err)
	}
	file, err := os.ReadFile(filepath.FromSlash(u.Path))
	if err != nil {
		e.t.Fatal(err)
	}
	j, err := jobs.CheckJobFile(sdk.ProtocolRequest(req), file)
	if err != nil {
		e.t.Fatal(err)
	}
	checked, err := j.Check(e.model)
	if err != nil {
		e.t.Fatal(err)
	}
	tr, toks, err := checked.Generate()
	if err != nil {
		e.t.Fatal(err)
	}
	gen, err := checked.Commit(tr, toks)
	if err != nil {
		e.t.Fatal(err)
	}
	return &executed{job: j, trace: tr, tokens: toks, gen: gen, file: file}
}

// attestationRecord is the provider's attestation record (no GPU here: mode "none") and
// attestation its digest, which the provider commits and Receipt checks the record against.
var (
	attestationRecord = []byte(`{"version":"probity.attestation.v0","mode":"none"}`)
	attestation       = func() common.Hash {
		r, err := attestationpkg.Parse(attestationRecord)
		if err != nil {
			panic(err)
		}
		d, err := r.Digest()
		if err != nil {
			panic(err)
		}
		return d
	}()
)

// waitSeed polls until the job's seed is stored (the buyer's reveal) and returns it.
func (e *env) waitSeed(id *big.Int) *big.Int {
	e.t.Helper()
	for {
		j, err := e.provider.GetJob(e.ctx, id)
		if err != nil {
			e.t.Fatal(err)
		}
		if j.Flags&chain.JobFlagSeedFixed != 0 {
			return j.Seed
		}
		select {
		case <-e.ctx.Done():
			e.t.Fatalf("job %s: no seed fixed: %v", id, e.ctx.Err())
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// proveAndSubmit proves the executed job for seed and submits it.
func (e *env) proveAndSubmit(req chain.Request, committed *chain.JobCommitted, x *executed, seed *big.Int) *chain.SubmitResult {
	e.t.Helper()
	res := e.submit(req, committed, x, seed, false)
	if res.Proved == nil {
		e.t.Fatalf("the honest proof was not accepted: %+v", res.JobOutcome)
	}
	return res
}

// submit proves the executed job for seed and submits it, with one token changed when cheat.
func (e *env) submit(req chain.Request, committed *chain.JobCommitted, x *executed, seed *big.Int, cheat bool) *chain.SubmitResult {
	e.t.Helper()
	s, err := commit.FromBig(seed)
	if err != nil {
		e.t.Fatal(err)
	}
	p, err := universal.Prove(classKeys(e.t), &universal.Statement{Model: e.model, Job: x.job, Trace: x.trace, Tokens: x.tokens, Seed: s})
	if err != nil {
		e.t.Fatal(err)
	}
	x.proof = p.Solidity[:]
	var proof [8]*big.Int
	for i := range proof {
		proof[i] = new(big.Int).SetBytes(p.Solidity[32*i : 32*i+32])
	}
	sent := u32(x.tokens)
	if cheat {
		sent[0] = (sent[0] + 1) % universaltest.Vocab
	}
	words, err := chain.PackResultTokens(sent)
	if err != nil {
		e.t.Fatal(err)
	}
	sub, err := e.provider.NewSubmission(req, committed, words, proof)
	if err != nil {
		e.t.Fatal(err)
	}
	res, err := e.provider.Submit(e.ctx, sub)
	if err != nil {
		e.t.Fatal(err)
	}
	return res
}

func u32(ts []int32) []uint32 {
	out := make([]uint32, len(ts))
	for i, t := range ts {
		out[i] = uint32(t)
	}
	return out
}

type resultOrErr struct {
	res *sdk.Result
	err error
}

// resultAsync runs the buyer's Result concurrently, as a dApp waiting for its answer would.
func (e *env) resultAsync(job *sdk.Job) <-chan resultOrErr {
	ch := make(chan resultOrErr, 1)
	go func() {
		r, err := e.buyer.Result(e.ctx, job)
		ch <- resultOrErr{r, err}
	}()
	return ch
}

// TestOfferLockAndCommit is the offer path end to end: the buyer deposits, prepares and
// offers, sending no transaction for the job; the provider reads the order book, checks the
// offer and the job file, runs the job and creates it with lockAndCommit; the buyer's Result
// reveals the seed once the seed block is mined; the provider proves for that seed; Result
// returns the tokens read from JobProved, which equal the generated ones; the job settles at
// once (zero challenge window) and the provider withdraws the price.
func TestOfferLockAndCommit(t *testing.T) {
	e := setup(t)
	if err := e.buyer.Deposit(e.ctx, tokens(100)); err != nil {
		t.Fatal(err)
	}
	job := e.prepare(e.generation("offer", []int32{1, 2, 3}, 6))
	if job.SeedSecret == ([32]byte{}) || job.Request.SeedCommitment == ([32]byte{}) {
		t.Fatal("no seed commitment by default")
	}
	if _, err := e.buyer.Offer(e.ctx, job, e.book); err != nil {
		t.Fatal(err)
	}
	if n, _ := e.sim.Chain.Client().PendingNonceAt(e.ctx, e.buyer.Address()); n != 2 {
		t.Fatalf("the buyer sent %d transactions, want 2 (approve and deposit; none for the offer)", n)
	}
	result := e.resultAsync(job)

	// The provider's side, from the order book on.
	var br jobs.BookReader
	entries, err := br.ReadAll(e.ctx, e.book)
	if err != nil || len(entries) != 1 || entries[0].Err != nil {
		t.Fatalf("book: %+v (%v)", entries, err)
	}
	o := entries[0].Offer
	head, _ := e.sim.Chain.Client().HeaderByNumber(e.ctx, nil)
	id, err := o.Check(e.provider.ChainID(), e.sim.Addresses.Manager, head.Time)
	if err != nil || id.Cmp(job.ID) != 0 {
		t.Fatalf("offer check: job %v (%v), want %s", id, err, job.ID)
	}
	req := sdk.ChainRequest(o.Request)
	x := e.execute(req, o.JobURI)
	locked, err := e.provider.LockAndCommit(e.ctx, req, o.Signature, commit.ToBig(x.gen.TraceRoot), attestation, chain.AnyTerms)
	if err != nil {
		t.Fatal(err)
	}
	if bal, _ := e.buyer.Market().EscrowBalanceOf(e.ctx, e.buyer.Address()); bal.Sign() != 0 {
		t.Fatalf("escrow balance %s after lock, want the deposit taken", bal)
	}
	e.sim.Chain.Mine(3) // past the seed block: the buyer reveals now
	seed := e.waitSeed(job.ID)
	res := e.proveAndSubmit(req, locked.Committed, x, seed)
	if res.Settled == nil {
		t.Fatal("a zero challenge window did not settle at the proof")
	}

	r := <-result
	if r.err != nil {
		t.Fatal(r.err)
	}
	if !slices.Equal(r.res.Tokens, u32(x.tokens)) {
		t.Fatalf("result %v, generated %v", r.res.Tokens, x.tokens)
	}
	if r.res.Seed.Cmp(seed) != 0 || r.res.Provider != e.provider.Address() {
		t.Fatalf("result seed %s provider %s", r.res.Seed, r.res.Provider)
	}
	if _, err := e.buyer.WaitSettled(e.ctx, job.ID); err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, ev := range mustEvents(t, e.buyer, job.ID) {
		switch ev := ev.(type) {
		case sdk.Posted:
			kinds = append(kinds, "Posted")
		case sdk.Locked:
			kinds = append(kinds, "Locked")
		case sdk.Committed:
			kinds = append(kinds, "Committed")
		case sdk.SeedFixed:
			if !ev.Revealed {
				t.Fatal("the seed was fixed without the buyer's secret")
			}
			kinds = append(kinds, "SeedFixed")
		case sdk.Proved:
			kinds = append(kinds, "Proved")
		case sdk.Settled:
			kinds = append(kinds, "Settled")
		}
	}
	if want := []string{"Posted", "Locked", "Committed", "SeedFixed", "Proved", "Settled"}; !slices.Equal(kinds, want) {
		t.Fatalf("events %v, want %v", kinds, want)
	}
	// The job created by the lock has no URI on chain: the offer carried it.
	if loaded, err := e.buyer.LoadJob(e.ctx, job.ID); err != nil || loaded.SeedSecret != job.SeedSecret || loaded.JobURI != "" {
		t.Fatalf("LoadJob: %+v (%v)", loaded, err)
	}
	paid, err := e.provider.Withdraw(e.ctx)
	if err != nil || paid.Withdrawn.Amount.Cmp(tokens(100)) != 0 {
		t.Fatalf("provider withdrew %v (%v), want the price", paid, err)
	}
}

func mustEvents(t *testing.T, c *sdk.Client, id *big.Int) []sdk.Event {
	t.Helper()
	evs, err := c.Events(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

// TestPostedPath is the posted path: the buyer posts with the job URI (approving the price on
// the way); the provider finds the job from JobPosted, locks, runs and commits; the buyer
// reveals; the proof lands; the job is Proved through a challenge window, Watch streams every
// step, and Finalize after the window settles it. The job comes from a model file and a
// byte-level prompt (Text).
func TestPostedPath(t *testing.T) {
	e := setup(t)
	modelFile := filepath.Join(e.dir, "model.safetensors")
	if err := model.WriteFile(modelFile, e.model); err != nil {
		t.Fatal(err)
	}
	g := e.generation("posted", nil, 5)
	g.Model, g.ModelFile, g.Text = nil, modelFile, "\x03\x01\x04"
	g.ChallengeWindow = 600
	job := e.prepare(g)
	if !slices.Equal(job.Gen.Prompt, []int32{3, 1, 4}) {
		t.Fatalf("prompt %v", job.Gen.Prompt)
	}
	if _, err := e.buyer.Post(e.ctx, job); err != nil {
		t.Fatal(err)
	}
	// Watch is a range loop: the events are collected while the job runs.
	watched := make(chan []string, 1)
	go func() {
		var kinds []string
		for ev, err := range e.buyer.Watch(e.ctx, job.ID) {
			if err != nil {
				t.Error(err)
				break
			}
			kinds = append(kinds, typeName(ev))
		}
		watched <- kinds
	}()
	result := e.resultAsync(job)

	posted, err := e.provider.FilterJobPosted(e.ctx, chain.EventRange{})
	if err != nil || len(posted) != 1 {
		t.Fatalf("JobPosted: %d (%v)", len(posted), err)
	}
	req, uri := posted[0].Request, posted[0].InputURI
	if uri != job.JobURI {
		t.Fatalf("posted URI %q, want %q", uri, job.JobURI)
	}
	x := e.execute(req, uri)
	e.lock(req)
	committed, err := e.provider.Commit(e.ctx, job.ID, commit.ToBig(x.gen.TraceRoot), attestation)
	if err != nil {
		t.Fatal(err)
	}
	e.sim.Chain.Mine(3)
	seed := e.waitSeed(job.ID)
	res := e.proveAndSubmit(req, committed.Committed, x, seed)
	if res.Settled != nil {
		t.Fatal("settled inside its challenge window")
	}
	r := <-result
	if r.err != nil {
		t.Fatal(r.err)
	}
	if !slices.Equal(r.res.Tokens, u32(x.tokens)) || !r.res.TextOK {
		t.Fatalf("result %v (text ok %v), generated %v", r.res.Tokens, r.res.TextOK, x.tokens)
	}
	if _, err := e.buyer.Receipt(e.ctx, job); !errors.Is(err, sdk.ErrNoReceipt) {
		t.Fatalf("receipt before the provider published one: %v", err)
	}
	if err := e.sim.Chain.AdjustTime(601 * time.Second); err != nil {
		t.Fatal(err)
	}
	if _, err := e.keeper.Finalize(e.ctx, job.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.buyer.WaitSettled(e.ctx, job.ID); err != nil {
		t.Fatal(err)
	}

	// The provider publishes its receipt next to the job file; the buyer accepts it only as
	// the one JobProved names.
	rc := e.receipt(job, committed.Committed, x, seed)
	e.publish(job, rc)
	got, err := e.buyer.WaitReceipt(e.ctx, job)
	if err != nil {
		t.Fatal(err)
	}
	if got.Digest() != r.res.ReceiptDigest || !slices.Equal(got.Result.Tokens, r.res.Tokens) {
		t.Fatal("the accepted receipt is not JobProved's")
	}
	for name, edit := range map[string]func(*receipt.Receipt){
		"other trace root": func(rc *receipt.Receipt) { rc.TraceRoot[31] ^= 1 },
		"other tokens":     func(rc *receipt.Receipt) { rc.Result.Tokens[0] ^= 1 },
		"other job":        func(rc *receipt.Receipt) { rc.JobID = receipt.NewUint(big.NewInt(1)) },
	} {
		bad := e.receipt(job, committed.Committed, x, seed)
		edit(bad)
		if err := bad.Sign(e.nodeKey); err != nil {
			t.Fatal(err)
		}
		e.publish(job, bad)
		if _, err := e.buyer.Receipt(e.ctx, job); !errors.Is(err, sdk.ErrReceiptDigest) {
			t.Errorf("%s: %v, want ErrReceiptDigest", name, err)
		}
	}

	kinds := <-watched
	if want := []string{"Posted", "Locked", "Committed", "SeedFixed", "Proved", "Settled"}; !slices.Equal(kinds, want) {
		t.Fatalf("watched %v, want %v", kinds, want)
	}
}

// receipt is the provider's receipt document of a proved job (settlement.md §9), signed by its
// node key: receipttest.Job.Receipt's fields, from the proof already made and the chain's
// commitment and seed block.
func (e *env) receipt(job *sdk.Job, committed *chain.JobCommitted, x *executed, seed *big.Int) *receipt.Receipt {
	e.t.Helper()
	req, err := receipt.NewRequest(sdk.ProtocolRequest(job.Request))
	e.must(err)
	seedHeader, err := e.sim.Chain.Client().HeaderByNumber(e.ctx, new(big.Int).SetUint64(committed.SeedBlock))
	e.must(err)
	bounds, err := e.class.Bounds(e.model, x.job.Rows(), x.job.New)
	e.must(err)
	rc := &receipt.Receipt{
		Version: receipt.Version, ChainID: receipt.NewUint(e.provider.ChainID()), Manager: e.sim.Addresses.Manager,
		JobID: receipt.NewUint(job.ID), Request: req, Job: x.file,
		Class:    receipt.ClassOf(e.class),
		Provider: committed.Provider, Stake: receipt.NewUint(committed.Stake),
		TraceRoot: receipt.MustWord(committed.TraceRoot), AttestationDigest: receipt.Word(committed.AttestationDigest),
		Seed: receipt.Seed{Block: committed.SeedBlock, BlockHash: receipt.Word(seedHeader.Hash()),
			Secret: receipt.Word(job.SeedSecret), Value: receipt.MustWord(seed)},
		Result:      receipt.Result{Tokens: u32(x.tokens), Digest: receipt.MustWord(commit.ToBig(x.gen.ResultDigest))},
		Proof:       x.proof,
		Detection:   receipt.DetectionOf(bounds),
		Attestation: attestationRecord,
	}
	e.must(rc.Sign(e.nodeKey))
	return rc
}

func (e *env) publish(job *sdk.Job, rc *receipt.Receipt) {
	e.t.Helper()
	doc, err := rc.MarshalIndent()
	e.must(err)
	e.must(jobs.PublishReceipt(e.ctx, nil, job.JobURI, job.ID, doc))
}

func typeName(ev sdk.Event) string {
	switch ev.(type) {
	case sdk.Posted:
		return "Posted"
	case sdk.Locked:
		return "Locked"
	case sdk.Committed:
		return "Committed"
	case sdk.SeedFixed:
		return "SeedFixed"
	case sdk.Proved:
		return "Proved"
	case sdk.Settled:
		return "Settled"
	case sdk.Slashed:
		return "Slashed"
	case sdk.Cancelled:
		return "Cancelled"
	}
	return "?"
}

// TestMissedDeadlineRefundsBuyer: a provider locks a signed offer and never commits. Before
// the commit deadline a keeper's slash is refused with the typed DeadlineNotPassedError;
// after it the keeper slashes (anyone may), the buyer's Result ends with ErrJobSlashed, and
// the buyer withdraws its price back plus the provider's stake less the keeper's bounty.
func TestMissedDeadlineRefundsBuyer(t *testing.T) {
	e := setup(t)
	job := e.prepare(e.generation("late", []int32{5, 6}, 4))
	if err := e.buyer.Approve(e.ctx, tokens(100)); err != nil {
		t.Fatal(err)
	}
	o, err := e.buyer.Offer(e.ctx, job, e.book)
	if err != nil {
		t.Fatal(err)
	}
	locked, err := e.provider.LockRequest(e.ctx, sdk.ChainRequest(o.Request), o.Signature, chain.AnyTerms)
	if err != nil {
		t.Fatal(err)
	}
	before, _ := e.buyer.Market().TokenBalance(e.ctx, e.buyer.Address()) // the price pulled at lock
	stake := locked.Locked.Stake
	result := e.resultAsync(job)

	_, err = e.keeper.Slash(e.ctx, job.ID)
	var early *sdk.DeadlineNotPassedError
	if !errors.As(err, &early) || early.Args.JobId.Cmp(job.ID) != 0 || !errors.Is(err, chain.ErrReverted) {
		t.Fatalf("slash before the deadline: %v", err)
	}
	if err := e.sim.Chain.AdjustTime(time.Duration(job.Request.ExecWindow+1) * time.Second); err != nil {
		t.Fatal(err)
	}
	sl, err := e.keeper.Slash(e.ctx, job.ID)
	if err != nil {
		t.Fatal(err)
	}
	if sl.Caller != e.keeper.Address() || sl.Stake.Cmp(stake) != 0 || sl.Bounty.Sign() <= 0 {
		t.Fatalf("slash %+v", sl)
	}
	if r := <-result; !errors.Is(r.err, sdk.ErrJobSlashed) {
		t.Fatalf("Result of a slashed job: %+v %v", r.res, r.err)
	}
	want := new(big.Int).Add(tokens(100), new(big.Int).Sub(stake, sl.Bounty))
	if bal, _ := e.buyer.Balance(e.ctx); bal.Cmp(want) != 0 {
		t.Fatalf("buyer balance %s, want price + stake - bounty = %s", bal, want)
	}
	got, err := e.buyer.Withdraw(e.ctx)
	if err != nil || got.Cmp(want) != 0 {
		t.Fatalf("withdrew %v (%v), want %s", got, err, want)
	}
	after, _ := e.buyer.Market().TokenBalance(e.ctx, e.buyer.Address())
	if new(big.Int).Sub(after, before).Cmp(want) != 0 {
		t.Fatalf("token balance moved by %s, want %s", new(big.Int).Sub(after, before), want)
	}
	if _, err := e.keeper.Withdraw(e.ctx); err != nil {
		t.Fatalf("keeper's bounty: %v", err)
	}
	if _, err := e.buyer.Withdraw(e.ctx); !errors.As(err, new(*sdk.NothingToWithdrawError)) {
		t.Fatalf("second withdraw: %v", err)
	}
}

// TestCancel: a revoked offer leaves the book and can no longer be locked; a cancelled posted
// job refunds its escrow; a locked job cannot be cancelled (typed WrongStateError).
func TestCancel(t *testing.T) {
	e := setup(t)
	if err := e.buyer.Deposit(e.ctx, tokens(300)); err != nil {
		t.Fatal(err)
	}
	offered := e.prepare(e.generation("revoked", []int32{1}, 2))
	o, err := e.buyer.Offer(e.ctx, offered, e.book)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.buyer.Cancel(e.ctx, offered); err != nil {
		t.Fatal(err)
	}
	var br jobs.BookReader
	if names, err := br.List(e.ctx, e.book); err != nil || len(names) != 0 {
		t.Fatalf("book after revocation: %v (%v)", names, err)
	}
	_, err = e.provider.LockRequest(e.ctx, sdk.ChainRequest(o.Request), o.Signature, chain.AnyTerms)
	if !chain.IsRevert(err, "WrongState") {
		t.Fatalf("lock of a revoked offer: %v", err)
	}
	if r, err := e.buyer.Result(e.ctx, offered); !errors.Is(err, sdk.ErrJobCancelled) {
		t.Fatalf("Result of a revoked offer: %+v %v", r, err)
	}

	posted := e.prepare(e.generation("cancelled", []int32{2}, 2))
	if _, err := e.buyer.Post(e.ctx, posted); err != nil {
		t.Fatal(err)
	}
	if bal, _ := e.buyer.Balance(e.ctx); bal.Cmp(tokens(200)) != 0 {
		t.Fatalf("balance %s after posting, want 200 tokens", bal)
	}
	if _, err := e.buyer.Cancel(e.ctx, posted); err != nil {
		t.Fatal(err)
	}
	if bal, _ := e.buyer.Balance(e.ctx); bal.Cmp(tokens(300)) != 0 {
		t.Fatalf("balance %s after cancelling, want the escrow back", bal)
	}

	locked := e.prepare(e.generation("locked", []int32{3}, 2))
	if _, err := e.buyer.Post(e.ctx, locked); err != nil {
		t.Fatal(err)
	}
	e.lock(locked.Request)
	_, err = e.buyer.Cancel(e.ctx, locked)
	var ws *sdk.WrongStateError
	if !errors.As(err, &ws) || chain.JobState(ws.Args.State) != chain.StateLocked || ws.Args.JobId.Cmp(locked.ID) != 0 {
		t.Fatalf("cancel of a locked job: %v", err)
	}
}

// TestPrepareRefuses: what Prepare and Offer refuse before anything is published or signed.
func TestPrepareRefuses(t *testing.T) {
	e := setup(t)
	cases := []struct {
		name string
		edit func(*sdk.Generation)
	}{
		{"no model", func(g *sdk.Generation) { g.Model = nil }},
		{"no prompt", func(g *sdk.Generation) { g.Prompt = nil }},
		{"prompt and text", func(g *sdk.Generation) { g.Text = "x" }},
		{"no price", func(g *sdk.Generation) { g.Price = nil }},
		{"too many tokens for the class", func(g *sdk.Generation) { g.NewTokens = 20 }},
		{"token outside the vocabulary", func(g *sdk.Generation) { g.Prompt = []int32{universaltest.Vocab} }},
		{"window below the minimum", func(g *sdk.Generation) { g.ExecWindow = 1 }},
		{"nowhere to publish", func(g *sdk.Generation) { g.JobDir = "" }},
		{"not in the catalogue", func(g *sdk.Generation) { g.Class = nil }},
		{"class not registered", func(g *sdk.Generation) { g.Class, g.ClassID = nil, [32]byte{1} }},
		{"hardware requiring nothing", func(g *sdk.Generation) { g.Hardware = &jobs.Hardware{} }},
		{"hardware name not ASCII", func(g *sdk.Generation) { g.Hardware = &jobs.Hardware{Models: []string{"NVIDIA H100 ✓"}} }},
	}
	for _, c := range cases {
		g := e.generation("refused", []int32{1, 2}, 3)
		c.edit(&g)
		if _, err := e.buyer.Prepare(e.ctx, g); !errors.Is(err, sdk.ErrGeneration) {
			t.Errorf("%s: %v, want ErrGeneration", c.name, err)
		}
	}
	// Once the model is in the catalogue, the class comes from there, but only a class the
	// client knows the parameters of (anyone may catalogue a model first), that the job fits
	// and that has the slots the buyer asks for (review finding L8).
	if err := e.buyer.RegisterModel(e.ctx, e.model, e.classID, "https://models.example/bigram"); err != nil {
		t.Fatal(err)
	}
	g := e.generation("catalogue", []int32{1, 2}, 3)
	g.Class = nil
	if _, err := e.buyer.Prepare(e.ctx, g); !errors.Is(err, sdk.ErrGeneration) {
		t.Fatalf("catalogue class the client does not know: %v, want ErrGeneration", err)
	}
	e.buyer.Classes = []*universal.Class{e.class}
	for name, edit := range map[string]func(*sdk.Generation){
		"too many tokens for the catalogue's class": func(g *sdk.Generation) { g.NewTokens = 20 },
		"fewer slots than MinSlots":                 func(g *sdk.Generation) { g.MinSlots = 1000 },
	} {
		bad := g
		edit(&bad)
		if _, err := e.buyer.Prepare(e.ctx, bad); !errors.Is(err, sdk.ErrGeneration) {
			t.Errorf("%s: %v, want ErrGeneration", name, err)
		}
	}
	g.MinSlots = 1
	job := e.prepare(g)
	if job.Class == nil || job.Class.ID() != e.classID {
		t.Fatalf("the job's class %v, want the catalogue's", job.Class)
	}
	if job.Request.ClassId != e.classID {
		t.Fatalf("class 0x%x from the catalogue, want 0x%x", job.Request.ClassId, e.classID)
	}
	// No deposit and no allowance: the offer could never be escrowed.
	_, err := e.buyer.Offer(e.ctx, job, e.book)
	var ee *sdk.EscrowError
	if !errors.As(err, &ee) || !errors.Is(err, sdk.ErrEscrow) || ee.Price.Cmp(tokens(100)) != 0 {
		t.Fatalf("offer without escrow: %v", err)
	}
}

// TestPrepareHardware: a generation's hardware requirement is put in the job file in canonical
// form (lists sorted, duplicates dropped) and the request's salt commits to it, so the file
// passes a provider's check against the request; two jobs with one requirement still get
// different salts (the nonce).
func TestPrepareHardware(t *testing.T) {
	e := setup(t)
	g := e.generation("hardware", []int32{1, 2}, 3)
	g.Hardware = &jobs.Hardware{RequireCC: true, Boards: []string{"G520_0200_885", "1010_0200_882", "G520_0200_885"}}
	job := e.prepare(g)
	j, err := jobs.CheckJobFile(sdk.ProtocolRequest(job.Request), job.JobFile)
	if err != nil {
		t.Fatal(err)
	}
	if j.Hardware == nil || !j.Hardware.RequireCC || strings.Join(j.Hardware.Boards, ",") != "1010_0200_882,G520_0200_885" {
		t.Fatalf("job file requirement %+v", j.Hardware)
	}
	if len(g.Hardware.Boards) != 3 {
		t.Fatal("Prepare changed the caller's requirement")
	}
	g.JobDir = filepath.Join(e.dir, "hardware2")
	if again := e.prepare(g); again.Request.Salt.Cmp(job.Request.Salt) == 0 {
		t.Fatal("two jobs with one requirement share a salt")
	}
}

// TestSecretsPersist: a secret written under a directory is read back by a fresh store, and a
// restarted buyer rebuilds its posted job, secret included, from the chain.
func TestSecretsPersist(t *testing.T) {
	e := setup(t)
	dir := filepath.Join(e.dir, "secrets")
	e.buyer.Secrets = sdk.NewSecrets(dir)
	job := e.prepare(e.generation("persisted", []int32{4}, 2))
	if _, err := e.buyer.Post(e.ctx, job); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(filepath.Join(dir, job.ID.String()+".secret"))
	if err != nil || fi.Mode().Perm()&0o077 != 0 {
		t.Fatalf("secret file: %v (%v)", fi, err)
	}
	restarted := e.client(e.sim.Accounts[0])
	restarted.Secrets = sdk.NewSecrets(dir)
	loaded, err := restarted.LoadJob(e.ctx, job.ID)
	if err != nil {
		t.Fatal(err)
	}
	if loaded.SeedSecret != job.SeedSecret || loaded.JobURI != job.JobURI || loaded.Request.Salt.Cmp(job.Request.Salt) != 0 {
		t.Fatalf("loaded %+v, want %+v", loaded, job)
	}
	if _, err := restarted.LoadJob(e.ctx, big.NewInt(7)); !errors.Is(err, sdk.ErrNoJob) {
		t.Fatalf("LoadJob of no job: %v", err)
	}
}

// TestRevealWindowMissed: a buyer that comes back after the reveal window does not reveal
// (ErrRevealMissed, no transaction); the provider fixes the fallback seed, proves for it, and
// the buyer still reads its result.
func TestRevealWindowMissed(t *testing.T) {
	e := setup(t)
	job := e.prepare(e.generation("missed", []int32{7, 8}, 3))
	if _, err := e.buyer.Post(e.ctx, job); err != nil {
		t.Fatal(err)
	}
	x := e.execute(job.Request, job.JobURI)
	e.lock(job.Request)
	committed, err := e.provider.Commit(e.ctx, job.ID, commit.ToBig(x.gen.TraceRoot), attestation)
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.provider.FixSeed(e.ctx, job.ID)
	if !chain.IsRevert(err, "RevealPending") {
		t.Fatalf("fixSeed inside the reveal window: %v", err)
	}
	e.sim.Chain.Mine(int(sdk.RevealBlocks) + 3)
	nonce, _ := e.sim.Chain.Client().PendingNonceAt(e.ctx, e.buyer.Address())
	if _, err := e.buyer.RevealWhenReady(e.ctx, job); !errors.Is(err, sdk.ErrRevealMissed) {
		t.Fatalf("reveal after the window: %v", err)
	}
	if n, _ := e.sim.Chain.Client().PendingNonceAt(e.ctx, e.buyer.Address()); n != nonce {
		t.Fatal("the buyer sent a reveal after the window")
	}
	fixed, err := e.provider.FixSeed(e.ctx, job.ID)
	if err != nil || fixed.Fixed.Revealed {
		t.Fatalf("fallback seed: %+v (%v)", fixed, err)
	}
	e.proveAndSubmit(job.Request, committed.Committed, x, fixed.Fixed.Seed)
	r, err := e.buyer.Result(e.ctx, job)
	if err != nil || !slices.Equal(r.Tokens, u32(x.tokens)) {
		t.Fatalf("result %+v (%v), generated %v", r, err, x.tokens)
	}
}

// TestRejectedProofRefundsBuyer: a provider that submits other tokens than it proved is
// slashed in its submission; the buyer's Result ends with ErrJobSlashed, never with those
// tokens, and the buyer withdraws the price and the whole stake (no bounty for a rejection).
func TestRejectedProofRefundsBuyer(t *testing.T) {
	e := setup(t)
	g := e.generation("cheat", []int32{9, 10}, 3)
	g.NoSeedCommitment = true // the seed is the chain's at the seed block
	job := e.prepare(g)
	if job.SeedSecret != ([32]byte{}) || job.Request.SeedCommitment != ([32]byte{}) {
		t.Fatal("NoSeedCommitment still committed a secret")
	}
	if _, err := e.buyer.Post(e.ctx, job); err != nil {
		t.Fatal(err)
	}
	x := e.execute(job.Request, job.JobURI)
	e.lock(job.Request)
	committed, err := e.provider.Commit(e.ctx, job.ID, commit.ToBig(x.gen.TraceRoot), attestation)
	if err != nil {
		t.Fatal(err)
	}
	e.sim.Chain.Mine(3)
	seed, err := e.provider.SeedOf(e.ctx, job.ID)
	if err != nil {
		t.Fatal(err)
	}
	res := e.submit(job.Request, committed.Committed, x, seed, true)
	if res.Slashed == nil || res.Proved != nil {
		t.Fatalf("cheating submission: %+v", res.JobOutcome)
	}
	if r, err := e.buyer.Result(e.ctx, job); !errors.Is(err, sdk.ErrJobSlashed) {
		t.Fatalf("Result of a rejected proof: %+v %v", r, err)
	}
	want := new(big.Int).Add(tokens(100), committed.Committed.Stake)
	if got, err := e.buyer.Withdraw(e.ctx); err != nil || got.Cmp(want) != 0 {
		t.Fatalf("withdrew %v (%v), want price + stake %s", got, err, want)
	}
}

// TestReceiptHardware: a job that required CC gets a receipt whose record attests no GPU
// (mode none): the buyer refuses it, naming the attestation, both as delivered and with the
// requirement stripped from the receipt's job file (the job digest does not cover it, so only
// the buyer's own requirement catches that). The same receipt of a job without a requirement
// is accepted (TestPostedPath).
func TestReceiptHardware(t *testing.T) {
	e := setup(t)
	g := e.generation("hardware-receipt", []int32{1, 2}, 3)
	g.Hardware = &jobs.Hardware{RequireCC: true}
	job := e.prepare(g)
	if _, err := e.buyer.Post(e.ctx, job); err != nil {
		t.Fatal(err)
	}
	result := e.resultAsync(job)
	x := e.execute(job.Request, job.JobURI)
	e.lock(job.Request)
	committed, err := e.provider.Commit(e.ctx, job.ID, commit.ToBig(x.gen.TraceRoot), attestation)
	if err != nil {
		t.Fatal(err)
	}
	e.sim.Chain.Mine(3)
	seed := e.waitSeed(job.ID)
	e.proveAndSubmit(job.Request, committed.Committed, x, seed)
	if r := <-result; r.err != nil {
		t.Fatal(r.err)
	}
	stripped := *x.job
	stripped.Hardware = nil
	plain, err := jobs.EncodeJob(&stripped)
	if err != nil {
		t.Fatal(err)
	}
	for name, file := range map[string][]byte{"as delivered": x.file, "requirement stripped": plain} {
		rc := e.receipt(job, committed.Committed, x, seed)
		rc.Job = file
		e.must(rc.Sign(e.nodeKey))
		e.publish(job, rc)
		_, err := e.buyer.Receipt(e.ctx, job)
		if !errors.Is(err, sdk.ErrReceiptInvalid) || !strings.Contains(err.Error(), "attestation") || !strings.Contains(err.Error(), "confidential") {
			t.Errorf("%s: %v, want ErrReceiptInvalid for the attestation", name, err)
		}
		t.Logf("%s: %v", name, err)
	}
}
