package prover_test

import (
	"context"
	"crypto/ecdsa"
	"io"
	"log/slog"
	"math/big"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/probitylabs/probity/chain"
	"github.com/probitylabs/probity/circuits"
	"github.com/probitylabs/probity/circuits/universal"
	"github.com/probitylabs/probity/circuits/universal/universaltest"
	"github.com/probitylabs/probity/commit"
	"github.com/probitylabs/probity/jobs"
	"github.com/probitylabs/probity/model"
	"github.com/probitylabs/probity/protocol"
	"github.com/probitylabs/probity/prover"
	"github.com/probitylabs/probity/receipt/receipttest"
)

// blockEvery is the test chain's block interval: blocks come on their own, as on a real chain,
// and the node waits for its seed block instead of mining it. Each block advances the chain's
// clock by a second, so chain deadlines run twenty times faster than the wall.
const blockEvery = 50 * time.Millisecond

var ether = new(big.Int).Exp(big.NewInt(10), big.NewInt(18), nil)

func tokens(n int64) *big.Int { return new(big.Int).Mul(big.NewInt(n), ether) }

// world is a deployment on the simulated chain with the test class registered from its
// real verifying key, a funded buyer and registered providers.
type world struct {
	sim      *chain.Simulated
	d        *chain.Deployment
	cl       *universal.Class
	keys     *circuits.Keys
	m        *model.Model
	root     *big.Int
	buyerKey *ecdsa.PrivateKey
	buyer    *chain.Market
	// buyer2 is a second funded buyer (tests of per-buyer limits).
	buyer2Key *ecdsa.PrivateKey
	// watcherKey is a funded account for a watcher (challenges).
	watcherKey *ecdsa.PrivateKey
	keeper     *chain.Market
	provs      []*provider
	salt       atomic.Int64
	gov        *chain.Market
	// every is the block interval of the world's miner (blockEvery unless a test slows it);
	// paused stops it (a test holding a transaction in the pool).
	every  atomic.Int64
	paused atomic.Bool
	// estimates is the first node's self-test result, copied into later data directories so
	// each test node does not measure again.
	estimates []byte
}

type provider struct {
	key, nodeKey *ecdsa.PrivateKey
	market       *chain.Market
}

func key(t testing.TB) *ecdsa.PrivateKey {
	k, err := crypto.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func addr(k *ecdsa.PrivateKey) common.Address { return crypto.PubkeyToAddress(k.PublicKey) }

func newWorld(t testing.TB, ctx context.Context, providers int) *world {
	t.Helper()
	m, err := universaltest.Model(1)
	if err != nil {
		t.Fatal(err)
	}
	return newWorldFor(t, ctx, providers, universaltest.Class(), m)
}

// newWorldFor is newWorld for another class and model.
func newWorldFor(t testing.TB, ctx context.Context, providers int, cl *universal.Class, m *model.Model) *world {
	t.Helper()
	keys, err := universal.Setup(cl)
	if err != nil {
		t.Fatal(err)
	}
	root, err := m.Root()
	if err != nil {
		t.Fatal(err)
	}
	w := &world{cl: cl, keys: keys, m: m, root: commit.ToBig(root), buyerKey: key(t), buyer2Key: key(t), watcherKey: key(t)}
	govK, keeperK := key(t), key(t)
	funded := []common.Address{addr(govK), addr(w.buyerKey), addr(keeperK), addr(w.buyer2Key), addr(w.watcherKey)}
	for range providers {
		p := &provider{key: key(t), nodeKey: key(t)}
		w.provs = append(w.provs, p)
		funded = append(funded, addr(p.key))
	}
	w.sim = chain.NewSimulated(chain.SimOptions{Policy: chain.MineOnSend}, funded...)
	w.every.Store(int64(blockEvery))
	stop, stopped := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(stopped)
		for {
			select {
			case <-stop:
				return
			case <-time.After(time.Duration(w.every.Load())):
				if !w.paused.Load() {
					w.sim.Mine(1)
				}
			}
		}
	}()
	t.Cleanup(func() { close(stop); <-stopped; w.sim.Close() })
	if w.d, err = chain.Deploy(ctx, w.sim.Client(), govK, chain.DeployParams{UnbondingDelay: 3600}); err != nil {
		t.Fatal(err)
	}
	market := func(k *ecdsa.PrivateKey) *chain.Market {
		mk, err := chain.NewMarket(ctx, w.sim.Client(), w.d.Addresses, k)
		if err != nil {
			t.Fatal(err)
		}
		return mk
	}
	gov := market(govK)
	w.gov = gov
	w.buyer, w.keeper = market(w.buyerKey), market(keeperK)
	ok := func(_ any, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	ok(receipttest.RegisterClass(ctx, gov, keys))
	ok(gov.Mint(ctx, w.buyer.Address(), tokens(1_000_000)))
	ok(w.buyer.Approve(ctx, w.d.Manager.Address(), tokens(1_000_000)))
	buyer2 := market(w.buyer2Key)
	ok(gov.Mint(ctx, buyer2.Address(), tokens(1_000_000)))
	ok(buyer2.Approve(ctx, w.d.Manager.Address(), tokens(1_000_000)))
	for _, p := range w.provs {
		p.market = market(p.key)
		ok(gov.Mint(ctx, p.market.Address(), tokens(1_000_000)))
		ok(p.market.Approve(ctx, w.d.Providers.Address(), tokens(1_000_000)))
		ok(p.market.Register(ctx, addr(p.nodeKey), tokens(100_000)))
	}
	return w
}

// realTime makes the world's chain behave like a real one from here on: a block every d, no
// block per transaction (chain time follows the blocks).
func (w *world) realTime(d time.Duration) {
	w.every.Store(int64(d))
	w.sim.SetMineOnSend(false)
}

// job is a generation job of the world's model published as a job file.
type job struct {
	gen    *jobs.GenJob
	uri    string
	digest *big.Int
	// want are the tokens the reference generation gives.
	want []uint32
}

func (w *world) job(t testing.TB, prompt []int32, n int) *job {
	t.Helper()
	root, _ := w.m.Root()
	j := &jobs.GenJob{ModelRoot: root, Prompt: prompt, New: n}
	c, err := j.Check(w.m)
	if err != nil {
		t.Fatal(err)
	}
	_, toks, err := c.Generate()
	if err != nil {
		t.Fatal(err)
	}
	b, err := jobs.EncodeJob(j)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "pub", jobs.JobFile)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	d, err := j.Digest()
	if err != nil {
		t.Fatal(err)
	}
	out := &job{gen: j, uri: "file://" + path, digest: commit.ToBig(d)}
	for _, tok := range toks {
		out.want = append(out.want, uint32(tok))
	}
	return out
}

// request is a request for j in the test class with generous windows (chain seconds).
func (w *world) request(t testing.TB, ctx context.Context, j *job, price *big.Int, challenge uint32) chain.Request {
	t.Helper()
	head, err := w.sim.Client().HeaderByNumber(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	return chain.Request{Buyer: w.buyer.Address(), ClassId: w.cl.ID(), ModelRoot: new(big.Int).Set(w.root), JobDigest: j.digest,
		NewTokens: uint32(j.gen.New), Price: price, LockBy: head.Time + 3600, ExecWindow: 3600, ProveWindow: 3600,
		ChallengeWindow: challenge, Salt: big.NewInt(w.salt.Add(1))}
}

func (w *world) offer(t testing.TB, req chain.Request, uri string) (*jobs.Offer, *big.Int) {
	t.Helper()
	o, err := jobs.SignOffer(w.buyerKey, w.buyer.Sender().ChainID(), w.d.Addresses.Manager, protocol.Request{Buyer: req.Buyer,
		ClassID: req.ClassId, ModelRoot: req.ModelRoot, JobDigest: req.JobDigest, NewTokens: req.NewTokens, Price: req.Price,
		LockBy: req.LockBy, ExecWindow: req.ExecWindow, ProveWindow: req.ProveWindow, ChallengeWindow: req.ChallengeWindow,
		SeedCommitment: req.SeedCommitment, Salt: req.Salt}, uri)
	if err != nil {
		t.Fatal(err)
	}
	id, err := o.JobID()
	if err != nil {
		t.Fatal(err)
	}
	return o, id
}

func (w *world) post(t testing.TB, ctx context.Context, req chain.Request, uri string) *big.Int {
	t.Helper()
	res, err := w.buyer.Post(ctx, req, uri)
	if err != nil {
		t.Fatal(err)
	}
	return res.JobID
}

func (w *world) head(t testing.TB, ctx context.Context) uint64 {
	t.Helper()
	h, err := w.sim.Client().BlockNumber(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func (w *world) config(t testing.TB, dataDir string, startBlock uint64) prover.Config {
	c := prover.DefaultConfig()
	c.Deployment = w.d.Addresses
	c.DataDir = dataDir
	c.Classes = nil
	c.StartBlock = startBlock
	c.PollInterval = prover.Duration(blockEvery)
	c.Fetch.AllowFile = true
	c.GPU.Mode = "none"
	c.Safety.BlockTime = prover.Duration(blockEvery)
	c.Safety.WindowMargin = prover.Duration(100 * time.Second)
	c.RPC.BackoffMin = prover.Duration(10 * time.Millisecond)
	c.RPC.BackoffMax = prover.Duration(200 * time.Millisecond)
	c.RPC.Retries = 50
	if w.estimates != nil {
		if err := os.MkdirAll(dataDir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dataDir, "estimates.json"), w.estimates, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return c
}

func testLogger() *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

func (w *world) node(t testing.TB, ctx context.Context, p *provider, cfg prover.Config, mod func(*prover.Options)) *prover.Node {
	t.Helper()
	o := prover.Options{Config: cfg, Backend: w.sim.Client(), ProviderKey: p.key, NodeKey: p.nodeKey,
		Classes: []*universal.Class{w.cl}, Models: []*model.Model{w.m}, Logger: testLogger(), Metrics: prover.NewMetrics(),
		ShutdownGrace: 10 * time.Second}
	if mod != nil {
		mod(&o)
	}
	n, err := prover.New(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// runUntil runs n until the jobs are terminal and returns their records.
func runUntil(t testing.TB, ctx context.Context, n *prover.Node, limit time.Duration, ids ...*big.Int) []*prover.Record {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	recs, err := n.RunUntil(ctx, ids...)
	if err != nil {
		t.Fatalf("node: %v", err)
	}
	return recs
}

// keepEstimates remembers a node's self-test for the next data directories.
func (w *world) keepEstimates(t testing.TB, dataDir string) {
	if w.estimates != nil {
		return
	}
	b, err := os.ReadFile(filepath.Join(dataDir, "estimates.json"))
	if err != nil {
		t.Fatal(err)
	}
	w.estimates = b
}
