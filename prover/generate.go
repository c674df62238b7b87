package prover

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"

	"github.com/probitylabs/probity/internal/atomicfile"
	"github.com/probitylabs/probity/jobs"
	"github.com/probitylabs/probity/model"
)

// RunGenerationReference computes a generation job with the Go reference (jobs.Generate:
// prefill, then KV-cached decode steps) and writes the trace and result files into outDir.
// With falsify > 0 it corrupts that fraction of the logits after the tokens are chosen, as a
// cheater who hands over made-up logits would (demonstrations and tests only).
func RunGenerationReference(ctx context.Context, modelPath, jobPath, outDir string, falsify float64, seed uint64) error {
	if falsify < 0 || falsify > 1 {
		return fmt.Errorf("%w: falsify fraction %v is not in [0, 1]", ErrExecutor, falsify)
	}
	c, err := LoadGeneration(modelPath, jobPath)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrExecutor, err)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	tr, tokens, err := c.Generate()
	if err != nil {
		return fmt.Errorf("%w: %v", ErrExecutor, err)
	}
	if falsify > 0 {
		Falsify(tr.Output().I8, falsify, rand.New(rand.NewPCG(seed, 0x70726f6269747921)))
	}
	return writeGeneration(c.Model, tr, tokens, outDir)
}

func writeGeneration(m *model.Model, tr *model.Trace, tokens []int32, outDir string) error {
	tb, err := jobs.EncodeTrace(m, tr)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrExecutor, err)
	}
	rb, err := jobs.EncodeResult(tokens)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrExecutor, err)
	}
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return fmt.Errorf("%w: %v", ErrExecutor, err)
	}
	if err := atomicfile.Write(filepath.Join(outDir, jobs.TraceFile), tb); err != nil {
		return fmt.Errorf("%w: %v", ErrExecutor, err)
	}
	if err := atomicfile.Write(filepath.Join(outDir, jobs.ResultFile), rb); err != nil {
		return fmt.Errorf("%w: %v", ErrExecutor, err)
	}
	return nil
}

// MaxTraceBytes bounds the trace a node computes in memory (jobs.GenJob.TraceBytes): a job
// above it is refused before anything runs, so a buyer cannot exhaust the node's memory with a
// valid but enormous job. 8 GiB by default; a node with more memory may raise it.
var MaxTraceBytes int64 = 8 << 30

// ErrTooLarge reports a generation job whose trace would not fit MaxTraceBytes.
var ErrTooLarge = errors.New("generation trace larger than this node takes")

// LoadGeneration reads a model file and a generation job file and checks the job against the
// model (specs/trace.md §1) and the node's memory (MaxTraceBytes): what a node does before it
// takes the job.
func LoadGeneration(modelPath, jobPath string) (*jobs.Checked, error) {
	m, err := model.ReadFile(modelPath)
	if err != nil {
		return nil, fmt.Errorf("model %s: %w", modelPath, err)
	}
	b, err := os.ReadFile(jobPath)
	if err != nil {
		return nil, err
	}
	j, err := jobs.ParseJob(b)
	if err != nil {
		return nil, fmt.Errorf("job %s: %w", jobPath, err)
	}
	c, err := j.Check(m)
	if err != nil {
		return nil, fmt.Errorf("job %s: %w", jobPath, err)
	}
	if n, err := j.TraceBytes(m); err != nil || n > MaxTraceBytes {
		return nil, fmt.Errorf("job %s: %w: %d bytes, at most %d (%v)", jobPath, ErrTooLarge, n, MaxTraceBytes, err)
	}
	return c, nil
}

// GenerationChecks is the number of rows of every op the node recomputes from an
// executor's trace before it commits to it.
const GenerationChecks = 4

// Generate runs a generation job on the executor and never trusts what it wrote: the node
// parses the trace and result files, checks the tokens and input against the trace, and
// recomputes GenerationChecks rows of every op (drawn from the node's own randomness) from
// the trace's operands with the reference ops, before it computes the commitments.
func Generate(ctx context.Context, ex Executor, modelPath, jobPath, outDir string) (*jobs.Generated, error) {
	c, err := LoadGeneration(modelPath, jobPath)
	if err != nil {
		return nil, err
	}
	if err := ex.Execute(ctx, ExecRequest{ModelPath: modelPath, JobPath: jobPath, OutDir: outDir}); err != nil {
		return nil, err
	}
	tb, err := os.ReadFile(filepath.Join(outDir, jobs.TraceFile))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrExecutor, err)
	}
	rb, err := os.ReadFile(filepath.Join(outDir, jobs.ResultFile))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrExecutor, err)
	}
	g, err := c.Verify(tb, rb, jobs.RandomRows(GenerationChecks, rand.IntN))
	if err != nil {
		return nil, fmt.Errorf("%w: its output does not check: %w", ErrExecutor, err)
	}
	return g, nil
}
