package demo_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"math/big"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/probitylabs/probity/circuits"
	"github.com/probitylabs/probity/demo"
	"github.com/probitylabs/probity/verifier"
)

func bigOf(t *testing.T, s string) *big.Int {
	t.Helper()
	v, ok := new(big.Int).SetString(s, 10)
	require.True(t, ok, "not an integer: %q", s)
	return v
}

// checkSummary asserts that every act happened as the protocol says and that the tokens
// went where they must.
func checkSummary(t *testing.T, sum *demo.Summary, shape circuits.Shape, layers int, price *big.Int) {
	t.Helper()
	assert.Equal(t, "1337", sum.ChainID)
	assert.Equal(t, shape.Name, sum.Shape)
	assert.Equal(t, layers, sum.Layers)
	assert.Equal(t, shape.Kn, sum.K)
	require.Len(t, sum.Jobs, 3)

	honest, cheat, silent := sum.Job(demo.RoleHonest), sum.Job(demo.RoleFalsifying), sum.Job(demo.RoleSilent)
	require.NotNil(t, honest)
	require.NotNil(t, cheat)
	require.NotNil(t, silent)
	assert.Equal(t, []string{"1", "2", "3"}, []string{honest.ID, cheat.ID, silent.ID})
	providers := map[string]bool{honest.Provider.Hex(): true, cheat.Provider.Hex(): true, silent.Provider.Hex(): true}
	assert.Len(t, providers, 3, "each job went to its own provider")

	// Honest: settled after the proofs verified, receipt on disk, proving timed.
	assert.Equal(t, "Settled", honest.Outcome)
	assert.Equal(t, "done", honest.NodeStep)
	assert.Empty(t, honest.Bounty)
	assert.Positive(t, honest.ProveMs)
	assert.Positive(t, honest.ProveMsPerLayer)
	assert.Equal(t, uint32(1000), honest.DetectionFloorBps)
	assert.Positive(t, honest.DetectionBps)
	g := honest.Gas
	for name, v := range map[string]uint64{"postJob": g.PostJob, "lock": g.Lock, "commit": g.Commit, "revealSeed": g.RevealSeed, "submitProof": g.SubmitProof} {
		assert.Positive(t, v, name)
	}
	// The buyer revealed its secret, so the provider never had to fix the seed itself.
	assert.Equal(t, demo.SeedRevealed, honest.Seed)
	assert.Zero(t, g.FixSeed)
	assert.Zero(t, g.Slash)
	assert.Equal(t, g.Lock+g.Commit+g.SubmitProof, g.Settlement)
	assert.Equal(t, g.PostJob+g.RevealSeed+g.Settlement, g.Total)

	// Falsifying: committed, could not prove its own samples, slashed at the proof deadline.
	assert.Equal(t, "Slashed", cheat.Outcome)
	assert.Equal(t, "failed", cheat.NodeStep)
	assert.Contains(t, cheat.NodeReason, "fails its sample")
	assert.Positive(t, cheat.Gas.Commit)
	assert.Equal(t, demo.SeedRevealed, cheat.Seed)
	assert.Positive(t, cheat.Gas.RevealSeed)
	assert.Positive(t, cheat.Gas.Slash)
	assert.Zero(t, cheat.Gas.SubmitProof)
	assert.Greater(t, cheat.CatchProbability, 0.0)

	// Silent: locked, never committed, slashed at the commit deadline.
	assert.Equal(t, "Slashed", silent.Outcome)
	assert.Positive(t, silent.Gas.Lock)
	assert.Zero(t, silent.Gas.Commit)
	assert.Empty(t, silent.Seed)
	assert.Positive(t, silent.Gas.Slash)

	// Money: the balances sum to the same; the buyer paid the honest price and got the
	// slashed stakes less the bounties; the watcher (honest provider) got the price and the
	// bounties; the registry lost exactly the two reserved stakes.
	require.Len(t, sum.Balances, 6)
	before, after := new(big.Int), new(big.Int)
	delta := map[string]*big.Int{}
	for _, b := range sum.Balances {
		before.Add(before, bigOf(t, b.Before))
		after.Add(after, bigOf(t, b.After))
		d := new(big.Int).Sub(bigOf(t, b.After), bigOf(t, b.Before))
		assert.Equal(t, d.String(), b.Delta, b.Name)
		delta[b.Name] = d
	}
	assert.True(t, sum.Conserved)
	assert.Equal(t, before.String(), after.String(), "tokens appeared or vanished")
	for _, j := range []*demo.Job{cheat, silent} {
		stake, bounty := bigOf(t, j.Stake), bigOf(t, j.Bounty)
		assert.GreaterOrEqual(t, stake.Cmp(price), 0, "%s stake covers the price", j.Role)
		assert.Equal(t, new(big.Int).Div(new(big.Int).Mul(stake, big.NewInt(500)), big.NewInt(10000)).String(), bounty.String(),
			"%s: bounty is 5%% of the stake", j.Role)
	}
	gain := func(j *demo.Job) *big.Int { return new(big.Int).Sub(bigOf(t, j.Stake), bigOf(t, j.Bounty)) }
	wantBuyer := new(big.Int).Sub(new(big.Int).Add(gain(cheat), gain(silent)), price)
	assert.Equal(t, wantBuyer.String(), delta["buyer"].String())
	wantWatcher := new(big.Int).Add(price, new(big.Int).Add(bigOf(t, cheat.Bounty), bigOf(t, silent.Bounty)))
	assert.Equal(t, wantWatcher.String(), delta["honest provider"].String())
	assert.Zero(t, delta["falsifying provider"].Sign())
	assert.Zero(t, delta["silent provider"].Sign())
	assert.Equal(t, new(big.Int).Neg(new(big.Int).Add(bigOf(t, cheat.Stake), bigOf(t, silent.Stake))).String(), delta["registry (stake)"].String())
	assert.Zero(t, delta["SLA manager (escrow)"].Sign())

	// Audit: valid under a policy pinned to this chain and manager; proofs, tensors and the
	// chain were all checked, not skipped.
	assert.True(t, sum.Audit.OK)
	require.NotNil(t, sum.Audit.Policy.ExpectedChainID)
	assert.Equal(t, sum.ChainID, sum.Audit.Policy.ExpectedChainID.String())
	require.NotNil(t, sum.Audit.Policy.ExpectedContract)
	assert.Equal(t, sum.Addresses.Manager, *sum.Audit.Policy.ExpectedContract)
	for _, name := range []string{verifier.CheckReplay, verifier.CheckSignature, verifier.CheckProofs, verifier.CheckAttestation,
		verifier.CheckTensors, verifier.CheckOnChain} {
		c := sum.Audit.Report.Check(name)
		if assert.NotNil(t, c, name) {
			assert.Equal(t, verifier.Pass, c.Status, "%s: %s %v", name, c.Detail, c.Err)
		}
	}

	// Text: the shipped model generated the asked number of tokens, the buyer's recomputation
	// accepted them with their roots, and refused the falsified delivery.
	gen := sum.Generation
	assert.Equal(t, 48, gen.Tokens)
	assert.Len(t, gen.Text, 48, "a byte-level model: one byte per token")
	assert.NotEmpty(t, gen.TraceRoot)
	assert.NotEmpty(t, gen.ResultDigest)
	assert.True(t, gen.CheatRefused)

	b, err := json.Marshal(sum)
	require.NoError(t, err)
	var back map[string]any
	require.NoError(t, json.Unmarshal(b, &back))
	assert.Contains(t, back, "jobs")
	assert.Contains(t, back, "audit")
	assert.Contains(t, back, "generation")
}

// TestDemoTiny is the quick variant: one tiny layer, keys built into a fresh cache, every
// element falsified so that the k=2 samples always catch it.
func TestDemoTiny(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	keep := filepath.Join(t.TempDir(), "kept")
	cache := &circuits.Cache{Dir: t.TempDir()}
	var out bytes.Buffer
	sum, err := demo.Run(ctx, demo.Options{Shape: "tiny", Falsify: 1, Keys: cache, Keep: keep}, &out)
	require.NoError(t, err, out.String())
	tiny, _ := circuits.Lookup("tiny")
	checkSummary(t, sum, tiny, 1, big.NewInt(1e18))
	assert.False(t, sum.KeysCached)
	assert.Equal(t, keep, sum.Dir)
	assert.FileExists(t, filepath.Join(keep, "jobs", "1-honest", "manifest.json"))
	assert.Equal(t, filepath.Join(keep, "receipts", "1.json"), sum.Job(demo.RoleHonest).Receipt)
	assert.FileExists(t, sum.Job(demo.RoleHonest).Receipt)
	for _, act := range []string{"Act 1", "Act 2", "Act 3", "Act 4", "Act 5", "Act 6", "seed: revealed by buyer", "revealSeed",
		"verdict: valid", "All acts turned out"} {
		assert.Contains(t, out.String(), act)
	}

	// A second run finds the keys in the cache.
	sum, err = demo.Run(ctx, demo.Options{Shape: "tiny", Falsify: 1, Keys: cache}, nil)
	require.NoError(t, err)
	assert.True(t, sum.KeysCached)
	assert.Empty(t, sum.Dir)
	assert.Empty(t, sum.Job(demo.RoleHonest).Receipt, "no file named in a removed directory")
}

// TestDemo runs the demo as `probity demo` does (demo-64, two layers, 50% falsified), with
// its keys built into a fresh cache: about 13 s on 2 cores, the setup most of it.
func TestDemo(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var out io.Writer = io.Discard
	if testing.Verbose() {
		out = os.Stderr
	}
	sum, err := demo.Run(ctx, demo.Options{Keys: &circuits.Cache{Dir: t.TempDir()}}, out)
	require.NoError(t, err)
	s, _ := circuits.Lookup("demo-64")
	checkSummary(t, sum, s, 2, big.NewInt(1e18))
	assert.InDelta(t, 1-1.0/65536, sum.Job(demo.RoleFalsifying).CatchProbability, 1e-12)
}

func TestOptionsErrors(t *testing.T) {
	_, err := demo.Run(context.Background(), demo.Options{Shape: "huge"}, nil)
	assert.ErrorContains(t, err, "huge")
	_, err = demo.Run(context.Background(), demo.Options{Falsify: 1.5}, nil)
	assert.ErrorContains(t, err, "falsify fraction")
}
