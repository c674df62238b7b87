package circuits

import (
	"fmt"
	"io"
	"math/big"

	"github.com/consensys/gnark-crypto/ecc/bn254"
	"github.com/consensys/gnark-crypto/ecc/bn254/fp"
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

// VerifyingKeyFromWords rebuilds a verifying key from the contract's constructor words, so an
// auditor holding only the on-chain key can verify proofs offline. The result verifies
// proofs but does not serialize faithfully: G1.Beta and G1.Delta, which verification does not
// use, are not part of the words.
func VerifyingKeyFromWords(w *VKWords) (groth16.VerifyingKey, error) {
	if w == nil {
		return nil, fmt.Errorf("verifying key words: nil")
	}
	vk := new(groth16bn254.VerifyingKey)
	var err error
	if vk.G1.Alpha, err = toG1(w.Alpha); err != nil {
		return nil, fmt.Errorf("verifying key words: alpha: %w", err)
	}
	if vk.G2.Beta, err = toG2(w.Beta); err != nil {
		return nil, fmt.Errorf("verifying key words: beta: %w", err)
	}
	if vk.G2.Gamma, err = toG2(w.Gamma); err != nil {
		return nil, fmt.Errorf("verifying key words: gamma: %w", err)
	}
	if vk.G2.Delta, err = toG2(w.Delta); err != nil {
		return nil, fmt.Errorf("verifying key words: delta: %w", err)
	}
	vk.G1.K = make([]bn254.G1Affine, 6)
	for i := range vk.G1.K {
		if vk.G1.K[i], err = toG1([2]*big.Int{w.IC[2*i], w.IC[2*i+1]}); err != nil {
			return nil, fmt.Errorf("verifying key words: IC_%d: %w", i, err)
		}
	}
	if err := vk.Precompute(); err != nil {
		return nil, fmt.Errorf("verifying key words: %w", err)
	}
	return vk, nil
}

func setFp(dst *fp.Element, x *big.Int) error {
	if x == nil || x.Sign() < 0 || x.Cmp(fp.Modulus()) >= 0 {
		return fmt.Errorf("coordinate %v not below P", x)
	}
	dst.SetBigInt(x)
	return nil
}

func toG1(xy [2]*big.Int) (bn254.G1Affine, error) {
	var p bn254.G1Affine
	if err := setFp(&p.X, xy[0]); err != nil {
		return p, err
	}
	if err := setFp(&p.Y, xy[1]); err != nil {
		return p, err
	}
	if !p.IsOnCurve() || !p.IsInSubGroup() {
		return p, fmt.Errorf("not a G1 point")
	}
	return p, nil
}

func toG2(w [4]*big.Int) (bn254.G2Affine, error) {
	var p bn254.G2Affine
	for i, dst := range []*fp.Element{&p.X.A1, &p.X.A0, &p.Y.A1, &p.Y.A0} {
		if err := setFp(dst, w[i]); err != nil {
			return p, err
		}
	}
	if !p.IsOnCurve() || !p.IsInSubGroup() {
		return p, fmt.Errorf("not a G2 point")
	}
	return p, nil
}
