package circuits

import (
	"fmt"
	"io"
	"math/big"

	"github.com/consensys/gnark-crypto/ecc/bn254"
	"github.com/consensys/gnark/backend/groth16"
	groth16bn254 "github.com/consensys/gnark/backend/groth16/bn254"
)

// VKWords is a verifying key as the constructor arguments of contracts/src/Groth16Verifier.sol:
// G1 points as (x, y), G2 points in EIP-197 order (x.a1, x.a0, y.a1, y.a0).
type VKWords struct {
	Alpha [2]*big.Int
	Beta  [4]*big.Int
	Gamma [4]*big.Int
	Delta [4]*big.Int
	IC    [12]*big.Int // IC_0..IC_5 as (x, y) pairs
}

// Flat returns the 26 words in constructor order: alpha, beta, gamma, delta, ic.
func (v *VKWords) Flat() []*big.Int {
	out := append([]*big.Int{}, v.Alpha[:]...)
	out = append(out, v.Beta[:]...)
	out = append(out, v.Gamma[:]...)
	out = append(out, v.Delta[:]...)
	return append(out, v.IC[:]...)
}

// VerifyingKeyWords converts a verifying key of the layer circuit (5 public inputs, no
// commitments). The pairing equation the contract checks is e(-A,B)·e(alpha,beta)·e(L,gamma)·
// e(C,delta) = 1, the same as gnark's, so the words are gnark's key points unchanged.
func VerifyingKeyWords(vk groth16.VerifyingKey) (*VKWords, error) {
	v, ok := vk.(*groth16bn254.VerifyingKey)
	if !ok {
		return nil, fmt.Errorf("verifying key: not BN254")
	}
	if len(v.PublicAndCommitmentCommitted) != 0 || len(v.CommitmentKeys) != 0 {
		return nil, fmt.Errorf("verifying key: has commitments, the contract verifier cannot check it")
	}
	if len(v.G1.K) != 6 {
		return nil, fmt.Errorf("verifying key: %d IC points, want 6 (5 public inputs)", len(v.G1.K))
	}
	w := &VKWords{}
	w.Alpha = g1(v.G1.Alpha)
	w.Beta = g2(v.G2.Beta)
	w.Gamma = g2(v.G2.Gamma)
	w.Delta = g2(v.G2.Delta)
	for i, p := range v.G1.K {
		xy := g1(p)
		w.IC[2*i], w.IC[2*i+1] = xy[0], xy[1]
	}
	return w, nil
}

func g1(p bn254.G1Affine) [2]*big.Int {
	return [2]*big.Int{p.X.BigInt(new(big.Int)), p.Y.BigInt(new(big.Int))}
}

func g2(p bn254.G2Affine) [4]*big.Int {
	return [4]*big.Int{
		p.X.A1.BigInt(new(big.Int)), p.X.A0.BigInt(new(big.Int)),
		p.Y.A1.BigInt(new(big.Int)), p.Y.A0.BigInt(new(big.Int)),
	}
}

// ExportSolidity writes gnark's own Solidity verifier for vk (used to cross-check ours).
func ExportSolidity(vk groth16.VerifyingKey, w io.Writer) error {
	if err := vk.ExportSolidity(w); err != nil {
		return fmt.Errorf("exporting solidity verifier: %w", err)
	}
	return nil
}
