package prover_test

import (
	"context"
	"strings"

	"math/big"
	"testing"
	"time"

	groth16bn254 "github.com/consensys/gnark/backend/groth16/bn254"

	"github.com/probitylabs/probity/chain"
	"github.com/probitylabs/probity/jobs"
	"github.com/probitylabs/probity/model"
	"github.com/probitylabs/probity/prover"
	"github.com/probitylabs/probity/verifier"
	"github.com/probitylabs/probity/watcher"
)

// challengeWindow is the test jobs' challenge window, in chain seconds (a block each).
const challengeWindow = 600

// watch builds a watcher for the world's model, funded with tokens for bonds, reading the
// order book the test's offers are written to.
func (w *world) watch(t *testing.T, ctx context.Context, start uint64, book string) *watcher.Watcher {
	t.Helper()
	if _, err := w.gov.Mint(ctx, addr(w.watcherKey), tokens(1_000)); err != nil {
		t.Fatal(err)
	}
	return w.watchOn(t, ctx, start, book, t.TempDir())
}

// watchOn is a watcher on dataDir (a restart when another used it before).
func (w *world) watchOn(t *testing.T, ctx context.Context, start uint64, book, dataDir string) *watcher.Watcher {
	t.Helper()
	k := w.watcherKey
	cfg := watcher.DefaultConfig()
	cfg.Deployment, cfg.DataDir, cfg.StartBlock = w.d.Addresses, dataDir, start
	cfg.AllowFile, cfg.ChallengeMargin, cfg.OrderBooks = true, 0, []string{book}
	wt, err := watcher.New(ctx, watcher.Options{Config: cfg, Backend: w.sim.Client(), Key: k, Models: []*model.Model{w.m}, Logger: testLogger()})
	if err != nil {
		t.Fatal(err)
	}
	return wt
}

// runInBackground runs the node until the returned function stops it.
func runInBackground(ctx context.Context, n *prover.Node) (stop func()) {
	nctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- n.Run(nctx) }()
	return func() { cancel(); <-done }
}

// policy accepts the world's class with its key and receipts without attestation.
func (w *world) policy() verifier.Policy {
	return verifier.Policy{Classes: []verifier.Class{{Class: w.cl, VK: w.keys.VK.(*groth16bn254.VerifyingKey)}}, AllowNoAttestation: true, MinInstance: 0.1}
}

// pollUntil polls the watcher until the job's record has the status, or fails after limit.
func pollUntil(t *testing.T, ctx context.Context, wt *watcher.Watcher, next *uint64, id *big.Int, want watcher.Status, limit time.Duration) *watcher.Record {
	t.Helper()
	end := time.Now().Add(limit)
	for time.Now().Before(end) {
		n, err := wt.Poll(ctx, *next)
		if err != nil {
			t.Logf("poll: %v", err)
		}
		*next = n
		if r, ok, err := wt.Journal().Get(id); err != nil {
			t.Fatal(err)
		} else if ok && r.Status == want {
			return r
		} else if ok && r.Status.Terminal() {
			t.Fatalf("job %s: watcher concluded %s (%s), want %s", id, r.Status, r.Reason, want)
		}
		time.Sleep(blockEvery)
	}
	t.Fatalf("job %s: watcher did not reach %s in %v", id, want, limit)
	return nil
}

// waitState waits until the job reaches one of the states on chain.
func (w *world) waitState(t *testing.T, ctx context.Context, id *big.Int, limit time.Duration, states ...chain.JobState) chain.JobState {
	t.Helper()
	end := time.Now().Add(limit)
	for time.Now().Before(end) {
		st, err := w.buyer.JobState(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range states {
			if st == s {
				return st
			}
		}
		time.Sleep(blockEvery)
	}
	t.Fatalf("job %s did not reach %v in %v", id, states, limit)
	return 0
}

// provedCheat offers jobs to the cheating node n until one is proved. Sampling could draw
// the one falsified element (about one chance in a few hundred per job here); a job it
// catches fails to prove and is slashed at its deadline instead, and the next one is tried.
func (w *world) provedCheat(t *testing.T, ctx context.Context, n *prover.Node, book string) (*big.Int, *job) {
	t.Helper()
	for try := 0; try < 3; try++ {
		j := w.job(t, []int32{3, 1, 4, 1, 5}, 4)
		o, oid := w.offer(t, w.request(t, ctx, j, tokens(10), challengeWindow), j.uri)
		if _, err := jobs.WriteOffer(book, o); err != nil {
			t.Fatal(err)
		}
		n.Consider(o)
		for end := time.Now().Add(3 * time.Minute); ; time.Sleep(blockEvery) {
			st, err := w.buyer.JobState(ctx, oid)
			if err != nil {
				t.Fatal(err)
			}
			if st == chain.StateProved {
				return oid, j
			}
			if r, err := n.Journal().Load(oid.String()); err == nil && r.Step == prover.StepFailed {
				t.Logf("try %d: sampling caught the falsified element: %s", try, r.Reason)
				break
			}
			if time.Now().After(end) {
				t.Fatalf("job %s neither proved nor failed", oid)
			}
		}
	}
	t.Fatal("sampling caught the falsified element three times")
	return nil, nil
}

// TestWatcherCatchesTargetedCheat is issue 15's scenario on the simulated chain: a provider
// that changes one element of its last logits row (and so the answer's last token) proves its
// job (sampling misses the element), the watcher recomputes the published trace, challenges
// that element, the provider cannot answer, and the challenge is upheld: the provider is
// slashed, the watcher gets its bond back and the bounty, the buyer its price and the stake.
func TestWatcherCatchesTargetedCheat(t *testing.T) {
	if testing.Short() {
		t.Skip("real proofs: run without -short")
	}
	ctx := context.Background()
	w := newWorld(t, ctx, 1)
	start := w.head(t, ctx)
	cfg := w.config(t, t.TempDir(), start)
	cfg.Falsify = prover.FalsifyAnswer
	n := w.node(t, ctx, w.provs[0], cfg, nil)
	defer runInBackground(ctx, n)()
	book := "file://" + t.TempDir()
	wt := w.watch(t, ctx, start, book)
	next := start

	id, j := w.provedCheat(t, ctx, n, book)
	rec := pollUntil(t, ctx, wt, &next, id, watcher.StatusChallenged, time.Minute)
	e, err := rec.Fault()
	if err != nil {
		t.Fatal(err)
	}
	if e.Kind != jobs.ElementOp || int(e.Op) != len(w.m.Ops)-1 || int(e.Row) != len(j.gen.Prompt)+j.gen.New-2 {
		t.Fatalf("challenged %s, want the last op's last row", e)
	}
	// The watcher restarts on its data directory (a crash after the challenge was mined): the
	// new process resumes the open challenge from its journal. The provider cannot answer;
	// past its deadline the new watcher enforces.
	wt = w.watchOn(t, ctx, start, book, wt.DataDir())
	if err := w.sim.AdjustTime(3601 * time.Second); err != nil {
		t.Fatal(err)
	}
	pollUntil(t, ctx, wt, &next, id, watcher.StatusUpheld, time.Minute)
	if st := w.waitState(t, ctx, id, 10*time.Second, chain.StateSlashed); st != chain.StateSlashed {
		t.Fatalf("job %v", st)
	}
	evs, err := w.buyer.FilterJobEvents(ctx, chain.EventRange{Start: start}, id)
	if err != nil {
		t.Fatal(err)
	}
	if len(evs.Slashed) != 1 || evs.Slashed[0].Caller != wt.Address() || evs.Slashed[0].Bounty.Sign() <= 0 {
		t.Fatalf("slash events %+v, want one with a bounty to the watcher %s", evs.Slashed, wt.Address())
	}
	// The cheater's receipt (signed when the job was proved) fails an audit against the chain.
	nrec, err := n.Journal().Load(id.String())
	if err != nil || nrec.ReceiptPath == "" {
		t.Fatalf("the cheater's receipt: %+v, %v", nrec, err)
	}
	rep, err := verifier.AuditFile(ctx, nrec.ReceiptPath, w.policy(), verifier.Options{Model: w.m, Chain: verifier.MarketChain{Market: w.buyer, Headers: w.sim.Client()}})
	if err != nil {
		t.Fatal(err)
	}
	if c := rep.Check(verifier.CheckOnChain); c.Status != verifier.Fail || !strings.Contains(c.Err.Error(), "was not answered") {
		t.Fatalf("the cheater's receipt: on-chain check %+v", c)
	}
	if got := wt.Metrics(); got == nil {
		t.Fatal("no metrics")
	}
}

// TestWatcherSearchesWithheldTrace is the targeted cheat by a provider that withholds its
// trace: the watcher recomputes the job, sees that the committed root is not the job's,
// opens the nodes it needs with data challenges (which the cheater answers: its commitment is
// all it has), names the falsified element from the openings, challenges it, and the provider
// cannot answer: it is slashed. A restart in the middle rebuilds the search from the chain.
func TestWatcherSearchesWithheldTrace(t *testing.T) {
	if testing.Short() {
		t.Skip("real proofs: run without -short")
	}
	ctx := context.Background()
	w := newWorld(t, ctx, 1)
	start := w.head(t, ctx)
	cfg := w.config(t, t.TempDir(), start)
	cfg.Falsify = prover.FalsifyWithhold
	n := w.node(t, ctx, w.provs[0], cfg, nil)
	defer runInBackground(ctx, n)()
	book := "file://" + t.TempDir()
	wt := w.watch(t, ctx, start, book)
	next := start
	id, j := w.provedCheat(t, ctx, n, book)
	pollUntil(t, ctx, wt, &next, id, watcher.StatusSearching, time.Minute)
	// A crash during the search: the new process decides the job again and carries on from
	// the openings on chain.
	wt = w.watchOn(t, ctx, start, book, wt.DataDir())
	next = start
	rec := pollUntil(t, ctx, wt, &next, id, watcher.StatusChallenged, 2*time.Minute)
	e, err := rec.Fault()
	if err != nil {
		t.Fatal(err)
	}
	if e.Kind != jobs.ElementOp || int(e.Op) != len(w.m.Ops)-1 || int(e.Row) != len(j.gen.Prompt)+j.gen.New-2 {
		t.Fatalf("challenged %s, want the last op's last row", e)
	}
	if len(rec.Data) == 0 {
		t.Fatal("no data challenge journaled")
	}
	for _, word := range rec.Data {
		d, _ := new(big.Int).SetString(word, 10)
		c, err := w.buyer.ChallengeOf(ctx, id, d)
		if err != nil || chain.ChallengeState(c.State) != chain.ChallengeStateAnswered {
			t.Fatalf("data challenge %s: state %d, %v; want answered", word, c.State, err)
		}
	}
	t.Logf("%d data challenges, then %s", len(rec.Data), e)
	// The element's answer is due a proveWindow after the last data challenge's deadline.
	if err := w.sim.AdjustTime(3 * 3601 * time.Second); err != nil {
		t.Fatal(err)
	}
	pollUntil(t, ctx, wt, &next, id, watcher.StatusUpheld, time.Minute)
	if st := w.waitState(t, ctx, id, 10*time.Second, chain.StateSlashed); st != chain.StateSlashed {
		t.Fatalf("job %v", st)
	}
}

// TestHonestProviderAnswersChallenges: a wrong challenge of an honest job (a real element,
// and one that names nothing) is answered by the node with a targeted proof, the challenger's
// bond goes to the provider, and the job is paid after its window.
func TestHonestProviderAnswersChallenges(t *testing.T) {
	if testing.Short() {
		t.Skip("real proofs: run without -short")
	}
	ctx := context.Background()
	w := newWorld(t, ctx, 1)
	start := w.head(t, ctx)
	paidBefore, err := w.provs[0].market.TokenBalance(ctx, w.provs[0].market.Address())
	if err != nil {
		t.Fatal(err)
	}
	n := w.node(t, ctx, w.provs[0], w.config(t, t.TempDir(), start), nil)
	j := w.job(t, []int32{2, 7, 1, 8}, 3)
	req := w.request(t, ctx, j, tokens(10), challengeWindow)
	o, id := w.offer(t, req, j.uri)
	book := "file://" + t.TempDir()
	if _, err := jobs.WriteOffer(book, o); err != nil {
		t.Fatal(err)
	}
	n.Consider(o)
	defer runInBackground(ctx, n)()
	w.waitState(t, ctx, id, 3*time.Minute, chain.StateProved)

	// The watcher finds nothing wrong.
	wt := w.watch(t, ctx, start, book)
	next := start
	pollUntil(t, ctx, wt, &next, id, watcher.StatusHonest, time.Minute)

	evs, err := w.buyer.FilterJobEvents(ctx, chain.EventRange{Start: start}, id)
	if err != nil {
		t.Fatal(err)
	}
	traceRoot, resultDigest := evs.Committed[0].TraceRoot, evs.Proved[0].ResultDigest
	griefer := w.keeper
	if _, err := w.gov.Mint(ctx, griefer.Address(), tokens(1_000)); err != nil {
		t.Fatal(err)
	}
	bond, err := griefer.Bond(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// Two elements (a real one and one that names nothing) and three data elements (a row, a
	// column of a tensor without a column tree, a tensor past the trace): proofs and openings.
	elements := []jobs.Element{{Kind: jobs.ElementOp, Op: 2, Row: 1, Col: 0}, {Kind: jobs.ElementOp, Op: 1 << 31},
		{Kind: jobs.ElementRow, Op: 3, Row: 2}, {Kind: jobs.ElementColumn, Op: 1, Col: 1},
		{Kind: jobs.ElementTensor, Op: 1 << 20}}
	if _, err := griefer.Approve(ctx, w.d.Addresses.Challenges, new(big.Int).Mul(bond, big.NewInt(int64(len(elements))))); err != nil {
		t.Fatal(err)
	}
	for _, e := range elements {
		if _, err := griefer.Challenge(ctx, req, traceRoot, resultDigest, e.Word()); err != nil {
			t.Fatalf("challenge %s: %v", e, err)
		}
	}
	// The node answers both; then the window ends and it collects.
	for _, e := range elements {
		end := time.Now().Add(2 * time.Minute)
		for {
			c, err := griefer.ChallengeOf(ctx, id, e.Word())
			if err != nil {
				t.Fatal(err)
			}
			if chain.ChallengeState(c.State) == chain.ChallengeStateAnswered {
				break
			}
			if time.Now().After(end) {
				t.Fatalf("challenge %s not answered (state %d)", e, c.State)
			}
			time.Sleep(blockEvery)
		}
	}
	// The data answers kept the window open a proveWindow (3600 s) after the last.
	if err := w.sim.AdjustTime(challengeWindow * time.Second); err != nil {
		t.Fatal(err)
	}
	if until, err := griefer.DataUntil(ctx, id); err != nil || until == 0 {
		t.Fatalf("dataUntil %d, %v", until, err)
	}
	time.Sleep(5 * blockEvery)
	if st, err := w.buyer.JobState(ctx, id); err != nil || st != chain.StateProved {
		t.Fatalf("the job was paid before its data answers' window ended: %v, %v", st, err)
	}
	if err := w.sim.AdjustTime(3601 * time.Second); err != nil {
		t.Fatal(err)
	}
	w.waitState(t, ctx, id, time.Minute, chain.StateSettled)

	// An audit against the chain says how the window ended.
	var rec *prover.Record
	end := time.Now().Add(time.Minute)
	for rec == nil || rec.ReceiptPath == "" {
		if time.Now().After(end) {
			t.Fatal("no receipt document")
		}
		rec, _ = n.Journal().Load(id.String())
		time.Sleep(blockEvery)
	}
	rep, err := verifier.AuditFile(ctx, rec.ReceiptPath, w.policy(), verifier.Options{Model: w.m, Chain: verifier.MarketChain{Market: w.buyer, Headers: w.sim.Client()}})
	if err != nil {
		t.Fatal(err)
	}
	if c := rep.Check(verifier.CheckOnChain); !rep.OK() || !strings.Contains(c.Detail, "passed with 5 challenges, every one answered") {
		t.Fatalf("audit: %v; on-chain check %+v", rep.Err(), c)
	}

	// The node withdrew the price and the five bonds its answers won.
	for end := time.Now().Add(time.Minute); ; time.Sleep(blockEvery) {
		if r, err := n.Journal().Load(id.String()); err == nil && r.Step == prover.StepDone {
			break
		}
		if time.Now().After(end) {
			t.Fatal("the node did not finish the job")
		}
	}
	paid, err := w.provs[0].market.TokenBalance(ctx, w.provs[0].market.Address())
	if err != nil {
		t.Fatal(err)
	}
	want := new(big.Int).Add(req.Price, new(big.Int).Mul(bond, big.NewInt(int64(len(elements)))))
	if got := new(big.Int).Sub(paid, paidBefore); got.Cmp(want) != 0 {
		t.Fatalf("the provider was paid %s, want the price and the bonds %s", got, want)
	}
}
