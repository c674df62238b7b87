package jobs

import (
	"fmt"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"

	"github.com/probitylabs/probity/commit"
	"github.com/probitylabs/probity/model"
	"github.com/probitylabs/probity/tensor"
)

// Domain tags of specs/trace.md (32..47 are the trace's).
const (
	TagTraceTensor uint64 = 32
	TagTrace       uint64 = 33
	TagResult      uint64 = 34
	TagJob         uint64 = 35
)

// KindIDs is the commitment kind of an I32 [T] trace tensor (token ids, argmax results),
// beside commit's 1, 2 and model's 3..5.
const KindIDs = 6

// TraceVersion is word 0 of the trace root's preimage.
const TraceVersion = 1

// TensorRoots are one trace tensor's commitments (specs/trace.md §5): by rows, and by
// columns for the values operand of a P·V matmul (zero otherwise).
type TensorRoots struct {
	Row, Col fr.Element
}

// columnRead marks the tensors that are operand B of a matmul with transB = 0: a sample of
// an output column reads one of their columns, so the trace commits them by columns too.
func columnRead(m *model.Model) map[int]bool {
	cols := map[int]bool{}
	for i := range m.Ops {
		if op := &m.Ops[i]; op.Kind == model.KindMatmul && !op.TransB {
			cols[op.In[1]] = true
		}
	}
	return cols
}

// TensorTrees are one trace tensor's committed trees with their roots: by rows, and by columns
// for the values operand of a P·V matmul (Col nil otherwise). The universal circuit's witness
// opens rows from them.
type TensorTrees struct {
	Row, Col *commit.Tree
	Roots    TensorRoots
}

// CommitTrace returns every tensor's roots, indexed by tensor id.
func CommitTrace(m *model.Model, tr *model.Trace) ([]TensorRoots, error) {
	trees, err := CommitTraceTrees(m, tr)
	if err != nil {
		return nil, err
	}
	roots := make([]TensorRoots, len(trees))
	for id, t := range trees {
		roots[id] = t.Roots
	}
	return roots, nil
}

// CommitTraceTrees commits every trace tensor (specs/trace.md §5) and keeps the trees.
func CommitTraceTrees(m *model.Model, tr *model.Trace) ([]TensorTrees, error) {
	if _, err := model.Over(m, tr); err != nil {
		return nil, err
	}
	depth := commit.LayerDepth(tr.T)
	cols := columnRead(m)
	trees := make([]TensorTrees, len(tr.Tensors))
	for id, v := range tr.Tensors {
		if v.I32 != nil {
			leaves := make([]fr.Element, tr.T)
			for i, x := range v.I32.Data {
				leaves[i] = commit.Hash(commit.TagLeaf, commit.BiasElement(x))
			}
			t := commit.NewLeafTree(leaves, depth)
			trees[id].Row = t
			trees[id].Roots.Row = commit.ShapeRoot(KindIDs, tr.T, 1, depth, t.TreeRoot())
			continue
		}
		t, err := commit.CommitActivations(v.I8, depth)
		if err != nil {
			return nil, fmt.Errorf("trace tensor %d: %w", id, err)
		}
		trees[id].Row, trees[id].Roots.Row = t, t.Root()
		if cols[id] {
			bt := transpose(v.I8)
			ct, err := commit.CommitActivations(bt, commit.LayerDepth(bt.Shape[0]))
			if err != nil {
				return nil, fmt.Errorf("trace tensor %d columns: %w", id, err)
			}
			trees[id].Col, trees[id].Roots.Col = ct, ct.Root()
		}
	}
	return trees, nil
}

func transpose(x *tensor.Int8) *tensor.Int8 {
	M, N := x.Shape[0], x.Shape[1]
	out := tensor.NewInt8(N, M)
	for i := range M {
		for j := range N {
			out.Data[j*M+i] = x.Data[i*N+j]
		}
	}
	return out
}

// TensorLeaves are the trace tree's leaves S(TRACE_TENSOR; t, row root, column root).
func TensorLeaves(roots []TensorRoots) []fr.Element {
	leaves := make([]fr.Element, len(roots))
	for t, r := range roots {
		leaves[t] = commit.Hash(TagTraceTensor, commit.Uint(uint64(t)), r.Row, r.Col)
	}
	return leaves
}

// TraceRoot is specs/trace.md §5's S(TRACE; 1, job digest, T, L+1, d, R) over the tensor
// leaves S(TRACE_TENSOR; t, row root, column root).
func TraceRoot(jobDigest fr.Element, T int, roots []TensorRoots) fr.Element {
	leaves := TensorLeaves(roots)
	d := commit.LayerDepth(len(leaves))
	return commit.Hash(TagTrace, commit.Uint(TraceVersion), jobDigest, commit.Uint(uint64(T)),
		commit.Uint(uint64(len(leaves))), commit.Uint(uint64(d)), commit.Merkle(leaves, d))
}

// Digest is the job digest of specs/trace.md §1.3: S(JOB; 1, model root, n, select, k, seed,
// 18 exp-table words, P, prompt words), ten 24-bit ids per prompt word and the table packed as
// a softmax descriptor's (model.md §3); argmax jobs have k, seed and the table words 0. It
// binds everything that decides the tokens, so a trace root (and a receipt) names one job.
func (j *GenJob) Digest() (fr.Element, error) {
	w := []fr.Element{commit.Uint(1), j.ModelRoot, commit.Uint(uint64(j.New))}
	if j.Select.Sample {
		w = append(w, commit.Uint(1), commit.Uint(uint64(j.Select.K)), commit.Uint(j.Select.Seed))
		w = append(w, packWords(j.Select.Table[:], 15, 16)...)
	} else {
		w = append(w, commit.Uint(0), commit.Uint(0), commit.Uint(0))
		w = append(w, make([]fr.Element, 18)...)
	}
	for t, id := range j.Prompt {
		if id < 0 || id >= 1<<24 {
			return fr.Element{}, fmt.Errorf("job digest: prompt id %d at %d is not in [0, 2^24)", id, t)
		}
	}
	w = append(w, commit.Uint(uint64(len(j.Prompt))))
	w = append(w, packWords(j.Prompt, tokensPerWord, 24)...)
	return commit.Hash(TagJob, w...), nil
}

// packWords packs non-negative values of at most bits bits, per values to a word,
// little-endian (the first value in the low bits).
func packWords(vs []int32, per int, bits uint) []fr.Element {
	var shift fr.Element
	shift.SetUint64(1 << bits)
	var out []fr.Element
	for q := 0; q*per < len(vs); q++ {
		var w fr.Element
		for r := per - 1; r >= 0; r-- {
			w.Mul(&w, &shift)
			if k := q*per + r; k < len(vs) {
				e := commit.Uint(uint64(vs[k]))
				w.Add(&w, &e)
			}
		}
		out = append(out, w)
	}
	return out
}

// IDWords packs token ids ten to a word as the job and result digests do (specs/trace.md §1.3,
// §4); the universal circuit takes these words as its witness.
func IDWords(ids []int32) []fr.Element { return packWords(ids, tokensPerWord, 24) }

// tokensPerWord is the result digest's packing: ten 24-bit token ids per field element.
const tokensPerWord = 10

// ResultDigest is specs/trace.md §4's S(RESULT; n, w_0, ..., w_{c-1}), ten 24-bit tokens per
// word, little-endian. Token ids must be in [0, 2^24).
func ResultDigest(tokens []int32) (fr.Element, error) {
	for k, t := range tokens {
		if t < 0 || t >= 1<<24 {
			return fr.Element{}, fmt.Errorf("result: token %d at %d is not in [0, 2^24)", t, k)
		}
	}
	words := append([]fr.Element{commit.Uint(uint64(len(tokens)))}, packWords(tokens, tokensPerWord, 24)...)
	return commit.Hash(TagResult, words...), nil
}

// inputID is row r of the trace's input (trace.md §2): the prompt's id there, or the token
// generated r - P steps before.
func (j *GenJob) inputID(r int, tokens []int32) int32 {
	if P := len(j.Prompt); r >= P {
		return tokens[r-P]
	}
	return j.Prompt[r]
}

// selected is generated token q as the job's selection picks it over logits row P - 1 + q
// (trace.md §3).
func (c *Checked) selected(logits *tensor.Int8, q int) (int32, error) {
	r, V := len(c.Job.Prompt)-1+q, c.Vocab
	return c.Job.selectRow(logits.Data[r*V:(r+1)*V], q)
}

// CheckTrace is the node's and the auditor's check of a trace another implementation
// computed (specs/trace.md §7): the shapes, the input (the prompt followed by the tokens), the
// tokens (the selection over the logits rows), and the rows of every op at the rows chosen by
// pick (recomputed from the trace's own operands with the reference ops). pick(i, T) returns
// the rows to recheck for op i; nil rechecks every row.
func (c *Checked) CheckTrace(tr *model.Trace, tokens []int32, pick func(op, T int) []int) error {
	m, j := c.Model, c.Job
	P, T := len(j.Prompt), j.Rows()
	if tr.T != T {
		return fmt.Errorf("%w: the trace has %d rows, the job %d (a delivery for another job?)", model.ErrMismatch, tr.T, T)
	}
	p, err := model.Over(m, tr)
	if err != nil {
		return err
	}
	if len(tokens) != j.New {
		return fmt.Errorf("result: %d tokens, the job asks for %d", len(tokens), j.New)
	}
	ids := tr.Tensors[0].I32.Data
	for t := range T {
		if want := j.inputID(t, tokens); ids[t] != want {
			return fmt.Errorf("%w: input row %d is %d, the prompt and tokens give %d (a delivery for another job?)", model.ErrMismatch, t, ids[t], want)
		}
	}
	logits := tr.Output().I8
	for s := range j.New {
		r := P - 1 + s
		g, err := c.selected(logits, s)
		if err != nil {
			return err
		}
		if g != tokens[s] {
			return fmt.Errorf("%w: token %d is %d, the selection over logits row %d gives %d", model.ErrMismatch, s, tokens[s], r, g)
		}
	}
	for i := range m.Ops {
		if pick == nil {
			if err := p.CheckRows(i, 0, T); err != nil {
				return err
			}
			continue
		}
		for _, r := range pick(i, T) {
			if err := p.CheckRows(i, r, r+1); err != nil {
				return err
			}
		}
	}
	return nil
}
