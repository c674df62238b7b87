package proverv1_test

import (
	"context"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/crypto"

	"github.com/probitylabs/probity/chain"
	proverv1 "github.com/probitylabs/probity/prover/v1"
	receiptv1 "github.com/probitylabs/probity/receipt/v1"
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
			evs, err := w.buyer.FilterJobCommittedV1(ctx, chain.EventRange{Start: start}, id)
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

func readReceipt(t *testing.T, r *proverv1.Record) *receiptv1.Receipt {
	t.Helper()
	b, err := readFile(r.ReceiptPath)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := receiptv1.Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	return doc
}
