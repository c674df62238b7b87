package sdk

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/probitylabs/probity/jobs"
	"github.com/probitylabs/probity/model"
)

// Generation is a generation job's delivered result, checked (ReceiveGeneration): the tokens
// the buyer paid for and the commitments a receipt binds them to.
type Generation struct {
	Job    *jobs.GenJob
	Tokens []int32
	// TraceRoot commits every tensor of the trace; ResultDigest the tokens (specs/trace.md).
	TraceRoot, ResultDigest string
	vocab                   int
}

// Text is the tokens as text for a byte-level model (a vocabulary of 256: token = byte);
// for other vocabularies, or bytes that are not UTF-8, it is the tokens quoted.
func (g *Generation) Text() string {
	if g.vocab == 256 {
		s, ok := jobs.ByteText(g.Tokens)
		if ok {
			return s
		}
		return fmt.Sprintf("%q", s)
	}
	return fmt.Sprint(g.Tokens)
}

// BytePrompt is a text prompt for a byte-level model: one token per byte.
func BytePrompt(s string) []int32 { return jobs.ByteTokens([]byte(s)) }

// NewGeneration writes the generation job for the model file (its root, the prompt, n new
// tokens, the selection) to dir/job.safetensors, after checking it against the model, so a
// job the provider would refuse is refused here first.
func NewGeneration(modelPath string, prompt []int32, n int, sel jobs.Selection, dir string) (*jobs.GenJob, error) {
	m, err := model.ReadFile(modelPath)
	if err != nil {
		return nil, err
	}
	root, err := m.Root()
	if err != nil {
		return nil, err
	}
	j := &jobs.GenJob{ModelRoot: root, Prompt: prompt, New: n, Select: sel}
	if _, err := j.Check(m); err != nil {
		return nil, err
	}
	b, err := jobs.EncodeJob(j)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	return j, os.WriteFile(filepath.Join(dir, jobs.JobFile), b, 0o644)
}

// ReceiveGeneration checks a delivered generation before the dApp uses it: the trace and
// result files in dir (trace.safetensors, result.safetensors) against the buyer's own job and
// model file (never a job or model from the delivery, which the provider wrote). It checks both
// files' rules, the input rows and every token against the trace's logits, and recomputes every
// row of every op from the trace with the reference ops: one falsified row can change a token,
// so a sampled recheck would not protect the buyer (specs/trace.md §7). Its roots are what the
// provider's receipt must state.
func ReceiveGeneration(modelPath string, job *jobs.GenJob, dir string) (*Generation, error) {
	m, err := model.ReadFile(modelPath)
	if err != nil {
		return nil, err
	}
	c, err := job.Check(m)
	if err != nil {
		return nil, err
	}
	tb, err := os.ReadFile(filepath.Join(dir, jobs.TraceFile))
	if err != nil {
		return nil, err
	}
	rb, err := os.ReadFile(filepath.Join(dir, jobs.ResultFile))
	if err != nil {
		return nil, err
	}
	g, err := c.Verify(tb, rb, nil)
	if err != nil {
		return nil, fmt.Errorf("delivered generation in %s: %w", dir, err)
	}
	return &Generation{Job: job, Tokens: g.Tokens, TraceRoot: g.TraceRoot.String(), ResultDigest: g.ResultDigest.String(), vocab: c.Vocab}, nil
}
