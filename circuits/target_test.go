package circuits

import (
	"crypto/sha256"
	"errors"
	"math/big"
	"sync"
	"testing"

	"github.com/consensys/gnark-crypto/ecc"
	"github.com/consensys/gnark/backend/groth16"
	"github.com/consensys/gnark/constraint"
	"github.com/consensys/gnark/frontend"
)

// chainCircuit is the test circuits' statement: five public inputs X with X[i] = X[0] + i and
// X[0] = W^(2^Rounds) for a private W. Its size (Rounds squarings) keeps setups and ceremonies
// to seconds while exercising what a real target has: public inputs and a private witness.
type chainCircuit struct {
	X      [5]frontend.Variable `gnark:",public"`
	W      frontend.Variable
	rounds int
}

func (c *chainCircuit) Define(api frontend.API) error {
	v := c.W
	for range c.rounds {
		v = api.Mul(v, v)
	}
	api.AssertIsEqual(v, c.X[0])
	for i := 1; i < len(c.X); i++ {
		api.AssertIsEqual(api.Add(c.X[0], i), c.X[i])
	}
	return nil
}

// testTarget is a key-cache Target over chainCircuit.
type testTarget struct {
	name   string
	rounds int
}

func (t testTarget) ID() [32]byte   { return sha256.Sum256([]byte("probity/test-target/" + t.name)) }
func (t testTarget) String() string { return "test target " + t.name }
func (t testTarget) Compile() (constraint.ConstraintSystem, error) {
	return CompilePlain(&chainCircuit{rounds: t.rounds}, t.String())
}

func tinyTarget() testTarget  { return testTarget{name: "tiny", rounds: 1000} }
func otherTarget() testTarget { return testTarget{name: "other", rounds: 1000} }

var (
	testKeysOnce sync.Once
	testKeysVal  *Keys
	testKeysErr  error
)

var errTestProof = errors.New("test proof does not verify")

// proveChain proves chainCircuit for the private w under keys and returns the proof with its
// public inputs.
func proveChain(t testing.TB, keys *Keys, w int64) (groth16.Proof, [5]*big.Int) {
	t.Helper()
	tt := keys.Target.(testTarget)
	x := big.NewInt(w)
	for range tt.rounds {
		x.Mul(x, x).Mod(x, ecc.BN254.ScalarField())
	}
	var pub [5]*big.Int
	a := &chainCircuit{W: w, rounds: tt.rounds}
	for i := range pub {
		pub[i] = new(big.Int).Add(x, big.NewInt(int64(i)))
		a.X[i] = pub[i]
	}
	wit, err := frontend.NewWitness(a, ecc.BN254.ScalarField())
	if err != nil {
		t.Fatal(err)
	}
	p, err := groth16.Prove(keys.CCS, keys.PK, wit)
	if err != nil {
		t.Fatal(err)
	}
	return p, pub
}

// verifyChain checks a chainCircuit proof under vk.
func verifyChain(vk groth16.VerifyingKey, p groth16.Proof, pub [5]*big.Int) error {
	a := &chainCircuit{}
	for i := range pub {
		a.X[i] = pub[i]
	}
	wit, err := frontend.NewWitness(a, ecc.BN254.ScalarField(), frontend.PublicOnly())
	if err != nil {
		return err
	}
	if err := groth16.Verify(p, vk, wit); err != nil {
		return errors.Join(errTestProof, err)
	}
	return nil
}

// testKeys are tinyTarget's development keys, set up once per test binary.
func testKeys(t testing.TB) *Keys {
	t.Helper()
	testKeysOnce.Do(func() { testKeysVal, testKeysErr = DevSetup(tinyTarget()) })
	if testKeysErr != nil {
		t.Fatal(testKeysErr)
	}
	return testKeysVal
}
