package verifier

import (
	"context"
	"errors"
	"math/big"
	"strings"
	"testing"
	"time"

	groth16bn254 "github.com/consensys/gnark/backend/groth16/bn254"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/probitylabs/probity/circuits/universal"
	"github.com/probitylabs/probity/circuits/universal/universaltest"
	"github.com/probitylabs/probity/receipt"
	"github.com/probitylabs/probity/receipt/receipttest"
)

// TestOnChain settles two real jobs of the test class on the simulated chain (one seeded by
// the buyer's reveal, one by the seed block alone) and audits their receipts against it: the
// seed block's hash, JobProved's receipt digest and verifyReceipt all confirm them. A receipt
// the chain never saw, one with another block hash, and one whose node key is not the
// provider's fail the on-chain check.
func TestOnChain(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	keys, err := universal.Setup(universaltest.Class())
	if err != nil {
		t.Fatal(err)
	}
	c, err := receipttest.NewChain(ctx, keys)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Sim.Close()
	m, err := universaltest.Model(1)
	if err != nil {
		t.Fatal(err)
	}
	job, err := receipttest.Run(keys, m, []int32{2, 7}, 6)
	if err != nil {
		t.Fatal(err)
	}
	cl := universaltest.Class()
	policy := Policy{Classes: []Class{{Class: cl, VK: keys.VK.(*groth16bn254.VerifyingKey)}}, AllowNoAttestation: true, MinInstance: 0.1}
	opts := Options{Model: m, Chain: MarketChain{Market: c.Buyer, Headers: c.Sim.Client()}}
	var receipts []*receipt.Receipt
	for i, reveal := range []bool{true, false} {
		rc, err := c.Settle(ctx, job, int64(i+1), reveal)
		if err != nil {
			t.Fatal(err)
		}
		receipts = append(receipts, rc)
		r, err := Audit(ctx, rc, policy, opts)
		if err != nil {
			t.Fatal(err)
		}
		if !r.OK() || r.Check(CheckOnChain).Status != Pass {
			t.Fatalf("settled receipt (reveal %v): %v", reveal, r.Err())
		}
		t.Logf("on-chain: %s", r.Check(CheckOnChain).Detail)
	}

	onChainFails := func(name string, rc *receipt.Receipt) {
		t.Helper()
		r, err := Audit(ctx, rc, policy, opts)
		if err != nil {
			t.Fatal(err)
		}
		if ch := r.Check(CheckOnChain); ch.Status != Fail || !errors.Is(ch.Err, ErrOnChain) {
			t.Errorf("%s: on-chain %+v", name, ch)
		} else {
			t.Logf("%s: %v", name, ch.Err)
		}
	}
	// Re-signed by the right key but with another block hash: the seed check fails offline and
	// the chain names the block.
	other := *receipts[0]
	other.Seed.BlockHash[0] ^= 1
	onChainFails("block hash", &other)
	// seed.block is not signed and nothing offline reads it; the chain does.
	moved := *receipts[0]
	moved.Seed.Block--
	offline := policy
	offline.AllowUnconfirmed = true
	if r, err := Audit(ctx, &moved, offline, Options{Model: m}); err != nil || !r.OK() {
		t.Fatalf("seed.block offline: %v %v", err, r.Err())
	}
	onChainFails("seed block", &moved)
	// A receipt of the same job whose proof differs is not the one JobProved emitted.
	swapped := *receipts[0]
	swapped.Proof = receipts[1].Proof
	if err := swapped.Sign(c.NodeKey); err != nil {
		t.Fatal(err)
	}
	onChainFails("another proof", &swapped)
	// Signed by a key that is not the provider's node key: the offline signature holds, the
	// chain's verifyReceipt does not.
	stranger := *receipts[1]
	key, err := crypto.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	if err := stranger.Sign(key); err != nil {
		t.Fatal(err)
	}
	onChainFails("stranger's key", &stranger)
	// The stake is signed by nothing but the commitment JobCommitted holds (and the seed
	// derived from it): another stake is not the job's commitment.
	staked := *receipts[0]
	staked.Stake = receipt.NewUint(big.NewInt(1))
	onChainFails("another stake", &staked)

	// Keys against the chain: a class the policy gives no key is checked with its on-chain
	// verifier's; a policy key that is not the on-chain verifier's fails the proof check with
	// ErrKeyPin before it verifies anything; a pinned hash must be the key's.
	vk := keys.VK.(*groth16bn254.VerifyingKey)
	h, err := KeyHash(vk)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []struct {
		name  string
		class Class
		pin   bool // fails with ErrKeyPin, else passes
	}{
		{"no key: the chain's", Class{Class: cl}, false},
		{"the chain's by hash", Class{Class: cl, VKHash: h}, false},
		{"another key", Class{Class: cl, VK: otherKey(t)}, true},
		{"another hash", Class{Class: cl, VKHash: [32]byte{1}}, true},
	} {
		p := policy
		p.Classes = []Class{k.class}
		r, err := Audit(ctx, receipts[0], p, opts)
		if err != nil {
			t.Fatal(err)
		}
		proof := r.Check(CheckProof)
		switch {
		case k.pin && (proof.Status != Fail || !errors.Is(proof.Err, ErrKeyPin)):
			t.Errorf("%s: proof %+v, want ErrKeyPin", k.name, proof)
		case !k.pin && !r.OK():
			t.Errorf("%s: %v", k.name, r.Err())
		case !k.pin && !strings.Contains(proof.Detail, "on-chain verifier"):
			t.Errorf("%s: proof checked with %q", k.name, proof.Detail)
		}
	}
	// Offline, a pinned hash reads the key cache (where universal.Setup left this class's
	// key), and the cached key must be the pinned one.
	for _, k := range []struct {
		hash [32]byte
		pin  bool
	}{{h, false}, {[32]byte{1}, true}} {
		p := offline
		p.Classes = []Class{{Class: cl, VKHash: k.hash}}
		r, err := Audit(ctx, receipts[0], p, Options{Model: m})
		if err != nil {
			t.Fatal(err)
		}
		proof := r.Check(CheckProof)
		switch {
		case k.pin && (proof.Status != Fail || !errors.Is(proof.Err, ErrKeyPin)):
			t.Errorf("cached key, another hash: proof %+v, want ErrKeyPin", proof)
		case !k.pin && (!r.OK() || !strings.Contains(proof.Detail, "cached key")):
			t.Errorf("cached key of the pinned hash: %v (%q)", r.Err(), proof.Detail)
		}
	}
	// The vector was never on this chain.
	b, p, _ := vector(t)
	rc, err := receipt.Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	p.ChainID, p.Manager = nil, nil
	r, err := Audit(ctx, rc, p, opts)
	if err != nil {
		t.Fatal(err)
	}
	if ch := r.Check(CheckOnChain); ch.Status != Fail {
		t.Errorf("vector against another chain: %+v", ch)
	}
}
