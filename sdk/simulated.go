package sdk

import (
	"context"
	"crypto/ecdsa"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/consensys/gnark/backend/groth16"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/probitylabs/probity/chain"
	"github.com/probitylabs/probity/circuits"
	"github.com/probitylabs/probity/circuits/universal"
	"github.com/probitylabs/probity/commit"
	"github.com/probitylabs/probity/model"
)

// Deploy deploys a fresh stack (a DevToken, the registries, the result hasher and the SLA
// manager) from key, which becomes governance. Tests and local chains use it; production
// deployments use the Foundry script (contracts/script/Deploy.s.sol).
func Deploy(ctx context.Context, backend chain.Backend, key *ecdsa.PrivateKey) (Addresses, error) {
	d, err := chain.Deploy(ctx, backend, key, chain.DeployParams{UnbondingDelay: 7 * 24 * 3600})
	if err != nil {
		return Addresses{}, wrap("deploying", err)
	}
	return d.Addresses, nil
}

// deployVerifier deploys a Groth16Verifier holding vk, the key of target (named in errors).
func (c *Client) deployVerifier(ctx context.Context, target string, vk groth16.VerifyingKey) (common.Address, error) {
	w, err := circuits.VerifyingKeyWords(vk)
	if err != nil {
		return common.Address{}, fmt.Errorf("sdk: %s: %w", target, err)
	}
	addr, err := c.market.DeployVerifier(ctx, chain.VerifyingKey{Alpha: w.Alpha, Beta: w.Beta, Gamma: w.Gamma, Delta: w.Delta, IC: w.IC})
	if err != nil {
		return common.Address{}, wrap("deploying the verifier of "+target, err)
	}
	return addr, nil
}

// RegisterClass deploys the class's two Groth16 verifiers, from its verifying key and from
// the verifying key of its targeted statement (universal.TargetedClass, which answers
// challenges), and registers the class (governance only), with minSlots the fewest sample
// slots of any family the class samples (settlement.md §7). It returns the class id,
// keccak256 of the class's name.
func (c *Client) RegisterClass(ctx context.Context, cl *universal.Class, vk, targetedVK groth16.VerifyingKey) ([32]byte, error) {
	verifier, err := c.deployVerifier(ctx, cl.String(), vk)
	if err != nil {
		return [32]byte{}, err
	}
	targeted, err := c.deployVerifier(ctx, universal.TargetedClass{Class: cl}.String(), targetedVK)
	if err != nil {
		return [32]byte{}, err
	}
	r, err := c.market.RegisterClass(ctx, cl.String(), verifier, targeted, MinSlots(cl))
	if err != nil {
		return [32]byte{}, wrap("registering "+cl.String(), err)
	}
	if r.ClassID != cl.ID() {
		return r.ClassID, fmt.Errorf("sdk: the registry gave class %s the id 0x%x, the Go class's is 0x%x", cl, r.ClassID, cl.ID())
	}
	return r.ClassID, nil
}

// MinSlots is the k of a class's stake bound: the fewest sample slots of any family it
// samples (families with no slot are not sampled and do not count).
func MinSlots(cl *universal.Class) uint16 {
	k := 0
	for _, s := range cl.Slots {
		if s > 0 && (k == 0 || s < k) {
			k = s
		}
	}
	return uint16(k)
}

// RegisterModel adds a model to the registry's catalogue under the class its registrant says
// it fits (anyone, once per root; settlement.md §2): a claim for discovery, which lets a
// Generation leave its ClassID empty. uri says where the model is (advisory).
func (c *Client) RegisterModel(ctx context.Context, m *model.Model, classID [32]byte, uri string) error {
	root, err := m.Root()
	if err != nil {
		return fmt.Errorf("sdk: model root: %w", err)
	}
	_, err = c.market.RegisterModel(ctx, commit.ToBig(root), classID, uri)
	return wrap("registering the model", err)
}

// Simulated is an in-process chain with a deployed stack, funded accounts and registered
// width classes.
type Simulated struct {
	Chain      *chain.Simulated
	Addresses  Addresses
	Governance *ecdsa.PrivateKey   // deployer, owner of the token, the registries and the manager
	Accounts   []*ecdsa.PrivateKey // buyers: funded with ether and Tokens each
	// Providers are funded like Accounts, for StartProvider.
	Providers []*ecdsa.PrivateKey
	// Classes are the registered width classes (SimulatedConfig.Classes), by id.
	Classes map[[32]byte]*universal.Class

	nextProvider int    // the next of Providers StartProvider takes
	dir          string // Dir's parent, removed by Close
}

// SimulatedConfig configures NewSimulated. The zero value is a working chain: three buyer
// accounts, one provider account, blocks every 100 ms, no class registered.
type SimulatedConfig struct {
	Accounts  int      // funded buyer accounts besides governance (default 3)
	Providers int      // funded provider accounts (default 1)
	Tokens    *big.Int // DevTokens minted to each account (default 10^24: a million tokens)
	// Interval: a block is mined after every transaction and, so that the chain moves on
	// when nobody sends (a job's seed is the hash of a block mined after its commit), every
	// Interval (default 100 ms). Negative: blocks only after transactions and on Chain.Mine,
	// for tests that count blocks.
	Interval time.Duration
	// Classes are registered with their development keys (universal.Setup and
	// SetupTargeted: built into the key cache on first use, loaded after), so jobs of them
	// can be posted at once. universaltest.Class() is the small one tests use.
	Classes []*universal.Class
}

// NewSimulated starts an in-process chain, deploys the contracts, funds accounts and
// registers the configured classes.
func NewSimulated(ctx context.Context, cfg SimulatedConfig) (*Simulated, error) {
	if cfg.Accounts == 0 {
		cfg.Accounts = 3
	}
	if cfg.Providers == 0 {
		cfg.Providers = 1
	}
	if cfg.Tokens == nil {
		cfg.Tokens = new(big.Int).Exp(big.NewInt(10), big.NewInt(24), nil)
	}
	if cfg.Interval == 0 {
		cfg.Interval = 100 * time.Millisecond
	}
	s := &Simulated{Classes: map[[32]byte]*universal.Class{}}
	var err error
	if s.Governance, err = crypto.GenerateKey(); err != nil {
		return nil, err
	}
	if s.Accounts, err = newKeys(cfg.Accounts); err != nil {
		return nil, err
	}
	if s.Providers, err = newKeys(cfg.Providers); err != nil {
		return nil, err
	}
	var funded []common.Address
	for _, k := range slices.Concat([]*ecdsa.PrivateKey{s.Governance}, s.Accounts, s.Providers) {
		funded = append(funded, crypto.PubkeyToAddress(k.PublicKey))
	}
	opts := chain.SimOptions{Policy: chain.MineOnSend, Interval: max(cfg.Interval, 0)}
	if s.dir, err = os.MkdirTemp("", "probity-sim-"); err != nil {
		return nil, err
	}
	s.Chain = chain.NewSimulated(opts, funded...)
	fail := func(err error) (*Simulated, error) {
		s.Close()
		return nil, err
	}
	if s.Addresses, err = Deploy(ctx, s.Chain, s.Governance); err != nil {
		return fail(err)
	}
	gov, err := s.Client(ctx, s.Governance)
	if err != nil {
		return fail(err)
	}
	for _, a := range funded[1:] {
		if _, err := gov.market.Mint(ctx, a, cfg.Tokens); err != nil {
			return fail(wrap("minting", err))
		}
	}
	for _, cl := range cfg.Classes {
		if err := s.registerClass(ctx, gov, cl); err != nil {
			return fail(err)
		}
	}
	return s, nil
}

func newKeys(n int) ([]*ecdsa.PrivateKey, error) {
	keys := make([]*ecdsa.PrivateKey, n)
	for i := range keys {
		k, err := crypto.GenerateKey()
		if err != nil {
			return nil, err
		}
		keys[i] = k
	}
	return keys, nil
}

// registerClass registers cl with its development keys from the default key cache, the
// cache a provider started by StartProvider proves with.
func (s *Simulated) registerClass(ctx context.Context, gov *Client, cl *universal.Class) error {
	keys, err := universal.Setup(cl)
	if err != nil {
		return fmt.Errorf("sdk: keys of %s: %w", cl, err)
	}
	targeted, err := universal.SetupTargeted(cl)
	if err != nil {
		return fmt.Errorf("sdk: targeted keys of %s: %w", cl, err)
	}
	id, err := gov.RegisterClass(ctx, cl, keys.VK, targeted.VK)
	if err != nil {
		return err
	}
	s.Classes[id] = cl
	return nil
}

// Client returns a client acting as key on the simulated deployment, polling every 20 ms.
func (s *Simulated) Client(ctx context.Context, key *ecdsa.PrivateKey) (*Client, error) {
	c, err := NewClient(ctx, s.Chain, key, s.Addresses)
	if err != nil {
		return nil, err
	}
	c.PollInterval = 20 * time.Millisecond
	return c, nil
}

// Dir is a directory for name (a job's JobDir, an order book) in the simulated chain's own
// temporary directory, which Close removes with everything in it. It is created by whoever
// writes into it first (Prepare, Offer).
func (s *Simulated) Dir(name string) string { return filepath.Join(s.dir, name) }

// Close stops the chain and removes its directory.
func (s *Simulated) Close() error {
	err := s.Chain.Close()
	os.RemoveAll(s.dir)
	return err
}
