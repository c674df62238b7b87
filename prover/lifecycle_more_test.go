package prover_test

import (
	"bytes"
	"context"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/probitylabs/probity/chain"
	"github.com/probitylabs/probity/prover"
	"github.com/probitylabs/probity/sdk"
)

// syncBuffer is a goroutine-safe progress sink.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestLifecycleHTTP: the buyer serves the manifest and files over HTTP and accepts the
// receipt by PUT (spec §8.3); the node runs two jobs at once, lets submitProof fix the
// seed (fixSeed off) and shows a progress line.
func TestLifecycleHTTP(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	w := newWorld(t, ctx)
	root := t.TempDir()
	var mu sync.Mutex
	srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		p := filepath.Join(root, filepath.FromSlash(filepath.Clean("/"+r.URL.Path)))
		if r.Method == http.MethodPut {
			mu.Lock()
			defer mu.Unlock()
			b, _ := io.ReadAll(r.Body)
			os.MkdirAll(filepath.Dir(p), 0o755)
			os.WriteFile(p, b, 0o644)
			rw.WriteHeader(http.StatusCreated)
			return
		}
		http.ServeFile(rw, r, p)
	}))
	defer srv.Close()
	start := w.head(t, ctx)
	var jobs []*sdk.Job
	for i := range 2 {
		name := "job" + string(rune('a'+i))
		in, mf := writeFiles(t, t.TempDir(), uint64(20+i), 8, 16, 4)
		if _, err := sdk.Publish(filepath.Join(root, name), in, mf); err != nil {
			t.Fatal(err)
		}
		job, err := w.buyer.PostJob(ctx, sdk.JobRequest{InputFile: in, ModelFile: mf, ManifestURI: srv.URL + "/" + name + "/manifest.json",
			Shapes: []string{"tiny"}, Price: big.NewInt(1e17)})
		if err != nil {
			t.Fatal(err)
		}
		jobs = append(jobs, job)
	}
	cfg := w.config(t.TempDir(), start)
	cfg.Fetch.AllowFile = false
	cfg.FixSeed = false
	cfg.Concurrency = 2
	var progress syncBuffer
	n := w.node(t, ctx, cfg, func(o *prover.Options) { o.Progress = &progress })
	rctx, rcancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- n.Run(rctx) }()
	for _, job := range jobs {
		rc, err := w.buyer.WaitReceipt(ctx, job.ID) // over HTTP, authenticated by JobSettled
		if err != nil {
			t.Fatal(err)
		}
		if rc.JobID.Big().Cmp(job.ID) != 0 {
			t.Fatal("receipt for another job")
		}
	}
	rcancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	for _, job := range jobs {
		rec, err := n.Journal().Load(job.ID.String())
		if err != nil || rec.Step != prover.StepDone {
			t.Fatalf("job %v: %+v %v", job.ID, rec, err)
		}
		if _, ok := rec.Txs["fixSeed"]; ok {
			t.Error("fixSeed sent with fixSeed off")
		}
	}
	if !strings.Contains(progress.String(), "proving layer 1/1 (tiny)") {
		t.Errorf("progress output %q", progress.String())
	}
}

// TestGracefulShutdown: a shutdown asked for in the middle of a job lets the current step
// finish and be journaled, Run returns without error, and a restart finishes the job.
func TestGracefulShutdown(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	w := newWorld(t, ctx)
	start := w.head(t, ctx)
	job := w.post(t, ctx, big.NewInt(1e17))
	dir := t.TempDir()
	rctx, rcancel := context.WithCancel(ctx)
	n := w.node(t, ctx, w.config(dir, start), func(o *prover.Options) {
		o.Hook = func(_ *big.Int, s prover.Step) error {
			if s == prover.StepCommitted {
				rcancel() // SIGTERM arrives while the commit is being journaled
			}
			return nil
		}
	})
	if err := n.Run(rctx); err != nil {
		t.Fatalf("Run after shutdown: %v", err)
	}
	rec, err := n.Journal().Load(job.ID.String())
	if err != nil || rec.Step != prover.StepCommitted {
		t.Fatalf("journal after shutdown: %+v %v", rec, err)
	}
	n2 := w.node(t, ctx, w.config(dir, start), nil)
	if rec = runUntil(t, ctx, n2, job.ID, time.Minute); rec.Step != prover.StepDone {
		t.Fatalf("after restart: %s %s", rec.Step, rec.Reason)
	}
	if st, _ := w.buyer.JobState(ctx, job.ID); st != chain.StateSettled {
		t.Fatalf("chain state %v", st)
	}
}
