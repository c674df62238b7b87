package prover_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/probitylabs/probity/prover"
)

// countingExecutor is the reference executor, counting the self-test runs.
type countingExecutor struct{ selfTests *atomic.Int32 }

func (c countingExecutor) Execute(ctx context.Context, req prover.ExecRequest) error {
	if req.SelfTest {
		c.selfTests.Add(1)
	}
	return prover.ReferenceExecutor{}.Execute(ctx, req)
}

// startOnce runs n until it wrote estimates.json after since (the end of its preflight, a
// measurement reused or taken), then stops it.
func startOnce(t *testing.T, ctx context.Context, n *prover.Node, dataDir string, since time.Time) map[string]json.RawMessage {
	t.Helper()
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- n.Run(rctx) }()
	for {
		if fi, err := os.Stat(filepath.Join(dataDir, "estimates.json")); err == nil && fi.ModTime().After(since) {
			break
		}
		select {
		case err := <-done:
			t.Fatalf("node stopped: %v", err)
		case <-time.After(50 * time.Millisecond):
		}
	}
	cancel()
	if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dataDir, "estimates.json"))
	if err != nil {
		t.Fatal(err)
	}
	var est map[string]json.RawMessage
	if err := json.Unmarshal(b, &est); err != nil {
		t.Fatal(err)
	}
	return est
}

// TestSelfTestTimesExecutor (review M6): the self-test generates on the configured executor,
// and its measurement is kept under a key of the host and the executor's configuration: the
// same configuration reuses it, another executor measures again.
func TestSelfTestTimesExecutor(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	w := newWorld(t, ctx, 1)
	dir := t.TempDir()
	var runs atomic.Int32
	withExec := func(o *prover.Options) { o.Executor = countingExecutor{&runs} }
	est := startOnce(t, ctx, w.node(t, ctx, w.provs[0], w.config(t, dir, 0), withExec), dir, time.Now())
	if runs.Load() != 1 || len(est) != 1 {
		t.Fatalf("%d self-test runs on the executor, %d measurements; want 1 and 1", runs.Load(), len(est))
	}
	for k := range est {
		if !strings.Contains(k, "@") {
			t.Errorf("estimate key %q names no host or executor", k)
		}
	}
	startOnce(t, ctx, w.node(t, ctx, w.provs[0], w.config(t, dir, 0), withExec), dir, time.Now())
	if runs.Load() != 1 {
		t.Errorf("the same executor measured again (%d runs)", runs.Load())
	}
	// Without the executor (in process): another configuration, measured again beside it.
	est = startOnce(t, ctx, w.node(t, ctx, w.provs[0], w.config(t, dir, 0), nil), dir, time.Now())
	if len(est) != 2 {
		t.Errorf("%d measurements after a second executor, want 2", len(est))
	}
}
