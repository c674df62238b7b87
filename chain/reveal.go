package chain

import (
	"context"
	"errors"
	"fmt"
	"math/big"

	"github.com/ethereum/go-ethereum"
	bind "github.com/ethereum/go-ethereum/accounts/abi/bind/v2"

	"github.com/probitylabs/probity/protocol"
)

// ErrSecretNotFound is returned by RevealedSecret when a job's seed was revealed but no part
// of the revealing transaction's input hashes to the job's seed commitment (a reveal made
// by a contract that computed the secret itself).
var ErrSecretNotFound = errors.New("chain: revealed seed secret not found in the transaction input")

// FilterJobAbandoned returns the JobAbandoned events in r.
func (c *Client) FilterJobAbandoned(ctx context.Context, r EventRange) ([]*JobAbandoned, error) {
	it, err := bind.FilterEvents(c.d.Manager, &bind.FilterOpts{Context: ctx, Start: r.Start, End: r.End}, c.manager.UnpackJobAbandonedEvent)
	return collect(it, err)
}

// RevealedSecret returns the buyer's seed secret of a job whose seed was fixed by revealSeed
// (spec §6.2), searching r for the job's SeedFixed event; revealed is false (and the secret
// zero) when the seed was fixed without it, or is not fixed in r.
//
// SeedFixed does not carry the secret, so it is read from the input of the transaction that
// emitted the event: any 32 bytes of it that hash to the job's commitment are the secret.
// Scanning the whole input rather than decoding revealSeed's calldata also finds a reveal
// sent through a wallet contract, which wraps the call in its own calldata.
func (c *Client) RevealedSecret(ctx context.Context, jobID *big.Int, r EventRange) (secret [32]byte, revealed bool, err error) {
	it, err := bind.FilterEvents(c.d.Manager, &bind.FilterOpts{Context: ctx, Start: r.Start, End: r.End},
		c.manager.UnpackSeedFixedEvent, []any{jobID})
	evs, err := collect(it, err)
	if err != nil {
		return secret, false, err
	}
	var ev *SeedFixed
	for _, e := range evs {
		if e.JobId != nil && e.JobId.Cmp(jobID) == 0 {
			ev = e
		}
	}
	if ev == nil || !ev.Revealed {
		return secret, false, nil
	}
	job, err := c.GetJob(ctx, jobID)
	if err != nil {
		return secret, true, err
	}
	tr, ok := c.backend.(ethereum.TransactionReader)
	if !ok {
		return secret, true, fmt.Errorf("chain: backend %T cannot read transactions", c.backend)
	}
	tx, _, err := tr.TransactionByHash(ctx, ev.Raw.TxHash)
	if err != nil {
		return secret, true, fmt.Errorf("chain: reading transaction %s: %w", ev.Raw.TxHash, err)
	}
	in := tx.Data()
	for i := 0; i+32 <= len(in); i++ {
		copy(secret[:], in[i:i+32])
		if protocol.SeedCommitment(secret) == job.SeedCommitment {
			return secret, true, nil
		}
	}
	return [32]byte{}, true, fmt.Errorf("%w: job %v, transaction %s", ErrSecretNotFound, jobID, ev.Raw.TxHash)
}
