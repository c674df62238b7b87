package verifier

import (
	"context"
	"errors"
	"math/big"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/probitylabs/probity/protocol"
	"github.com/probitylabs/probity/receipt"
)

// seedView answers recheckSeed from fixed values.
type seedView struct {
	hash     [32]byte
	secret   [32]byte
	revealed bool
	err      error
}

func (v seedView) BlockHash(context.Context, uint64) ([32]byte, error) { return v.hash, v.err }
func (v seedView) RevealedSecret(context.Context, *big.Int, uint64) ([32]byte, bool, error) {
	return v.secret, v.revealed, nil
}

// The on-chain seed recheck recomputes spec §6.2's seed from the seed block's hash and the
// buyer's secret: a seed derived otherwise (another secret, none, another block) fails.
func TestRecheckSeed(t *testing.T) {
	ctx := context.Background()
	rc := &receipt.Receipt{ChainID: receipt.NewUint(big.NewInt(31337)), Contract: common.HexToAddress("0x5FbDB2315678afecb367f032d93F642f64180aa3"),
		JobID: receipt.NewUint(big.NewInt(7)), OutputRoots: []receipt.Word{receipt.MustWord(big.NewInt(99))},
		AttestationDigest: receipt.Word{3}, SeedBlock: 40}
	hash, secret := [32]byte{0xbb}, [32]byte{0x5e}
	seedWith := func(s [32]byte) receipt.Word {
		return receipt.MustWord(protocol.Seed(rc.ChainID.Big(), rc.Contract, rc.JobID.Big(), rc.OutputsDigest(), hash, s))
	}

	rc.Seed = seedWith(secret)
	how, err := recheckSeed(ctx, seedView{hash: hash, secret: secret, revealed: true}, rc)
	require.NoError(t, err)
	assert.Equal(t, "seed derived from block 40's hash and the buyer's revealed secret", how)
	for name, v := range map[string]seedView{
		"other secret":     {hash: hash, secret: [32]byte{0x5f}, revealed: true},
		"not revealed":     {hash: hash},
		"other block hash": {hash: [32]byte{0xbc}, secret: secret, revealed: true},
	} {
		_, err := recheckSeed(ctx, v, rc)
		assert.ErrorContains(t, err, "is not derived from block 40's hash", name)
	}

	rc.Seed = seedWith([32]byte{})
	how, err = recheckSeed(ctx, seedView{hash: hash}, rc)
	require.NoError(t, err)
	assert.Contains(t, how, "hash alone")

	boom := errors.New("no such block")
	_, err = recheckSeed(ctx, seedView{err: boom}, rc)
	assert.ErrorIs(t, err, boom)
}
