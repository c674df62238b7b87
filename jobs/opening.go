package jobs

import (
	"errors"
	"fmt"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"

	"github.com/probitylabs/probity/commit"
	"github.com/probitylabs/probity/model"
)

// TraceOpening opens one node of a committed trace, the answer to a data challenge
// (specs/settlement.md §10): the trace root's preimage, the named tensor's leaf and path in
// the trace tree, and for a row or a column the opened tree's shape-root preimage and the
// leaf with its path. The contract checks it hash by hash with the same sponge; an element
// that names nothing (a tensor past L, a row or column past its tree's, a column of a tensor
// without a column tree) is answered by the preimages that show it.
type TraceOpening struct {
	// The trace root's preimage S(TRACE; 1, job digest, Rows, Tensors, Depth, TensorRoot).
	Rows, Tensors uint32
	Depth         uint8
	TensorRoot    fr.Element
	// The tensor's leaf S(TRACE_TENSOR; t, RowRoot, ColRoot) and its Depth siblings, from the
	// leaf up; empty when t >= Tensors.
	RowRoot, ColRoot fr.Element
	TensorPath       []fr.Element
	// Rows and columns: the opened tree's shape root S(ROOT; TreeKind, TreeRows, TreeCols,
	// TreeDepth, TreeRoot), then the leaf's elements and its TreeDepth siblings (empty when the
	// index is past TreeRows).
	TreeKind           uint8
	TreeRows, TreeCols uint32
	TreeDepth          uint8
	TreeRoot           fr.Element
	Leaf, Path         []fr.Element
}

// ErrTraceOpening reports an opening that does not open the trace root at the element.
var ErrTraceOpening = errors.New("trace opening does not verify")

// Opener answers data challenges of one committed trace: the trees are built once.
type Opener struct {
	gen   *Generated
	trees []TensorTrees
}

// NewOpener commits the generated trace's trees for openings.
func NewOpener(m *model.Model, g *Generated) (*Opener, error) {
	trees, err := CommitTraceTrees(m, g.Trace)
	if err != nil {
		return nil, err
	}
	return &Opener{gen: g, trees: trees}, nil
}

// Open returns the opening of data element e (kinds 4 to 6); one past the trace's tensors,
// rows or columns gets the preimages that show it names nothing.
func (o *Opener) Open(e Element) (*TraceOpening, error) {
	if !e.IsData() {
		return nil, fmt.Errorf("open: %w: %s is not a data element", ErrNonCanonical, e)
	}
	if err := e.Canonical(); err != nil {
		return nil, err
	}
	roots := make([]TensorRoots, len(o.trees))
	for t, tt := range o.trees {
		roots[t] = tt.Roots
	}
	leaves := TensorLeaves(roots)
	d := commit.LayerDepth(len(leaves))
	tensorTree := commit.NewLeafTree(leaves, d)
	op := &TraceOpening{Rows: uint32(o.gen.Trace.T), Tensors: uint32(len(leaves)), Depth: uint8(d), TensorRoot: tensorTree.TreeRoot()}
	t := int(e.Op)
	if t >= len(leaves) {
		return op, nil
	}
	op.RowRoot, op.ColRoot, op.TensorPath = roots[t].Row, roots[t].Col, tensorTree.Siblings(t)
	var tree *commit.Tree
	var index int
	switch e.Kind {
	case ElementTensor:
		return op, nil
	case ElementRow:
		tree, index = o.trees[t].Row, int(e.Row)
	case ElementColumn:
		tree, index = o.trees[t].Col, int(e.Col)
		if tree == nil {
			return op, nil // column root 0: no column tree
		}
	}
	kind, rows, cols := tree.Kind(), tree.Rows(), tree.Cols()
	ids := o.gen.Trace.Tensors[t].I32
	if e.Kind == ElementRow && ids != nil {
		kind, cols = KindIDs, 1 // an I32 tensor's tree is built over leaf hashes (CommitTraceTrees)
	}
	op.TreeKind, op.TreeRows, op.TreeCols, op.TreeDepth, op.TreeRoot = uint8(kind), uint32(rows), uint32(cols), uint8(tree.Depth()), tree.TreeRoot()
	if index >= rows {
		return op, nil
	}
	if ids != nil && e.Kind == ElementRow {
		op.Leaf, op.Path = []fr.Element{commit.BiasElement(ids.Data[index])}, tree.Siblings(index)
		return op, nil
	}
	lo, err := tree.Open(index)
	if err != nil {
		return nil, err
	}
	op.Leaf, op.Path = lo.Leaf, lo.Siblings
	return op, nil
}

// Verify checks o as the contract does: it opens traceRoot (with the request's job digest) at
// data element e. Vacuous is true when e names nothing in the trace; otherwise, for a row or
// a column, o.Leaf is the committed leaf.
func (o *TraceOpening) Verify(traceRoot, jobDigest fr.Element, e Element) (vacuous bool, err error) {
	fail := func(format string, args ...any) (bool, error) {
		return false, fmt.Errorf("%w: %s: %s", ErrTraceOpening, e, fmt.Sprintf(format, args...))
	}
	if !e.IsData() {
		return fail("not a data element")
	}
	if err := e.Canonical(); err != nil {
		return false, err
	}
	root := commit.Hash(TagTrace, commit.Uint(TraceVersion), jobDigest, commit.Uint(uint64(o.Rows)),
		commit.Uint(uint64(o.Tensors)), commit.Uint(uint64(o.Depth)), o.TensorRoot)
	if !root.Equal(&traceRoot) {
		return fail("the trace preimage gives another root")
	}
	t := uint64(e.Op)
	if t >= uint64(o.Tensors) {
		return true, nil
	}
	leaf := commit.Hash(TagTraceTensor, commit.Uint(t), o.RowRoot, o.ColRoot)
	if got, ok := walk(leaf, t, o.TensorPath, int(o.Depth)); !ok || !got.Equal(&o.TensorRoot) {
		return fail("tensor %d's leaf is not in the trace tree", t)
	}
	var tree fr.Element
	var index uint64
	switch e.Kind {
	case ElementTensor:
		return false, nil
	case ElementRow:
		tree, index = o.RowRoot, uint64(e.Row)
	case ElementColumn:
		if o.ColRoot.IsZero() {
			return true, nil
		}
		tree, index = o.ColRoot, uint64(e.Col)
	}
	shape := commit.Hash(commit.TagRoot, commit.Uint(uint64(o.TreeKind)), commit.Uint(uint64(o.TreeRows)),
		commit.Uint(uint64(o.TreeCols)), commit.Uint(uint64(o.TreeDepth)), o.TreeRoot)
	if !shape.Equal(&tree) {
		return fail("the tree's shape preimage gives another root")
	}
	if index >= uint64(o.TreeRows) {
		return true, nil
	}
	if got, ok := walk(commit.Hash(commit.TagLeaf, o.Leaf...), index, o.Path, int(o.TreeDepth)); !ok || !got.Equal(&o.TreeRoot) {
		return fail("leaf %d is not in the tree", index)
	}
	return false, nil
}

// walk climbs from a leaf hash to the root of a tree of the given depth along path; index bit
// h set means the node at height h is a right child. An index of 2^depth or more has no leaf
// (a malformed shape claiming more rows than its depth holds would otherwise alias it to
// index mod 2^depth), as the contract rules.
func walk(cur fr.Element, index uint64, path []fr.Element, depth int) (fr.Element, bool) {
	if len(path) != depth || index>>depth != 0 {
		return cur, false
	}
	for h, s := range path {
		if (index>>h)&1 == 1 {
			cur = commit.Node(s, cur)
		} else {
			cur = commit.Node(cur, s)
		}
	}
	return cur, true
}
