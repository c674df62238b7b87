package chain

import (
	"bytes"
	"context"
	"fmt"
	"math/big"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"

	"github.com/probitylabs/probity/contracts/bindings"
)

// VerifierKey reads the verifying key of a deployed Groth16Verifier (a class's verifier), so
// a provider checks its proving keys against the chain's before it locks anything.
func (m *Market) VerifierKey(ctx context.Context, verifier common.Address) (VerifyingKey, error) {
	v := bindings.NewGroth16Verifier()
	out, err := m.call(ctx, v.Instance(m.backend, verifier), v.PackVerifyingKey())
	if err != nil {
		return VerifyingKey{}, fmt.Errorf("chain: verifier %s: %w", verifier, err)
	}
	vk, err := v.UnpackVerifyingKey(out)
	if err != nil {
		return VerifyingKey{}, err
	}
	return VerifyingKey{Alpha: vk.Alpha, Beta: vk.Beta, Gamma: vk.Gamma, Delta: vk.Delta, IC: vk.Ic}, nil
}

// TxByHash reads a transaction by hash (ethclient.Client and the simulated chain's client do).
type TxByHash interface {
	TransactionByHash(ctx context.Context, hash common.Hash) (tx *types.Transaction, isPending bool, err error)
}

// RevealedSecret returns the secret of a job whose seed its buyer revealed: the secret word of
// the revealSeed call that emitted the job's SeedFixed event (Revealed), read from the
// transaction's input; from is the first block searched. ok is false when no reveal fixed the
// seed. A reveal made through another contract (an internal call) is not found: the caller
// checks the secret against the seed (protocol.SeedV2) in any case.
func (m *Market) RevealedSecret(ctx context.Context, txs TxByHash, jobID *big.Int, from uint64) (secret [32]byte, ok bool, err error) {
	evs, err := m.FilterJobEvents(ctx, EventRange{Start: from}, jobID)
	if err != nil {
		return secret, false, err
	}
	zero := Request{ModelRoot: new(big.Int), JobDigest: new(big.Int), Price: new(big.Int), Salt: new(big.Int)}
	selector := m.manager.PackRevealSeed(zero, [32]byte{})[:4]
	for _, f := range evs.SeedFixed {
		if !f.Revealed {
			continue
		}
		tx, _, err := txs.TransactionByHash(ctx, f.Raw.TxHash)
		if err != nil {
			return secret, false, fmt.Errorf("chain: reading reveal transaction %s: %w", f.Raw.TxHash, err)
		}
		data := tx.Data()
		// revealSeed(Request, bytes32): the selector, the static request (12 words), the secret.
		if len(data) != 4+13*32 || !bytes.Equal(data[:4], selector) {
			return secret, false, fmt.Errorf("chain: the seed of job %v was revealed by a call that is not revealSeed (transaction %s)", jobID, f.Raw.TxHash)
		}
		copy(secret[:], data[len(data)-32:])
		return secret, true, nil
	}
	return secret, false, nil
}
