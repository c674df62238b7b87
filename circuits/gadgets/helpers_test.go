package gadgets

import (
	"testing"

	"github.com/consensys/gnark-crypto/ecc"
	"github.com/consensys/gnark/constraint/solver"
	"github.com/consensys/gnark/frontend"
	"github.com/consensys/gnark/frontend/cs/r1cs"
	"github.com/consensys/gnark/std/math/bits"
)

// solveWith compiles c and solves the assignment with some hints replaced: how a malicious
// prover deviates from the honest hints, which test.IsSolved cannot express.
func solveWith(t *testing.T, c, a frontend.Circuit, opts ...solver.Option) error {
	t.Helper()
	ccs, err := frontend.Compile(ecc.BN254.ScalarField(), r1cs.NewBuilder, c)
	if err != nil {
		t.Fatal(err)
	}
	w, err := frontend.NewWitness(a, ecc.BN254.ScalarField())
	if err != nil {
		t.Fatal(err)
	}
	return ccs.IsSolved(w, opts...)
}

// nBitsHint is gnark's binary-decomposition hint.
func nBitsHint(t *testing.T) solver.Hint {
	for _, h := range bits.GetHints() {
		if solver.GetHintName(h) == "github.com/consensys/gnark/std/math/bits.nBits" {
			return h
		}
	}
	t.Fatal("gnark's nBits hint not found")
	return nil
}
