package universal

import (
	"fmt"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/consensys/gnark/constraint"
	"github.com/consensys/gnark/frontend"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/probitylabs/probity/circuits"
	"github.com/probitylabs/probity/jobs"
	"github.com/probitylabs/probity/model"
)

// Targeted is the targeted mode of a class (specs/circuit.md §5): a proof that one named
// element (op u, row i, column j) of a committed trace is what its op computes. Its public
// inputs are the model root, the trace root, u, i and j; it has one slot per op kind, of which
// exactly the kind of op u is on. A watcher who finds a wrong element names it, and the
// provider answers with this proof or cannot.
type Targeted struct {
	ModelRoot frontend.Variable `gnark:",public"`
	TraceRoot frontend.Variable `gnark:",public"`
	Op        frontend.Variable `gnark:",public"`
	Row       frontend.Variable `gnark:",public"`
	Col       frontend.Variable `gnark:",public"`

	InDType, InWidth, L, ModelDepth, ModelTree frontend.Variable
	Counts                                     []frontend.Variable
	JobDigest, T, TraceTree                    frontend.Variable
	Target                                     descOpen
	Slots                                      []opSlot // kinds 1..13 in order

	class *Class
}

// NewTargeted allocates the targeted circuit (or an assignment) of a class.
func NewTargeted(cl *Class) *Targeted {
	if err := cl.Validate(); err != nil {
		panic(err)
	}
	c := &Targeted{class: cl, Counts: make([]frontend.Variable, model.NumKinds), Target: newDesc(cl)}
	for k := 1; k <= model.NumKinds; k++ {
		c.Slots = append(c.Slots, newOpSlot(cl, model.Kind(k)))
	}
	return c
}

// Define implements frontend.Circuit.
func (c *Targeted) Define(api frontend.API) error {
	cl := c.class
	s, err := newStmt(api, cl, modelVars{c.ModelRoot, c.InDType, c.InWidth, c.L, c.ModelDepth, c.ModelTree, c.Counts},
		traceVars{c.TraceRoot, c.JobDigest, c.T, c.TraceTree})
	if err != nil {
		return err
	}

	// The named op's descriptor, from the model; its kind turns exactly one slot on.
	s.openAnyDesc(c.Op, &c.Target)
	api.AssertIsEqual(c.Target.Desc[1], api.Add(c.Op, 1))
	kind := c.Target.Desc[0]
	var onSum frontend.Variable = 0
	for k := 1; k <= model.NumKinds; k++ {
		sl := &c.Slots[k-1]
		on := api.IsZero(api.Sub(kind, k))
		onSum = api.Add(onSum, on)
		// The on slot checks the named op; an off slot its dummy instance at (0, 0).
		d := make([]frontend.Variable, len(sl.Op.Desc))
		for w := range d {
			d[w] = api.Select(on, c.Target.Desc[w], sl.Op.Desc[w])
		}
		wOut := s.width(d[2])
		i, j := api.Select(on, c.Row, 0), api.Select(on, c.Col, 0)
		ib := toBits(api, i, cl.RowDepth)
		jb := toBits(api, j, s.widthBits)
		s.eq(on, less(api, i, c.T, cl.RowDepth+1), 1)
		s.eq(on, less(api, j, wOut, s.widthBits+1), 1)
		// The tie row of a P·V element is its own row: a challenge of (u, t, j) also checks that
		// the value tensor's two commitments agree at (t, j).
		s.checkOp(model.Kind(k), sl, d, on, el{ib, i, jb, j, wOut, ib})
	}
	api.AssertIsEqual(onSum, 1) // the op has one of the 13 kinds
	return nil
}

// TargetedClass is a class's targeted circuit as a key-cache and ceremony target.
type TargetedClass struct{ *Class }

// String names the targeted circuit of the class.
func (t TargetedClass) String() string { return t.Class.String() + "-targeted" }

// ID is keccak256 of String().
func (t TargetedClass) ID() [32]byte { return crypto.Keccak256Hash([]byte(t.String())) }

// Compile compiles the targeted circuit.
func (t TargetedClass) Compile() (constraint.ConstraintSystem, error) {
	return circuits.CompilePlain(NewTargeted(t.Class), t.String())
}

// Challenge names one element of a committed trace: op u's result at (Row, Col).
type Challenge struct{ Op, Row, Col int }

// AssignTargeted builds the targeted assignment that answers a challenge for a committed
// trace of a job (its digest binds the trace root). The element must be one the honest trace
// has: a challenge outside the trace (an op, row or column that does not exist) is refused.
func AssignTargeted(cl *Class, m *model.Model, tr *model.Trace, jobDigest fr.Element, ch Challenge) (*Targeted, error) {
	if err := cl.fitsModel(m, tr.T); err != nil {
		return nil, err
	}
	src, err := newSource(m, tr)
	if err != nil {
		return nil, err
	}
	if ch.Op < 0 || ch.Op >= len(m.Ops) || ch.Row < 0 || ch.Row >= tr.T {
		return nil, fmt.Errorf("challenge %+v: no such element in %d ops x %d rows", ch, len(m.Ops), tr.T)
	}
	k := m.Ops[ch.Op].Kind
	w := src.width(int(src.descs[ch.Op][2].Uint64()))
	if ch.Col < 0 || ch.Col >= w {
		return nil, fmt.Errorf("challenge %+v: op %d has %d columns", ch, ch.Op, w)
	}
	c := NewTargeted(cl)
	c.ModelRoot, c.TraceRoot = src.modelRoot, jobs.TraceRoot(jobDigest, tr.T, src.roots)
	c.Op, c.Row, c.Col = ch.Op, ch.Row, ch.Col
	c.InDType, c.InWidth, c.L = int(m.Input.DType), m.Input.Width, len(m.Ops)
	c.ModelDepth, c.ModelTree = src.opTree.Depth(), src.opTree.TreeRoot()
	for q := 1; q <= model.NumKinds; q++ {
		c.Counts[q-1] = src.counts[q]
	}
	c.JobDigest, c.T, c.TraceTree = jobDigest, tr.T, src.tensors.TreeRoot()
	c.Target = descAt(cl, src, ch.Op)
	dummy, err := dummySource(tr.T)
	if err != nil {
		return nil, err
	}
	for q := 1; q <= model.NumKinds; q++ {
		from, at := dummy, element{u: dummy.opOfRank(model.Kind(q), 0)}
		if model.Kind(q) == k {
			from, at = src, element{u: ch.Op, i: ch.Row, j: ch.Col, tie: ch.Row}
		}
		if c.Slots[q-1], err = fillAt(cl, from, model.Kind(q), at); err != nil {
			return nil, fmt.Errorf("slot %s: %w", model.Kind(q), err)
		}
	}
	return c, nil
}
