package jobs

import (
	"bytes"
	"errors"
	"fmt"
	"math/big"
	"regexp"
	"slices"
	"strconv"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"

	"github.com/probitylabs/probity/model"
	"github.com/probitylabs/probity/tensor"
)

// Files of a generation job (specs/trace.md §1.1, §4, §6).
const (
	JobFile    = "job.safetensors"
	TraceFile  = "trace.safetensors"
	ResultFile = "result.safetensors"
	// JobFormat is the job file's probity.format.
	JobFormat = "job/v1"
	// TokensTensor is the result file's one tensor.
	TokensTensor = "tokens"
)

// ErrFile reports a job, trace or result file that breaks its rules; the message names the
// rule.
var ErrFile = errors.New("malformed generation file")

func fileErr(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrFile, fmt.Sprintf(format, args...))
}

func encode(ts map[string]any, md map[string]string) ([]byte, error) {
	var buf bytes.Buffer
	if err := tensor.Write(&buf, ts, md); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// EncodeJob writes the canonical job file.
func EncodeJob(j *GenJob) ([]byte, error) {
	md := map[string]string{
		"probity.format": JobFormat,
		"model.root":     j.ModelRoot.String(),
		"new":            strconv.Itoa(j.New),
		"select":         "argmax",
	}
	ts := map[string]any{"prompt": &tensor.Int32{Shape: []int{len(j.Prompt)}, Data: j.Prompt}}
	if j.Select.Sample {
		md["select"] = "sample"
		md["sample.k"] = strconv.Itoa(j.Select.K)
		md["sample.seed"] = strconv.FormatUint(j.Select.Seed, 10)
		ts["sample.table"] = &tensor.Int32{Shape: []int{256}, Data: j.Select.Table[:]}
	}
	if j.Hardware != nil {
		canon, err := j.Hardware.Canonical()
		if err != nil {
			return nil, err
		}
		md["hardware"], md["hardware.nonce"] = string(canon), fmt.Sprintf("0x%x", j.HardwareNonce)
	}
	return encode(ts, md)
}

var canonUint = regexp.MustCompile(`^(0|[1-9][0-9]*)$`)

func parseUint(key, s string, max uint64) (uint64, error) {
	if !canonUint.MatchString(s) {
		return 0, fileErr("%s %q is not a canonical unsigned integer", key, s)
	}
	v, err := strconv.ParseUint(s, 10, 64)
	if err != nil || v > max {
		return 0, fileErr("%s %s is above %d", key, s, max)
	}
	return v, nil
}

// ParseJob reads a job file strictly: the container, exactly the keys and tensors of its
// selection, canonical integers, the model root a field element, and byte-for-byte canonical
// form. It does not check the job against a model (GenJob.Check does).
func ParseJob(b []byte) (*GenJob, error) {
	f, err := tensor.Read(bytes.NewReader(b))
	if err != nil {
		return nil, fileErr("job: %v", err)
	}
	md := f.Metadata
	if md["probity.format"] != JobFormat {
		return nil, fileErr("job: probity.format is %q, want %q", md["probity.format"], JobFormat)
	}
	keys := []string{"model.root", "new", "probity.format", "select"}
	names := []string{"prompt"}
	j := &GenJob{}
	switch md["select"] {
	case "argmax":
	case "sample":
		j.Select.Sample = true
		keys = append(keys, "sample.k", "sample.seed")
		names = append(names, "sample.table")
	default:
		return nil, fileErr("job: select %q is neither argmax nor sample", md["select"])
	}
	_, hw := md["hardware"]
	if _, nonce := md["hardware.nonce"]; hw || nonce {
		keys = append(keys, "hardware", "hardware.nonce") // both or neither
	}
	for k := range md {
		if !slices.Contains(keys, k) {
			return nil, fileErr("job: extra metadata %q", k)
		}
	}
	for _, k := range keys {
		if _, ok := md[k]; !ok {
			return nil, fileErr("job: metadata %q missing", k)
		}
	}
	if got := slices.Sorted(slices.Values(f.Names())); !slices.Equal(got, names) {
		return nil, fileErr("job: tensors %v, want exactly %v", got, names)
	}
	r, ok := new(big.Int).SetString(md["model.root"], 10)
	if !ok || !canonUint.MatchString(md["model.root"]) || r.Cmp(fr.Modulus()) >= 0 {
		return nil, fileErr("job: model.root %q is not a canonical field element", md["model.root"])
	}
	j.ModelRoot.SetBigInt(r)
	n, err := parseUint("new", md["new"], MaxTraceRows)
	if err != nil {
		return nil, err
	}
	j.New = int(n)
	prompt, err := f.Int32("prompt")
	if err != nil || len(prompt.Shape) != 1 {
		return nil, fileErr("job: prompt must be I32 [P] (%v)", err)
	}
	j.Prompt = prompt.Data
	if j.Select.Sample {
		k, err := parseUint("sample.k", md["sample.k"], model.MaxWidth)
		if err != nil {
			return nil, err
		}
		seed, err := parseUint("sample.seed", md["sample.seed"], ^uint64(0))
		if err != nil {
			return nil, err
		}
		j.Select.K, j.Select.Seed = int(k), seed
		t, err := f.Int32("sample.table")
		if err != nil || !slices.Equal(t.Shape, []int{256}) {
			return nil, fileErr("job: sample.table must be I32 [256] (%v)", err)
		}
		copy(j.Select.Table[:], t.Data)
	}
	if hw {
		if j.Hardware, err = ParseHardware([]byte(md["hardware"])); err != nil {
			return nil, fileErr("job: hardware: %v", err)
		}
		if j.HardwareNonce, err = parseNonce(md["hardware.nonce"]); err != nil {
			return nil, err
		}
	}
	canon, err := EncodeJob(j)
	if err != nil {
		return nil, err
	}
	if !bytes.Equal(canon, b) {
		return nil, fileErr("job: not the canonical encoding (%d bytes, canonical %d)", len(b), len(canon))
	}
	return j, nil
}

// EncodeResult writes the canonical result file: the tensor "tokens", I32 [n].
func EncodeResult(tokens []int32) ([]byte, error) {
	return encode(map[string]any{TokensTensor: &tensor.Int32{Shape: []int{len(tokens)}, Data: tokens}}, nil)
}

// ParseResult reads a result file: exactly the tensor "tokens" (I32 [n], n >= 1), canonical.
func ParseResult(b []byte) ([]int32, error) {
	f, err := tensor.Read(bytes.NewReader(b))
	if err != nil {
		return nil, fileErr("result: %v", err)
	}
	if len(f.Metadata) != 0 || !slices.Equal(f.Names(), []string{TokensTensor}) {
		return nil, fileErr("result: must hold exactly the tensor %q and no metadata", TokensTensor)
	}
	t, err := f.Int32(TokensTensor)
	if err != nil || len(t.Shape) != 1 || t.Shape[0] < 1 {
		return nil, fileErr("result: tokens must be I32 [n], n >= 1 (%v)", err)
	}
	if canon, _ := EncodeResult(t.Data); !bytes.Equal(canon, b) {
		return nil, fileErr("result: not the canonical encoding")
	}
	return t.Data, nil
}

// EncodeTrace writes the trace file: every tensor under its model name (specs/trace.md §6).
func EncodeTrace(m *model.Model, tr *model.Trace) ([]byte, error) {
	if _, err := model.Over(m, tr); err != nil {
		return nil, err
	}
	ts := map[string]any{m.Input.Name: value(tr.Tensors[0])}
	for i := range m.Ops {
		ts[m.Ops[i].Name] = value(tr.Tensors[i+1])
	}
	return encode(ts, nil)
}

func value(v model.Value) any {
	if v.I32 != nil {
		return v.I32
	}
	return v.I8
}

// ParseTrace reads a trace file of model m: exactly one tensor per model tensor, by name,
// with the graph's dtypes and shapes for T rows; canonical.
func ParseTrace(m *model.Model, b []byte) (*model.Trace, error) {
	f, err := tensor.Read(bytes.NewReader(b))
	if err != nil {
		return nil, fileErr("trace: %v", err)
	}
	shapes, err := m.Shapes()
	if err != nil {
		return nil, err
	}
	names := []string{m.Input.Name}
	for i := range m.Ops {
		names = append(names, m.Ops[i].Name)
	}
	if got, want := slices.Sorted(slices.Values(f.Names())), slices.Sorted(slices.Values(names)); len(f.Metadata) != 0 || !slices.Equal(got, want) {
		return nil, fileErr("trace: tensors %d, want exactly the model's %d (and no metadata)", len(got), len(want))
	}
	tr := &model.Trace{Tensors: make([]model.Value, len(names))}
	for id, name := range names {
		if shapes[id].DType == model.I32 {
			t, err := f.Int32(name)
			if err != nil {
				return nil, fileErr("trace: %s: %v", name, err)
			}
			tr.Tensors[id] = model.Value{I32: t}
			if len(t.Shape) == 1 && id == 0 {
				tr.T = t.Shape[0]
			}
		} else {
			t, err := f.Int8(name)
			if err != nil {
				return nil, fileErr("trace: %s: %v", name, err)
			}
			tr.Tensors[id] = model.Value{I8: t}
		}
	}
	if _, err := model.Over(m, tr); err != nil {
		return nil, fileErr("%v", err)
	}
	if canon, _ := EncodeTrace(m, tr); !bytes.Equal(canon, b) {
		return nil, fileErr("trace: not the canonical encoding")
	}
	return tr, nil
}

// Generated is a checked generation: the tokens, their result digest, and the trace's roots.
type Generated struct {
	Trace        *model.Trace
	Tokens       []int32
	Roots        []TensorRoots
	JobDigest    fr.Element
	TraceRoot    fr.Element
	ResultDigest fr.Element
}

// Verify checks a trace and result file computed by someone else for the job (the node
// checking its executor, a buyer or auditor checking a delivery): both files' rules, the trace
// against the job and the tokens (CheckTrace, with pick choosing the recomputed rows), and
// returns the commitments the receipt states.
func (c *Checked) Verify(traceFile, resultFile []byte, pick func(op, T int) []int) (*Generated, error) {
	tr, err := ParseTrace(c.Model, traceFile)
	if err != nil {
		return nil, err
	}
	tokens, err := ParseResult(resultFile)
	if err != nil {
		return nil, err
	}
	if err := c.CheckTrace(tr, tokens, pick); err != nil {
		return nil, err
	}
	return c.Commit(tr, tokens)
}

// Commit computes a trace's roots, its trace root and the result digest.
func (c *Checked) Commit(tr *model.Trace, tokens []int32) (*Generated, error) {
	roots, err := CommitTrace(c.Model, tr)
	if err != nil {
		return nil, err
	}
	d, err := ResultDigest(tokens)
	if err != nil {
		return nil, err
	}
	jd, err := c.Job.Digest()
	if err != nil {
		return nil, err
	}
	return &Generated{Trace: tr, Tokens: tokens, Roots: roots, JobDigest: jd, TraceRoot: TraceRoot(jd, tr.T, roots), ResultDigest: d}, nil
}

// RandomRows returns a pick for CheckTrace that rechecks k rows of every op drawn from rng
// (all rows when T <= k): a lazy or broken executor is caught with the probability that its
// wrong rows are drawn, from a randomness it cannot predict.
func RandomRows(k int, next func(n int) int) func(op, T int) []int {
	return func(_, T int) []int {
		if T <= k {
			rows := make([]int, T)
			for r := range rows {
				rows[r] = r
			}
			return rows
		}
		rows := make([]int, k)
		for i := range rows {
			rows[i] = next(T)
		}
		return rows
	}
}
