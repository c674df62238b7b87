package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum/crypto"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/probitylabs/probity/circuits/universal"
	"github.com/probitylabs/probity/circuits/universal/universaltest"
	"github.com/probitylabs/probity/internal/testenv"
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

// shippedModel is the shipped model file, from this package's directory.
const shippedModel = "../../models/kjv-gpt2.safetensors"

// testVK writes a verifying key file for `class register --vk` (and --targeted-vk): the universaltest class's
// (its setup takes seconds, the small class's minutes), which is all a registration that
// never verifies a proof needs.
func testVK(t *testing.T, dir string) string {
	t.Helper()
	keys, err := universal.Setup(universaltest.Class())
	require.NoError(t, err)
	path := filepath.Join(dir, "test.vk")
	f, err := os.Create(path)
	require.NoError(t, err)
	_, err = keys.VK.WriteTo(f)
	require.NoError(t, err)
	require.NoError(t, f.Close())
	return path
}

// A v1 network by hand on a real anvil, through the CLI: deploy, register the small class
// and the shipped model, mint, stake, unbond, deposit, ask with a signed offer and on
// chain, status, result, cancel, withdraw, params; reverts come back as exit 1 naming the
// contract's error. Proving jobs is e2e's (a real prover process).
func TestNetworkByHand(t *testing.T) {
	rpc := testenv.StartAnvil(t)
	dir := t.TempDir()
	gov, _ := writeKey(t, dir, 0)
	prov, provAddr := writeKey(t, dir, 1)
	buyer, buyerAddr := writeKey(t, dir, 2)
	dep := filepath.Join(dir, "deployment.json")
	buyerDir := filepath.Join(dir, "buyer")
	net := func(args ...string) []string { return append(args, "--rpc", rpc, "--deployment", dep) }

	code, out, errs := runCLI(t, "deploy", "--rpc", rpc, "--key", gov, "--out", dep)
	require.Equal(t, exitOK, code, errs)
	addrs, err := readDeployment(dep)
	require.NoError(t, err)
	assert.Contains(t, out, addrs.Manager.Hex())
	assert.Contains(t, out, "chain     31337")
	before, err := os.ReadFile(dep)
	require.NoError(t, err)
	code, _, errs = runCLI(t, "deploy", "--rpc", rpc, "--key", gov, "--out", dep)
	assert.Equal(t, exitInternal, code)
	assert.Contains(t, errs, dep+" already exists")
	after, _ := os.ReadFile(dep)
	assert.Equal(t, before, after, "deploy must not clobber a deployment file")

	// Classes: keys from an empty cache name the way out; a key file registers.
	code, _, errs = runCLI(t, net("class", "register", "--class", "small", "--keys-dir", filepath.Join(dir, "nokeys"), "--key", gov)...)
	assert.Equal(t, exitInternal, code)
	assert.Contains(t, errs, "probity setup --class small")
	vk := testVK(t, dir)
	code, out, errs = runCLI(t, net("class", "register", "--class", "small", "--vk", vk, "--targeted-vk", vk, "--key", buyer)...)
	assert.Equal(t, exitFailed, code, out)
	assert.Contains(t, errs, "OwnableUnauthorizedAccount", "governance only")
	code, out, errs = runCLI(t, net("class", "register", "--class", "small", "--vk", vk, "--targeted-vk", vk, "--key", gov)...)
	require.Equal(t, exitOK, code, errs)
	assert.Contains(t, out, "registered class small")
	code, _, errs = runCLI(t, net("class", "register", "--class", "small", "--vk", vk, "--targeted-vk", vk, "--key", gov)...)
	assert.Equal(t, exitFailed, code)
	assert.Contains(t, errs, "ClassAlreadyRegistered")
	code, out, errs = runCLI(t, net("class", "list", "--json")...)
	require.Equal(t, exitOK, code, errs)
	var classes []classStatusRow
	require.NoError(t, json.Unmarshal([]byte(out), &classes), out)
	status := map[string]string{}
	for _, c := range classes {
		status[c.Name] = c.Status
	}
	assert.Equal(t, map[string]string{"small": "Active", "gpt2-small": "None"}, status)

	// The catalogue: the shipped model under the small class, once.
	code, _, errs = runCLI(t, net("catalogue", "show", "--model", shippedModel)...)
	assert.Equal(t, exitFailed, code)
	assert.Contains(t, errs, "not in the catalogue")
	code, out, errs = runCLI(t, net("catalogue", "register", "--model", shippedModel, "--class", "small", "--uri", "probity:models/kjv-gpt2", "--key", gov)...)
	require.Equal(t, exitOK, code, errs)
	assert.Contains(t, out, "under class small")
	code, _, errs = runCLI(t, net("catalogue", "register", "--model", shippedModel, "--class", "small", "--key", buyer)...)
	assert.Equal(t, exitFailed, code)
	assert.Contains(t, errs, "ModelAlreadyRegistered")
	code, out, errs = runCLI(t, net("catalogue", "show", "--model", shippedModel, "--json")...)
	require.Equal(t, exitOK, code, errs)
	var entry catalogueEntry
	require.NoError(t, json.Unmarshal([]byte(out), &entry))
	assert.Equal(t, "small", entry.Class)
	assert.Equal(t, "probity:models/kjv-gpt2", entry.URI)

	// Tokens and stake.
	code, out, errs = runCLI(t, net("mint", "--to", provAddr, "--amount", "1000", "--key", gov)...)
	require.Equal(t, exitOK, code, errs)
	assert.Contains(t, out, "balance 1000")
	code, _, errs = runCLI(t, net("mint", "--to", buyerAddr, "--amount", "100.5", "--key", gov)...)
	require.Equal(t, exitOK, code, errs)
	code, _, errs = runCLI(t, net("mint", "--to", buyerAddr, "--amount", "1", "--key", buyer)...)
	assert.Equal(t, exitFailed, code)
	assert.Contains(t, errs, "OwnableUnauthorizedAccount")
	code, out, errs = runCLI(t, net("stake", "--amount", "100", "--key", prov)...)
	require.Equal(t, exitOK, code, errs)
	assert.Contains(t, out, "registered with node key "+provAddr)
	t.Setenv(envKey, prov) // the key from the environment
	code, out, errs = runCLI(t, net("stake", "--amount", "0.25")...)
	require.Equal(t, exitOK, code, errs)
	assert.Contains(t, out, "added 0.25; free stake 100.25")
	code, _, errs = runCLI(t, net("stake", "--amount", "1", "--node-key-address", buyerAddr)...)
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, errs, "first stake only")
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
	assert.Equal(t, balanceReport{Account: bal.Account, Token: "899.75", Balance: "0", Escrow: "0", Stake: &stakeReport{
		NodeKey: bal.Account, Free: "100", Reserved: "0", Unbonding: "0.25", UnbondReadyAt: bal.Stake.UnbondReadyAt}}, bal)
	assert.Equal(t, provAddr, bal.Account.Hex())
	t.Setenv(envKey, "")

	// A signed offer: refused without escrow, then written after a deposit; no job on chain.
	book := "file://" + filepath.Join(dir, "book")
	ask := func(extra ...string) []string {
		return net(append([]string{"ask", "--model", shippedModel, "--prompt", "In the beginning", "--tokens", "4", "--price", "2.5",
			"--buyer-dir", buyerDir, "--key", buyer}, extra...)...)
	}
	code, _, errs = runCLI(t, ask("--book", book)...)
	assert.Equal(t, exitFailed, code)
	assert.Contains(t, errs, "probity deposit --amount 2.5")
	left, _ := os.ReadDir(filepath.Join(buyerDir, "jobs"))
	assert.Empty(t, left, "a refused ask leaves no job directory behind")
	left, _ = os.ReadDir(filepath.Join(buyerDir, "secrets"))
	assert.Empty(t, left, "nor its seed secret")
	code, out, errs = runCLI(t, net("deposit", "--amount", "2.5", "--key", buyer)...)
	require.Equal(t, exitOK, code, errs)
	assert.Contains(t, out, "escrow balance 2.5")
	code, out, errs = runCLI(t, ask("--book", book, "--json")...)
	require.Equal(t, exitOK, code, errs)
	var offered askReport
	require.NoError(t, json.Unmarshal([]byte(out), &offered), out)
	assert.FileExists(t, offered.Offer)
	assert.FileExists(t, offered.JobFile)
	assert.Equal(t, uint32(4), offered.NewTokens)
	fi, err := os.Stat(offered.SeedSecret)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm(), "the seed secret is the buyer's alone")
	code, out, errs = runCLI(t, net("job", "status", offered.JobID, "--buyer-dir", buyerDir)...)
	require.Equal(t, exitOK, code, errs)
	assert.Contains(t, out, "offered (signed, not locked yet)")
	code, _, errs = runCLI(t, net("job", "result", offered.JobID)...)
	assert.Equal(t, exitFailed, code)
	assert.Contains(t, errs, "has no result yet")
	code, out, errs = runCLI(t, net("job", "cancel", offered.JobID, "--buyer-dir", buyerDir, "--key", buyer)...)
	require.Equal(t, exitOK, code, errs)
	assert.Contains(t, out, "cancelled job "+offered.JobID)
	assert.NoFileExists(t, offered.Offer, "a revoked offer leaves its book")

	// Posted on chain: escrowed now (from the deposit), cancelled while open, refunded.
	code, out, errs = runCLI(t, ask("--json", "--lock-within", "10m")...)
	require.Equal(t, exitOK, code, errs)
	var posted askReport
	require.NoError(t, json.Unmarshal([]byte(out), &posted), out)
	assert.NotZero(t, posted.Posted)
	assert.True(t, strings.HasPrefix(posted.JobURI, "file:///"), posted.JobURI)
	code, out, errs = runCLI(t, net("job", "status", posted.JobID, "--json")...) // no buyer dir: from the chain
	require.Equal(t, exitOK, code, errs)
	var st statusReport
	require.NoError(t, json.Unmarshal([]byte(out), &st), out)
	assert.Equal(t, "Open", st.State)
	assert.Equal(t, posted.JobURI, st.JobURI)
	assert.Equal(t, buyerAddr, st.Buyer.Hex())
	code, _, errs = runCLI(t, net("slash", posted.JobID, "--key", prov)...)
	assert.Equal(t, exitFailed, code)
	assert.Contains(t, errs, "WrongState")
	code, _, errs = runCLI(t, net("job", "cancel", posted.JobID, "--key", prov)...)
	assert.Equal(t, exitFailed, code, "only the buyer cancels")
	assert.Contains(t, errs, "Unauthorized")
	code, _, errs = runCLI(t, net("job", "cancel", posted.JobID, "--buyer-dir", buyerDir, "--key", buyer)...)
	require.Equal(t, exitOK, code, errs)
	code, out, errs = runCLI(t, net("balance", buyerAddr)...)
	require.Equal(t, exitOK, code, errs)
	assert.Contains(t, out, "balance   2.5 at the manager (escrow 2.5)")
	code, out, errs = runCLI(t, net("withdraw", "--key", buyer)...)
	require.Equal(t, exitOK, code, errs)
	assert.Contains(t, out, "withdrew 2.5 to "+buyerAddr)
	code, _, errs = runCLI(t, net("withdraw", "--key", buyer)...)
	assert.Equal(t, exitFailed, code)
	assert.Contains(t, errs, "NothingToWithdraw")
	code, _, errs = runCLI(t, net("job", "status", "12345")...)
	assert.Equal(t, exitFailed, code)
	assert.Contains(t, errs, "job 12345 does not exist")

	// Governance parameters.
	code, out, errs = runCLI(t, net("params", "set", "--bounty-bps", "700", "--key", gov)...)
	require.Equal(t, exitOK, code, errs)
	assert.Contains(t, out, "700 bps")
	code, _, errs = runCLI(t, net("params", "set", "--bounty-bps", "700", "--key", buyer)...)
	assert.Equal(t, exitFailed, code, errs)
	code, out, errs = runCLI(t, net("params", "show", "--json")...)
	require.Equal(t, exitOK, code, errs)
	var p paramsReport
	require.NoError(t, json.Unmarshal([]byte(out), &p))
	assert.Equal(t, uint16(700), p.BountyBps)
	assert.Equal(t, addrs.Manager.Hex(), p.Manager)

	// A job over the class is refused before anything is written; after retiring the class
	// a new ask for it is refused too.
	code, _, errs = runCLI(t, net("ask", "--model", shippedModel, "--prompt", strings.Repeat("x", 200), "--tokens", "4", "--price", "1",
		"--buyer-dir", buyerDir, "--key", buyer)...)
	assert.Equal(t, exitFailed, code, errs)
	assert.Contains(t, errs, "invalid generation request")
	code, _, errs = runCLI(t, net("class", "retire", "--class", "small", "--key", gov)...)
	require.Equal(t, exitOK, code, errs)
	code, _, errs = runCLI(t, ask()...)
	assert.Equal(t, exitFailed, code)
	assert.Contains(t, errs, "Retired")
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
		{"deposit", "--key", key},
		{"mint", "--amount", "1", "--key", key},
		{"mint", "--to", "nope", "--amount", "1", "--key", key},
		{"ask", "--prompt", "x", "--tokens", "4", "--price", "1", "--key", key},                                  // no model
		{"ask", "--model", "m", "--tokens", "4", "--price", "1", "--key", key},                                   // no prompt
		{"ask", "--model", "m", "--prompt", "x", "--prompt-tokens", "1", "--tokens", "4", "--price", "1"},        // both prompts
		{"ask", "--model", "m", "--prompt-tokens", "1,x", "--tokens", "4", "--price", "1"},                       // bad token
		{"ask", "--model", "m", "--prompt", "x", "--price", "1"},                                                 // no --tokens
		{"ask", "--model", "m", "--prompt", "x", "--tokens", "5000", "--price", "1"},                             // too many
		{"ask", "--model", "m", "--prompt", "x", "--tokens", "4"},                                                // no price
		{"ask", "--model", "m", "--prompt", "x", "--tokens", "4", "--price", "1", "--exec-window", "1500ms"},     // not whole seconds
		{"ask", "--model", "m", "--prompt", "x", "--tokens", "4", "--price", "1", "--class", "huge"},             // unknown class
		{"ask", "--model", "m", "--prompt", "x", "--tokens", "4", "--price", "1", "--book", "https://x/book"},    // not file://
		{"ask", "--model", "m", "--prompt", "x", "--tokens", "4", "--price", "1", "--job-uri-base", "ftp://x/y"}, // not http(s)
		{"ask", "--model", "m", "--prompt", "x", "--tokens", "4", "--price", "1", "extra"},                       // positional
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
		{"job", "wait", "1", "--timeout", "-1s"},
		{"job", "reveal", "1", "--timeout", "-1s"},
		{"class"},
		{"class", "register"},
		{"class", "retire", "--class", "huge"},
		{"class", "register", "--class", "small", "--vk", "x", "--keys-dir", dir},
		{"catalogue"},
		{"catalogue", "register", "--class", "small"},
		{"catalogue", "show"},
		{"balance", "0x1", "--deployment", missing},
		{"balance", "a", "b"},
		{"deploy", "extra"},
		{"slash"},
		{"withdraw", "--bogus"},
		{"prover", "extra"},
		{"prover", "--bogus"},
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
	code, _, errs = runCLI(t, "ask", "--model", filepath.Join(dir, "nomodel"), "--prompt", "x", "--tokens", "4", "--price", "1", "--key", key)
	assert.Equal(t, exitInternal, code)
	assert.Contains(t, errs, "model file")
	// The prover's configuration errors name the field and are usage errors.
	cfg := filepath.Join(dir, "prover.json")
	require.NoError(t, os.WriteFile(cfg, []byte(`{"rpcUrl": "http://127.0.0.1:1", "providerKeyFile": "k", "dataDir": "d", "classes": ["huge"]}`), 0o644))
	code, _, errs = runCLI(t, "prover", "--config", cfg)
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, errs, "deployment")
	for _, c := range []string{"ask", "job", "class", "catalogue", "deposit", "prover"} {
		code, out, _ := runCLI(t, "help")
		assert.Equal(t, exitOK, code)
		assert.Contains(t, out, "  "+c+" ", "help lists %s", c)
	}
	for _, gone := range []string{"post", "shape", "random-job"} {
		code, _, _ := runCLI(t, gone)
		assert.Equal(t, exitUsage, code, "%s is gone with v0", gone)
	}
	code, _, _ = runCLI(t, "ask", "-h")
	assert.Equal(t, exitOK, code)
}

// Unbonding on a deployment without a delay: requested, then paid out to another address.
func TestUnbondWithdraw(t *testing.T) {
	rpc := testenv.StartAnvil(t)
	dir := t.TempDir()
	gov, _ := writeKey(t, dir, 0)
	prov, provAddr := writeKey(t, dir, 1)
	_, cold := writeKey(t, dir, 2)
	dep := filepath.Join(dir, "deployment.json")
	net := func(args ...string) []string { return append(args, "--rpc", rpc, "--deployment", dep) }
	code, _, errs := runCLI(t, "deploy", "--rpc", rpc, "--key", gov, "--out", dep, "--unbonding-delay", "0s")
	require.Equal(t, exitOK, code, errs)
	code, _, errs = runCLI(t, net("mint", "--to", provAddr, "--amount", "10", "--key", gov)...)
	require.Equal(t, exitOK, code, errs)
	code, _, errs = runCLI(t, net("stake", "--amount", "10", "--key", prov)...)
	require.Equal(t, exitOK, code, errs)
	code, _, errs = runCLI(t, net("unbond", "--amount", "4", "--key", prov)...)
	require.Equal(t, exitOK, code, errs)
	code, out, errs := runCLI(t, net("unbond", "--withdraw", "--to", cold, "--key", prov)...)
	require.Equal(t, exitOK, code, errs)
	assert.Contains(t, out, "withdrew 4 unbonded stake to "+cold)
	code, out, errs = runCLI(t, net("balance", cold, "--json")...)
	require.Equal(t, exitOK, code, errs)
	var bal balanceReport
	require.NoError(t, json.Unmarshal([]byte(out), &bal), out)
	assert.Equal(t, "4", bal.Token)
	assert.Nil(t, bal.Stake)
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

func TestPromptTokens(t *testing.T) {
	got, err := promptTokens("1, 2,255")
	require.NoError(t, err)
	assert.Equal(t, []int32{1, 2, 255}, got)
	for _, in := range []string{"", "1,,2", "-1", "x", "99999999999"} {
		_, err := promptTokens(in)
		assert.Error(t, err, in)
	}
	text, ok := textOf([]uint32{72, 105})
	assert.True(t, ok)
	assert.Equal(t, "Hi", text)
	_, ok = textOf([]uint32{72, 256})
	assert.False(t, ok)
}

// promptTokens accepts exactly the comma-separated lists of non-negative int32s, and what it
// accepts prints back to the same ids.
func FuzzPromptTokens(f *testing.F) {
	for _, s := range []string{"1,2,3", " 7", "", "1,,2", "-1", "2147483648", "0x10", "1, 2 ,3"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ids, err := promptTokens(s)
		if err != nil {
			return
		}
		parts := strings.Split(s, ",")
		require.Len(t, ids, len(parts))
		for i, p := range parts {
			v, err := strconv.ParseInt(strings.TrimSpace(p), 10, 32)
			require.NoError(t, err, p)
			require.GreaterOrEqual(t, v, int64(0))
			require.Equal(t, int32(v), ids[i])
		}
	})
}
