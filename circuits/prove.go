package circuits

import (
	"errors"
	"fmt"
	"math/big"

	"github.com/consensys/gnark-crypto/ecc"
	"github.com/consensys/gnark-crypto/ecc/bn254/fp"
	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/consensys/gnark/backend/groth16"
	groth16bn254 "github.com/consensys/gnark/backend/groth16/bn254"
	"github.com/consensys/gnark/frontend"

	// The gadgets' hints register themselves for the solver.
	_ "github.com/probitylabs/probity/circuits/gadgets"
)

// ProofSize is the size of a proof in the Solidity encoding of §7.
const ProofSize = 256

var (
	// ErrProof reports a proof that does not verify.
	ErrProof = errors.New("proof does not verify")
	// ErrProofEncoding reports bytes that are not a well-formed proof.
	ErrProofEncoding = errors.New("malformed proof encoding")
	// ErrPublicInput reports a public input that is not a field element.
	ErrPublicInput = errors.New("public input not below R")
)

// Proof is a Groth16 proof of the sampled-layer statement with its public inputs.
type Proof struct {
	Groth16      groth16.Proof
	Solidity     [ProofSize]byte
	PublicInputs [5]*big.Int
}

// Prove checks the inputs natively (a wrong output fails with a *SampleError), then proves.
func Prove(keys *Keys, in Inputs) (*Proof, error) {
	if keys == nil {
		return nil, errors.New("prove: nil keys")
	}
	if in.Shape.ID() != keys.Shape.ID() {
		return nil, fmt.Errorf("prove: %w: inputs are for %s, keys for %s", ErrInputs, in.Shape, keys.Shape)
	}
	w, err := BuildWitness(in)
	if err != nil {
		return nil, fmt.Errorf("prove: %w", err)
	}
	return ProveWitness(keys, w)
}

// ProveWitness proves an already built witness.
func ProveWitness(keys *Keys, w *Witness) (*Proof, error) {
	full, err := frontend.NewWitness(w.Assignment, ecc.BN254.ScalarField())
	if err != nil {
		return nil, fmt.Errorf("prove: witness: %w", err)
	}
	pr, err := groth16.Prove(keys.CCS, keys.PK, full)
	if err != nil {
		return nil, fmt.Errorf("prove %s: %w", keys.Shape, err)
	}
	p := &Proof{Groth16: pr, PublicInputs: w.PublicInputs}
	sol, err := MarshalSolidity(pr)
	if err != nil {
		return nil, err
	}
	p.Solidity = sol
	return p, nil
}

// Verify checks a proof against the verifying key and public inputs
// [inputRoot, weightsRoot, outputRoot, seed_l, epilogue].
func Verify(vk groth16.VerifyingKey, proof *Proof, publicInputs [5]*big.Int) error {
	if proof == nil || proof.Groth16 == nil {
		return fmt.Errorf("%w: no proof", ErrProofEncoding)
	}
	a := &LayerCircuit{}
	vals := []*frontend.Variable{&a.InputRoot, &a.WeightsRoot, &a.OutputRoot, &a.Seed, &a.Epilogue}
	for i, x := range publicInputs {
		if x == nil || x.Sign() < 0 || x.Cmp(fr.Modulus()) >= 0 {
			return fmt.Errorf("%w: public input %d = %v", ErrPublicInput, i, x)
		}
		*vals[i] = x
	}
	pw, err := frontend.NewWitness(a, ecc.BN254.ScalarField(), frontend.PublicOnly())
	if err != nil {
		return fmt.Errorf("verify: public witness: %w", err)
	}
	if err := groth16.Verify(proof.Groth16, vk, pw); err != nil {
		return fmt.Errorf("%w: %w", ErrProof, err)
	}
	return nil
}

// VerifySolidity verifies a proof given in its 256-byte Solidity encoding.
func VerifySolidity(vk groth16.VerifyingKey, proof []byte, publicInputs [5]*big.Int) error {
	p, err := ParseSolidity(proof)
	if err != nil {
		return err
	}
	return Verify(vk, p, publicInputs)
}

// MarshalSolidity returns the 256-byte encoding A.x, A.y, B.x.a1, B.x.a0, B.y.a1, B.y.a0,
// C.x, C.y (gnark's MarshalSolidity for a proof without commitments).
func MarshalSolidity(p groth16.Proof) ([ProofSize]byte, error) {
	var out [ProofSize]byte
	bp, ok := p.(*groth16bn254.Proof)
	if !ok {
		return out, fmt.Errorf("%w: not a BN254 proof", ErrProofEncoding)
	}
	if len(bp.Commitments) != 0 {
		return out, fmt.Errorf("%w: proof carries %d commitments", ErrProofEncoding, len(bp.Commitments))
	}
	b := bp.MarshalSolidity()
	if len(b) != ProofSize {
		return out, fmt.Errorf("%w: gnark encoded %d bytes, want %d", ErrProofEncoding, len(b), ProofSize)
	}
	copy(out[:], b)
	return out, nil
}

// ParseSolidity decodes the 256-byte encoding, rejecting coordinates >= P and points that are
// off the curve or outside the prime-order subgroup.
func ParseSolidity(b []byte) (*Proof, error) {
	if len(b) != ProofSize {
		return nil, fmt.Errorf("%w: %d bytes, want %d", ErrProofEncoding, len(b), ProofSize)
	}
	var w [8]fp.Element
	for i := range w {
		if err := w[i].SetBytesCanonical(b[32*i : 32*i+32]); err != nil {
			return nil, fmt.Errorf("%w: word %d: %w", ErrProofEncoding, i, err)
		}
	}
	p := new(groth16bn254.Proof)
	p.Ar.X, p.Ar.Y = w[0], w[1]
	p.Bs.X.A1, p.Bs.X.A0, p.Bs.Y.A1, p.Bs.Y.A0 = w[2], w[3], w[4], w[5]
	p.Krs.X, p.Krs.Y = w[6], w[7]
	if !p.Ar.IsOnCurve() || !p.Ar.IsInSubGroup() {
		return nil, fmt.Errorf("%w: A is not a G1 point", ErrProofEncoding)
	}
	if !p.Bs.IsOnCurve() || !p.Bs.IsInSubGroup() {
		return nil, fmt.Errorf("%w: B is not a G2 point", ErrProofEncoding)
	}
	if !p.Krs.IsOnCurve() || !p.Krs.IsInSubGroup() {
		return nil, fmt.Errorf("%w: C is not a G1 point", ErrProofEncoding)
	}
	out := &Proof{Groth16: p}
	copy(out.Solidity[:], b)
	return out, nil
}
