package chain

import (
	"context"
	"crypto/ecdsa"
	"fmt"
	"math/big"

	"github.com/ethereum/go-ethereum/accounts/abi/bind/v2"
	"github.com/ethereum/go-ethereum/common"

	"github.com/probitylabs/probity/contracts/bindings"
)

// Deployment is a deployed, wired stack (specs/settlement.md). The deployer
// is governance of the registries and the manager.
type Deployment struct {
	Addresses
	Token     *bind.BoundContract
	Providers *bind.BoundContract
	Classes   *bind.BoundContract
	Hasher    *bind.BoundContract
	Manager   *bind.BoundContract
	// Challenges is the ChallengeManager the manager deployed.
	Challenges *bind.BoundContract
	// GasUsed is the gas of each deployment transaction, by contract name (and
	// "setManager" for the registry's wiring).
	GasUsed map[string]uint64
}

// Deploy deploys the token (unless params.Token is set), a ProviderRegistry, the
// ClassRegistry, the ResultHasher and SLAManager from the committed bytecode
// (the manager's constructor deploys its ChallengeManager, whose address it
// reads back), and points the registry at the manager. The registry is always a new one: its
// manager is set once.
func Deploy(ctx context.Context, backend Backend, deployerKey *ecdsa.PrivateKey, params DeployParams) (*Deployment, error) {
	s, err := NewSender(ctx, backend, deployerKey)
	if err != nil {
		return nil, err
	}
	me := s.From()
	gas := map[string]uint64{}
	deploy := func(name string, md *bind.MetaData, input []byte) (common.Address, error) {
		if len(md.Bin) < 3 {
			return common.Address{}, fmt.Errorf("deploying %s: %w", name, errNoBytecode)
		}
		addr, rcpt, err := s.Deploy(ctx, common.FromHex(md.Bin), input)
		if err != nil {
			return common.Address{}, fmt.Errorf("deploying %s: %w", name, err)
		}
		gas[name] = rcpt.GasUsed
		return addr, nil
	}
	var a Addresses
	if params.Token != (common.Address{}) {
		a.Token = params.Token
	} else {
		supply := params.InitialSupply
		if supply == nil {
			supply = new(big.Int).Exp(big.NewInt(10), big.NewInt(27), nil)
		}
		if a.Token, err = deploy("DevToken", &bindings.DevTokenMetaData, bindings.NewDevToken().PackConstructor(me, supply)); err != nil {
			return nil, err
		}
	}
	pr := bindings.NewProviderRegistry()
	if a.Providers, err = deploy("ProviderRegistry", &bindings.ProviderRegistryMetaData,
		pr.PackConstructor(a.Token, params.UnbondingDelay, me)); err != nil {
		return nil, err
	}
	if a.Classes, err = deploy("ClassRegistry", &bindings.ClassRegistryMetaData,
		bindings.NewClassRegistry().PackConstructor(me)); err != nil {
		return nil, err
	}
	if a.Hasher, err = deploy("ResultHasher", &bindings.ResultHasherMetaData, nil); err != nil {
		return nil, err
	}
	if a.Manager, err = deploy("SLAManager", &bindings.SLAManagerMetaData,
		bindings.NewSLAManager().PackConstructor(a.Token, a.Providers, a.Classes, a.Hasher, me)); err != nil {
		return nil, err
	}
	if a.Challenges, err = challengesOf(ctx, backend, a.Manager); err != nil {
		return nil, err
	}
	rcpt, err := s.Transact(ctx, pr.Instance(backend, a.Providers), pr.PackSetManager(a.Manager))
	if err != nil {
		return nil, fmt.Errorf("setting the registry's manager: %w", err)
	}
	gas["setManager"] = rcpt.GasUsed
	d := Bind(backend, a)
	d.GasUsed = gas
	return d, nil
}

// Bind returns the bound contracts of an existing deployment.
func Bind(backend Backend, a Addresses) *Deployment {
	return &Deployment{
		Addresses:  a,
		Token:      bindings.NewDevToken().Instance(backend, a.Token),
		Providers:  bindings.NewProviderRegistry().Instance(backend, a.Providers),
		Classes:    bindings.NewClassRegistry().Instance(backend, a.Classes),
		Hasher:     bindings.NewResultHasher().Instance(backend, a.Hasher),
		Manager:    bindings.NewSLAManager().Instance(backend, a.Manager),
		Challenges: bindings.NewChallengeManager().Instance(backend, a.Challenges),
	}
}

// challengesOf reads the ChallengeManager address the manager deployed.
func challengesOf(ctx context.Context, backend Backend, manager common.Address) (common.Address, error) {
	sm := bindings.NewSLAManager()
	out, err := sm.Instance(backend, manager).CallRaw(&bind.CallOpts{Context: ctx}, sm.PackChallenges())
	if err != nil {
		return common.Address{}, fmt.Errorf("reading the manager's ChallengeManager: %w", decodeRevert(err))
	}
	addr, err := sm.UnpackChallenges(out)
	if err != nil {
		return common.Address{}, fmt.Errorf("reading the manager's ChallengeManager: %w", err)
	}
	return addr, nil
}
