package prover_test

import (
	"context"
	"errors"
	"math/big"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/probitylabs/probity/chain"
	"github.com/probitylabs/probity/jobs"
	"github.com/probitylabs/probity/prover"
	"github.com/probitylabs/probity/tensor"
)

func reference(t *testing.T, in, mf string) []*tensor.Int8 {
	t.Helper()
	x, err := tensor.LoadActivations(in)
	if err != nil {
		t.Fatal(err)
	}
	m, err := tensor.LoadModel(mf)
	if err != nil {
		t.Fatal(err)
	}
	outs, err := m.Run(x)
	if err != nil {
		t.Fatal(err)
	}
	return outs
}

func TestReferenceExecutor(t *testing.T) {
	dir := t.TempDir()
	in, mf := writeFiles(t, dir, 3, 7, 16, 8, 4)
	out := filepath.Join(dir, "out")
	if err := (prover.ReferenceExecutor{}).Execute(context.Background(), prover.ExecRequest{InputPath: in, ModelPath: mf, OutDir: out, Layers: 2}); err != nil {
		t.Fatal(err)
	}
	for l, want := range reference(t, in, mf) {
		got, err := jobs.LoadOutput(jobs.OutputPath(out, l))
		if err != nil {
			t.Fatal(err)
		}
		if !got.Equal(want) {
			t.Fatalf("layer %d differs from Model.Run", l)
		}
	}
	// Falsified: the first layer differs in exactly round(f * elements) places.
	if err := prover.RunReference(context.Background(), in, mf, out, 0.25, 9); err != nil {
		t.Fatal(err)
	}
	got, _ := jobs.LoadOutput(jobs.OutputPath(out, 0))
	want := reference(t, in, mf)[0]
	diff := 0
	for i := range got.Data {
		if got.Data[i] != want.Data[i] {
			diff++
		}
	}
	if exp := int(0.25*float64(len(want.Data)) + 0.5); diff != exp {
		t.Fatalf("falsified %d elements, want %d", diff, exp)
	}
	if err := prover.RunReference(context.Background(), in, mf, out, 1.5, 0); !errors.Is(err, prover.ErrExecutor) {
		t.Fatalf("fraction 1.5: %v", err)
	}
}

func TestFalsifyChangesEveryChosenElement(t *testing.T) {
	y := tensor.NewInt8(4, 8)
	for i := range y.Data {
		y.Data[i] = int8(127 - i%2) // the clamp edge must still change
	}
	orig := y.Clone()
	n := prover.Falsify(y, 1, rand.New(rand.NewPCG(1, 2)))
	if n != len(y.Data) {
		t.Fatalf("falsified %d", n)
	}
	for i := range y.Data {
		if y.Data[i] == orig.Data[i] {
			t.Fatalf("element %d unchanged", i)
		}
	}
}

// helperCommand runs this test binary as the executor program (see TestMain).
func helperCommand(mode string, timeout time.Duration) prover.CommandExecutor {
	return prover.CommandExecutor{Args: []string{os.Args[0], "-test.run=^$", "{input}", "{model}", "{out}"}, Timeout: timeout,
		Env: []string{"PROBITY_TEST_EXEC=" + mode, "PROBITY_TEST_FALSIFY=1"}}
}

func TestCommandExecutor(t *testing.T) {
	dir := t.TempDir()
	in, mf := writeFiles(t, dir, 5, 6, 16, 4)
	ctx := context.Background()
	var pid int
	out := filepath.Join(dir, "out")
	if err := helperCommand("honest", time.Minute).Execute(ctx, prover.ExecRequest{InputPath: in, ModelPath: mf, OutDir: out, Layers: 1,
		OnProcess: func(p int) { pid = p }}); err != nil {
		t.Fatal(err)
	}
	if pid == 0 || pid == os.Getpid() {
		t.Fatalf("child pid %d not reported", pid)
	}
	got, err := jobs.LoadOutput(jobs.OutputPath(out, 0))
	if err != nil || !got.Equal(reference(t, in, mf)[0]) {
		t.Fatalf("command output differs: %v", err)
	}

	err = helperCommand("fail", time.Minute).Execute(ctx, prover.ExecRequest{InputPath: in, ModelPath: mf, OutDir: filepath.Join(dir, "o2"), Layers: 1})
	if !errors.Is(err, prover.ErrExecutor) || !strings.Contains(err.Error(), "CUDA error: out of memory") || !strings.Contains(err.Error(), "exit status 3") {
		t.Fatalf("failing command: %v", err)
	}
	t0 := time.Now()
	err = helperCommand("sleep", 300*time.Millisecond).Execute(ctx, prover.ExecRequest{InputPath: in, ModelPath: mf, OutDir: filepath.Join(dir, "o3"), Layers: 1})
	if !errors.Is(err, prover.ErrExecutor) || !strings.Contains(err.Error(), "timed out") || time.Since(t0) > 20*time.Second {
		t.Fatalf("slow command: %v after %v", err, time.Since(t0))
	}
	err = helperCommand("nothing", time.Minute).Execute(ctx, prover.ExecRequest{InputPath: in, ModelPath: mf, OutDir: filepath.Join(dir, "o4"), Layers: 1})
	if !errors.Is(err, prover.ErrExecutor) || !strings.Contains(err.Error(), "no output for layer 0") {
		t.Fatalf("silent command: %v", err)
	}
	if err := (prover.CommandExecutor{}).Execute(ctx, prover.ExecRequest{OutDir: dir}); !errors.Is(err, prover.ErrExecutor) {
		t.Fatalf("empty command: %v", err)
	}
}

// TestCheatingProviderIsSlashed: a node whose executor falsifies every output commits
// them, finds that no proof exists for its own sampled elements, and fails the job; after
// the proof deadline the buyer slashes the stake.
func TestCheatingProviderIsSlashed(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	w := newWorld(t, ctx)
	start := w.head(t, ctx)
	job := w.post(t, ctx, big.NewInt(1e17))
	n := w.node(t, ctx, w.config(t.TempDir(), start), func(o *prover.Options) {
		o.Executor = helperCommand("falsify", time.Minute)
	})
	rec := runUntil(t, ctx, n, job.ID, time.Minute)
	if rec.Step != prover.StepFailed || !strings.Contains(rec.Reason, "fails its sample") {
		t.Fatalf("cheating job ended at %s: %s", rec.Step, rec.Reason)
	}
	if st, _ := w.buyer.JobState(ctx, job.ID); st != chain.StateCommitted {
		t.Fatalf("chain state %v", st)
	}
	if err := w.sim.Chain.AdjustTime(2 * time.Hour); err != nil {
		t.Fatal(err)
	}
	if _, _, err := w.buyer.Chain().Slash(ctx, job.ID); err != nil {
		t.Fatal(err)
	}
	credit, err := w.buyer.Credit(ctx)
	if err != nil || credit.Cmp(job.Price) <= 0 {
		t.Fatalf("buyer credit after slash %v (price %v): %v", credit, job.Price, err)
	}
}
