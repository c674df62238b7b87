package model

import (
	"errors"
	"fmt"
	"slices"

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

// Clone returns a deep copy of the trace (tests and cheats change one without the other).
func (t *Trace) Clone() *Trace {
	out := &Trace{T: t.T, Tensors: make([]Value, len(t.Tensors))}
	for id, v := range t.Tensors {
		if v.I32 != nil {
			out.Tensors[id].I32 = v.I32.Clone()
		}
		if v.I8 != nil {
			out.Tensors[id].I8 = v.I8.Clone()
		}
	}
	return out
}

// ErrContext reports a sequence longer than a position table (the model's context length).
var ErrContext = errors.New("sequence longer than the model's context")

// Run validates m and executes it on input (I32 [T] token ids or I8 [T, w], as m.Input says)
// with the reference ops, returning every intermediate tensor. Runtime failures (an embed id
// outside the vocabulary, an accumulator overflow) are the ops' errors, wrapped with the op.
func Run(m *Model, input Value) (*Trace, error) {
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
	default:
		return nil, m.Validate()
	}
	p, err := NewPass(m, T)
	if err != nil {
		return nil, err
	}
	if input.I32 != nil {
		copy(p.tensors[0].I32.Data, input.I32.Data)
	} else {
		copy(p.tensors[0].I8.Data, input.I8.Data)
	}
	if err := p.Extend(T); err != nil {
		return nil, err
	}
	return p.Trace(), nil
}

// Pass is one forward pass over T rows, computed in row blocks: a generation job computes the
// prompt's rows (prefill) and then one row per decode step. Every tensor is a T-row buffer
// and rows [0, Rows()) of all of them are final. Because every op of a causal model (IsCausal)
// reads for row i only rows <= i of its operands, the rows computed block by block are bit
// for bit those of one pass over all T rows (specs/trace.md §2); the keys and values of
// earlier rows, kept in their tensors, are the KV cache.
type Pass struct {
	m       *Model
	shapes  []Shape
	causal  bool // isCausal, fixed with the model: Extend and CheckRows ask it per block
	T, rows int
	tensors []Value
}

// NewPass validates m and allocates the buffers of a T-row pass; the caller writes the
// input's rows (Input) before each Extend.
func NewPass(m *Model, T int) (*Pass, error) {
	shapes, err := m.Shapes()
	if err != nil {
		return nil, err
	}
	if T < 1 {
		return nil, fmt.Errorf("run: input: %w: T = 0", tensor.ErrShape)
	}
	p := &Pass{m: m, shapes: shapes, causal: m.isCausal(shapes), T: T, tensors: make([]Value, len(shapes))}
	for id, s := range shapes {
		if s.DType == I32 {
			p.tensors[id] = Value{I32: tensor.NewInt32(T)}
		} else {
			p.tensors[id] = Value{I8: tensor.NewInt8(T, widthOr(s.Width, T))}
		}
	}
	return p, nil
}

// Input is tensor 0's buffer: write rows [Rows(), hi) before Extend(hi).
func (p *Pass) Input() Value { return p.tensors[0] }

// Rows is the number of rows computed so far.
func (p *Pass) Rows() int { return p.rows }

// Tensor returns tensor id's buffer (rows past Rows() are not computed yet).
func (p *Pass) Tensor(id int) Value { return p.tensors[id] }

// Trace returns the pass's tensors as a trace (complete once Rows() == T).
func (p *Pass) Trace() *Trace { return &Trace{T: p.T, Tensors: p.tensors} }

// IsCausal reports whether row i of every tensor depends only on rows <= i of the input,
// whatever the sequence length (specs/trace.md §1): every matmul is causal, every softmax over
// rows of width T is causal, and no argmax or transB matmul reads a tensor of width T. (A
// width-T row holds fixed values at its masked columns; an op that reads across such a row,
// other than a causal softmax, would depend on how many there are, that is on T.)
func (m *Model) IsCausal() bool {
	shapes, err := m.Shapes()
	return err == nil && m.isCausal(shapes)
}

func (m *Model) isCausal(shapes []Shape) bool {
	for i := range m.Ops {
		op := &m.Ops[i]
		seqIn := shapes[op.In[0]].Width == Seq && shapes[op.In[0]].DType == I8
		switch op.Kind {
		case KindMatmul:
			if !op.Causal || (op.TransB && seqIn) {
				return false
			}
		case KindSoftmax:
			if seqIn && !op.Causal {
				return false
			}
		case KindArgmax:
			if seqIn {
				return false
			}
		}
	}
	return true
}

// Extend computes rows [Rows(), hi) of every tensor, op by op. A model that is not causal can
// only be computed in one block (hi = T from row 0).
func (p *Pass) Extend(hi int) error {
	lo := p.rows
	if hi < lo || hi > p.T {
		return fmt.Errorf("run: rows [%d, %d) of a %d-row pass", lo, hi, p.T)
	}
	if (lo > 0 || hi < p.T) && !p.causal {
		return fmt.Errorf("run: rows [%d, %d): a model that is not causal runs all %d rows at once", lo, hi, p.T)
	}
	if lo == hi {
		return nil
	}
	for i := range p.m.Ops {
		if err := p.Recompute(i, lo, hi); err != nil {
			return err
		}
	}
	p.rows = hi
	return nil
}

// Recompute computes rows [lo, hi) of op i's result from the pass's operand tensors as they
// are and stores them. Extend runs it op by op; a test that edits a tensor's rows calls it on
// the later ops to make a trace consistent with the edit (a cheat that recomputed after it).
func (p *Pass) Recompute(i, lo, hi int) error {
	b, err := p.compute(i, lo, hi)
	if err != nil {
		return fmt.Errorf("run: op %d (%s %s): %w", i, p.m.Ops[i].Kind, p.m.Ops[i].Name, err)
	}
	if b.ids != nil {
		copy(p.tensors[i+1].I32.Data[lo:hi], b.ids)
	} else {
		put(p.tensors[i+1].I8, b.res, lo, b.fill)
	}
	return nil
}

// Over returns the pass of a complete trace of m (for instance an executor's), so that its
// rows can be rechecked with CheckRows. It checks every tensor's shape against the graph.
func Over(m *Model, tr *Trace) (*Pass, error) {
	shapes, err := m.Shapes()
	if err != nil {
		return nil, err
	}
	if tr.T < 1 || len(tr.Tensors) != len(shapes) {
		return nil, fmt.Errorf("trace: %d tensors of %d rows, the model has %d", len(tr.Tensors), tr.T, len(shapes))
	}
	for id, s := range shapes {
		v := tr.Tensors[id]
		ok := false
		if s.DType == I32 {
			ok = v.I32 != nil && v.I8 == nil && v.I32.Check() == nil && slices.Equal(v.I32.Shape, []int{tr.T})
		} else {
			ok = v.I8 != nil && v.I32 == nil && v.I8.Check() == nil && slices.Equal(v.I8.Shape, []int{tr.T, widthOr(s.Width, tr.T)})
		}
		if !ok {
			return nil, fmt.Errorf("trace: tensor %d: %w: want %v of width %s", id, tensor.ErrShape, s.DType, WidthString(s.Width))
		}
	}
	return &Pass{m: m, shapes: shapes, causal: m.isCausal(shapes), T: tr.T, rows: tr.T, tensors: tr.Tensors}, nil
}

// ErrMismatch reports a trace row that its op, recomputed from the trace's own operands, does
// not give.
var ErrMismatch = errors.New("trace row differs from its recomputation")

// MismatchError is the first element of an op's result that CheckRows found differing from
// its recomputation (Col 0 for an I32 result); it matches ErrMismatch.
type MismatchError struct {
	Op       int
	Kind     Kind
	Name     string
	Row, Col int
	// Have is the trace's value, Want the recomputed one.
	Have, Want int32
}

func (e *MismatchError) Error() string {
	return fmt.Sprintf("%v: op %d (%s %s) row %d column %d: %d, recomputed %d", ErrMismatch, e.Op, e.Kind, e.Name, e.Row, e.Col, e.Have, e.Want)
}

// Is makes a MismatchError match ErrMismatch.
func (e *MismatchError) Is(target error) bool { return target == ErrMismatch }

// CheckRows recomputes rows [lo, hi) of op i's result from the pass's operand tensors with
// the reference ops and compares them, masked columns included, with the stored rows: the
// recomputation path by which a node checks an executor and an auditor a trace. Rows of a
// causal model may be checked anywhere; a non-causal model's only as all T rows.
func (p *Pass) CheckRows(i, lo, hi int) error {
	if i < 0 || i >= len(p.m.Ops) || lo < 0 || hi > p.rows || lo >= hi {
		return fmt.Errorf("check: op %d rows [%d, %d) of a %d-row trace", i, lo, hi, p.rows)
	}
	if (lo > 0 || hi < p.T) && !p.causal {
		return fmt.Errorf("check: rows [%d, %d): a model that is not causal is checked on all %d rows", lo, hi, p.T)
	}
	op := &p.m.Ops[i]
	b, err := p.compute(i, lo, hi)
	if err != nil {
		return fmt.Errorf("check: op %d (%s %s): %w", i, op.Kind, op.Name, err)
	}
	have := p.tensors[i+1]
	if b.ids != nil {
		for r, v := range b.ids {
			if have.I32.Data[lo+r] != v {
				return &MismatchError{Op: i, Kind: op.Kind, Name: op.Name, Row: lo + r, Have: have.I32.Data[lo+r], Want: v}
			}
		}
		return nil
	}
	w := have.I8.Shape[1]
	want := tensor.NewInt8(hi-lo, w)
	put(want, b.res, 0, b.fill)
	for k, v := range want.Data {
		if have.I8.Data[lo*w+k] != v {
			return &MismatchError{Op: i, Kind: op.Kind, Name: op.Name, Row: lo + k/w, Col: k % w, Have: int32(have.I8.Data[lo*w+k]), Want: int32(v)}
		}
	}
	return nil
}

func widthOr(w, T int) int {
	if w == Seq {
		return T
	}
	return w
}

// rowsOf is a view of rows [lo, hi) of an I8 buffer (no copy).
func rowsOf(x *tensor.Int8, lo, hi int) *tensor.Int8 {
	w := x.Shape[1]
	return &tensor.Int8{Shape: []int{hi - lo, w}, Data: x.Data[lo*w : hi*w]}
}

// block copies rows [lo, hi), columns [0, cols) of an I8 buffer.
func block(x *tensor.Int8, lo, hi, cols int) *tensor.Int8 {
	w := x.Shape[1]
	out := tensor.NewInt8(hi-lo, cols)
	for i := lo; i < hi; i++ {
		copy(out.Data[(i-lo)*cols:(i-lo+1)*cols], x.Data[i*w:i*w+cols])
	}
	return out
}

// put writes res ([hi-lo, c]) into rows [lo, hi), columns [0, c) of dst, and fill into the
// rest of those rows (the masked columns of a block computed over the visible prefix).
func put(dst, res *tensor.Int8, lo int, fill int8) {
	w, c := dst.Shape[1], res.Shape[1]
	for r := range res.Shape[0] {
		row := dst.Data[(lo+r)*w : (lo+r+1)*w]
		copy(row, res.Data[r*c:(r+1)*c])
		for j := c; j < w; j++ {
			row[j] = fill
		}
	}
}

// shiftErr moves a block-relative element error to the pass's row numbering.
func shiftErr(err error, lo int) error {
	var oe *tensor.OverflowError
	if errors.As(err, &oe) && oe.Row >= 0 {
		return &tensor.OverflowError{Row: oe.Row + lo, Col: oe.Col, Acc: oe.Acc}
	}
	var te *ops.TokenError
	if errors.As(err, &te) {
		return &ops.TokenError{Pos: te.Pos + lo, ID: te.ID, Vocab: te.Vocab}
	}
	return err
}

// rowBlock is rows [lo, hi) of an op's result: ids for an I32 result; otherwise res, which
// for a masked block covers only the hi visible columns (the rest of each row is fill).
type rowBlock struct {
	ids  []int32
	res  *tensor.Int8
	fill int8
}

// compute computes rows [lo, hi) of op i's result from rows of its operands.
func (p *Pass) compute(i, lo, hi int) (rowBlock, error) {
	op := &p.m.Ops[i]
	dst := p.tensors[i+1]
	a := p.tensors[op.In[0]]
	var b Value
	if len(op.In) == 2 {
		b = p.tensors[op.In[1]]
	}
	var res *tensor.Int8
	var err error
	// masked: the block covers only the hi visible columns; the rest of its rows get fill.
	masked, fill := false, int8(0)
	switch op.Kind {
	case KindEmbed:
		ids := &tensor.Int32{Shape: []int{hi - lo}, Data: a.I32.Data[lo:hi]}
		res, err = ops.Embed(op.Weight, ids)
	case KindPosition:
		P, D := op.Weight.Shape[0], op.Weight.Shape[1]
		if hi > P {
			return rowBlock{}, fmt.Errorf("%w: row %d, the position table has %d rows", ErrContext, max(lo, P), P)
		}
		res = &tensor.Int8{Shape: []int{hi - lo, D}, Data: op.Weight.Data[lo*D : hi*D]}
	case KindLinear:
		res, err = ops.Linear(rowsOf(a.I8, lo, hi), op.Weight, op.Bias, op.LinearParams())
	case KindMatmul:
		mp := ops.MatmulParams{ZeroA: op.ZeroA, ZeroB: op.ZeroB, TransB: op.TransB, Causal: op.Causal, Epilogue: op.Epilogue}
		switch {
		case !op.Causal: // whole pass in one block (Extend): every row of B is there
			res, err = ops.Matmul(rowsOf(a.I8, lo, hi), b.I8, mp)
		case op.TransB: // scores over the hi visible keys; j >= hi is masked: epi(0)
			res, err = ops.Matmul(rowsOf(a.I8, lo, hi), rowsOf(b.I8, 0, hi), mp)
			masked, fill = true, op.Epilogue.Apply(0)
		default: // P·V over the hi visible rows of V; A's columns past hi are masked terms
			res, err = ops.Matmul(block(a.I8, lo, hi, hi), rowsOf(b.I8, 0, hi), mp)
		}
	case KindSoftmax:
		sp := ops.SoftmaxParams{Table: *op.Exp, Causal: op.Causal}
		if op.Causal { // width T (Validate): keys past hi are masked, probability 0
			res, err = ops.Softmax(block(a.I8, lo, hi, hi), sp)
			masked, fill = true, -128
		} else {
			res, err = ops.Softmax(rowsOf(a.I8, lo, hi), sp)
		}
	case KindLayerNorm, KindRMSNorm:
		np := ops.NormParams{Gamma: op.Gamma, Beta: op.Beta, Shift: op.Shift, Eps: op.Eps, ZeroX: op.ZeroX}
		if op.Kind == KindLayerNorm {
			res, err = ops.LayerNorm(rowsOf(a.I8, lo, hi), np)
		} else {
			res, err = ops.RMSNorm(rowsOf(a.I8, lo, hi), np)
		}
	case KindLUT:
		res, err = ops.LUT(rowsOf(a.I8, lo, hi), op.Weight.Data)
	case KindAdd:
		res, err = ops.Add(rowsOf(a.I8, lo, hi), rowsOf(b.I8, lo, hi), ops.AddParams{ZeroA: op.ZeroA, ZeroB: op.ZeroB, MulA: op.MulA, MulB: op.MulB, Shift: op.Shift, ZeroOut: op.ZeroOut})
	case KindMul:
		res, err = ops.Mul(rowsOf(a.I8, lo, hi), rowsOf(b.I8, lo, hi), ops.MulParams{ZeroA: op.ZeroA, ZeroB: op.ZeroB, Mul: op.Mul, Shift: op.Shift, ZeroOut: op.ZeroOut})
	case KindArgmax:
		ids, err := ops.Argmax(rowsOf(a.I8, lo, hi))
		if err != nil {
			return rowBlock{}, err
		}
		return rowBlock{ids: ids.Data}, nil
	case KindSlice:
		res = sliceCols(rowsOf(a.I8, lo, hi), op.Offset, op.Width)
	case KindConcat:
		res = concatCols(rowsOf(a.I8, lo, hi), rowsOf(b.I8, lo, hi))
	}
	if err != nil {
		return rowBlock{}, shiftErr(err, lo)
	}
	// The reference ops check their own shapes; this catches a graph whose static shapes
	// (the descriptors) and the executed shapes could disagree.
	if w := dst.I8.Shape[1]; res.Shape[0] != hi-lo || (!masked && res.Shape[1] != w) || (masked && res.Shape[1] != hi) {
		return rowBlock{}, fmt.Errorf("result block %v, the graph says [%d, %d]", res.Shape, hi-lo, dst.I8.Shape[1])
	}
	return rowBlock{res: res, fill: fill}, nil
}

// LinearParams is the linear op's per-column requantization.
func (op *Op) LinearParams() ops.LinearParams {
	ms := make([]uint32, len(op.Scales.Data))
	for j, m := range op.Scales.Data {
		ms[j] = uint32(m)
	}
	return ops.LinearParams{Multipliers: ms, Shift: op.Epilogue.Shift, ZeroPoint: op.Epilogue.ZeroPoint, ReLU: op.Epilogue.ReLU}
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
