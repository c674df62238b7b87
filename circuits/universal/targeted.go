package universal

import (
	"fmt"

	"github.com/consensys/gnark/constraint"
	"github.com/consensys/gnark/frontend"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/probitylabs/probity/circuits"
	"github.com/probitylabs/probity/circuits/gadgets"
	"github.com/probitylabs/probity/jobs"
	"github.com/probitylabs/probity/model"
)

// Targeted is the targeted mode of a class (specs/circuit.md §5): the answer to a challenge of
// one named element of a job. Its public inputs are the sampled circuit's model root, job
// digest, trace root and result digest, then the element word (jobs.Element.Word); it opens the
// same preimages (circuit.md §1) and has one slot per op kind, one input slot and one select
// slot, of which at most the one the element names is on. An element that names nothing in
// this job (past its ops, rows, columns or steps, or of kind 3) is provable with every slot
// off: the contract cannot tell such an element from a real one, and its challenger, not an
// honest provider, must lose.
type Targeted struct {
	ModelRoot    frontend.Variable `gnark:",public"`
	JobDigest    frontend.Variable `gnark:",public"`
	TraceRoot    frontend.Variable `gnark:",public"`
	ResultDigest frontend.Variable `gnark:",public"`
	Element      frontend.Variable `gnark:",public"`

	preimages

	Target descOpen   // op u's descriptor (op 0's when u >= L)
	Slots  []opSlot   // kinds 1..13 in order
	Input  inputSlot  // kind 1
	Select selectSlot // kind 2

	class *Class
}

// NewTargeted allocates the targeted circuit (or an assignment) of a class.
func NewTargeted(cl *Class) *Targeted {
	if err := cl.Validate(); err != nil {
		panic(err)
	}
	c := &Targeted{class: cl, preimages: newPreimages(cl), Target: newDesc(cl), Input: newInputSlot(cl), Select: newSelectSlot(cl)}
	for k := 1; k <= model.NumKinds; k++ {
		c.Slots = append(c.Slots, newOpSlot(cl, model.Kind(k)))
	}
	return c
}

// Define implements frontend.Circuit.
func (c *Targeted) Define(api frontend.API) error {
	cl := c.class
	s, err := c.open(api, cl, c.ModelRoot, c.JobDigest, c.TraceRoot, c.ResultDigest)
	if err != nil {
		return err
	}
	s.gateOff = true // every kind has a slot here, whatever the model holds
	// The element word's 98 bits: col, row, op (32 each) and the kind's two bits. The
	// decomposition is canonical (98 < 254 bits), so the fields are the word's.
	eb := toBits(api, c.Element, jobs.ElementBits)
	col, row, op := gadgets.FromBits(api, eb[0:32]), gadgets.FromBits(api, eb[32:64]), gadgets.FromBits(api, eb[64:96])
	k0, k1 := eb[96], eb[97]
	isOp := api.Mul(api.Sub(1, k0), api.Sub(1, k1))
	isInput := api.Mul(k0, api.Sub(1, k1))
	isToken := api.Mul(api.Sub(1, k0), k1)
	// Every bound (L, T, n, w_out) is below 2^32 and comes from the opened preimages, so the
	// 32-bit comparisons decide existence from the job itself: a prover cannot make a real
	// element look absent.

	// Kind 0: op u's result at (i, j). For u >= L op 0's descriptor stands in (every op slot
	// is then off).
	uIn := less(api, op, c.L, 32)
	u := api.Select(uIn, op, 0)
	s.openAnyDesc(u, &c.Target)
	api.AssertIsEqual(c.Target.Desc[1], api.Add(u, 1))
	wOut := s.width(c.Target.Desc[2])
	rowIn := less(api, row, c.T, 32) // an op's row or an input row
	opOn := api.Mul(isOp, uIn, rowIn, less(api, col, wOut, 32))
	kind := c.Target.Desc[0]
	var onSum frontend.Variable = 0
	for k := 1; k <= model.NumKinds; k++ {
		sl := &c.Slots[k-1]
		on := api.Mul(opOn, api.IsZero(api.Sub(kind, k)))
		onSum = api.Add(onSum, on)
		// The on slot checks the named op; an off slot its dummy instance at (0, 0).
		d := make([]frontend.Variable, len(sl.Op.Desc))
		for w := range d {
			d[w] = api.Select(on, c.Target.Desc[w], sl.Op.Desc[w])
		}
		i, j := api.Select(on, row, 0), api.Select(on, col, 0)
		ib := toBits(api, i, cl.RowDepth)
		jb := toBits(api, j, s.widthBits)
		// The tie row of a P·V element is its own row: a challenge of (u, t, j) also checks that
		// the value tensor's two commitments agree at (t, j).
		s.checkOp(model.Kind(k), sl, d, on, el{ib, i, jb, j, s.width(d[2]), ib})
	}
	api.AssertIsEqual(onSum, opOn) // an existing op has one of the 13 kinds

	// Kind 1: input row r, the sampled input slot's check; row 0 when off.
	inOn := api.Mul(isInput, rowIn)
	r := api.Select(inOn, row, 0)
	s.checkInput(inOn, r, toBits(api, r, cl.RowDepth), &c.Input)

	// Kind 2: token q, the sampled select slot's check; step 0 when off.
	tokOn := api.Mul(isToken, less(api, row, c.New, 32))
	s.checkSelect(tokOn, api.Select(tokOn, row, 0), &c.Select)
	return nil
}

// TargetedClass is a class's targeted circuit as a key-cache and ceremony target.
type TargetedClass struct{ *Class }

// TargetedVersion is the targeted statement's version, part of its identifier, so keys cached
// or registered for another version are never used with this circuit: version 2 has the
// public inputs of specs/circuit.md §5 (version 1, "-targeted", named op results by (op, row,
// col) and refused elements outside the trace); version 3 opens an off slot at index 0, so a
// model without every op kind and with fewer ops than the dummy model is answerable.
const TargetedVersion = 3

// String names the targeted circuit of the class.
func (t TargetedClass) String() string {
	return fmt.Sprintf("%s-targeted-v%d", t.Class.String(), TargetedVersion)
}

// ID is keccak256 of String().
func (t TargetedClass) ID() [32]byte { return crypto.Keccak256Hash([]byte(t.String())) }

// Compile compiles the targeted circuit.
func (t TargetedClass) Compile() (constraint.ConstraintSystem, error) {
	return circuits.CompilePlain(NewTargeted(t.Class), t.String())
}

// AssignTargeted builds the targeted assignment that answers element e of a job: the job (it
// must have been checked, jobs.GenJob.Check), its model, its committed trace and its tokens.
// Any element is answered, vacuous ones included (kind 3, or past the job's ops, rows,
// columns or steps: every slot off); an element the trace falsifies gives an unsatisfiable
// witness, which ProveTargeted reports.
func AssignTargeted(cl *Class, m *model.Model, tr *model.Trace, job *jobs.GenJob, tokens []int32, e jobs.Element) (*Targeted, error) {
	if e.Kind > jobs.ElementNone {
		return nil, fmt.Errorf("assign targeted: %w: kind %d", jobs.ErrElement, e.Kind)
	}
	if err := cl.Fits(m, tr.T, job); err != nil {
		return nil, err
	}
	src, err := newSource(m, tr)
	if err != nil {
		return nil, err
	}
	st := &Statement{Model: m, Job: job, Trace: tr, Tokens: tokens}
	pub, err := st.public(src)
	if err != nil {
		return nil, err
	}
	c := NewTargeted(cl)
	c.ModelRoot, c.JobDigest, c.TraceRoot, c.ResultDigest, c.Element = pub[0], pub[1], pub[2], pub[3], e.Word()
	c.preimages = fillPreimages(cl, st, src)

	L, T, P := len(m.Ops), tr.T, len(job.Prompt)
	u, i, j := int64(e.Op), int64(e.Row), int64(e.Col)
	// The circuit opens op u's descriptor whenever u < L, whatever the kind (op 0's otherwise),
	// and turns u's slot on when the element is of kind 0 and exists.
	target, desc := -1, 0
	if u < int64(L) {
		desc = int(u)
		w := src.width(int(src.descs[u][2].Uint64()))
		if e.Kind == jobs.ElementOp && i < int64(T) && j < int64(w) {
			target = int(u)
		}
	}
	c.Target = descAt(cl, src, desc)
	dummy, err := dummySource(T)
	if err != nil {
		return nil, err
	}
	for q := 1; q <= model.NumKinds; q++ {
		from, at := dummy, element{u: dummy.opOfRank(model.Kind(q), 0)}
		if target >= 0 && m.Ops[target].Kind == model.Kind(q) {
			from, at = src, element{u: target, i: int(i), j: int(j), tie: int(i)}
		}
		if c.Slots[q-1], err = fillAt(cl, from, model.Kind(q), at); err != nil {
			return nil, fmt.Errorf("slot %s: %w", model.Kind(q), err)
		}
	}
	r, q := 0, 0 // an off input slot holds row 0, an off select slot step 0: both exist
	if e.Kind == jobs.ElementInput && i < int64(T) {
		r = int(i)
	}
	if e.Kind == jobs.ElementToken && i < int64(job.New) {
		q = int(i)
	}
	if c.Input, err = inputAt(cl, src, r); err != nil {
		return nil, err
	}
	if c.Select, err = selectAt(cl, src, P, q); err != nil {
		return nil, err
	}
	return c, nil
}
