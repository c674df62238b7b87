package gadgets

import (
	"testing"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/consensys/gnark/frontend"
	"github.com/consensys/gnark/std/math/bits"

	"github.com/probitylabs/probity/commit"
)

type varHashCircuit struct {
	Xs  []frontend.Variable
	N   frontend.Variable
	Out frontend.Variable
}

func (c *varHashCircuit) Define(api frontend.API) error {
	sp, err := NewSponge(api)
	if err != nil {
		return err
	}
	// The prefix mask of N, as callers build it (opcheck.Prefix): boolean, non-increasing,
	// summing to N.
	in := make([]frontend.Variable, len(c.Xs))
	var sum frontend.Variable = 0
	for t := range in {
		in[t] = api.Select(api.IsZero(api.Sub(c.N, t)), 0, 1)
		if t > 0 {
			in[t] = api.Mul(in[t], in[t-1])
		}
		sum = api.Add(sum, in[t])
	}
	api.AssertIsEqual(sum, c.N)
	api.AssertIsEqual(c.Out, sp.VarHash(7, c.Xs, in))
	return nil
}

// VarHash equals S of the first n elements for every n, including 0 and the capacity, for
// odd and even capacities; a wrong n, or a nonzero element past n, gives another hash.
func TestVarHashMatchesNative(t *testing.T) {
	for _, capacity := range []int{1, 2, 5, 6} {
		xs := make([]fr.Element, capacity)
		for i := range xs {
			xs[i] = commit.Uint(uint64(1000 + 17*i))
		}
		for n := 0; n <= capacity; n++ {
			c := &varHashCircuit{Xs: make([]frontend.Variable, capacity)}
			assign := func(n, claimed int, tail uint64) *varHashCircuit {
				a := &varHashCircuit{Xs: make([]frontend.Variable, capacity), N: claimed}
				for i := range capacity {
					a.Xs[i] = 0
					if i < n {
						a.Xs[i] = xs[i]
					} else if i == n {
						a.Xs[i] = tail
					}
				}
				a.Out = commit.Hash(7, xs[:n]...)
				return a
			}
			if err := solved(c, assign(n, n, 0)); err != nil {
				t.Fatalf("cap %d n %d: %v", capacity, n, err)
			}
			if n < capacity {
				if solved(c, assign(n, n+1, 0)) == nil {
					t.Fatalf("cap %d n %d: a longer claimed length accepted", capacity, n)
				}
				if n%2 == 1 && solved(c, assign(n, n, 5)) == nil {
					t.Fatalf("cap %d n %d: a nonzero element in the last block accepted", capacity, n)
				}
			}
			if n > 0 && solved(c, assign(n, n-1, 0)) == nil {
				t.Fatalf("cap %d n %d: a shorter claimed length accepted", capacity, n)
			}
		}
	}
}

type varMerkleCircuit struct {
	Leaf, Index, Depth, Root frontend.Variable
	Sib                      []frontend.Variable
}

func (c *varMerkleCircuit) Define(api frontend.API) error {
	sp, err := NewSponge(api)
	if err != nil {
		return err
	}
	ib := bits.ToBinary(api, c.Index, bits.WithNbDigits(len(c.Sib)))
	api.AssertIsEqual(c.Root, VarMerkleRoot(api, sp, c.Leaf, ib, c.Sib, c.Depth))
	return nil
}

// VarMerkleRoot is the tree root of commit.Merkle at every depth up to the capacity; an index
// past 2^d (which would alias another leaf), a wrong depth and a wrong sibling are refused.
func TestVarMerkleRootMatchesNative(t *testing.T) {
	const capDepth = 4
	for d := 0; d <= capDepth; d++ {
		n := 1 << d
		leaves := make([]fr.Element, n)
		for i := range leaves {
			leaves[i] = commit.Uint(uint64(50 + i))
		}
		tree := commit.NewLeafTree(leaves, d)
		c := &varMerkleCircuit{Sib: make([]frontend.Variable, capDepth)}
		for i := range n {
			a := &varMerkleCircuit{Leaf: leaves[i], Index: i, Depth: d, Root: tree.TreeRoot(), Sib: make([]frontend.Variable, capDepth)}
			path := tree.Siblings(i)
			for h := range capDepth {
				a.Sib[h] = 0
				if h < d {
					a.Sib[h] = path[h]
				}
			}
			if err := solved(c, a); err != nil {
				t.Fatalf("depth %d index %d: %v", d, i, err)
			}
			if d < capDepth {
				b := *a
				b.Index = i + n // same low bits, a bit above d
				if solved(c, &b) == nil {
					t.Fatalf("depth %d index %d: index %d above 2^d accepted", d, i, i+n)
				}
			}
			b := *a
			b.Depth = (d + 1) % (capDepth + 1)
			if solved(c, &b) == nil {
				t.Fatalf("depth %d index %d: wrong depth accepted", d, i)
			}
			if d > 0 {
				b := *a
				b.Sib = append([]frontend.Variable{}, a.Sib...)
				b.Sib[d-1] = 1
				if solved(c, &b) == nil {
					t.Fatalf("depth %d index %d: wrong sibling accepted", d, i)
				}
			}
		}
		bad := &varMerkleCircuit{Leaf: leaves[0], Index: 0, Depth: capDepth + 1, Root: tree.TreeRoot(), Sib: make([]frontend.Variable, capDepth)}
		for h := range capDepth {
			bad.Sib[h] = 0
		}
		if solved(c, bad) == nil {
			t.Fatal("a depth above the capacity accepted")
		}
	}
}
