package verifierv1

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"slices"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"

	"github.com/probitylabs/probity/chain"
	"github.com/probitylabs/probity/protocol"
	"github.com/probitylabs/probity/receipt"
	"github.com/probitylabs/probity/verifier"
)

// Chain is what the on-chain cross-check reads: the deployment it is, a block's hash, the
// JobProved event of a job, and the manager's verifyReceipt view. MarketChain implements it
// over any RPC (or the simulated backend).
type Chain interface {
	ChainID(ctx context.Context) (*big.Int, error)
	Manager() common.Address
	BlockHash(ctx context.Context, number uint64) (common.Hash, error)
	// JobProved returns the job's JobProved event at or after block from, nil when none.
	JobProved(ctx context.Context, jobID *big.Int, from uint64) (*chain.JobProvedV1, error)
	VerifyReceipt(ctx context.Context, rc chain.ReceiptV1, signature []byte) (bool, error)
}

// HeaderReader is the part of an RPC client MarketChain needs beside the market.
type HeaderReader interface {
	HeaderByNumber(ctx context.Context, number *big.Int) (*types.Header, error)
	ChainID(ctx context.Context) (*big.Int, error)
}

// MarketChain is the Chain of a v1 deployment read through a chain.Market (whose key never
// signs here) and the RPC client behind it.
type MarketChain struct {
	Market  *chain.Market
	Headers HeaderReader
}

// ChainID implements Chain.
func (c MarketChain) ChainID(ctx context.Context) (*big.Int, error) { return c.Headers.ChainID(ctx) }

// Manager implements Chain.
func (c MarketChain) Manager() common.Address { return c.Market.Addresses().Manager }

// BlockHash implements Chain.
func (c MarketChain) BlockHash(ctx context.Context, number uint64) (common.Hash, error) {
	h, err := c.Headers.HeaderByNumber(ctx, new(big.Int).SetUint64(number))
	if err != nil {
		return common.Hash{}, err
	}
	return h.Hash(), nil
}

// JobProved implements Chain.
func (c MarketChain) JobProved(ctx context.Context, jobID *big.Int, from uint64) (*chain.JobProvedV1, error) {
	evs, err := c.Market.FilterJobProvedV1(ctx, chain.EventRange{Start: from})
	if err != nil {
		return nil, err
	}
	for _, ev := range evs {
		if ev.JobId.Cmp(jobID) == 0 {
			return ev, nil
		}
	}
	return nil, nil
}

// VerifyReceipt implements Chain.
func (c MarketChain) VerifyReceipt(ctx context.Context, rc chain.ReceiptV1, signature []byte) (bool, error) {
	return c.Market.VerifyReceipt(ctx, rc, signature)
}

// onChain confirms what only the chain knows (settlement.md §9): that seed.blockHash is the
// hash of block seed.block, that the manager's JobProved for the job emitted this receipt's
// EIP-712 digest (with its provider, seed, result digest and tokens), and that the signature
// is the provider's current node key's (verifyReceipt).
func (a *audit) onChain(ctx context.Context) {
	c, rc := a.opts.Chain, a.rc
	if c == nil {
		a.r.skip(CheckOnChain, "not asked (no chain given); the seed's block hash is unconfirmed")
		return
	}
	fail := func(err error) { a.r.fail(CheckOnChain, verifier.ErrOnChain, err) }
	id, err := c.ChainID(ctx)
	switch {
	case err != nil:
		fail(fmt.Errorf("reading the chain id: %w", err))
		return
	case id.Cmp(rc.ChainID.Big()) != 0:
		fail(fmt.Errorf("the RPC serves chain %s, the receipt is for chain %s", id, rc.ChainID))
		return
	case c.Manager() != rc.Manager:
		fail(fmt.Errorf("the deployment's manager is %s, the receipt's %s", c.Manager().Hex(), rc.Manager.Hex()))
		return
	}
	h, err := c.BlockHash(ctx, rc.Seed.Block)
	if err != nil {
		fail(fmt.Errorf("reading block %d: %w", rc.Seed.Block, err))
		return
	}
	if receipt.Word(h) != rc.Seed.BlockHash {
		fail(fmt.Errorf("block %d's hash is %s, seed.blockHash is %s", rc.Seed.Block, h, rc.Seed.BlockHash))
		return
	}
	ev, err := c.JobProved(ctx, rc.JobID.Big(), rc.Seed.Block)
	if err != nil {
		fail(fmt.Errorf("reading JobProved: %w", err))
		return
	}
	if ev == nil {
		fail(fmt.Errorf("no JobProved for job %s since block %d", rc.JobID, rc.Seed.Block))
		return
	}
	digest := rc.Digest()
	tokens, err := protocol.UnpackResult(int(rc.Request.NewTokens), ev.Result)
	switch {
	case ev.ReceiptDigest != digest:
		fail(fmt.Errorf("JobProved emitted receipt digest %x, this receipt's is %x", ev.ReceiptDigest, digest))
		return
	case ev.Provider != rc.Provider:
		fail(fmt.Errorf("JobProved names provider %s, the receipt %s", ev.Provider.Hex(), rc.Provider.Hex()))
		return
	case ev.Seed.Cmp(rc.Seed.Value.Big()) != 0:
		fail(fmt.Errorf("JobProved emitted seed %s, seed.value is %s", ev.Seed, rc.Seed.Value))
		return
	case ev.ResultDigest.Cmp(rc.Result.Digest.Big()) != 0:
		fail(fmt.Errorf("JobProved emitted result digest %s, result.digest is %s", ev.ResultDigest, rc.Result.Digest))
		return
	case err != nil:
		fail(fmt.Errorf("JobProved's result: %w", err))
		return
	case !slices.Equal(tokens, rc.Result.Tokens):
		fail(errors.New("JobProved's tokens differ from result.tokens"))
		return
	}
	e := rc.EIP712()
	ok, err := c.VerifyReceipt(ctx, chain.ReceiptV1{JobId: e.JobID, Provider: e.Provider, ModelRoot: e.ModelRoot, JobDigest: e.JobDigest,
		TraceRoot: e.TraceRoot, AttestationDigest: e.AttestationDigest, Seed: e.Seed, ResultDigest: e.ResultDigest, ProofHash: e.ProofHash}, rc.Signature)
	switch {
	case err != nil:
		fail(fmt.Errorf("verifyReceipt: %w", err))
		return
	case !ok:
		fail(fmt.Errorf("verifyReceipt: the signature is not provider %s's current node key's", rc.Provider.Hex()))
		return
	}
	a.r.pass(CheckOnChain, fmt.Sprintf("block %d's hash confirmed; JobProved (block %d) emitted this receipt's digest; node key current", rc.Seed.Block, ev.Raw.BlockNumber))
}
