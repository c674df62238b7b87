package prover_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/probitylabs/probity/prover"
)

// TestSlowJobFileDoesNotBlockIntake (review M2): a buyer's server that never answers holds
// only its own job: the job posted after it, with a job file at hand, is taken and paid while
// the first fetch still hangs (the fetch timeout is much longer than the test waits).
func TestSlowJobFileDoesNotBlockIntake(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	hang := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-hang:
		case <-r.Context().Done():
		}
		http.Error(w, "gone", http.StatusNotFound)
	}))
	defer srv.Close()
	defer close(hang)
	w := newWorld(t, ctx, 1)
	start := w.head(t, ctx)
	slow := w.job(t, []int32{5, 5}, 6)
	w.post(t, ctx, w.request(t, ctx, slow, tokens(3), 0), srv.URL+"/job.safetensors")
	j := w.job(t, []int32{1, 4}, 6)
	id := w.post(t, ctx, w.request(t, ctx, j, tokens(3), 0), j.uri)
	cfg := w.config(t, t.TempDir(), start)
	cfg.AllowPrivateAddresses = true
	cfg.JobFetchTimeout = prover.Duration(10 * time.Minute)
	cfg.Fetch.Timeout = cfg.JobFetchTimeout
	n := w.node(t, ctx, w.provs[0], cfg, nil)
	t0 := time.Now()
	r := runUntil(t, ctx, n, 90*time.Second, id)[0]
	if r.Step != prover.StepDone {
		t.Fatalf("job ended %s (%s); want done", r.Step, r.Reason)
	}
	t.Logf("the second job was paid %v after the node started, the first job's fetch still hanging", time.Since(t0).Round(time.Millisecond))
}
