package demo_test

import (
	"bytes"
	"context"
	"encoding/json"
	"math/big"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/probitylabs/probity/demo"
	"github.com/probitylabs/probity/verifier"
)

func bigOf(t *testing.T, s string) *big.Int {
	t.Helper()
	v, ok := new(big.Int).SetString(s, 10)
	require.True(t, ok, "not an integer: %q", s)
	return v
}

// TestDemo runs the demo as `probity demo` does, with the small class's keys from the user
// cache (set up once, about two minutes, the first time) and a shorter answer, and checks
// every act against the summary: the honest job settled with the model's text on chain, the
// lazy and silent providers slashed, every token accounted for, the receipt audited.
func TestDemo(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 18*time.Minute) // a cold key cache on busy CI cores
	defer cancel()
	keep := filepath.Join(t.TempDir(), "kept")
	var out bytes.Buffer
	sum, err := demo.Run(ctx, demo.Options{Keep: keep, NewTokens: 16}, &out)
	require.NoError(t, err, out.String())
	assert.Equal(t, "1337", sum.ChainID)
	assert.Contains(t, sum.Class, "universal-v2-small")
	assert.Equal(t, "kjv-gpt2", sum.Model)
	assert.Len(t, sum.Text, 16, "a byte-level model: one byte per token")
	require.Len(t, sum.Jobs, 4)

	honest, lazy, silent, targeted := sum.Job(demo.RoleHonest), sum.Job(demo.RoleLazy), sum.Job(demo.RoleSilent), sum.Job(demo.RoleTargeted)
	require.NotNil(t, honest)
	require.NotNil(t, lazy)
	require.NotNil(t, silent)
	require.NotNil(t, targeted)
	assert.Len(t, map[string]bool{honest.Provider.Hex(): true, lazy.Provider.Hex(): true, silent.Provider.Hex(): true, targeted.Provider.Hex(): true}, 4)

	// Honest: one lockAndCommit, the buyer's reveal, one submit; settled; receipt kept.
	assert.Equal(t, "Settled", honest.Outcome)
	assert.Equal(t, "done", honest.NodeStep)
	assert.Positive(t, bigOf(t, honest.Stake).Sign(), "the stake lockAndCommit reserved")
	assert.Positive(t, honest.ProveMs)
	for _, tx := range []string{"lockAndCommit", "revealSeed", "submit"} {
		assert.Positive(t, honest.Gas[tx], tx)
	}
	assert.Len(t, honest.Gas, 3, "no other transaction: %v", honest.Gas)
	assert.FileExists(t, honest.Receipt)

	// Lazy: committed a falsified trace, could not prove it, slashed at the proof deadline.
	assert.Equal(t, "Slashed", lazy.Outcome)
	assert.Equal(t, "failed", lazy.NodeStep)
	assert.Contains(t, lazy.NodeReason, "cannot prove the committed trace")
	assert.Positive(t, lazy.Gas["lockAndCommit"])
	assert.Positive(t, lazy.Gas["slash"])
	assert.Zero(t, lazy.Gas["submit"])

	// Silent: locked, never committed, slashed at the commit deadline.
	assert.Equal(t, "Slashed", silent.Outcome)
	assert.Positive(t, silent.Gas["lockRequest"])
	assert.Positive(t, silent.Gas["slash"])
	assert.Len(t, silent.Gas, 2)

	// Targeted: proved (the sampled proof passed), challenged by the watcher, could not answer,
	// slashed when the watcher enforced the challenge.
	assert.Equal(t, "Slashed", targeted.Outcome)
	for _, tx := range []string{"lockAndCommit", "submit", "enforce"} {
		assert.Positive(t, targeted.Gas[tx], tx)
	}

	// Money: conserved, and the slashed stakes (less the bounties) went to the buyer.
	require.Len(t, sum.Balances, 9)
	before, after := new(big.Int), new(big.Int)
	delta := map[string]*big.Int{}
	for _, b := range sum.Balances {
		before.Add(before, bigOf(t, b.Before))
		after.Add(after, bigOf(t, b.After))
		delta[b.Name] = bigOf(t, b.Delta)
	}
	assert.True(t, sum.Conserved)
	assert.Equal(t, before.String(), after.String(), "tokens appeared or vanished")
	price := big.NewInt(1e18)
	gain := func(j *demo.Job) *big.Int { return new(big.Int).Sub(bigOf(t, j.Stake), bigOf(t, j.Bounty)) }
	wantBuyer := new(big.Int).Add(new(big.Int).Mul(price, big.NewInt(3)), new(big.Int).Add(gain(lazy), new(big.Int).Add(gain(silent), gain(targeted))))
	assert.Equal(t, wantBuyer.String(), delta["buyer"].String())
	assert.Equal(t, price.String(), delta["honest provider"].String())
	assert.Equal(t, "0", delta["challenges (bonds)"].String(), "the watcher's bond came back")
	for _, j := range []*demo.Job{lazy, silent, targeted} {
		assert.GreaterOrEqual(t, bigOf(t, j.Stake).Cmp(price), 0, "%s stake covers the price", j.Role)
		assert.Positive(t, bigOf(t, j.Bounty).Sign())
	}

	// Audit: every check that needs nothing but the receipt, the policy and the model passed.
	assert.True(t, sum.Audit.OK)
	assert.True(t, sum.Audit.OnChain)
	statuses := map[string]verifier.Status{}
	for _, c := range sum.Audit.Checks {
		statuses[c.Name] = c.Status
	}
	for _, name := range []string{"job-id", "job", "class", "seed", "result", "proof", "detection", "attestation", "signature"} {
		assert.Equal(t, verifier.Pass, statuses[name], name)
	}

	for _, act := range []string{"Act 1", "Act 2", "Act 3", "Act 4", "Act 5", "Act 6", "Act 7", "watcher: fetched the published trace", "reads the answer from JobProved", "All acts turned out"} {
		assert.Contains(t, out.String(), act)
	}
	b, err := json.Marshal(sum)
	require.NoError(t, err)
	var back map[string]any
	require.NoError(t, json.Unmarshal(b, &back))
	for _, k := range []string{"jobs", "audit", "text", "balances"} {
		assert.Contains(t, back, k)
	}
}
