package prover_test

import (
	"context"
	"crypto/ecdsa"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/ethclient"
	"github.com/ethereum/go-ethereum/rpc"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/probitylabs/probity/chain"
	"github.com/probitylabs/probity/circuits"
	"github.com/probitylabs/probity/internal/testenv"
	"github.com/probitylabs/probity/prover"
	"github.com/probitylabs/probity/sdk"
)

// Anvil's well-known development keys (accounts 0, 1, 2 of its default mnemonic).
var (
	anvilGov   = testenv.AnvilDevKeys[0]
	anvilBuyer = testenv.AnvilDevKeys[1]
	anvilProv  = testenv.AnvilDevKeys[2]
)

// TestLifecycleAnvil runs the whole job against a real anvil process over JSON-RPC, with
// the node built from a config file and key files alone, through an HTTP proxy that
// drops every connection for a while during the job (a restarting RPC node).
func TestLifecycleAnvil(t *testing.T) {
	// StartAnvil skips without anvil, or fails when PROBITY_REQUIRE_TOOLS=1.
	anvilURL := testenv.StartAnvil(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	// Anvil mines on every transaction; the seed also needs blocks after the commit.
	rc, err := rpc.DialContext(ctx, anvilURL)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	mineCtx, stopMining := context.WithCancel(ctx)
	defer stopMining()
	go func() {
		for mineCtx.Err() == nil {
			_ = rc.CallContext(mineCtx, nil, "evm_mine")
			time.Sleep(200 * time.Millisecond)
		}
	}()

	target, _ := url.Parse(anvilURL)
	var down atomic.Bool
	var dropped atomic.Int64
	rp := httputil.NewSingleHostReverseProxy(target)
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if down.Load() {
			dropped.Add(1)
			if hj, ok := w.(http.Hijacker); ok {
				if conn, _, err := hj.Hijack(); err == nil {
					conn.Close()
					return
				}
			}
			w.WriteHeader(http.StatusBadGateway)
			return
		}
		rp.ServeHTTP(w, r)
	}))
	defer proxy.Close()

	key := func(h string) *ecdsaKey { k, _ := crypto.HexToECDSA(h); return k }
	gk, bk, pk := key(anvilGov), key(anvilBuyer), key(anvilProv)
	addrs, err := sdk.Deploy(ctx, mustDial(t, ctx, anvilURL), gk)
	if err != nil {
		t.Fatal(err)
	}
	gov, err := sdk.Connect(ctx, anvilURL, gk, addrs)
	if err != nil {
		t.Fatal(err)
	}
	s, _ := circuits.Lookup("tiny")
	keys, err := sharedKeys.Setup(s)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := gov.RegisterShape(ctx, s, keys.VK); err != nil {
		t.Fatal(err)
	}
	supply := new(big.Int).Exp(big.NewInt(10), big.NewInt(24), nil)
	buyer, err := sdk.Connect(ctx, anvilURL, bk, addrs)
	if err != nil {
		t.Fatal(err)
	}
	prov, err := sdk.Connect(ctx, anvilURL, pk, addrs)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range []*sdk.Client{buyer, prov} {
		if _, err := gov.Chain().Mint(ctx, a.Address(), supply); err != nil {
			t.Fatal(err)
		}
	}
	stake := new(big.Int).Exp(big.NewInt(10), big.NewInt(21), nil)
	if _, err := prov.Chain().Approve(ctx, addrs.Providers, stake); err != nil {
		t.Fatal(err)
	}
	if _, err := prov.Chain().Register(ctx, prov.Address(), stake); err != nil { // node key = provider key
		t.Fatal(err)
	}

	dir := t.TempDir()
	in, mf := writeFiles(t, dir, 11, 6, 16, 4)
	price := big.NewInt(2e17)
	head, _ := mustDial(t, ctx, anvilURL).BlockNumber(ctx)
	job, err := buyer.PostJob(ctx, sdk.JobRequest{InputFile: in, ModelFile: mf, PublishDir: filepath.Join(dir, "pub"), Shapes: []string{"tiny"}, Price: price})
	if err != nil {
		t.Fatal(err)
	}
	provBefore, _ := prov.Chain().TokenBalance(ctx, prov.Address())

	// The node from a config file and key files only.
	keyFile := filepath.Join(dir, "provider.key")
	os.WriteFile(keyFile, []byte("0x"+anvilProv+"\n"), 0o600)
	cfgFile := filepath.Join(dir, "prover.json")
	os.WriteFile(cfgFile, []byte(`{"deployment":{"token":"`+addrs.Token.Hex()+`","providers":"`+addrs.Providers.Hex()+
		`","shapes":"`+addrs.Shapes.Hex()+`","manager":"`+addrs.Manager.Hex()+`"},"providerKeyFile":"`+keyFile+
		`","shapes":["tiny"],"pollInterval":"100ms","gpu":{"mode":"none","interval":"100ms"},"fetch":{"allowFile":true,"maxManifestBytes":65536,"maxFileBytes":1048576,"timeout":"10s"}}`), 0o644)
	env := []string{"PROBITY_RPC_URL=" + proxy.URL, "PROBITY_DATA_DIR=" + filepath.Join(dir, "data"),
		"PROBITY_START_BLOCK=" + big.NewInt(int64(head)).String()}
	cfg, err := prover.LoadConfig(cfgFile, env, nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg.RPC.BackoffMin, cfg.RPC.BackoffMax, cfg.RPC.Retries = prover.Duration(20*time.Millisecond), prover.Duration(300*time.Millisecond), 40
	n, err := prover.New(ctx, prover.Options{Config: cfg, Keys: sharedKeys, Logger: testLogger(t),
		Hook: func(_ *big.Int, s prover.Step) error {
			if s == prover.StepExecuted || s == prover.StepSeeded {
				down.Store(true)
				time.AfterFunc(500*time.Millisecond, func() { down.Store(false) })
			}
			return nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	rec := runUntil(t, ctx, n, job.ID, 2*time.Minute)
	if rec.Step != prover.StepDone {
		t.Fatalf("job ended at %s: %s", rec.Step, rec.Reason)
	}
	if st, _ := buyer.JobState(ctx, job.ID); st != chain.StateSettled {
		t.Fatalf("chain state %v", st)
	}
	provAfter, _ := prov.Chain().TokenBalance(ctx, prov.Address())
	if got := new(big.Int).Sub(provAfter, provBefore); got.Cmp(price) != 0 {
		t.Fatalf("provider earned %v, want %v", got, price)
	}
	if _, err := buyer.WaitReceipt(ctx, job.ID); err != nil {
		t.Fatal(err)
	}
	if dropped.Load() == 0 {
		t.Fatal("the proxy outage dropped no request")
	}
	var retries float64
	for _, op := range []string{"eth_call", "eth_estimateGas", "eth_blockNumber", "eth_getBlockByNumber", "eth_getTransactionReceipt", "eth_getTransactionCount", "eth_sendRawTransaction", "eth_getLogs", "eth_maxPriorityFeePerGas", "eth_gasPrice"} {
		retries += testutil.ToFloat64(n.Metrics().RPCRetries.WithLabelValues(op))
	}
	t.Logf("proxy dropped %d requests; node retried %v calls", dropped.Load(), retries)
}

type ecdsaKey = ecdsa.PrivateKey

func mustDial(t *testing.T, ctx context.Context, url string) *ethclient.Client {
	t.Helper()
	ec, err := ethclient.DialContext(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ec.Close)
	return ec
}
