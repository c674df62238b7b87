package universal

import (
	"github.com/consensys/gnark/frontend"
	"github.com/consensys/gnark/std/math/bits"

	"github.com/probitylabs/probity/circuits/gadgets"
	"github.com/probitylabs/probity/circuits/opcheck"
	"github.com/probitylabs/probity/jobs"
	"github.com/probitylabs/probity/model"
)

const (
	tagModel   = model.TagModel
	tagModelOp = model.TagModelOp
	expWords   = 18 // softmax-packed exp-table words of the job digest (trace.md §1.3)
)

// Circuit is the universal sampled statement of specs/circuit.md for one class. The public
// inputs are, in this order, the model root, the job digest, the trace root, the result digest
// and the challenge seed; everything else is private and bound to them through their
// preimages.
type Circuit struct {
	ModelRoot    frontend.Variable `gnark:",public"`
	JobDigest    frontend.Variable `gnark:",public"`
	TraceRoot    frontend.Variable `gnark:",public"`
	ResultDigest frontend.Variable `gnark:",public"`
	Seed         frontend.Variable `gnark:",public"`

	preimages

	Ops     [][]opSlot // by kind, 1..13 (index 0 unused)
	Inputs  []inputSlot
	Selects []selectSlot

	class *Class
}

// preimages are the private preimages of the public model root, job digest, trace root and
// result digest (circuit.md §1), and the last op's descriptor: the statement both the sampled
// and the targeted circuit open (§1, §5). Embedded, its fields are walked by gnark in place, so
// the sampled circuit's witness layout is the one it had before the targeted mode shared them.
type preimages struct {
	// model root preimage (model.md §4)
	InDType, InWidth, L, ModelDepth, ModelTree frontend.Variable
	Counts                                     []frontend.Variable // n_1..n_13
	// job digest preimage (trace.md §1.3)
	New, Sel, K, SampleSeed frontend.Variable
	Exp                     []frontend.Variable // 18 words
	P                       frontend.Variable
	PromptWords             []frontend.Variable
	// trace root preimage (trace.md §5) and the result (trace.md §4)
	T, TraceTree frontend.Variable
	ResultWords  []frontend.Variable
	// the last op's descriptor: the logits' width
	Last descOpen
}

func newPreimages(cl *Class) preimages {
	return preimages{
		Counts:      make([]frontend.Variable, model.NumKinds),
		Exp:         make([]frontend.Variable, expWords),
		PromptWords: make([]frontend.Variable, cl.promptWords()),
		ResultWords: make([]frontend.Variable, cl.promptWords()),
		Last:        newDesc(cl),
	}
}

// inputSlot opens one row of the input tensor.
type inputSlot struct {
	Input tensorOpen
	Row   rowOpen
}

// selectSlot opens one row of the logits.
type selectSlot struct {
	Logits tensorOpen
	Row    rowOpen
}

// New allocates the circuit (or an assignment) of a class; the class must be valid.
func New(cl *Class) *Circuit {
	if err := cl.Validate(); err != nil {
		panic(err)
	}
	c := &Circuit{class: cl, preimages: newPreimages(cl), Ops: make([][]opSlot, model.NumKinds+1)}
	for k := 1; k <= model.NumKinds; k++ {
		for range cl.Slots[k] {
			c.Ops[k] = append(c.Ops[k], newOpSlot(cl, model.Kind(k)))
		}
	}
	for range cl.Slots[FamilyInput] {
		c.Inputs = append(c.Inputs, newInputSlot(cl))
	}
	for range cl.Slots[FamilySelect] {
		c.Selects = append(c.Selects, newSelectSlot(cl))
	}
	return c
}

func newInputSlot(cl *Class) inputSlot { return inputSlot{newTensor(cl), newRow(1, cl.RowDepth)} }
func newSelectSlot(cl *Class) selectSlot {
	return selectSlot{newTensor(cl), newRow(cl.Elems, cl.RowDepth)}
}

func newTensor(cl *Class) tensorOpen {
	return tensorOpen{Path: make([]frontend.Variable, cl.OpDepth)}
}

func newRow(elems, depth int) rowOpen {
	return rowOpen{Elems: make([]frontend.Variable, elems), Path: make([]frontend.Variable, depth)}
}

func newDesc(cl *Class) descOpen {
	return descOpen{Desc: make([]frontend.Variable, model.DescriptorWidth), Path: make([]frontend.Variable, cl.OpDepth)}
}

// Define implements frontend.Circuit.
func (c *Circuit) Define(api frontend.API) error {
	s, err := c.open(api, c.class, c.ModelRoot, c.JobDigest, c.TraceRoot, c.ResultDigest)
	if err != nil {
		return err
	}
	for si := range c.Inputs {
		c.input(s, si)
	}
	for si := range c.Selects {
		c.selectToken(s, si)
	}
	for k := 1; k <= model.NumKinds; k++ {
		for si := range c.Ops[k] {
			c.opSlot(s, model.Kind(k), si)
		}
	}
	return nil
}

// open checks the statement of circuit.md §1 against the four public digests and returns the
// slots' context, with the job's prompt, tokens and vocabulary.
func (p *preimages) open(api frontend.API, cl *Class, modelRoot, jobDigest, traceRoot, resultDigest frontend.Variable) (*stmt, error) {
	s, err := newStmt(api, cl, modelVars{modelRoot, p.InDType, p.InWidth, p.L, p.ModelDepth, p.ModelTree, p.Counts},
		traceVars{traceRoot, jobDigest, p.T, p.TraceTree})
	if err != nil {
		return nil, err
	}
	sp := s.sp
	api.AssertIsEqual(p.InDType, 1) // a generation job's input is token ids

	// The job digest binds the prompt, n and the selection (trace.md §1.3). Only argmax jobs
	// are proved by this version of the circuit (circuit.md §6).
	prompt, pMask := s.ids(p.PromptWords, p.P)
	jw := append([]frontend.Variable{jobs.TraceVersion, modelRoot, p.New, p.Sel, p.K, p.SampleSeed}, p.Exp...)
	jw = append(jw, p.P)
	jm := ones(len(jw))
	api.AssertIsEqual(jobDigest, sp.VarHash(jobs.TagJob, append(jw, p.PromptWords...), append(jm, pMask...)))
	api.AssertIsEqual(p.Sel, 0)
	// The job's rows: T = P + n - 1.
	api.AssertIsEqual(p.T, api.Sub(api.Add(p.P, p.New), 1))

	// The result: n tokens, canonical (trace.md §4).
	tokens, rMask := s.ids(p.ResultWords, p.New)
	api.AssertIsEqual(resultDigest, sp.VarHash(jobs.TagResult, append([]frontend.Variable{p.New}, p.ResultWords...), append(ones(1), rMask...)))

	// The logits are the last op's result; its descriptor gives their width.
	s.openAnyDesc(p.Last.Index, &p.Last)
	api.AssertIsEqual(p.Last.Index, api.Sub(p.L, 1))
	s.job = jobStmt{P: p.P, n: p.New, L: p.L, vocab: p.Last.Desc[2], prompt: prompt, tokens: tokens}
	return s, nil
}

// modelVars is the model root's preimage (model.md §4), traceVars the trace root's (trace.md §5).
type (
	modelVars struct {
		root, dtype, width, L, depth, tree frontend.Variable
		counts                             []frontend.Variable
	}
	traceVars struct{ root, jobDigest, T, tree frontend.Variable }
)

// newStmt checks the preimages both statements share, the model root and the trace root (its
// L + 1 tensors, and every tree of the canonical depth), and returns the slots' context.
func newStmt(api frontend.API, cl *Class, m modelVars, t traceVars) (*stmt, error) {
	sp, err := gadgets.NewSponge(api)
	if err != nil {
		return nil, err
	}
	s := &stmt{api: api, sp: sp, cl: cl, T: t.T, modelTree: m.tree, dM: m.depth, traceTree: t.tree}
	s.widthBits = bitLen(cl.Width())
	s.colDepth = s.widthBits
	pre := []frontend.Variable{model.ModelVersion, m.dtype, m.width, m.L, m.depth, m.tree}
	api.AssertIsEqual(m.root, sp.Hash(tagModel, append(pre, m.counts...)...))
	s.dT, _ = ceilLog2(api, t.T, cl.RowDepth)
	tensors := api.Add(m.L, 1)
	s.dTr, _ = ceilLog2(api, tensors, cl.OpDepth)
	api.AssertIsEqual(t.root, sp.Hash(jobs.TagTrace, jobs.TraceVersion, t.jobDigest, t.T, tensors, s.dTr, t.tree))
	return s, nil
}

// ids decomposes words of ten 24-bit ids (trace.md §1.3, §4) and checks that exactly the first
// n ids may be nonzero, so the words are the canonical packing of n ids. It returns the ids and
// the mask of the ceil(n/10) words.
func (s *stmt) ids(words []frontend.Variable, n frontend.Variable) ([]frontend.Variable, []frontend.Variable) {
	api := s.api
	in := opcheck.Prefix(api, n, 10*len(words))
	var ids []frontend.Variable
	for _, w := range words {
		b := bits.ToBinary(api, w, bits.WithNbDigits(240))
		for r := range 10 {
			ids = append(ids, bits.FromBinary(api, b[24*r:24*r+24], bits.WithUnconstrainedInputs()))
		}
	}
	for t, id := range ids {
		api.AssertIsEqual(api.Mul(id, api.Sub(1, in[t])), 0)
	}
	mask := make([]frontend.Variable, len(words))
	for q := range words {
		mask[q] = in[10*q]
	}
	return ids, mask
}

// slotBits returns the canonical bits of h = S(SLOT; seed, f, s), whose four words the
// slot reduces (circuit.md §3).
func (s *stmt) slotBits(seed frontend.Variable, f, si int) []frontend.Variable {
	h := s.sp.Hash(TagSlot, seed, f, si)
	return bits.ToBinary(s.api, h) // all 254 bits, with the h < r check
}

func word(b []frontend.Variable, q int) []frontend.Variable { return b[64*q : min(64*q+64, len(b))] }

// input draws the row of input slot si.
func (c *Circuit) input(s *stmt, si int) {
	hb := s.slotBits(c.Seed, FamilyInput, si)
	rb := gadgets.ModVar(s.api, word(hb, 1), c.T, s.cl.RowDepth)
	s.checkInput(1, gadgets.FromBits(s.api, rb), rb, &c.Inputs[si])
}

// checkInput checks row r < T (bits rb) of the input tensor when on: a prompt id for r < P,
// else generated token r - P (trace.md §2).
func (s *stmt) checkInput(on, r frontend.Variable, rb []frontend.Variable, sl *inputSlot) {
	api, cl, j := s.api, s.cl, &s.job
	s.openTensor(on, 0, &sl.Input)
	v := s.openID(on, sl.Input.Row, rb, &sl.Row)
	inPrompt := less(api, r, j.P, cl.RowDepth+1)
	want := api.Select(inPrompt, opcheck.Pick(api, j.prompt, r), opcheck.Pick(api, j.tokens, api.Select(inPrompt, 0, api.Sub(r, j.P))))
	s.eqOn(on, v, want)
}

// selectToken draws the step of select slot si.
func (c *Circuit) selectToken(s *stmt, si int) {
	hb := s.slotBits(c.Seed, FamilySelect, si)
	qb := gadgets.ModVar(s.api, word(hb, 1), c.New, s.cl.RowDepth)
	s.checkSelect(1, gadgets.FromBits(s.api, qb), &c.Selects[si])
}

// checkSelect checks generated token q < n against logits row P - 1 + q when on (trace.md §3,
// argmax). The argmax itself is not gated: an off slot holds a row and token that satisfy it.
func (s *stmt) checkSelect(on, q frontend.Variable, sl *selectSlot) {
	api, cl, j := s.api, s.cl, &s.job
	row := api.Sub(api.Add(j.P, q), 1)
	s.openTensor(on, j.L, &sl.Logits)
	x := s.openRow(on, sl.Logits.Row, toBits(api, row, cl.RowDepth), j.vocab, &sl.Row)
	opcheck.Argmax(api, x, opcheck.Pick(api, j.tokens, q))
}

func ones(n int) []frontend.Variable {
	o := make([]frontend.Variable, n)
	for i := range o {
		o[i] = 1
	}
	return o
}

// bitLen is the number of bits of n-1 ... i.e. ceil(log2 n) for n >= 1.
func bitLen(n int) int {
	d := 0
	for 1<<d < n {
		d++
	}
	return d
}

// openAnyDesc checks descriptor o against the op tree at index idx, whatever its kind.
func (s *stmt) openAnyDesc(idx frontend.Variable, o *descOpen) {
	leaf := s.sp.Hash(tagModelOp, o.Desc...)
	ib := toBits(s.api, idx, s.cl.OpDepth)
	s.api.AssertIsEqual(s.modelTree, gadgets.VarMerkleRoot(s.api, s.sp, leaf, ib, o.Path, s.dM))
}
