package prover

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/probitylabs/probity/jobs"
	"github.com/probitylabs/probity/tensor"
)

// ErrExecutor matches every executor failure.
var ErrExecutor = errors.New("executor failed")

// ExecRequest is one generation job's computation: the model file, the job file and the
// directory that receives the trace and result files (specs/trace.md §7).
type ExecRequest struct {
	ModelPath string
	JobPath   string
	OutDir    string
	// OnProcess is told the PID of every process the executor starts, for the GPU's
	// per-process accounting. May be nil.
	OnProcess func(pid int)
	// SelfTest marks the node's synthetic self-test jobs (PROBITY_SELFTEST=1 for a command).
	// An honest executor ignores it; the demonstration cheaters use it to behave while
	// tested, as a real cheater could, since synthetic jobs are recognisable.
	SelfTest bool
}

// Executor computes a job. Outputs must be bit exact (spec §3.2): there is no tolerance.
type Executor interface {
	Execute(ctx context.Context, req ExecRequest) error
}

// ReferenceExecutor runs the model in process with the reference integer kernels (CPU).
type ReferenceExecutor struct {
	// Falsify, when above 0, corrupts that fraction of the final output's elements
	// (demonstrations and tests of cheating detection only).
	Falsify     float64
	FalsifySeed uint64
}

// Execute implements Executor.
func (e ReferenceExecutor) Execute(ctx context.Context, req ExecRequest) error {
	falsify := e.Falsify
	if req.SelfTest {
		falsify = 0
	}
	return RunGenerationReference(ctx, req.ModelPath, req.JobPath, req.OutDir, falsify, e.FalsifySeed)
}

// Falsify changes round(fraction * len) distinct elements of y (each by one step, so the
// value is certainly different). It exists to demonstrate that sampling catches cheats.
func Falsify(y *tensor.Int8, fraction float64, rng *rand.Rand) int {
	n := int(fraction*float64(len(y.Data)) + 0.5)
	if fraction > 0 && n == 0 {
		n = 1
	}
	for _, i := range rng.Perm(len(y.Data))[:n] {
		if y.Data[i] == 127 {
			y.Data[i] = 126
		} else {
			y.Data[i]++
		}
	}
	return n
}

// CommandExecutor runs an external program (a PyTorch/CUDA script, tools/model_ref.py, ...).
// In Args the placeholders {model}, {job} and {out} are replaced; the same values are in the
// environment as PROBITY_MODEL, PROBITY_JOB and PROBITY_OUT, and PROBITY_SELFTEST=1 marks the
// node's self-test jobs. The program writes out/trace.safetensors and out/result.safetensors
// (specs/trace.md §7) and exits 0.
type CommandExecutor struct {
	Args    []string
	Timeout time.Duration
	Env     []string // extra KEY=VALUE pairs
}

// stderrTail keeps the last bytes a child wrote to stderr, for the error message.
type stderrTail struct {
	mu  sync.Mutex
	buf []byte
}

const stderrKeep = 4096

func (t *stderrTail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if len(t.buf) > stderrKeep {
		t.buf = t.buf[len(t.buf)-stderrKeep:]
	}
	return len(p), nil
}

func (t *stderrTail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return strings.TrimSpace(string(t.buf))
}

// Execute implements Executor.
func (e CommandExecutor) Execute(ctx context.Context, req ExecRequest) error {
	if len(e.Args) == 0 {
		return fmt.Errorf("%w: no command configured", ErrExecutor)
	}
	if err := os.MkdirAll(req.OutDir, 0o755); err != nil {
		return fmt.Errorf("%w: %v", ErrExecutor, err)
	}
	repl := strings.NewReplacer("{model}", req.ModelPath, "{job}", req.JobPath, "{out}", req.OutDir)
	args := make([]string, len(e.Args))
	for i, a := range e.Args {
		args[i] = repl.Replace(a)
	}
	if e.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, e.Timeout)
		defer cancel()
	}
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	cmd.Env = append(append(os.Environ(), e.Env...),
		"PROBITY_MODEL="+req.ModelPath, "PROBITY_JOB="+req.JobPath, "PROBITY_OUT="+req.OutDir)
	if req.SelfTest {
		cmd.Env = append(cmd.Env, "PROBITY_SELFTEST=1")
	}
	var tail stderrTail
	cmd.Stderr = &tail
	cmd.Stdout = &tail // stdout is diagnostic too; outputs travel as files
	cmd.WaitDelay = 5 * time.Second
	// A node that dies without running its shutdown (SIGKILL, OOM kill, crash) must not
	// leave the executor running: the restarted node executes the job again into the same
	// directory, and an orphan would hold the GPU and rewrite the outputs under it.
	// dieWithParent asks the kernel to kill the child then. On Linux that signal follows
	// the thread that started the child, and the Go runtime ends a thread when a goroutine
	// locked to it exits, so this goroutine keeps its thread until the child is reaped.
	dieWithParent(cmd)
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("%w: starting %s: %v", ErrExecutor, args[0], err)
	}
	if req.OnProcess != nil {
		req.OnProcess(cmd.Process.Pid)
	}
	err := cmd.Wait()
	if err != nil {
		if ctx.Err() == context.DeadlineExceeded {
			return fmt.Errorf("%w: %s timed out after %v: %s", ErrExecutor, args[0], time.Since(start).Round(time.Millisecond), tail.String())
		}
		return fmt.Errorf("%w: %s: %v: %s", ErrExecutor, args[0], err, tail.String())
	}
	for _, f := range []string{jobs.TraceFile, jobs.ResultFile} {
		if _, err := os.Stat(filepath.Join(req.OutDir, f)); err != nil {
			return fmt.Errorf("%w: %s exited 0 but wrote no %s: %v", ErrExecutor, args[0], f, err)
		}
	}
	return nil
}
