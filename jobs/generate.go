package jobs

import (
	"errors"
	"fmt"
	"unicode/utf8"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"

	"github.com/probitylabs/probity/model"
	"github.com/probitylabs/probity/ops"
	"github.com/probitylabs/probity/tensor"
)

// MaxTraceRows bounds a generation trace's rows (specs/trace.md §1).
const MaxTraceRows = 1 << 20

// Selection is how a generation job picks each next token (specs/trace.md §3): argmax, or
// seeded top-k sampling with an exp table that carries the temperature.
type Selection struct {
	Sample bool
	Table  ops.ExpTable // sample only
	K      int          // sample only
	Seed   uint64       // sample only; the buyer's choice, part of the job
}

// GenJob is a generation job (specs/trace.md §1): the model it runs (by root), the prompt's
// token ids, the number of new tokens and the selection.
type GenJob struct {
	ModelRoot fr.Element
	Prompt    []int32
	New       int
	Select    Selection
	// Hardware, when set, is what the job requires of the GPUs that run it, committed to by
	// the request's salt under HardwareNonce (hardware.go); not part of the job digest.
	Hardware      *Hardware
	HardwareNonce [32]byte
}

// ErrInvalidJob reports a generation job that breaks a rule of specs/trace.md §1: it is
// refused before lock, from the job and the model alone.
var ErrInvalidJob = errors.New("invalid generation job")

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalidJob, fmt.Sprintf(format, args...))
}

// Rows is the trace's row count T = P + n - 1.
func (j *GenJob) Rows() int { return len(j.Prompt) + j.New - 1 }

// Checked is a job checked against its model (GenJob.Check). The executor and the checks of a
// trace take it, so the model root, which hashes every parameter, is computed once per job and
// no trace is checked against a job that was not.
type Checked struct {
	Model *model.Model
	Job   *GenJob
	Vocab int // V, the logits' width
}

// Check validates the job against its model (specs/trace.md §1): the model's root, I32 input,
// causal graph, I8 logits as last result, prompt ids inside every embed table, T within every
// position table, and the selection's parameters.
func (j *GenJob) Check(m *model.Model) (*Checked, error) {
	V, err := j.check(m)
	if err != nil {
		return nil, err
	}
	return &Checked{Model: m, Job: j, Vocab: V}, nil
}

func (j *GenJob) check(m *model.Model) (V int, err error) {
	root, err := m.Root()
	if err != nil {
		return 0, err
	}
	if !root.Equal(&j.ModelRoot) {
		return 0, invalid("model root %s is not the job's %s", root.String(), j.ModelRoot.String())
	}
	shapes, _ := m.Shapes()
	if m.Input.DType != model.I32 {
		return 0, invalid("the model's input is %v, a generation model takes I32 token ids", m.Input.DType)
	}
	if !m.IsCausal() {
		return 0, invalid("the model is not causal (specs/trace.md §1), so its rows cannot be generated one step at a time")
	}
	out := shapes[len(shapes)-1]
	if out.DType != model.I8 || out.Width == model.Seq {
		return 0, invalid("the model's last result is not I8 logits of constant width")
	}
	V = out.Width
	P := len(j.Prompt)
	if P < 1 {
		return 0, invalid("empty prompt")
	}
	if j.New < 1 {
		return 0, invalid("new = %d, at least 1 token must be generated", j.New)
	}
	if T := j.Rows(); T > MaxTraceRows {
		return 0, invalid("%d trace rows, at most %d", T, MaxTraceRows)
	}
	for i := range m.Ops {
		op := &m.Ops[i]
		switch {
		case op.Kind == model.KindSoftmax && shapes[op.In[0]].Width == model.Seq && j.Rows() > 1<<16:
			return 0, invalid("a trace of %d rows, but op %d (%s) takes softmax rows of at most 2^16", j.Rows(), i, op.Name)
		case op.Kind == model.KindEmbed && op.In[0] > 0:
			// Ids computed by an argmax are columns of its operand: the table must hold them all.
			src := &m.Ops[op.In[0]-1]
			if w := shapes[src.In[0]].Width; w == model.Seq || w > op.Weight.Shape[0] {
				return 0, invalid("op %d (%s) embeds ids of up to %s columns into a table of %d rows", i, op.Name, model.WidthString(w), op.Weight.Shape[0])
			}
		case op.Kind == model.KindEmbed && op.In[0] == 0:
			Vin := op.Weight.Shape[0]
			for t, id := range j.Prompt {
				if id < 0 || int(id) >= Vin {
					return 0, invalid("prompt token %d at position %d is outside the vocabulary [0, %d)", id, t, Vin)
				}
			}
			if V > Vin {
				// A generated token is fed back as input, so every logit column must be an id.
				return 0, invalid("logits have %d columns, the embedding only %d rows", V, Vin)
			}
		case op.Kind == model.KindPosition:
			if ctx := op.Weight.Shape[0]; j.Rows() > ctx {
				return 0, invalid("prompt %d + %d new tokens is a trace of %d rows, the model's context is %d (at most %d new tokens after this prompt)", P, j.New, j.Rows(), ctx, max(0, ctx-P+1))
			}
		}
	}
	if j.Select.Sample {
		if err := j.Select.Table.Validate("sample"); err != nil {
			return 0, invalid("%v", err)
		}
		if j.Select.K < 1 || j.Select.K > V {
			return 0, invalid("sample k = %d not in [1, %d]", j.Select.K, V)
		}
		if V > 1<<16 {
			return 0, invalid("sampling needs logits rows of at most 2^16, the model has %d", V)
		}
	}
	return V, nil
}

// splitmixGamma is SplitMix64's increment (specs/ops.md §11): the stream's state after s
// draws is seed + s·gamma, so decode step s samples with that as its seed.
const splitmixGamma = 0x9e3779b97f4a7c15

// selectRow picks the token of step s from one logits row.
func (j *GenJob) selectRow(row []int8, s int) (int32, error) {
	z := &tensor.Int8{Shape: []int{1, len(row)}, Data: row}
	var ids *tensor.Int32
	var err error
	if j.Select.Sample {
		ids, err = ops.Sample(z, ops.SampleParams{Table: j.Select.Table, K: j.Select.K, Seed: j.Select.Seed + uint64(s)*splitmixGamma})
	} else {
		ids, err = ops.Argmax(z)
	}
	if err != nil {
		return 0, err
	}
	return ids.Data[0], nil
}

// Generate checks job j against model m and runs it (Checked.Generate).
func Generate(m *model.Model, j *GenJob) (*model.Trace, []int32, error) {
	c, err := j.Check(m)
	if err != nil {
		return nil, nil, err
	}
	return c.Generate()
}

// Generate is the reference executor of a generation job (specs/trace.md §2): the prefill
// computes the prompt's rows, and each decode step one more row with the KV cache (the
// earlier rows of every tensor, kept in the pass). It returns the trace and the tokens.
func (c *Checked) Generate() (*model.Trace, []int32, error) {
	m, j, V := c.Model, c.Job, c.Vocab
	P, T := len(j.Prompt), j.Rows()
	p, err := model.NewPass(m, T)
	if err != nil {
		return nil, nil, err
	}
	ids := p.Input().I32.Data
	copy(ids, j.Prompt)
	logits := p.Tensor(len(m.Ops)).I8
	tokens := make([]int32, j.New)
	for s := range j.New {
		if err := p.Extend(P + s); err != nil {
			return nil, nil, err
		}
		r := P - 1 + s
		if tokens[s], err = j.selectRow(logits.Data[r*V:(r+1)*V], s); err != nil {
			return nil, nil, err
		}
		if s+1 < j.New {
			ids[P+s] = tokens[s]
		}
	}
	return p.Trace(), tokens, nil
}

// ByteTokens is text as the token ids of a byte-level model (a vocabulary of 256: token id =
// byte), the tokenization of the shipped models and of `probity generate --prompt`.
func ByteTokens(b []byte) []int32 {
	ids := make([]int32, len(b))
	for i, c := range b {
		ids[i] = int32(c)
	}
	return ids
}

// ByteText is the inverse of ByteTokens for ids in [0, 256); ok is false when an id is
// outside that range or the bytes are not UTF-8.
func ByteText(tokens []int32) (text string, ok bool) {
	b := make([]byte, len(tokens))
	for i, t := range tokens {
		if t < 0 || t > 255 {
			return "", false
		}
		b[i] = byte(t)
	}
	return string(b), utf8.Valid(b)
}

// TraceBytes is the memory the trace of job j on model m takes: every tensor's T rows
// (width-T tensors T×T bytes, I32 tensors 4 bytes a row). The reference executor keeps it
// all (the trace is committed whole), so a node compares it with its memory before it takes
// the job. The model must be valid.
func (j *GenJob) TraceBytes(m *model.Model) (int64, error) {
	shapes, err := m.Shapes()
	if err != nil {
		return 0, err
	}
	T := int64(max(j.Rows(), 1))
	var n int64
	for _, s := range shapes {
		switch {
		case s.DType == model.I32:
			n += 4 * T
		case s.Width == model.Seq:
			n += T * T
		default:
			n += T * int64(s.Width)
		}
	}
	return n, nil
}
