//go:build unix

package e2e

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"encoding/json"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/ethclient"
	"github.com/ethereum/go-ethereum/rpc"
	"github.com/stretchr/testify/require"

	"github.com/probitylabs/probity/chain"
	"github.com/probitylabs/probity/circuits"
	"github.com/probitylabs/probity/internal/testenv"
	"github.com/probitylabs/probity/jobs"
	"github.com/probitylabs/probity/prover"
	"github.com/probitylabs/probity/sdk"
	"github.com/probitylabs/probity/tensor"
)

// Token amounts in whole 18-decimal tokens.
func tokens(n int64) *big.Int { return new(big.Int).Mul(big.NewInt(n), big.NewInt(1e18)) }

// party is one account of the network: its key (an anvil development account) and an
// sdk client acting as it.
type party struct {
	hex string
	key *ecdsa.PrivateKey
	c   *sdk.Client
}

func (p party) addr() common.Address { return p.c.Address() }

// TestNetworkThreeProviders runs a small Probity network end to end: anvil as its own
// process, the contracts deployed to it, three provider nodes as separate `probity
// prover` processes and the sdk as the buyer.
//
//   - honest: the reference executor; its job settles, the node withdraws its pay, the
//     buyer authenticates the published receipt (sdk.WaitReceipt) and audits it with
//     `probity verify --json --rpc`.
//   - cheater: a command executor running `probity exec --falsify 1`; the node commits
//     the falsified outputs, cannot prove its own sampled elements and gives up; after
//     the proof deadline a third account slashes the job and earns the bounty.
//   - crashy: SIGKILLed twice, each time restarted with the same config and data
//     directory: while its executor runs (the executor must die with it), and right
//     after its commit is mined and journaled (block production is paused so it is
//     provably stuck there); it resumes from the journal, proves what it committed and
//     gets paid.
//
// A job cannot name its provider (SLAManager.lock takes the first staked caller), so
// exactly one provider process runs whenever a job is posted, and each starts scanning
// at the head when it is created. At the end every token balance, every registry stake
// and the manager's books are checked, and the sum of all balances is the total supply.
func TestNetworkThreeProviders(t *testing.T) {
	t0 := time.Now()
	anvilURL := testenv.StartAnvil(t) // skips without anvil; fails under PROBITY_REQUIRE_TOOLS=1
	bin := probityBinary(t)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()

	rc, err := rpc.DialContext(ctx, anvilURL)
	require.NoError(t, err)
	t.Cleanup(rc.Close)
	ec := ethclient.NewClient(rc)
	mine := newMiner(t, rc, 200*time.Millisecond)

	newParty := func(i int) party {
		k, err := crypto.HexToECDSA(testenv.AnvilDevKeys[i])
		require.NoError(t, err)
		return party{hex: testenv.AnvilDevKeys[i], key: k}
	}
	gov, buyer, honest, cheater, crashy, slasher := newParty(0), newParty(1), newParty(2), newParty(3), newParty(4), newParty(5)
	addrs, err := sdk.Deploy(ctx, ec, gov.key)
	require.NoError(t, err)
	for _, p := range []*party{&gov, &buyer, &honest, &cheater, &crashy, &slasher} {
		p.c, err = sdk.NewClient(ctx, ec, p.key, addrs)
		require.NoError(t, err)
		p.c.PollInterval = 100 * time.Millisecond
	}
	view := newTokenView(ec, addrs)
	supply := view.totalSupply(t, ctx)
	require.Equal(t, supply, view.balance(t, ctx, gov.addr()), "the deployer holds the whole initial supply")

	// Keys for the tiny shape go to a key cache directory shared by the test (which
	// registers the verifying key) and every node (which loads the proving key).
	keysDir := filepath.Join(t.TempDir(), "keys")
	tiny, err := circuits.Lookup("tiny")
	require.NoError(t, err)
	keys, err := circuits.Cache{Dir: keysDir}.Setup(tiny)
	require.NoError(t, err)
	_, err = gov.c.RegisterShape(ctx, tiny, keys.VK)
	require.NoError(t, err)

	// Funding moves governance's tokens (no minting), so the supply stays fixed.
	buyerFunds, provFunds, stake := tokens(1000), tokens(100), tokens(50)
	_, err = gov.c.Chain().Transfer(ctx, buyer.addr(), buyerFunds)
	require.NoError(t, err)
	for _, p := range []party{honest, cheater, crashy} {
		_, err = gov.c.Chain().Transfer(ctx, p.addr(), provFunds)
		require.NoError(t, err)
		registered, err := p.c.Stake(ctx, p.addr(), stake) // node key = provider key
		require.NoError(t, err)
		require.True(t, registered)
	}
	t.Logf("anvil, contracts, tiny keys and three staked providers ready after %v", time.Since(t0).Round(time.Millisecond))

	root := t.TempDir()
	provider := func(name string, p party, ex prover.ExecutorConfig) *providerProc {
		dir := filepath.Join(root, name)
		require.NoError(t, os.MkdirAll(dir, 0o755))
		keyFile := filepath.Join(dir, "provider.key")
		writeKey(t, keyFile, p.hex)
		head, err := ec.BlockNumber(ctx)
		require.NoError(t, err)
		cfg := prover.DefaultConfig()
		cfg.RPCURL = anvilURL
		cfg.Deployment = addrs
		cfg.ProviderKeyFile = keyFile
		cfg.DataDir = filepath.Join(dir, "data")
		cfg.KeysDir = keysDir
		cfg.Shapes = []string{"tiny"}
		cfg.StartBlock = head // jobs posted before this node existed are not its business
		cfg.PollInterval = prover.Duration(100 * time.Millisecond)
		cfg.Executor = ex
		cfg.GPU.Mode = "none"
		cfg.Fetch.AllowFile = true
		cfg.Fetch.Timeout = prover.Duration(10 * time.Second)
		cfg.RPC.BackoffMin, cfg.RPC.BackoffMax = prover.Duration(50*time.Millisecond), prover.Duration(time.Second)
		cfg.Log.Level = "debug"
		return newProvider(t, bin, name, dir, cfg)
	}
	reference := prover.ExecutorConfig{Kind: "reference", Timeout: prover.Duration(time.Minute)}
	// Falsifying every element (not a fraction) makes detection certain: the node's own
	// sampled elements are wrong whatever seed the chain draws.
	falsifying := prover.ExecutorConfig{Kind: "command", Timeout: prover.Duration(time.Minute),
		Command: []string{bin, "exec", "--falsify", "1", "--input", "{input}", "--model", "{model}", "--out", "{out}"}}

	jobsDir := t.TempDir()
	post := func(n uint64, price *big.Int) *sdk.Job {
		dir := filepath.Join(jobsDir, big.NewInt(int64(n)).String())
		require.NoError(t, os.MkdirAll(dir, 0o755))
		in, mf := filepath.Join(dir, "x.safetensors"), filepath.Join(dir, "m.safetensors")
		require.NoError(t, tensor.SaveActivations(in, tensor.RandomInput(n, 5, int(tiny.K))))
		m, err := tensor.RandomModel(n, int(tiny.K), int(tiny.N))
		require.NoError(t, err)
		require.NoError(t, tensor.SaveModel(mf, m))
		// The buyer publishes the files with a manifest (file://, next to which the
		// provider delivers the receipt) and posts the job naming it.
		manifest, err := sdk.Publish(filepath.Join(dir, "pub"), in, mf)
		require.NoError(t, err)
		spec, err := sdk.BuildSpec(in, mf, []string{"tiny"})
		require.NoError(t, err)
		job, err := buyer.c.PostJob(ctx, sdk.JobRequest{InputFile: in, ModelFile: mf, ManifestURI: manifest,
			Shapes: []string{"tiny"}, Price: price,
			LockWindow: 10 * time.Minute, ExecWindow: 10 * time.Minute, ProveWindow: 10 * time.Minute})
		require.NoError(t, err)
		require.Equal(t, sdk.SpecHash(spec), job.SpecHash, "posted spec hash")
		require.Equal(t, manifest, job.ManifestURI)
		return job
	}
	jobOf := func(id *big.Int) chain.Job {
		j, err := buyer.c.Chain().GetJob(ctx, id)
		require.NoError(t, err)
		return j
	}
	// requireRevealed checks that the job's seed was fixed by the buyer's reveal: the seed
	// mixes in the secret the buyer committed to, not the seed block's hash alone.
	requireRevealed := func(job *sdk.Job) {
		t.Helper()
		require.NotEqual(t, [32]byte{}, job.SeedSecret, "PostJob drew a seed secret")
		evs, err := buyer.c.Events(ctx, job.ID)
		require.NoError(t, err)
		for _, e := range evs {
			if sf, ok := e.(sdk.SeedFixed); ok {
				require.True(t, sf.Revealed, "job %s: seed fixed without the buyer's secret", job.ID)
				return
			}
		}
		t.Fatalf("job %s: no SeedFixed event", job.ID)
	}
	// waitReceipt is the buyer's wait, which also reveals the seed secret once the job is
	// committed.
	waitReceipt := func(job *sdk.Job, p party) {
		t.Helper()
		wctx, wcancel := context.WithTimeout(ctx, time.Minute)
		defer wcancel()
		rcpt, err := buyer.c.WaitReceipt(wctx, job.ID)
		require.NoError(t, err, "receipt of job %s", job.ID)
		require.Equal(t, p.addr(), rcpt.Provider)
		require.Zero(t, rcpt.JobID.Big().Cmp(job.ID))
		requireRevealed(job)
	}
	mine.on()

	// 1. The honest provider settles a job and withdraws its pay.
	tp := time.Now()
	honestNode := provider("honest", honest, reference)
	honestNode.start(ctx)
	price1 := tokens(1)
	job1 := post(1, price1)
	waitReceipt(job1, honest)
	honestNode.waitStep(ctx, job1.ID, prover.StepDone, time.Minute)
	honestNode.stop()
	j1 := jobOf(job1.ID)
	require.Equal(t, chain.StateSettled, chain.JobState(j1.State))
	require.Equal(t, honest.addr(), j1.Provider)
	auditCLI(t, ctx, bin, receiptPath(jobsDir, job1), anvilURL, addrs, keys)
	t.Logf("honest job settled, withdrawn and audited in %v", time.Since(tp).Round(time.Millisecond))

	// 2. The cheater commits falsified outputs, fails its own proof and is slashed after
	// the proof deadline by a third party, who earns the bounty.
	tp = time.Now()
	cheaterNode := provider("cheater", cheater, falsifying)
	cheaterNode.start(ctx)
	price2 := tokens(2)
	job2 := post(2, price2)
	// The buyer does not wait for a receipt here, so it reveals by itself.
	revealed2 := make(chan error, 1)
	go func() {
		_, err := buyer.c.RevealSeedWhenReady(ctx, job2.ID, job2.SeedSecret)
		revealed2 <- err
	}()
	rec2 := cheaterNode.waitStep(ctx, job2.ID, prover.StepFailed, time.Minute)
	require.NoError(t, <-revealed2, "the buyer's reveal of job 2")
	requireRevealed(job2)
	require.Contains(t, rec2.Reason, "fails its sample")
	// Every element the executor wrote differs from the true output.
	falsified, err := jobs.LoadOutput(rec2.OutputPaths[0])
	require.NoError(t, err)
	truth := referenceOutput(t, rec2.InputPath, rec2.ModelPath)
	require.Equal(t, len(truth.Data), len(falsified.Data))
	for i := range truth.Data {
		require.NotEqual(t, truth.Data[i], falsified.Data[i], "output element %d was not falsified", i)
	}
	cheaterNode.stop()
	j2 := jobOf(job2.ID)
	require.Equal(t, chain.StateCommitted, chain.JobState(j2.State), "the cheater committed and then gave up")
	require.Equal(t, cheater.addr(), j2.Provider)
	require.NotZero(t, j2.ProveBy, "the proof deadline is set when the seed is fixed")
	_, _, err = slasher.c.Chain().Slash(ctx, job2.ID)
	require.True(t, chain.IsRevert(err, "DeadlineNotPassed"), "slash before the proof deadline: %v", err)
	advancePast(t, ctx, rc, ec, j2.ProveBy)
	slashed, _, err := slasher.c.Chain().Slash(ctx, job2.ID)
	require.NoError(t, err)
	stake2 := j2.Stake
	bounty := new(big.Int).Div(new(big.Int).Mul(stake2, big.NewInt(int64(view.bountyBps(t, ctx)))), big.NewInt(10_000))
	require.Equal(t, cheater.addr(), slashed.Provider)
	require.Equal(t, slasher.addr(), slashed.Caller)
	require.Equal(t, stake2, slashed.Stake)
	require.Equal(t, bounty, slashed.Bounty)
	required, err := buyer.c.Chain().RequiredStake(ctx, price2, tiny.Kn)
	require.NoError(t, err)
	require.Equal(t, required, stake2, "the reserved stake is requiredStake(price, k)")
	_, err = buyer.c.WaitReceipt(ctx, job2.ID)
	require.ErrorIs(t, err, sdk.ErrJobSlashed)
	got, err := slasher.c.Withdraw(ctx)
	require.NoError(t, err)
	require.Equal(t, bounty, got)
	t.Logf("cheater slashed (stake %v, bounty %v) in %v", stake2, bounty, time.Since(tp).Round(time.Millisecond))

	// 3. Two crashes of one node. Its executor is `probity exec` behind a shell that, on
	// its first run only, records its pid and hangs; the node is SIGKILLed while it
	// hangs (journal: locked), and the executor must die with the node rather than run on
	// as an orphan next to the one the restarted node starts. The restarted node executes
	// and commits; with block production paused it cannot get past the seed wait, so the
	// second SIGKILL lands exactly between "committed" and "seeded". The third start
	// resumes from the journal, proves what was committed and gets paid.
	tp = time.Now()
	mine.off()
	crashyNode := provider("crashy", crashy, prover.ExecutorConfig{Kind: "command", Timeout: prover.Duration(time.Minute),
		Command: []string{"sh", "-c", hangOnceScript, "executor", bin, "{input}", "{model}", "{out}"}})
	crashyNode.start(ctx)
	price3 := tokens(3)
	job3 := post(3, price3)
	pidFile := filepath.Join(crashyNode.dataDir, "work", job3.ID.String(), "out.pid")
	var execPID int
	crashyNode.waitFor(ctx, time.Minute, "the executor's pid file", func() bool {
		b, err := os.ReadFile(pidFile)
		if err != nil || !bytes.HasSuffix(b, []byte("\n")) {
			return false
		}
		execPID, err = strconv.Atoi(strings.TrimSpace(string(b)))
		require.NoError(t, err)
		return true
	})
	require.Equal(t, prover.StepLocked, crashyNode.record(job3.ID).Step)
	require.True(t, processAlive(execPID), "executor %d is not running", execPID)
	crashyNode.kill()
	if runtime.GOOS == "linux" {
		requireProcessGone(t, execPID, 10*time.Second)
	} else {
		// Only Linux lets a child die with its parent (prover's dieWithParent).
		_ = syscall.Kill(execPID, syscall.SIGKILL)
	}
	require.Equal(t, chain.StateLocked, chain.JobState(jobOf(job3.ID).State))

	crashyNode.start(ctx)
	require.Contains(t, crashyNode.log(), "resuming job")
	crashyNode.waitStep(ctx, job3.ID, prover.StepCommitted, time.Minute)
	crashyNode.kill()
	j3 := jobOf(job3.ID)
	require.Equal(t, chain.StateCommitted, chain.JobState(j3.State))
	require.Equal(t, crashy.addr(), j3.Provider)
	require.False(t, j3.SeedFixed)
	require.Zero(t, j3.ProveBy, "no proof deadline before the seed is fixed")
	require.Equal(t, prover.StepCommitted, crashyNode.record(job3.ID).Step, "journal after SIGKILL")

	crashyNode.start(ctx)
	require.Contains(t, crashyNode.log(), "resuming job")
	mine.on()
	waitReceipt(job3, crashy)
	crashyNode.waitStep(ctx, job3.ID, prover.StepDone, time.Minute)
	crashyNode.stop()
	require.Equal(t, chain.StateSettled, chain.JobState(jobOf(job3.ID).State))
	auditCLI(t, ctx, bin, receiptPath(jobsDir, job3), anvilURL, addrs, keys)
	t.Logf("twice crashed provider resumed, settled and was audited in %v", time.Since(tp).Round(time.Millisecond))
	mine.off()

	// Each node journaled exactly the one job it was meant to take.
	for _, c := range []struct {
		node *providerProc
		job  *sdk.Job
	}{{honestNode, job1}, {cheaterNode, job2}, {crashyNode, job3}} {
		j, err := prover.OpenJournal(filepath.Join(c.node.dataDir, "jobs"))
		require.NoError(t, err)
		all, err := j.All()
		require.NoError(t, err)
		require.Len(t, all, 1, "%s journal", c.node.name)
		require.Equal(t, c.job.ID.String(), all[0].JobID, "%s journal", c.node.name)
	}

	// The buyer collects the slashed stake (less the bounty) and its escrow back.
	got, err = buyer.c.Withdraw(ctx)
	require.NoError(t, err)
	require.Equal(t, new(big.Int).Sub(new(big.Int).Add(price2, stake2), bounty), got)

	// Every balance.
	sub := func(a *big.Int, bs ...*big.Int) *big.Int {
		r := new(big.Int).Set(a)
		for _, b := range bs {
			r.Sub(r, b)
		}
		return r
	}
	add := func(a *big.Int, bs ...*big.Int) *big.Int {
		r := new(big.Int).Set(a)
		for _, b := range bs {
			r.Add(r, b)
		}
		return r
	}
	want := map[common.Address]*big.Int{
		gov.addr():      sub(supply, buyerFunds, provFunds, provFunds, provFunds),
		buyer.addr():    add(sub(buyerFunds, price1, price3, bounty), stake2), // paid 1 and 3; 2 refunded plus the stake
		honest.addr():   add(sub(provFunds, stake), price1),
		cheater.addr():  sub(provFunds, stake),
		crashy.addr():   add(sub(provFunds, stake), price3),
		slasher.addr():  bounty,
		addrs.Manager:   new(big.Int),                                        // no escrow, no credit left
		addrs.Providers: sub(new(big.Int).Mul(stake, big.NewInt(3)), stake2), // the stakes, less the slashed one
	}
	holders := view.holders(t, ctx)
	total := new(big.Int)
	for a := range holders {
		require.Contains(t, want, a, "unexpected token holder %s", a)
	}
	for a, w := range want {
		b := view.balance(t, ctx, a)
		require.Equal(t, w.String(), b.String(), "token balance of %s", a)
		require.Zero(t, view.credit(t, ctx, a).Sign(), "unwithdrawn credit of %s", a)
		total.Add(total, b)
	}
	require.Equal(t, supply.String(), view.totalSupply(t, ctx).String(), "nothing minted or burned")
	require.Equal(t, supply.String(), total.String(), "the balances add up to the total supply")
	require.Zero(t, view.totalEscrow(t, ctx).Sign())
	require.Zero(t, view.totalCredits(t, ctx).Sign())

	// Registry stakes: released after settlement, slashed for the cheater.
	for _, c := range []struct {
		p    party
		free *big.Int
	}{{honest, stake}, {cheater, sub(stake, stake2)}, {crashy, stake}} {
		s, err := buyer.c.ProviderStake(ctx, c.p.addr())
		require.NoError(t, err)
		require.Equal(t, c.p.addr(), s.NodeKey)
		require.Equal(t, c.free.String(), s.Free.String(), "free stake of %s", c.p.addr())
		require.Zero(t, s.Reserved.Sign(), "reserved stake of %s", c.p.addr())
		require.Zero(t, s.Unbonding.Sign(), "unbonding stake of %s", c.p.addr())
	}
	t.Logf("network test done in %v", time.Since(t0).Round(time.Millisecond))
}

// referenceOutput computes a one-layer job's true output.
func referenceOutput(t *testing.T, inputPath, modelPath string) *tensor.Int8 {
	t.Helper()
	x, err := tensor.LoadActivations(inputPath)
	require.NoError(t, err)
	m, err := tensor.LoadModel(modelPath)
	require.NoError(t, err)
	require.Len(t, m.Layers, 1)
	y, err := tensor.Linear(x, m.Layers[0])
	require.NoError(t, err)
	return y
}

// receiptPath is where the provider published job's receipt: receipts/<id>.json next
// to the manifest post wrote (spec §8.3).
func receiptPath(jobsDir string, job *sdk.Job) string {
	return filepath.Join(jobsDir, job.ID.String(), "pub", "receipts", job.ID.String()+".json")
}

// auditCLI runs `probity verify --json` on a published receipt, as a buyer would: the
// proofs against the registered verifying key, the job cross-checked on chain over RPC,
// this chain and manager required, no GPU evidence (the nodes run with gpu.mode none).
// stdout must be exactly the JSON report, and the report must pass.
func auditCLI(t *testing.T, ctx context.Context, bin, receiptFile, rpcURL string, addrs sdk.Addresses, keys *circuits.Keys) {
	t.Helper()
	dir := t.TempDir()
	vk := filepath.Join(dir, "tiny.vk")
	f, err := os.Create(vk)
	require.NoError(t, err)
	_, err = keys.VK.WriteTo(f)
	require.NoError(t, err)
	require.NoError(t, f.Close())
	dep := filepath.Join(dir, "deployment.json")
	b, err := json.Marshal(addrs)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(dep, b, 0o644))
	cmd := exec.CommandContext(ctx, bin, "verify", "--json", "--vk", vk, "--allow-no-attestation",
		"--chain-id", big.NewInt(testenv.AnvilChainID).String(), "--contract", addrs.Manager.Hex(),
		"--rpc", rpcURL, "--deployment", dep, receiptFile)
	cmd.Env = childEnv()
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()
	require.NoError(t, err, "probity verify %s\nstdout:\n%s\nstderr:\n%s", receiptFile, stdout.String(), stderr.String())
	var rep struct {
		OK bool `json:"ok"`
	}
	out := stdout.String()
	dec := json.NewDecoder(strings.NewReader(out))
	require.NoError(t, dec.Decode(&rep), "probity verify --json stdout is not one JSON report:\n%q", out)
	require.True(t, rep.OK, "report: %s", out)
	require.False(t, dec.More(), "probity verify --json printed more than the report:\n%q", out)
}
