package chain

import (
	"cmp"
	"context"
	"fmt"
	"math/big"
	"slices"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
)

// What a buyer needs beyond the transactions of market.go: one job's whole history in one log
// query, and the two amounts that decide whether a signed request can be escrowed at lock.

// FilterJobEvents returns every manager event of jobID in r, decoded by kind, each kind in
// log order (Raw carries block and index). Every job event indexes the job id first, so this
// is one eth_getLogs over the job's topic, where the per-kind filters are one query each.
func (m *Market) FilterJobEvents(ctx context.Context, r EventRange, jobID *big.Int) (Events, error) {
	if jobID == nil || jobID.Sign() < 0 || jobID.BitLen() > 256 {
		return Events{}, fmt.Errorf("chain: job id %v is not a uint256", jobID)
	}
	q := ethereum.FilterQuery{
		FromBlock: new(big.Int).SetUint64(r.Start),
		Addresses: []common.Address{m.d.Addresses.Manager},
		Topics:    [][]common.Hash{nil, {common.BigToHash(jobID)}},
	}
	if r.End != nil {
		q.ToBlock = new(big.Int).SetUint64(*r.End)
	}
	logs, err := m.backend.FilterLogs(ctx, q)
	if err != nil {
		return Events{}, fmt.Errorf("chain: filtering the logs of job %s: %w", jobID, err)
	}
	ptrs := make([]*types.Log, len(logs))
	for i := range logs {
		ptrs[i] = &logs[i]
	}
	slices.SortStableFunc(ptrs, func(a, b *types.Log) int {
		if c := cmp.Compare(a.BlockNumber, b.BlockNumber); c != 0 {
			return c
		}
		return cmp.Compare(a.Index, b.Index)
	})
	ev := m.dec.decode(ptrs)
	// Deposited and Withdrawn index an account, not a job: an account's topic can equal an
	// id only below 2^160, and they are no job's events whatever the id.
	ev.Deposited, ev.Withdrawn = nil, nil
	return ev, nil
}

// Allowance is the token allowance owner gave spender (the manager, for a buyer whose requests
// are escrowed by transferFrom).
func (m *Market) Allowance(ctx context.Context, owner, spender common.Address) (*big.Int, error) {
	out, err := m.call(ctx, m.d.Token, m.token.PackAllowance(owner, spender))
	if err != nil {
		return nil, err
	}
	return m.token.UnpackAllowance(out)
}

// EscrowBalanceOf is the part of account's manager balance that escrows its requests: what
// BalanceOf reports less the slashed-stake credit held by the provider registry, which the
// manager pays out on withdraw but never escrows from.
func (m *Market) EscrowBalanceOf(ctx context.Context, account common.Address) (*big.Int, error) {
	total, err := m.BalanceOf(ctx, account)
	if err != nil {
		return nil, err
	}
	out, err := m.call(ctx, m.d.Providers, m.providers.PackCreditOf(account))
	if err != nil {
		return nil, err
	}
	credit, err := m.providers.UnpackCreditOf(out)
	if err != nil {
		return nil, err
	}
	return total.Sub(total, credit), nil
}

// ChainID is the chain the client sends to.
func (m *Market) ChainID() *big.Int { return new(big.Int).Set(m.sender.ChainID()) }

// Backend is the chain backend the client reads and sends through.
func (m *Market) Backend() Backend { return m.backend }
