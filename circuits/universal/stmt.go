package universal

import (
	"math/big"

	"github.com/consensys/gnark/frontend"
	"github.com/consensys/gnark/std/math/bits"
	"github.com/consensys/gnark/std/selector"

	"github.com/probitylabs/probity/circuits/gadgets"
	"github.com/probitylabs/probity/circuits/opcheck"
	"github.com/probitylabs/probity/commit"
	"github.com/probitylabs/probity/jobs"
)

// Kinds of committed tensors in shape roots (protocol.md §4.3, model.md §4, trace.md §5).
const (
	kindActivations = commit.KindActivations
	kindIDs         = jobs.KindIDs
)

// tensorOpen is the leaf S(TRACE_TENSOR; t, row root, column root) of one trace tensor and its
// path in the trace tree.
type tensorOpen struct {
	Row, Col frontend.Variable
	Path     []frontend.Variable
}

// rowOpen is one leaf of a committed tree: its preimage and path.
type rowOpen struct {
	Elems []frontend.Variable
	Path  []frontend.Variable
}

// descOpen is one op's descriptor (model.md §3), its index and its path in the op tree.
type descOpen struct {
	Index frontend.Variable
	Desc  []frontend.Variable
	Path  []frontend.Variable
}

// stmt carries what every slot shares: the API, the sponge and the job-level values the
// public inputs bind.
type stmt struct {
	api frontend.API
	sp  *gadgets.Sponge
	cl  *Class

	T, dT               frontend.Variable // rows and ceil(log2 T)
	traceTree, dTr      frontend.Variable // the trace tree's root and depth
	modelTree, dM       frontend.Variable // the op tree's root and depth
	colDepth, widthBits int               // capacities: ceil(log2 width) bits
	// gateOff opens an off slot's op and tensors at index 0 of the job's trees (the
	// targeted circuit): an off slot's openings are not bound, but VarMerkleRoot still asks
	// its index to fit the tree's depth, which the dummy op's index need not in a small
	// model. The sampled circuit of version 2 does not (Class.Fits refuses what it cannot
	// prove instead), so its constraint system stays the one its keys were made for.
	gateOff bool

	job jobStmt // set by preimages.open
}

// index is the tree index a slot opens: id, or 0 for an off slot when gateOff.
func (s *stmt) index(on, id frontend.Variable) frontend.Variable {
	if !s.gateOff {
		return id
	}
	return s.api.Select(on, id, 0)
}

// jobStmt is what the input and select checks read from the job: its prompt length, tokens
// generated, ops, vocabulary, and the decoded prompt and result ids.
type jobStmt struct {
	P, n, L, vocab frontend.Variable
	prompt, tokens []frontend.Variable
}

// eq asserts a = b when on = 1; with on = 0 (a slot of a kind the model lacks) it asserts
// nothing, so the slot may hold any valid dummy instance.
func (s *stmt) eq(on, a, b frontend.Variable) {
	s.api.AssertIsEqual(s.api.Mul(on, s.api.Sub(a, b)), 0)
}

// eqOn is eq where a sampled slot, always on, asserted a = b directly: the constant on = 1
// keeps that constraint as it was, so the sampled circuit's constraint system (and the keys
// set up for it) did not change when the targeted mode came to share its checks.
func (s *stmt) eqOn(on, a, b frontend.Variable) {
	if c, ok := s.api.Compiler().ConstantValue(on); ok && c.IsInt64() && c.Int64() == 1 {
		s.api.AssertIsEqual(a, b)
		return
	}
	s.eq(on, a, b)
}

// toBits decomposes v into n bits (a range check v < 2^n); n = 0 forces v = 0.
func toBits(api frontend.API, v frontend.Variable, n int) []frontend.Variable {
	if n == 0 {
		api.AssertIsEqual(v, 0)
		return nil
	}
	return bits.ToBinary(api, v, bits.WithNbDigits(n))
}

// nonNeg range-checks v to [0, 2^n).
func nonNeg(api frontend.API, v frontend.Variable, n int) { toBits(api, v, n) }

// less returns [a < b] for a, b in [0, 2^n): a - b + 2^n is in [1, 2^(n+1)) and its top bit
// says a >= b.
func less(api frontend.API, a, b frontend.Variable, n int) frontend.Variable {
	d := toBits(api, api.Add(api.Sub(a, b), new(big.Int).Lsh(big.NewInt(1), uint(n))), n+1)
	return api.Sub(1, d[n])
}

// ceilLog2 asserts d = ceil(log2 x) for x in [1, 2^maxD] and returns d with 2^d: with
// p = 2^d, p - x >= 0 and 2x - p - 1 >= 0 (for d = 0 these force x = 1).
func ceilLog2(api frontend.API, x frontend.Variable, maxD int) (d, pow frontend.Variable) {
	dd, err := api.Compiler().NewHint(ceilLog2Hint, 1, x)
	if err != nil {
		panic(err)
	}
	d = dd[0]
	ind := selector.Decoder(api, maxD+1, d)
	var p frontend.Variable = 0
	for h, b := range ind {
		p = api.Add(p, api.Mul(b, new(big.Int).Lsh(big.NewInt(1), uint(h))))
	}
	nonNeg(api, api.Sub(p, x), maxD+1)
	nonNeg(api, api.Sub(api.Sub(api.Mul(x, 2), p), 1), maxD+2)
	return d, p
}

// width decodes a descriptor width word: 0 means T (model.md §3).
func (s *stmt) width(code frontend.Variable) frontend.Variable {
	return s.api.Select(s.api.IsZero(code), s.T, code)
}

// openTensor checks tensor id's leaf against the trace tree.
func (s *stmt) openTensor(on, id frontend.Variable, o *tensorOpen) {
	leaf := s.sp.Hash(jobs.TagTraceTensor, id, o.Row, o.Col)
	idBits := toBits(s.api, s.index(on, id), s.cl.OpDepth)
	s.eq(on, s.traceTree, gadgets.VarMerkleRoot(s.api, s.sp, leaf, idBits, o.Path, s.dTr))
}

// unpack decomposes a packed row of the given width: every byte canonical, bytes past the
// width zero (so the leaf commits to exactly width values), and the element mask.
func (s *stmt) unpack(elems []frontend.Variable, width frontend.Variable) (opcheck.Row, []frontend.Variable) {
	api := s.api
	row := opcheck.Row{Width: width, In: opcheck.Prefix(api, width, 31*len(elems))}
	for _, e := range elems {
		row.B = append(row.B, gadgets.UnpackElement(api, e, gadgets.BytesPerElement)...)
	}
	mask := make([]frontend.Variable, len(elems))
	for t, b := range row.B {
		api.AssertIsEqual(api.Mul(b, api.Sub(1, row.In[t])), 0)
	}
	for e := range elems {
		mask[e] = row.In[31*e]
	}
	return row, mask
}

// elemMask is the mask of the ceil(width/31) elements of a row that is hashed but not
// unpacked; elements past them must be zero.
func (s *stmt) elemMask(elems []frontend.Variable, width frontend.Variable) []frontend.Variable {
	api := s.api
	cc, err := api.Compiler().NewHint(ceilDivHint, 1, width, 31)
	if err != nil {
		panic(err)
	}
	c := cc[0]
	slack := api.Sub(api.Mul(c, 31), width) // in [0, 31)
	nonNeg(api, slack, 5)
	nonNeg(api, api.Sub(30, slack), 5)
	mask := opcheck.Prefix(api, c, len(elems))
	for e, x := range elems {
		api.AssertIsEqual(api.Mul(x, api.Sub(1, mask[e])), 0)
	}
	return mask
}

// rowRoot checks that leaf, at index idx (bits given) in a tree of the given depth, is under
// the shape root S(ROOT; kind, rows, cols, depth, tree).
func (s *stmt) rowRoot(on, root frontend.Variable, kind int, rows, cols, depth frontend.Variable, leaf frontend.Variable, idxBits, path []frontend.Variable) {
	tree := gadgets.VarMerkleRoot(s.api, s.sp, leaf, idxBits, path, depth)
	s.eq(on, root, s.sp.Hash(gadgets.TagRoot, kind, rows, cols, depth, tree))
}

// openRow opens row i (bits given) of an I8 trace tensor by rows: width values, T rows.
func (s *stmt) openRow(on, root frontend.Variable, iBits []frontend.Variable, width frontend.Variable, o *rowOpen) opcheck.Row {
	row, mask := s.unpack(o.Elems, width)
	leaf := s.sp.VarHash(gadgets.TagLeaf, o.Elems, mask)
	s.rowRoot(on, root, kindActivations, s.T, width, s.dT, leaf, iBits, o.Path)
	return row
}

// openRowHash opens row i of an I8 trace tensor without unpacking it and returns its leaf.
func (s *stmt) openRowHash(on, root frontend.Variable, iBits []frontend.Variable, width frontend.Variable, o *rowOpen) frontend.Variable {
	leaf := s.sp.VarHash(gadgets.TagLeaf, o.Elems, s.elemMask(o.Elems, width))
	s.rowRoot(on, root, kindActivations, s.T, width, s.dT, leaf, iBits, o.Path)
	return leaf
}

// openID opens row i of an I32 tensor (kind 6: leaf S(LEAF; v + 2^31)) and returns v.
func (s *stmt) openID(on, root frontend.Variable, iBits []frontend.Variable, o *rowOpen) frontend.Variable {
	nonNeg(s.api, o.Elems[0], 32)
	leaf := s.sp.Hash(gadgets.TagLeaf, o.Elems[0])
	s.rowRoot(on, root, kindIDs, s.T, 1, s.dT, leaf, iBits, o.Path)
	return s.api.Sub(o.Elems[0], 1<<31)
}

// openDesc checks op o.Index's descriptor against the op tree and that it is of kind k and
// rank r.
func (s *stmt) openDesc(on frontend.Variable, k int, r frontend.Variable, o *descOpen) {
	leaf := s.sp.Hash(tagModelOp, o.Desc...)
	ib := toBits(s.api, s.index(on, o.Index), s.cl.OpDepth)
	s.eq(on, s.modelTree, gadgets.VarMerkleRoot(s.api, s.sp, leaf, ib, o.Path, s.dM))
	s.eq(on, o.Desc[0], k)
	s.eq(on, o.Desc[len(o.Desc)-1], r)
	// the result tensor is the op's own (model.md §3: d_1 = i + 1)
	s.eq(on, o.Desc[1], s.api.Add(o.Index, 1))
}
