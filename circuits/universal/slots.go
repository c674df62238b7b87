package universal

import (
	"math/big"

	"github.com/consensys/gnark/frontend"

	"github.com/probitylabs/probity/circuits/gadgets"
	"github.com/probitylabs/probity/circuits/opcheck"
	"github.com/probitylabs/probity/model"
)

// opSlot is one sample of one op kind: the op's descriptor, the trace tensors it reads and
// writes (by role, see layoutOf), their rows, and the parameter leaf.
type opSlot struct {
	Op      descOpen
	Tensors []tensorOpen
	Rows    []rowOpen
	Param   []rowOpen
}

// layout says, per kind, which tensors (operands A, B, result), which rows and which
// parameter leaf a slot opens (circuit.md §4).
type layout struct {
	tensors int   // 2 (A, result) or 3 (A, B, result); position: 1 (result)
	rows    []int // elements of each row opening: cl.Elems for an I8 row, 1 for an I32 row
	param   int   // -1: none; else the parameter leaf's elements (0: the leaf is a result row's)
}

func layoutOf(cl *Class, k model.Kind) layout {
	e := cl.Elems
	switch k {
	case model.KindEmbed:
		return layout{2, []int{1, e}, 0}
	case model.KindPosition:
		return layout{1, []int{e}, 0}
	case model.KindLinear:
		return layout{2, []int{e, e}, e + 2}
	case model.KindMatmul:
		return layout{3, []int{e, e, e, e}, -1} // A row, B row, B column, result row
	case model.KindLayerNorm, model.KindRMSNorm:
		return layout{2, []int{e, e}, 2}
	case model.KindAdd, model.KindMul, model.KindConcat:
		return layout{3, []int{e, e, e}, -1}
	case model.KindArgmax:
		return layout{2, []int{e, 1}, -1}
	default: // softmax, lut, slice
		return layout{2, []int{e, e}, -1}
	}
}

func newOpSlot(cl *Class, k model.Kind) opSlot {
	l := layoutOf(cl, k)
	sl := opSlot{Op: newDesc(cl)}
	for range l.tensors {
		sl.Tensors = append(sl.Tensors, newTensor(cl))
	}
	for r, n := range l.rows {
		depth := cl.RowDepth
		if k == model.KindMatmul && r == 2 {
			depth = bitLen(cl.Width()) // B's column tree has w(B) <= width rows
		}
		sl.Rows = append(sl.Rows, newRow(n, depth))
	}
	if l.param >= 0 {
		sl.Param = append(sl.Param, newRow(l.param, cl.ParamDepth))
	}
	return sl
}

var two31 = new(big.Int).Lsh(big.NewInt(1), 31)

// opSlot checks slot si of kind k (circuit.md §4): it draws the rank r, row i and column j,
// opens the r-th op of kind k, its operand and result rows, and asserts the op's semantics at
// (i, j). With no op of kind k in the model the slot is off: the openings are not bound and
// the prover fills the slot with a valid dummy instance.
func (c *Circuit) opSlot(s *stmt, k model.Kind, si int) {
	api, cl := s.api, s.cl
	sl := &c.Ops[k][si]
	n := c.Counts[k-1]
	on := api.Sub(1, api.IsZero(n))
	hb := s.slotBits(c.Seed, int(k), si)
	r := gadgets.FromBits(api, gadgets.ModVar(api, word(hb, 0), api.Add(n, api.Sub(1, on)), cl.OpDepth))
	ib := gadgets.ModVar(api, word(hb, 1), c.T, cl.RowDepth)
	i := gadgets.FromBits(api, ib)
	s.openDesc(on, int(k), r, &sl.Op)
	d := sl.Op.Desc
	wOut := s.width(d[2])
	jb := gadgets.ModVar(api, word(hb, 2), wOut, s.widthBits)
	j := gadgets.FromBits(api, jb)
	var tieBits []frontend.Variable
	if k == model.KindMatmul {
		tieBits = gadgets.ModVar(api, word(hb, 3), c.T, cl.RowDepth)
	}
	s.checkOp(k, sl, d, on, el{ib, i, jb, j, wOut, tieBits})
}

// el is the element a slot checks: row i and column j with their bits, and the tie row of a
// P·V slot (circuit.md §4).
type el struct {
	ib      []frontend.Variable
	i       frontend.Variable
	jb      []frontend.Variable
	j       frontend.Variable
	wOut    frontend.Variable // the result's width (T for width T)
	tieBits []frontend.Variable
}

// checkOp opens the tensors and rows an op of kind k reads and writes at element e and
// asserts its semantics; d is the op's descriptor (already bound to the model by the caller
// when on = 1).
func (s *stmt) checkOp(k model.Kind, sl *opSlot, d []frontend.Variable, on frontend.Variable, e el) {
	api, cl := s.api, s.cl
	ib, i, jb, j, wOut := e.ib, e.i, e.jb, e.j, e.wOut
	out := &sl.Tensors[len(sl.Tensors)-1]
	s.openTensor(on, d[1], out)
	a := &sl.Tensors[0]
	if k != model.KindPosition {
		s.openTensor(on, d[3], a)
	}
	var b *tensorOpen
	if len(sl.Tensors) == 3 {
		b = &sl.Tensors[1]
		s.openTensor(on, d[5], b)
	}

	switch k {
	case model.KindEmbed:
		// Row i of the result is table row ids[i] (ops.md §9): the two leaves are one hash.
		id := s.openID(on, a.Row, ib, &sl.Rows[0])
		leaf := s.openRowHash(on, out.Row, ib, wOut, &sl.Rows[1])
		idBits := toBits(api, id, cl.ParamDepth)                  // id >= 0
		nonNeg(api, api.Sub(api.Sub(d[7], 1), id), cl.ParamDepth) // id < V
		s.paramRoot(on, d[8], model.KindTable, d[7], wOut, leaf, idBits, &sl.Param[0])
	case model.KindPosition:
		// Row i of the result is table row i (model.md §2).
		leaf := s.openRowHash(on, out.Row, ib, wOut, &sl.Rows[0])
		nonNeg(api, api.Sub(api.Sub(d[7], 1), i), cl.ParamDepth) // i < P
		s.paramRoot(on, d[8], model.KindTable, d[7], wOut, leaf, padBits(ib, cl.ParamDepth), &sl.Param[0])
	case model.KindLinear:
		s.linear(on, sl, d, ib, jb, j, wOut)
	case model.KindMatmul:
		s.matmul(on, sl, d, ib, i, jb, j, wOut, e.tieBits)
	case model.KindSoftmax:
		x := s.openRow(on, a.Row, ib, s.width(d[4]), &sl.Rows[0])
		y := s.openRow(on, out.Row, ib, wOut, &sl.Rows[1])
		causal := d[7]
		api.AssertIsBoolean(causal)
		// A softmax row has at most 2^RowDepth values (circuit.md §2): its 256-entry lookups
		// then cost per row value, not per capacity value.
		n := cl.softmaxWidth()
		if n < len(x.B) {
			api.AssertIsEqual(x.In[n], 0)
			x = opcheck.Row{B: x.B[:n], In: x.In[:n], Width: x.Width}
		}
		vis := opcheck.Prefix(api, api.Select(causal, api.Add(i, 1), x.Width), n)
		opcheck.Softmax(api, x, vis, opcheck.SoftmaxTable(api, d[8:8+expWords]), j, opcheck.Pick(api, y.B, j))
	case model.KindLayerNorm, model.KindRMSNorm:
		x := s.openRow(on, a.Row, ib, s.width(d[4]), &sl.Rows[0])
		y := s.openRow(on, out.Row, ib, wOut, &sl.Rows[1])
		p := &sl.Param[0]
		leaf := s.sp.Hash(gadgets.TagLeaf, p.Elems...)
		s.paramRoot(on, d[9], model.KindColumns, wOut, 2, leaf, padBits(jb, cl.ParamDepth), p)
		if k == model.KindLayerNorm {
			opcheck.LayerNorm(api, x, j, p.Elems[0], p.Elems[1], d[7], d[8], opcheck.Pick(api, y.B, j))
		} else {
			opcheck.RMSNorm(api, x, j, p.Elems[0], p.Elems[1], d[7], d[8], d[10], opcheck.Pick(api, y.B, j))
		}
	case model.KindLUT:
		x := s.openRow(on, a.Row, ib, s.width(d[4]), &sl.Rows[0])
		y := s.openRow(on, out.Row, ib, wOut, &sl.Rows[1])
		opcheck.Lut(api, opcheck.LutTable(api, d[7:16]), opcheck.Pick(api, x.B, j), opcheck.Pick(api, y.B, j))
	case model.KindAdd, model.KindMul:
		x := s.openRow(on, a.Row, ib, s.width(d[4]), &sl.Rows[0])
		z := s.openRow(on, b.Row, ib, s.width(d[6]), &sl.Rows[1])
		y := s.openRow(on, out.Row, ib, wOut, &sl.Rows[2])
		xa, xb, yo := opcheck.Pick(api, x.B, j), opcheck.Pick(api, z.B, j), opcheck.Pick(api, y.B, j)
		if k == model.KindAdd {
			opcheck.Add(api, xa, xb, d[7], d[8], d[9], d[10], d[11], d[12], yo)
		} else {
			opcheck.Mul(api, xa, xb, d[7], d[8], d[9], d[10], d[11], yo)
		}
	case model.KindArgmax:
		x := s.openRow(on, a.Row, ib, s.width(d[4]), &sl.Rows[0])
		opcheck.Argmax(api, x, s.openID(on, out.Row, ib, &sl.Rows[1]))
	case model.KindSlice:
		// result[i][j] = A[i][offset + j] (model.md §2)
		x := s.openRow(on, a.Row, ib, s.width(d[4]), &sl.Rows[0])
		y := s.openRow(on, out.Row, ib, wOut, &sl.Rows[1])
		api.AssertIsEqual(opcheck.Pick(api, y.B, j), opcheck.Pick(api, x.B, api.Add(d[7], j)))
	case model.KindConcat:
		// result[i] = A[i] || B[i] (model.md §2)
		x := s.openRow(on, a.Row, ib, s.width(d[4]), &sl.Rows[0])
		z := s.openRow(on, b.Row, ib, s.width(d[6]), &sl.Rows[1])
		y := s.openRow(on, out.Row, ib, wOut, &sl.Rows[2])
		inA := less(api, j, x.Width, s.widthBits)
		fromB := opcheck.Pick(api, z.B, api.Select(inA, 0, api.Sub(j, x.Width)))
		api.AssertIsEqual(opcheck.Pick(api, y.B, j), api.Select(inA, opcheck.Pick(api, x.B, j), fromB))
	}
}

// padBits extends index bits with zeros to n bits, or keeps the low n: callers pass a column
// j < w_out <= 2^n of a parameter tree (its depth ceil(log2 rows) <= n is enforced by
// ceilLog2 in paramRoot), so any dropped bit is already zero.
func padBits(b []frontend.Variable, n int) []frontend.Variable {
	out := append([]frontend.Variable{}, b...)
	for len(out) < n {
		out = append(out, 0)
	}
	return out[:n]
}

// paramRoot checks a parameter leaf against the op's parameter root (model.md §4): kind,
// rows x cols, depth ceil(log2 rows).
func (s *stmt) paramRoot(on, root frontend.Variable, kind int, rows, cols, leaf frontend.Variable, idxBits []frontend.Variable, p *rowOpen) {
	depth, _ := ceilLog2(s.api, rows, s.cl.ParamDepth)
	s.rowRoot(on, root, kind, rows, cols, depth, leaf, idxBits, p.Path)
}

// linear checks out[i][j] = epi_j(b[j] + sum_t A[i][t] W[j][t]) (ops.md §2).
func (s *stmt) linear(on frontend.Variable, sl *opSlot, d, ib, jb []frontend.Variable, j, wOut frontend.Variable) {
	api, cl := s.api, s.cl
	a, out := &sl.Tensors[0], &sl.Tensors[1]
	K := s.width(d[4])
	x := s.openRow(on, a.Row, ib, K, &sl.Rows[0])
	y := s.openRow(on, out.Row, ib, wOut, &sl.Rows[1])

	// The parameter leaf is pack(W[j]), b[j] + 2^31, m[j]: ceil(K/31) + 2 elements, the last
	// two at a position that depends on K (model.md §4).
	p := &sl.Param[0]
	packed := p.Elems[:cl.Elems]
	bias, mult := p.Elems[cl.Elems], p.Elems[cl.Elems+1]
	w, mask := s.unpack(packed, K)
	seq := make([]frontend.Variable, cl.Elems+2)
	seqMask := make([]frontend.Variable, cl.Elems+2)
	m := func(e int) frontend.Variable { // [e < ceil(K/31)], 1 before the row
		if e < 0 {
			return 1
		}
		if e >= cl.Elems {
			return 0
		}
		return mask[e]
	}
	for e := range seq {
		v := frontend.Variable(0)
		if e < cl.Elems {
			v = packed[e]
		}
		atBias := api.Sub(m(e-1), m(e))
		atMult := api.Sub(m(e-2), m(e-1))
		seq[e] = api.Add(v, api.Mul(atBias, bias), api.Mul(atMult, mult))
		seqMask[e] = m(e - 2)
	}
	leaf := s.sp.VarHash(gadgets.TagLeaf, seq, seqMask)
	s.paramRoot(on, d[8], model.KindWeights, wOut, K, leaf, padBits(jb, cl.ParamDepth), p)

	nonNeg(api, bias, 32)
	nonNeg(api, mult, 31)
	acc := api.Sub(bias, two31)
	for t := range x.B {
		acc = api.Add(acc, api.Mul(api.Mul(x.In[t], api.Sub(x.B[t], 128)), api.Sub(w.B[t], 128)))
	}
	nonNeg(api, api.Add(acc, two31), 32) // int32, else the op fails (ops.md §2)
	gadgets.AssertRequant(api, gadgets.UnpackEpilogue(api, api.Add(d[7], mult)), acc, api.Sub(opcheck.Pick(api, y.B, j), 128))
}

// matmul checks out[i][j] = epi(sum_{t in S(i)} (A[i][t] - za)(Bt[j][t] - zb)) (ops.md §3). B
// is read by rows (transB: row j) or by columns (row j of the committed Bᵀ, whose agreement with
// B's rows is checked at one drawn row: circuit.md §4).
func (s *stmt) matmul(on frontend.Variable, sl *opSlot, d, ib []frontend.Variable, i frontend.Variable, jb []frontend.Variable, j, wOut frontend.Variable, tieBits []frontend.Variable) {
	api, cl := s.api, s.cl
	a, b, out := &sl.Tensors[0], &sl.Tensors[1], &sl.Tensors[2]
	transB, causal := d[10], d[11]
	api.AssertIsBoolean(transB)
	api.AssertIsBoolean(causal)
	x := s.openRow(on, a.Row, ib, s.width(d[4]), &sl.Rows[0])
	y := s.openRow(on, out.Row, ib, wOut, &sl.Rows[3])

	// B by rows: row j with transB, else the tie row.
	tie := gadgets.FromBits(api, tieBits)
	rb := make([]frontend.Variable, cl.RowDepth)
	jp := padBits(jb, max(cl.RowDepth, len(jb)))
	for h := range rb {
		rb[h] = api.Select(transB, jp[h], tieBits[h])
	}
	for h := cl.RowDepth; h < len(jp); h++ { // with transB, j < T
		api.AssertIsEqual(api.Mul(transB, jp[h]), 0)
	}
	wB := s.width(d[6])
	bRow := s.openRow(on, b.Row, rb, wB, &sl.Rows[1])
	// B by columns (transB = 0): row j of Bᵀ, T values, in a tree of w(B) rows.
	onCol := api.Mul(on, api.Sub(1, transB))
	bCol, mask := s.unpack(sl.Rows[2].Elems, s.T)
	leaf := s.sp.VarHash(gadgets.TagLeaf, sl.Rows[2].Elems, mask)
	colDepth, _ := ceilLog2(api, wB, s.colDepth)
	colIdx := padBits(jb, s.colDepth) // j < w(B) without transB; unused (index 0) with it
	for h := range colIdx {
		colIdx[h] = api.Mul(api.Sub(1, transB), colIdx[h])
	}
	s.rowRoot(onCol, b.Col, kindActivations, wB, s.T, colDepth, leaf, colIdx, sl.Rows[2].Path)
	// the two commitments of B agree at (tie, j)
	s.eq(onCol, opcheck.Pick(api, bCol.B, tie), opcheck.Pick(api, bRow.B, j))

	za, zb := d[8], d[9]
	nonNeg(api, za, 8)
	nonNeg(api, zb, 8)
	// S(i): every t < K, or t <= i for a causal P·V (K = M = T).
	vis := opcheck.Prefix(api, api.Select(api.Mul(causal, api.Sub(1, transB)), api.Add(i, 1), x.Width), cl.Width())
	var acc frontend.Variable = 0
	for t := range x.B {
		bt := api.Select(transB, bRow.B[t], bCol.B[t])
		acc = api.Add(acc, api.Mul(api.Mul(vis[t], api.Sub(x.B[t], za)), api.Sub(bt, zb)))
	}
	// A causal score after the query (j > i) is masked: acc = 0, never computed (ops.md §3).
	masked := api.Mul(api.Mul(causal, transB), less(api, i, j, s.widthBits))
	acc = api.Select(masked, 0, acc)
	nonNeg(api, api.Add(acc, two31), 32)
	gadgets.AssertRequant(api, gadgets.UnpackEpilogue(api, d[7]), acc, api.Sub(opcheck.Pick(api, y.B, j), 128))
}
