package verifier

import (
	"sync"
	"testing"

	"github.com/consensys/gnark-crypto/ecc"
	"github.com/consensys/gnark/backend/groth16"
	groth16bn254 "github.com/consensys/gnark/backend/groth16/bn254"
	"github.com/consensys/gnark/frontend"
	"github.com/consensys/gnark/frontend/cs/r1cs"
)

// fivePublic has five public inputs like the universal statement, so its key has the right
// size and only the key's values differ.
type fivePublic struct {
	A, B, C, D, E frontend.Variable `gnark:",public"`
	X             frontend.Variable
}

func (c *fivePublic) Define(api frontend.API) error {
	api.AssertIsEqual(api.Mul(c.X, c.X), api.Add(c.A, c.B, c.C, c.D, c.E))
	return nil
}

var otherKeyOnce = sync.OnceValues(func() (*groth16bn254.VerifyingKey, error) {
	ccs, err := frontend.Compile(ecc.BN254.ScalarField(), r1cs.NewBuilder, &fivePublic{})
	if err != nil {
		return nil, err
	}
	_, vk, err := groth16.Setup(ccs)
	if err != nil {
		return nil, err
	}
	return vk.(*groth16bn254.VerifyingKey), nil
})

// otherKey is a verifying key of another setup.
func otherKey(t testing.TB) *groth16bn254.VerifyingKey {
	vk, err := otherKeyOnce()
	if err != nil {
		t.Fatal(err)
	}
	return vk
}
