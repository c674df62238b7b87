package sdk

import (
	"fmt"
	"math/rand/v2"
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
		if s, ok := jobs.ByteText(g.Tokens); ok {
			return s
		}
		s, _ := jobs.ByteText(g.Tokens)
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

// ReceiveGeneration reads a delivered generation (dir/job.safetensors, trace.safetensors and
// result.safetensors) for the model file and checks it before the dApp uses it: the files'
// rules, the tokens against the trace's logits and input, and checkRows rows of every op
// recomputed from the trace (all rows when checkRows <= 0), drawn from the buyer's own
// randomness. Its roots are what the provider's receipt must state.
func ReceiveGeneration(modelPath, dir string, checkRows int) (*Generation, error) {
	m, err := model.ReadFile(modelPath)
	if err != nil {
		return nil, err
	}
	read := func(name string) ([]byte, error) { return os.ReadFile(filepath.Join(dir, name)) }
	jb, err := read(jobs.JobFile)
	if err != nil {
		return nil, err
	}
	j, err := jobs.ParseJob(jb)
	if err != nil {
		return nil, err
	}
	V, err := j.Check(m)
	if err != nil {
		return nil, err
	}
	tb, err := read(jobs.TraceFile)
	if err != nil {
		return nil, err
	}
	rb, err := read(jobs.ResultFile)
	if err != nil {
		return nil, err
	}
	var pick func(op, T int) []int
	if checkRows > 0 {
		pick = jobs.RandomRows(checkRows, rand.IntN)
	}
	g, err := jobs.Verify(m, j, tb, rb, pick)
	if err != nil {
		return nil, fmt.Errorf("delivered generation in %s: %w", dir, err)
	}
	return &Generation{Job: j, Tokens: g.Tokens, TraceRoot: g.TraceRoot.String(), ResultDigest: g.ResultDigest.String(), vocab: V}, nil
}
