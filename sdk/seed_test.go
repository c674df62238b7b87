package sdk_test

import (
	"context"
	"errors"
	"math/big"
	"path/filepath"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/probitylabs/probity/chain"
	"github.com/probitylabs/probity/protocol"
	"github.com/probitylabs/probity/sdk"
)

// expectedSeed recomputes a fixed job's seed from chain data (spec §6.2): the committed
// outputs digest, the seed block's hash and the buyer's secret (zero when fixed without).
func expectedSeed(t *testing.T, ctx context.Context, sim *sdk.Simulated, jobID *big.Int, secret [32]byte) *big.Int {
	t.Helper()
	c, err := sim.Client(ctx, sim.Governance)
	require.NoError(t, err)
	j, err := c.Chain().GetJob(ctx, jobID)
	require.NoError(t, err)
	h, err := sim.Chain.Client().HeaderByNumber(ctx, new(big.Int).SetUint64(j.SeedBlock))
	require.NoError(t, err)
	chainID, err := c.ChainID(ctx)
	require.NoError(t, err)
	return protocol.Seed(chainID, sim.Addresses.Manager, jobID, j.OutputsDigest, h.Hash(), secret)
}

// seedFixture is a deployment with the tiny shape, a buyer and a staked provider.
type seedFixture struct {
	sim         *sdk.Simulated
	buyer, prov *sdk.Client
	in, mf, dir string
}

func newSeedFixture(t *testing.T, ctx context.Context) *seedFixture {
	t.Helper()
	sim, err := sdk.NewSimulated(ctx, sdk.SimulatedConfig{Accounts: 3})
	require.NoError(t, err)
	t.Cleanup(func() { sim.Close() })
	gov, err := sim.Client(ctx, sim.Governance)
	require.NoError(t, err)
	keys := tinySetup(t)
	_, err = gov.RegisterShape(ctx, keys.Shape, keys.VK)
	require.NoError(t, err)
	f := &seedFixture{sim: sim, dir: t.TempDir()}
	f.buyer, err = sim.Client(ctx, sim.Accounts[0])
	require.NoError(t, err)
	f.prov, err = sim.Client(ctx, sim.Accounts[1])
	require.NoError(t, err)
	_, err = f.prov.Stake(ctx, common.Address{}, new(big.Int).Exp(big.NewInt(10), big.NewInt(21), nil))
	require.NoError(t, err)
	f.in, f.mf = writeJob(t, f.dir)
	return f
}

// postCommitted posts a job, and has the provider lock it and commit some output root (no
// proof follows: these tests stop at the seed).
func (f *seedFixture) postCommitted(t *testing.T, ctx context.Context, name string, req sdk.JobRequest) *sdk.Job {
	t.Helper()
	req.InputFile, req.ModelFile, req.PublishDir = f.in, f.mf, filepath.Join(f.dir, name)
	req.Shapes, req.Price = []string{"tiny"}, big.NewInt(1e18)
	job, err := f.buyer.PostJob(ctx, req)
	require.NoError(t, err)
	_, _, err = f.prov.Chain().Lock(ctx, job.ID)
	require.NoError(t, err)
	_, _, err = f.prov.Chain().Commit(ctx, job.ID, []*big.Int{big.NewInt(12345)}, [32]byte{1})
	require.NoError(t, err)
	return job
}

// The buyer's reveal fixes the seed with its secret: the seed is protocol.Seed with the
// secret, the proof clock starts at the reveal, and nobody else can fix it meanwhile.
func TestRevealSeed(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	f := newSeedFixture(t, ctx)
	job := f.postCommitted(t, ctx, "reveal", sdk.JobRequest{ProveWindow: 90 * time.Second})
	require.NotEqual(t, [32]byte{}, job.SeedSecret, "PostJob draws a secret by default")
	rec, err := f.buyer.Chain().GetJob(ctx, job.ID)
	require.NoError(t, err)
	assert.Equal(t, protocol.SeedCommitment(job.SeedSecret), rec.SeedCommitment)
	assert.Zero(t, rec.ProveBy, "no proof deadline before the seed is fixed")
	held, ok := f.buyer.SeedSecret(job.ID)
	assert.True(t, ok)
	assert.Equal(t, job.SeedSecret, held)

	// Before the seed block: the reveal waits for it rather than fail.
	_, err = f.buyer.RevealSeed(ctx, job.ID, job.SeedSecret)
	var unavailable *sdk.SeedUnavailableError
	require.True(t, errors.As(err, &unavailable), "%v", err)
	assert.Equal(t, rec.SeedBlock, unavailable.SeedBlock)
	f.sim.Chain.Mine(protocol.SeedDelay + 1)
	// Within the reveal window only the secret fixes the seed.
	_, _, err = f.prov.Chain().FixSeed(ctx, job.ID)
	var pending *sdk.RevealPendingError
	require.True(t, errors.As(sdk.DecodeErrorForTest(err), &pending), "%v", err)
	assert.Equal(t, rec.SeedBlock+protocol.RevealBlocks, pending.Until)
	wrong := job.SeedSecret
	wrong[0] ^= 1
	_, err = f.buyer.RevealSeed(ctx, job.ID, wrong)
	var bad *sdk.BadRevealError
	require.True(t, errors.As(err, &bad), "%v", err)
	assert.Equal(t, rec.SeedCommitment, bad.Commitment)
	assert.True(t, errors.Is(err, chain.ErrReverted))

	// Anyone holding the secret may reveal: here the provider, told it off-chain.
	fixed, err := f.prov.RevealSeedWhenReady(ctx, job.ID, job.SeedSecret)
	require.NoError(t, err)
	assert.True(t, fixed.Revealed)
	assert.Equal(t, expectedSeed(t, ctx, f.sim, job.ID, job.SeedSecret), fixed.Seed)
	assert.NotEqual(t, expectedSeed(t, ctx, f.sim, job.ID, [32]byte{}), fixed.Seed, "the secret changes the seed")
	h, err := f.sim.Chain.Client().HeaderByNumber(ctx, new(big.Int).SetUint64(fixed.BlockNumber))
	require.NoError(t, err)
	assert.Equal(t, h.Time+90, fixed.ProveBy, "the proof window runs from the reveal")
	rec, err = f.buyer.Chain().GetJob(ctx, job.ID)
	require.NoError(t, err)
	assert.Equal(t, fixed.Seed, rec.Seed)
	assert.Equal(t, fixed.ProveBy, rec.ProveBy)

	// Once fixed: a second reveal is SeedAlreadyFixed, and waiting returns the same event.
	_, err = f.buyer.RevealSeed(ctx, job.ID, job.SeedSecret)
	var already *sdk.SeedAlreadyFixedError
	require.True(t, errors.As(err, &already), "%v", err)
	again, err := f.buyer.RevealSeedWhenReady(ctx, job.ID, job.SeedSecret)
	require.NoError(t, err)
	assert.Equal(t, fixed.Seed, again.Seed)
	assert.Equal(t, fixed.TxHash, again.TxHash)
	evs, err := f.buyer.Events(ctx, job.ID)
	require.NoError(t, err)
	var kinds []string
	for _, e := range evs {
		kinds = append(kinds, typeName(e))
	}
	assert.Equal(t, []string{"Posted", "Locked", "Committed", "SeedFixed"}, kinds)
}

// A buyer that never reveals delays the seed by RevealBlocks blocks, no more: then anyone
// fixes it without the secret, which counts as zero.
func TestSeedFallbackWithoutReveal(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	f := newSeedFixture(t, ctx)
	job := f.postCommitted(t, ctx, "fallback", sdk.JobRequest{})
	rec, err := f.buyer.Chain().GetJob(ctx, job.ID)
	require.NoError(t, err)

	// FixSeedWhenReady mines a block per poll on the simulated chain until the window passed.
	fixed, err := f.prov.Chain().FixSeedWhenReady(ctx, job.ID, time.Millisecond)
	require.NoError(t, err)
	assert.False(t, fixed.Revealed)
	assert.Equal(t, expectedSeed(t, ctx, f.sim, job.ID, [32]byte{}), fixed.Seed)
	assert.Greater(t, fixed.Raw.BlockNumber, rec.SeedBlock+protocol.RevealBlocks)
	// The buyer's late reveal is refused, and waiting to reveal reports the fallback seed.
	_, err = f.buyer.RevealSeed(ctx, job.ID, job.SeedSecret)
	var already *sdk.SeedAlreadyFixedError
	require.True(t, errors.As(err, &already), "%v", err)
	got, err := f.buyer.RevealSeedWhenReady(ctx, job.ID, job.SeedSecret)
	require.NoError(t, err)
	assert.False(t, got.Revealed)
	assert.Equal(t, fixed.Seed, got.Seed)
}

// NoSeedCommitment posts without a secret: the seed is fixable right after the seed block,
// and there is nothing to reveal.
func TestNoSeedCommitment(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	f := newSeedFixture(t, ctx)
	job := f.postCommitted(t, ctx, "none", sdk.JobRequest{NoSeedCommitment: true})
	assert.Equal(t, [32]byte{}, job.SeedSecret)
	_, ok := f.buyer.SeedSecret(job.ID)
	assert.False(t, ok)
	f.sim.Chain.Mine(protocol.SeedDelay + 1)
	_, err := f.buyer.RevealSeed(ctx, job.ID, [32]byte{7})
	var bad *sdk.BadRevealError
	require.True(t, errors.As(err, &bad), "%v", err)
	assert.Equal(t, [32]byte{}, bad.Commitment)
	assert.Contains(t, err.Error(), "without a seed commitment")
	fixed, _, err := f.prov.Chain().FixSeed(ctx, job.ID)
	require.NoError(t, err)
	assert.False(t, fixed.Revealed)
	assert.Equal(t, expectedSeed(t, ctx, f.sim, job.ID, [32]byte{}), fixed.Seed)

	// A caller-chosen secret is committed as given; with NoSeedCommitment it is refused.
	secret := [32]byte{0: 0xaa, 31: 0x55}
	job2, err := f.buyer.PostJob(ctx, sdk.JobRequest{InputFile: f.in, ModelFile: f.mf, PublishDir: filepath.Join(f.dir, "given"),
		Shapes: []string{"tiny"}, Price: big.NewInt(1), SeedSecret: &secret})
	require.NoError(t, err)
	assert.Equal(t, secret, job2.SeedSecret)
	rec, err := f.buyer.Chain().GetJob(ctx, job2.ID)
	require.NoError(t, err)
	assert.Equal(t, protocol.SeedCommitment(secret), rec.SeedCommitment)
	for name, req := range map[string]sdk.JobRequest{
		"secret and none": {SeedSecret: &secret, NoSeedCommitment: true},
		"zero secret":     {SeedSecret: &[32]byte{}},
		"short exec":      {ExecWindow: 59 * time.Second},
		"short prove":     {ProveWindow: 30 * time.Second},
	} {
		req.InputFile, req.ModelFile, req.PublishDir = f.in, f.mf, filepath.Join(f.dir, "bad")
		req.Shapes, req.Price = []string{"tiny"}, big.NewInt(1)
		_, err := f.buyer.PostJob(ctx, req)
		assert.ErrorIs(t, err, sdk.ErrJobRequest, name)
	}
}

// The contract's own minimum-window check, decoded: governance raised the minimum after the
// client read it, say.
func TestWindowTooShortDecoded(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	f := newSeedFixture(t, ctx)
	gov, err := f.sim.Client(ctx, f.sim.Governance)
	require.NoError(t, err)
	_, err = gov.Chain().SetMinWindows(ctx, 120, 600)
	require.NoError(t, err)
	exec, prove, err := f.buyer.Chain().MinWindows(ctx)
	require.NoError(t, err)
	assert.Equal(t, [2]uint32{120, 600}, [2]uint32{exec, prove})
	spec, err := sdk.BuildSpec(f.in, f.mf, []string{"tiny"})
	require.NoError(t, err)
	_, _, err = f.buyer.Chain().PostJob(ctx, chain.PostJobParams{Spec: spec, Price: big.NewInt(1), LockBy: uint64(time.Now().Unix()) + 3600,
		ExecWindow: 3600, ProveWindow: 300, InputURI: "https://example.org/m.json"})
	var short *sdk.WindowTooShortError
	require.True(t, errors.As(sdk.DecodeErrorForTest(err), &short), "%v", err)
	assert.Equal(t, [4]uint32{3600, 300, 120, 600}, [4]uint32{short.ExecWindow, short.ProveWindow, short.MinExecWindow, short.MinProveWindow})
	assert.ErrorContains(t, short, "exec 3600s, prove 300s; the deployment requires at least 120s and 600s")
	// PostJob reads the raised minimums and refuses before approving.
	_, err = f.buyer.PostJob(ctx, sdk.JobRequest{InputFile: f.in, ModelFile: f.mf, PublishDir: filepath.Join(f.dir, "p"),
		Shapes: []string{"tiny"}, Price: big.NewInt(1), ProveWindow: 5 * time.Minute})
	assert.ErrorIs(t, err, sdk.ErrJobRequest)
	require.True(t, errors.As(err, &short), "%v", err)
	assert.Equal(t, [4]uint32{3600, 300, 120, 600}, [4]uint32{short.ExecWindow, short.ProveWindow, short.MinExecWindow, short.MinProveWindow})
	assert.False(t, errors.Is(err, chain.ErrReverted), "refused before sending")
}

// WithdrawTo pays the credit to another address; the zero address is refused, typed.
func TestWithdrawTo(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	f := newSeedFixture(t, ctx)
	job, err := f.buyer.PostJob(ctx, sdk.JobRequest{InputFile: f.in, ModelFile: f.mf, PublishDir: filepath.Join(f.dir, "w"),
		Shapes: []string{"tiny"}, Price: big.NewInt(3e18)})
	require.NoError(t, err)
	require.NoError(t, f.buyer.Cancel(ctx, job.ID))
	_, err = f.buyer.WithdrawTo(ctx, common.Address{})
	var zero *sdk.ZeroRecipientError
	require.True(t, errors.As(err, &zero), "%v", err)
	cold := crypto.PubkeyToAddress(f.sim.Accounts[2].PublicKey)
	before, err := f.buyer.Chain().TokenBalance(ctx, cold)
	require.NoError(t, err)
	amt, err := f.buyer.WithdrawTo(ctx, cold)
	require.NoError(t, err)
	assert.Equal(t, big.NewInt(3e18), amt)
	after, err := f.buyer.Chain().TokenBalance(ctx, cold)
	require.NoError(t, err)
	assert.Equal(t, big.NewInt(3e18), new(big.Int).Sub(after, before))
	credit, err := f.buyer.Credit(ctx)
	require.NoError(t, err)
	assert.Zero(t, credit.Sign())
}

// Past the reveal window the buyer's reveal is refused (a cheater could otherwise choose
// between the fallback seed and a late reveal), and waiting to reveal ends with the fallback
// seed once someone fixes it.
func TestLateRevealClosed(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	f := newSeedFixture(t, ctx)
	job := f.postCommitted(t, ctx, "late", sdk.JobRequest{})
	rec, err := f.buyer.Chain().GetJob(ctx, job.ID)
	require.NoError(t, err)
	f.sim.Chain.Mine(int(rec.SeedBlock + protocol.RevealBlocks + 1 - f.head(t, ctx)))
	_, err = f.buyer.RevealSeed(ctx, job.ID, job.SeedSecret)
	var closed *sdk.RevealClosedError
	require.True(t, errors.As(err, &closed), "%v", err)
	assert.Equal(t, rec.SeedBlock+protocol.RevealBlocks, closed.Until)

	done := make(chan *sdk.SeedFixed, 1)
	go func() {
		got, err := f.buyer.RevealSeedWhenReady(ctx, job.ID, job.SeedSecret)
		assert.NoError(t, err)
		done <- got
	}()
	fixed, _, err := f.prov.Chain().FixSeed(ctx, job.ID)
	require.NoError(t, err)
	got := <-done
	require.NotNil(t, got)
	assert.False(t, got.Revealed)
	assert.Equal(t, fixed.Seed, got.Seed)
}

// A buyer's second job committed to a secret it already used is refused with a typed error.
func TestReusedSeedSecretRefused(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	f := newSeedFixture(t, ctx)
	secret, err := sdk.NewSeedSecret()
	require.NoError(t, err)
	req := sdk.JobRequest{InputFile: f.in, ModelFile: f.mf, Shapes: []string{"tiny"}, Price: big.NewInt(1e18), SeedSecret: &secret}
	req.PublishDir = filepath.Join(f.dir, "first")
	_, err = f.buyer.PostJob(ctx, req)
	require.NoError(t, err)
	req.PublishDir = filepath.Join(f.dir, "second")
	_, err = f.buyer.PostJob(ctx, req)
	var reused *sdk.SeedCommitmentReusedError
	require.True(t, errors.As(err, &reused), "%v", err)
	assert.Equal(t, protocol.SeedCommitment(secret), reused.Commitment)
}

func (f *seedFixture) head(t *testing.T, ctx context.Context) uint64 {
	t.Helper()
	h, err := f.sim.Chain.Client().BlockNumber(ctx)
	require.NoError(t, err)
	return h
}
