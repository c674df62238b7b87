package jobs

import (
	"errors"
	"testing"

	"github.com/probitylabs/probity/model"
	"github.com/probitylabs/probity/model/modeltest"
)

func testModel(t testing.TB) *model.Model {
	t.Helper()
	m, err := modeltest.Decoder(model.DecoderConfig{Vocab: 40, Context: 24, Width: 16, Heads: 2, Blocks: 2}, 5)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func mustCheck(t testing.TB, m *model.Model, j *GenJob) *Checked {
	t.Helper()
	c, err := j.Check(m)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func testJob(t testing.TB, m *model.Model, sample bool) *GenJob {
	t.Helper()
	root, err := m.Root()
	if err != nil {
		t.Fatal(err)
	}
	j := &GenJob{ModelRoot: root, Prompt: []int32{3, 17, 4, 39, 0}, New: 7}
	if sample {
		j.Select = Selection{Sample: true, Table: model.ExpTableFor(1.0 / 16), K: 8, Seed: 1<<63 + 12345}
	}
	return j
}

// TestGenerateEqualsOnePass: the prefill-and-decode reference gives the trace of one pass over
// prompt || tokens[:n-1] (specs/trace.md §2), and its tokens are the selection over that
// pass's logits rows; the full recomputation check accepts it.
func TestGenerateEqualsOnePass(t *testing.T) {
	m := testModel(t)
	for _, sample := range []bool{false, true} {
		j := testJob(t, m, sample)
		tr, tokens, err := Generate(m, j)
		if err != nil {
			t.Fatal(err)
		}
		whole, err := model.Run(m, tr.Tensors[0])
		if err != nil {
			t.Fatal(err)
		}
		for id := range whole.Tensors {
			a, b := whole.Tensors[id], tr.Tensors[id]
			if a.I8 != nil && !a.I8.Equal(b.I8) {
				t.Fatalf("sample %v: tensor %d differs from one pass", sample, id)
			}
		}
		if err := mustCheck(t, m, j).CheckTrace(tr, tokens, nil); err != nil {
			t.Fatalf("sample %v: %v", sample, err)
		}
		distinct := map[int32]bool{}
		for _, g := range tokens {
			distinct[g] = true
		}
		t.Logf("sample %v: tokens %v", sample, tokens)
		if len(distinct) < 2 {
			t.Errorf("sample %v: tokens %v: the test model generates one token only, which checks little", sample, tokens)
		}
	}
}

// TestCheckTraceCatchesTampering: a changed trace element, token or input row is caught, by the
// recomputation of the changed row, by the selection or by the input check.
func TestCheckTraceCatchesTampering(t *testing.T) {
	m := testModel(t)
	j := testJob(t, m, true)
	tr, tokens, err := Generate(m, j)
	if err != nil {
		t.Fatal(err)
	}
	T := tr.T
	every := func(int, int) []int {
		rows := make([]int, T)
		for r := range rows {
			rows[r] = r
		}
		return rows
	}
	for id := 1; id < len(tr.Tensors); id++ {
		v := tr.Tensors[id]
		if v.I8 == nil {
			continue
		}
		k := (id * 7919) % len(v.I8.Data)
		v.I8.Data[k] ^= 1
		err := mustCheck(t, m, j).CheckTrace(tr, tokens, every)
		v.I8.Data[k] ^= 1
		if !errors.Is(err, model.ErrMismatch) {
			t.Fatalf("tensor %d (%s) element %d flipped: %v, want ErrMismatch", id, m.Ops[id-1].Name, k, err)
		}
	}
	tokens[3] = (tokens[3] + 1) % 40
	if err := mustCheck(t, m, j).CheckTrace(tr, tokens, every); !errors.Is(err, model.ErrMismatch) {
		t.Fatalf("changed token: %v", err)
	}
}

// TestInvalidJobs: each rule of specs/trace.md §1 refuses its job before anything runs.
func TestInvalidJobs(t *testing.T) {
	m := testModel(t)
	for name, edit := range map[string]func(j *GenJob){
		"wrong model root":      func(j *GenJob) { j.ModelRoot.SetUint64(1) },
		"empty prompt":          func(j *GenJob) { j.Prompt = nil },
		"token outside vocab":   func(j *GenJob) { j.Prompt[2] = 40 },
		"negative token":        func(j *GenJob) { j.Prompt[0] = -1 },
		"no new tokens":         func(j *GenJob) { j.New = 0 },
		"beyond context":        func(j *GenJob) { j.New = 24 - len(j.Prompt) + 2 },
		"sample k 0":            func(j *GenJob) { j.Select.K = 0 },
		"sample k above vocab":  func(j *GenJob) { j.Select.K = 41 },
		"sample table E[0] bad": func(j *GenJob) { j.Select.Table[0] = 1 },
	} {
		j := testJob(t, m, true)
		edit(j)
		if _, _, err := Generate(m, j); !errors.Is(err, ErrInvalidJob) {
			t.Errorf("%s: %v, want ErrInvalidJob", name, err)
		}
	}
	j := testJob(t, m, false)
	j.New = 24 - len(j.Prompt) + 1 // T = 24: exactly the context
	if _, _, err := Generate(m, j); err != nil {
		t.Errorf("a job filling the context exactly: %v", err)
	}
}

// TestGenFilesRoundTrip: job, trace and result files parse back to what was written, and a
// file that is not canonical or has an extra entry is refused with ErrFile.
func TestGenFilesRoundTrip(t *testing.T) {
	m := testModel(t)
	for _, sample := range []bool{false, true} {
		j := testJob(t, m, sample)
		b, err := EncodeJob(j)
		if err != nil {
			t.Fatal(err)
		}
		back, err := ParseJob(b)
		if err != nil {
			t.Fatal(err)
		}
		if b2, _ := EncodeJob(back); string(b2) != string(b) {
			t.Fatal("job round trip changed the file")
		}
		if _, err := ParseJob(append(b, 0)); !errors.Is(err, ErrFile) {
			t.Errorf("trailing byte: %v", err)
		}
		tr, tokens, err := Generate(m, back)
		if err != nil {
			t.Fatal(err)
		}
		tb, err := EncodeTrace(m, tr)
		if err != nil {
			t.Fatal(err)
		}
		tr2, err := ParseTrace(m, tb)
		if err != nil {
			t.Fatal(err)
		}
		if err := mustCheck(t, m, back).CheckTrace(tr2, tokens, nil); err != nil {
			t.Fatal(err)
		}
		rb, err := EncodeResult(tokens)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := ParseResult(rb); err != nil || len(got) != len(tokens) {
			t.Fatalf("result round trip: %v", err)
		}
	}
}

// TestTraceRootBindsEveryTensor: flipping one element of any tensor, or the model root, or P,
// changes the trace root; the values operands of P·V carry a column root.
func TestTraceRootBindsEveryTensor(t *testing.T) {
	m := testModel(t)
	j := testJob(t, m, false)
	tr, _, err := Generate(m, j)
	if err != nil {
		t.Fatal(err)
	}
	roots, err := CommitTrace(m, tr)
	if err != nil {
		t.Fatal(err)
	}
	jd, err := j.Digest()
	if err != nil {
		t.Fatal(err)
	}
	base := TraceRoot(jd, tr.T, roots)
	cols := 0
	for _, r := range roots {
		if !r.Col.IsZero() {
			cols++
		}
	}
	if cols != 4 { // 2 blocks x 2 heads of P·V
		t.Errorf("%d tensors with a column root, want 4", cols)
	}
	for id := range tr.Tensors {
		v := tr.Tensors[id]
		if v.I32 != nil {
			v.I32.Data[0] ^= 1
		} else {
			v.I8.Data[len(v.I8.Data)-1] ^= 1
		}
		r2, err := CommitTrace(m, tr)
		if v.I32 != nil {
			v.I32.Data[0] ^= 1
		} else {
			v.I8.Data[len(v.I8.Data)-1] ^= 1
		}
		if err != nil {
			t.Fatal(err)
		}
		if got := TraceRoot(jd, tr.T, r2); got.Equal(&base) {
			t.Fatalf("tensor %d: change not bound by the trace root", id)
		}
	}
}

// TestJobDigestBindsTheJob: every field that decides the tokens changes the job digest, so a
// trace root names one job (the seed decides the last token, which is in no trace tensor).
func TestJobDigestBindsTheJob(t *testing.T) {
	m := testModel(t)
	base, err := testJob(t, m, true).Digest()
	if err != nil {
		t.Fatal(err)
	}
	for name, edit := range map[string]func(j *GenJob){
		"model":  func(j *GenJob) { j.ModelRoot.SetUint64(3) },
		"prompt": func(j *GenJob) { j.Prompt[4]++ },
		"length": func(j *GenJob) { j.Prompt = append(j.Prompt, 0) },
		"new":    func(j *GenJob) { j.New++ },
		"seed":   func(j *GenJob) { j.Select.Seed++ },
		"k":      func(j *GenJob) { j.Select.K++ },
		"table":  func(j *GenJob) { j.Select.Table[255]++ },
		"argmax": func(j *GenJob) { j.Select = Selection{} },
	} {
		j := testJob(t, m, true)
		edit(j)
		if d, err := j.Digest(); err != nil || d.Equal(&base) {
			t.Errorf("%s: not bound by the job digest (%v)", name, err)
		}
	}
}

// TestResultDigestPacking: ten tokens per word, so 10 and 11 tokens differ in word count, and
// a token at 2^24 is refused.
func TestResultDigestPacking(t *testing.T) {
	a, _ := ResultDigest([]int32{1, 2, 3})
	b, _ := ResultDigest([]int32{1, 2, 3, 0})
	if a.Equal(&b) {
		t.Error("a trailing zero token is not bound (n is in the digest)")
	}
	if _, err := ResultDigest([]int32{1 << 24}); err == nil {
		t.Error("token 2^24 accepted")
	}
}
