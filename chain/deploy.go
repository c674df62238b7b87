package chain

import (
	"context"
	"crypto/ecdsa"
	"errors"
	"fmt"
	"math/big"

	"github.com/ethereum/go-ethereum/accounts/abi/bind/v2"
	"github.com/ethereum/go-ethereum/common"

	"github.com/probitylabs/probity/contracts/bindings"
)

// DeployParams configures Deploy.
type DeployParams struct {
	// UnbondingDelay is the registry's unbonding delay in seconds.
	UnbondingDelay uint64
	// Token, when set, is an existing ERC-20 to use; otherwise a DevToken is
	// deployed with InitialSupply minted to the deployer.
	Token common.Address
	// InitialSupply of the DevToken (default 10^27, a billion 18-decimal tokens).
	InitialSupply *big.Int
}

// Deployment is a deployed, wired Probity stack. The deployer is governance.
type Deployment struct {
	Addresses
	Token     *bind.BoundContract
	Providers *bind.BoundContract
	Shapes    *bind.BoundContract
	Manager   *bind.BoundContract
}

// Deploy deploys the token (unless params.Token is set), the provider and shape
// registries and the SLA manager from the committed bytecode, and points the
// provider registry at the manager.
func Deploy(ctx context.Context, backend Backend, deployerKey *ecdsa.PrivateKey, params DeployParams) (*Deployment, error) {
	s, err := NewSender(ctx, backend, deployerKey)
	if err != nil {
		return nil, err
	}
	return deployWith(ctx, backend, s, params)
}

func deployWith(ctx context.Context, backend Backend, s *Sender, params DeployParams) (*Deployment, error) {
	me := s.From()
	var a Addresses
	if params.Token != (common.Address{}) {
		a.Token = params.Token
	} else {
		supply := params.InitialSupply
		if supply == nil {
			supply = new(big.Int).Exp(big.NewInt(10), big.NewInt(27), nil)
		}
		addr, err := deployContract(ctx, s, &bindings.DevTokenMetaData, bindings.NewDevToken().PackConstructor(me, supply))
		if err != nil {
			return nil, fmt.Errorf("deploying DevToken: %w", err)
		}
		a.Token = addr
	}
	var err error
	if a.Providers, err = deployContract(ctx, s, &bindings.ProviderRegistryMetaData,
		bindings.NewProviderRegistry().PackConstructor(a.Token, params.UnbondingDelay, me)); err != nil {
		return nil, fmt.Errorf("deploying ProviderRegistry: %w", err)
	}
	if a.Shapes, err = deployContract(ctx, s, &bindings.ShapeRegistryMetaData,
		bindings.NewShapeRegistry().PackConstructor(me)); err != nil {
		return nil, fmt.Errorf("deploying ShapeRegistry: %w", err)
	}
	if a.Manager, err = deployContract(ctx, s, &bindings.SLAManagerMetaData,
		bindings.NewSLAManager().PackConstructor(a.Token, a.Providers, a.Shapes, me)); err != nil {
		return nil, fmt.Errorf("deploying SLAManager: %w", err)
	}
	pr := bindings.NewProviderRegistry()
	if _, err := s.Transact(ctx, pr.Instance(backend, a.Providers), pr.PackSetManager(a.Manager)); err != nil {
		return nil, fmt.Errorf("setting the registry's manager: %w", err)
	}
	return Bind(backend, a), nil
}

// Bind returns the bound contracts of an existing deployment.
func Bind(backend Backend, a Addresses) *Deployment {
	return &Deployment{
		Addresses: a,
		Token:     bindings.NewDevToken().Instance(backend, a.Token),
		Providers: bindings.NewProviderRegistry().Instance(backend, a.Providers),
		Shapes:    bindings.NewShapeRegistry().Instance(backend, a.Shapes),
		Manager:   bindings.NewSLAManager().Instance(backend, a.Manager),
	}
}

var errNoBytecode = errors.New("no bytecode in bindings")

func deployContract(ctx context.Context, s *Sender, md *bind.MetaData, input []byte) (common.Address, error) {
	if len(md.Bin) < 3 {
		return common.Address{}, errNoBytecode
	}
	addr, _, err := s.Deploy(ctx, common.FromHex(md.Bin), input)
	return addr, err
}

// DeployVerifier deploys a Groth16Verifier for vk (one bytecode for every
// shape; the key goes in as constructor arguments).
func DeployVerifier(ctx context.Context, s *Sender, vk VerifyingKey) (common.Address, error) {
	for _, w := range vk.words() {
		if w == nil || w.Sign() < 0 || w.BitLen() > 256 {
			return common.Address{}, fmt.Errorf("chain: verifying key word %v is not a uint256", w)
		}
	}
	input := bindings.NewGroth16Verifier().PackConstructor(vk.Alpha, vk.Beta, vk.Gamma, vk.Delta, vk.IC)
	addr, err := deployContract(ctx, s, &bindings.Groth16VerifierMetaData, input)
	if err != nil {
		return common.Address{}, fmt.Errorf("deploying Groth16Verifier: %w", err)
	}
	return addr, nil
}
