package prover_test

import (
	"context"
	"encoding/json"
	"errors"
	"math/big"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/probitylabs/probity/chain"
	"github.com/probitylabs/probity/prover"
)

// measure runs a node on dataDir until its self-test is written and returns the measured
// proving time of the world's class.
func (w *world) measure(t *testing.T, ctx context.Context, dataDir string) time.Duration {
	t.Helper()
	n := w.node(t, ctx, w.provs[0], w.config(t, dataDir, w.head(t, ctx)), nil)
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- n.Run(rctx) }()
	path := filepath.Join(dataDir, "estimates.json")
	for {
		if b, err := os.ReadFile(path); err == nil {
			cancel()
			if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
				t.Fatal(err)
			}
			var est map[string]struct {
				Prove time.Duration `json:"prove"`
			}
			if err := json.Unmarshal(b, &est); err != nil || len(est) != 1 {
				t.Fatalf("estimates %s: %v", b, err)
			}
			for _, e := range est {
				return e.Prove
			}
		}
		select {
		case err := <-done:
			cancel()
			t.Fatalf("node stopped before its self-test: %v", err)
		case <-ctx.Done():
			cancel()
			t.Fatal(ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// TestLoadAdmissionMeetsDeadlines (review H2): every posted job's prove window holds one
// proof with the safety factor but not two, and the node proves one at a time (Concurrency
// 1) on a chain with real block times. Admitting them all would make the later ones miss
// their deadlines; the node takes the next only once the backlog allows it, so no job is
// ever unproved beside another and every one is proved in time.
func TestLoadAdmissionMeetsDeadlines(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	w := newWorld(t, ctx, 1)
	if _, err := w.gov.SetMinWindows(ctx, 1, 1); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	prove := w.measure(t, ctx, dir)
	cfg := w.config(t, dir, w.head(t, ctx))
	cfg.Safety.WindowMargin = prover.Duration(time.Second)
	cfg.Safety.BlockTime = prover.Duration(time.Second)
	cfg.SeedConfirmations = 0
	cfg.PollInterval = prover.Duration(200 * time.Millisecond)
	// One proof with the factor, its blocks and the margin, rounded up to a second as the node
	// rounds: a job fits alone. Behind a first job it also waits for that job's scaled proof
	// (2 × prove), which must cross into the next second for the test to tell one from two.
	alone := 2*prove + time.Duration(cfg.Safety.TxBlocks+2)*time.Second + time.Second
	window := uint32((alone + time.Second - 1) / time.Second)
	if time.Duration(window)*time.Second >= alone+2*prove {
		t.Skipf("a proof of %v is too fast for one-second windows to tell one job's proof from two", prove)
	}
	const K = 4
	var ids []*big.Int
	for i := range K {
		j := w.job(t, []int32{int32(i + 1), 2}, 6)
		req := w.request(t, ctx, j, tokens(3), 0)
		req.ExecWindow, req.ProveWindow = 3600, window
		ids = append(ids, w.post(t, ctx, req, j.uri))
	}
	t.Logf("proof %v, prove window %d s", prove, window)
	w.realTime(time.Second)
	var mu sync.Mutex
	most := 0
	var n *prover.Node
	hook := func(_ *big.Int, step prover.Step) error {
		recs, err := n.Journal().All()
		if err != nil {
			return err
		}
		open := 0
		for _, r := range recs {
			if !r.Step.Terminal() && r.Step.Before(prover.StepProved) {
				open++
			}
		}
		if step == prover.StepProved {
			open-- // journaled after the hook
		}
		mu.Lock()
		most = max(most, open)
		mu.Unlock()
		return nil
	}
	n = w.node(t, ctx, w.provs[0], cfg, func(o *prover.Options) { o.Hook = hook })
	recs := runUntil(t, ctx, n, 3*time.Minute, ids...)
	for _, r := range recs {
		st, _ := w.keeper.JobState(ctx, r.ID())
		t.Logf("job %s…: %s (%s) chain %v proveBy %d", r.JobID[:8], r.Step, r.Reason, st, r.ProveBy)
		if r.Step != prover.StepDone || st != chain.StateSettled {
			t.Errorf("job %s… ended %s (%s), chain %v; want done and settled", r.JobID[:8], r.Step, r.Reason, st)
		}
	}
	if most > 1 {
		t.Errorf("%d jobs were unproved at once; the backlog admits one", most)
	}
}
