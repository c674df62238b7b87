package verifier

import (
	"context"
	"fmt"
	"math/big"

	"github.com/ethereum/go-ethereum/common"

	"github.com/probitylabs/probity/chain"
	"github.com/probitylabs/probity/protocol"
	"github.com/probitylabs/probity/receipt"
)

// ChainView is the read-only chain access of the optional on-chain cross-check.
type ChainView interface {
	ChainID(ctx context.Context) (*big.Int, error)
	Manager() common.Address
	GetJob(ctx context.Context, jobID *big.Int) (chain.Job, error)
	ProviderOf(ctx context.Context, provider common.Address) (chain.Provider, error)
}

// SeedView is what a ChainView also offers when the on-chain check can recompute the seed
// from chain data (spec §6.2); NewChainView's does. Without it the check trusts the seed the
// manager stored.
type SeedView interface {
	// BlockHash is the hash of block n.
	BlockHash(ctx context.Context, n uint64) ([32]byte, error)
	// RevealedSecret is the buyer's seed secret of a job whose seed was fixed by revealSeed
	// at or after block from; revealed is false when it was fixed without one.
	RevealedSecret(ctx context.Context, jobID *big.Int, from uint64) (secret [32]byte, revealed bool, err error)
}

// NewChainView reads through a chain client.
func NewChainView(backend chain.Backend, c *chain.Client) ChainView {
	return &clientView{backend, c}
}

type clientView struct {
	backend chain.Backend
	*chain.Client
}

func (v *clientView) ChainID(ctx context.Context) (*big.Int, error) { return v.backend.ChainID(ctx) }
func (v *clientView) Manager() common.Address                       { return v.Addresses().Manager }

func (v *clientView) BlockHash(ctx context.Context, n uint64) ([32]byte, error) {
	h, err := v.backend.HeaderByNumber(ctx, new(big.Int).SetUint64(n))
	if err != nil {
		return [32]byte{}, err
	}
	return h.Hash(), nil
}

func (v *clientView) RevealedSecret(ctx context.Context, jobID *big.Int, from uint64) ([32]byte, bool, error) {
	return v.Client.RevealedSecret(ctx, jobID, chain.EventRange{Start: from})
}

// onChain checks that the job settled on this chain with this receipt's spec, outputs,
// seed, k, provider and the provider's current node key.
func (a *audit) onChain(ctx context.Context) {
	v := a.opts.Chain
	if v == nil {
		a.r.skip(CheckOnChain, "no RPC given")
		return
	}
	if err := crossCheck(ctx, v, a.rc); err != nil {
		a.r.fail(CheckOnChain, ErrOnChain, err)
		return
	}
	how := "seed as the manager stored it"
	if sv, ok := v.(SeedView); ok {
		var err error
		if how, err = recheckSeed(ctx, sv, a.rc); err != nil {
			a.r.fail(CheckOnChain, ErrOnChain, err)
			return
		}
	}
	a.r.pass(CheckOnChain, "job settled on chain with this receipt's spec, outputs and provider; "+how)
}

// recheckSeed recomputes the seed from the seed block's hash and the buyer's revealed secret
// (zero when the seed was fixed without it), so the audit does not take the manager's word
// for the challenge its samples came from. crossCheck has already matched the receipt's
// chain, manager, outputs, seed and seed block with the chain's.
func recheckSeed(ctx context.Context, v SeedView, rc *receipt.Receipt) (string, error) {
	bh, err := v.BlockHash(ctx, rc.SeedBlock)
	if err != nil {
		return "", fmt.Errorf("seed block %d: %w", rc.SeedBlock, err)
	}
	// The SeedFixed event comes after the seed block, which must be mined first.
	secret, revealed, err := v.RevealedSecret(ctx, rc.JobID.Big(), rc.SeedBlock)
	if err != nil {
		return "", fmt.Errorf("the buyer's seed secret: %w", err)
	}
	want := protocol.Seed(rc.ChainID.Big(), rc.Contract, rc.JobID.Big(), rc.OutputsDigest(), bh, secret)
	if want.Cmp(rc.Seed.Big()) != 0 {
		return "", fmt.Errorf("seed %s is not derived from block %d's hash and the buyer's secret (revealed: %v): spec §6.2 gives %s",
			rc.Seed, rc.SeedBlock, revealed, want)
	}
	if revealed {
		return fmt.Sprintf("seed derived from block %d's hash and the buyer's revealed secret", rc.SeedBlock), nil
	}
	return fmt.Sprintf("seed derived from block %d's hash alone (no buyer secret revealed)", rc.SeedBlock), nil
}

func crossCheck(ctx context.Context, v ChainView, rc *receipt.Receipt) error {
	id, err := v.ChainID(ctx)
	if err != nil {
		return fmt.Errorf("chain id: %w", err)
	}
	if id.Cmp(rc.ChainID.Big()) != 0 {
		return fmt.Errorf("RPC is chain %s, receipt is for chain %s", id, rc.ChainID)
	}
	if v.Manager() != rc.Contract {
		return fmt.Errorf("RPC deployment's manager is %s, receipt names %s", v.Manager().Hex(), rc.Contract.Hex())
	}
	job, err := v.GetJob(ctx, rc.JobID.Big())
	if err != nil {
		return fmt.Errorf("job %s: %w", rc.JobID, err)
	}
	switch {
	case chain.JobState(job.State) != chain.StateSettled:
		return fmt.Errorf("job %s is %s, not Settled", rc.JobID, chain.JobState(job.State))
	case job.Provider != rc.Provider:
		return fmt.Errorf("job locked by %s, receipt names %s", job.Provider.Hex(), rc.Provider.Hex())
	case receipt.Word(job.SpecHash) != rc.SpecHash:
		return fmt.Errorf("on-chain specHash 0x%x, receipt %s", job.SpecHash, rc.SpecHash)
	case receipt.Word(job.OutputsDigest) != rc.OutputsDigest():
		return fmt.Errorf("on-chain outputsDigest 0x%x, receipt's roots and attestation digest give %s", job.OutputsDigest, rc.OutputsDigest())
	case job.Seed == nil || job.Seed.Cmp(rc.Seed.Big()) != 0:
		return fmt.Errorf("on-chain seed %v, receipt %s", job.Seed, rc.Seed)
	case job.SeedBlock != rc.SeedBlock:
		return fmt.Errorf("on-chain seed block %d, receipt %d", job.SeedBlock, rc.SeedBlock)
	case job.Kmin != rc.K:
		return fmt.Errorf("on-chain k %d, receipt %d", job.Kmin, rc.K)
	}
	p, err := v.ProviderOf(ctx, rc.Provider)
	if err != nil {
		return fmt.Errorf("provider %s: %w", rc.Provider.Hex(), err)
	}
	if p.NodeKey != rc.NodeKey {
		// The contract checked the key current at submission; a later rotation shows here.
		return fmt.Errorf("provider's node key is %s, receipt signed by %s (rotated since?)", p.NodeKey.Hex(), rc.NodeKey.Hex())
	}
	return nil
}
