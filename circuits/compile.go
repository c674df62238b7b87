package circuits

import (
	"fmt"

	"github.com/consensys/gnark-crypto/ecc"
	"github.com/consensys/gnark/constraint"
	"github.com/consensys/gnark/frontend"
	"github.com/consensys/gnark/frontend/cs/r1cs"
)

// CompilePlain compiles any circuit to R1CS over BN254 and checks that it carries no Pedersen
// commitment, so its verifier is contracts/src/Groth16Verifier.sol's plain pairing check.
func CompilePlain(c frontend.Circuit, name string) (constraint.ConstraintSystem, error) {
	return compileCircuit(c, name)
}

func compileCircuit(c frontend.Circuit, name string) (constraint.ConstraintSystem, error) {
	ccs, err := frontend.Compile(ecc.BN254.ScalarField(), r1cs.NewBuilder, c)
	if err != nil {
		return nil, fmt.Errorf("compiling %s: %w", name, err)
	}
	if n := commitmentCount(ccs); n != 0 {
		return nil, fmt.Errorf("compiling %s: %d Pedersen commitments, want none", name, n)
	}
	return ccs, nil
}

func commitmentCount(ccs constraint.ConstraintSystem) int {
	type committer interface{ GetCommitments() constraint.Commitments }
	if c, ok := ccs.(committer); ok {
		return len(c.GetCommitments().CommitmentIndexes())
	}
	return 0
}
