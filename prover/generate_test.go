package prover

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/probitylabs/probity/internal/testenv"
	"github.com/probitylabs/probity/jobs"
	"github.com/probitylabs/probity/model"
	"github.com/probitylabs/probity/model/modeltest"
)

// genJobFiles writes a random decoder and a sampling job for it.
func genJobFiles(t *testing.T) (modelPath, jobPath string) {
	t.Helper()
	m, err := modeltest.Decoder(model.DecoderConfig{Vocab: 48, Context: 32, Width: 16, Heads: 2, Blocks: 2}, 21)
	if err != nil {
		t.Fatal(err)
	}
	root, err := m.Root()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	modelPath, jobPath = filepath.Join(dir, "model.safetensors"), filepath.Join(dir, jobs.JobFile)
	if err := model.WriteFile(modelPath, m); err != nil {
		t.Fatal(err)
	}
	j := &jobs.GenJob{ModelRoot: root, Prompt: []int32{1, 2, 3, 47, 0, 9}, New: 9,
		Select: jobs.Selection{Sample: true, Table: model.ExpTableFor(0.08), K: 10, Seed: 77}}
	b, err := jobs.EncodeJob(j)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(jobPath, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return modelPath, jobPath
}

// TestGenerateWithNumPyExecutor is the executor contract of specs/trace.md §7 end to end: the
// independent NumPy implementation (tools/model_ref.py) runs as the node's command executor,
// its trace and result pass the node's checks, and its files are byte for byte the Go
// reference's.
func TestGenerateWithNumPyExecutor(t *testing.T) {
	py := testenv.NumPy(t)
	modelPath, jobPath := genJobFiles(t)
	ctx := context.Background()
	refOut, cmdOut := t.TempDir(), t.TempDir()
	ref, err := Generate(ctx, ReferenceExecutor{}, modelPath, jobPath, refOut)
	if err != nil {
		t.Fatal(err)
	}
	cmd := CommandExecutor{Args: []string{py, filepath.Join("..", "tools", "model_ref.py"), "{model}", "{job}", "{out}"}}
	got, err := Generate(ctx, cmd, modelPath, jobPath, cmdOut)
	if err != nil {
		t.Fatal(err)
	}
	if !got.TraceRoot.Equal(&ref.TraceRoot) || !got.ResultDigest.Equal(&ref.ResultDigest) {
		t.Fatal("the NumPy executor's commitments differ from the reference's")
	}
	for _, f := range []string{jobs.TraceFile, jobs.ResultFile} {
		a, _ := os.ReadFile(filepath.Join(refOut, f))
		b, _ := os.ReadFile(filepath.Join(cmdOut, f))
		if len(a) == 0 || string(a) != string(b) {
			t.Fatalf("%s differs between the Go reference and the NumPy executor", f)
		}
	}
	t.Logf("tokens %v", got.Tokens)
}

// TestGenerateCatchesFalsifyingExecutor: an executor that corrupts the logits (and picks its
// tokens from them, consistently) is refused by the node's recomputation, not committed.
func TestGenerateCatchesFalsifyingExecutor(t *testing.T) {
	modelPath, jobPath := genJobFiles(t)
	_, err := Generate(context.Background(), ReferenceExecutor{Falsify: 0.2, FalsifySeed: 3}, modelPath, jobPath, t.TempDir())
	if !errors.Is(err, ErrExecutor) || !errors.Is(err, model.ErrMismatch) {
		t.Fatalf("falsified logits: %v, want ErrExecutor wrapping a mismatch", err)
	}
}

// TestGenerateRefusesMissingOutputs: a command that exits 0 without writing the trace is an
// executor failure naming the file.
func TestGenerateRefusesMissingOutputs(t *testing.T) {
	modelPath, jobPath := genJobFiles(t)
	_, err := Generate(context.Background(), CommandExecutor{Args: []string{"true"}}, modelPath, jobPath, t.TempDir())
	if !errors.Is(err, ErrExecutor) {
		t.Fatalf("%v, want ErrExecutor", err)
	}
}

// TestGenerateRefusesTraceAboveMemory: a valid job whose trace exceeds MaxTraceBytes is
// refused before the executor runs.
func TestGenerateRefusesTraceAboveMemory(t *testing.T) {
	modelPath, jobPath := genJobFiles(t)
	old := MaxTraceBytes
	MaxTraceBytes = 1 << 10
	defer func() { MaxTraceBytes = old }()
	out := t.TempDir()
	_, err := Generate(context.Background(), CommandExecutor{Args: []string{"sh", "-c", "touch {out}/ran"}}, modelPath, jobPath, out)
	if !errors.Is(err, ErrTooLarge) {
		t.Fatalf("%v, want ErrTooLarge", err)
	}
	if _, err := os.Stat(filepath.Join(out, "ran")); err == nil {
		t.Fatal("the executor ran for a job the node refused")
	}
}
