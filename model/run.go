package model

import (
	"fmt"

	"github.com/probitylabs/probity/ops"
	"github.com/probitylabs/probity/tensor"
)

// Value is one tensor of a trace: I8 for activations, I32 for token ids and argmax results.
type Value struct {
	I8  *tensor.Int8
	I32 *tensor.Int32
}

// Shape returns the value's tensor shape.
func (v Value) Shape() []int {
	if v.I32 != nil {
		return v.I32.Shape
	}
	return v.I8.Shape
}

// Trace is every tensor of one forward pass, indexed by tensor id: Tensors[0] is the input and
// Tensors[i+1] op i's result.
type Trace struct {
	T       int // the sequence length: the input's row count
	Tensors []Value
}

// Output is the last op's result.
func (t *Trace) Output() Value { return t.Tensors[len(t.Tensors)-1] }

// Run validates m and executes it on input (I32 [T] token ids or I8 [T, w], as m.Input says)
// with the reference ops, returning every intermediate tensor. Runtime failures (an embed id
// outside the vocabulary, an accumulator overflow) are the ops' errors, wrapped with the op.
func Run(m *Model, input Value) (*Trace, error) {
	shapes, err := m.Shapes()
	if err != nil {
		return nil, err
	}
	var T int
	switch m.Input.DType {
	case I32:
		if input.I32 == nil || input.I32.Check() != nil || len(input.I32.Shape) != 1 {
			return nil, fmt.Errorf("run: input: %w: want I32 [T]", tensor.ErrShape)
		}
		T = input.I32.Shape[0]
	case I8:
		if input.I8 == nil || input.I8.Check() != nil || len(input.I8.Shape) != 2 || input.I8.Shape[1] != m.Input.Width {
			return nil, fmt.Errorf("run: input: %w: want I8 [T, %d]", tensor.ErrShape, m.Input.Width)
		}
		T = input.I8.Shape[0]
	}
	if T < 1 {
		return nil, fmt.Errorf("run: input: %w: T = 0", tensor.ErrShape)
	}
	tr := &Trace{T: T, Tensors: make([]Value, 1, len(m.Ops)+1)}
	tr.Tensors[0] = input
	for i := range m.Ops {
		v, err := runOp(&m.Ops[i], tr.Tensors)
		if err != nil {
			return nil, fmt.Errorf("run: op %d (%s %s): %w", i, m.Ops[i].Kind, m.Ops[i].Name, err)
		}
		// The reference ops check their own shapes; this catches a graph whose static shapes
		// (the descriptors) and the executed shapes could disagree.
		want := []int{T}
		if s := shapes[i+1]; s.DType == I8 {
			want = append(want, widthOr(s.Width, T))
		}
		if got := v.Shape(); !equalInts(got, want) {
			return nil, fmt.Errorf("run: op %d: result shape %v, graph says %v", i, got, want)
		}
		tr.Tensors = append(tr.Tensors, v)
	}
	return tr, nil
}

func widthOr(w, T int) int {
	if w == Seq {
		return T
	}
	return w
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func runOp(op *Op, ts []Value) (Value, error) {
	a := ts[op.In[0]]
	var b Value
	if len(op.In) == 2 {
		b = ts[op.In[1]]
	}
	var out *tensor.Int8
	var err error
	switch op.Kind {
	case KindEmbed:
		out, err = ops.Embed(op.Weight, a.I32)
	case KindLinear:
		out, err = ops.Linear(a.I8, op.Weight, op.Bias, op.Epilogue)
	case KindMatmul:
		out, err = ops.Matmul(a.I8, b.I8, ops.MatmulParams{ZeroA: op.ZeroA, ZeroB: op.ZeroB, TransB: op.TransB, Epilogue: op.Epilogue})
	case KindSoftmax:
		out, err = ops.Softmax(a.I8, ops.SoftmaxParams{Table: *op.Exp, Causal: op.Causal})
	case KindLayerNorm, KindRMSNorm:
		p := ops.NormParams{Gamma: op.Gamma, Beta: op.Beta, Shift: op.Shift, Eps: op.Eps, ZeroX: op.ZeroX}
		if op.Kind == KindLayerNorm {
			out, err = ops.LayerNorm(a.I8, p)
		} else {
			out, err = ops.RMSNorm(a.I8, p)
		}
	case KindLUT:
		out, err = ops.LUT(a.I8, op.Weight.Data)
	case KindAdd:
		out, err = ops.Add(a.I8, b.I8, ops.AddParams{ZeroA: op.ZeroA, ZeroB: op.ZeroB, MulA: op.MulA, MulB: op.MulB, Shift: op.Shift, ZeroOut: op.ZeroOut})
	case KindMul:
		out, err = ops.Mul(a.I8, b.I8, ops.MulParams{ZeroA: op.ZeroA, ZeroB: op.ZeroB, Mul: op.Mul, Shift: op.Shift, ZeroOut: op.ZeroOut})
	case KindArgmax:
		ids, err := ops.Argmax(a.I8)
		return Value{I32: ids}, err
	case KindSlice:
		out = sliceCols(a.I8, op.Offset, op.Width)
	case KindConcat:
		out = concatCols(a.I8, b.I8)
	}
	return Value{I8: out}, err
}

// sliceCols is specs/model.md §2's slice: columns [off, off+w) of every row.
func sliceCols(x *tensor.Int8, off, w int) *tensor.Int8 {
	M, C := x.Shape[0], x.Shape[1]
	out := tensor.NewInt8(M, w)
	for i := range M {
		copy(out.Data[i*w:(i+1)*w], x.Data[i*C+off:i*C+off+w])
	}
	return out
}

// concatCols is §2's concat: row i is A's row i followed by B's row i.
func concatCols(a, b *tensor.Int8) *tensor.Int8 {
	M, ca, cb := a.Shape[0], a.Shape[1], b.Shape[1]
	out := tensor.NewInt8(M, ca+cb)
	for i := range M {
		copy(out.Data[i*(ca+cb):], a.Data[i*ca:(i+1)*ca])
		copy(out.Data[i*(ca+cb)+ca:], b.Data[i*cb:(i+1)*cb])
	}
	return out
}
