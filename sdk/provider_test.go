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
	"github.com/probitylabs/probity/sdk"
)

// Stake registers then adds; Events reads a job's history at once; Slash after the commit
// deadline moves the reserved stake to the buyer and reports it.
func TestStakeEventsSlash(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	sim, err := sdk.NewSimulated(ctx, sdk.SimulatedConfig{Accounts: 2})
	require.NoError(t, err)
	defer sim.Close()
	gov, err := sim.Client(ctx, sim.Governance)
	require.NoError(t, err)
	keys := tinySetup(t)
	_, err = gov.RegisterShape(ctx, keys.Shape, keys.VK)
	require.NoError(t, err)
	buyer, err := sim.Client(ctx, sim.Accounts[0])
	require.NoError(t, err)
	prov, err := sim.Client(ctx, sim.Accounts[1])
	require.NoError(t, err)

	// Zero node key: the provider's own address signs.
	registered, err := prov.Stake(ctx, common.Address{}, big.NewInt(5e18))
	require.NoError(t, err)
	assert.True(t, registered)
	nodeKey, _ := crypto.GenerateKey()
	_, err = prov.Stake(ctx, crypto.PubkeyToAddress(nodeKey.PublicKey), big.NewInt(1e18))
	assert.ErrorContains(t, err, "is registered with node key "+prov.Address().Hex())
	registered, err = prov.Stake(ctx, prov.Address(), big.NewInt(1e18))
	require.NoError(t, err)
	assert.False(t, registered)
	st, err := prov.ProviderStake(ctx, prov.Address())
	require.NoError(t, err)
	assert.Equal(t, prov.Address(), st.NodeKey)
	assert.Equal(t, big.NewInt(6e18), st.Free)
	_, err = prov.Stake(ctx, common.Address{}, big.NewInt(0))
	assert.Error(t, err)

	dir := t.TempDir()
	in, mf := writeJob(t, dir)
	job, err := buyer.PostJob(ctx, sdk.JobRequest{InputFile: in, ModelFile: mf, PublishDir: filepath.Join(dir, "pub"),
		Shapes: []string{"tiny"}, Price: big.NewInt(1e18), ExecWindow: time.Minute})
	require.NoError(t, err)

	// Slashing an open job is the contract's WrongState, typed.
	_, err = buyer.Slash(ctx, job.ID)
	var ws *sdk.WrongStateError
	require.True(t, errors.As(err, &ws), "%v", err)
	assert.Equal(t, chain.StateOpen, ws.State)

	_, _, err = prov.Chain().Lock(ctx, job.ID)
	require.NoError(t, err)
	require.NoError(t, sim.Chain.AdjustTime(2*time.Minute))
	slashed, err := buyer.Slash(ctx, job.ID)
	require.NoError(t, err)
	assert.Equal(t, prov.Address(), slashed.Provider)
	assert.Equal(t, buyer.Address(), slashed.Caller)
	assert.Positive(t, slashed.Stake.Sign())

	evs, err := buyer.Events(ctx, job.ID)
	require.NoError(t, err)
	var kinds []string
	for _, e := range evs {
		kinds = append(kinds, typeName(e))
	}
	assert.Equal(t, []string{"Posted", "Locked", "Slashed"}, kinds)
	assert.Equal(t, slashed.Stake, evs[2].(sdk.Slashed).Stake)

	// A cancelled job's history ends with Cancelled.
	job2, err := buyer.PostJob(ctx, sdk.JobRequest{InputFile: in, ModelFile: mf, PublishDir: filepath.Join(dir, "pub2"),
		Shapes: []string{"tiny"}, Price: big.NewInt(1e18)})
	require.NoError(t, err)
	require.NoError(t, buyer.Cancel(ctx, job2.ID))
	evs, err = buyer.Events(ctx, job2.ID)
	require.NoError(t, err)
	require.Len(t, evs, 2)
	assert.Equal(t, "Posted", typeName(evs[0]))
	assert.Equal(t, "Cancelled", typeName(evs[1]))
}
