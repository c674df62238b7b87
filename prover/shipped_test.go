package prover_test

import (
	"context"
	"testing"
	"time"

	"github.com/probitylabs/probity/circuits/universal"
	"github.com/probitylabs/probity/jobs"
	"github.com/probitylabs/probity/models"
)

// TestShippedModelOffer serves an offer of the shipped model in the small class, as the demo
// does: the node's self-test, lockAndCommit, the proof and the payout with the class's real
// verifier. It needs the small class's keys (about two minutes to set up the first time), so
// it is skipped under -short.
func TestShippedModelOffer(t *testing.T) {
	if testing.Short() {
		t.Skip("needs the small class's keys (setup about 2 min the first time); run without -short")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	m, err := models.KJV()
	if err != nil {
		t.Fatal(err)
	}
	w := newWorldFor(t, ctx, 1, universal.Small(), m)
	j := w.job(t, jobs.ByteTokens([]byte("And God said, ")), 16)
	o, id := w.offer(t, w.request(t, ctx, j, tokens(10), 0), j.uri)
	cfg := w.config(t, t.TempDir(), w.head(t, ctx))
	cfg.Safety.WindowMargin = 0
	n := w.node(t, ctx, w.provs[0], cfg, nil)
	n.Consider(o)
	r := runUntil(t, ctx, n, 8*time.Minute, id)[0]
	wantSettled(t, ctx, w, r, j.want, allTimings...)
	t.Logf("shipped model: %+v", r.Report())
}
