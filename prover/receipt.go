package prover

import (
	"context"
	"fmt"
	"math/big"
	"os"
	"path/filepath"

	"github.com/probitylabs/probity/attestation"
	"github.com/probitylabs/probity/chain"
	"github.com/probitylabs/probity/internal/atomicfile"
	"github.com/probitylabs/probity/protocol"
	"github.com/probitylabs/probity/receipt"
)

func (n *Node) receiptPath(r *Record) string {
	return filepath.Join(n.cfg.DataDir, "receipts", r.JobID+".json")
}

// seedSecret is the secret the job's seed was derived with: zero unless the buyer revealed
// it, when it is read from the reveal transaction. Either way it must rederive the seed.
func (n *Node) seedSecret(ctx context.Context, r *Record, commitment, blockHash [32]byte, seed *big.Int) ([32]byte, error) {
	var secret [32]byte
	derive := func(s [32]byte) *big.Int {
		return protocol.SeedV2(n.chainID, n.cfg.Deployment.Manager, r.ID(), commitment, blockHash, s)
	}
	if derive(secret).Cmp(seed) == 0 {
		return secret, nil
	}
	txs, ok := n.raw.(chain.TxByHash)
	if !ok {
		return secret, fmt.Errorf("the seed was revealed and the endpoint cannot read transactions to find the secret")
	}
	secret, found, err := n.market.RevealedSecret(ctx, txs, r.ID(), r.FromBlock)
	if err != nil {
		return secret, err
	}
	if !found || derive(secret).Cmp(seed) != 0 {
		return secret, fmt.Errorf("no revealed secret rederives the seed %s", word(seed))
	}
	return secret, nil
}

// buildReceipt writes the job's probity.receipt.v1 document (settlement.md §9), signed by the
// node key, from the journal and the chain's seed block; its digest must be the one the
// manager emitted in JobProved.
func (n *Node) buildReceipt(ctx context.Context, r *Record) (*receipt.Receipt, error) {
	cl, err := n.class(r)
	if err != nil {
		return nil, err
	}
	hm, err := n.modelOf(r)
	if err != nil {
		return nil, err
	}
	jobFile, err := os.ReadFile(r.JobPath)
	if err != nil {
		return nil, err
	}
	req, err := receipt.NewRequest(chain.ProtocolRequest(r.Request.Request))
	if err != nil {
		return nil, err
	}
	c, err := n.commitment(r)
	if err != nil {
		return nil, err
	}
	seed, err := unword(r.Seed)
	if err != nil {
		return nil, err
	}
	resultDigest, err := unword(r.ResultDigest)
	if err != nil {
		return nil, err
	}
	h, err := n.backend.HeaderByNumber(ctx, new(big.Int).SetUint64(r.SeedBlock))
	if err != nil {
		return nil, err
	}
	secret, err := n.seedSecret(ctx, r, protocol.Commitment(c.Provider, c.Stake, c.TraceRoot, c.AttestationDigest), h.Hash(), seed)
	if err != nil {
		return nil, err
	}
	j, _, err := n.loadJob(r)
	if err != nil {
		return nil, err
	}
	bounds, err := cl.Bounds(hm.m, j.Job.Rows(), j.Job.New)
	if err != nil {
		return nil, err
	}
	att := r.Attestation
	if len(att) == 0 {
		return nil, fmt.Errorf("no attestation record journaled")
	}
	if _, err := attestation.Parse(att); err != nil {
		return nil, err
	}
	rc := &receipt.Receipt{
		Version: receipt.Version, ChainID: receipt.NewUint(n.chainID), Manager: n.cfg.Deployment.Manager,
		JobID: receipt.NewUint(r.ID()), Request: req, Job: jobFile, Class: receipt.ClassOf(cl),
		Provider: c.Provider, Stake: receipt.NewUint(c.Stake), TraceRoot: receipt.MustWord(c.TraceRoot), AttestationDigest: receipt.Word(r.AttestationDigest),
		Seed:      receipt.Seed{Block: r.SeedBlock, BlockHash: receipt.Word(h.Hash()), Secret: secret, Value: receipt.MustWord(seed)},
		Result:    receipt.Result{Tokens: r.Tokens, Digest: receipt.MustWord(resultDigest)},
		Proof:     append([]byte(nil), r.Proof...),
		Detection: receipt.DetectionOf(bounds), Attestation: att,
		Timings: receipt.Timings{ExecuteMs: r.Timings["executeMs"], CommitMs: r.Timings["commitMs"],
			ProveMs: r.Timings["proveMs"], SubmitMs: r.Timings["submitMs"]},
	}
	if err := rc.Sign(n.nodeKey); err != nil {
		return nil, err
	}
	if err := rc.Validate(); err != nil {
		return nil, fmt.Errorf("built receipt: %w", err)
	}
	if rc.Digest() != r.ReceiptDigest {
		return nil, fmt.Errorf("the receipt's digest %x is not the one JobProved emitted (%x)", rc.Digest(), r.ReceiptDigest)
	}
	return rc, nil
}

// writeReceipt builds the receipt and records it at DATA-DIR/receipts/<jobId>.json.
func (n *Node) writeReceipt(ctx context.Context, r *Record) error {
	rc, err := n.buildReceipt(ctx, r)
	if err != nil {
		return err
	}
	b, err := rc.MarshalIndent()
	if err != nil {
		return err
	}
	p := n.receiptPath(r)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	if err := atomicfile.Write(p, b); err != nil {
		return err
	}
	r.ReceiptPath = p
	return nil
}
