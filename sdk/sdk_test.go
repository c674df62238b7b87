package sdk_test

import (
	"context"
	"crypto/ecdsa"
	"errors"
	"math/big"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	groth16bn254 "github.com/consensys/gnark/backend/groth16/bn254"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/probitylabs/probity/chain"
	"github.com/probitylabs/probity/circuits"
	"github.com/probitylabs/probity/commit"
	"github.com/probitylabs/probity/jobs"
	"github.com/probitylabs/probity/protocol"
	"github.com/probitylabs/probity/receipt"
	"github.com/probitylabs/probity/sdk"
	"github.com/probitylabs/probity/tensor"
	"github.com/probitylabs/probity/verifier"
	"github.com/probitylabs/probity/verifier/verifiertest"
)

var (
	keysOnce sync.Once
	tinyKeys *circuits.Keys
	keysErr  error
)

// tinySetup runs the tiny shape's development setup once per test binary.
func tinySetup(t testing.TB) *circuits.Keys {
	t.Helper()
	keysOnce.Do(func() {
		s, err := circuits.Lookup("tiny")
		if err != nil {
			keysErr = err
			return
		}
		tinyKeys, keysErr = circuits.DevSetup(s)
	})
	if keysErr != nil {
		t.Fatal(keysErr)
	}
	return tinyKeys
}

// provider plays the provider's side by hand (the prover package automates it): lock, run,
// commit, fix the seed, prove, sign, submit, publish.
type provider struct {
	c       *sdk.Client
	nodeKey *ecdsa.PrivateKey
}

func newProvider(t *testing.T, ctx context.Context, sim *sdk.Simulated, key *ecdsa.PrivateKey) *provider {
	t.Helper()
	c, err := sim.Client(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	nodeKey, _ := crypto.GenerateKey()
	stake := new(big.Int).Exp(big.NewInt(10), big.NewInt(21), nil)
	if _, err := c.Chain().Approve(ctx, sim.Addresses.Providers, stake); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Chain().Register(ctx, crypto.PubkeyToAddress(nodeKey.PublicKey), stake); err != nil {
		t.Fatal(err)
	}
	return &provider{c, nodeKey}
}

func (p *provider) serve(t *testing.T, ctx context.Context, sim *sdk.Simulated, job *sdk.Job, dir string) *receipt.Receipt {
	t.Helper()
	ch := p.c.Chain()
	if _, _, err := ch.Lock(ctx, job.ID); err != nil {
		t.Fatal(err)
	}
	x, err := tensor.LoadActivations(filepath.Join(dir, "input.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	model, err := tensor.LoadModel(filepath.Join(dir, "model.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	outs, err := model.Run(x)
	if err != nil {
		t.Fatal(err)
	}
	keys := tinySetup(t)
	tree, err := commit.CommitActivations(outs[0], int(keys.Shape.D))
	if err != nil {
		t.Fatal(err)
	}
	outRoot := commit.ToBig(tree.Root())
	attDigest := verifiertest.RecordDigest(verifiertest.NoneRecord)
	if _, _, err := ch.Commit(ctx, job.ID, []*big.Int{outRoot}, attDigest); err != nil {
		t.Fatal(err)
	}
	// The buyer's WaitReceipt reveals the seed secret; a provider falls back to fixing the
	// seed without it once the reveal window has passed. On the simulated chain this mines a
	// block per 100 ms: the buyer's 20 ms polls reveal well within the 32 blocks.
	fixed, err := ch.FixSeedWhenReady(ctx, job.ID, 100*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	seedL := protocol.LayerSeed(fixed.Seed, 0)
	proof, err := circuits.Prove(keys, circuits.Inputs{Shape: keys.Shape, Input: x, Layer: model.Layers[0], Output: outs[0], Seed: seedL})
	if err != nil {
		t.Fatal(err)
	}
	chainID, _ := p.c.ChainID(ctx)
	jobRec, err := ch.GetJob(ctx, job.ID)
	if err != nil {
		t.Fatal(err)
	}
	det, _ := protocol.DetectionFixed(keys.Shape.Kn, 1000)
	rc := &receipt.Receipt{
		Version: receipt.Version, ChainID: receipt.NewUint(chainID), Contract: sim.Addresses.Manager,
		JobID: receipt.NewUint(job.ID), Provider: p.c.Address(),
		Job: receipt.Job{InputRoot: receipt.MustWord(job.Spec.InputRoot), Rows: job.Spec.Rows, Layers: []receipt.Layer{{
			ShapeID: job.Spec.Layers[0].ShapeId, WeightsRoot: receipt.MustWord(job.Spec.Layers[0].WeightsRoot), Epilogue: receipt.MustWord(job.Spec.Layers[0].Epilogue),
		}}},
		SpecHash: job.SpecHash, OutputRoots: []receipt.Word{receipt.MustWord(outRoot)}, AttestationDigest: attDigest,
		SeedBlock: jobRec.SeedBlock, Seed: receipt.MustWord(fixed.Seed), K: keys.Shape.Kn,
		Detection:   receipt.Detection{FloorBps: 1000, ProbabilityBps: uint32(new(big.Int).Quo(det, big.NewInt(1e14)).Uint64())},
		Attestation: verifiertest.NoneRecord,
	}
	var pi [5]receipt.Word
	for i, v := range proof.PublicInputs {
		pi[i] = receipt.MustWord(v)
	}
	rc.Proofs = []receipt.Proof{{Layer: 0, ShapeID: keys.Shape.ID(), Proof: proof.Solidity[:], PublicInputs: pi}}
	if err := rc.Sign(p.nodeKey); err != nil {
		t.Fatal(err)
	}
	// The Go EIP-712 digest equals the one the SLA manager computes (its receiptDigest view).
	var chainProof chain.Proof
	for i := range chainProof {
		chainProof[i] = new(big.Int).SetBytes(proof.Solidity[32*i : 32*i+32])
	}
	onChain, err := ch.ReceiptDigest(ctx, chain.Receipt{
		JobId: job.ID, Provider: rc.Provider, SpecHash: rc.SpecHash, OutputRoots: []*big.Int{outRoot},
		AttestationDigest: attDigest, Seed: fixed.Seed, K: rc.K, ProofsHash: chain.ProofsHash([]chain.Proof{chainProof}),
	})
	if err != nil {
		t.Fatal(err)
	}
	if onChain != rc.Digest() {
		t.Fatalf("receipt digest: Go %s, SLAManager.receiptDigest 0x%x", rc.Digest().Hex(), onChain)
	}
	res, err := ch.SubmitProof(ctx, job.ID, chain.Submission{
		Spec: job.Spec, OutputRoots: []*big.Int{outRoot}, AttestationDigest: attDigest,
		Proofs: []chain.Proof{chainProof}, Signature: rc.Signature,
	})
	if err != nil || res.Settled == nil {
		t.Fatalf("submit: %+v, %v", res, err)
	}
	if err := sdk.PublishReceipt(ctx, job.ManifestURI, rc); err != nil {
		t.Fatal(err)
	}
	return rc
}

// writeJob writes a 5-row input and a one-layer model that fit the tiny shape.
func writeJob(t *testing.T, dir string) (string, string) {
	t.Helper()
	in, mf := filepath.Join(dir, "x.safetensors"), filepath.Join(dir, "m.safetensors")
	if err := tensor.SaveActivations(in, tensor.RandomInput(7, 5, 16)); err != nil {
		t.Fatal(err)
	}
	m, err := tensor.RandomModel(7, 16, 4)
	if err != nil {
		t.Fatal(err)
	}
	if err := tensor.SaveModel(mf, m); err != nil {
		t.Fatal(err)
	}
	return in, mf
}

func TestEndToEnd(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	sim, err := sdk.NewSimulated(ctx, sdk.SimulatedConfig{Accounts: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer sim.Close()
	gov, err := sim.Client(ctx, sim.Governance)
	if err != nil {
		t.Fatal(err)
	}
	keys := tinySetup(t)
	if _, err := gov.RegisterShape(ctx, keys.Shape, keys.VK); err != nil {
		t.Fatal(err)
	}
	buyer, err := sim.Client(ctx, sim.Accounts[0])
	if err != nil {
		t.Fatal(err)
	}
	prov := newProvider(t, ctx, sim, sim.Accounts[1])

	dir := t.TempDir()
	in, mf := writeJob(t, dir)
	price := big.NewInt(1e18)
	pub := filepath.Join(dir, "job1")
	job, err := buyer.PostJob(ctx, sdk.JobRequest{InputFile: in, ModelFile: mf, PublishDir: pub, Shapes: []string{"tiny"}, Price: price})
	if err != nil {
		t.Fatal(err)
	}
	if job.SpecHash != sdk.SpecHash(job.Spec) {
		t.Fatal("posted spec hash differs from the Go EIP-712 hash")
	}
	events := buyer.Watch(ctx, job.ID)
	got := make(chan *receipt.Receipt, 1)
	gotErr := make(chan error, 1)
	go func() {
		rc, err := buyer.WaitReceipt(ctx, job.ID)
		got <- rc
		gotErr <- err
	}()
	signed := prov.serve(t, ctx, sim, job, pub)

	var kinds []string
	for ev := range events {
		kinds = append(kinds, typeName(ev))
	}
	want := []string{"Posted", "Locked", "Committed", "SeedFixed", "Settled"}
	if len(kinds) != len(want) {
		t.Fatalf("events %v, want %v", kinds, want)
	}
	for i := range want {
		if kinds[i] != want[i] {
			t.Fatalf("events %v, want %v", kinds, want)
		}
	}
	rc, err := <-got, <-gotErr
	if err != nil {
		t.Fatal(err)
	}
	if rc.Digest() != signed.Digest() {
		t.Fatal("buyer got another receipt than the provider signed")
	}
	// WaitReceipt revealed the buyer's secret, and the seed mixes it in (spec §6.2).
	if job.SeedSecret == ([32]byte{}) {
		t.Fatal("PostJob drew no seed secret")
	}
	evs, err := buyer.Events(ctx, job.ID)
	if err != nil {
		t.Fatal(err)
	}
	if sf := evs[3].(sdk.SeedFixed); !sf.Revealed || sf.Seed.Cmp(expectedSeed(t, ctx, sim, job.ID, job.SeedSecret)) != 0 {
		t.Fatalf("seed fixed %+v, want revealed with the buyer's secret", sf)
	}
	// The buyer audits it, including the on-chain cross-check.
	pol := verifier.DefaultPolicy()
	pol.AllowNoAttestation = true
	pol.ExpectedChainID, _ = buyer.ChainID(ctx)
	mgr := sim.Addresses.Manager
	pol.ExpectedContract = &mgr
	rep, err := verifier.Audit(ctx, rc, pol, verifier.Options{
		Keys:  keyMapOf(t, keys),
		Chain: verifier.NewChainView(sim.Chain.Client(), buyer.Chain()),
	})
	if err != nil || !rep.OK() {
		t.Fatalf("audit: %v %v", err, rep.Err())
	}
	if c := rep.Check(verifier.CheckOnChain); c.Status != verifier.Pass {
		t.Fatalf("on-chain check: %+v", c)
	}

	// Money: the provider withdraws the price; the buyer has nothing credited.
	if amt, err := prov.c.Withdraw(ctx); err != nil || amt.Cmp(price) != 0 {
		t.Fatalf("provider withdraw: %v, %v", amt, err)
	}
	var nothing *sdk.NothingToWithdrawError
	if _, err := buyer.Withdraw(ctx); !errors.As(err, &nothing) || nothing.Account != buyer.Address() {
		t.Fatalf("buyer withdraw: %v", err)
	}
	st, err := buyer.ProviderStake(ctx, prov.c.Address())
	if err != nil || st.Reserved.Sign() != 0 || st.NodeKey != crypto.PubkeyToAddress(prov.nodeKey.PublicKey) {
		t.Fatalf("stake after settlement: %+v, %v", st, err)
	}
	// Typed contract errors carry their arguments.
	var ws *sdk.WrongStateError
	if err := buyer.Cancel(ctx, job.ID); !errors.As(err, &ws) || ws.State != chain.StateSettled || ws.JobID.Cmp(job.ID) != 0 {
		t.Fatalf("cancel a settled job: %v", err)
	}
	if !errors.Is(ws, chain.ErrReverted) {
		t.Fatal("typed error does not unwrap to the revert")
	}

	// A second job, cancelled: Watch ends with Cancelled, WaitReceipt says so, the refund is credited.
	job2, err := buyer.PostJob(ctx, sdk.JobRequest{InputFile: in, ModelFile: mf, PublishDir: filepath.Join(dir, "job2"), Shapes: []string{"tiny"}, Price: price})
	if err != nil {
		t.Fatal(err)
	}
	var unauth *sdk.UnauthorizedError
	if err := prov.c.Cancel(ctx, job2.ID); !errors.As(err, &unauth) || unauth.Expected != buyer.Address() {
		t.Fatalf("cancel by a stranger: %v", err)
	}
	if err := buyer.Cancel(ctx, job2.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := buyer.WaitReceipt(ctx, job2.ID); !errors.Is(err, sdk.ErrJobCancelled) {
		t.Fatalf("WaitReceipt on a cancelled job: %v", err)
	}
	if amt, err := buyer.Withdraw(ctx); err != nil || amt.Cmp(price) != 0 {
		t.Fatalf("refund: %v, %v", amt, err)
	}

	// A tampered receipt file is refused by WaitReceipt's digest check.
	u, _ := jobs.ReceiptURL(job.ManifestURI, job.ID)
	tampered := *rc
	tampered.Timings.ProveMs = 1 // unsigned: digest unchanged, still authentic
	tampered.SeedBlock++         // unsigned too
	tampered.Seed[31] ^= 1       // signed: changes the digest
	doc, _ := tampered.MarshalIndent()
	if err := os.WriteFile(u.Path, doc, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := buyer.WaitReceipt(ctx, job.ID); !errors.Is(err, sdk.ErrReceiptDigest) {
		t.Fatalf("tampered receipt: %v", err)
	}
}

func keyMapOf(t *testing.T, k *circuits.Keys) verifier.KeyMap {
	t.Helper()
	vk, ok := k.VK.(*groth16bn254.VerifyingKey)
	if !ok {
		t.Fatalf("verifying key is %T", k.VK)
	}
	return verifier.KeyMap{k.Shape.ID(): vk}
}

func typeName(e sdk.Event) string {
	switch e.(type) {
	case sdk.Posted:
		return "Posted"
	case sdk.Locked:
		return "Locked"
	case sdk.Committed:
		return "Committed"
	case sdk.SeedFixed:
		return "SeedFixed"
	case sdk.Settled:
		return "Settled"
	case sdk.Slashed:
		return "Slashed"
	case sdk.Cancelled:
		return "Cancelled"
	case sdk.Abandoned:
		return "Abandoned"
	case sdk.WatchError:
		return "WatchError: " + e.(sdk.WatchError).Err.Error()
	}
	return "?"
}

func TestPostJobRejects(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	in, mf := writeJob(t, dir)
	cases := map[string][]string{
		"wrong shape":     {"demo-64"},
		"unknown shape":   {"huge"},
		"too many shapes": {"tiny", "tiny"},
	}
	for name, shapes := range cases {
		if _, err := sdk.BuildSpec(in, mf, shapes); !errors.Is(err, sdk.ErrJobRequest) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := sdk.BuildSpec(filepath.Join(dir, "missing"), mf, []string{"tiny"}); !errors.Is(err, sdk.ErrJobRequest) {
		t.Errorf("missing input: %v", err)
	}
	var c sdk.Client
	if _, err := c.PostJob(ctx, sdk.JobRequest{InputFile: in, ModelFile: mf, Shapes: []string{"tiny"}, Price: big.NewInt(1)}); !errors.Is(err, sdk.ErrJobRequest) {
		t.Errorf("neither PublishDir nor ManifestURI: %v", err)
	}
	if _, err := c.PostJob(ctx, sdk.JobRequest{InputFile: in, ModelFile: mf, PublishDir: dir, Shapes: []string{"tiny"}}); !errors.Is(err, sdk.ErrJobRequest) {
		t.Errorf("no price: %v", err)
	}
	if _, err := jobs.ReceiptURL("ftp://x/manifest.json", big.NewInt(1)); err == nil {
		t.Error("ftp manifest accepted")
	}
	u, err := jobs.ReceiptURL("https://example.org/jobs/7/manifest.json", big.NewInt(7))
	if err != nil || u.String() != "https://example.org/jobs/7/receipts/7.json" {
		t.Errorf("receipt URL %v, %v", u, err)
	}
}
