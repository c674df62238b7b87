//go:build unix

package e2e

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"encoding/json"
	"errors"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/ethclient"
	"github.com/ethereum/go-ethereum/rpc"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/probitylabs/probity/chain"
	"github.com/probitylabs/probity/circuits"
	"github.com/probitylabs/probity/circuits/universal"
	"github.com/probitylabs/probity/internal/testenv"
	"github.com/probitylabs/probity/jobs"
	"github.com/probitylabs/probity/models"
	"github.com/probitylabs/probity/prover"
	watcherpkg "github.com/probitylabs/probity/watcher"
)

// units reads a decimal token amount as the CLI prints it ("2.5") in base units.
func units(t *testing.T, s string) *big.Int {
	t.Helper()
	whole, frac, _ := strings.Cut(s, ".")
	require.LessOrEqual(t, len(frac), 18, s)
	v, ok := new(big.Int).SetString(whole+frac+strings.Repeat("0", 18-len(frac)), 10)
	require.True(t, ok, s)
	return v
}

// tokens is n whole tokens in base units.
func tokens(n int64) *big.Int { return new(big.Int).Mul(big.NewInt(n), big.NewInt(1e18)) }

// account is one anvil development account: its key file and address.
type account struct {
	name    string
	keyFile string
	addr    common.Address
}

// asked is what `probity ask --json` prints (the fields the test reads).
type asked struct {
	JobID   string `json:"jobId"`
	JobFile string `json:"jobFile"`
	Offer   string `json:"offer"`
}

// status is what `probity job status --json` prints (the fields the test reads).
type status struct {
	State    string          `json:"state"`
	Provider *common.Address `json:"provider"`
	Stake    string          `json:"stake"`
	Deadline uint64          `json:"deadline"`
	Slashed  *struct {
		Stake  string         `json:"stake"`
		Bounty string         `json:"bounty"`
		Caller common.Address `json:"caller"`
	} `json:"slashed"`
}

// background is a CLI command left running (`probity job wait`): its exit status and
// output once done.
type background struct {
	done         chan struct{}
	code         int
	out, errText string
}

func (c cli) start(ctx context.Context, args ...string) *background {
	c.t.Helper()
	cmd := exec.CommandContext(ctx, c.bin, append(args, c.net...)...)
	cmd.Env = childEnv()
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	require.NoError(c.t, cmd.Start())
	b := &background{done: make(chan struct{})}
	go func() {
		err := cmd.Wait()
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			b.code = ee.ExitCode()
		} else if err != nil {
			b.code = -1
		}
		b.out, b.errText = out.String(), errb.String()
		close(b.done)
	}()
	return b
}

func (b *background) wait(t *testing.T, limit time.Duration) {
	t.Helper()
	select {
	case <-b.done:
	case <-time.After(limit):
		t.Fatalf("background command still running after %v", limit)
	}
}

// TestNetwork runs a small Probity v1 network the way it is deployed: anvil as its own
// process, the contracts deployed with `probity deploy`, the small width class and the
// shipped model registered with `probity class register` and `probity catalogue
// register`, three provider nodes as separate `probity prover --config FILE` processes of
// the real binary, each reading its own order book, and the buyer on the CLI (`probity
// ask --book`, `probity job wait` revealing the seed secret, `job result`, `job receipt`).
//
//   - honest: its job settles; the text read from JobProved is the reference generation's;
//     the node publishes the receipt (authenticated by `job receipt`) and withdraws its pay.
//   - lazy (falsify): commits a corrupted trace, cannot prove it, and is slashed at its proof
//     deadline by a watcher (`probity slash`), who earns the bounty.
//   - targeted (falsify withhold): changes one element of its trace, and so the answer, and
//     does not publish the trace; its sampled proof passes; a `probity watch` process
//     recomputes the job, sees the committed root is not the job's, opens the nodes it needs
//     with data challenges (which the node answers with openings), names the element,
//     challenges it, the node cannot answer, and after the response window the watcher
//     enforces the challenge: the node is slashed, the watcher earns the bounty.
//   - crashy: SIGKILLed right after its lockAndCommit is mined and journaled (block production
//     is paused, so it is provably stuck there), restarted on the same data directory; it
//     resumes, proves what it committed and is paid, never slashed.
//
// At the end every token balance (buyer, watcher, the three providers, governance, the
// provider registry, the SLA manager) is checked against its exact expected delta, and the
// balances of every holder sum to the total supply.
//
// The small class's keys are set up in the user's key cache once (about two minutes); under
// -short the test runs only when they are there already (`make demo` or `probity setup
// --class small` puts them there), except under PROBITY_REQUIRE_TOOLS=1 (make test, CI),
// where it sets them up.
func TestNetwork(t *testing.T) {
	t0 := time.Now()
	anvilURL := testenv.StartAnvil(t) // skips without anvil; fails under PROBITY_REQUIRE_TOOLS=1
	cl := universal.Small()
	cache, err := circuits.DefaultCache()
	require.NoError(t, err)
	for _, target := range []circuits.Target{cl, universal.TargetedClass{Class: cl}} {
		if _, err := os.Stat(filepath.Join(cache.EntryDir(target), "checksums")); err != nil {
			// CI (make test sets PROBITY_REQUIRE_TOOLS=1) sets the keys up rather than skip: the
			// cache's lock makes the demo's test and this one share one setup.
			if testing.Short() && os.Getenv("PROBITY_REQUIRE_TOOLS") != "1" {
				t.Skipf("the keys of %s are not in %s (setup about 2 min once: `probity setup --class small`); run without -short to set them up", target, cache.Dir)
			}
			_, err := cache.Setup(target)
			require.NoError(t, err)
		}
	}
	bin := probityBinary(t)
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()

	rc, err := rpc.DialContext(ctx, anvilURL)
	require.NoError(t, err)
	t.Cleanup(rc.Close)
	ec := ethclient.NewClient(rc)
	mine := newMiner(t, rc, 200*time.Millisecond)
	mine.on()

	dir := t.TempDir()
	acct := func(name string, i int) account {
		path := filepath.Join(dir, name+".key")
		writeKey(t, path, testenv.AnvilDevKeys[i])
		k, err := crypto.HexToECDSA(testenv.AnvilDevKeys[i])
		require.NoError(t, err)
		return account{name: name, keyFile: path, addr: crypto.PubkeyToAddress(k.PublicKey)}
	}
	gov, buyer, watcher := acct("gov", 0), acct("buyer", 1), acct("watcher", 2)
	honest, lazy, crashy, targeted := acct("honest", 3), acct("lazy", 4), acct("crashy", 5), acct("targeted", 6)
	dep := filepath.Join(dir, "deployment.json")
	c := cli{t: t, bin: bin, net: []string{"--rpc", anvilURL, "--deployment", dep}}
	modelFile, err := filepath.Abs("../models/kjv-gpt2.safetensors")
	require.NoError(t, err)

	// Governance: deploy, register the class (its verifier from the cached keys) and the model.
	code, out, errs := c.run(ctx, "deploy", "--rpc", anvilURL, "--key", gov.keyFile, "--out", dep)
	require.Equal(t, 0, code, out+errs)
	addrs, err := chain.ReadAddresses(dep)
	require.NoError(t, err)
	c.ok(ctx, "class", "register", "--class", "small", "--key", gov.keyFile)
	c.ok(ctx, "catalogue", "register", "--model", modelFile, "--class", "small", "--uri", "probity:models/kjv-gpt2", "--key", gov.keyFile)
	for _, a := range []account{buyer, watcher, honest, lazy, crashy, targeted} {
		c.ok(ctx, "mint", "--to", a.addr.Hex(), "--amount", "10000", "--key", gov.keyFile)
	}
	view := newTokenView(ec, addrs)
	everyone := []account{gov, buyer, watcher, honest, lazy, crashy, targeted,
		{name: "provider registry", addr: addrs.Providers}, {name: "SLA manager", addr: addrs.Manager},
		{name: "challenges", addr: addrs.Challenges}}
	before := map[string]*big.Int{}
	for _, a := range everyone {
		before[a.name] = view.balance(t, ctx, a.addr)
	}

	// Providers stake (node key: the account itself); the buyer deposits for three offers.
	const stake, price = 1000, 1
	ro, err := chain.NewMarket(ctx, ec, addrs, mustKey(t))
	require.NoError(t, err)
	need, err := ro.RequiredStake(ctx, tokens(price), 1)
	require.NoError(t, err)
	require.LessOrEqual(t, need.Cmp(tokens(stake)), 0, "a stake of %d tokens must cover a job of price %d (needs %s)", stake, price, need)
	for _, p := range []account{honest, lazy, crashy, targeted} {
		c.ok(ctx, "stake", "--amount", "1000", "--key", p.keyFile)
	}
	c.ok(ctx, "deposit", "--amount", "4", "--key", buyer.keyFile)

	// The nodes: the honest one measures the class first (its self-test proves one job); the
	// others reuse that measurement of this machine rather than each proving one more.
	nodes := map[string]*providerProc{}
	books := map[string]string{}
	for _, p := range []account{honest, lazy, crashy, targeted} {
		pdir := filepath.Join(dir, p.name)
		books[p.name] = filepath.Join(pdir, "book")
		require.NoError(t, os.MkdirAll(books[p.name], 0o755))
		cfg := prover.DefaultConfig()
		cfg.RPCURL, cfg.DeploymentFile, cfg.ProviderKeyFile = anvilURL, dep, p.keyFile
		cfg.DataDir, cfg.Classes, cfg.Models = filepath.Join(pdir, "data"), []string{"small"}, []string{modelFile}
		cfg.OrderBooks, cfg.MinPrice = []string{"file://" + books[p.name]}, "1"
		cfg.PollInterval = prover.Duration(200 * time.Millisecond)
		cfg.Withdraw, cfg.PublishReceipts = true, true
		switch p.name {
		case "lazy":
			cfg.Falsify = prover.FalsifyLazy
		case "targeted":
			cfg.Falsify = prover.FalsifyWithhold
		}
		cfg.GPU.Mode, cfg.Fetch.AllowFile, cfg.Log.Format = "none", true, "text"
		require.NoError(t, os.MkdirAll(cfg.DataDir, 0o755))
		nodes[p.name] = newProvider(t, bin, p.name, pdir, cfg)
	}
	nodes["honest"].start(ctx)
	est, err := os.ReadFile(filepath.Join(nodes["honest"].dataDir, "estimates.json"))
	require.NoError(t, err)
	for _, name := range []string{"lazy", "crashy", "targeted"} {
		require.NoError(t, os.WriteFile(filepath.Join(nodes[name].dataDir, "estimates.json"), est, 0o644))
		nodes[name].start(ctx)
	}
	// The watcher reads every order book (the chain does not carry an offer's job URI).
	wcfg := watcherpkg.DefaultConfig()
	wcfg.RPCURL, wcfg.DeploymentFile, wcfg.KeyFile = anvilURL, dep, watcher.keyFile
	wcfg.DataDir, wcfg.Models = filepath.Join(dir, "watcher", "data"), []string{modelFile}
	for _, b := range books {
		wcfg.OrderBooks = append(wcfg.OrderBooks, "file://"+b)
	}
	wcfg.PollInterval, wcfg.ChallengeMargin, wcfg.AllowFile = prover.Duration(200*time.Millisecond), 0, true
	require.NoError(t, os.MkdirAll(wcfg.DataDir, 0o755))
	watch := newWatcher(t, bin, filepath.Join(dir, "watcher"), wcfg)
	watch.start(ctx)
	t.Logf("network up in %v", time.Since(t0).Round(time.Second))

	buyerDir := filepath.Join(dir, "buyer")
	ask := func(to, prompt string, extra ...string) asked {
		t.Helper()
		var a asked
		c.json(ctx, &a, append([]string{"ask", "--model", modelFile, "--prompt", prompt, "--tokens", "8", "--price", "1",
			"--book", "file://" + books[to], "--buyer-dir", buyerDir, "--key", buyer.keyFile}, extra...)...)
		require.FileExists(t, a.Offer)
		return a
	}
	wait := func(id string) *background {
		return c.start(ctx, "job", "wait", id, "--buyer-dir", buyerDir, "--key", buyer.keyFile, "--json")
	}
	const honestPrompt, crashPrompt = "And God said, ", "In the beginning "

	// Honest and lazy at once.
	hJob, lJob := ask("honest", honestPrompt), ask("lazy", "And the earth ")
	hWait, lWait := wait(hJob.JobID), wait(lJob.JobID)
	hID, lID := jobID(t, hJob.JobID), jobID(t, lJob.JobID)
	nodes["honest"].waitStep(ctx, hID, prover.StepDone, 3*time.Minute)
	hWait.wait(t, 30*time.Second)
	require.Equal(t, 0, hWait.code, hWait.out+hWait.errText)
	var res struct {
		Text     *string        `json:"text"`
		Provider common.Address `json:"provider"`
	}
	require.NoError(t, json.Unmarshal([]byte(hWait.out), &res), hWait.out)
	want := reference(t, honestPrompt, 8)
	require.NotNil(t, res.Text)
	assert.Equal(t, want, *res.Text, "the text job wait read from JobProved is the reference generation's")
	assert.Equal(t, honest.addr, res.Provider)
	assert.Contains(t, hWait.errText, "seed revealed", "job wait revealed the buyer's secret")
	assert.Equal(t, want+"\n", c.ok(ctx, "job", "result", hJob.JobID), "job result reads the same text from the chain")
	receiptFile := filepath.Join(dir, "honest-receipt.json")
	c.ok(ctx, "job", "receipt", hJob.JobID, "--buyer-dir", buyerDir, "--wait", "30s", "--out", receiptFile)
	require.FileExists(t, receiptFile)
	var hs status
	c.json(ctx, &hs, "job", "status", hJob.JobID)
	assert.Equal(t, "Settled", hs.State)
	t.Logf("honest job settled at %v: %q", time.Since(t0).Round(time.Second), honestPrompt+*res.Text)

	lr := nodes["lazy"].waitStep(ctx, lID, prover.StepFailed, 2*time.Minute)
	t.Logf("lazy node gave up: %s", lr.Reason)
	var ls status
	c.json(ctx, &ls, "job", "status", lJob.JobID)
	require.Equal(t, "Committed", ls.State)
	require.NotNil(t, ls.Provider)
	assert.Equal(t, lazy.addr, *ls.Provider)
	lazyStake := units(t, ls.Stake)
	code, _, errs = c.run(ctx, append([]string{"slash", lJob.JobID, "--key", watcher.keyFile}, c.net...)...)
	assert.Equal(t, 1, code, "no slash before the deadline")
	assert.Contains(t, errs, "DeadlineNotPassed")

	// Crashy: block production paused, so after its lockAndCommit the node waits for the seed
	// block; it is killed there and restarted on the same data directory.
	mine.off()
	cJob := ask("crashy", crashPrompt)
	cWait := wait(cJob.JobID)
	cID := jobID(t, cJob.JobID)
	nodes["crashy"].waitStep(ctx, cID, prover.StepCommitted, 2*time.Minute)
	nodes["crashy"].kill()
	require.Equal(t, prover.StepCommitted, nodes["crashy"].record(cID).Step)
	var cs status
	c.json(ctx, &cs, "job", "status", cJob.JobID)
	require.Equal(t, "Committed", cs.State)
	nodes["crashy"].start(ctx)
	nodes["crashy"].waitLog(ctx, "resuming job", 30*time.Second)
	mine.on()
	nodes["crashy"].waitStep(ctx, cID, prover.StepDone, 3*time.Minute)
	cWait.wait(t, 30*time.Second)
	require.Equal(t, 0, cWait.code, cWait.out+cWait.errText)
	assert.Equal(t, reference(t, crashPrompt, 8)+"\n", c.ok(ctx, "job", "result", cJob.JobID))
	c.json(ctx, &cs, "job", "status", cJob.JobID)
	assert.Equal(t, "Settled", cs.State)
	assert.Nil(t, cs.Slashed, "the restarted node is never slashed")
	t.Logf("crashy job settled after the restart at %v", time.Since(t0).Round(time.Second))

	// Targeted: the node changes one logits element (and so the last token) and withholds its
	// trace; its sampled proof passes; the watcher searches the commitment with data
	// challenges, challenges the element, the node cannot answer, and after the response
	// window the watcher enforces: slashed.
	const targetedPrompt = "And the LORD "
	tJob := ask("targeted", targetedPrompt, "--challenge-window", "1h")
	tWait := wait(tJob.JobID)
	tID := jobID(t, tJob.JobID)
	tr := watch.waitStatus(ctx, tID, watcherpkg.StatusChallenged, 3*time.Minute)
	e, err := tr.Fault()
	require.NoError(t, err)
	require.NotEmpty(t, tr.Data, "the withheld trace was searched with data challenges")
	t.Logf("watcher challenged %s of the targeted job (%s) after %d data challenges at %v", e, tr.Reason, len(tr.Data), time.Since(t0).Round(time.Second))
	assert.NotEqual(t, reference(t, targetedPrompt, 8)+"\n", c.ok(ctx, "job", "result", tJob.JobID), "the targeted provider changed the answer")
	nodes["targeted"].waitLog(ctx, "could not answer the challenge", 2*time.Minute)
	advancePast(t, ctx, rc, ec, tr.RespondBy)
	watch.waitStatus(ctx, tID, watcherpkg.StatusUpheld, time.Minute)
	nodes["targeted"].waitStep(ctx, tID, prover.StepSlashed, time.Minute)
	var ts status
	c.json(ctx, &ts, "job", "status", tJob.JobID)
	require.Equal(t, "Slashed", ts.State)
	require.NotNil(t, ts.Slashed)
	assert.Equal(t, watcher.addr, ts.Slashed.Caller)
	targetedStake, targetedBounty := units(t, ts.Slashed.Stake), units(t, ts.Slashed.Bounty)
	tWait.wait(t, 30*time.Second)
	watch.stop() // it has withdrawn its bond and bounty; the CLI uses its key next

	// The lazy job's proof deadline passes; the watcher slashes it for the bounty.
	c.json(ctx, &ls, "job", "status", lJob.JobID)
	advancePast(t, ctx, rc, ec, ls.Deadline)
	c.ok(ctx, "slash", lJob.JobID, "--key", watcher.keyFile)
	lWait.wait(t, 30*time.Second)
	assert.Equal(t, 1, lWait.code, "job wait of a slashed job: %s", lWait.errText)
	assert.Contains(t, lWait.errText, "slashed")
	c.json(ctx, &ls, "job", "status", lJob.JobID)
	require.Equal(t, "Slashed", ls.State)
	require.NotNil(t, ls.Slashed)
	assert.Equal(t, watcher.addr, ls.Slashed.Caller)
	assert.Equal(t, lazyStake, units(t, ls.Slashed.Stake))
	params, err := ro.Params(ctx)
	require.NoError(t, err)
	bounty := new(big.Int).Div(new(big.Int).Mul(lazyStake, big.NewInt(int64(params.BountyBps))), big.NewInt(10000))
	assert.Equal(t, bounty, units(t, ls.Slashed.Bounty), "bounty = stake x bountyBps")

	// Everyone collects; the nodes stop cleanly.
	c.ok(ctx, "withdraw", "--key", buyer.keyFile)
	c.ok(ctx, "withdraw", "--key", watcher.keyFile)
	for _, name := range []string{"honest", "lazy", "crashy", "targeted"} {
		nodes[name].stop()
	}

	p, s := tokens(price), tokens(stake)
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
	want3 := map[string]*big.Int{
		// Four prices out; the slashed ones back with the stakes less the bounties.
		"buyer": add(sub(before["buyer"], p, p, p, p), p, sub(lazyStake, bounty), p, sub(targetedStake, targetedBounty)),
		// The data challenges' bonds were held until the targeted job was slashed, then
		// released back to the watcher.
		"watcher":  add(before["watcher"], bounty, targetedBounty),
		"gov":      before["gov"],
		"honest":   add(sub(before["honest"], s), p),
		"crashy":   add(sub(before["crashy"], s), p),
		"lazy":     sub(before["lazy"], s),
		"targeted": sub(before["targeted"], s),
		// The four stakes, less the slashed reservations; the manager and the challenge
		// contract hold nothing (the watcher's bonds came back).
		"provider registry": sub(add(before["provider registry"], s, s, s, s), lazyStake, targetedStake),
		"SLA manager":       before["SLA manager"],
		"challenges":        before["challenges"],
	}
	total := new(big.Int)
	for _, a := range everyone {
		got := view.balance(t, ctx, a.addr)
		assert.Equal(t, want3[a.name].String(), got.String(), "%s's token balance", a.name)
		total.Add(total, got)
	}
	for h := range view.holders(t, ctx) {
		known := false
		for _, a := range everyone {
			known = known || a.addr == h
		}
		assert.True(t, known, "an unexpected holder %s", h.Hex())
	}
	assert.Equal(t, view.totalSupply(t, ctx).String(), total.String(), "the balances of every holder sum to the supply")
	t.Logf("done in %v", time.Since(t0).Round(time.Second))
}

// reference is the shipped model's argmax continuation of prompt, generated here.
func reference(t *testing.T, prompt string, n int) string {
	t.Helper()
	m, err := models.KJV()
	require.NoError(t, err)
	root, err := m.Root()
	require.NoError(t, err)
	checked, err := (&jobs.GenJob{ModelRoot: root, Prompt: jobs.ByteTokens([]byte(prompt)), New: n}).Check(m)
	require.NoError(t, err)
	_, toks, err := checked.Generate()
	require.NoError(t, err)
	text, ok := jobs.ByteText(toks)
	require.True(t, ok)
	return text
}

func jobID(t *testing.T, s string) *big.Int {
	t.Helper()
	id, ok := new(big.Int).SetString(s, 10)
	require.True(t, ok, s)
	return id
}

func mustKey(t *testing.T) *ecdsa.PrivateKey {
	t.Helper()
	k, err := crypto.GenerateKey()
	require.NoError(t, err)
	return k
}
