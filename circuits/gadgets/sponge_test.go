package gadgets

import (
	"math/big"
	"testing"

	"github.com/consensys/gnark-crypto/ecc"
	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/consensys/gnark/frontend"
	"github.com/consensys/gnark/test"

	"github.com/probitylabs/probity/commit"
)

type spongeCircuit struct {
	Tag uint64 `gnark:"-"`
	In  []frontend.Variable
	Out frontend.Variable
}

func (c *spongeCircuit) Define(api frontend.API) error {
	sp, err := NewSponge(api)
	if err != nil {
		return err
	}
	api.AssertIsEqual(c.Out, sp.Hash(c.Tag, c.In...))
	return nil
}

func solved(c, a frontend.Circuit) error { return test.IsSolved(c, a, ecc.BN254.ScalarField()) }

// The in-circuit sponge must agree bit for bit with commit.Hash for every tag and every
// length parity, including the empty input.
func TestSpongeMatchesNative(t *testing.T) {
	for _, tag := range []uint64{commit.TagLeaf, commit.TagNode, commit.TagRoot, commit.TagSample} {
		for n := 0; n <= 5; n++ {
			xs := make([]fr.Element, n)
			in := make([]frontend.Variable, n)
			for i := range xs {
				xs[i].SetRandom()
				in[i] = xs[i].BigInt(new(big.Int))
			}
			want := commit.Hash(tag, xs...)
			c := &spongeCircuit{Tag: tag, In: make([]frontend.Variable, n)}
			if err := solved(c, &spongeCircuit{Tag: tag, In: in, Out: commit.ToBig(want)}); err != nil {
				t.Fatalf("tag %d n %d: %v", tag, n, err)
			}
			var bad fr.Element
			bad.SetOne()
			bad.Add(&bad, &want)
			if solved(c, &spongeCircuit{Tag: tag, In: in, Out: commit.ToBig(bad)}) == nil {
				t.Fatalf("tag %d n %d: wrong digest accepted", tag, n)
			}
			if n > 0 {
				// Same inputs under another tag: domain separation must show.
				other := commit.Hash(tag+1, xs...)
				if solved(c, &spongeCircuit{Tag: tag, In: in, Out: commit.ToBig(other)}) == nil {
					t.Fatalf("tag %d n %d: digest of tag %d accepted", tag, n, tag+1)
				}
			}
		}
	}
}

func TestSpongeNodeMatchesNative(t *testing.T) {
	var l, r fr.Element
	l.SetUint64(3)
	r.SetUint64(5)
	c := &spongeCircuit{Tag: commit.TagNode, In: make([]frontend.Variable, 2)}
	if err := solved(c, &spongeCircuit{Tag: commit.TagNode, In: []frontend.Variable{3, 5}, Out: commit.ToBig(commit.Node(l, r))}); err != nil {
		t.Fatal(err)
	}
	// Order matters.
	if solved(c, &spongeCircuit{Tag: commit.TagNode, In: []frontend.Variable{5, 3}, Out: commit.ToBig(commit.Node(l, r))}) == nil {
		t.Fatal("swapped children accepted")
	}
}
