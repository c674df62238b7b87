// Package universaltest gives tests outside package universal a class and a model small enough
// that the class's development setup takes seconds and a proof about a second, so tests of the
// prover, the SDK, the verifier and the chain make real proofs under -short. The shipped model
// needs the small class (about two minutes to set up), which stays for the demo and for the
// tests that say so.
package universaltest

import (
	"math/rand/v2"

	"github.com/probitylabs/probity/circuits/universal"
	"github.com/probitylabs/probity/model"
	"github.com/probitylabs/probity/protocol"
	"github.com/probitylabs/probity/tensor"
)

// Class is the smallest class Model fits (rows of 62 values, 16 rows, 31 ops) with one sample
// slot for each family Model uses (embed, linear, input, select) and none for the others. It
// exists for tests of what is around the proof (nodes, settlement, receipts), not of sampling.
func Class() *universal.Class {
	c := &universal.Class{Name: "test", Elems: 2, RowDepth: 4, OpDepth: 5, ParamDepth: 5}
	c.Slots[model.KindEmbed] = 1
	c.Slots[model.KindLinear] = 1
	c.Slots[universal.FamilyInput] = 1
	c.Slots[universal.FamilySelect] = 1
	return c
}

// Vocab is Model's vocabulary and its context is Class's 16 rows: a job of it fits when its
// prompt plus new tokens stay within 17 ids.
const Vocab = 16

// Model is a bigram language model, the smallest generation model: token embeddings (width 8)
// and a logits linear layer, with weights drawn from seed.
func Model(seed uint64) (*model.Model, error) {
	const d = 8
	r := rand.New(rand.NewPCG(seed, 3))
	wte := tensor.NewInt8(Vocab, d)
	for k := range wte.Data {
		wte.Data[k] = int8(r.IntN(161) - 80)
	}
	w, b, s := tensor.NewInt8(Vocab, d), tensor.NewInt32(Vocab), tensor.NewInt32(Vocab)
	for k := range w.Data {
		w.Data[k] = int8(r.IntN(255) - 127)
	}
	for k := range b.Data {
		b.Data[k] = int32(r.IntN(4001) - 2000)
		s.Data[k] = 1 << 30 // acc/256: accumulators of about ±10,000 land well inside int8
	}
	m := &model.Model{Input: model.Input{Name: "ids", DType: model.I32, Width: 1}, Ops: []model.Op{
		{Kind: model.KindEmbed, Name: "wte", In: []int{0}, Weight: wte},
		{Kind: model.KindLinear, Name: "logits", In: []int{1}, Weight: w, Bias: b, Scales: s, Epilogue: protocol.Epilogue{Shift: 38}},
	}}
	if err := m.Validate(); err != nil {
		return nil, err
	}
	return m, nil
}
