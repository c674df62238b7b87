package chain_test

import (
	"encoding/json"
	"math/big"
	"os"
	"testing"

	"github.com/ethereum/go-ethereum/common"

	"github.com/probitylabs/probity/chain"
)

// tinyVector is contracts/test/vectors/groth16_tiny.json: real gnark proofs of
// the tiny shape and the verifying key as Groth16Verifier constructor words.
type tinyVector struct {
	VKWords struct {
		Alpha, Beta, Gamma, Delta, IC []string
	} `json:"vkWords"`
	Proofs []struct {
		Name         string   `json:"name"`
		ProofWords   []string `json:"proofWords"`
		PublicInputs []string `json:"publicInputs"`
	} `json:"proofs"`
}

func dec(t *testing.T, s string) *big.Int {
	v, ok := new(big.Int).SetString(s, 10)
	if !ok {
		t.Fatalf("bad decimal %q in vector", s)
	}
	return v
}

func loadTiny(t *testing.T) (chain.VerifyingKey, []chain.Proof, [][5]*big.Int) {
	raw, err := os.ReadFile("../contracts/test/vectors/groth16_tiny.json")
	if err != nil {
		t.Fatal(err)
	}
	var v tinyVector
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatal(err)
	}
	var vk chain.VerifyingKey
	fill := func(dst []*big.Int, src []string) {
		if len(src) != len(dst) {
			t.Fatalf("vector has %d words, want %d", len(src), len(dst))
		}
		for i, s := range src {
			dst[i] = dec(t, s)
		}
	}
	fill(vk.Alpha[:], v.VKWords.Alpha)
	fill(vk.Beta[:], v.VKWords.Beta)
	fill(vk.Gamma[:], v.VKWords.Gamma)
	fill(vk.Delta[:], v.VKWords.Delta)
	fill(vk.IC[:], v.VKWords.IC)
	var proofs []chain.Proof
	var inputs [][5]*big.Int
	for _, p := range v.Proofs {
		var pr chain.Proof
		var in [5]*big.Int
		fill(pr[:], p.ProofWords)
		fill(in[:], p.PublicInputs)
		proofs, inputs = append(proofs, pr), append(inputs, in)
	}
	if len(proofs) == 0 {
		t.Fatal("no proofs in the tiny vector")
	}
	return vk, proofs, inputs
}

// TestTinyVectorVerifiesOnChain deploys Groth16Verifier with the tiny shape's
// real verifying key from Go and checks gnark's proofs through it.
func TestTinyVectorVerifiesOnChain(t *testing.T) {
	e := setup(t)
	vk, proofs, inputs := loadTiny(t)
	v := must[common.Address](t)(e.gov.DeployVerifier(e.ctx, vk))
	for i := range proofs {
		if ok := must[bool](t)(e.keeper.VerifyProof(e.ctx, v, proofs[i], inputs[i])); !ok {
			t.Fatalf("proof %d rejected", i)
		}
		bad := proofs[i]
		bad[7] = new(big.Int).Xor(bad[7], big.NewInt(1))
		if ok := must[bool](t)(e.keeper.VerifyProof(e.ctx, v, bad, inputs[i])); ok {
			t.Fatalf("mangled proof %d accepted", i)
		}
	}
}

// TestTinyVectorProofForAnotherJobSlashes registers the tiny shape with its
// real verifier and submits a real proof whose public inputs belong to another
// statement: the manager rebuilds the job's own inputs, so the proof fails and
// the provider is slashed. (A valid tiny proof for a chain job needs the prover;
// the end-to-end tests cover it.)
func TestTinyVectorProofForAnotherJobSlashes(t *testing.T) {
	e := setup(t)
	vk, proofs, _ := loadTiny(t)
	v := must[common.Address](t)(e.gov.DeployVerifier(e.ctx, vk))
	// The fixture already registered tiny with the synthetic key; register the real key
	// under a sibling shape id with the same dimensions except k.
	shape := must[[32]byte](t)(e.gov.RegisterShape(e.ctx, v, 16, 4, 3, 3))
	e.shape, e.k = shape, 3
	jobID, roots := e.lockedAndCommitted()
	seed := e.fixSeed(jobID)
	sub := e.submission(jobID, roots, seed, proofs[0])
	res, err := e.provider.SubmitProof(e.ctx, jobID, sub)
	if err != nil {
		t.Fatal(err)
	}
	if res.Slashed == nil || res.Rejected == nil || res.Rejected.Layer.Sign() != 0 {
		t.Fatalf("want layer 0 rejected and slashed, got %+v", res)
	}
}
