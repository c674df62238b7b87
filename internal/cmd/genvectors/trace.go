package main

import (
	"github.com/probitylabs/probity/jobs"
	"github.com/probitylabs/probity/model"
	"github.com/probitylabs/probity/model/modeltest"
	"github.com/probitylabs/probity/ops"
)

// ---- trace.json ----
//
// Generation jobs of specs/trace.md on a small seeded decoder: the model, job, trace and result
// files, every tensor's roots, the trace root and the result digest for valid jobs; the error
// class for invalid ones ("invalid": a rule of §1; "file": a job file that breaks §1.1).
// tools/model_ref.py, run as an executor, must write the trace and result byte for byte.

type traceCase struct {
	Name         string   `json:"name"`
	Note         string   `json:"note"`
	Model        string   `json:"model"`
	Job          string   `json:"job"`
	Expect       string   `json:"expect"`
	Trace        string   `json:"trace,omitempty"`
	Result       string   `json:"result,omitempty"`
	Tokens       []int32  `json:"tokens,omitempty"`
	RowRoots     []string `json:"rowRoots,omitempty"`
	ColumnRoots  []string `json:"columnRoots,omitempty"`
	JobDigest    string   `json:"jobDigest,omitempty"`
	TraceRoot    string   `json:"traceRoot,omitempty"`
	ResultDigest string   `json:"resultDigest,omitempty"`
}

func traceVectors() any {
	m, err := modeltest.Decoder(model.DecoderConfig{Vocab: 16, Context: 10, Width: 8, Heads: 2, Blocks: 1}, 0x7472616365) // "trace"
	if err != nil {
		fatal(err)
	}
	mb := must(model.Encode(m))
	root := must(m.Root())
	var cases []traceCase
	valid := func(name, note string, j *jobs.GenJob) {
		jb := must(jobs.EncodeJob(j))
		ck := must(j.Check(m))
		tr, tokens, err := ck.Generate()
		if err != nil {
			fatal(err)
		}
		g := must(ck.Commit(tr, tokens))
		c := traceCase{Name: name, Note: note, Model: hexb(mb), Job: hexb(jb), Expect: "ok",
			Trace: hexb(must(jobs.EncodeTrace(m, tr))), Result: hexb(must(jobs.EncodeResult(tokens))), Tokens: tokens,
			JobDigest: dec(g.JobDigest), TraceRoot: dec(g.TraceRoot), ResultDigest: dec(g.ResultDigest)}
		for _, r := range g.Roots {
			c.RowRoots, c.ColumnRoots = append(c.RowRoots, dec(r.Row)), append(c.ColumnRoots, dec(r.Col))
		}
		cases = append(cases, c)
	}
	invalid := func(name, note, class string, jb []byte) {
		cases = append(cases, traceCase{Name: name, Note: note, Model: hexb(mb), Job: hexb(jb), Expect: class})
	}
	argmax := &jobs.GenJob{ModelRoot: root, Prompt: []int32{3, 1, 4}, New: 4}
	valid("argmax", "prompt of 3, 4 new tokens by argmax: T = 6", argmax)
	valid("one-token", "a prompt of one token and one new token: T = 1, the prefill only", &jobs.GenJob{ModelRoot: root, Prompt: []int32{9}, New: 1})
	sample := &jobs.GenJob{ModelRoot: root, Prompt: []int32{15, 0, 7, 7}, New: 6,
		Select: jobs.Selection{Sample: true, Table: model.ExpTableFor(1.0 / 32), K: 5, Seed: 18446744073709551557}}
	valid("sample", "top-k 5 sampling, seed near 2^64, filling the context (T = 9 of 10)", sample)

	edit := func(f func(j *jobs.GenJob)) []byte {
		j := *sample
		j.Prompt = append([]int32(nil), sample.Prompt...)
		f(&j)
		return must(jobs.EncodeJob(&j))
	}
	invalid("beyond-context", "T = 11 rows for a 10-row position table", "invalid", edit(func(j *jobs.GenJob) { j.New = 8 }))
	invalid("token-outside-vocab", "prompt token 16 of a 16-token vocabulary", "invalid", edit(func(j *jobs.GenJob) { j.Prompt[1] = 16 }))
	invalid("k-zero", "sample k 0", "invalid", edit(func(j *jobs.GenJob) { j.Select.K = 0 }))
	invalid("k-above-vocab", "sample k 17 of 16 logits", "invalid", edit(func(j *jobs.GenJob) { j.Select.K = 17 }))
	invalid("exp-table", "sample table E[0] = 2^15 - 1", "invalid", edit(func(j *jobs.GenJob) { j.Select.Table[0] = ops.ExpOne - 1 }))
	invalid("no-new", "new = 0", "invalid", edit(func(j *jobs.GenJob) { j.New = 0 }))
	invalid("trailing-byte", "a job file with one byte after the last tensor", "file", append(must(jobs.EncodeJob(argmax)), 0))
	return map[string]any{
		"generatedBy": generatedBy,
		"description": "generation jobs of specs/trace.md: model, job, trace and result files (hex), expect (ok, invalid, file), the generated tokens, every tensor's row and column roots, the job digest, the trace root and the result digest; tools/model_ref.py writes the trace and result byte for byte",
		"cases":       cases,
	}
}
