package prover_test

import (
	"bytes"
	"context"
	"errors"
	"math/big"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/probitylabs/probity/chain"
	"github.com/probitylabs/probity/contracts/bindings"
	"github.com/probitylabs/probity/prover"
	"github.com/probitylabs/probity/receipt"
)

// TestSeedCommitmentRevealed: with a buyer seed commitment the node waits for the reveal
// (RevealPending), proves for the revealed seed inside the clock the reveal started, and its
// receipt carries the buyer's secret, read back from the reveal transaction.
func TestSeedCommitmentRevealed(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	w := newWorld(t, ctx, 1)
	j := w.job(t, []int32{9}, 7)
	secret := [32]byte{31: 42}
	var enc [32]byte
	copy(enc[:], secret[:])
	req := w.request(t, ctx, j, tokens(2), 0)
	req.SeedCommitment = crypto.Keccak256Hash(enc[:])
	start := w.head(t, ctx)
	id := w.post(t, ctx, req, j.uri)
	// The buyer reveals once the commit is mined and its seed block passed.
	revealed := make(chan error, 1)
	go func() {
		for ctx.Err() == nil {
			evs, err := w.buyer.FilterJobCommitted(ctx, chain.EventRange{Start: start}, id)
			if err == nil && len(evs) == 1 {
				if err := w.buyer.WaitForBlock(ctx, evs[0].SeedBlock+1, blockEvery); err != nil {
					revealed <- err
					return
				}
				_, err := w.buyer.RevealSeed(ctx, req, secret)
				revealed <- err
				return
			}
			time.Sleep(blockEvery)
		}
		revealed <- ctx.Err()
	}()
	n := w.node(t, ctx, w.provs[0], w.config(t, t.TempDir(), start), nil)
	r := runUntil(t, ctx, n, 2*time.Minute, id)[0]
	if err := <-revealed; err != nil {
		t.Fatalf("reveal: %v", err)
	}
	wantSettled(t, ctx, w, r, j.want, allTimings...)
	if !r.SeedFixed || r.ProveBy == 0 {
		t.Fatalf("seed fixed %v, proveBy %d: want the reveal's", r.SeedFixed, r.ProveBy)
	}
	doc := readReceipt(t, r)
	if doc.Seed.Secret != secret {
		t.Fatalf("receipt secret %x, want the buyer's %x", doc.Seed.Secret, secret)
	}
	if rep := r.Report(); rep.Prove <= 0 || rep.Gas["commit"] == 0 || rep.BatchSize != 1 {
		t.Fatalf("report %+v", rep)
	}
}

func readReceipt(t *testing.T, r *prover.Record) *receipt.Receipt {
	t.Helper()
	b, err := readFile(r.ReceiptPath)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := receipt.Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

// refusingFixSeed is the world's chain with an endpoint that refuses every fixSeed
// transaction until open is set, counting them.
type refusingFixSeed struct {
	chain.Backend
	open     atomic.Bool
	attempts atomic.Int32
}

var fixSeedSelector = bindings.NewSLAManager().PackFixSeed(big.NewInt(0))[:4]

func (b *refusingFixSeed) SendTransaction(ctx context.Context, tx *types.Transaction) error {
	if len(tx.Data()) >= 4 && bytes.Equal(tx.Data()[:4], fixSeedSelector) && !b.open.Load() {
		b.attempts.Add(1)
		return errors.New("endpoint refuses the transaction")
	}
	return b.Backend.SendTransaction(ctx, tx)
}

// TestFixSeedRetryWaits (review L1): a node that must fix its seed (its proof outlasts the
// seed horizon) and whose fixSeed keeps failing tries again once a poll, not in
// a tight loop against the endpoint; once the endpoint takes it, the job is paid.
func TestFixSeedRetryWaits(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	w := newWorld(t, ctx, 1)
	j := w.job(t, []int32{8, 8}, 6)
	start := w.head(t, ctx)
	id := w.post(t, ctx, w.request(t, ctx, j, tokens(2), 0), j.uri)
	be := &refusingFixSeed{Backend: w.sim.Client()}
	cfg := w.config(t, t.TempDir(), start)
	cfg.PollInterval = prover.Duration(200 * time.Millisecond)
	// A block time of a millisecond puts any proof past the 256-block seed horizon: the node
	// must fix its seed before proving.
	cfg.Safety.BlockTime = prover.Duration(time.Millisecond)
	const refuseFor = 2 * time.Second
	var first atomic.Int64
	go func() {
		for ctx.Err() == nil && be.attempts.Load() == 0 {
			time.Sleep(10 * time.Millisecond)
		}
		first.Store(time.Now().UnixNano())
		time.Sleep(refuseFor)
		be.open.Store(true)
	}()
	n := w.node(t, ctx, w.provs[0], cfg, func(o *prover.Options) { o.Backend = be })
	r := runUntil(t, ctx, n, 2*time.Minute, id)[0]
	if r.Step != prover.StepDone || !r.SeedFixed {
		t.Fatalf("job ended %s (%s), seed fixed %v; want done with the seed fixed", r.Step, r.Reason, r.SeedFixed)
	}
	// One attempt per poll (plus the first), with room for a slow machine.
	if most := int32(refuseFor/cfg.PollInterval.D()) + 3; be.attempts.Load() > most || first.Load() == 0 {
		t.Errorf("%d fixSeed attempts in %v of refusals, want at most %d", be.attempts.Load(), refuseFor, most)
	}
}
