package circuits

import (
	"math/big"

	"github.com/consensys/gnark/frontend"
	"github.com/consensys/gnark/std/math/bits"
	"github.com/consensys/gnark/std/selector"

	"github.com/probitylabs/probity/circuits/gadgets"
)

// Kinds of committed tensors bound into roots (§4.3).
const (
	kindActivations = 1
	kindLayer       = 2
)

// SampleWitness is the private data of one sample: the three openings.
type SampleWitness struct {
	A    []frontend.Variable // packed input row i, ceil(K/31) elements
	ASib []frontend.Variable // D siblings
	W    []frontend.Variable // packed weight row j, ceil(K/31) elements
	Bias frontend.Variable   // b[j] + 2^31
	WSib []frontend.Variable // ceil(log2 N) siblings
	O    []frontend.Variable // packed output row i, ceil(N/31) elements
	OSib []frontend.Variable // D siblings
}

// LayerCircuit is the sampled-layer statement of §7 for one shape. The public inputs are,
// in this order, inputRoot, weightsRoot, outputRoot, seed_l and the epilogue word; M, the
// tree roots and the openings are private, bound to the public roots through §4.3.
type LayerCircuit struct {
	InputRoot   frontend.Variable `gnark:",public"`
	WeightsRoot frontend.Variable `gnark:",public"`
	OutputRoot  frontend.Variable `gnark:",public"`
	Seed        frontend.Variable `gnark:",public"`
	Epilogue    frontend.Variable `gnark:",public"`

	M       frontend.Variable
	TA      frontend.Variable
	TW      frontend.Variable
	TO      frontend.Variable
	Samples []SampleWitness

	shape Shape
}

// NewLayerCircuit allocates the circuit (or an assignment) for a shape.
func NewLayerCircuit(s Shape) *LayerCircuit {
	c := &LayerCircuit{shape: s, Samples: make([]SampleWitness, s.Kn)}
	nA, nO, dW := gadgets.PackedLen(int(s.K)), gadgets.PackedLen(int(s.N)), s.WeightsDepth()
	for i := range c.Samples {
		c.Samples[i] = SampleWitness{
			A:    make([]frontend.Variable, nA),
			ASib: make([]frontend.Variable, s.D),
			W:    make([]frontend.Variable, nA),
			WSib: make([]frontend.Variable, dW),
			O:    make([]frontend.Variable, nO),
			OSib: make([]frontend.Variable, s.D),
		}
	}
	return c
}

// Define implements frontend.Circuit.
func (c *LayerCircuit) Define(api frontend.API) error {
	s := c.shape
	K, N, D, dW := int(s.K), int(s.N), int(s.D), s.WeightsDepth()
	sp, err := gadgets.NewSponge(api)
	if err != nil {
		return err
	}

	// 1 <= M <= 2^D
	if D > 0 {
		bits.ToBinary(api, api.Sub(c.M, 1), bits.WithNbDigits(D))
	} else {
		api.AssertIsEqual(c.M, 1)
	}
	api.AssertIsEqual(c.InputRoot, sp.Hash(gadgets.TagRoot, kindActivations, c.M, K, D, c.TA))
	api.AssertIsEqual(c.OutputRoot, sp.Hash(gadgets.TagRoot, kindActivations, c.M, N, D, c.TO))
	api.AssertIsEqual(c.WeightsRoot, sp.Hash(gadgets.TagRoot, kindLayer, N, K, dW, c.TW))

	ep := gadgets.UnpackEpilogue(api, c.Epilogue)
	two31 := new(big.Int).Lsh(big.NewInt(1), 31)

	for si := range c.Samples {
		w := &c.Samples[si]
		h := gadgets.SampleHash(sp, c.Seed, si)
		lo, mid := gadgets.HashWords(api, h)
		iBits := gadgets.ModVar(api, lo, c.M, D)
		jBits := gadgets.ModConst(api, mid, uint64(N))

		// input row i
		aBytes := gadgets.UnpackRow(api, w.A, K)
		api.AssertIsEqual(c.TA, gadgets.MerkleRoot(api, sp, sp.Hash(gadgets.TagLeaf, w.A...), iBits, w.ASib))

		// parameters column j: packed weights then bias + 2^31, bias in [0, 2^32)
		wBytes := gadgets.UnpackRow(api, w.W, K)
		bits.ToBinary(api, w.Bias, bits.WithNbDigits(32))
		leafW := sp.Hash(gadgets.TagLeaf, append(append([]frontend.Variable{}, w.W...), w.Bias)...)
		api.AssertIsEqual(c.TW, gadgets.MerkleRoot(api, sp, leafW, jBits, w.WSib))

		// output row i, element j
		api.AssertIsEqual(c.TO, gadgets.MerkleRoot(api, sp, sp.Hash(gadgets.TagLeaf, w.O...), iBits, w.OSib))
		out := api.Sub(selectByte(api, w.O, jBits, N), 128)

		// acc = b + sum (a-128)(w-128), int32
		acc := api.Sub(w.Bias, two31)
		for t := 0; t < K; t++ {
			acc = api.Add(acc, api.Mul(api.Sub(aBytes[t], 128), api.Sub(wBytes[t], 128)))
		}
		bits.ToBinary(api, api.Add(acc, two31), bits.WithNbDigits(32))

		gadgets.AssertRequant(api, ep, acc, out)
	}
	return nil
}

// selectByte returns byte j (0 <= j < n, given by its bits) of a packed row of n bytes. Only
// the element holding it is unpacked: the others are bound by the leaf hash alone.
func selectByte(api frontend.API, elems []frontend.Variable, jBits []frontend.Variable, n int) frontend.Variable {
	j := gadgets.FromBits(api, jBits)
	if len(elems) == 1 {
		return selector.Mux(api, j, gadgets.UnpackElement(api, elems[0], n)...)
	}
	// j = 31*a + b, b in [0, 31), a < 2^len(jBits): exact, so (a, b) is unique.
	ab, err := api.Compiler().NewHint(gadgets.DivModHint(), 2, j, gadgets.BytesPerElement)
	if err != nil {
		panic(err)
	}
	a, b := ab[0], ab[1]
	bits.ToBinary(api, b, bits.WithNbDigits(5))
	bits.ToBinary(api, api.Sub(gadgets.BytesPerElement-1, b), bits.WithNbDigits(5))
	bits.ToBinary(api, a, bits.WithNbDigits(max(len(jBits), 1)))
	api.AssertIsEqual(j, api.Add(api.Mul(a, gadgets.BytesPerElement), b))
	e := selector.Mux(api, a, elems...)
	return selector.Mux(api, b, gadgets.UnpackElement(api, e, gadgets.BytesPerElement)...)
}
