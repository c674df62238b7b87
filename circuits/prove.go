package circuits

import (
	"errors"
	"fmt"

	"github.com/consensys/gnark-crypto/ecc/bn254/fp"
	"github.com/consensys/gnark/backend/groth16"
	groth16bn254 "github.com/consensys/gnark/backend/groth16/bn254"

	// The gadgets' hints register themselves for the solver.
	_ "github.com/probitylabs/probity/circuits/gadgets"
)

// ProofSize is the size of a proof in the Solidity encoding (specs/circuit.md §7).
const ProofSize = 256

var (
	// ErrProofEncoding reports bytes that are not a well-formed proof.
	ErrProofEncoding = errors.New("malformed proof encoding")
)

// Proof is a Groth16 proof with its Solidity encoding.
type Proof struct {
	Groth16  groth16.Proof
	Solidity [ProofSize]byte
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
