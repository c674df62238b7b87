package commit

import (
	"errors"
	"fmt"
	"math/big"
	"math/bits"
	"runtime"
	"sync"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"

	"github.com/probitylabs/probity/tensor"
)

// MaxDepth bounds tree depths; 2^32 rows is far beyond any tensor a job carries.
const MaxDepth = 32

var (
	// ErrTooManyRows reports a tensor with more rows than its tree has leaves.
	ErrTooManyRows = errors.New("tensor has more rows than the tree has leaves")
	// ErrIndex reports an opening index outside the tensor's rows.
	ErrIndex = errors.New("row index out of range")
	// ErrOpening reports an opening that does not verify against a root.
	ErrOpening = errors.New("opening does not verify")
)

// zeros[h] is the root of an all-padding subtree of height h (§4.3: padding leaves are 0).
var zeros = func() [MaxDepth + 1]fr.Element {
	var z [MaxDepth + 1]fr.Element
	for h := 1; h <= MaxDepth; h++ {
		z[h] = Node(z[h-1], z[h-1])
	}
	return z
}()

// ZeroSubtree returns the root of a subtree of height h whose leaves are all padding.
func ZeroSubtree(h int) fr.Element { return zeros[h] }

// Tree is a Merkle commitment to the rows of a tensor (§4.3). Only the nodes covering real rows
// are stored; everything to their right is a precomputed all-padding subtree, so a deep tree
// with few rows costs about as much as a shallow one.
type Tree struct {
	kind, rows, cols, depth int
	levels                  [][]fr.Element // levels[h][i]: node i at height h (h=0: leaves)
	leaf                    func(i int) ([]fr.Element, error)
}

// Opening proves that a leaf is row Index of a committed tensor.
type Opening struct {
	Index    int
	Leaf     []fr.Element // the packed row; for layer parameters the last element is bias+2^31
	Siblings []fr.Element // one per height, from the leaf upwards
}

// Root returns the shape-bound commitment S(ROOT; kind, rows, cols, depth, T).
func (t *Tree) Root() fr.Element { return ShapeRoot(t.kind, t.rows, t.cols, t.depth, t.TreeRoot()) }

// TreeRoot returns T, the node at depth 0.
func (t *Tree) TreeRoot() fr.Element { return t.levels[t.depth][0] }

// Depth returns d; the tree has 2^d leaves.
func (t *Tree) Depth() int { return t.depth }

// Rows returns the number of committed rows (M, or N for layer parameters).
func (t *Tree) Rows() int { return t.rows }

// Cols returns the row width in int8 values (C, or K for layer parameters).
func (t *Tree) Cols() int { return t.cols }

// Kind returns KindActivations or KindLayer.
func (t *Tree) Kind() int { return t.kind }

// ShapeRoot is S(ROOT; kind, rows, cols, depth, treeRoot).
func ShapeRoot(kind, rows, cols, depth int, treeRoot fr.Element) fr.Element {
	var k, r, c, d fr.Element
	k.SetUint64(uint64(kind))
	r.SetUint64(uint64(rows))
	c.SetUint64(uint64(cols))
	d.SetUint64(uint64(depth))
	return Hash(TagRoot, k, r, c, d, treeRoot)
}

// LayerDepth returns ceil(log2 n), the depth of a layer-parameter tree with n output columns.
func LayerDepth(n int) int {
	if n <= 1 {
		return 0
	}
	return bits.Len(uint(n - 1))
}

// BiasElement returns b + 2^31, the field element appended to a layer leaf.
func BiasElement(b int32) fr.Element {
	var e fr.Element
	e.SetUint64(uint64(int64(b) + 1<<31))
	return e
}

// LeafLayer returns the leaf elements of output column j: pack(W[j]) || b[j]+2^31.
func LeafLayer(w []int8, b int32) []fr.Element {
	n := (len(w) + 30) / 31
	out := make([]fr.Element, n+1)
	packInto(out[:n], w)
	out[n] = BiasElement(b)
	return out
}

// CommitActivations commits an activation tensor [M, C] in a tree of the given depth (the
// shape's rows depth D).
func CommitActivations(x *tensor.Int8, depth int) (*Tree, error) {
	M, C, err := x.Matrix()
	if err != nil {
		return nil, fmt.Errorf("commit activations: %w", err)
	}
	if err := checkRows(M, depth); err != nil {
		return nil, fmt.Errorf("commit activations: %w", err)
	}
	leafFn := func(i int) ([]fr.Element, error) { return PackRow(x.Row(i)), nil }
	t := &Tree{kind: KindActivations, rows: M, cols: C, depth: depth, leaf: leafFn}
	leaves := make([]fr.Element, M)
	hashLeaves(leaves, func(i int) []fr.Element { return PackRow(x.Row(i)) })
	t.build(leaves)
	return t, nil
}

// CommitLayer commits layer parameters W [N, K] and b [N], one leaf per output column, in a tree
// of depth ceil(log2 N).
func CommitLayer(w *tensor.Int8, b *tensor.Int32) (*Tree, error) {
	N, K, err := w.Matrix()
	if err != nil {
		return nil, fmt.Errorf("commit layer: weight: %w", err)
	}
	if len(b.Shape) != 1 || b.Shape[0] != N || len(b.Data) != N {
		return nil, fmt.Errorf("commit layer: %w: bias shape %v does not match %d output columns", tensor.ErrShape, b.Shape, N)
	}
	depth := LayerDepth(N)
	if err := checkRows(N, depth); err != nil {
		return nil, fmt.Errorf("commit layer: %w", err)
	}
	leafFn := func(j int) ([]fr.Element, error) { return LeafLayer(w.Row(j), b.Data[j]), nil }
	t := &Tree{kind: KindLayer, rows: N, cols: K, depth: depth, leaf: leafFn}
	leaves := make([]fr.Element, N)
	hashLeaves(leaves, func(j int) []fr.Element { return LeafLayer(w.Row(j), b.Data[j]) })
	t.build(leaves)
	return t, nil
}

func checkRows(rows, depth int) error {
	if depth < 0 || depth > MaxDepth {
		return fmt.Errorf("depth %d not in [0, %d]", depth, MaxDepth)
	}
	if rows < 1 {
		return fmt.Errorf("%w: a committed tensor needs at least one row", tensor.ErrShape)
	}
	if uint64(rows) > uint64(1)<<depth {
		return fmt.Errorf("%w: %d rows, depth %d holds %d", ErrTooManyRows, rows, depth, uint64(1)<<depth)
	}
	return nil
}

// hashLeaves fills leaves[i] = S(LEAF; elems(i)) on all cores.
func hashLeaves(leaves []fr.Element, elems func(i int) []fr.Element) {
	parallel(len(leaves), 16, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			leaves[i] = Hash(TagLeaf, elems(i)...)
		}
	})
}

// parallel splits [0, n) into contiguous chunks of at least grain items over GOMAXPROCS workers.
func parallel(n, grain int, f func(lo, hi int)) {
	workers := runtime.GOMAXPROCS(0)
	if n < 2*grain || workers == 1 {
		f(0, n)
		return
	}
	chunk := max(grain, (n+workers*4-1)/(workers*4))
	var wg sync.WaitGroup
	next := make(chan int, (n+chunk-1)/chunk)
	for lo := 0; lo < n; lo += chunk {
		next <- lo
	}
	close(next)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for lo := range next {
				f(lo, min(lo+chunk, n))
			}
		}()
	}
	wg.Wait()
}

// Uint is the field element of a small unsigned integer (a kind, count, width or tag word).
func Uint(v uint64) fr.Element {
	var e fr.Element
	e.SetUint64(v)
	return e
}

// Merkle is §4.3's tree root over leaf hashes: 2^depth leaves, the missing ones padding (0),
// node(l, r) = S(NODE; l, r). Model and trace commitments build their trees with it.
func Merkle(leaves []fr.Element, depth int) fr.Element {
	if len(leaves) == 0 {
		return zeros[depth]
	}
	return NewLeafTree(leaves, depth).TreeRoot()
}

// NewLeafTree is the tree of Merkle over the given leaf hashes, kept so that paths can be
// opened (Siblings): the model's op tree and a trace's tensor tree.
func NewLeafTree(leaves []fr.Element, depth int) *Tree {
	t := &Tree{depth: depth, rows: len(leaves)}
	t.build(leaves)
	return t
}

// Siblings returns the path of leaf i, from the leaf upwards.
func (t *Tree) Siblings(i int) []fr.Element {
	sib := make([]fr.Element, t.depth)
	idx := i
	for h := 0; h < t.depth; h++ {
		if s := idx ^ 1; s < len(t.levels[h]) {
			sib[h] = t.levels[h][s]
		} else {
			sib[h] = zeros[h]
		}
		idx >>= 1
	}
	return sib
}

// NodeAt returns the node at height h and index i: a stored node, or the all-padding subtree
// that stands right of the real rows.
func (t *Tree) NodeAt(h, i int) fr.Element {
	if h < len(t.levels) && i < len(t.levels[h]) {
		return t.levels[h][i]
	}
	return zeros[h]
}

// build computes the inner levels from the leaves; a missing right sibling is a padding subtree.
func (t *Tree) build(leaves []fr.Element) {
	t.levels = make([][]fr.Element, t.depth+1)
	t.levels[0] = leaves
	for h := 1; h <= t.depth; h++ {
		prev := t.levels[h-1]
		cur := make([]fr.Element, (len(prev)+1)/2)
		parallel(len(cur), 64, func(lo, hi int) {
			for i := lo; i < hi; i++ {
				r := zeros[h-1]
				if 2*i+1 < len(prev) {
					r = prev[2*i+1]
				}
				cur[i] = Node(prev[2*i], r)
			}
		})
		t.levels[h] = cur
	}
}

// Open returns the opening of row i.
func (t *Tree) Open(i int) (*Opening, error) {
	if i < 0 || i >= t.rows {
		return nil, fmt.Errorf("open: %w: %d not in [0, %d)", ErrIndex, i, t.rows)
	}
	leaf, err := t.leaf(i)
	if err != nil {
		return nil, fmt.Errorf("open row %d: %w", i, err)
	}
	return &Opening{Index: i, Leaf: leaf, Siblings: t.Siblings(i)}, nil
}

// LeafWidth returns the number of field elements in a leaf of the given kind and row width.
func LeafWidth(kind, cols int) int {
	n := (cols + 30) / 31
	if kind == KindLayer {
		n++
	}
	return n
}

// VerifyOpening checks o against a shape-bound root. It also checks the leaf's length and, for
// layer parameters, that the bias element is below 2^32, so a verified leaf always unpacks.
func VerifyOpening(root fr.Element, kind, rows, cols, depth int, o *Opening) error {
	if o == nil {
		return fmt.Errorf("%w: nil opening", ErrOpening)
	}
	if kind != KindActivations && kind != KindLayer {
		return fmt.Errorf("%w: unknown kind %d", ErrOpening, kind)
	}
	if err := checkRows(rows, depth); err != nil {
		return fmt.Errorf("%w: %w", ErrOpening, err)
	}
	if o.Index < 0 || o.Index >= rows {
		return fmt.Errorf("%w: %w: %d not in [0, %d)", ErrOpening, ErrIndex, o.Index, rows)
	}
	if w := LeafWidth(kind, cols); len(o.Leaf) != w {
		return fmt.Errorf("%w: leaf has %d elements, want %d", ErrOpening, len(o.Leaf), w)
	}
	if len(o.Siblings) != depth {
		return fmt.Errorf("%w: %d siblings, want %d", ErrOpening, len(o.Siblings), depth)
	}
	if _, err := UnpackLeaf(kind, cols, o.Leaf); err != nil {
		return fmt.Errorf("%w: %w", ErrOpening, err)
	}
	cur := Hash(TagLeaf, o.Leaf...)
	for h, s := range o.Siblings {
		if (o.Index>>h)&1 == 1 {
			cur = Node(s, cur)
		} else {
			cur = Node(cur, s)
		}
	}
	if got := ShapeRoot(kind, rows, cols, depth, cur); !got.Equal(&root) {
		return fmt.Errorf("%w: row %d recomputes root %s, want %s", ErrOpening, o.Index, got.String(), root.String())
	}
	return nil
}

// Leaf is the decoded content of a leaf.
type Leaf struct {
	Row  []int8
	Bias int32 // layer parameters only
}

// ErrLeaf reports leaf elements that are not a valid packing.
var ErrLeaf = errors.New("malformed leaf")

// UnpackLeaf decodes packed leaf elements back into int8 values (and the bias for layers),
// rejecting elements with bytes past the row or bits past 31 bytes.
func UnpackLeaf(kind, cols int, elems []fr.Element) (*Leaf, error) {
	n := (cols + 30) / 31
	if len(elems) != LeafWidth(kind, cols) {
		return nil, fmt.Errorf("%w: %d elements, want %d", ErrLeaf, len(elems), LeafWidth(kind, cols))
	}
	out := &Leaf{Row: make([]int8, cols)}
	for j := 0; j < n; j++ {
		b := elems[j].Bytes() // big-endian
		if b[0] != 0 {
			return nil, fmt.Errorf("%w: element %d exceeds 31 bytes", ErrLeaf, j)
		}
		for t := 0; t < 31; t++ {
			v := b[31-t]
			c := j*31 + t
			if c >= cols {
				if v != 0 {
					return nil, fmt.Errorf("%w: element %d has data past column %d", ErrLeaf, j, cols)
				}
				continue
			}
			out.Row[c] = int8(int(v) - 128)
		}
	}
	if kind == KindLayer {
		bi := elems[n].BigInt(new(big.Int))
		if bi.BitLen() > 32 {
			return nil, fmt.Errorf("%w: bias element %s not below 2^32", ErrLeaf, bi)
		}
		out.Bias = int32(bi.Int64() - 1<<31)
	}
	return out, nil
}
