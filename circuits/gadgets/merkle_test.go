package gadgets

import (
	"math/big"
	"testing"

	"github.com/consensys/gnark/frontend"
	"github.com/consensys/gnark/std/math/bits"

	"github.com/probitylabs/probity/commit"
	"github.com/probitylabs/probity/tensor"
)

type merkleCircuit struct {
	Leaf     []frontend.Variable
	Index    frontend.Variable
	Siblings []frontend.Variable
	Root     frontend.Variable
}

func (c *merkleCircuit) Define(api frontend.API) error {
	sp, err := NewSponge(api)
	if err != nil {
		return err
	}
	ib := bits.ToBinary(api, c.Index, bits.WithNbDigits(len(c.Siblings)))
	api.AssertIsEqual(c.Root, MerkleRoot(api, sp, sp.Hash(TagLeaf, c.Leaf...), ib, c.Siblings))
	return nil
}

func TestMerkleMatchesCommit(t *testing.T) {
	const M, C, D = 5, 40, 3
	x := tensor.NewInt8(M, C)
	for i := range x.Data {
		x.Data[i] = int8(i*7 - 100)
	}
	tree, err := commit.CommitActivations(x, D)
	if err != nil {
		t.Fatal(err)
	}
	circ := &merkleCircuit{Leaf: make([]frontend.Variable, 2), Siblings: make([]frontend.Variable, D)}
	assign := func(o *commit.Opening) *merkleCircuit {
		a := &merkleCircuit{Index: o.Index, Root: commit.ToBig(tree.TreeRoot())}
		for _, e := range o.Leaf {
			a.Leaf = append(a.Leaf, commit.ToBig(e))
		}
		for _, e := range o.Siblings {
			a.Siblings = append(a.Siblings, commit.ToBig(e))
		}
		return a
	}
	for i := range M {
		o, err := tree.Open(i)
		if err != nil {
			t.Fatal(err)
		}
		if err := solved(circ, assign(o)); err != nil {
			t.Fatalf("row %d: %v", i, err)
		}
		// Wrong sibling.
		a := assign(o)
		a.Siblings[1] = new(big.Int).Add(a.Siblings[1].(*big.Int), big.NewInt(1))
		if solved(circ, a) == nil {
			t.Fatalf("row %d: wrong sibling accepted", i)
		}
		// Same opening claimed at another index.
		a = assign(o)
		a.Index = (i + 1) % M
		if solved(circ, a) == nil {
			t.Fatalf("row %d: opening accepted at index %d", i, (i+1)%M)
		}
		// Tampered leaf.
		a = assign(o)
		a.Leaf[0] = new(big.Int).Add(a.Leaf[0].(*big.Int), big.NewInt(1))
		if solved(circ, a) == nil {
			t.Fatalf("row %d: tampered leaf accepted", i)
		}
	}
	// A padding leaf (row >= M) is the element 0, not the hash of anything.
	o, _ := tree.Open(4)
	a := assign(o)
	a.Index = 5
	a.Leaf = []frontend.Variable{0, 0}
	if solved(circ, a) == nil {
		t.Fatal("padding row opened")
	}
}
