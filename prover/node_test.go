package prover_test

import (
	"context"
	"math/big"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/probitylabs/probity/chain"
	"github.com/probitylabs/probity/jobs"
	"github.com/probitylabs/probity/prover"
	"github.com/probitylabs/probity/receipt"
)

// provedEvent returns the job's JobProved event.
func provedEvent(t *testing.T, ctx context.Context, w *world, id *big.Int) *chain.JobProved {
	t.Helper()
	evs, err := w.keeper.FilterJobProved(ctx, chain.EventRange{})
	if err != nil {
		t.Fatal(err)
	}
	for _, ev := range evs {
		if ev.JobId.Cmp(id) == 0 {
			return ev
		}
	}
	t.Fatalf("no JobProved for job %v", id)
	return nil
}

// wantSettled checks a job the node finished: settled on chain, the reference tokens in
// JobProved and the journal, a receipt the manager and package receipt accept, published next to the
// job file, and the timings named in timings journaled.
func wantSettled(t *testing.T, ctx context.Context, w *world, r *prover.Record, want []uint32, timings ...string) {
	t.Helper()
	if r.Step != prover.StepDone {
		t.Fatalf("job %s ended %s: %s", r.JobID, r.Step, r.Reason)
	}
	if st, err := w.keeper.JobState(ctx, r.ID()); err != nil || st != chain.StateSettled {
		t.Fatalf("job %s is %v on chain (%v)", r.JobID, st, err)
	}
	ev := provedEvent(t, ctx, w, r.ID())
	got, err := chain.ResultTokens(ev.Result, r.Request.NewTokens)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, want) || !slices.Equal(r.Tokens, want) {
		t.Fatalf("JobProved tokens %v, journal %v, the reference generation %v", got, r.Tokens, want)
	}
	if ev.ReceiptDigest != r.ReceiptDigest {
		t.Fatalf("receipt digest %x, the manager's %x", r.ReceiptDigest, ev.ReceiptDigest)
	}
	rc := chain.Receipt{JobId: r.ID(), Provider: ev.Provider, ModelRoot: r.Request.ModelRoot, JobDigest: r.Request.JobDigest,
		TraceRoot: mustWord(t, r.TraceRoot), AttestationDigest: r.AttestationDigest, Seed: ev.Seed, ResultDigest: ev.ResultDigest}
	copy(rc.ProofHash[:], keccak(r.Proof))
	if ok, err := w.keeper.VerifyReceipt(ctx, rc, r.ReceiptSignature); err != nil || !ok {
		t.Fatalf("the manager does not accept the node's receipt signature (%v)", err)
	}
	// The receipt document: published next to the job file, strict, signed by the node key,
	// with the digest JobProved emitted.
	u, err := jobs.ReceiptURL(r.JobURI, r.ID())
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(u.Path)
	if err != nil {
		t.Fatalf("receipt not published: %v", err)
	}
	doc, err := receipt.Parse(b)
	if err != nil {
		t.Fatalf("published receipt: %v", err)
	}
	if err := doc.VerifySignature(); err != nil {
		t.Fatal(err)
	}
	if doc.Digest() != ev.ReceiptDigest || !slices.Equal(doc.Result.Tokens, want) {
		t.Fatalf("receipt digest %x tokens %v, JobProved %x %v", doc.Digest(), doc.Result.Tokens, ev.ReceiptDigest, want)
	}
	for _, k := range timings {
		if _, ok := r.Timings[k]; !ok {
			t.Errorf("no %s timing: %v", k, r.Timings)
		}
	}
}

// TestOfferSettled: an offer read from an order book is executed first, locked and committed in one lockAndCommit
// under the 500k-gas target, proved, finalized after its challenge window and collected;
// the tokens in JobProved are the reference generation's and the receipt verifies.
func TestOfferSettled(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	w := newWorld(t, ctx, 1)
	p := w.provs[0]
	j := w.job(t, []int32{1, 2, 3}, 8)
	o, id := w.offer(t, w.request(t, ctx, j, tokens(10), 20), j.uri)
	book := "file://" + filepath.Join(t.TempDir(), "book")
	if _, err := jobs.WriteOffer(book, o); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	cfg := w.config(t, dir, w.head(t, ctx))
	cfg.OrderBooks = []string{book}
	n := w.node(t, ctx, p, cfg, nil)
	before, err := w.keeper.TokenBalance(ctx, p.market.Address())
	if err != nil {
		t.Fatal(err)
	}
	r := runUntil(t, ctx, n, 2*time.Minute, id)[0]
	w.keepEstimates(t, dir)
	wantSettled(t, ctx, w, r, j.want, allTimings...)
	if g := r.Gas["lockAndCommit"]; g == 0 || g > 500_000 {
		t.Fatalf("lockAndCommit gas %d, want (0, 500000]", g)
	}
	if r.Gas["collect"] == 0 {
		t.Fatalf("not collected: gas %v", r.Gas)
	}
	after, err := w.keeper.TokenBalance(ctx, p.market.Address())
	if err != nil {
		t.Fatal(err)
	}
	if paid := new(big.Int).Sub(after, before); paid.Cmp(tokens(10)) != 0 {
		t.Fatalf("provider paid %v, want the price %v", paid, tokens(10))
	}
	t.Logf("offer: gas %v, timings %v", r.Gas, r.Timings)
}

// TestPostedSettled: a posted job is locked, executed, committed, proved and paid at once
// (zero challenge window).
func TestPostedSettled(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	w := newWorld(t, ctx, 1)
	j := w.job(t, []int32{4, 5}, 10)
	start := w.head(t, ctx)
	id := w.post(t, ctx, w.request(t, ctx, j, tokens(3), 0), j.uri)
	n := w.node(t, ctx, w.provs[0], w.config(t, t.TempDir(), start), nil)
	r := runUntil(t, ctx, n, 2*time.Minute, id)[0]
	wantSettled(t, ctx, w, r, j.want, allTimings...)
	for _, k := range []string{"lock", "commit", "submit"} {
		if r.Gas[k] == 0 {
			t.Fatalf("no %s gas: %v", k, r.Gas)
		}
	}
	prov, err := w.keeper.ProviderOf(ctx, w.provs[0].market.Address())
	if err != nil || prov.Reserved.Sign() != 0 {
		t.Fatalf("stake still reserved after settlement: %+v (%v)", prov, err)
	}
}

// TestBatch: three posted jobs of one class are proved and submitted in one submitBatch, and
// every member is settled with its own tokens.
func TestBatch(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	w := newWorld(t, ctx, 1)
	start := w.head(t, ctx)
	var ids []*big.Int
	var js []*job
	for i := range 3 {
		j := w.job(t, []int32{int32(i), 7}, 6+i)
		js = append(js, j)
		ids = append(ids, w.post(t, ctx, w.request(t, ctx, j, tokens(2), 0), j.uri))
	}
	cfg := w.config(t, t.TempDir(), start)
	cfg.BatchSize, cfg.BatchMaxWait = 3, prover.Duration(20*time.Second)
	cfg.Concurrency = 3
	n := w.node(t, ctx, w.provs[0], cfg, nil)
	recs := runUntil(t, ctx, n, 2*time.Minute, ids...)
	for i, r := range recs {
		wantSettled(t, ctx, w, r, js[i].want, allTimings...)
		if r.BatchSize != 3 || r.Txs["submitBatch"] != recs[0].Txs["submitBatch"] {
			t.Fatalf("job %d: batch of %d in %x, want all three in one", i, r.BatchSize, r.Txs["submitBatch"])
		}
	}
	t.Logf("batch of 3: %d gas a job", recs[0].Gas["submitBatch"])
}

// TestFalsifyingNodeSlashed: a lazy node commits a made-up trace, cannot prove it and is
// slashed at its deadline by a keeper; an honest node serving the same buyer at the same
// time is paid and never slashed.
func TestFalsifyingNodeSlashed(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	w := newWorld(t, ctx, 2)
	honest, lazy := w.provs[0], w.provs[1]
	jh, jl := w.job(t, []int32{1}, 9), w.job(t, []int32{2}, 9)
	oh, idh := w.offer(t, w.request(t, ctx, jh, tokens(5), 0), jh.uri)
	reqL := w.request(t, ctx, jl, tokens(5), 0)
	ol, idl := w.offer(t, reqL, jl.uri)
	start := w.head(t, ctx)
	nh := w.node(t, ctx, honest, w.config(t, t.TempDir(), start), nil)
	cfgL := w.config(t, t.TempDir(), start)
	cfgL.Falsify = prover.FalsifyLazy
	nl := w.node(t, ctx, lazy, cfgL, nil)
	nh.Consider(oh)
	nl.Consider(ol)
	done := make(chan *prover.Record, 1)
	go func() { done <- runUntil(t, ctx, nh, 2*time.Minute, idh)[0] }()
	rl := runUntil(t, ctx, nl, 2*time.Minute, idl)[0]
	rh := <-done
	wantSettled(t, ctx, w, rh, jh.want, allTimings...)
	if rl.Step != prover.StepFailed {
		t.Fatalf("the lazy node's job ended %s (%s), want failed: it cannot prove", rl.Step, rl.Reason)
	}
	if st, _ := w.keeper.JobState(ctx, idl); st != chain.StateCommitted {
		t.Fatalf("lazy job is %v, want Committed until its deadline", st)
	}
	evs, err := w.keeper.FilterJobCommitted(ctx, chain.EventRange{}, idl)
	if err != nil || len(evs) != 1 {
		t.Fatalf("JobCommitted of the lazy job: %d (%v)", len(evs), err)
	}
	if _, err := w.keeper.Slash(ctx, reqL, chain.CommitmentFromEvent(evs[0])); err == nil {
		t.Fatal("slashed before the deadline")
	}
	if err := w.sim.AdjustTime(time.Duration(reqL.ProveWindow+10) * time.Second); err != nil {
		t.Fatal(err)
	}
	res, err := w.keeper.Slash(ctx, reqL, chain.CommitmentFromEvent(evs[0]))
	if err != nil {
		t.Fatal(err)
	}
	if res.Slashed.Provider != lazy.market.Address() {
		t.Fatalf("slashed %s, want the lazy provider", res.Slashed.Provider)
	}
	slashed, err := w.keeper.FilterJobSlashed(ctx, chain.EventRange{})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range slashed {
		if s.Provider == honest.market.Address() {
			t.Fatalf("the honest provider was slashed: job %v", s.JobId)
		}
	}
}

// TestRefusals: jobs the node must not take lock nothing, are journaled as refused with the
// reason and counted by it: a job
// file that is not the request's, a model the node does not hold, a class it does not serve,
// windows too short for its measured times, a price below its minimum.
func TestRefusals(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	w := newWorld(t, ctx, 1)
	start := w.head(t, ctx)
	good, other := w.job(t, []int32{1, 2}, 4), w.job(t, []int32{3, 3}, 4)
	cases := []struct {
		reason string
		mod    func(*chain.Request)
		uri    string
		posted bool
	}{
		{"job-mismatch", func(r *chain.Request) {}, other.uri, false},
		{"job-mismatch", func(r *chain.Request) {}, other.uri, true},
		{"model", func(r *chain.Request) { r.ModelRoot = big.NewInt(12345) }, good.uri, false},
		{"class", func(r *chain.Request) { r.ClassId[0] ^= 1 }, good.uri, false},
		{"windows", func(r *chain.Request) { r.ProveWindow = 60 }, good.uri, false},
		{"windows", func(r *chain.Request) { r.ExecWindow = 60; r.ProveWindow = 60 }, good.uri, true},
		{"price", func(r *chain.Request) { r.Price = big.NewInt(1) }, good.uri, false},
	}
	cfg := w.config(t, t.TempDir(), start)
	cfg.MinPrice = "1000"
	n := w.node(t, ctx, w.provs[0], cfg, nil)
	var ids []*big.Int
	want := map[string]float64{}
	for _, c := range cases {
		req := w.request(t, ctx, good, tokens(1), 0)
		c.mod(&req)
		want[c.reason]++
		if c.posted {
			ids = append(ids, w.post(t, ctx, req, c.uri))
			continue
		}
		o, id := w.offer(t, req, c.uri)
		ids = append(ids, id)
		n.Consider(o)
	}
	rctx, rcancel := context.WithTimeout(ctx, time.Minute)
	defer rcancel()
	errc := make(chan error, 1)
	go func() { errc <- n.Run(rctx) }()
	for {
		all := true
		for reason, k := range want {
			if testutil.ToFloat64(n.Metrics().Refused.WithLabelValues(reason)) < k {
				all = false
			}
		}
		if all {
			break
		}
		select {
		case err := <-errc:
			t.Fatalf("node stopped: %v", err)
		case <-rctx.Done():
			for reason, k := range want {
				t.Logf("%s: %v of %v", reason, testutil.ToFloat64(n.Metrics().Refused.WithLabelValues(reason)), k)
			}
			t.Fatal("not every job was refused in time")
		case <-time.After(blockEvery):
		}
	}
	rcancel()
	<-errc
	for i, id := range ids {
		st, err := w.keeper.JobState(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if st != chain.StateNone && st != chain.StateOpen {
			t.Fatalf("case %d (%s): job is %v", i, cases[i].reason, st)
		}
		r, err := n.Journal().Load(id.String())
		if err != nil || r.Step != prover.StepRefused || !strings.HasPrefix(r.Reason, cases[i].reason+":") {
			t.Fatalf("case %d (%s): journal %+v (%v)", i, cases[i].reason, r, err)
		}
	}
	prov, err := w.keeper.ProviderOf(ctx, w.provs[0].market.Address())
	if err != nil || prov.Reserved.Sign() != 0 {
		t.Fatalf("stake reserved: %+v (%v)", prov, err)
	}
}

// allTimings are the per-job timings the demo prints.
var allTimings = []string{"executeMs", "commitMs", "proveMs", "submitMs"}
