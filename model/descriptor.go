package model

import (
	"fmt"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"

	"github.com/probitylabs/probity/commit"
	"github.com/probitylabs/probity/tensor"
)

// DescriptorWidth is the number of words of every op descriptor (specs/model.md §3): the
// widest kind, softmax, needs 7 header words, the mask flag and 18 table words, and the last
// word is the op's rank among the ops of its kind. One width for all kinds lets a circuit hash
// any descriptor with the same 14 permutations.
const DescriptorWidth = 27

// rankWord is the descriptor word holding the op's rank within its kind: a circuit slot that
// samples "the r-th op of kind k" opens any op leaf and checks d_0 = k and this word = r.
const rankWord = DescriptorWidth - 1

// NumKinds is the number of op kinds (1..NumKinds); the model root counts the ops of each.
const NumKinds = 13

// Domain tags of the model's sponge calls, beside protocol.md §4.1's 1..4 (16..31 are kept
// for the model so the two tables cannot collide).
const (
	TagModelOp uint64 = 16 // an op descriptor leaf
	TagModel   uint64 = 17 // the model root
)

// Parameter tensor kinds, beside commit.KindActivations (1) and commit.KindLayer (2), bound
// into a parameter tensor's shape root (specs/model.md §4).
const (
	KindTable   = 3 // an int8 parameter matrix committed by rows: the embed and position tables
	KindColumns = 4 // int32 per-column parameters: norm gamma and beta
	KindWeights = 5 // a linear op's W rows with each column's bias and multiplier
)

// ModelVersion is word 0 of the model root's preimage.
const ModelVersion = 1

// expPerWord is the number of 16-bit exp-table entries packed into one descriptor word.
const expPerWord = 15

func i8w(v int8) fr.Element { return commit.Uint(uint64(int64(v) + 128)) }

func boolw(b bool) fr.Element {
	if b {
		return commit.Uint(1)
	}
	return commit.Uint(0)
}

// Descriptors validates the model and returns every op's descriptor, in op order.
func (m *Model) Descriptors() ([][]fr.Element, error) {
	shapes, err := m.Shapes()
	if err != nil {
		return nil, err
	}
	out := make([][]fr.Element, len(m.Ops))
	var ranks [NumKinds + 1]int
	for i := range m.Ops {
		k := m.Ops[i].Kind
		out[i] = descriptor(&m.Ops[i], i, shapes, ranks[k])
		ranks[k]++
	}
	return out, nil
}

// KindCounts returns n_k, the number of ops of each kind k = 1..NumKinds (index 0 unused).
func (m *Model) KindCounts() [NumKinds + 1]int {
	var n [NumKinds + 1]int
	for i := range m.Ops {
		n[m.Ops[i].Kind]++
	}
	return n
}

// OpOfRank returns the index of the r-th op of kind k (the op whose descriptor word 26 is r),
// or -1.
func (m *Model) OpOfRank(k Kind, r int) int {
	for i := range m.Ops {
		if m.Ops[i].Kind == k {
			if r == 0 {
				return i
			}
			r--
		}
	}
	return -1
}

// Rank returns op i's rank among the ops of its kind (descriptor word 26).
func (m *Model) Rank(i int) int {
	r := 0
	for t := range i {
		if m.Ops[t].Kind == m.Ops[i].Kind {
			r++
		}
	}
	return r
}

// Descriptor validates the model and returns op i's descriptor.
func (m *Model) Descriptor(i int) ([]fr.Element, error) {
	if i < 0 || i >= len(m.Ops) {
		return nil, fmt.Errorf("descriptor: op %d not in [0, %d)", i, len(m.Ops))
	}
	shapes, err := m.Shapes()
	if err != nil {
		return nil, err
	}
	return descriptor(&m.Ops[i], i, shapes, m.Rank(i)), nil
}

// descriptor is §3's layout for a validated op: header words 0..6, then the kind's parameters
// from word 7, zeros, and the rank in the last word.
func descriptor(op *Op, i int, shapes []Shape, rank int) []fr.Element {
	d := make([]fr.Element, DescriptorWidth)
	d[rankWord] = commit.Uint(uint64(rank))
	d[0] = commit.Uint(uint64(op.Kind))
	d[1] = commit.Uint(uint64(i + 1))
	d[2] = commit.Uint(uint64(shapes[i+1].Width))
	for k, id := range op.In {
		d[3+2*k] = commit.Uint(uint64(id))
		d[4+2*k] = commit.Uint(uint64(shapes[id].Width))
	}
	p := d[7:]
	switch op.Kind {
	case KindEmbed, KindPosition:
		p[0] = commit.Uint(uint64(op.Weight.Shape[0]))
		p[1] = ParamRoot(op)
	case KindLinear:
		p[0] = epilogueWord(op)
		p[1] = ParamRoot(op)
	case KindMatmul:
		p[0] = epilogueWord(op)
		p[1], p[2], p[3], p[4] = i8w(op.ZeroA), i8w(op.ZeroB), boolw(op.TransB), boolw(op.Causal)
	case KindSoftmax:
		p[0] = boolw(op.Causal)
		for q := range (256 + expPerWord - 1) / expPerWord {
			var w fr.Element
			for r := expPerWord - 1; r >= 0; r-- {
				// Horner in 2^16: entry 15q+r is bits [16r, 16r+16) of word q.
				w.Mul(&w, &two16)
				if k := q*expPerWord + r; k < 256 {
					e := commit.Uint(uint64(op.Exp[k]))
					w.Add(&w, &e)
				}
			}
			p[1+q] = w
		}
	case KindLayerNorm, KindRMSNorm:
		p[0], p[1], p[2] = commit.Uint(uint64(op.Shift)), commit.Uint(uint64(op.Eps)), ParamRoot(op)
		if op.Kind == KindRMSNorm {
			p[3] = i8w(op.ZeroX)
		}
	case KindLUT:
		copy(p, commit.PackRow(op.Weight.Data))
	case KindAdd:
		p[0], p[1], p[2], p[3] = i8w(op.ZeroA), i8w(op.ZeroB), commit.Uint(uint64(op.MulA)), commit.Uint(uint64(op.MulB))
		p[4], p[5] = commit.Uint(uint64(op.Shift)), i8w(op.ZeroOut)
	case KindMul:
		p[0], p[1], p[2] = i8w(op.ZeroA), i8w(op.ZeroB), commit.Uint(uint64(op.Mul))
		p[3], p[4] = commit.Uint(uint64(op.Shift)), i8w(op.ZeroOut)
	case KindSlice:
		p[0] = commit.Uint(uint64(op.Offset))
	}
	return d
}

var two16 = commit.Uint(1 << 16)

func epilogueWord(op *Op) fr.Element {
	var e fr.Element
	e.SetBigInt(op.Epilogue.Word())
	return e
}

// ParamRoot returns the shape-bound root of the op's parameter tensor (specs/model.md §4):
// kind 5 for linear (W's rows with b and the multipliers), kind 3 for the embed and position
// tables, kind 4 for norm gamma and beta. Other kinds have no parameter tensor and get the
// zero element. The op must be valid.
func ParamRoot(op *Op) fr.Element {
	p := ParamTensor(op)
	if p == nil {
		return fr.Element{}
	}
	depth := commit.LayerDepth(p.Rows)
	return commit.ShapeRoot(p.Kind, p.Rows, p.Cols, depth, commit.Merkle(p.Leaves(), depth))
}

// Leaves are the parameter tree's leaf hashes S(LEAF; preimage of leaf j).
func (p *Params) Leaves() []fr.Element {
	leaves := make([]fr.Element, p.Rows)
	for j := range leaves {
		leaves[j] = commit.Hash(commit.TagLeaf, p.Leaf(j)...)
	}
	return leaves
}

// Params is an op's committed parameter tensor (specs/model.md §4): its kind, shape and the
// preimage of each leaf.
type Params struct {
	Kind, Rows, Cols int
	Leaf             func(j int) []fr.Element
}

// ParamTensor returns the op's parameter tensor, or nil for kinds without one.
func ParamTensor(op *Op) *Params {
	switch op.Kind {
	case KindLinear:
		N, K := op.Weight.Shape[0], op.Weight.Shape[1]
		return &Params{KindWeights, N, K, func(j int) []fr.Element {
			return LinearLeaf(op.Weight.Data[j*K:(j+1)*K], op.Bias.Data[j], op.Scales.Data[j])
		}}
	case KindEmbed, KindPosition:
		V, D := op.Weight.Shape[0], op.Weight.Shape[1]
		return &Params{KindTable, V, D, func(v int) []fr.Element { return commit.PackRow(op.Weight.Data[v*D : (v+1)*D]) }}
	case KindLayerNorm, KindRMSNorm:
		return &Params{KindColumns, op.Gamma.Shape[0], 2, func(j int) []fr.Element {
			return []fr.Element{commit.BiasElement(op.Gamma.Data[j]), commit.BiasElement(op.Beta.Data[j])}
		}}
	}
	return nil
}

// LinearLeaf is the preimage of a linear op's column-j leaf (specs/model.md §4):
// pack(W[j]), b[j] + 2^31, m[j]; one sample of column j opens exactly this.
func LinearLeaf(w []int8, b, m int32) []fr.Element {
	return append(commit.PackRow(w), commit.BiasElement(b), commit.Uint(uint64(m)))
}

// OpLeaves are the op tree's leaves, one per descriptor.
func OpLeaves(descs [][]fr.Element) []fr.Element {
	leaves := make([]fr.Element, len(descs))
	for i, d := range descs {
		leaves[i] = OpLeaf(d)
	}
	return leaves
}

// OpLeaf is S(MODEL_OP; descriptor).
func OpLeaf(desc []fr.Element) fr.Element { return commit.Hash(TagModelOp, desc...) }

// Root validates the model and returns its model root (specs/model.md §4):
// S(MODEL; version, input dtype, input width, L, d, T, n_1..n_13) over the op tree of depth
// d = ceil(log2 L) whose leaf i is S(MODEL_OP; descriptor of op i), with n_k the number of
// ops of kind k (a circuit derives "the r-th op of kind k" from them).
func (m *Model) Root() (fr.Element, error) {
	descs, err := m.Descriptors()
	if err != nil {
		return fr.Element{}, err
	}
	return m.RootOf(descs), nil
}

// RootOf is Root from descriptors already computed (m.Descriptors()), so a caller that needs
// both hashes the parameters once.
func (m *Model) RootOf(descs [][]fr.Element) fr.Element {
	leaves := OpLeaves(descs)
	depth := commit.LayerDepth(len(leaves))
	pre := []fr.Element{commit.Uint(ModelVersion), commit.Uint(uint64(m.Input.DType)), commit.Uint(uint64(m.Input.Width)),
		commit.Uint(uint64(len(leaves))), commit.Uint(uint64(depth)), commit.Merkle(leaves, depth)}
	n := m.KindCounts()
	for k := 1; k <= NumKinds; k++ {
		pre = append(pre, commit.Uint(uint64(n[k])))
	}
	return commit.Hash(TagModel, pre...)
}

// paramTensors lists the op's parameter tensors under their file names (specs/model.md §5).
func (op *Op) paramTensors() []namedTensor {
	switch op.Kind {
	case KindEmbed, KindLUT, KindPosition:
		return []namedTensor{{"table", op.Weight}}
	case KindLinear:
		return []namedTensor{{"weight", op.Weight}, {"bias", op.Bias}, {"multiplier", op.Scales}}
	case KindSoftmax:
		t := &tensor.Int32{Shape: []int{256}, Data: make([]int32, 256)}
		if op.Exp != nil {
			copy(t.Data, op.Exp[:])
		}
		return []namedTensor{{"table", t}}
	case KindLayerNorm, KindRMSNorm:
		return []namedTensor{{"gamma", op.Gamma}, {"beta", op.Beta}}
	}
	return nil
}

type namedTensor struct {
	name string
	t    any // *tensor.Int8 or *tensor.Int32
}
