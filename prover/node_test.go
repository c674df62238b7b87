package prover_test

import (
	"context"
	"errors"
	"io"
	"math/big"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	groth16bn254 "github.com/consensys/gnark/backend/groth16/bn254"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	"github.com/probitylabs/probity/attestation"
	"github.com/probitylabs/probity/chain"
	"github.com/probitylabs/probity/circuits"
	"github.com/probitylabs/probity/prover"
	"github.com/probitylabs/probity/receipt"
	"github.com/probitylabs/probity/sdk"
	"github.com/probitylabs/probity/verifier"
)

func tokenBalance(t *testing.T, ctx context.Context, c *sdk.Client) *big.Int {
	t.Helper()
	b, err := c.Chain().TokenBalance(ctx, c.Address())
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestLifecycle: a buyer posts a real tiny-shape job; the node fetches and checks the
// files, locks, executes, commits, fixes the seed, proves, submits, publishes the
// receipt and withdraws the price. Balances move by exactly the price.
func TestLifecycle(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	w := newWorld(t, ctx)
	price := big.NewInt(3e17)
	start := w.head(t, ctx)
	buyerBefore := tokenBalance(t, ctx, w.buyer)
	provBefore := tokenBalance(t, ctx, w.prov)
	job := w.post(t, ctx, price)

	cfg := w.config(t.TempDir(), start)
	cfg.MetricsAddr = "127.0.0.1:0"
	n := w.node(t, ctx, cfg, nil)
	rec := runUntil(t, ctx, n, job.ID, 2*time.Minute)
	if rec.Step != prover.StepDone {
		t.Fatalf("job ended at %s: %s", rec.Step, rec.Reason)
	}
	if st, _ := w.buyer.JobState(ctx, job.ID); st != chain.StateSettled {
		t.Fatalf("chain state %v", st)
	}
	// Money: the buyer paid the price, the provider withdrew it, stake is free again.
	if got := new(big.Int).Sub(buyerBefore, tokenBalance(t, ctx, w.buyer)); got.Cmp(price) != 0 {
		t.Fatalf("buyer paid %v, want %v", got, price)
	}
	if got := new(big.Int).Sub(tokenBalance(t, ctx, w.prov), provBefore); got.Cmp(price) != 0 {
		t.Fatalf("provider earned %v, want %v", got, price)
	}
	st, err := w.buyer.ProviderStake(ctx, w.prov.Address())
	if err != nil || st.Reserved.Sign() != 0 {
		t.Fatalf("stake after settlement: %+v %v", st, err)
	}
	// The recorded receipt is signed by the node key and is the one the buyer fetches.
	b, err := os.ReadFile(rec.ReceiptPath)
	if err != nil {
		t.Fatal(err)
	}
	rc, err := receipt.Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	if signer, err := rc.Signer(); err != nil || signer != crypto.PubkeyToAddress(w.nodeKey.PublicKey) {
		t.Fatalf("signer %v %v", signer, err)
	}
	if rc.Timings.ProveMs == 0 && rc.Timings.ExecuteMs == 0 && rc.Timings.SubmitMs == 0 {
		t.Log("all timings rounded to 0 ms")
	}
	att, err := attestation.Parse(rc.Attestation)
	if err != nil || att.Mode != attestation.ModeNone {
		t.Fatalf("attestation %+v %v", att, err)
	}
	got, err := w.buyer.WaitReceipt(ctx, job.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Digest() != rc.Digest() {
		t.Fatal("published receipt differs from the recorded one")
	}
	// An auditor pinned to this deployment accepts it, on-chain cross-check included.
	tiny, err := circuits.Lookup("tiny")
	require.NoError(t, err)
	keys, err := sharedKeys.Setup(tiny)
	require.NoError(t, err)
	pol := verifier.DefaultPolicy()
	pol.AllowNoAttestation = true
	pol.ExpectedChainID, _ = w.buyer.ChainID(ctx)
	mgr := w.sim.Addresses.Manager
	pol.ExpectedContract = &mgr
	rep, err := verifier.Audit(ctx, got, pol, verifier.Options{
		Keys:  verifier.KeyMap{keys.Shape.ID(): keys.VK.(*groth16bn254.VerifyingKey)},
		Chain: verifier.NewChainView(w.backend, w.buyer.Chain()),
	})
	require.NoError(t, err)
	require.NoError(t, rep.Err())
	require.Equal(t, verifier.Pass, rep.Check(verifier.CheckOnChain).Status)
	for _, step := range []string{"lock", "commit", "fixSeed", "submitProof"} {
		if _, ok := rec.Txs[step]; !ok && step != "fixSeed" {
			t.Errorf("no %s transaction journaled: %v", step, rec.Txs)
		}
	}
	// Metrics.
	m := n.Metrics()
	if v := testutil.ToFloat64(m.Jobs.WithLabelValues("done")); v != 1 {
		t.Errorf("jobs{state=done} = %v", v)
	}
	if v := testutil.ToFloat64(m.GasUsed.WithLabelValues("submitProof")); v < 200000 {
		t.Errorf("submitProof gas %v", v)
	}
	if v := testutil.ToFloat64(m.StakeAtRisk); v != 0 {
		t.Errorf("stake at risk after settlement: %v", v)
	}
	if c := testutil.CollectAndCount(m.ProveSeconds); c != 1 {
		t.Errorf("proving histogram series: %d", c)
	}
}

// TestMetricsEndpoint serves the exposition format over HTTP.
func TestMetricsEndpoint(t *testing.T) {
	m := prover.NewMetrics()
	m.Refused.WithLabelValues("files").Inc()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	addr, err := m.Serve(ctx, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{`probity_prover_refused_jobs_total{reason="files"} 1`, "probity_prover_stake_at_risk_tokens", "go_goroutines"} {
		if !strings.Contains(string(body), want) {
			t.Errorf("metrics lack %q", want)
		}
	}
}

// TestRefuseMismatchedFiles: files that do not hash to the posted roots are refused and
// the job is never locked.
func TestRefuseMismatchedFiles(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	w := newWorld(t, ctx)
	start := w.head(t, ctx)
	job := w.post(t, ctx, big.NewInt(1e17))
	// The buyer's server hands out another model than the one posted.
	mu, err := url.Parse(job.ManifestURI)
	if err != nil {
		t.Fatal(err)
	}
	pub := filepath.Dir(mu.Path)
	other := t.TempDir()
	_, mf := writeFiles(t, other, 99, 5, 16, 4)
	b, _ := os.ReadFile(mf)
	if err := os.WriteFile(filepath.Join(pub, "model.safetensors"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	n := w.node(t, ctx, w.config(t.TempDir(), start), nil)
	rec := runUntil(t, ctx, n, job.ID, time.Minute)
	if rec.Step != prover.StepRefused || !strings.Contains(rec.Reason, "weightsRoot") {
		t.Fatalf("step %s reason %q", rec.Step, rec.Reason)
	}
	if st, _ := w.buyer.JobState(ctx, job.ID); st != chain.StateOpen {
		t.Fatalf("refused job is %v on chain", st)
	}
	if v := testutil.ToFloat64(n.Metrics().Refused.WithLabelValues("files")); v != 1 {
		t.Fatalf("refused{files} = %v", v)
	}
}

// TestRefuseUnservable: a price below the minimum is not taken at all.
func TestRefuseUnservable(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	w := newWorld(t, ctx)
	start := w.head(t, ctx)
	job := w.post(t, ctx, big.NewInt(10))
	cfg := w.config(t.TempDir(), start)
	cfg.MinPrice = "1000"
	n := w.node(t, ctx, cfg, nil)
	rctx, rcancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- n.Run(rctx) }()
	deadline := time.Now().Add(30 * time.Second)
	for testutil.ToFloat64(n.Metrics().Refused.WithLabelValues("price")) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("job not refused for its price")
		}
		time.Sleep(20 * time.Millisecond)
	}
	rcancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if _, err := n.Journal().Load(job.ID.String()); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("unservable job journaled: %v", err)
	}
}
