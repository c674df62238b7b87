package sdk

import (
	"context"
	"crypto/ecdsa"
	"errors"
	"fmt"
	"math/big"
	"time"

	"github.com/consensys/gnark/backend/groth16"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/ethclient"

	"github.com/probitylabs/probity/chain"
	"github.com/probitylabs/probity/circuits"
)

// Addresses locate a deployment (token, provider registry, shape registry, SLA manager).
type Addresses = chain.Addresses

// Client acts on one deployment as one account.
type Client struct {
	chain   *chain.Client
	backend chain.Backend
	// PollInterval paces Watch and WaitReceipt (default 500 ms; 20 ms on a simulated chain).
	PollInterval time.Duration
	// FromBlock is the first block searched for a job's events (default 0). Set it to the
	// deployment block on long-lived chains.
	FromBlock uint64
	secrets   *secretStore // seed secrets to reveal, shared by copies of the client
}

// Connect dials an EVM RPC endpoint and acts as key on the deployment at addrs.
func Connect(ctx context.Context, rpcURL string, key *ecdsa.PrivateKey, addrs Addresses) (*Client, error) {
	ec, err := ethclient.DialContext(ctx, rpcURL)
	if err != nil {
		return nil, fmt.Errorf("sdk: dialing %s: %w", rpcURL, err)
	}
	return NewClient(ctx, ec, key, addrs)
}

// NewClient acts as key on the deployment at addrs through any chain backend.
func NewClient(ctx context.Context, backend chain.Backend, key *ecdsa.PrivateKey, addrs Addresses) (*Client, error) {
	if key == nil {
		return nil, errors.New("sdk: nil key")
	}
	c, err := chain.NewClient(ctx, backend, addrs, key)
	if err != nil {
		return nil, fmt.Errorf("sdk: %w", err)
	}
	return &Client{chain: c, backend: backend, PollInterval: 500 * time.Millisecond, secrets: &secretStore{}}, nil
}

// Address is the client's account.
func (c *Client) Address() common.Address { return c.chain.Address() }

// Chain exposes the lower-level chain client (every contract call, typed).
func (c *Client) Chain() *chain.Client { return c.chain }

// Addresses of the deployment.
func (c *Client) Addresses() Addresses { return c.chain.Addresses() }

// BlockNumber is the number of the chain's latest block.
func (c *Client) BlockNumber(ctx context.Context) (uint64, error) {
	n, err := c.backend.BlockNumber(ctx)
	if err != nil {
		return 0, fmt.Errorf("sdk: block number: %w", err)
	}
	return n, nil
}

// ChainID of the connected chain.
func (c *Client) ChainID(ctx context.Context) (*big.Int, error) { return c.backend.ChainID(ctx) }

// Deploy deploys a fresh Probity stack (a DevToken, the registries and the SLA manager) from
// key, which becomes governance. Tests and local chains use it; production deployments use the
// Foundry script.
func Deploy(ctx context.Context, backend chain.Backend, key *ecdsa.PrivateKey) (Addresses, error) {
	d, err := chain.Deploy(ctx, backend, key, chain.DeployParams{UnbondingDelay: 7 * 24 * 3600})
	if err != nil {
		return Addresses{}, fmt.Errorf("sdk: deploy: %w", decodeError(err))
	}
	return d.Addresses, nil
}

// RegisterShape deploys a Groth16 verifier for vk and registers the catalogue shape with it.
// Governance only.
func (c *Client) RegisterShape(ctx context.Context, s circuits.Shape, vk groth16.VerifyingKey) ([32]byte, error) {
	words, err := circuits.VerifyingKeyWords(vk)
	if err != nil {
		return [32]byte{}, fmt.Errorf("sdk: register shape %s: %w", s.Name, err)
	}
	addr, err := c.chain.DeployVerifier(ctx, chain.VerifyingKey{Alpha: words.Alpha, Beta: words.Beta, Gamma: words.Gamma, Delta: words.Delta, IC: words.IC})
	if err != nil {
		return [32]byte{}, fmt.Errorf("sdk: deploying the verifier of %s: %w", s.Name, decodeError(err))
	}
	id, err := c.chain.RegisterShape(ctx, addr, s.K, s.N, s.D, s.Kn)
	if err != nil {
		return id, fmt.Errorf("sdk: registering %s: %w", s.Name, decodeError(err))
	}
	return id, nil
}

// Simulated is an in-process chain with a deployed stack and funded accounts.
type Simulated struct {
	Chain      *chain.Simulated
	Addresses  Addresses
	Governance *ecdsa.PrivateKey   // deployer, owner of the token and the registries
	Accounts   []*ecdsa.PrivateKey // funded with ether and Tokens each
}

// SimulatedConfig configures NewSimulated.
type SimulatedConfig struct {
	Accounts int      // funded accounts besides governance (default 3)
	Tokens   *big.Int // DevTokens minted to each account (default 10^24)
	// Interval, when set, mines a block every Interval; by default a block is mined after
	// every transaction.
	Interval time.Duration
}

// NewSimulated starts an in-process chain, deploys the contracts and funds accounts.
func NewSimulated(ctx context.Context, cfg SimulatedConfig) (*Simulated, error) {
	if cfg.Accounts == 0 {
		cfg.Accounts = 3
	}
	if cfg.Tokens == nil {
		cfg.Tokens = new(big.Int).Exp(big.NewInt(10), big.NewInt(24), nil)
	}
	s := &Simulated{}
	var err error
	if s.Governance, err = crypto.GenerateKey(); err != nil {
		return nil, err
	}
	funded := []common.Address{crypto.PubkeyToAddress(s.Governance.PublicKey)}
	for range cfg.Accounts {
		k, err := crypto.GenerateKey()
		if err != nil {
			return nil, err
		}
		s.Accounts = append(s.Accounts, k)
		funded = append(funded, crypto.PubkeyToAddress(k.PublicKey))
	}
	opts := chain.SimOptions{Policy: chain.MineOnSend}
	if cfg.Interval > 0 {
		opts = chain.SimOptions{Policy: chain.MineOnInterval, Interval: cfg.Interval}
	}
	s.Chain = chain.NewSimulated(opts, funded...)
	if s.Addresses, err = Deploy(ctx, s.Chain.Client(), s.Governance); err != nil {
		s.Chain.Close()
		return nil, err
	}
	gov, err := s.Client(ctx, s.Governance)
	if err != nil {
		s.Chain.Close()
		return nil, err
	}
	for _, a := range funded[1:] {
		if _, err := gov.chain.Mint(ctx, a, cfg.Tokens); err != nil {
			s.Chain.Close()
			return nil, fmt.Errorf("sdk: minting: %w", decodeError(err))
		}
	}
	return s, nil
}

// Client returns a client acting as key on the simulated deployment.
func (s *Simulated) Client(ctx context.Context, key *ecdsa.PrivateKey) (*Client, error) {
	c, err := NewClient(ctx, s.Chain.Client(), key, s.Addresses)
	if err != nil {
		return nil, err
	}
	c.PollInterval = 20 * time.Millisecond
	return c, nil
}

// Close stops the chain.
func (s *Simulated) Close() error { return s.Chain.Close() }
