package main

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"io"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
	gethrpc "github.com/ethereum/go-ethereum/rpc"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/probitylabs/probity/chain"
	"github.com/probitylabs/probity/circuits"
	"github.com/probitylabs/probity/internal/testenv"
	"github.com/probitylabs/probity/protocol"
	"github.com/probitylabs/probity/prover"
	"github.com/probitylabs/probity/sdk"
	"github.com/probitylabs/probity/tensor"
)

// writeKey writes one of anvil's development keys as a key file and returns its path and address.
func writeKey(t *testing.T, dir string, i int) (string, string) {
	t.Helper()
	path := filepath.Join(dir, "key"+string(rune('0'+i)))
	require.NoError(t, os.WriteFile(path, []byte("0x"+testenv.AnvilDevKeys[i]+"\n"), 0o600))
	k, err := crypto.HexToECDSA(testenv.AnvilDevKeys[i])
	require.NoError(t, err)
	return path, crypto.PubkeyToAddress(k.PublicKey).Hex()
}

// A network by hand on a real anvil, through the CLI: deploy, register the tiny shape from a
// key cache, mint, stake, post, status, cancel, withdraw; reverts come back as exit 1 naming
// the contract's error.
func TestNetworkByHand(t *testing.T) {
	// Interval mining on top of automine: the challenge seed is a block mined after the
	// commit, which a chain that mines only on transactions would never produce.
	rpc := testenv.StartAnvil(t, "--block-time", "1", "--mixed-mining")
	dir := t.TempDir()
	gov, govAddr := writeKey(t, dir, 0)
	prov, provAddr := writeKey(t, dir, 1)
	buyer, buyerAddr := writeKey(t, dir, 2)
	dep := filepath.Join(dir, "deployment.json")
	keys := filepath.Join(dir, "keys")
	net := func(args ...string) []string { return append(args, "--rpc", rpc, "--deployment", dep) }

	code, out, errs := runCLI(t, "deploy", "--rpc", rpc, "--key", gov, "--out", dep)
	require.Equal(t, exitOK, code, errs)
	addrs, err := loadDeployment(dep)
	require.NoError(t, err)
	assert.Contains(t, out, addrs.Manager.Hex())
	before, err := os.ReadFile(dep)
	require.NoError(t, err)
	code, _, errs = runCLI(t, "deploy", "--rpc", rpc, "--key", gov, "--out", dep)
	assert.Equal(t, exitInternal, code)
	assert.Contains(t, errs, dep+" already exists")
	after, _ := os.ReadFile(dep)
	assert.Equal(t, before, after, "deploy must not clobber a deployment file")

	// Keys from a temporary cache; a missing entry names the way out.
	code, _, errs = runCLI(t, net("shape", "register", "--shape", "tiny", "--keys-dir", keys, "--key", gov)...)
	assert.Equal(t, exitInternal, code)
	assert.Contains(t, errs, "probity setup --shape tiny")
	code, _, errs = runCLI(t, "setup", "--shape", "tiny", "--dir", keys)
	require.Equal(t, exitOK, code, errs)
	code, out, errs = runCLI(t, net("shape", "register", "--shape", "tiny", "--keys-dir", keys, "--key", gov)...)
	require.Equal(t, exitOK, code, errs)
	assert.Contains(t, out, "registered tiny")
	code, _, errs = runCLI(t, net("shape", "register", "--shape", "tiny", "--keys-dir", keys, "--key", gov)...)
	assert.Equal(t, exitFailed, code)
	assert.Contains(t, errs, "ShapeAlreadyRegistered")

	code, out, errs = runCLI(t, net("mint", "--to", provAddr, "--amount", "1000", "--key", gov)...)
	require.Equal(t, exitOK, code, errs)
	assert.Contains(t, out, "balance 1000")
	code, _, errs = runCLI(t, net("mint", "--to", buyerAddr, "--amount", "100.5", "--key", gov)...)
	require.Equal(t, exitOK, code, errs)
	// Only the token's owner mints: OpenZeppelin's error, decoded.
	code, _, errs = runCLI(t, net("mint", "--to", buyerAddr, "--amount", "1", "--key", buyer)...)
	assert.Equal(t, exitFailed, code)
	assert.Contains(t, errs, "OwnableUnauthorizedAccount")

	code, out, errs = runCLI(t, net("stake", "--amount", "100", "--key", prov)...)
	require.Equal(t, exitOK, code, errs)
	assert.Contains(t, out, "registered with node key "+provAddr)
	t.Setenv(keyFileEnv, prov) // the key from the environment
	code, out, errs = runCLI(t, net("stake", "--amount", "0.25")...)
	require.Equal(t, exitOK, code, errs)
	assert.Contains(t, out, "added 0.25; free stake 100.25")
	code, _, errs = runCLI(t, net("unbond", "--amount", "1000")...)
	assert.Equal(t, exitFailed, code)
	assert.Contains(t, errs, "InsufficientFreeStake")
	code, out, errs = runCLI(t, net("unbond", "--amount", "0.25")...)
	require.Equal(t, exitOK, code, errs)
	assert.Contains(t, out, "unbonding 0.25 (free 100)")
	code, _, errs = runCLI(t, net("unbond", "--withdraw")...)
	assert.Equal(t, exitFailed, code)
	assert.Contains(t, errs, "UnbondingNotReady")
	code, out, errs = runCLI(t, net("balance", "--json")...)
	require.Equal(t, exitOK, code, errs)
	var bal balanceReport
	require.NoError(t, json.Unmarshal([]byte(out), &bal), out)
	assert.Equal(t, balanceReport{Account: bal.Account, Token: "899.75", Credit: "0", Stake: &stakeReport{
		NodeKey: bal.Account, Free: "100", Reserved: "0", Unbonding: "0.25", UnbondReadyAt: bal.Stake.UnbondReadyAt}}, bal)
	assert.Equal(t, provAddr, bal.Account.Hex())
	t.Setenv(keyFileEnv, "")

	// A tiny job: 5 rows, 16 -> 4.
	code, out, errs = runCLI(t, "random-job", "--shapes", "tiny", "--rows", "5", "--seed", "3", "--out", filepath.Join(dir, "job"))
	require.Equal(t, exitOK, code, errs)
	in, mf := filepath.Join(dir, "job", "input.safetensors"), filepath.Join(dir, "job", "model.safetensors")
	x, err := tensor.LoadActivations(in)
	require.NoError(t, err)
	assert.Equal(t, []int{5, 16}, x.Shape)
	code, out, errs = runCLI(t, net("post", "--input", in, "--model", mf, "--shapes", "tiny", "--price", "2.5",
		"--publish-dir", filepath.Join(dir, "pub"), "--key", buyer, "--json")...)
	require.Equal(t, exitOK, code, errs)
	var posted postReport
	require.NoError(t, json.Unmarshal([]byte(out), &posted), out)
	assert.Equal(t, "1", posted.JobID)
	assert.Equal(t, "2.5", posted.Price)
	assert.EqualValues(t, 2, posted.Kmin)
	assert.NotEqual(t, "0", posted.RequiredStake)
	assert.True(t, strings.HasPrefix(posted.ManifestURI, "file://"), posted.ManifestURI)
	assert.FileExists(t, filepath.Join(dir, "pub", "manifest.json"))
	// The seed secret sits beside the published directory, owner-only, and is the one the
	// job committed to.
	assert.Equal(t, filepath.Join(dir, "pub.seed-secret"), posted.SeedSecretFile)
	fi, err := os.Stat(posted.SeedSecretFile)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm())

	code, out, errs = runCLI(t, net("job", "status", "1", "--json")...)
	require.Equal(t, exitOK, code, errs)
	var st jobReport
	require.NoError(t, json.Unmarshal([]byte(out), &st), out)
	assert.Equal(t, "Open", st.State)
	assert.Equal(t, buyerAddr, st.Buyer.Hex())
	assert.Equal(t, posted.SpecHash, st.SpecHash)
	assert.Equal(t, posted.ManifestURI, st.InputURI)
	assert.Nil(t, st.Provider)
	secret, err := readSeedSecret(posted.SeedSecretFile)
	require.NoError(t, err)
	commitment := protocol.SeedCommitment(secret)
	assert.Equal(t, "0x"+hex.EncodeToString(commitment[:]), st.SeedCommitment)
	code, out, errs = runCLI(t, net("job", "status", "1")...)
	require.Equal(t, exitOK, code, errs)
	assert.Contains(t, out, "state          Open")
	assert.NotContains(t, out, "prove by", "no proof deadline before the seed is fixed")
	// Searching from a later start block (at or before the post) finds the same job.
	code, out, errs = runCLI(t, net("job", "status", "1", "--from-block", "1", "--json")...)
	require.Equal(t, exitOK, code, errs)
	var from jobReport
	require.NoError(t, json.Unmarshal([]byte(out), &from), out)
	assert.Equal(t, st.SpecHash, from.SpecHash)
	assert.Equal(t, st.InputURI, from.InputURI)
	code, _, errs = runCLI(t, net("job", "status", "9")...)
	assert.Equal(t, exitFailed, code)
	assert.Contains(t, errs, "job 9 does not exist")

	// Slashing an open job and cancelling someone else's are the contract's no.
	code, _, errs = runCLI(t, net("slash", "1", "--key", prov)...)
	assert.Equal(t, exitFailed, code)
	assert.Contains(t, errs, "WrongState")
	code, _, errs = runCLI(t, net("job", "cancel", "1", "--key", prov)...)
	assert.Equal(t, exitFailed, code)
	assert.Contains(t, errs, "Unauthorized")
	code, out, errs = runCLI(t, net("job", "cancel", "1", "--key", buyer)...)
	require.Equal(t, exitOK, code, errs)
	assert.Contains(t, out, "now 2.5")
	code, _, errs = runCLI(t, net("job", "cancel", "1", "--key", buyer)...)
	assert.Equal(t, exitFailed, code)
	assert.Contains(t, errs, "job 1 is Cancelled")
	assert.Contains(t, errs, "reverted with WrongState")
	code, _, errs = runCLI(t, net("job", "wait", "1")...)
	assert.Equal(t, exitFailed, code)
	assert.Contains(t, errs, "job was cancelled")

	code, out, errs = runCLI(t, net("withdraw", "--key", buyer)...)
	require.Equal(t, exitOK, code, errs)
	assert.Contains(t, out, "withdrew 2.5")
	code, out, errs = runCLI(t, net("balance", buyerAddr)...)
	require.Equal(t, exitOK, code, errs)
	assert.Contains(t, out, "token     100.5\ncredit    0\nstake     not a registered provider")
	code, _, errs = runCLI(t, net("withdraw", "--key", buyer)...)
	assert.Equal(t, exitFailed, code)
	assert.Contains(t, errs, "NothingToWithdraw")

	// A provider node (in-process, through `probity prover`) serves the next job; the buyer's
	// `job wait` authenticates the receipt and `verify --rpc` audits it against the chain.
	cfg := filepath.Join(dir, "prover.json")
	require.NoError(t, writeJSONFile(cfg, map[string]any{
		"rpcUrl": rpc, "deployment": addrs, "providerKeyFile": prov, "dataDir": filepath.Join(dir, "prover-data"),
		"keysDir": keys, "shapes": []string{"tiny"}, "pollInterval": "100ms", "gpu": map[string]any{"mode": "none"},
		"fetch": map[string]any{"allowFile": true}, "log": map[string]any{"level": "warn"},
	}))
	proverCtx, stopProver := context.WithCancel(context.Background())
	proverDone := make(chan int, 1)
	var proverLog bytes.Buffer
	go func() { proverDone <- run(proverCtx, []string{"prover", "--config", cfg}, io.Discard, &proverLog) }()
	code, out, errs = runCLI(t, net("post", "--input", in, "--model", mf, "--shapes", "tiny", "--price", "1",
		"--publish-dir", filepath.Join(dir, "pub2"), "--key", buyer)...)
	require.Equal(t, exitOK, code, errs)
	assert.Contains(t, out, "job            2\n")
	assert.Contains(t, out, "seed secret    "+filepath.Join(dir, "pub2.seed-secret"))
	rcFile := filepath.Join(dir, "receipt.json")
	// The buyer's wait finds the secret beside pub2 and reveals it once the node committed.
	code, out, errs = runCLI(t, net("job", "wait", "2", "--out", rcFile, "--timeout", "60s", "--poll", "100ms", "--key", buyer)...)
	stopProver()
	assert.Equal(t, exitOK, <-proverDone, proverLog.String())
	require.Equal(t, exitOK, code, errs+proverLog.String())
	assert.Contains(t, out, "job 2 settled; receipt digest")
	assert.Contains(t, out, "seed: revealed by buyer")
	assert.Contains(t, errs, "revealing the seed secret from "+filepath.Join(dir, "pub2.seed-secret"))
	code, out, errs = runCLI(t, net("job", "status", "2", "--json")...)
	require.Equal(t, exitOK, code, errs)
	require.NoError(t, json.Unmarshal([]byte(out), &st), out)
	assert.Equal(t, "Settled", st.State)
	assert.Equal(t, provAddr, st.Provider.Hex())
	assert.Len(t, st.OutputRoots, 1)
	assert.NotEmpty(t, st.Seed)
	require.NotNil(t, st.SeedRevealed)
	assert.True(t, *st.SeedRevealed)
	assert.NotZero(t, st.ProveBy)
	assert.NotEmpty(t, st.ReceiptDigest)
	assert.Contains(t, out, st.ReceiptDigest)
	code, out, errs = runCLI(t, "verify", "--allow-no-attestation", "--vk", filepath.Join(keyEntry(t, keys, "tiny"), "vk"),
		"--rpc", rpc, "--deployment", dep, rcFile)
	require.Equal(t, exitOK, code, out+errs)
	assert.Contains(t, out, "job settled on chain")

	// A provider that locks and never commits is slashed once the commit deadline passed.
	code, _, errs = runCLI(t, net("post", "--input", in, "--model", mf, "--shapes", "tiny", "--price", "1",
		"--publish-dir", filepath.Join(dir, "pub3"), "--exec-window", "60s", "--key", buyer)...)
	require.Equal(t, exitOK, code, errs)
	pk, err := prover.ReadKeyFile(prov)
	require.NoError(t, err)
	pc, err := sdk.Connect(context.Background(), rpc, pk, addrs)
	require.NoError(t, err)
	_, _, err = pc.Chain().Lock(context.Background(), big.NewInt(3))
	require.NoError(t, err)
	code, _, errs = runCLI(t, net("slash", "3", "--key", buyer)...)
	assert.Equal(t, exitFailed, code)
	assert.Contains(t, errs, "DeadlineNotPassed")
	rc, err := gethrpc.Dial(rpc)
	require.NoError(t, err)
	require.NoError(t, rc.Call(nil, "evm_increaseTime", 120))
	require.NoError(t, rc.Call(nil, "evm_mine"))
	defer rc.Close()
	code, out, errs = runCLI(t, net("slash", "3", "--key", buyer)...)
	require.Equal(t, exitOK, code, errs)
	assert.Contains(t, out, "slashed job 3: provider "+provAddr+" lost ")
	code, out, errs = runCLI(t, net("job", "status", "3")...)
	require.Equal(t, exitOK, code, errs)
	assert.Contains(t, out, "state          Slashed")
	code, _, errs = runCLI(t, net("job", "wait", "3")...)
	assert.Equal(t, exitFailed, code)
	assert.Contains(t, errs, "job was slashed")
	code, _, errs = runCLI(t, net("job", "wait", "9")...)
	assert.Equal(t, exitFailed, code)
	assert.Contains(t, errs, "job 9 does not exist")
	// The slashed stake and the bounty are the buyer's credit; it goes to another address.
	code, out, errs = runCLI(t, net("withdraw", "--to", govAddr, "--key", buyer)...)
	require.Equal(t, exitOK, code, errs)
	assert.Contains(t, out, " to "+govAddr)

	// A committed job waits for the buyer's reveal: no proof deadline yet; `job reveal` fixes
	// the seed with the secret and starts the proof window.
	code, _, errs = runCLI(t, net("post", "--input", in, "--model", mf, "--shapes", "tiny", "--price", "1",
		"--publish-dir", filepath.Join(dir, "pub-reveal"), "--key", buyer)...)
	require.Equal(t, exitOK, code, errs)
	_, _, err = pc.Chain().Lock(context.Background(), big.NewInt(4))
	require.NoError(t, err)
	_, _, err = pc.Chain().Commit(context.Background(), big.NewInt(4), []*big.Int{big.NewInt(42)}, [32]byte{1})
	require.NoError(t, err)
	code, out, errs = runCLI(t, net("job", "status", "4")...)
	require.Equal(t, exitOK, code, errs)
	assert.Contains(t, out, "state          Committed")
	assert.Regexp(t, `seed +waiting for reveal until block \d+`, out)
	assert.NotContains(t, out, "prove by")
	code, _, errs = runCLI(t, net("job", "reveal", "4", "--seed-secret-file", posted.SeedSecretFile, "--key", buyer)...)
	assert.Equal(t, exitInternal, code)
	assert.Contains(t, errs, "does not hold the seed secret of job 4")
	code, out, errs = runCLI(t, net("job", "reveal", "4", "--key", buyer, "--poll", "100ms", "--timeout", "30s")...)
	require.Equal(t, exitOK, code, errs)
	assert.Contains(t, out, "seed of job 4 revealed by buyer at block")
	code, out, errs = runCLI(t, net("job", "status", "4")...)
	require.Equal(t, exitOK, code, errs)
	assert.Contains(t, out, "seed source    revealed by buyer")
	assert.Contains(t, out, "prove by")
	code, out, errs = runCLI(t, net("job", "reveal", "4", "--key", buyer)...)
	require.Equal(t, exitOK, code, errs)
	assert.Contains(t, out, "the seed of job 4 was already revealed by buyer at block")

	// Governance parameters: shown to anyone, set by the owner only; a post below the new
	// minimum is refused before any transaction.
	code, out, errs = runCLI(t, net("params", "show", "--json")...)
	require.Equal(t, exitOK, code, errs)
	var params paramsReport
	require.NoError(t, json.Unmarshal([]byte(out), &params), out)
	assert.Equal(t, paramsReport{Manager: addrs.Manager.Hex(), DetectionFloorBps: 1000, BountyBps: 500, AbandonBps: 1000,
		MinExecWindow: 60, MinProveWindow: 60}, params)
	code, _, errs = runCLI(t, net("params", "set", "--abandon-bps", "200", "--key", buyer)...)
	assert.Equal(t, exitFailed, code)
	assert.Contains(t, errs, "OwnableUnauthorizedAccount")
	code, out, errs = runCLI(t, net("params", "set", "--min-prove-window", "2m", "--abandon-bps", "200", "--key", gov)...)
	require.Equal(t, exitOK, code, errs)
	assert.Contains(t, out, "abandonment fee    200 bps (2.00%)")
	assert.Contains(t, out, "min exec window    1m0s\nmin prove window   2m0s")
	code, _, errs = runCLI(t, net("params", "set", "--bounty-bps", "5000", "--key", gov)...)
	assert.Equal(t, exitFailed, code)
	assert.Contains(t, errs, "BadBps")
	code, _, errs = runCLI(t, net("post", "--input", in, "--model", mf, "--shapes", "tiny", "--price", "1",
		"--publish-dir", filepath.Join(dir, "pub-short"), "--prove-window", "90s", "--key", buyer)...)
	assert.Equal(t, exitFailed, code)
	assert.Contains(t, errs, "the deployment requires at least 60s and 120s")
	assert.Contains(t, errs, "hint: `probity params show`")
	assert.NoFileExists(t, filepath.Join(dir, "pub-short.seed-secret"), "a failed post leaves no secret behind")

	// The unbonding stake is paid out once the deployment's delay (7 days) has passed.
	require.NoError(t, rc.Call(nil, "evm_increaseTime", 8*24*3600))
	require.NoError(t, rc.Call(nil, "evm_mine"))
	code, out, errs = runCLI(t, net("unbond", "--withdraw", "--to", buyerAddr, "--key", prov)...)
	require.Equal(t, exitOK, code, errs)
	assert.Contains(t, out, "withdrew 0.25 unbonded stake to "+buyerAddr)

	code, out, errs = runCLI(t, net("shape", "retire", "--shape", "tiny", "--key", gov)...)
	require.Equal(t, exitOK, code, errs)
	assert.Contains(t, out, "retired tiny")
	code, _, errs = runCLI(t, net("post", "--input", in, "--model", mf, "--shapes", "tiny", "--price", "1",
		"--publish-dir", filepath.Join(dir, "pub4"), "--key", buyer)...)
	assert.Equal(t, exitFailed, code)
	assert.Contains(t, errs, "ShapeNotActive")

	// A deployment file from another chain, and a node that is not there: could not run.
	other := filepath.Join(dir, "other.json")
	require.NoError(t, writeJSONFile(other, chain.Addresses{Token: addrs.Manager, Providers: addrs.Manager,
		Shapes: addrs.Manager, Manager: common.HexToAddress("0x000000000000000000000000000000000000dEaD")}))
	code, _, errs = runCLI(t, "balance", buyerAddr, "--rpc", rpc, "--deployment", other)
	assert.Equal(t, exitInternal, code)
	assert.Contains(t, errs, "no contract at the manager address")
	code, _, errs = runCLI(t, "balance", buyerAddr, "--rpc", "http://127.0.0.1:1", "--deployment", dep)
	assert.Equal(t, exitInternal, code)
	assert.Contains(t, errs, "is a node running there?")
}

// keyEntry is the key cache entry of a catalogue shape under dir.
func keyEntry(t *testing.T, dir, name string) string {
	s, err := circuits.Lookup(name)
	require.NoError(t, err)
	return circuits.Cache{Dir: dir}.EntryDir(s)
}

func writeJSONFile(path string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o644)
}

func TestNetworkUsage(t *testing.T) {
	dir := t.TempDir()
	key, _ := writeKey(t, dir, 0)
	missing := filepath.Join(dir, "missing.json")
	for _, args := range [][]string{
		{"stake"},
		{"stake", "--amount", "0", "--key", key},
		{"stake", "--amount", "-1", "--key", key},
		{"stake", "--amount", "1e18", "--key", key},
		{"stake", "--amount", "0.1234567890123456789", "--key", key},
		{"stake", "--amount", "1", "--node-key-address", "0x12", "--key", key},
		{"stake", "--amount", "1"}, // no key
		{"unbond", "--key", key},
		{"unbond", "--amount", "1", "--withdraw", "--key", key},
		{"mint", "--amount", "1", "--key", key},
		{"mint", "--to", "nope", "--amount", "1", "--key", key},
		{"post", "--model", "m", "--shapes", "tiny", "--price", "1", "--publish-dir", dir},
		{"post", "--input", "x", "--model", "m", "--shapes", "tiny,huge", "--price", "1", "--publish-dir", dir},
		{"post", "--input", "x", "--model", "m", "--shapes", "tiny", "--price", "1"},
		{"post", "--input", "x", "--model", "m", "--shapes", "tiny", "--price", "1", "--publish-dir", dir, "--manifest-uri", "https://x"},
		{"post", "--input", "x", "--model", "m", "--shapes", "tiny", "--price", "1", "--manifest-uri", "https://x"}, // where does the secret go?
		{"post", "--input", "x", "--model", "m", "--shapes", "tiny", "--price", "1", "--publish-dir", dir, "--no-seed-secret", "--seed-secret-file", "s"},
		{"job", "reveal"},
		{"job", "reveal", "1", "--poll", "0s"},
		{"withdraw", "--to", "nope"},
		{"withdraw", "--to", "0x0000000000000000000000000000000000000000", "--key", key},
		{"unbond", "--amount", "1", "--to", "0x0000000000000000000000000000000000000001", "--key", key},
		{"params"},
		{"params", "set", "--key", key},
		{"params", "set", "--min-exec-window", "1500ms", "--key", key},
		{"params", "set", "--bounty-bps", "10001", "--key", key},
		{"job"},
		{"job", "bogus"},
		{"job", "status"},
		{"job", "status", "1", "2"},
		{"job", "status", "x1"},
		{"job", "cancel", "0"},
		{"job", "wait", "1", "--poll", "0s"},
		{"shape"},
		{"shape", "register"},
		{"shape", "retire", "--shape", "huge"},
		{"balance", "0x1", "--deployment", missing},
		{"balance", "a", "b"},
		{"deploy", "extra"},
		{"slash"},
		{"withdraw", "--bogus"},
		{"random-job", "--shapes", "tiny"},
		{"random-job", "--shapes", "tiny,demo-64", "--out", dir},
		{"random-job", "--shapes", "tiny", "--rows", "9", "--out", dir},
	} {
		code, _, errs := runCLI(t, args...)
		assert.Equal(t, exitUsage, code, "%v: %s", args, errs)
		assert.Contains(t, errs, "probity: error:", "%v", args)
	}
	code, _, errs := runCLI(t, "balance", "--deployment", missing, "--key", key)
	assert.Equal(t, exitInternal, code)
	assert.Contains(t, errs, "probity deploy --out FILE")
	code, _, errs = runCLI(t, "stake", "--amount", "1", "--key", filepath.Join(dir, "nokey"))
	assert.Equal(t, exitInternal, code)
	assert.Contains(t, errs, "nokey: no such file")
	assert.NotContains(t, errs, "hint: a key file holds", "a missing file is not a format problem")
	badKey := filepath.Join(dir, "badkey")
	require.NoError(t, os.WriteFile(badKey, []byte("0x1234\n"), 0o600))
	code, _, errs = runCLI(t, "stake", "--amount", "1", "--key", badKey)
	assert.Equal(t, exitInternal, code)
	assert.Contains(t, errs, "badkey")
	assert.Contains(t, errs, "hint: a key file holds one secp256k1 private key in hex")
	code, _, _ = runCLI(t, "post", "-h")
	assert.Equal(t, exitOK, code)
}

func TestAmounts(t *testing.T) {
	for in, want := range map[string]string{"10": "10", "0.5": "0.5", ".5": "0.5", "1.": "1", "007.250": "7.25",
		"0.000000000000000001": "0.000000000000000001", "1000000000": "1000000000"} {
		v, err := parseAmount("amount", in)
		require.NoError(t, err, in)
		assert.Equal(t, want, formatAmount(v), in)
	}
	v, _ := parseAmount("amount", "2.5")
	assert.Equal(t, "2500000000000000000", v.String())
	for _, in := range []string{"", ".", "0", "0.0", "-1", "1e3", "1,5", "0x10", " 1", "1.0000000000000000001"} {
		_, err := parseAmount("amount", in)
		assert.Error(t, err, in)
	}
}

// The seed secret file: owner-only, never replaced, read back; its default sits beside the
// published directory, which a file:// manifest locates.
func TestSeedSecretFile(t *testing.T) {
	dir := t.TempDir()
	path := defaultSeedSecretFile(filepath.Join(dir, "jobs", "7") + "/")
	assert.Equal(t, filepath.Join(dir, "jobs", "7.seed-secret"), path)
	assert.Equal(t, path, seedSecretFileOf("file://"+filepath.ToSlash(filepath.Join(dir, "jobs", "7", "manifest.json"))))
	assert.Empty(t, seedSecretFileOf("https://example.org/jobs/7/manifest.json"))

	secret := [32]byte{0: 1, 31: 0xfe}
	require.NoError(t, writeSeedSecret(path, secret))
	fi, err := os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
	got, err := readSeedSecret(path)
	require.NoError(t, err)
	assert.Equal(t, secret, got)
	err = writeSeedSecret(path, [32]byte{2})
	assert.ErrorContains(t, err, "already exists")
	got, _ = readSeedSecret(path)
	assert.Equal(t, secret, got, "an existing secret is never replaced")

	for name, content := range map[string]string{"short": "0x1234\n", "not hex": strings.Repeat("zz", 32), "empty": ""} {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, []byte(content), 0o600))
		_, err := readSeedSecret(p)
		assert.ErrorContains(t, err, "not 32 bytes in hex", name)
	}
	_, err = readSeedSecret(filepath.Join(dir, "missing"))
	assert.ErrorContains(t, err, "no such file")
}
