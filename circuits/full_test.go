package circuits

import (
	"math/big"
	"testing"

	"github.com/consensys/gnark-crypto/ecc"
	"github.com/consensys/gnark/frontend"
	"github.com/consensys/gnark/std/math/bits"
	"github.com/consensys/gnark/test"

	"github.com/probitylabs/probity/circuits/gadgets"
	"github.com/probitylabs/probity/commit"
)

// fullLayerCircuit is the no-sampling baseline: it hashes every row of the three tensors
// into their roots and checks every output element. Same public inputs as LayerCircuit (the
// seed is unused), M fixed at compile time. It exists to measure what sampling buys.
type fullLayerCircuit struct {
	InputRoot   frontend.Variable `gnark:",public"`
	WeightsRoot frontend.Variable `gnark:",public"`
	OutputRoot  frontend.Variable `gnark:",public"`
	Seed        frontend.Variable `gnark:",public"`
	Epilogue    frontend.Variable `gnark:",public"`

	A    [][]frontend.Variable // M packed rows
	W    [][]frontend.Variable // N packed rows
	Bias []frontend.Variable   // N bias elements
	O    [][]frontend.Variable // M packed rows

	shape Shape
	m     int
}

func newFullLayerCircuit(s Shape, M int) *fullLayerCircuit {
	c := &fullLayerCircuit{shape: s, m: M}
	nK, nN := gadgets.PackedLen(int(s.K)), gadgets.PackedLen(int(s.N))
	for range M {
		c.A = append(c.A, make([]frontend.Variable, nK))
		c.O = append(c.O, make([]frontend.Variable, nN))
	}
	for range s.N {
		c.W = append(c.W, make([]frontend.Variable, nK))
		c.Bias = append(c.Bias, nil)
	}
	return c
}

func fullRoot(api frontend.API, sp *gadgets.Sponge, leaves []frontend.Variable, d int) frontend.Variable {
	lv := append([]frontend.Variable{}, leaves...)
	for len(lv) < 1<<d {
		lv = append(lv, 0)
	}
	for h := 0; h < d; h++ {
		next := make([]frontend.Variable, len(lv)/2)
		for i := range next {
			next[i] = sp.Node(lv[2*i], lv[2*i+1])
		}
		lv = next
	}
	return lv[0]
}

func (c *fullLayerCircuit) Define(api frontend.API) error {
	s := c.shape
	K, N, D, dW := int(s.K), int(s.N), int(s.D), s.WeightsDepth()
	sp, err := gadgets.NewSponge(api)
	if err != nil {
		return err
	}
	ep := gadgets.UnpackEpilogue(api, c.Epilogue)
	two31 := new(big.Int).Lsh(big.NewInt(1), 31)
	var la, lw, lo []frontend.Variable
	aB := make([][]frontend.Variable, c.m)
	for i := range c.m {
		aB[i] = gadgets.UnpackRow(api, c.A[i], K)
		la = append(la, sp.Hash(gadgets.TagLeaf, c.A[i]...))
		lo = append(lo, sp.Hash(gadgets.TagLeaf, c.O[i]...))
	}
	wB := make([][]frontend.Variable, N)
	for j := range N {
		wB[j] = gadgets.UnpackRow(api, c.W[j], K)
		bits.ToBinary(api, c.Bias[j], bits.WithNbDigits(32))
		lw = append(lw, sp.Hash(gadgets.TagLeaf, append(append([]frontend.Variable{}, c.W[j]...), c.Bias[j])...))
	}
	api.AssertIsEqual(c.InputRoot, sp.Hash(gadgets.TagRoot, kindActivations, c.m, K, D, fullRoot(api, sp, la, D)))
	api.AssertIsEqual(c.OutputRoot, sp.Hash(gadgets.TagRoot, kindActivations, c.m, N, D, fullRoot(api, sp, lo, D)))
	api.AssertIsEqual(c.WeightsRoot, sp.Hash(gadgets.TagRoot, kindLayer, N, K, dW, fullRoot(api, sp, lw, dW)))
	for i := range c.m {
		oB := gadgets.UnpackRow(api, c.O[i], N)
		for j := range N {
			acc := api.Sub(c.Bias[j], two31)
			for t := range K {
				acc = api.Add(acc, api.Mul(api.Sub(aB[i][t], 128), api.Sub(wB[j][t], 128)))
			}
			bits.ToBinary(api, api.Add(acc, two31), bits.WithNbDigits(32))
			gadgets.AssertRequant(api, ep, acc, api.Sub(oB[j], 128))
		}
	}
	return nil
}

func assignFull(t testing.TB, in Inputs) (*fullLayerCircuit, [5]*big.Int) {
	// Committed directly (no native sample checks), so tests can commit a wrong output.
	D := int(in.Shape.D)
	ta, err1 := commit.CommitActivations(in.Input, D)
	tw, err2 := commit.CommitLayer(in.Layer.Weight, in.Layer.Bias)
	to, err3 := commit.CommitActivations(in.Output, D)
	if err1 != nil || err2 != nil || err3 != nil {
		t.Fatal(err1, err2, err3)
	}
	pub := [5]*big.Int{big_(ta.Root()), big_(tw.Root()), big_(to.Root()), in.Seed, in.Layer.Epilogue.Word()}
	M := in.Input.Rows()
	a := newFullLayerCircuit(in.Shape, M)
	a.InputRoot, a.WeightsRoot, a.OutputRoot, a.Seed, a.Epilogue = pub[0], pub[1], pub[2], pub[3], pub[4]
	for i := range M {
		fill(a.A[i], commit.PackRow(in.Input.Row(i)))
		fill(a.O[i], commit.PackRow(in.Output.Row(i)))
	}
	for j := range int(in.Shape.N) {
		leaf := commit.LeafLayer(in.Layer.Weight.Row(j), in.Layer.Bias.Data[j])
		fill(a.W[j], leaf[:len(leaf)-1])
		a.Bias[j] = big_(leaf[len(leaf)-1])
	}
	return a, pub
}

func solvedFull(c, a *fullLayerCircuit) error {
	return test.IsSolved(c, a, ecc.BN254.ScalarField())
}

// The baseline is itself a correct statement: honest layers pass, a wrong element fails.
func TestFullLayerBaseline(t *testing.T) {
	in := tinyInputs(t, 9, 5)
	a, _ := assignFull(t, in)
	c := newFullLayerCircuit(in.Shape, 5)
	if err := solvedFull(c, a); err != nil {
		t.Fatal(err)
	}
	// A wrong element, consistently committed: only the layer check can fail.
	in.Output = in.Output.Clone()
	in.Output.Data[3] ^= 1
	a2, _ := assignFull(t, in)
	if solvedFull(c, a2) == nil {
		t.Fatal("wrong element accepted by the full circuit")
	}
}
