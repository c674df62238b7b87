package prover

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/probitylabs/probity/jobs"
	"github.com/probitylabs/probity/tensor"
)

// TestMain lets the test binary stand in for an executor program (helperCommand).
func TestMain(m *testing.M) {
	if mode := os.Getenv("PROBITY_TEST_EXEC"); mode != "" {
		os.Exit(execHelper(mode))
	}
	os.Exit(m.Run())
}

// execHelper is an executor program: honest, failing, hanging or writing nothing.
func execHelper(mode string) int {
	switch mode {
	case "fail":
		fmt.Fprintln(os.Stderr, "CUDA error: out of memory (simulated by the test program)")
		return 3
	case "sleep":
		time.Sleep(time.Minute)
		return 0
	case "nothing":
		return 0
	}
	if err := RunGenerationReference(context.Background(), os.Getenv("PROBITY_MODEL"), os.Getenv("PROBITY_JOB"), os.Getenv("PROBITY_OUT"), 0, 0); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// helperCommand runs this test binary as the executor program (see TestMain).
func helperCommand(mode string, timeout time.Duration) CommandExecutor {
	return CommandExecutor{Args: []string{os.Args[0], "-test.run=^$", "{model}", "{job}", "{out}"}, Timeout: timeout,
		Env: []string{"PROBITY_TEST_EXEC=" + mode}}
}

// The reference executor writes the trace and result the job's own recomputation gives; with
// Falsify it writes other bytes, and a fraction outside [0, 1] is refused.
func TestReferenceExecutor(t *testing.T) {
	modelPath, jobPath := genJobFiles(t)
	ctx := context.Background()
	out := t.TempDir()
	g, err := Generate(ctx, ReferenceExecutor{}, modelPath, jobPath, out)
	if err != nil {
		t.Fatal(err)
	}
	c, err := LoadGeneration(modelPath, jobPath)
	if err != nil {
		t.Fatal(err)
	}
	_, tokens, err := c.Generate()
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(g.Tokens) != fmt.Sprint(tokens) {
		t.Fatalf("tokens %v, the recomputation gives %v", g.Tokens, tokens)
	}
	honest, _ := os.ReadFile(filepath.Join(out, jobs.TraceFile))
	bad := t.TempDir()
	if err := RunGenerationReference(ctx, modelPath, jobPath, bad, 0.25, 9); err != nil {
		t.Fatal(err)
	}
	falsified, _ := os.ReadFile(filepath.Join(bad, jobs.TraceFile))
	if len(honest) == 0 || string(honest) == string(falsified) {
		t.Fatal("a falsifying executor wrote the honest trace")
	}
	if err := RunGenerationReference(ctx, modelPath, jobPath, bad, 1.5, 0); !errors.Is(err, ErrExecutor) {
		t.Fatalf("fraction 1.5: %v", err)
	}
}

func TestFalsifyChangesEveryChosenElement(t *testing.T) {
	y := tensor.NewInt8(4, 8)
	for i := range y.Data {
		y.Data[i] = int8(127 - i%2) // the clamp edge must still change
	}
	orig := y.Clone()
	n := Falsify(y, 1, rand.New(rand.NewPCG(1, 2)))
	if n != len(y.Data) {
		t.Fatalf("falsified %d", n)
	}
	for i := range y.Data {
		if y.Data[i] == orig.Data[i] {
			t.Fatalf("element %d unchanged", i)
		}
	}
}

// A command executor reports its child's PID, passes a failing program's exit status and
// stderr on, times out, refuses a program that writes nothing, and needs a command.
func TestCommandExecutor(t *testing.T) {
	modelPath, jobPath := genJobFiles(t)
	ctx := context.Background()
	var pid int
	out := t.TempDir()
	req := func(out string) ExecRequest { return ExecRequest{ModelPath: modelPath, JobPath: jobPath, OutDir: out} }
	r := req(out)
	r.OnProcess = func(p int) { pid = p }
	if err := helperCommand("honest", time.Minute).Execute(ctx, r); err != nil {
		t.Fatal(err)
	}
	if pid == 0 || pid == os.Getpid() {
		t.Fatalf("child pid %d not reported", pid)
	}
	ref := t.TempDir()
	if err := (ReferenceExecutor{}).Execute(ctx, req(ref)); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{jobs.TraceFile, jobs.ResultFile} {
		a, _ := os.ReadFile(filepath.Join(ref, f))
		b, _ := os.ReadFile(filepath.Join(out, f))
		if len(a) == 0 || string(a) != string(b) {
			t.Fatalf("%s: the command's differs from the reference's", f)
		}
	}

	dir := t.TempDir()
	err := helperCommand("fail", time.Minute).Execute(ctx, req(filepath.Join(dir, "o2")))
	if !errors.Is(err, ErrExecutor) || !strings.Contains(err.Error(), "CUDA error: out of memory") || !strings.Contains(err.Error(), "exit status 3") {
		t.Fatalf("failing command: %v", err)
	}
	t0 := time.Now()
	err = helperCommand("sleep", 300*time.Millisecond).Execute(ctx, req(filepath.Join(dir, "o3")))
	if !errors.Is(err, ErrExecutor) || !strings.Contains(err.Error(), "timed out") || time.Since(t0) > 20*time.Second {
		t.Fatalf("slow command: %v after %v", err, time.Since(t0))
	}
	err = helperCommand("nothing", time.Minute).Execute(ctx, req(filepath.Join(dir, "o4")))
	if !errors.Is(err, ErrExecutor) || !strings.Contains(err.Error(), "wrote no "+jobs.TraceFile) {
		t.Fatalf("silent command: %v", err)
	}
	if err := (CommandExecutor{}).Execute(ctx, ExecRequest{OutDir: dir}); !errors.Is(err, ErrExecutor) {
		t.Fatalf("empty command: %v", err)
	}
}
