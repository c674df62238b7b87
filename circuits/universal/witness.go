package universal

import (
	"errors"
	"fmt"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/consensys/gnark/frontend"

	"github.com/probitylabs/probity/commit"
	"github.com/probitylabs/probity/jobs"
	"github.com/probitylabs/probity/model"
)

// ErrClass reports a job that does not fit a class's limits.
var ErrClass = errors.New("job does not fit the class")

// Statement is what one proof is about: a checked generation job, its trace and tokens, and
// the challenge seed.
type Statement struct {
	Model  *model.Model
	Job    *jobs.GenJob
	Trace  *model.Trace
	Tokens []int32
	Seed   fr.Element
}

// Public returns the five public inputs in circuit order: model root, job digest, trace root,
// result digest, seed.
func (st *Statement) Public() ([5]fr.Element, error) {
	src, err := newSource(st.Model, st.Trace)
	if err != nil {
		return [5]fr.Element{}, err
	}
	return st.public(src)
}

func (st *Statement) public(src *source) ([5]fr.Element, error) {
	jd, err := st.Job.Digest()
	if err != nil {
		return [5]fr.Element{}, err
	}
	rd, err := jobs.ResultDigest(st.Tokens)
	if err != nil {
		return [5]fr.Element{}, err
	}
	return [5]fr.Element{src.modelRoot, jd, jobs.TraceRoot(jd, st.Trace.T, src.roots), rd, st.Seed}, nil
}

// Fits reports whether the job's model and trace are within the class's limits, naming the
// first limit exceeded.
func (cl *Class) Fits(m *model.Model, T int, j *jobs.GenJob) error {
	if j.Select.Sample {
		return fmt.Errorf("%w: %s proves argmax jobs only (circuit.md §6)", ErrClass, cl.Name)
	}
	return cl.fitsModel(m, T)
}

// fitsModel checks the model's and the trace's limits (Fits without the job's selection).
func (cl *Class) fitsModel(m *model.Model, T int) error {
	if err := cl.Validate(); err != nil {
		return err
	}
	if T > cl.MaxRows() {
		return fmt.Errorf("%w: %d rows, %s takes at most %d", ErrClass, T, cl.Name, cl.MaxRows())
	}
	if len(m.Ops)+1 > 1<<cl.OpDepth {
		return fmt.Errorf("%w: %d ops, %s takes at most %d", ErrClass, len(m.Ops), cl.Name, 1<<cl.OpDepth-1)
	}
	shapes, err := m.Shapes()
	if err != nil {
		return err
	}
	for id, sh := range shapes {
		w := sh.Width
		if w == 0 {
			w = T
		}
		if w > cl.Width() {
			return fmt.Errorf("%w: tensor %d has width %d, %s takes at most %d", ErrClass, id, w, cl.Name, cl.Width())
		}
	}
	counts := m.KindCounts()
	// A kind the class samples and the model lacks has its slots off, each holding the dummy
	// model's op of that kind (dummy.go). The sampled circuit of version 2 opens that op and
	// its result against the job's op and trace trees, so their depths must reach the dummy
	// op's index: a smaller model is not provable there, and is refused here before anything
	// is locked (circuit.md §6).
	dummy := dummyModel(max(T, 1))
	dOp, dTr := commit.LayerDepth(len(m.Ops)), commit.LayerDepth(len(m.Ops)+1)
	for k := 1; k <= model.NumKinds; k++ {
		if counts[k] > 0 && cl.Slots[k] == 0 {
			return fmt.Errorf("%w: the model has %d %s ops and %s no %s slot to check them", ErrClass, counts[k], model.Kind(k), cl.Name, model.Kind(k))
		}
		if u := dummy.OpOfRank(model.Kind(k), 0); counts[k] == 0 && cl.Slots[k] > 0 && (u >= 1<<dOp || u+1 >= 1<<dTr) {
			return fmt.Errorf("%w: the model has no %s op and %d ops in all; %s samples %s, and its off slot needs a model of at least %d ops (circuit.md §6)",
				ErrClass, model.Kind(k), len(m.Ops), cl.Name, model.Kind(k), minOpsFor(u))
		}
	}
	for i := range m.Ops {
		if w := shapes[m.Ops[i].In[0]].Width; m.Ops[i].Kind == model.KindSoftmax && w != 0 && w > cl.softmaxWidth() {
			return fmt.Errorf("%w: softmax op %d has rows of %d, %s takes at most %d", ErrClass, i, w, cl.Name, cl.softmaxWidth())
		}
		if p := model.ParamTensor(&m.Ops[i]); p != nil && p.Rows > 1<<cl.ParamDepth {
			return fmt.Errorf("%w: op %d's parameters have %d rows, %s takes at most %d", ErrClass, i, p.Rows, cl.Name, 1<<cl.ParamDepth)
		}
	}
	return nil
}

// minOpsFor is the fewest ops whose op tree reaches index u and whose trace tree reaches
// tensor u + 1.
func minOpsFor(u int) int {
	L := 1
	for u >= 1<<commit.LayerDepth(L) || u+1 >= 1<<commit.LayerDepth(L+1) {
		L++
	}
	return L
}

// source is one model and trace with every tree a slot opens, built once.
type source struct {
	m         *model.Model
	tr        *model.Trace
	descs     [][]fr.Element
	opTree    *commit.Tree
	modelRoot fr.Element
	counts    [model.NumKinds + 1]int
	roots     []jobs.TensorRoots
	tensors   *commit.Tree
	trees     []jobs.TensorTrees   // by tensor id
	params    map[int]*commit.Tree // by op index
}

func newSource(m *model.Model, tr *model.Trace) (*source, error) {
	descs, err := m.Descriptors()
	if err != nil {
		return nil, err
	}
	trees, err := jobs.CommitTraceTrees(m, tr)
	if err != nil {
		return nil, err
	}
	roots := make([]jobs.TensorRoots, len(trees))
	for t := range trees {
		roots[t] = trees[t].Roots
	}
	leaves := model.OpLeaves(descs)
	tl := jobs.TensorLeaves(roots)
	return &source{m: m, tr: tr, descs: descs, modelRoot: m.RootOf(descs), counts: m.KindCounts(), roots: roots, trees: trees,
		opTree:  commit.NewLeafTree(leaves, commit.LayerDepth(len(leaves))),
		tensors: commit.NewLeafTree(tl, commit.LayerDepth(len(tl))),
		params:  map[int]*commit.Tree{}}, nil
}

// colTree returns the column tree of tensor id, which a P·V matmul reads by columns.
func (s *source) colTree(id int) (*commit.Tree, error) {
	if t := s.trees[id].Col; t != nil {
		return t, nil
	}
	return nil, fmt.Errorf("trace tensor %d has no column commitment", id)
}

func (s *source) paramTree(op int) *commit.Tree {
	if t, ok := s.params[op]; ok {
		return t
	}
	p := model.ParamTensor(&s.m.Ops[op])
	t := commit.NewLeafTree(p.Leaves(), commit.LayerDepth(p.Rows))
	s.params[op] = t
	return t
}

// opOfRank returns the index of the r-th op of kind k.
func (s *source) opOfRank(k model.Kind, r int) int { return s.m.OpOfRank(k, r) }

func (s *source) width(code int) int {
	if code == 0 {
		return s.tr.T
	}
	return code
}

// Assign builds the full assignment of class cl for a statement. The job must have been
// checked (jobs.GenJob.Check) and the trace and tokens must be the job's (jobs.Checked.
// CheckTrace): Assign does not recheck them, and a wrong trace gives an unsatisfiable witness.
func Assign(cl *Class, st *Statement) (*Circuit, error) {
	m, tr := st.Model, st.Trace
	if err := cl.Fits(m, tr.T, st.Job); err != nil {
		return nil, err
	}
	src, err := newSource(m, tr)
	if err != nil {
		return nil, err
	}
	pub, err := st.public(src)
	if err != nil {
		return nil, err
	}
	c := New(cl)
	c.ModelRoot, c.JobDigest, c.TraceRoot, c.ResultDigest, c.Seed = pub[0], pub[1], pub[2], pub[3], pub[4]
	c.preimages = fillPreimages(cl, st, src)
	j := st.Job
	for si := range c.Inputs {
		if c.Inputs[si], err = inputAt(cl, src, drawRow(st.Seed, FamilyInput, si, tr.T)); err != nil {
			return nil, err
		}
	}
	for si := range c.Selects {
		if c.Selects[si], err = selectAt(cl, src, len(j.Prompt), drawRow(st.Seed, FamilySelect, si, j.New)); err != nil {
			return nil, err
		}
	}
	var dummy *source
	for k := 1; k <= model.NumKinds; k++ {
		from := src
		if src.counts[k] == 0 {
			if dummy == nil {
				if dummy, err = dummySource(tr.T); err != nil {
					return nil, err
				}
			}
			from = dummy
		}
		for si := range c.Ops[k] {
			if c.Ops[k][si], err = fillOpSlot(cl, from, model.Kind(k), si, st.Seed, src.counts[k]); err != nil {
				return nil, fmt.Errorf("slot %s/%d: %w", model.Kind(k), si, err)
			}
		}
	}
	return c, nil
}

// fillPreimages assigns the statement's preimages (circuit.md §1) for a job and its source.
func fillPreimages(cl *Class, st *Statement, src *source) preimages {
	m, tr, j := st.Model, st.Trace, st.Job
	p := newPreimages(cl)
	p.InDType, p.InWidth, p.L = int(m.Input.DType), m.Input.Width, len(m.Ops)
	p.ModelDepth, p.ModelTree = src.opTree.Depth(), src.opTree.TreeRoot()
	for k := 1; k <= model.NumKinds; k++ {
		p.Counts[k-1] = src.counts[k]
	}
	p.New, p.Sel, p.K, p.SampleSeed, p.P = j.New, 0, 0, 0, len(j.Prompt)
	for q := range p.Exp {
		p.Exp[q] = 0
	}
	fillWords(p.PromptWords, jobs.IDWords(j.Prompt))
	fillWords(p.ResultWords, jobs.IDWords(st.Tokens))
	p.T, p.TraceTree = tr.T, src.tensors.TreeRoot()
	p.Last = descAt(cl, src, len(m.Ops)-1)
	return p
}

// inputAt opens row r of the input tensor for an input slot.
func inputAt(cl *Class, s *source, r int) (inputSlot, error) {
	row, err := rowAt(cl, s, 0, r, cl.RowDepth)
	return inputSlot{Input: tensorAt(cl, s, 0), Row: row}, err
}

// selectAt opens the logits row P - 1 + q of step q for a select slot.
func selectAt(cl *Class, s *source, P, q int) (selectSlot, error) {
	L := len(s.m.Ops)
	row, err := rowAt(cl, s, L, P-1+q, cl.RowDepth)
	return selectSlot{Logits: tensorAt(cl, s, L), Row: row}, err
}

func fillWords(dst []frontend.Variable, w []fr.Element) {
	for q := range dst {
		dst[q] = 0
		if q < len(w) {
			dst[q] = w[q]
		}
	}
}

// path pads siblings with zeros to a capacity (levels above a tree's depth are unused).
func path(sib []fr.Element, n int) []frontend.Variable {
	out := make([]frontend.Variable, n)
	for h := range out {
		out[h] = 0
		if h < len(sib) {
			out[h] = sib[h]
		}
	}
	return out
}

func descAt(cl *Class, s *source, i int) descOpen {
	d := descOpen{Index: i, Desc: make([]frontend.Variable, model.DescriptorWidth), Path: path(s.opTree.Siblings(i), cl.OpDepth)}
	for w := range d.Desc {
		d.Desc[w] = s.descs[i][w]
	}
	return d
}

func tensorAt(cl *Class, s *source, id int) tensorOpen {
	return tensorOpen{Row: s.roots[id].Row, Col: s.roots[id].Col, Path: path(s.tensors.Siblings(id), cl.OpDepth)}
}

// rowAt opens row i of tensor id by rows: an I32 row is its one element v + 2^31, an I8 row
// its packed elements padded with zeros to the class's capacity.
func rowAt(cl *Class, s *source, id, i, depth int) (rowOpen, error) {
	t := s.trees[id].Row
	if v := s.tr.Tensors[id].I32; v != nil {
		return leafOpen([]fr.Element{commit.BiasElement(v.Data[i])}, 1, t.Siblings(i), depth), nil
	}
	return treeLeaf(t, i, cl.Elems, depth)
}

// treeLeaf opens leaf i of a committed tensor's tree.
func treeLeaf(t *commit.Tree, i, elems, depth int) (rowOpen, error) {
	o, err := t.Open(i)
	if err != nil {
		return rowOpen{}, err
	}
	return leafOpen(o.Leaf, elems, o.Siblings, depth), nil
}

// leafOpen is a rowOpen of elems elements (the leaf's, then zeros) and depth siblings.
func leafOpen(leaf []fr.Element, elems int, sib []fr.Element, depth int) rowOpen {
	r := rowOpen{Elems: make([]frontend.Variable, elems), Path: path(sib, depth)}
	for e := range r.Elems {
		r.Elems[e] = 0
		if e < len(leaf) {
			r.Elems[e] = leaf[e]
		}
	}
	return r
}
