package receipttest

import (
	"context"
	"crypto/ecdsa"
	"fmt"
	"math/big"

	"github.com/consensys/gnark/backend/groth16"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/probitylabs/probity/chain"
	"github.com/probitylabs/probity/circuits"
	"github.com/probitylabs/probity/circuits/universal"
	"github.com/probitylabs/probity/commit"
	"github.com/probitylabs/probity/protocol"
	"github.com/probitylabs/probity/receipt"
)

// Chain is a deployment on a fresh simulated chain with the class of the keys registered
// (its verifier deployed from the real verifying key), a funded buyer and a registered
// provider, for tests that settle real jobs and audit their receipts against the chain.
type Chain struct {
	Sim                  *chain.Simulated
	Addresses            chain.Addresses
	Gov, Buyer, Provider *chain.Market
	BuyerKey, NodeKey    *ecdsa.PrivateKey
	ClassID              [32]byte
}

// NewChain deploys and registers as Chain describes. Close the chain's Sim when done.
func NewChain(ctx context.Context, keys *circuits.Keys) (*Chain, error) {
	var ks [4]*ecdsa.PrivateKey
	for i := range ks {
		k, err := crypto.GenerateKey()
		if err != nil {
			return nil, err
		}
		ks[i] = k
	}
	govK, buyerK, provK, nodeK := ks[0], ks[1], ks[2], ks[3]
	addr := func(k *ecdsa.PrivateKey) common.Address { return crypto.PubkeyToAddress(k.PublicKey) }
	sim := chain.NewSimulated(chain.SimOptions{Policy: chain.MineOnSend}, addr(govK), addr(buyerK), addr(provK))
	c, err := setup(ctx, sim, govK, buyerK, provK, nodeK, keys)
	if err != nil {
		sim.Close()
		return nil, err
	}
	return c, nil
}

func setup(ctx context.Context, sim *chain.Simulated, govK, buyerK, provK, nodeK *ecdsa.PrivateKey, keys *circuits.Keys) (*Chain, error) {
	d, err := chain.Deploy(ctx, sim.Client(), govK, chain.DeployParams{UnbondingDelay: 3600})
	if err != nil {
		return nil, err
	}
	c := &Chain{Sim: sim, Addresses: d.Addresses, BuyerKey: buyerK, NodeKey: nodeK}
	for _, m := range []struct {
		dst **chain.Market
		key *ecdsa.PrivateKey
	}{{&c.Gov, govK}, {&c.Buyer, buyerK}, {&c.Provider, provK}} {
		if *m.dst, err = chain.NewMarket(ctx, sim.Client(), d.Addresses, m.key); err != nil {
			return nil, err
		}
	}
	class, err := RegisterClass(ctx, c.Gov, keys)
	if err != nil {
		return nil, err
	}
	c.ClassID = class.ClassID
	lots := new(big.Int).Mul(big.NewInt(1_000_000), ether)
	for _, step := range []func() (*chain.Tx, error){
		func() (*chain.Tx, error) { return c.Gov.Mint(ctx, c.Buyer.Address(), lots) },
		func() (*chain.Tx, error) { return c.Gov.Mint(ctx, c.Provider.Address(), lots) },
		func() (*chain.Tx, error) { return c.Buyer.Approve(ctx, d.Manager.Address(), lots) },
		func() (*chain.Tx, error) { return c.Provider.Approve(ctx, d.Providers.Address(), lots) },
		func() (*chain.Tx, error) {
			return c.Provider.Register(ctx, crypto.PubkeyToAddress(nodeK.PublicKey), new(big.Int).Mul(big.NewInt(100_000), ether))
		},
	} {
		if _, err := step(); err != nil {
			return nil, err
		}
	}
	return c, nil
}

var ether = new(big.Int).Exp(big.NewInt(10), big.NewInt(18), nil)

// Settle runs job through the manager: the buyer signs a request (with a seed commitment when
// reveal), the provider locks and commits it in one call, the seed is fixed (the buyer reveals
// its secret, or the chain's seed block alone), the provider proves and submits, and the job
// settles at once (no challenge window). It returns the signed receipt of the settled job.
func (c *Chain) Settle(ctx context.Context, job *Job, salt int64, reveal bool) (*receipt.Receipt, error) {
	head, err := c.Sim.Client().HeaderByNumber(ctx, nil)
	if err != nil {
		return nil, err
	}
	var secret, seedCommitment [32]byte
	if reveal {
		secret = crypto.Keccak256Hash(big.NewInt(salt).Bytes(), []byte("receipttest secret"))
		seedCommitment = protocol.SeedCommitment(secret)
	}
	req := job.Request(c.Buyer.Address(), new(big.Int).Mul(big.NewInt(100), ether), head.Time+3600, seedCommitment, big.NewInt(salt))
	if req.ClassID != c.ClassID {
		return nil, fmt.Errorf("job's class %x is not the chain's %x", req.ClassID, c.ClassID)
	}
	creq := ToChain(req)
	id, err := c.Buyer.JobID(creq)
	if err != nil {
		return nil, err
	}
	sig, err := chain.SignRequest(c.BuyerKey, id)
	if err != nil {
		return nil, err
	}
	att, err := AttestationDigest(nil)
	if err != nil {
		return nil, err
	}
	locked, err := c.Provider.LockAndCommit(ctx, creq, sig, commit.ToBig(job.Gen.TraceRoot), att, chain.AnyTerms)
	if err != nil {
		return nil, err
	}
	committed := locked.Committed
	c.Sim.Mine(3)
	if reveal {
		if _, err := c.Buyer.RevealSeed(ctx, creq, secret); err != nil {
			return nil, err
		}
	}
	hdr, err := c.Sim.Client().HeaderByNumber(ctx, new(big.Int).SetUint64(committed.SeedBlock))
	if err != nil {
		return nil, err
	}
	chainID, err := c.Sim.Client().ChainID(ctx)
	if err != nil {
		return nil, err
	}
	d := protocol.Domain{ChainID: chainID, Contract: c.Addresses.Manager}
	rc, err := job.Receipt(&Settlement{Domain: d, Request: req, Provider: c.Provider.Address(), Stake: committed.Stake,
		SeedBlock: committed.SeedBlock, BlockHash: hdr.Hash(), Secret: secret}, c.NodeKey)
	if err != nil {
		return nil, err
	}
	seed, err := c.Provider.SeedOf(ctx, id)
	if err != nil {
		return nil, err
	}
	if seed.Cmp(rc.Seed.Value.Big()) != 0 {
		return nil, fmt.Errorf("the chain's seed %s is not the receipt's %s", seed, rc.Seed.Value)
	}
	words, err := chain.PackResultTokens(rc.Result.Tokens)
	if err != nil {
		return nil, err
	}
	sub, err := c.Provider.NewSubmission(creq, committed, words, Words(rc))
	if err != nil {
		return nil, err
	}
	res, err := c.Provider.Submit(ctx, sub)
	if err != nil {
		return nil, err
	}
	if res.Proved == nil || res.Settled == nil {
		return nil, fmt.Errorf("job not settled: %+v", res.JobOutcome)
	}
	return rc, nil
}

// ToChain converts a protocol request to the bindings' struct (chain.RequestFrom).
func ToChain(r protocol.Request) chain.Request { return chain.RequestFrom(r) }

// RegisterClass registers the class of keys (governance's market) with its two verifiers:
// the sampled circuit's from keys, the targeted circuit's from the default key cache (set up
// there on first use). minSlots is 1.
func RegisterClass(ctx context.Context, gov *chain.Market, keys *circuits.Keys) (*chain.ClassResult, error) {
	cl, ok := keys.Target.(*universal.Class)
	if !ok {
		return nil, fmt.Errorf("receipttest: keys are for %s, not a universal class", keys.Target)
	}
	cache, err := circuits.DefaultCache()
	if err != nil {
		return nil, err
	}
	tk, err := cache.Setup(universal.TargetedClass{Class: cl})
	if err != nil {
		return nil, fmt.Errorf("receipttest: targeted keys of %s: %w", cl, err)
	}
	var addrs [2]common.Address
	for i, vk := range []groth16.VerifyingKey{keys.VK, tk.VK} {
		w, err := circuits.VerifyingKeyWords(vk)
		if err != nil {
			return nil, err
		}
		if addrs[i], err = gov.DeployVerifier(ctx, chain.VerifyingKey{Alpha: w.Alpha, Beta: w.Beta, Gamma: w.Gamma, Delta: w.Delta, IC: w.IC}); err != nil {
			return nil, err
		}
	}
	return gov.RegisterClass(ctx, cl.String(), addrs[0], addrs[1], 1)
}
