package opcheck

import (
	"math/big"
	"testing"

	"github.com/consensys/gnark/frontend"
)

type pickCircuit struct {
	Xs       []frontend.Variable
	Idx, Out frontend.Variable
}

func (c *pickCircuit) Define(api frontend.API) error {
	api.AssertIsEqual(Pick(api, c.Xs, c.Idx), c.Out)
	return nil
}

func newPick(n int) *pickCircuit { return &pickCircuit{Xs: make([]frontend.Variable, n)} }

// Pick returns xs[idx] for every idx of power-of-two and other lengths, and rejects an index
// out of range: len(xs), the rest of its bit width, and -1.
func TestPick(t *testing.T) {
	for _, n := range []int{1, 2, 3, 4, 5, 7, 8, 9, 31, 255, 256} {
		a := newPick(n)
		for i := range a.Xs {
			a.Xs[i] = 1000 + 7*i
		}
		for i := range n {
			a.Idx, a.Out = i, 1000+7*i
			if err := isSolved(newPick(n), a); err != nil {
				t.Fatalf("n %d, idx %d: %v", n, i, err)
			}
			a.Out = 1000 + 7*i + 1
			if isSolved(newPick(n), a) == nil {
				t.Fatalf("n %d, idx %d: a wrong value accepted", n, i)
			}
		}
		// Out of range: whatever value the prover claims, idx is refused.
		bad := []int64{int64(n), -1}
		for b := n + 1; b < 1<<max(1, big.NewInt(int64(n-1)).BitLen()); b++ {
			bad = append(bad, int64(b))
		}
		for _, i := range bad {
			for _, out := range []int{0, 1000, 1000 + 7*(n-1), 1000 + 7*n} {
				a.Idx, a.Out = i, out
				if isSolved(newPick(n), a) == nil {
					t.Fatalf("n %d: idx %d accepted with out %d", n, i, out)
				}
			}
		}
	}
}

type prefixCircuit struct {
	N frontend.Variable
	M []frontend.Variable
}

func (c *prefixCircuit) Define(api frontend.API) error {
	m := Prefix(api, c.N, len(c.M))
	for t := range m {
		api.AssertIsEqual(m[t], c.M[t])
	}
	return nil
}

func prefixAssign(n int64, mask []int64) *prefixCircuit {
	a := &prefixCircuit{N: n, M: make([]frontend.Variable, len(mask))}
	for t, v := range mask {
		a.M[t] = v
	}
	return a
}

func prefixMask(n, c int) []int64 {
	m := make([]int64, c)
	for t := range min(n, c) {
		m[t] = 1
	}
	return m
}

// Prefix gives the unique mask for n = 0, c and everything in between; n = c+1 and n = -1 are
// unsatisfiable.
func TestPrefix(t *testing.T) {
	for _, c := range []int{1, 2, 5, 8} {
		for n := 0; n <= c; n++ {
			if err := isSolved(&prefixCircuit{M: make([]frontend.Variable, c)}, prefixAssign(int64(n), prefixMask(n, c))); err != nil {
				t.Fatalf("c %d, n %d: %v", c, n, err)
			}
		}
		for _, n := range []int64{int64(c) + 1, -1} {
			// the honest hint caps at c ones; every mask is refused
			for k := 0; k <= c; k++ {
				if isSolved(&prefixCircuit{M: make([]frontend.Variable, c)}, prefixAssign(n, prefixMask(k, c))) == nil {
					t.Fatalf("c %d, n %d accepted", c, n)
				}
			}
		}
	}
}

// A malicious prefix hint: a mask that is not prefix-shaped, sums to the wrong count or is not
// boolean is refused, even where the circuit expects exactly that mask.
func TestPrefixMaliciousHint(t *testing.T) {
	const c = 5
	for _, k := range []struct {
		name string
		n    int64
		mask []int64
	}{
		{"gap", 2, []int64{1, 0, 1, 0, 0}},
		{"shifted", 2, []int64{0, 1, 1, 0, 0}},
		{"suffix", 2, []int64{0, 0, 0, 1, 1}},
		{"one too many", 2, []int64{1, 1, 1, 0, 0}},
		{"one too few", 2, []int64{1, 0, 0, 0, 0}},
		{"all for c-1", c - 1, []int64{1, 1, 1, 1, 1}},
		{"non-boolean", 2, []int64{2, 0, 0, 0, 0}},
		{"non-boolean prefix", 3, []int64{1, 2, 0, 0, 0}},
		{"-1 then 2", 1, []int64{-1, 2, 0, 0, 0}},
	} {
		bad := func(_ *big.Int, in, out []*big.Int) error {
			for t := range out {
				out[t].Mod(big.NewInt(k.mask[t]), fieldR)
			}
			return nil
		}
		if solveOverridden(t, &prefixCircuit{M: make([]frontend.Variable, c)}, prefixAssign(k.n, k.mask), prefixHint, bad) == nil {
			t.Fatalf("%s accepted", k.name)
		}
	}
	if err := solveOverridden(t, &prefixCircuit{M: make([]frontend.Variable, c)}, prefixAssign(3, prefixMask(3, c)), prefixHint, prefixHint); err != nil {
		t.Fatal(err)
	}
}
