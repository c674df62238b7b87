package verifier

import (
	"context"
	"fmt"
	"math/big"

	"github.com/ethereum/go-ethereum/common"

	"github.com/probitylabs/probity/chain"
	"github.com/probitylabs/probity/receipt"
)

// ChainView is the read-only chain access of the optional on-chain cross-check.
type ChainView interface {
	ChainID(ctx context.Context) (*big.Int, error)
	Manager() common.Address
	GetJob(ctx context.Context, jobID *big.Int) (chain.Job, error)
	ProviderOf(ctx context.Context, provider common.Address) (chain.Provider, error)
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
	a.r.pass(CheckOnChain, "job settled on chain with this receipt's spec, outputs, seed and provider")
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
