package prover_test

import (
	"context"
	"crypto/ecdsa"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/crypto"

	"github.com/probitylabs/probity/chain"
	"github.com/probitylabs/probity/circuits"
	"github.com/probitylabs/probity/prover"
	"github.com/probitylabs/probity/sdk"
	"github.com/probitylabs/probity/tensor"
)

// TestMain doubles as the external program of the CommandExecutor tests: with
// PROBITY_TEST_EXEC set, the test binary behaves like `probity exec` and exits.
func TestMain(m *testing.M) {
	if mode := os.Getenv("PROBITY_TEST_EXEC"); mode != "" {
		os.Exit(execHelper(mode))
	}
	os.Exit(m.Run())
}

func execHelper(mode string) int {
	in, model, out := os.Getenv("PROBITY_INPUT"), os.Getenv("PROBITY_MODEL"), os.Getenv("PROBITY_OUT")
	switch mode {
	case "honest":
	case "falsify":
		f, _ := strconv.ParseFloat(os.Getenv("PROBITY_TEST_FALSIFY"), 64)
		if os.Getenv("PROBITY_SELFTEST") == "1" {
			f = 0 // a cheater behaves while the node's self-test watches
		}
		if err := prover.RunReference(context.Background(), in, model, out, f, 1); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		return 0
	case "fail":
		fmt.Fprintln(os.Stderr, "CUDA error: out of memory (simulated by the test program)")
		return 3
	case "sleep":
		time.Sleep(time.Minute)
		return 0
	case "nothing":
		return 0
	}
	if err := prover.RunReference(context.Background(), in, model, out, 0, 0); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// memKeys builds each shape's development keys once per test binary.
type memKeys struct {
	mu   sync.Mutex
	keys map[string]*circuits.Keys
}

var sharedKeys = &memKeys{keys: map[string]*circuits.Keys{}}

func (m *memKeys) Setup(s circuits.Shape) (*circuits.Keys, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if k := m.keys[s.Name]; k != nil {
		return k, nil
	}
	k, err := circuits.DevSetup(s)
	if err != nil {
		return nil, err
	}
	m.keys[s.Name] = k
	return k, nil
}

// world is a simulated chain with the tiny shape registered, a buyer and a registered
// provider.
type world struct {
	sim      *sdk.Simulated
	buyer    *sdk.Client
	prov     *sdk.Client
	provKey  *ecdsa.PrivateKey
	nodeKey  *ecdsa.PrivateKey
	backend  chain.Backend
	interval time.Duration
}

func newWorld(t testing.TB, ctx context.Context, shapes ...string) *world {
	t.Helper()
	// Blocks come on an interval too, as on a real chain: the node waits for the seed
	// block instead of mining it.
	sim, err := sdk.NewSimulated(ctx, sdk.SimulatedConfig{Accounts: 2})
	if err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				sim.Chain.Mine(1)
			}
		}
	}()
	t.Cleanup(func() { close(stop); <-stopped; sim.Close() })
	w := &world{sim: sim, backend: sim.Chain.Client(), provKey: sim.Accounts[1], interval: 20 * time.Millisecond}
	gov, err := sim.Client(ctx, sim.Governance)
	if err != nil {
		t.Fatal(err)
	}
	if len(shapes) == 0 {
		shapes = []string{"tiny"}
	}
	for _, name := range shapes {
		s, _ := circuits.Lookup(name)
		keys, err := sharedKeys.Setup(s)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := gov.RegisterShape(ctx, s, keys.VK); err != nil {
			t.Fatal(err)
		}
	}
	if w.buyer, err = sim.Client(ctx, sim.Accounts[0]); err != nil {
		t.Fatal(err)
	}
	if w.prov, err = sim.Client(ctx, w.provKey); err != nil {
		t.Fatal(err)
	}
	w.nodeKey, _ = crypto.GenerateKey()
	stake := new(big.Int).Exp(big.NewInt(10), big.NewInt(21), nil)
	if _, err := w.prov.Chain().Approve(ctx, sim.Addresses.Providers, stake); err != nil {
		t.Fatal(err)
	}
	if _, err := w.prov.Chain().Register(ctx, crypto.PubkeyToAddress(w.nodeKey.PublicKey), stake); err != nil {
		t.Fatal(err)
	}
	return w
}

// writeFiles writes an input of rows x K and a model with the given layer widths.
func writeFiles(t testing.TB, dir string, seed uint64, rows int, dims ...int) (string, string) {
	t.Helper()
	in, mf := filepath.Join(dir, "x.safetensors"), filepath.Join(dir, "m.safetensors")
	if err := tensor.SaveActivations(in, tensor.RandomInput(seed, rows, dims[0])); err != nil {
		t.Fatal(err)
	}
	m, err := tensor.RandomModel(seed, dims...)
	if err != nil {
		t.Fatal(err)
	}
	if err := tensor.SaveModel(mf, m); err != nil {
		t.Fatal(err)
	}
	return in, mf
}

// post posts a tiny job (5 rows, 16 -> 4) and returns it.
func (w *world) post(t testing.TB, ctx context.Context, price *big.Int) *sdk.Job {
	t.Helper()
	dir := t.TempDir()
	in, mf := writeFiles(t, dir, 7, 5, 16, 4)
	job, err := w.buyer.PostJob(ctx, sdk.JobRequest{InputFile: in, ModelFile: mf, PublishDir: filepath.Join(dir, "pub"),
		Shapes: []string{"tiny"}, Price: price})
	if err != nil {
		t.Fatal(err)
	}
	return job
}

func (w *world) head(t testing.TB, ctx context.Context) uint64 {
	t.Helper()
	h, err := w.backend.BlockNumber(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func (w *world) config(dataDir string, startBlock uint64) prover.Config {
	c := prover.DefaultConfig()
	c.RPCURL = "simulated"
	c.Deployment = w.sim.Addresses
	c.DataDir = dataDir
	c.Shapes = []string{"tiny", "demo-64"}
	c.StartBlock = startBlock
	c.PollInterval = prover.Duration(w.interval)
	c.Fetch.AllowFile = true
	c.GPU.Mode = "none"
	c.RPC.BackoffMin = prover.Duration(10 * time.Millisecond)
	c.RPC.BackoffMax = prover.Duration(200 * time.Millisecond)
	c.RPC.Retries = 50
	return c
}

func testLogger(t testing.TB) *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

func (w *world) node(t testing.TB, ctx context.Context, cfg prover.Config, mod func(*prover.Options)) *prover.Node {
	t.Helper()
	o := prover.Options{Config: cfg, Backend: w.backend, ProviderKey: w.provKey, NodeKey: w.nodeKey,
		Keys: sharedKeys, Logger: testLogger(t), ShutdownGrace: 10 * time.Second}
	if mod != nil {
		mod(&o)
	}
	n, err := prover.New(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// runUntil runs n until the job's journal record is terminal, and returns the record.
func runUntil(t testing.TB, ctx context.Context, n *prover.Node, jobID *big.Int, limit time.Duration) *prover.Record {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- n.Run(ctx) }()
	var rec *prover.Record
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case err := <-done:
			rec, _ = n.Journal().Load(jobID.String())
			if err != nil && !errors.Is(err, context.Canceled) {
				t.Fatalf("node: %v", err)
			}
			if rec == nil {
				t.Fatal("node stopped before the job was journaled")
			}
			return rec
		case <-tick.C:
			r, err := n.Journal().Load(jobID.String())
			if err == nil && r.Step.Terminal() {
				cancel()
				<-done
				return r
			}
		}
	}
}
