package circuits

import (
	"errors"
	"math/big"
	"math/rand/v2"
	"sync"
	"testing"
)

var (
	tinyOnce sync.Once
	tinyKeys *Keys
	tinyErr  error
)

// testKeys runs one dev setup of the tiny shape per test binary.
func testKeys(t testing.TB) *Keys {
	t.Helper()
	tinyOnce.Do(func() {
		s, _ := Lookup("tiny")
		tinyKeys, tinyErr = DevSetup(s)
	})
	if tinyErr != nil {
		t.Fatal(tinyErr)
	}
	return tinyKeys
}

func tinyInputs(t testing.TB, seed uint64, M int) Inputs {
	t.Helper()
	s, _ := Lookup("tiny")
	in, err := RandomInputs(s, M, rand.New(rand.NewPCG(seed, 1)), big.NewInt(int64(seed)*7919+1), seed%2 == 0)
	if err != nil {
		t.Fatal(err)
	}
	return in
}

func TestProveVerifyTiny(t *testing.T) {
	k := testKeys(t)
	in := tinyInputs(t, 1, 5)
	p, err := Prove(k, in)
	if err != nil {
		t.Fatal(err)
	}
	if err := Verify(k.VK, p, p.PublicInputs); err != nil {
		t.Fatal(err)
	}
	if err := VerifySolidity(k.VK, p.Solidity[:], p.PublicInputs); err != nil {
		t.Fatalf("solidity round trip: %v", err)
	}
	// Any change of a public input must be rejected.
	for i := range p.PublicInputs {
		pub := p.PublicInputs
		pub[i] = new(big.Int).Add(pub[i], big.NewInt(1))
		if err := Verify(k.VK, p, pub); !errors.Is(err, ErrProof) {
			t.Errorf("public input %d + 1: got %v, want ErrProof", i, err)
		}
	}
	// Swapped roots (input <-> output) must be rejected.
	pub := p.PublicInputs
	pub[0], pub[2] = pub[2], pub[0]
	if err := Verify(k.VK, p, pub); !errors.Is(err, ErrProof) {
		t.Errorf("swapped roots: got %v, want ErrProof", err)
	}
}
