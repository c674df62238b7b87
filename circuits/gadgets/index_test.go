package gadgets

import (
	"math/big"
	"testing"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/consensys/gnark/constraint/solver"
	"github.com/consensys/gnark/frontend"

	"github.com/probitylabs/probity/commit"
)

type indexCircuit struct {
	D, N, S int `gnark:"-"`
	Seed    frontend.Variable
	M       frontend.Variable
	I, J    frontend.Variable
}

func (c *indexCircuit) Define(api frontend.API) error {
	sp, err := NewSponge(api)
	if err != nil {
		return err
	}
	lo, mid := HashWords(api, SampleHash(sp, c.Seed, c.S))
	ib := ModVar(api, lo, c.M, c.D)
	jb := ModConst(api, mid, uint64(c.N))
	api.AssertIsEqual(c.I, FromBits(api, ib))
	api.AssertIsEqual(c.J, FromBits(api, jb))
	return nil
}

func TestSampleIndicesMatchNative(t *testing.T) {
	cases := []struct{ M, D, N int }{{1, 0, 1}, {5, 3, 4}, {8, 3, 3}, {7, 3, 64}, {1000, 10, 256}, {3, 12, 4096}, {4096, 12, 100}}
	for _, tc := range cases {
		var seed fr.Element
		seed.SetRandom()
		const k = 4
		smp := commit.Samples(seed, k, tc.M, tc.N)
		for s := range k {
			c := &indexCircuit{D: tc.D, N: tc.N, S: s}
			a := &indexCircuit{D: tc.D, N: tc.N, S: s, Seed: commit.ToBig(seed), M: tc.M, I: smp[s].I, J: smp[s].J}
			if err := solved(c, a); err != nil {
				t.Fatalf("%+v sample %d: %v", tc, s, err)
			}
			a.I = (smp[s].I + 1) % tc.M
			if tc.M > 1 && solved(c, a) == nil {
				t.Fatalf("%+v sample %d: wrong row accepted", tc, s)
			}
			a.I, a.J = smp[s].I, (smp[s].J+1)%tc.N
			if tc.N > 1 && solved(c, a) == nil {
				t.Fatalf("%+v sample %d: wrong column accepted", tc, s)
			}
		}
	}
}

// A prover whose hints lie must not get another index: a remainder r + M with quotient q - 1,
// or the decomposition of h + R instead of h.
func TestSampleIndicesMaliciousHints(t *testing.T) {
	var seed fr.Element
	seed.SetUint64(99)
	M, D, N := 5, 3, 6
	smp := commit.Samples(seed, 1, M, N)
	c := &indexCircuit{D: D, N: N, S: 0}
	honest := &indexCircuit{D: D, N: N, S: 0, Seed: commit.ToBig(seed), M: M, I: smp[0].I, J: smp[0].J}
	if err := solveWith(t, c, honest); err != nil {
		t.Fatal(err)
	}

	// divmod: q-1, r+m (only when q >= 1, so the lie is well-formed).
	lyingDivMod := func(f *big.Int, in, out []*big.Int) error {
		if err := divModHint(f, in, out); err != nil {
			return err
		}
		if out[0].Sign() > 0 {
			out[0].Sub(out[0], big.NewInt(1))
			out[1].Add(out[1], in[1])
		}
		return nil
	}
	for _, target := range []int{0, 1} { // row then column
		a := *honest
		if target == 0 {
			a.I = smp[0].I + M
		} else {
			a.J = smp[0].J + N
		}
		if solveWith(t, c, &a, solver.OverrideHint(solver.GetHintID(divModHint), lyingDivMod)) == nil {
			t.Fatalf("target %d: remainder >= modulus accepted", target)
		}
	}

	// Non-canonical decomposition of h: bits of h + R (254 bits still hold it when h < 2^254 - R).
	nb := nBitsHint(t)
	lyingBits := func(f *big.Int, in, out []*big.Int) error {
		if len(out) != 254 {
			return nb(f, in, out)
		}
		v := new(big.Int).Add(in[0], f)
		for i := range out {
			out[i].SetUint64(uint64(v.Bit(i)))
		}
		return nil
	}
	sp := commit.Hash(commit.TagSample, seed, fr.Element{})
	h := commit.ToBig(sp)
	hr := new(big.Int).Add(h, fr.Modulus())
	if hr.BitLen() > 254 {
		t.Skip("h + R needs 255 bits for this seed")
	}
	lo := new(big.Int).And(hr, new(big.Int).SetUint64(^uint64(0)))
	mid := new(big.Int).And(new(big.Int).Rsh(hr, 64), new(big.Int).SetUint64(^uint64(0)))
	a := *honest
	a.I = int(new(big.Int).Mod(lo, big.NewInt(int64(M))).Int64())
	a.J = int(new(big.Int).Mod(mid, big.NewInt(int64(N))).Int64())
	if a.I == honest.I && a.J == honest.J {
		t.Skip("h + R gives the same indices for this seed")
	}
	if solveWith(t, c, &a, solver.OverrideHint(solver.GetHintID(nb), lyingBits)) == nil {
		t.Fatal("non-canonical decomposition of h accepted")
	}
}
