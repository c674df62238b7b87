package prover_test

import (
	"context"
	"errors"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	"github.com/probitylabs/probity/chain"
	"github.com/probitylabs/probity/prover"
)

// TestCrashAtEveryStep kills the node at every step, in the worst window: after the
// step's chain action, before the journal records it. A new node on the same data
// directory must reconcile with the chain, finish the job and get paid, never slashed.
func TestCrashAtEveryStep(t *testing.T) {
	// Generous limits: the first node's start-up self-test proves a layer, which takes over a
	// minute when the 2 cores are shared with other test packages (go test -p 2).
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	w := newWorld(t, ctx)
	steps := []prover.Step{prover.StepFetched, prover.StepLocked, prover.StepExecuted, prover.StepCommitted,
		prover.StepSeeded, prover.StepProved, prover.StepSettled, prover.StepDone}
	for _, crashAt := range steps {
		t.Run(string(crashAt), func(t *testing.T) {
			start := w.head(t, ctx)
			job := w.post(t, ctx, big.NewInt(1e17))
			dir := t.TempDir()
			nctx, ncancel := context.WithCancel(ctx)
			crashed := false
			n1 := w.node(t, nctx, w.config(dir, start), func(o *prover.Options) {
				o.Hook = func(id *big.Int, s prover.Step) error {
					if id.Cmp(job.ID) == 0 && s == crashAt {
						crashed = true
						ncancel() // the process dies here
						return prover.ErrAbort
					}
					return nil
				}
			})
			rec := runUntil(t, nctx, n1, job.ID, 3*time.Minute)
			ncancel()
			if !crashed {
				t.Fatalf("never reached %s (at %s: %s)", crashAt, rec.Step, rec.Reason)
			}
			if rec.Step == crashAt {
				t.Fatalf("journal already at %s: the hook ran after the write", crashAt)
			}
			n2 := w.node(t, ctx, w.config(dir, start), nil)
			rec = runUntil(t, ctx, n2, job.ID, 3*time.Minute)
			if rec.Step != prover.StepDone {
				t.Fatalf("after restart at %s: %s (%s)", crashAt, rec.Step, rec.Reason)
			}
			if st, _ := w.buyer.JobState(ctx, job.ID); st != chain.StateSettled {
				t.Fatalf("chain state %v", st)
			}
		})
	}
	st, err := w.buyer.ProviderStake(ctx, w.prov.Address())
	if err != nil || st.Reserved.Sign() != 0 {
		t.Fatalf("stake after all jobs: %+v %v", st, err)
	}
}

// flaky is an RPC endpoint that goes away while down is set (connection refused on
// every call), as a restarting node does.
type flaky struct {
	chain.Backend
	down  atomic.Bool
	fails atomic.Int64
}

func (f *flaky) err() error {
	if f.down.Load() {
		f.fails.Add(1)
		return &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}
	}
	return nil
}

func (f *flaky) CallContract(ctx context.Context, m ethereum.CallMsg, n *big.Int) ([]byte, error) {
	if err := f.err(); err != nil {
		return nil, err
	}
	return f.Backend.CallContract(ctx, m, n)
}

func (f *flaky) BlockNumber(ctx context.Context) (uint64, error) {
	if err := f.err(); err != nil {
		return 0, err
	}
	return f.Backend.BlockNumber(ctx)
}

func (f *flaky) HeaderByNumber(ctx context.Context, n *big.Int) (*types.Header, error) {
	if err := f.err(); err != nil {
		return nil, err
	}
	return f.Backend.HeaderByNumber(ctx, n)
}

func (f *flaky) FilterLogs(ctx context.Context, q ethereum.FilterQuery) ([]types.Log, error) {
	if err := f.err(); err != nil {
		return nil, err
	}
	return f.Backend.FilterLogs(ctx, q)
}

func (f *flaky) EstimateGas(ctx context.Context, m ethereum.CallMsg) (uint64, error) {
	if err := f.err(); err != nil {
		return 0, err
	}
	return f.Backend.EstimateGas(ctx, m)
}

func (f *flaky) SendTransaction(ctx context.Context, tx *types.Transaction) error {
	if err := f.err(); err != nil {
		return err
	}
	return f.Backend.SendTransaction(ctx, tx)
}

func (f *flaky) TransactionReceipt(ctx context.Context, h common.Hash) (*types.Receipt, error) {
	if err := f.err(); err != nil {
		return nil, err
	}
	return f.Backend.TransactionReceipt(ctx, h)
}

func (f *flaky) PendingNonceAt(ctx context.Context, a common.Address) (uint64, error) {
	if err := f.err(); err != nil {
		return 0, err
	}
	return f.Backend.PendingNonceAt(ctx, a)
}

// TestRPCOutage takes the endpoint down for a while at several points of a job: the
// node retries with backoff and finishes.
func TestRPCOutage(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	w := newWorld(t, ctx)
	start := w.head(t, ctx)
	job := w.post(t, ctx, big.NewInt(1e17))
	fb := &flaky{Backend: w.backend}
	outage := func() {
		fb.down.Store(true)
		time.AfterFunc(400*time.Millisecond, func() { fb.down.Store(false) })
	}
	n := w.node(t, ctx, w.config(t.TempDir(), start), func(o *prover.Options) {
		o.Backend = fb
		o.Hook = func(_ *big.Int, s prover.Step) error {
			switch s {
			case prover.StepFetched, prover.StepExecuted, prover.StepSeeded, prover.StepProved:
				outage()
			}
			return nil
		}
	})
	rec := runUntil(t, ctx, n, job.ID, 2*time.Minute)
	if rec.Step != prover.StepDone {
		t.Fatalf("job ended at %s: %s", rec.Step, rec.Reason)
	}
	if fb.fails.Load() == 0 {
		t.Fatal("the outage never hit a call")
	}
	var retries float64
	for _, op := range []string{"eth_call", "eth_estimateGas", "eth_blockNumber", "eth_getBlockByNumber", "eth_getTransactionReceipt", "eth_getTransactionCount", "eth_sendRawTransaction", "eth_getLogs"} {
		retries += testutil.ToFloat64(n.Metrics().RPCRetries.WithLabelValues(op))
	}
	if retries == 0 {
		t.Fatal("no retries counted")
	}
	t.Logf("%d failed calls, %v retries", fb.fails.Load(), retries)
}

// dropper loses the first transaction it is asked to send, as a node whose mempool
// evicted it would: only a replacement gets it mined.
type dropper struct {
	chain.Backend
	dropped atomic.Bool
}

func (d *dropper) SendTransaction(ctx context.Context, tx *types.Transaction) error {
	if d.dropped.CompareAndSwap(false, true) {
		return nil
	}
	return d.Backend.SendTransaction(ctx, tx)
}

// TestStuckTransactionReplaced: an unmined transaction is replaced by one with the same
// nonce and higher fees, and the caller waiting on the first hash gets the receipt.
func TestStuckTransactionReplaced(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	w := newWorld(t, ctx)
	var replaced atomic.Int64
	rb := prover.NewResilientBackend(&dropper{Backend: w.backend}, w.sim.Accounts[0],
		prover.RetryPolicy{Retries: 3, Min: time.Millisecond, Max: 10 * time.Millisecond}, 200*time.Millisecond, 20)
	rb.OnReplace = func(uint64, common.Hash, common.Hash) { replaced.Add(1) }
	c, err := chain.NewClient(ctx, rb, w.sim.Addresses, w.sim.Accounts[0])
	if err != nil {
		t.Fatal(err)
	}
	rc, err := c.Approve(ctx, w.sim.Addresses.Manager, big.NewInt(12345))
	if err != nil {
		t.Fatal(err)
	}
	if replaced.Load() == 0 {
		t.Fatal("no replacement sent")
	}
	if rc.Status != types.ReceiptStatusSuccessful {
		t.Fatalf("receipt status %d", rc.Status)
	}
}

// TestTransient pins which failures are retried.
func TestTransient(t *testing.T) {
	for _, c := range []struct {
		err  error
		want bool
	}{
		{&net.OpError{Op: "dial", Err: syscall.ECONNREFUSED}, true},
		{syscall.ECONNRESET, true},
		{errors.New("transaction indexing is in progress"), true},
		{ethereum.NotFound, false},
		{context.Canceled, false},
		{&chain.RevertError{Name: "WrongState"}, false},
		{errors.New("execution reverted"), false},
	} {
		if got := prover.Transient(c.err); got != c.want {
			t.Errorf("Transient(%v) = %v, want %v", c.err, got, c.want)
		}
	}
}

// TestPendingTransactionSurvivesRestart: a transaction that was never mined when the node
// died (its waiter gone with the process) is recorded in PendingDir; the next run restores
// it, finds it stuck and replaces it, so the key's later nonces are not held back.
func TestPendingTransactionSurvivesRestart(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	w := newWorld(t, ctx)
	pending := t.TempDir()
	pol := prover.RetryPolicy{Retries: 3, Min: time.Millisecond, Max: 10 * time.Millisecond}
	key := w.sim.Accounts[0]
	from := crypto.PubkeyToAddress(key.PublicKey)
	nonce0, err := w.backend.PendingNonceAt(ctx, from)
	require.NoError(t, err)

	// Run 1: the send is lost and the process "dies" while waiting for the receipt.
	rb1 := prover.NewResilientBackend(&dropper{Backend: w.backend}, key, pol, time.Hour, 20)
	rb1.PendingDir = pending
	c1, err := chain.NewClient(ctx, rb1, w.sim.Addresses, key)
	require.NoError(t, err)
	crashCtx, crash := context.WithTimeout(ctx, 300*time.Millisecond)
	_, err = c1.Approve(crashCtx, w.sim.Addresses.Manager, big.NewInt(777))
	crash()
	require.Error(t, err)
	files, err := os.ReadDir(pending)
	require.NoError(t, err)
	require.Len(t, files, 1, "the unmined transaction is on disk")
	staleName := files[0].Name()
	stale, err := os.ReadFile(filepath.Join(pending, staleName))
	require.NoError(t, err)

	// Run 2: restored, re-sent (lost again here), then replaced once stuck, and mined.
	rb2 := prover.NewResilientBackend(&dropper{Backend: w.backend}, key, pol, 100*time.Millisecond, 20)
	rb2.PendingDir = pending
	replaced := make(chan common.Hash, 4)
	rb2.OnReplace = func(_ uint64, _, h common.Hash) { replaced <- h }
	n, err := rb2.Restore(ctx)
	require.NoError(t, err)
	require.Equal(t, 1, n)
	go rb2.Pump(ctx, 20*time.Millisecond)
	var h common.Hash
	select {
	case h = <-replaced:
	case <-ctx.Done():
		t.Fatal("restored transaction never replaced")
	}
	require.Eventually(t, func() bool {
		rc, err := w.backend.TransactionReceipt(ctx, h)
		return err == nil && rc.Status == types.ReceiptStatusSuccessful
	}, 20*time.Second, 20*time.Millisecond)
	require.Eventually(t, func() bool {
		files, _ := os.ReadDir(pending)
		return len(files) == 0
	}, 5*time.Second, 20*time.Millisecond, "a mined group leaves PendingDir")
	next, err := w.backend.PendingNonceAt(ctx, from)
	require.NoError(t, err)
	require.Equal(t, nonce0+1, next)

	// A third run finds nothing to restore; a file whose nonce was used by another
	// transaction (here the original, its replacement mined) is dropped.
	rb3 := prover.NewResilientBackend(w.backend, key, pol, time.Hour, 20)
	rb3.PendingDir = pending
	n, err = rb3.Restore(ctx)
	require.NoError(t, err)
	require.Zero(t, n)
	require.NoError(t, os.WriteFile(filepath.Join(pending, staleName), stale, 0o600))
	n, err = rb3.Restore(ctx)
	require.NoError(t, err)
	require.Zero(t, n)
	files, err = os.ReadDir(pending)
	require.NoError(t, err)
	require.Empty(t, files)

	// A damaged file is an error that names it, not a silent loss.
	require.NoError(t, os.WriteFile(filepath.Join(pending, staleName), stale[:10], 0o600))
	_, err = rb3.Restore(ctx)
	require.ErrorContains(t, err, staleName)
}
