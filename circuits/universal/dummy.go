package universal

import (
	"github.com/probitylabs/probity/model"
	"github.com/probitylabs/probity/protocol"
	"github.com/probitylabs/probity/tensor"
)

// dummyModel is a small valid model with at least one op of every kind, the rank-0 op of each
// kind first among its kind. A slot of a kind the job's model lacks is off (its openings are
// not bound) and holds this model's op of that kind, so the slot's semantic checks are
// satisfied without gating each constraint (opcheck's doc). rows is the job's T: width-T
// tensors take the job's width.
func dummyModel(rows int) *model.Model { return allKinds(rows, 1) }

// allKinds builds the dummy graph with an embed table of vocab rows (tests append logits to
// make it a generation model with every op kind).
func allKinds(rows, vocab int) *model.Model {
	const w = 4
	m := &model.Model{Input: model.Input{Name: "ids", DType: model.I32, Width: 1}}
	add := func(op model.Op) int {
		m.Ops = append(m.Ops, op)
		return len(m.Ops)
	}
	ones := func(n int, v int32) *tensor.Int32 {
		t := tensor.NewInt32(n)
		for k := range t.Data {
			t.Data[k] = v
		}
		return t
	}
	epi := protocol.Epilogue{Multiplier: 1 << 30, Shift: 38}
	exp := model.ExpTableFor(1.0 / 16)
	lut := &tensor.Int8{Shape: []int{256}, Data: make([]int8, 256)}
	e := add(model.Op{Kind: model.KindEmbed, Name: "e", In: []int{0}, Weight: tensor.NewInt8(vocab, w)})
	p := add(model.Op{Kind: model.KindPosition, Name: "p", In: []int{0}, Weight: tensor.NewInt8(rows, w)})
	x := add(model.Op{Kind: model.KindAdd, Name: "x", In: []int{e, p}, MulA: 1 << 30, MulB: 1 << 30, Shift: 30})
	ln := add(model.Op{Kind: model.KindLayerNorm, Name: "ln", In: []int{x}, Gamma: ones(w, 1<<12), Beta: tensor.NewInt32(w), Shift: 12, Eps: 1})
	add(model.Op{Kind: model.KindRMSNorm, Name: "rms", In: []int{x}, Gamma: ones(w, 1<<12), Beta: tensor.NewInt32(w), Shift: 12, Eps: 1})
	q := add(model.Op{Kind: model.KindLinear, Name: "q", In: []int{ln}, Weight: tensor.NewInt8(w, w), Bias: tensor.NewInt32(w),
		Scales: ones(w, 1<<30), Epilogue: protocol.Epilogue{Shift: 38}})
	g := add(model.Op{Kind: model.KindLUT, Name: "g", In: []int{q}, Weight: lut})
	mu := add(model.Op{Kind: model.KindMul, Name: "mu", In: []int{q, g}, Mul: 1 << 30, Shift: 30})
	sl := add(model.Op{Kind: model.KindSlice, Name: "sl", In: []int{mu}, Offset: 0, Width: w / 2})
	cc := add(model.Op{Kind: model.KindConcat, Name: "cc", In: []int{sl, sl}})
	sc := add(model.Op{Kind: model.KindMatmul, Name: "sc", In: []int{cc, q}, TransB: true, Causal: true, Epilogue: epi})
	pr := add(model.Op{Kind: model.KindSoftmax, Name: "pr", In: []int{sc}, Exp: &exp, Causal: true})
	at := add(model.Op{Kind: model.KindMatmul, Name: "at", In: []int{pr, g}, ZeroA: -128, Causal: true, Epilogue: epi})
	add(model.Op{Kind: model.KindArgmax, Name: "am", In: []int{at}})
	return m
}

// dummySource runs the dummy model on rows zero ids.
func dummySource(rows int) (*source, error) {
	m := dummyModel(rows)
	tr, err := model.Run(m, model.Value{I32: tensor.NewInt32(rows)})
	if err != nil {
		return nil, err
	}
	return newSource(m, tr)
}
