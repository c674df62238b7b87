package jobs

import (
	"fmt"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"

	"github.com/probitylabs/probity/commit"
	"github.com/probitylabs/probity/model"
)

// Search finds a fault in a committed trace that its provider did not publish, from openings
// of its nodes that data challenges put on chain (specs/settlement.md §10, trace.md §8). It
// compares the provider's committed nodes with the honest trace's, which the watcher computes
// itself, and walks back from a wrong value to the op whose operands are all right but whose
// result is not: that element's equation fails from correct operands, so no targeted proof
// answers it. Next says what to open next or names the fault; it is a function of the
// openings added so far, so a watcher that restarts rebuilds it from the chain's logs.
type Search struct {
	c      *Checked
	honest *Generated
	trees  []TensorTrees
	tensor *commit.Tree // the honest trace tree

	root   fr.Element // the provider's committed trace root
	tokens []int32    // the provider's tokens (its result)

	pre    *TraceOpening
	leaves map[int]TensorRoots      // tensor t's committed roots
	nodes  map[nodeKey]fr.Element   // committed tree nodes learned from paths
	data   map[nodeKey][]fr.Element // opened leaves (height 0) of row and column trees
	shapes map[[2]int][4]uint32     // (tensor, axis): the opened tree's kind, rows, cols, depth
}

// Tree axes of a nodeKey.
const (
	axisTensors = iota // the trace tree over tensor leaves
	axisRows
	axisCols
)

type nodeKey struct{ t, axis, h, i int }

// NewSearch starts a search of the trace committed as traceRoot with result tokens, for the
// honest generation g of the same job.
func (c *Checked) NewSearch(g *Generated, traceRoot fr.Element, tokens []int32) (*Search, error) {
	if len(tokens) != c.Job.New {
		return nil, fmt.Errorf("%w: %d tokens, the job has %d", model.ErrMismatch, len(tokens), c.Job.New)
	}
	trees, err := CommitTraceTrees(c.Model, g.Trace)
	if err != nil {
		return nil, err
	}
	leaves := TensorLeaves(g.Roots)
	return &Search{c: c, honest: g, trees: trees, tensor: commit.NewLeafTree(leaves, commit.LayerDepth(len(leaves))),
		root: traceRoot, tokens: tokens, leaves: map[int]TensorRoots{}, nodes: map[nodeKey]fr.Element{},
		data: map[nodeKey][]fr.Element{}, shapes: map[[2]int][4]uint32{}}, nil
}

// Add records an opening of data element e after checking it against the committed root.
func (s *Search) Add(e Element, o *TraceOpening) error {
	vacuous, err := o.Verify(s.root, s.honest.JobDigest, e)
	if err != nil {
		return err
	}
	if s.pre == nil {
		s.pre = o
	}
	t := int(e.Op)
	if t >= int(o.Tensors) {
		return nil
	}
	s.leaves[t] = TensorRoots{Row: o.RowRoot, Col: o.ColRoot}
	s.learnPath(nodeKey{t: 0, axis: axisTensors, i: t},
		commit.Hash(TagTraceTensor, commit.Uint(uint64(t)), o.RowRoot, o.ColRoot), o.TensorPath)
	if e.Kind == ElementTensor || (e.Kind == ElementColumn && o.ColRoot.IsZero()) {
		return nil
	}
	axis, index := axisRows, int(e.Row)
	if e.Kind == ElementColumn {
		axis, index = axisCols, int(e.Col)
	}
	s.shapes[[2]int{t, axis}] = [4]uint32{uint32(o.TreeKind), o.TreeRows, o.TreeCols, uint32(o.TreeDepth)}
	if vacuous {
		return nil
	}
	k := nodeKey{t: t, axis: axis, i: index}
	s.data[k] = o.Leaf
	s.learnPath(k, commit.Hash(commit.TagLeaf, o.Leaf...), o.Path)
	return nil
}

// learnPath records a leaf hash and the siblings on its path.
func (s *Search) learnPath(leaf nodeKey, hash fr.Element, path []fr.Element) {
	s.nodes[leaf] = hash
	for h, sib := range path {
		s.nodes[nodeKey{t: leaf.t, axis: leaf.axis, h: h, i: (leaf.i >> h) ^ 1}] = sib
	}
}

// Next returns the fault to challenge, or the data elements to open first. Both nil: the
// committed trace and tokens hold everywhere a proof looks, so there is nothing to challenge.
func (s *Search) Next() (*Fault, []Element, error) {
	if s.root.Equal(&s.honest.TraceRoot) {
		// The committed trace is the honest one: only the tokens can be wrong.
		f, err := s.c.FindFault(s.honest.Trace, s.tokens)
		return f, nil, err
	}
	st := &step{Search: s}
	f := st.run()
	if st.err != nil {
		return nil, nil, st.err
	}
	if f != nil {
		return f, nil, nil
	}
	return nil, st.asks, nil
}

// step is one evaluation of Next: the openings it lacks accumulate in asks.
type step struct {
	*Search
	asks []Element
	err  error
}

func (st *step) ask(e Element) {
	for _, a := range st.asks {
		if a == e {
			return
		}
	}
	st.asks = append(st.asks, e)
}

func opFault(u, i, j int, why string) *Fault {
	return &Fault{Element{Kind: ElementOp, Op: uint32(u), Row: uint32(i), Col: uint32(j)}, why}
}

// tensorFault names an element whose proof must open tensor t's rows (or, for the values of a
// P·V matmul, its columns) under the shape the circuit computes: one that a malformed
// commitment of t fails.
func (st *step) tensorFault(t, axis int, why string) *Fault {
	if axis == axisCols {
		return opFault(st.columnReader(t), 0, 0, why)
	}
	if t == 0 {
		return &Fault{Element{Kind: ElementInput}, why}
	}
	return opFault(t-1, 0, 0, why)
}

// columnReader is the first P·V matmul that reads tensor t by columns.
func (st *step) columnReader(t int) int {
	for u := range st.c.Model.Ops {
		if op := &st.c.Model.Ops[u]; op.Kind == model.KindMatmul && !op.TransB && op.In[1] == t {
			return u
		}
	}
	return -1
}

func (st *step) run() *Fault {
	s := st.Search
	T, L := s.honest.Trace.T, len(s.c.Model.Ops)
	P := len(s.c.Job.Prompt)
	q0 := -1 // the first wrong token
	for q, g := range s.tokens {
		if g != s.honest.Tokens[q] {
			q0 = q
			break
		}
	}
	if s.pre == nil {
		// Any opening shows the trace root's preimage; the first is the one the search needs.
		if q0 >= 0 {
			st.ask(Element{Kind: ElementRow, Op: uint32(L), Row: uint32(P - 1 + q0)})
		} else {
			st.ask(Element{Kind: ElementTensor})
		}
		return nil
	}
	if int(s.pre.Rows) != T || int(s.pre.Tensors) != L+1 || int(s.pre.Depth) != commit.LayerDepth(L+1) {
		// Every proof opens the trace root with T = P + n - 1, L + 1 tensors and their depth.
		return &Fault{Element{Kind: ElementInput}, fmt.Sprintf("the trace root commits %d rows, %d tensors and depth %d; the job has %d rows and %d tensors", s.pre.Rows, s.pre.Tensors, s.pre.Depth, T, L+1)}
	}
	for t := 0; t <= L; t++ {
		for _, axis := range []int{axisRows, axisCols} {
			sh, ok := s.shapes[[2]int{t, axis}]
			if !ok || (axis == axisCols && s.trees[t].Col == nil) {
				continue // a column tree no proof opens cannot fail one
			}
			if want := st.honestShape(t, axis); sh != want {
				return st.tensorFault(t, axis, fmt.Sprintf("tensor %d's tree is committed with shape %v, the job's is %v", t, sh, want))
			}
		}
	}
	if q0 >= 0 {
		// The first wrong token: its selection reads logits row P-1+q0.
		eq, known := st.rowEqual(L, P-1+q0)
		if !known {
			return nil
		}
		if eq {
			return &Fault{Element{Kind: ElementToken, Row: uint32(q0)}, fmt.Sprintf("token %d is %d, the committed logits row %d selects %d", q0, s.tokens[q0], P-1+q0, s.honest.Tokens[q0])}
		}
		return st.back(L, P-1+q0)
	}
	// The tokens are right: look for the first tensor whose commitment differs where a proof
	// reads it.
	for lo := 0; lo <= L; {
		t, found := st.firstDiff(0, axisTensors, lo, L+1)
		if !found {
			return nil // asks pending, or no tensor differs
		}
		r, ok := s.leaves[t]
		if !ok { // known to differ from a sibling on another tensor's path
			st.ask(Element{Kind: ElementTensor, Op: uint32(t)})
			return nil
		}
		h := s.honest.Roots[t]
		switch {
		case !r.Row.Equal(&h.Row):
			i, found := st.firstDiff(t, axisRows, 0, T)
			if found {
				return st.back(t, i)
			}
			if len(st.asks) > 0 || st.err != nil {
				return nil
			}
		case !r.Col.Equal(&h.Col) && !h.Col.IsZero():
			if r.Col.IsZero() {
				return st.tensorFault(t, axisCols, fmt.Sprintf("tensor %d is committed without its column tree", t))
			}
			w := s.trees[t].Col.Rows()
			j, found := st.firstDiff(t, axisCols, 0, w)
			if found {
				return st.columnFault(st.columnReader(t), t, j, T-1)
			}
			if len(st.asks) > 0 || st.err != nil {
				return nil
			}
		}
		// A difference no proof reads (a column root of a tensor read by rows only, or
		// padding past the real leaves): look further right.
		lo = t + 1
	}
	return nil
}

// back walks from tensor t's row i, known to differ from the honest one, to a fault: the op
// that wrote it, if every operand it reads at that element is right, else the first wrong
// operand. Each move goes to an earlier tensor at a row no later, or from an input row to the
// logits row before it, so the walk ends.
func (st *step) back(t, i int) *Fault {
	s := st.Search
	P := len(s.c.Job.Prompt)
	// Each move decreases (row, tensor) lexicographically; the bound only guards that proof.
	for range (len(s.c.Model.Ops) + 2) * (s.honest.Trace.T + 1) {
		if t == 0 {
			v, valid, ok := st.id(i)
			if !ok {
				return nil
			}
			if !valid {
				return &Fault{Element{Kind: ElementInput, Row: uint32(i)}, fmt.Sprintf("input row %d's leaf is no token id", i)}
			}
			if i < P {
				return &Fault{Element{Kind: ElementInput, Row: uint32(i)}, fmt.Sprintf("input row %d is %d, the prompt has %d", i, v, s.c.Job.Prompt[i])}
			}
			q := i - P
			if v != s.tokens[q] {
				return &Fault{Element{Kind: ElementInput, Row: uint32(i)}, fmt.Sprintf("input row %d is %d, token %d is %d", i, v, q, s.tokens[q])}
			}
			L := len(s.c.Model.Ops)
			eq, known := st.rowEqual(L, i-1)
			if !known {
				return nil
			}
			if eq {
				return &Fault{Element{Kind: ElementToken, Row: uint32(q)}, fmt.Sprintf("token %d is %d, the committed logits row %d selects %d", q, v, i-1, s.honest.Tokens[q])}
			}
			t, i = L, i-1
			continue
		}
		u := t - 1
		j, malformed, ok := st.wrongColumn(t, i)
		if !ok {
			return nil
		}
		if malformed {
			return opFault(u, i, 0, fmt.Sprintf("op %d's result row %d is not a valid packing", u, i))
		}
		next, at := -1, 0
		unknown := false
		for _, rd := range st.reads(u, i, j) {
			if rd.col {
				eq, tp, known := st.columnEqual(rd.t, j, i)
				if !known {
					unknown = true
					continue
				}
				if !eq {
					return st.columnFault(u, rd.t, j, tp)
				}
				continue
			}
			eq, known := st.rowEqual(rd.t, rd.i)
			if !known {
				unknown = true
				continue
			}
			if !eq && next < 0 {
				next, at = rd.t, rd.i
			}
		}
		if next >= 0 {
			t, i = next, at
			continue
		}
		if unknown {
			return nil
		}
		return opFault(u, i, j, fmt.Sprintf("op %d's result at row %d column %d differs from its recomputation over committed operands that are all the job's", u, i, j))
	}
	st.err = fmt.Errorf("jobs: search: the walk back from a wrong row did not end") // not reached
	return nil
}

// columnFault handles tensor b's column j, committed wrong at or before position upto: the
// first wrong position p. If b's row p is right, the P·V matmul u's tie check at (p, j) fails
// (circuit.md §5); if not, the fault is behind that row.
func (st *step) columnFault(u, b, j, upto int) *Fault {
	eq, p, known := st.columnEqual(b, j, upto)
	if !known || eq {
		return nil
	}
	req, known := st.rowEqual(b, p)
	if !known {
		return nil
	}
	if !req {
		return st.back(b, p)
	}
	return opFault(u, p, j, fmt.Sprintf("tensor %d's column %d holds at position %d another value than its row %d", b, j, p, p))
}

// read is one operand row (or, col set, one operand column) an element reads.
type read struct {
	t, i int
	col  bool
}

// reads lists what op u's element (i, j) reads of the trace (circuit.md §4): one row of each
// operand, except a causal Q·Kᵀ reading key row j (nothing above the diagonal), a P·V matmul
// reading the values' column j (and its row i, the tie), and position reading no tensor.
func (st *step) reads(u, i, j int) []read {
	op := &st.c.Model.Ops[u]
	switch op.Kind {
	case model.KindPosition:
		return nil
	case model.KindMatmul:
		if op.TransB {
			if j > i {
				return []read{{t: op.In[0], i: i}}
			}
			return []read{{t: op.In[0], i: i}, {t: op.In[1], i: j}}
		}
		return []read{{t: op.In[0], i: i}, {t: op.In[1], col: true}, {t: op.In[1], i: i}}
	}
	rs := make([]read, len(op.In))
	for k, in := range op.In {
		rs[k] = read{t: in, i: i}
	}
	return rs
}

// honestShape is the shape-root preimage (kind, rows, cols, depth) of tensor t's tree.
func (st *step) honestShape(t, axis int) [4]uint32 {
	tr := st.trees[t].Row
	if axis == axisCols {
		tr = st.trees[t].Col
		if tr == nil {
			return [4]uint32{}
		}
	}
	if axis == axisRows && st.honest.Trace.Tensors[t].I32 != nil {
		return [4]uint32{KindIDs, uint32(tr.Rows()), 1, uint32(tr.Depth())}
	}
	return [4]uint32{uint32(tr.Kind()), uint32(tr.Rows()), uint32(tr.Cols()), uint32(tr.Depth())}
}

func (st *step) honestTree(t, axis int) *commit.Tree {
	switch axis {
	case axisTensors:
		return st.tensor
	case axisCols:
		return st.trees[t].Col
	}
	return st.trees[t].Row
}

// rowEqual says whether tensor t's committed row i is the honest one, when known: from the
// tensor's row root, an opened leaf, or a subtree on a path.
func (st *step) rowEqual(t, i int) (eq, known bool) {
	if r, ok := st.leaves[t]; ok && r.Row.Equal(&st.honest.Roots[t].Row) {
		return true, true
	}
	tree := st.trees[t].Row
	for h := 0; h <= tree.Depth(); h++ {
		if n, ok := st.nodes[nodeKey{t: t, axis: axisRows, h: h, i: i >> h}]; ok {
			want := tree.NodeAt(h, i>>h)
			if n.Equal(&want) {
				return true, true
			}
			if h == 0 {
				return false, true
			}
		}
	}
	st.ask(Element{Kind: ElementRow, Op: uint32(t), Row: uint32(i)})
	return false, false
}

// columnEqual says whether tensor b's committed column j is the honest one at positions
// 0..upto; if not, p is the first wrong position.
func (st *step) columnEqual(b, j, upto int) (eq bool, p int, known bool) {
	if r, ok := st.leaves[b]; ok && r.Col.Equal(&st.honest.Roots[b].Col) {
		return true, 0, true
	}
	leaf, ok := st.data[nodeKey{t: b, axis: axisCols, i: j}]
	if !ok {
		st.ask(Element{Kind: ElementColumn, Op: uint32(b), Col: uint32(j)})
		return false, 0, false
	}
	T := st.honest.Trace.T
	got, err := commit.UnpackLeaf(commit.KindActivations, T, leaf)
	if err != nil {
		return false, 0, true // a malformed column fails at its first position
	}
	x := st.honest.Trace.Tensors[b].I8
	w := x.Shape[1]
	for p := 0; p <= upto && p < T; p++ {
		if got.Row[p] != x.Data[p*w+j] {
			return false, p, true
		}
	}
	return true, 0, true
}

// firstDiff finds the first leaf at or after lo (and below n) of a committed tree that
// differs from the honest one, descending along opened paths: an opening of leaf x shows
// which subtrees right of x differ, and the walk moves into the nearest such subtree.
func (st *step) firstDiff(t, axis, lo, n int) (int, bool) {
	honest := st.honestTree(t, axis)
	for x := lo; x < n; {
		leaf, ok := st.nodes[nodeKey{t: t, axis: axis, i: x}]
		if !ok {
			switch axis {
			case axisTensors:
				st.ask(Element{Kind: ElementTensor, Op: uint32(x)})
			case axisRows:
				st.ask(Element{Kind: ElementRow, Op: uint32(t), Row: uint32(x)})
			case axisCols:
				st.ask(Element{Kind: ElementColumn, Op: uint32(t), Col: uint32(x)})
			}
			return 0, false
		}
		if want := honest.NodeAt(0, x); !leaf.Equal(&want) {
			return x, true
		}
		next := -1
		for h := 0; h < honest.Depth(); h++ {
			if (x>>h)&1 == 1 {
				continue // a left sibling: covered before x
			}
			sib, ok := st.nodes[nodeKey{t: t, axis: axis, h: h, i: (x >> h) + 1}]
			if want := honest.NodeAt(h, (x>>h)+1); ok && !sib.Equal(&want) {
				next = ((x >> h) + 1) << h
				break
			}
		}
		if next < 0 {
			return 0, false
		}
		x = next
	}
	return 0, false
}

// id is the committed input row i, from its opened leaf; valid is false for a leaf that is
// not an id's (one element id + 2^31 below 2^32), which the input check cannot open.
func (st *step) id(i int) (v int32, valid, ok bool) {
	leaf, ok := st.data[nodeKey{t: 0, axis: axisRows, i: i}]
	if !ok {
		st.ask(Element{Kind: ElementRow, Row: uint32(i)})
		return 0, false, false
	}
	if len(leaf) != 1 {
		return 0, false, true
	}
	b := commit.ToBig(leaf[0])
	if b.BitLen() > 32 {
		return 0, false, true
	}
	return int32(b.Int64() - 1<<31), true, true
}

// wrongColumn compares tensor t's committed row i (known to differ) with the honest one and
// returns the first column that differs; malformed reports a leaf that is no valid packing.
func (st *step) wrongColumn(t, i int) (j int, malformed, ok bool) {
	leaf, ok := st.data[nodeKey{t: t, axis: axisRows, i: i}]
	if !ok {
		st.ask(Element{Kind: ElementRow, Op: uint32(t), Row: uint32(i)})
		return 0, false, false
	}
	v := st.honest.Trace.Tensors[t]
	if v.I32 != nil {
		return 0, false, true
	}
	w := v.I8.Shape[1]
	got, err := commit.UnpackLeaf(commit.KindActivations, w, leaf)
	if err != nil {
		return 0, true, true
	}
	for j := range w {
		if got.Row[j] != v.I8.Data[i*w+j] {
			return j, false, true
		}
	}
	return 0, true, true // a leaf that hashes otherwise but unpacks the same: not a canonical packing
}
