package chain_test

import (
	"testing"

	"github.com/ethereum/go-ethereum/crypto"

	"github.com/probitylabs/probity/chain"
)

// TestMarketVerifierKey: the key a class's verifier holds is the one it was deployed with.
func TestMarketVerifierKey(t *testing.T) {
	e := setup(t)
	c, err := e.provider.ClassOf(e.ctx, e.class)
	if err != nil {
		t.Fatal(err)
	}
	vk, err := e.provider.VerifierKey(e.ctx, c.Verifier)
	if err != nil {
		t.Fatal(err)
	}
	if !vk.Equal(syntheticVK()) {
		t.Fatal("the verifier's key is not the deployed one")
	}
	if _, err := e.provider.VerifierKey(e.ctx, e.buyer.Address()); err == nil {
		t.Fatal("an account without code answered with a key")
	}
}

// TestMarketRevealedSecret: the secret of a revealed seed is read back from the reveal
// transaction; a job whose seed nobody revealed has none.
func TestMarketRevealedSecret(t *testing.T) {
	e := setup(t)
	txs, ok := e.sim.Client().(chain.TxByHash)
	if !ok {
		t.Fatal("the simulated client reads no transactions")
	}
	secret := [32]byte{1, 2, 3, 31: 9}
	req := e.request()
	req.SeedCommitment = crypto.Keccak256Hash(secret[:])
	id := e.jobID(req)
	lc, err := e.provider.LockAndCommit(e.ctx, req, e.sign(req), traceRootOf(id), attestationOf(id), chain.AnyTerms)
	if err != nil {
		t.Fatal(err)
	}
	if _, found, err := e.provider.RevealedSecret(e.ctx, txs, id, 0); err != nil || found {
		t.Fatalf("before the reveal: found %v (%v)", found, err)
	}
	e.toSeed(lc.Committed)
	if _, err := e.buyer.RevealSeed(e.ctx, req, secret); err != nil {
		t.Fatal(err)
	}
	got, found, err := e.provider.RevealedSecret(e.ctx, txs, id, 0)
	if err != nil || !found || got != secret {
		t.Fatalf("secret %x found %v (%v), want %x", got, found, err, secret)
	}
}
