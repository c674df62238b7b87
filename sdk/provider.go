package sdk

import (
	"context"
	"crypto/ecdsa"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"sync"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/probitylabs/probity/circuits/universal"
	"github.com/probitylabs/probity/model"
	"github.com/probitylabs/probity/prover"
)

// ProviderConfig configures StartProvider. Only Models is required.
type ProviderConfig struct {
	// Models are the models the provider holds: it takes jobs of these only.
	Models []*model.Model
	// OrderBooks are the file:// order books it reads offers from; posted jobs it sees on
	// chain without one.
	OrderBooks []string
	// Key is the provider's account (default: the next of Simulated.Providers).
	Key *ecdsa.PrivateKey
	// Stake is what it stakes when it registers (default: half its tokens).
	Stake *big.Int
	// Logger receives the node's log (default: discarded).
	Logger *slog.Logger
	// DataDir holds the node's journal, job files and traces (default: a directory of the
	// simulated chain's, Simulated.Dir).
	DataDir string
}

// Provider is a provider node running in process on a simulated chain (StartProvider).
type Provider struct {
	// Address is the provider's account; NodeKey signs its receipts.
	Address common.Address
	NodeKey *ecdsa.PrivateKey
	// Node is the running node (its journal and metrics).
	Node *prover.Node

	cancel   context.CancelFunc
	done     chan error
	stopOnce sync.Once
	stopErr  error
}

// StartProvider stakes a provider on the simulated chain and runs a prover node for it, for
// tests and examples: it serves every class the chain registered (SimulatedConfig.Classes)
// with the keys in the default key cache, holds cfg.Models, and takes posted jobs and the
// offers of cfg.OrderBooks until Close. On start the node proves once to measure itself (a
// second or a few on universaltest's class). A production node is `probity prover` (package
// prover), with its own configuration and keys.
func (s *Simulated) StartProvider(ctx context.Context, cfg ProviderConfig) (*Provider, error) {
	if len(cfg.Models) == 0 {
		return nil, errors.New("sdk: StartProvider: no model: a provider takes jobs of the models it holds")
	}
	if len(s.Classes) == 0 {
		return nil, errors.New("sdk: StartProvider: the simulated chain registered no class (SimulatedConfig.Classes)")
	}
	key := cfg.Key
	if key == nil {
		if s.nextProvider == len(s.Providers) {
			return nil, fmt.Errorf("sdk: StartProvider: all %d provider accounts are taken (SimulatedConfig.Providers, or give ProviderConfig.Key)", len(s.Providers))
		}
		key = s.Providers[s.nextProvider]
		s.nextProvider++
	}
	nodeKey, err := crypto.GenerateKey()
	if err != nil {
		return nil, err
	}
	if err := s.register(ctx, key, crypto.PubkeyToAddress(nodeKey.PublicKey), cfg.Stake); err != nil {
		return nil, err
	}
	p := &Provider{Address: crypto.PubkeyToAddress(key.PublicKey), NodeKey: nodeKey, done: make(chan error, 1)}
	dataDir := cfg.DataDir
	if dataDir == "" {
		dataDir = s.Dir("provider-" + p.Address.Hex())
	}
	pc := prover.DefaultConfig()
	pc.Deployment = s.Addresses
	pc.DataDir = dataDir
	pc.Classes = nil // served through Options.Classes: the chain's, which need not be in the catalogue
	pc.OrderBooks = cfg.OrderBooks
	pc.PollInterval = prover.Duration(20 * time.Millisecond)
	pc.Fetch.AllowFile = true
	pc.GPU.Mode = "none" // no GPU evidence: receipts carry attestation mode none
	pc.Safety.SelfTestEvery = prover.Duration(30 * 24 * time.Hour)
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	var classes []*universal.Class
	for _, cl := range s.Classes {
		classes = append(classes, cl)
	}
	p.Node, err = prover.New(ctx, prover.Options{Config: pc, Backend: s.Chain, ProviderKey: key, NodeKey: nodeKey,
		Classes: classes, Models: cfg.Models, Logger: logger})
	if err != nil {
		return nil, fmt.Errorf("sdk: StartProvider: %w", err)
	}
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	p.cancel = cancel
	go func() { p.done <- p.Node.Run(runCtx) }()
	return p, nil
}

// register approves and stakes stake (default half the account's tokens) for the node key.
func (s *Simulated) register(ctx context.Context, key *ecdsa.PrivateKey, nodeKey common.Address, stake *big.Int) error {
	c, err := s.Client(ctx, key)
	if err != nil {
		return err
	}
	if stake == nil {
		bal, err := c.market.TokenBalance(ctx, c.Address())
		if err != nil {
			return wrap("reading the provider's tokens", err)
		}
		stake = new(big.Int).Rsh(bal, 1)
	}
	if _, err := c.market.Approve(ctx, s.Addresses.Providers, stake); err != nil {
		return wrap("approving the provider registry", err)
	}
	_, err = c.market.Register(ctx, nodeKey, stake)
	return wrap("registering the provider", err)
}

// Close stops the node, letting the step in progress finish, and returns the error it
// stopped with, if any but its shutdown; later calls return the same.
func (p *Provider) Close() error {
	p.stopOnce.Do(func() {
		p.cancel()
		if err := <-p.done; !errors.Is(err, context.Canceled) {
			p.stopErr = err
		}
	})
	return p.stopErr
}
