package universal

// Malicious-prover tests: each starts from an honest assignment (Assign) and changes one part
// of the witness to a consistent lie (the public inputs recomputed from the changed preimages
// where the lie needs it), which the circuit must reject. Each lie is rejected by exactly one
// constraint of the circuit, so that deleting that constraint (internal/cmd/mutate,
// docs/circuits.md "Mutation testing") makes the test fail.

import (
	"math/big"
	"sync"
	"testing"

	"github.com/consensys/gnark-crypto/ecc"
	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/consensys/gnark/constraint"
	"github.com/consensys/gnark/constraint/solver"
	"github.com/consensys/gnark/frontend"
	"github.com/consensys/gnark/frontend/cs/r1cs"
	"github.com/consensys/gnark/std/math/bits"
	"github.com/consensys/gnark/test"

	"github.com/probitylabs/probity/commit"
	"github.com/probitylabs/probity/jobs"
	"github.com/probitylabs/probity/model"
	"github.com/probitylabs/probity/model/modeltest"
	"github.com/probitylabs/probity/protocol"
	"github.com/probitylabs/probity/tensor"
)

// fe reads an assigned value as a field element.
func fe(t testing.TB, v frontend.Variable) fr.Element {
	t.Helper()
	var e fr.Element
	if _, err := e.SetInterface(v); err != nil {
		t.Fatalf("assigned value %v: %v", v, err)
	}
	return e
}

func feInt(t testing.TB, v frontend.Variable) int {
	t.Helper()
	e := fe(t, v)
	return int(e.Uint64())
}

func fes(t testing.TB, vs []frontend.Variable) []fr.Element {
	out := make([]fr.Element, len(vs))
	for i, v := range vs {
		out[i] = fe(t, v)
	}
	return out
}

// Which public inputs reseal keeps as they are.
const (
	keepModel = 1 << iota
	keepJob
	keepTrace
	keepResult
)

// reseal recomputes the public digests from the assignment's preimages (circuit.md §1), in
// dependency order (model root, job digest, trace root; result digest), except those in keep:
// a lie in a preimage then reaches only the constraint that checks the public input against it.
func reseal(t testing.TB, a *Circuit, keep int) {
	t.Helper()
	u := commit.Uint
	if keep&keepModel == 0 {
		pre := []fr.Element{u(model.ModelVersion), fe(t, a.InDType), fe(t, a.InWidth), fe(t, a.L), fe(t, a.ModelDepth), fe(t, a.ModelTree)}
		a.ModelRoot = commit.Hash(tagModel, append(pre, fes(t, a.Counts)...)...)
	}
	if keep&keepJob == 0 {
		jw := []fr.Element{u(jobs.TraceVersion), fe(t, a.ModelRoot), fe(t, a.New), fe(t, a.Sel), fe(t, a.K), fe(t, a.SampleSeed)}
		jw = append(append(jw, fes(t, a.Exp)...), fe(t, a.P))
		jw = append(jw, fes(t, a.PromptWords[:(feInt(t, a.P)+9)/10])...)
		a.JobDigest = commit.Hash(jobs.TagJob, jw...)
	}
	if keep&keepTrace == 0 {
		L := feInt(t, a.L)
		a.TraceRoot = commit.Hash(jobs.TagTrace, u(jobs.TraceVersion), fe(t, a.JobDigest), fe(t, a.T), u(uint64(L+1)), u(uint64(bitLen(L+1))), fe(t, a.TraceTree))
	}
	if keep&keepResult == 0 {
		n := feInt(t, a.New)
		a.ResultDigest = commit.Hash(jobs.TagResult, append([]fr.Element{u(uint64(n))}, fes(t, a.ResultWords[:(n+9)/10])...)...)
	}
}

func isSolved(cl *Class, a *Circuit) error {
	return test.IsSolved(New(cl), a, ecc.BN254.ScalarField())
}

// assigned is the honest assignment of st in the test class.
func assigned(t *testing.T, st *Statement) *Circuit {
	t.Helper()
	a, err := Assign(testClass(), st)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// idWord packs ten ids as a prompt or result word (trace.md §1.3).
func idWord(ids [10]int64) fr.Element {
	w := new(big.Int)
	for r := 9; r >= 0; r-- {
		w.Lsh(w, 24).Add(w, big.NewInt(ids[r]))
	}
	var e fr.Element
	e.SetBigInt(w)
	return e
}

// The honest assignment resealed is unchanged: reseal mirrors the circuit's preimages.
func TestAttackResealIsIdentity(t *testing.T) {
	a := assigned(t, tinyStatement(t, 7))
	want := [4]fr.Element{fe(t, a.ModelRoot), fe(t, a.JobDigest), fe(t, a.TraceRoot), fe(t, a.ResultDigest)}
	reseal(t, a, 0)
	got := [4]fr.Element{fe(t, a.ModelRoot), fe(t, a.JobDigest), fe(t, a.TraceRoot), fe(t, a.ResultDigest)}
	if got != want {
		t.Fatalf("reseal changed the public inputs: %v, want %v", got, want)
	}
	if err := isSolved(testClass(), a); err != nil {
		t.Fatal(err)
	}
}

// genStatement is the honest generation job of m on prompt for n tokens, with seed.
func genStatement(t testing.TB, m *model.Model, prompt []int32, n int, seed uint64) *Statement {
	t.Helper()
	root, err := m.Root()
	if err != nil {
		t.Fatal(err)
	}
	j := &jobs.GenJob{ModelRoot: root, Prompt: prompt, New: n}
	tr, tokens, err := jobs.Generate(m, j)
	if err != nil {
		t.Fatal(err)
	}
	return &Statement{Model: m, Job: j, Trace: tr, Tokens: tokens, Seed: commit.Uint(seed)}
}

func tinyModel(t testing.TB, seed uint64) *model.Model {
	t.Helper()
	m, err := modeltest.Decoder(model.DecoderConfig{Vocab: 16, Context: 16, Width: 8, Heads: 2, Blocks: 1}, seed)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// Lies about the statement's preimages, each reaching one check of circuit.md §1: the
// witness is otherwise an honest one, so only that check can reject it.
func TestAttackStatementBinding(t *testing.T) {
	cl := testClass()
	prompt := []int32{3, 1, 4, 1, 5}
	base := tinyStatement(t, 7)
	for _, tc := range []struct {
		name string
		lie  func(t *testing.T) *Circuit
	}{
		// Another model's computation under the claimed model root (the job names the
		// claimed root): only the model-root preimage check ties the op tree to it.
		{"another model under the claimed root", func(t *testing.T) *Circuit {
			a := assigned(t, genStatement(t, tinyModel(t, 2), prompt, base.Job.New, 7))
			a.ModelRoot = base.Job.ModelRoot
			reseal(t, a, keepModel)
			return a
		}},
		// A model whose input is not token ids (dtype I8) is no generation model.
		{"input dtype I8", func(t *testing.T) *Circuit {
			a := assigned(t, base)
			a.InDType = int(model.I8)
			reseal(t, a, 0)
			return a
		}},
		// The digest of another job (another prompt): only the job-digest preimage check
		// binds the prompt, n and the selection to the public digest.
		{"another job's digest", func(t *testing.T) *Circuit {
			a := assigned(t, base)
			j := &jobs.GenJob{ModelRoot: base.Job.ModelRoot, Prompt: []int32{3, 1, 4, 1, 6}, New: base.Job.New}
			jd, err := j.Digest()
			if err != nil {
				t.Fatal(err)
			}
			a.JobDigest = jd
			reseal(t, a, keepModel|keepJob)
			return a
		}},
		// A sampling job proved as an argmax one (circuit.md §6: argmax jobs only).
		{"a sampling job", func(t *testing.T) *Circuit {
			a := assigned(t, base)
			a.Sel = 1
			reseal(t, a, 0)
			return a
		}},
		// The trace of n + 1 tokens for a job of n (T = P + n rows, not P + n - 1).
		{"a trace one row longer than the job's", func(t *testing.T) *Circuit {
			st := *base
			j := *base.Job
			j.New--
			st.Job, st.Tokens = &j, base.Tokens[:j.New]
			return assigned(t, &st)
		}},
		// The trace root of another job's trace.
		{"another trace root", func(t *testing.T) *Circuit {
			a := assigned(t, base)
			a.TraceRoot = assigned(t, genStatement(t, base.Model, []int32{3, 1, 4, 1, 6}, base.Job.New, 7)).TraceRoot
			return a
		}},
		// Another result (the last token changed) than the tokens the slots check.
		{"another result digest", func(t *testing.T) *Circuit {
			a := assigned(t, base)
			tok := append([]int32{}, base.Tokens...)
			tok[len(tok)-1] ^= 1
			rd, err := jobs.ResultDigest(tok)
			if err != nil {
				t.Fatal(err)
			}
			a.ResultDigest = rd
			return a
		}},
		// A result word with a token past n: the digest is not the canonical one of n tokens.
		{"a result token past n", func(t *testing.T) *Circuit {
			a := assigned(t, base)
			var ids [10]int64
			for q, x := range base.Tokens {
				ids[q] = int64(x)
			}
			ids[len(base.Tokens)] = 7
			a.ResultWords[0] = idWord(ids)
			reseal(t, a, 0)
			return a
		}},
		// A prompt word with an id past P: the job digest is not the canonical one.
		{"a prompt id past P", func(t *testing.T) *Circuit {
			a := assigned(t, base)
			var ids [10]int64
			for q, x := range prompt {
				ids[q] = int64(x)
			}
			ids[len(prompt)] = 7
			a.PromptWords[0] = idWord(ids)
			reseal(t, a, 0)
			return a
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := isSolved(cl, tc.lie(t)); err == nil {
				t.Fatal("accepted")
			}
		})
	}
}

// attackCCS is attackClass's circuit, compiled once for every test that overrides a hint.
var attackCCS = sync.OnceValues(func() (constraint.ConstraintSystem, error) {
	return frontend.Compile(ecc.BN254.ScalarField(), r1cs.NewBuilder, New(attackClass()))
})

func compiledAttack(t *testing.T) constraint.ConstraintSystem {
	t.Helper()
	ccs, err := attackCCS()
	if err != nil {
		t.Fatal(err)
	}
	return ccs
}

func solveCompiled(t *testing.T, ccs constraint.ConstraintSystem, a *Circuit, opts ...solver.Option) error {
	t.Helper()
	w, err := frontend.NewWitness(a, ecc.BN254.ScalarField())
	if err != nil {
		t.Fatal(err)
	}
	return ccs.IsSolved(w, opts...)
}

// nBits is gnark's binary-decomposition hint (behind every bits.ToBinary).
func nBits(t *testing.T) solver.Hint {
	for _, h := range bits.GetHints() {
		if solver.GetHintName(h) == "github.com/consensys/gnark/std/math/bits.nBits" {
			return h
		}
	}
	t.Fatal("gnark's nBits hint not found")
	return nil
}

// lyingBits overrides nBits: an n-bit decomposition of the value v returns the bits of w.
func lyingBits(t *testing.T, n int, v, w *big.Int) solver.Option {
	nb := nBits(t)
	return solver.OverrideHint(solver.GetHintID(nb), func(field *big.Int, in, out []*big.Int) error {
		if err := nb(field, in, out); err != nil {
			return err
		}
		if len(out) == n && in[0].Cmp(v) == 0 {
			for i := range out {
				out[i].SetUint64(uint64(w.Bit(i)))
			}
		}
		return nil
	})
}

func big_(e fr.Element) *big.Int { return commit.ToBig(e) }

// Lies in the bits of a decomposition: the honest witness with one range check's bits
// replaced by the bits of another value.
func TestAttackBits(t *testing.T) {
	ccs := compiledAttack(t)
	cl := attackClass()
	base := tinyStatement(t, 7)
	honest, err := Assign(cl, base)
	if err != nil {
		t.Fatal(err)
	}
	if err := solveCompiled(t, ccs, honest); err != nil {
		t.Fatal(err)
	}
	T := base.Trace.T

	t.Run("result word's bits", func(t *testing.T) {
		// The result digest commits a word with token 0 flipped; the decomposition returns
		// the honest word's bits, so the slots check the honest tokens.
		a, err := Assign(cl, base)
		if err != nil {
			t.Fatal(err)
		}
		var ids [10]int64
		for q, x := range base.Tokens {
			ids[q] = int64(x)
		}
		ids[0] ^= 1
		lie := idWord(ids)
		a.ResultWords[0] = lie
		reseal(t, a, 0)
		if solveCompiled(t, ccs, a, lyingBits(t, 240, big_(lie), big_(fe(t, honest.ResultWords[0])))) == nil {
			t.Fatal("accepted")
		}
	})

	t.Run("slot hash's bits", func(t *testing.T) {
		// The prover picks input slot 0's row: h's decomposition says word 1 + d (h + d·2^64,
		// non-canonical), so the slot draws row r + 1 mod T, which the witness opens.
		h := commit.ToBig(commit.Hash(TagSlot, base.Seed, commit.Uint(FamilyInput), commit.Uint(0)))
		x := slotWords(base.Seed, FamilyInput, 0)
		r := mod(x[1], T)
		d := uint64(1)
		if x[1] > ^uint64(0)-d {
			t.Skip("word 1 + 1 carries for this seed")
		}
		hl := new(big.Int).Add(h, new(big.Int).Lsh(new(big.Int).SetUint64(d), 64))
		if hl.BitLen() > 254 {
			t.Skip("h + 2^64 needs 255 bits")
		}
		src, err := newSource(base.Model, base.Trace)
		if err != nil {
			t.Fatal(err)
		}
		a, err := Assign(cl, base)
		if err != nil {
			t.Fatal(err)
		}
		if a.Inputs[0].Row, err = rowAt(cl, src, 0, (r+1)%T, cl.RowDepth); err != nil {
			t.Fatal(err)
		}
		if x[1]%uint64(T) == uint64(T-1) && (r+1)%T != 0 {
			t.Fatal("unexpected wrap")
		}
		if solveCompiled(t, ccs, a, lyingBits(t, 254, h, hl)) == nil {
			t.Fatal("accepted")
		}
	})
}

// assignSrc is Assign for a source the test has patched (a trace tensor recommitted, a tree of
// another depth), without the class's fit check: the lies below are not traces Assign would
// build. The public inputs are recomputed from the witness (reseal).
func assignSrc(t *testing.T, cl *Class, st *Statement, src *source) *Circuit {
	t.Helper()
	m, tr, j := st.Model, st.Trace, st.Job
	c := New(cl)
	c.Seed = st.Seed
	c.InDType, c.InWidth, c.L = int(m.Input.DType), m.Input.Width, len(m.Ops)
	c.ModelDepth, c.ModelTree = src.opTree.Depth(), src.opTree.TreeRoot()
	for k := 1; k <= model.NumKinds; k++ {
		c.Counts[k-1] = src.counts[k]
	}
	c.New, c.Sel, c.K, c.SampleSeed, c.P = j.New, 0, 0, 0, len(j.Prompt)
	for q := range c.Exp {
		c.Exp[q] = 0
	}
	fillWords(c.PromptWords, jobs.IDWords(j.Prompt))
	fillWords(c.ResultWords, jobs.IDWords(st.Tokens))
	c.T, c.TraceTree = tr.T, src.tensors.TreeRoot()
	c.Last = descAt(cl, src, len(m.Ops)-1)
	var err error
	for si := range c.Inputs {
		sl := &c.Inputs[si]
		sl.Input = tensorAt(cl, src, 0)
		if sl.Row, err = rowAt(cl, src, 0, drawRow(st.Seed, FamilyInput, si, tr.T), cl.RowDepth); err != nil {
			t.Fatal(err)
		}
	}
	for si := range c.Selects {
		q := drawRow(st.Seed, FamilySelect, si, j.New)
		sl := &c.Selects[si]
		sl.Logits = tensorAt(cl, src, len(m.Ops))
		if sl.Row, err = rowAt(cl, src, len(m.Ops), len(j.Prompt)-1+q, cl.RowDepth); err != nil {
			t.Fatal(err)
		}
	}
	dummy, err := dummySource(tr.T)
	if err != nil {
		t.Fatal(err)
	}
	for k := 1; k <= model.NumKinds; k++ {
		from := src
		if src.counts[k] == 0 {
			from = dummy
		}
		for si := range c.Ops[k] {
			if c.Ops[k][si], err = fillOpSlot(cl, from, model.Kind(k), si, st.Seed, src.counts[k]); err != nil {
				t.Fatal(err)
			}
		}
	}
	c.ModelRoot = src.modelRoot
	reseal(t, c, keepModel)
	return c
}

// recommit replaces tensor id's row commitment in src by x's (same depth) and rebuilds the
// tensor tree.
func recommit(t *testing.T, src *source, id int, x *tensor.Int8) {
	t.Helper()
	rt, err := commit.CommitActivations(x, commit.LayerDepth(src.tr.T))
	if err != nil {
		t.Fatal(err)
	}
	src.trees[id].Row = rt
	src.roots[id].Row = rt.Root()
	retree(src, commit.LayerDepth(len(src.roots)))
}

// deepenRows rebuilds every tensor's row tree in src at the given depth, with its root.
func deepenRows(t *testing.T, src *source, depth int) {
	t.Helper()
	T := src.tr.T
	for id, v := range src.tr.Tensors {
		if v.I32 != nil {
			leaves := make([]fr.Element, T)
			for i, x := range v.I32.Data {
				leaves[i] = commit.Hash(commit.TagLeaf, commit.BiasElement(x))
			}
			rt := commit.NewLeafTree(leaves, depth)
			src.trees[id].Row = rt
			src.roots[id].Row = commit.ShapeRoot(kindIDs, T, 1, depth, rt.TreeRoot())
			continue
		}
		rt, err := commit.CommitActivations(v.I8, depth)
		if err != nil {
			t.Fatal(err)
		}
		src.trees[id].Row, src.roots[id].Row = rt, rt.Root()
	}
}

// retree rebuilds the tensor tree over src.roots at the given depth.
func retree(src *source, depth int) {
	tl := make([]fr.Element, len(src.roots))
	for id, r := range src.roots {
		tl[id] = commit.Hash(jobs.TagTraceTensor, commit.Uint(uint64(id)), r.Row, r.Col)
	}
	src.tensors = commit.NewLeafTree(tl, depth)
}

func TestAttackAssignSrcIsAssign(t *testing.T) {
	st := tinyStatement(t, 7)
	src, err := newSource(st.Model, st.Trace)
	if err != nil {
		t.Fatal(err)
	}
	a := assignSrc(t, testClass(), st, src)
	b := assigned(t, st)
	if fe(t, a.TraceRoot) != fe(t, b.TraceRoot) || fe(t, a.JobDigest) != fe(t, b.JobDigest) || fe(t, a.ResultDigest) != fe(t, b.ResultDigest) {
		t.Fatal("assignSrc's public inputs differ from Assign's")
	}
}

// attackClass is the test class with parameter trees of depth 7, so that the ParamDepth-bit
// decompositions (embed ids) have a bit count no other range check of the test model uses,
// and a lying decomposition hint reaches only the decomposition it targets.
func attackClass() *Class {
	cl := testClass()
	cl.ParamDepth = 7
	return cl
}

// argmaxRow is ops.md §10's argmax of one row (the first maximum).
func argmaxRow(x []int8) int32 {
	best := 0
	for k, v := range x {
		if v > x[best] {
			best = k
		}
	}
	return int32(best)
}

// fedGeneration runs greedy generation on m where the model is fed `fake` instead of token k
// (the input row P + k), and the result still says token k: the trace is an honest run of the
// fed ids and every token is the argmax of its logits row.
func fedGeneration(t *testing.T, m *model.Model, prompt []int32, n, k int, fake int32) (*model.Trace, []int32) {
	t.Helper()
	P, T := len(prompt), len(prompt)+n-1
	ids := tensor.NewInt32(T)
	copy(ids.Data, prompt)
	tokens := make([]int32, n)
	var tr *model.Trace
	for s := range n {
		var err error
		if tr, err = model.Run(m, model.Value{I32: ids}); err != nil {
			t.Fatal(err)
		}
		lg := tr.Tensors[len(m.Ops)].I8
		V := lg.Shape[1]
		r := P - 1 + s
		tokens[s] = argmaxRow(lg.Data[r*V : (r+1)*V])
		if s+1 < n {
			ids.Data[P+s] = tokens[s]
			if s == k {
				ids.Data[P+s] = fake
			}
		}
	}
	tr, err := model.Run(m, model.Value{I32: ids})
	if err != nil {
		t.Fatal(err)
	}
	return tr, tokens
}

// findSeed returns the first challenge seed in [1, 5000] for which ok holds.
func findSeed(t *testing.T, ok func(seed fr.Element) bool) fr.Element {
	t.Helper()
	for s := uint64(1); s <= 5000; s++ {
		if seed := commit.Uint(s); ok(seed) {
			return seed
		}
	}
	t.Fatal("no seed found")
	return fr.Element{}
}

// rowDraws is every value a RowDepth-bit decomposition of the job level and the op and input
// slots takes (a drawn row r and T - 1 - r, the matmul tie row likewise).
func rowDraws(cl *Class, seed fr.Element, T int) map[int]bool {
	v := map[int]bool{}
	add := func(r int) { v[r], v[T-1-r] = true, true }
	for k := 1; k <= model.NumKinds; k++ {
		for si := range cl.Slots[k] {
			x := slotWords(seed, k, si)
			add(mod(x[1], T))
			if model.Kind(k) == model.KindMatmul {
				add(mod(x[3], T))
			}
		}
	}
	for si := range cl.Slots[FamilyInput] {
		add(mod(slotWords(seed, FamilyInput, si)[1], T))
	}
	return v
}

// Lies in what a slot opens: each is a trace (or an opening) that differs from the honest one
// exactly where one check of the slot looks.
func TestAttackSlots(t *testing.T) {
	cl := attackClass()
	ccs := compiledAttack(t)
	base := tinyStatement(t, 7)
	m, prompt, n := base.Model, base.Job.Prompt, base.Job.New
	P, T, L := len(prompt), base.Trace.T, len(m.Ops)

	// The model is fed 0 at input row r = P + k while the result says token k: only the
	// input slot's check (row r against the result) looks, when it draws r. Lying in the
	// comparison r < P makes the slot compare the row against prompt id r (0 past P).
	t.Run("fed token differs from the result", func(t *testing.T) {
		seed := findSeed(t, func(seed fr.Element) bool {
			r := drawRow(seed, FamilyInput, 0, T)
			return r >= P && base.Tokens[r-P] != 0
		})
		r := drawRow(seed, FamilyInput, 0, T)
		tr, tokens := fedGeneration(t, m, prompt, n, r-P, 0)
		st := &Statement{Model: m, Job: base.Job, Trace: tr, Tokens: tokens, Seed: seed}
		a, err := Assign(cl, st)
		if err != nil {
			t.Fatal(err)
		}
		if solveCompiled(t, ccs, a) == nil {
			t.Fatal("accepted")
		}
		// less(r, P): the (RowDepth+2)-bit decomposition of r - P + 2^(RowDepth+1) with its
		// top bit cleared says r < P.
		v := int64(r - P + 1<<(cl.RowDepth+1))
		if solveCompiled(t, ccs, a, lyingBits(t, cl.RowDepth+2, big.NewInt(v), big.NewInt(v-1<<(cl.RowDepth+1)))) == nil {
			t.Fatal("accepted with r < P claimed")
		}
	})

	// The select slot opens another logits row, whose argmax the result claims as the last
	// token (which the trace never feeds back): the row index's decomposition lies.
	t.Run("select opens another logits row", func(t *testing.T) {
		seed := findSeed(t, func(seed fr.Element) bool {
			return drawRow(seed, FamilySelect, 0, n) == n-1 && !rowDraws(cl, seed, T)[T-1]
		})
		lg := base.Trace.Tensors[L].I8
		V := lg.Shape[1]
		other := -1
		for r := range T - 1 {
			if argmaxRow(lg.Data[r*V:(r+1)*V]) != base.Tokens[n-1] {
				other = r
				break
			}
		}
		if other < 0 {
			t.Fatal("every logits row has the last token's argmax")
		}
		tokens := append([]int32{}, base.Tokens...)
		tokens[n-1] = argmaxRow(lg.Data[other*V : (other+1)*V])
		st := &Statement{Model: m, Job: base.Job, Trace: base.Trace, Tokens: tokens, Seed: seed}
		a, err := Assign(cl, st)
		if err != nil {
			t.Fatal(err)
		}
		src, err := newSource(m, base.Trace)
		if err != nil {
			t.Fatal(err)
		}
		if a.Selects[0].Row, err = rowAt(cl, src, L, other, cl.RowDepth); err != nil {
			t.Fatal(err)
		}
		if solveCompiled(t, ccs, a, lyingBits(t, cl.RowDepth, big.NewInt(int64(T-1)), big.NewInt(int64(other)))) == nil {
			t.Fatal("accepted")
		}
	})

	// The embed slot's result row i is table row id' while the ids say id: the table row's
	// index decomposition lies (ParamDepth bits, which only the embed and position ids use).
	t.Run("embed opens another table row", func(t *testing.T) {
		embed := 0 // op 0 of the test model; the add of op 2 reads its result
		if m.Ops[embed].Kind != model.KindEmbed || m.Ops[2].Kind != model.KindAdd {
			t.Fatal("unexpected test model")
		}
		ids := base.Trace.Tensors[0].I32.Data
		var i, id int
		seed := findSeed(t, func(seed fr.Element) bool {
			i = mod(slotWords(seed, int(model.KindEmbed), 0)[1], T)
			id = int(ids[i])
			pos := mod(slotWords(seed, int(model.KindPosition), 0)[1], T)
			ctx := m.Ops[1].Weight.Shape[0]
			xa := slotWords(seed, int(model.KindAdd), 0)
			addReadsRow := mod(xa[0], 3) == 0 && mod(xa[1], T) == i
			return ctx-1-pos != id && !addReadsRow
		})
		w := m.Ops[embed].Weight
		V, W := w.Shape[0], w.Shape[1]
		lie := (id + 1) % V
		tr := base.Trace.Clone()
		copy(tr.Tensors[embed+1].I8.Data[i*W:(i+1)*W], w.Data[lie*W:(lie+1)*W])
		st := &Statement{Model: m, Job: base.Job, Trace: tr, Tokens: base.Tokens, Seed: seed}
		a, err := Assign(cl, st)
		if err != nil {
			t.Fatal(err)
		}
		src, err := newSource(m, tr)
		if err != nil {
			t.Fatal(err)
		}
		a.Ops[model.KindEmbed][0].Param[0] = leafOpen(nil, 0, src.paramTree(embed).Siblings(lie), cl.ParamDepth)
		if solveCompiled(t, ccs, a, lyingBits(t, cl.ParamDepth, big.NewInt(int64(id)), big.NewInt(int64(lie)))) == nil {
			t.Fatal("accepted")
		}
	})

	// The logits committed with only their first 8 columns, and the width read from another
	// op's descriptor (8): the select slot's argmax then ranges over a prefix of the
	// vocabulary. The last linear's slot, which would see the truncated logits, draws another
	// linear for this seed.
	t.Run("logits of another op's width", func(t *testing.T) {
		const narrow = 25 // a layernorm of width 8, rank 2 among the layernorms
		if m.Ops[narrow].Kind != model.KindLayerNorm || m.Ops[L-1].Kind != model.KindLinear {
			t.Fatal("unexpected test model")
		}
		lg := base.Trace.Tensors[L].I8
		V := lg.Shape[1]
		const w = 8
		seed := findSeed(t, func(seed fr.Element) bool {
			q := drawRow(seed, FamilySelect, 0, n)
			row := lg.Data[(P-1+q)*V : (P+q)*V]
			return mod(slotWords(seed, int(model.KindLinear), 0)[0], 5) != 4 &&
				mod(slotWords(seed, int(model.KindLayerNorm), 0)[0], 3) != 2 &&
				argmaxRow(row[:w]) == base.Tokens[q]
		})
		st := &Statement{Model: m, Job: base.Job, Trace: base.Trace, Tokens: base.Tokens, Seed: seed}
		src, err := newSource(m, base.Trace)
		if err != nil {
			t.Fatal(err)
		}
		cut := tensor.NewInt8(T, w)
		for r := range T {
			copy(cut.Data[r*w:(r+1)*w], lg.Data[r*V:r*V+w])
		}
		recommit(t, src, L, cut)
		honest := assignSrc(t, cl, st, src)
		if solveCompiled(t, ccs, honest) == nil {
			t.Fatal("the truncated logits accepted with the last op's width")
		}
		// the descriptor of op L-1 with the narrow width (not the committed one)
		a := assignSrc(t, cl, st, src)
		a.Last.Desc[2] = w
		if solveCompiled(t, ccs, a) == nil {
			t.Fatal("a forged last descriptor accepted")
		}
		// op 25's descriptor opened as the last op's
		a = assignSrc(t, cl, st, src)
		a.Last = descAt(cl, src, narrow)
		if solveCompiled(t, ccs, a) == nil {
			t.Fatal("op 25 accepted as the last op")
		}
		// op 25's descriptor and path at index L-1: the index's decomposition lies
		a = assignSrc(t, cl, st, src)
		a.Last = descAt(cl, src, narrow)
		a.Last.Index = L - 1
		if solveCompiled(t, ccs, a, lyingBits(t, cl.OpDepth, big.NewInt(int64(L-1)), big.NewInt(narrow))) == nil {
			t.Fatal("op 25 accepted at index L-1")
		}
	})

	// A concat result byte past A's width taken from A (whose bytes there are 0) instead of
	// B: the comparison j < w(A)'s decomposition lies.
	t.Run("concat reads A past its width", func(t *testing.T) {
		const cc = 17
		if m.Ops[cc].Kind != model.KindConcat {
			t.Fatal("unexpected test model")
		}
		out := base.Trace.Tensors[cc+1].I8
		W := out.Shape[1]
		wa := base.Trace.Tensors[m.Ops[cc].In[0]].I8.Shape[1]
		var i, j int
		seed := findSeed(t, func(seed fr.Element) bool {
			x := slotWords(seed, int(model.KindConcat), 0)
			i, j = mod(x[1], T), mod(x[2], W)
			xl := slotWords(seed, int(model.KindLinear), 0)
			linReads := mod(xl[0], 5) == 1 && mod(xl[1], T) == i // op 18 reads the concat
			xm := slotWords(seed, int(model.KindMatmul), 0)
			mi, mj := mod(xm[1], T), mod(xm[2], 4) // the matmuls' results: width 4 or T
			mj2 := mod(xm[2], T)
			v := j - wa + 64
			return j >= wa && out.Data[i*W+j] != -128 && !linReads && mi-mj+64 != v && mi-mj2+64 != v
		})
		tr := base.Trace.Clone()
		tr.Tensors[cc+1].I8.Data[i*W+j] = -128
		a, err := Assign(cl, &Statement{Model: m, Job: base.Job, Trace: tr, Tokens: base.Tokens, Seed: seed})
		if err != nil {
			t.Fatal(err)
		}
		v := int64(j - wa + 64)
		if solveCompiled(t, ccs, a, lyingBits(t, 7, big.NewInt(v), big.NewInt(v-64))) == nil {
			t.Fatal("accepted")
		}
	})

	// A causal score after the query (j > i) computed instead of masked: the comparison
	// i < j's decomposition lies. (The softmax never reads it, so only this slot can see it.)
	t.Run("causal score past the query unmasked", func(t *testing.T) {
		var u, i, j int
		seed := findSeed(t, func(seed fr.Element) bool {
			x := slotWords(seed, int(model.KindMatmul), 0)
			r := mod(x[0], 4)
			u = []int{8, 10, 14, 16}[r]
			i, j = mod(x[1], T), mod(x[2], T)
			xc := slotWords(seed, int(model.KindConcat), 0)
			return (r == 0 || r == 2) && i < j && mod(xc[2], 8)-4 != i-j
		})
		op := &m.Ops[u]
		if op.Kind != model.KindMatmul || !op.TransB || !op.Causal {
			t.Fatal("unexpected test model")
		}
		A, B := base.Trace.Tensors[op.In[0]].I8, base.Trace.Tensors[op.In[1]].I8
		K := A.Shape[1]
		var acc int32
		for k := range K {
			acc += (int32(A.Data[i*K+k]) - int32(op.ZeroA)) * (int32(B.Data[j*K+k]) - int32(op.ZeroB))
		}
		out := base.Trace.Tensors[u+1].I8
		W := out.Shape[1]
		lie := op.Epilogue.Apply(acc)
		if lie == out.Data[i*W+j] {
			t.Skip("the unmasked score equals the masked one for this seed")
		}
		tr := base.Trace.Clone()
		tr.Tensors[u+1].I8.Data[i*W+j] = lie
		a, err := Assign(cl, &Statement{Model: m, Job: base.Job, Trace: tr, Tokens: base.Tokens, Seed: seed})
		if err != nil {
			t.Fatal(err)
		}
		v := int64(i - j + 64)
		if solveCompiled(t, ccs, a, lyingBits(t, 7, big.NewInt(v), big.NewInt(v+64))) == nil {
			t.Fatal("accepted")
		}
	})

	// The logits linear's accumulator past int32 (ops.md §2: the op fails) at the sampled
	// element: the bias of one column is 2^31 - 1 and its weights follow the signs of the
	// sampled (prompt) row, so b + sum > 2^31 - 1 there; the trace holds the requantized value
	// of the wide accumulator (saturated), and generation runs on those logits.
	t.Run("linear accumulator past int32", func(t *testing.T) {
		lin := L - 1
		if m.Ops[lin].Kind != model.KindLinear {
			t.Fatal("unexpected test model")
		}
		var i, j int
		seed := findSeed(t, func(seed fr.Element) bool {
			x := slotWords(seed, int(model.KindLinear), 0)
			i, j = mod(x[1], T), mod(x[2], 16)
			return mod(x[0], 5) == 4 && i < P // the logits op, a prompt row
		})
		big_ := cloneModel(m)
		op := &big_.Ops[lin]
		xin := base.Trace.Tensors[op.In[0]].I8 // row i < P does not depend on the tokens
		K := xin.Shape[1]
		for k := range K {
			op.Weight.Data[j*K+k] = 127
			if xin.Data[i*K+k] < 0 {
				op.Weight.Data[j*K+k] = -127
			}
		}
		op.Bias.Data[j] = 1<<31 - 1
		clean := cloneModel(big_)
		clean.Ops[lin].Bias.Data[j] = 0 // runs the ops before the logits (its own result unused)
		logits := func(x *tensor.Int8) *tensor.Int8 {
			N := op.Weight.Shape[0]
			out := tensor.NewInt8(x.Shape[0], N)
			for r := range x.Shape[0] {
				for c := range N {
					acc := int64(op.Bias.Data[c])
					for k := range K {
						acc += int64(x.Data[r*K+k]) * int64(op.Weight.Data[c*K+k])
					}
					e := op.Epilogue
					e.Multiplier = uint32(op.Scales.Data[c])
					out.Data[r*N+c] = requant64(e, acc)
				}
			}
			return out
		}
		ids := tensor.NewInt32(T)
		copy(ids.Data, prompt)
		tokens := make([]int32, n)
		var tr *model.Trace
		for s := range n {
			var err error
			if tr, err = model.Run(clean, model.Value{I32: ids}); err != nil {
				t.Fatal(err)
			}
			lg := logits(tr.Tensors[op.In[0]].I8)
			V := lg.Shape[1]
			r := P - 1 + s
			tokens[s] = argmaxRow(lg.Data[r*V : (r+1)*V])
			if s+1 < n {
				ids.Data[P+s] = tokens[s]
			}
			tr.Tensors[L] = model.Value{I8: lg}
		}
		acc := int64(op.Bias.Data[j])
		for k := range K {
			acc += int64(tr.Tensors[op.In[0]].I8.Data[i*K+k]) * int64(op.Weight.Data[j*K+k])
		}
		if acc <= 1<<31-1 {
			t.Fatalf("accumulator %d fits int32", acc)
		}
		root, err := big_.Root()
		if err != nil {
			t.Fatal(err)
		}
		j2 := &jobs.GenJob{ModelRoot: root, Prompt: prompt, New: n}
		a, err := Assign(cl, &Statement{Model: big_, Job: j2, Trace: tr, Tokens: tokens, Seed: seed})
		if err != nil {
			t.Fatal(err)
		}
		if solveCompiled(t, ccs, a) == nil {
			t.Fatal("accepted")
		}
	})
}

// requant64 is protocol.Epilogue.Apply for an accumulator of any size (the reference refuses
// one past int32): floor((acc·m + 2^(s-1)) / 2^s) + z, clamped to [relu ? z : -128, 127].
func requant64(e protocol.Epilogue, acc int64) int8 {
	v := new(big.Int).Mul(big.NewInt(acc), big.NewInt(int64(e.Multiplier)))
	v.Add(v, new(big.Int).Lsh(big.NewInt(1), uint(e.Shift-1)))
	q := new(big.Int).Div(v, new(big.Int).Lsh(big.NewInt(1), uint(e.Shift))) // Euclidean: floor for 2^s > 0
	y := q.Add(q, big.NewInt(int64(e.ZeroPoint)))
	lo := int64(-128)
	if e.ReLU {
		lo = int64(e.ZeroPoint)
	}
	if y.Cmp(big.NewInt(127)) > 0 {
		return 127
	}
	if y.Cmp(big.NewInt(lo)) < 0 {
		return int8(lo)
	}
	return int8(y.Int64())
}

// cloneModel copies a model with its own weight, bias and scale tensors.
func cloneModel(m *model.Model) *model.Model {
	c := *m
	c.Ops = append([]model.Op{}, m.Ops...)
	for k := range c.Ops {
		op := &c.Ops[k]
		if op.Weight != nil {
			w := *op.Weight
			w.Data = append([]int8{}, w.Data...)
			op.Weight = &w
		}
		if op.Bias != nil {
			b := *op.Bias
			b.Data = append([]int32{}, b.Data...)
			op.Bias = &b
		}
	}
	return &c
}

// lyingDepth overrides ceilLog2Hint: ceil(log2 x) for the value x returns d.
func lyingDepth(x, d int64) solver.Option {
	return solver.OverrideHint(solver.GetHintID(ceilLog2Hint), func(f *big.Int, in, out []*big.Int) error {
		if err := ceilLog2Hint(f, in, out); err != nil {
			return err
		}
		if in[0].Cmp(big.NewInt(x)) == 0 {
			out[0].SetInt64(d)
		}
		return nil
	})
}

// Trees of a depth other than the canonical ceil(log2 rows) (circuit.md §1, §4), each
// committed consistently and under the public roots: the depth claims are the only lie.
func TestAttackDepths(t *testing.T) {
	cl := attackClass()
	ccs := compiledAttack(t)

	// Every row tree one level deeper than ceil(log2 T) (T = 7: no other tree has 7 rows).
	t.Run("row trees one level deeper", func(t *testing.T) {
		st := genStatement(t, tinyModel(t, 1), []int32{3, 1, 4, 1, 5}, 3, 7)
		T := st.Trace.T
		src, err := newSource(st.Model, st.Trace)
		if err != nil {
			t.Fatal(err)
		}
		deeper := bitLen(T) + 1
		deepenRows(t, src, deeper)
		retree(src, bitLen(len(src.roots)))
		a := assignSrc(t, cl, st, src)
		if solveCompiled(t, ccs, a, lyingDepth(int64(T), int64(deeper))) == nil {
			t.Fatal("accepted")
		}
	})

	// The P·V matmul's value tensor (6 columns: heads of width 6) committed by columns in a
	// tree of depth 2 over its first four columns: the drawn column is one of them. No other
	// tree of this model, nor of the dummy slots (rmsnorm, argmax), has 6 rows.
	t.Run("column tree one level short", func(t *testing.T) {
		mm, err := modeltest.Decoder(model.DecoderConfig{Vocab: 16, Context: 16, Width: 12, Heads: 2, Blocks: 1}, 1)
		if err != nil {
			t.Fatal(err)
		}
		base := genStatement(t, mm, []int32{3, 1, 4, 1, 5}, 4, 7)
		m, T := base.Model, base.Trace.T
		var mms []int
		for u := range m.Ops {
			if m.Ops[u].Kind == model.KindMatmul {
				mms = append(mms, u)
			}
		}
		const keep = 4
		var u, j int
		seed := findSeed(t, func(seed fr.Element) bool {
			x := slotWords(seed, int(model.KindMatmul), 0)
			u = mms[mod(x[0], len(mms))]
			j = mod(x[2], int(base.Trace.Tensors[u+1].I8.Shape[1]))
			return !m.Ops[u].TransB && j < keep
		})
		op := &m.Ops[u]
		if op.Kind != model.KindMatmul || op.TransB {
			t.Fatal("unexpected test model")
		}
		st := *base
		st.Seed = seed
		src, err := newSource(m, base.Trace)
		if err != nil {
			t.Fatal(err)
		}
		B := base.Trace.Tensors[op.In[1]].I8
		wB := B.Shape[1]
		bt := tensor.NewInt8(keep, T)
		for c := range keep {
			for r := range T {
				bt.Data[c*T+r] = B.Data[r*wB+c]
			}
		}
		ct, err := commit.CommitActivations(bt, 2)
		if err != nil {
			t.Fatal(err)
		}
		src.trees[op.In[1]].Col = ct
		src.roots[op.In[1]].Col = commit.ShapeRoot(kindActivations, wB, T, 2, ct.TreeRoot())
		retree(src, bitLen(len(src.roots)))
		a := assignSrc(t, cl, &st, src)
		if wB != 6 {
			t.Fatalf("value tensor of width %d", wB)
		}
		if solveCompiled(t, ccs, a, lyingDepth(int64(wB), 2)) == nil {
			t.Fatal("accepted")
		}
	})
}

// The trace tree (of the L + 1 = 16 tensor leaves) one level deeper than ceil(log2 16), under
// a trace root that says so. The every-kind model with an 8-row position table has no other
// tree of 16 rows.
func TestAttackTraceTreeDepth(t *testing.T) {
	cl := attackClass()
	ccs := compiledAttack(t)
	st := everyKindRows(t, 11, 8)
	src, err := newSource(st.Model, st.Trace)
	if err != nil {
		t.Fatal(err)
	}
	n := len(src.roots)
	if n != 16 {
		t.Fatalf("%d tensors, want 16", n)
	}
	d := bitLen(n) + 1
	retree(src, d)
	a := assignSrc(t, cl, st, src)
	if err := solveCompiled(t, ccs, a); err == nil {
		t.Fatal("the deeper tree accepted under the canonical trace root")
	}
	u := commit.Uint
	a.TraceRoot = commit.Hash(jobs.TagTrace, u(jobs.TraceVersion), fe(t, a.JobDigest), fe(t, a.T), u(uint64(n)), u(uint64(d)), fe(t, a.TraceTree))
	if solveCompiled(t, ccs, a, lyingDepth(int64(n), int64(d))) == nil {
		t.Fatal("accepted")
	}
}

// Two leaves for one tensor: the trace tree holds the falsified concat result at its
// position and, in a padding position, a leaf naming the same tensor with the honest result's
// roots, which the concat slot opens: the tensor id's decomposition lies. (Tensor 18: no
// other OpDepth-bit decomposition of this seed takes that value, nor do the 5-bit slack
// checks of the 8-wide table rows, 23 and 7.)
func TestAttackTensorEquivocation(t *testing.T) {
	cl := attackClass()
	ccs := compiledAttack(t)
	base := tinyStatement(t, 7)
	m, T := base.Model, base.Trace.T
	honest, err := newSource(m, base.Trace)
	if err != nil {
		t.Fatal(err)
	}
	const cc = 17
	if m.Ops[cc].Kind != model.KindConcat {
		t.Fatal("unexpected test model")
	}
	id := cc + 1
	out := base.Trace.Tensors[id].I8
	W := out.Shape[1]
	var i, j int
	seed := findSeed(t, func(seed fr.Element) bool {
		x := slotWords(seed, int(model.KindConcat), 0)
		i, j = mod(x[1], T), mod(x[2], W)
		return countReaders(cl, honest, seed, id) == 1 // the concat slot alone
	})
	tr := base.Trace.Clone()
	y := &tr.Tensors[id].I8.Data[i*W+j]
	if *y == 127 {
		*y--
	} else {
		*y++
	}
	st := &Statement{Model: m, Job: base.Job, Trace: tr, Tokens: base.Tokens, Seed: seed}
	src, err := newSource(m, tr)
	if err != nil {
		t.Fatal(err)
	}
	tl := make([]fr.Element, len(src.roots)+1)
	for k, r := range src.roots {
		tl[k] = commit.Hash(jobs.TagTraceTensor, commit.Uint(uint64(k)), r.Row, r.Col)
	}
	fake := len(src.roots) // a padding position of the tree of depth 5
	tl[fake] = commit.Hash(jobs.TagTraceTensor, commit.Uint(uint64(id)), honest.roots[id].Row, honest.roots[id].Col)
	src.tensors = commit.NewLeafTree(tl, bitLen(len(src.roots)))
	a := assignSrc(t, cl, st, src)
	sl := &a.Ops[model.KindConcat][0]
	sl.Tensors[2] = tensorOpen{Row: honest.roots[id].Row, Col: honest.roots[id].Col, Path: path(src.tensors.Siblings(fake), cl.OpDepth)}
	if sl.Rows[2], err = rowAt(cl, honest, id, i, cl.RowDepth); err != nil {
		t.Fatal(err)
	}
	if solveCompiled(t, ccs, a, lyingBits(t, cl.OpDepth, big.NewInt(int64(id)), big.NewInt(int64(fake)))) == nil {
		t.Fatal("accepted")
	}
}

// countReaders is the number of op slots that decompose the value id as an op index or a
// tensor id.
func countReaders(cl *Class, src *source, seed fr.Element, id int) int {
	n := 0
	L := len(src.m.Ops)
	for _, x := range []int{L - 1, 0, L} {
		if x == id {
			n++
		}
	}
	for k := 1; k <= model.NumKinds; k++ {
		if src.counts[k] == 0 {
			continue
		}
		for si := range cl.Slots[k] {
			u := src.opOfRank(model.Kind(k), mod(slotWords(seed, k, si)[0], src.counts[k]))
			hit := u == id || u+1 == id
			if model.Kind(k) != model.KindPosition {
				for _, in := range src.m.Ops[u].In {
					hit = hit || in == id
				}
			}
			if hit {
				n++
			}
		}
	}
	return n
}

// Lies against the targeted mode (targeted.go): another model or trace under the public
// roots, and an answer about another element than the one named (the row's or the column's
// decomposition lies).
func TestAttackTargeted(t *testing.T) {
	cl := testClass()
	st := everyKindStatement(t, 11)
	m, tr := st.Model, st.Trace
	const u = 2 // the add x = e + p
	if m.Ops[u].Kind != model.KindAdd {
		t.Fatal("unexpected test model")
	}
	with := func(m *model.Model, tr *model.Trace) *Statement {
		return &Statement{Model: m, Job: st.Job, Trace: tr, Tokens: st.Tokens}
	}
	e := opElement(u, 3, 1)
	if err := solveT(t, assignT(t, cl, st, e)); err != nil {
		t.Fatal(err)
	}
	t.Run("another model under the named root", func(t *testing.T) {
		o := everyKindStatement(t, 12) // other random parameters
		a := assignT(t, cl, &Statement{Model: o.Model, Job: o.Job, Trace: o.Trace, Tokens: o.Tokens}, e)
		a.ModelRoot = assignT(t, cl, st, e).ModelRoot
		if solveT(t, a) == nil {
			t.Fatal("accepted")
		}
	})
	t.Run("another trace under the named root", func(t *testing.T) {
		o := everyKindStatement(t, 12)
		a := assignT(t, cl, st, e)
		jd, err := st.Job.Digest()
		if err != nil {
			t.Fatal(err)
		}
		a.TraceRoot = jobs.TraceRoot(jd, o.Trace.T, mustRoots(t, o))
		if solveT(t, a) == nil {
			t.Fatal("accepted")
		}
	})
	t.Run("answer about another row", func(t *testing.T) {
		a := assignT(t, cl, st, opElement(u, 5, int(e.Col)))
		a.Element = e.Word()
		if solveT(t, a, lyingBits(t, cl.RowDepth, big.NewInt(int64(e.Row)), big.NewInt(5))) == nil {
			t.Fatal("accepted")
		}
	})
	// The logits linear's element (3, c) falsified to column c' 's value, answered with
	// column c' 's parameter row: the column's decomposition lies. Every row Pick decomposes
	// the same column into as many bits, so the lie is told once, to the first decomposition
	// of c (the slot's own, in Define's order: the test engine runs Define sequentially).
	t.Run("answer about another column", func(t *testing.T) {
		lin := len(m.Ops) - 1
		if m.Ops[lin].Kind != model.KindLinear {
			t.Fatal("unexpected test model")
		}
		y := tr.Tensors[lin+1].I8
		W := y.Shape[1]
		row := int(e.Row)
		c, c2 := 1, -1
		for k := range W {
			if k != c && y.Data[row*W+k] != y.Data[row*W+c] {
				c2 = k
				break
			}
		}
		if c2 < 0 {
			t.Fatal("a constant logits row")
		}
		ft := tr.Clone()
		ft.Tensors[lin+1].I8.Data[row*W+c] = y.Data[row*W+c2]
		a := assignT(t, cl, with(m, ft), opElement(lin, row, c2))
		a.Element = opElement(lin, row, c).Word()
		nb := nBits(t)
		told := false
		lie := test.WithReplacementHint(solver.GetHintID(nb), func(f *big.Int, in, out []*big.Int) error {
			if err := nb(f, in, out); err != nil {
				return err
			}
			if !told && len(out) == bitLen(cl.Width()) && in[0].Cmp(big.NewInt(int64(c))) == 0 {
				told = true
				for i := range out {
					out[i].SetUint64(uint64(c2>>i) & 1)
				}
			}
			return nil
		})
		if test.IsSolved(NewTargeted(cl), a, ecc.BN254.ScalarField(), lie) == nil {
			t.Fatal("accepted")
		}
	})
}

func mustRoots(t *testing.T, st *Statement) []jobs.TensorRoots {
	t.Helper()
	r, err := jobs.CommitTrace(st.Model, st.Trace)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// assignTargetedSrc is AssignTargeted for a patched source (the public trace root recomputed
// with the trace tree's depth d) and an op element e that exists.
func assignTargetedSrc(t *testing.T, cl *Class, st *Statement, src *source, e jobs.Element, d int) *Targeted {
	t.Helper()
	c := assignT(t, cl, st, e)
	c.preimages = fillPreimages(cl, st, src)
	m, tr := src.m, src.tr
	jd := fe(t, c.JobDigest)
	u := commit.Uint
	c.TraceRoot = commit.Hash(jobs.TagTrace, u(jobs.TraceVersion), jd, u(uint64(tr.T)), u(uint64(len(m.Ops)+1)), u(uint64(d)), src.tensors.TreeRoot())
	k := m.Ops[e.Op].Kind
	var err error
	if c.Slots[k-1], err = fillAt(cl, src, k, element{u: int(e.Op), i: int(e.Row), j: int(e.Col), tie: int(e.Row)}); err != nil {
		t.Fatal(err)
	}
	if c.Input, err = inputAt(cl, src, 0); err != nil {
		t.Fatal(err)
	}
	if c.Select, err = selectAt(cl, src, len(st.Job.Prompt), 0); err != nil {
		t.Fatal(err)
	}
	return c
}

// The targeted mode's trees at a non-canonical depth, as TestAttackDepths and
// TestAttackTraceTreeDepth do for the sampled circuit: every row tree one level deeper (the
// named op is a position op, so that the dummy position table, of T rows, is not in a slot),
// and the trace tree one level deeper.
func TestAttackTargetedDepths(t *testing.T) {
	cl := testClass()
	ccs, err := frontend.Compile(ecc.BN254.ScalarField(), r1cs.NewBuilder, NewTargeted(cl))
	if err != nil {
		t.Fatal(err)
	}
	solveT := func(a *Targeted, opts ...solver.Option) error {
		w, err := frontend.NewWitness(a, ecc.BN254.ScalarField())
		if err != nil {
			t.Fatal(err)
		}
		return ccs.IsSolved(w, opts...)
	}
	st := everyKindRows(t, 11, 8) // T = 7, 16 tensors, a position table of 8 rows
	const pos = 1
	if st.Model.Ops[pos].Kind != model.KindPosition {
		t.Fatal("unexpected test model")
	}
	e := opElement(pos, 2, 1)
	T := st.Trace.T
	t.Run("row trees one level deeper", func(t *testing.T) {
		src, err := newSource(st.Model, st.Trace)
		if err != nil {
			t.Fatal(err)
		}
		if err := solveT(assignTargetedSrc(t, cl, st, src, e, bitLen(len(src.roots)))); err != nil {
			t.Fatalf("honest refused: %v", err)
		}
		deeper := bitLen(T) + 1 // every row tree rebuilt at the deeper depth
		deepenRows(t, src, deeper)
		retree(src, bitLen(len(src.roots)))
		a := assignTargetedSrc(t, cl, st, src, e, bitLen(len(src.roots)))
		if solveT(a, lyingDepth(int64(T), int64(deeper))) == nil {
			t.Fatal("accepted")
		}
	})
	t.Run("trace tree one level deeper", func(t *testing.T) {
		src, err := newSource(st.Model, st.Trace)
		if err != nil {
			t.Fatal(err)
		}
		n := len(src.roots)
		d := bitLen(n) + 1
		retree(src, d)
		a := assignTargetedSrc(t, cl, st, src, e, d)
		if solveT(a, lyingDepth(int64(n), int64(d))) == nil {
			t.Fatal("accepted")
		}
	})
}
