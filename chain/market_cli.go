package chain

import (
	"context"
	"math/big"

	"github.com/ethereum/go-ethereum/common"
)

// Provider registry calls the node never makes but a provider's operator does by hand
// (`probity unbond`): move free stake to unbonding, and pay it out after the delay.

// RequestUnbond moves amount of the client's free stake to unbonding, where it stays
// slashable for the registry's unbonding delay (each request restarts the delay).
func (m *Market) RequestUnbond(ctx context.Context, amount *big.Int) (*Tx, error) {
	return m.transact(ctx, m.d.Providers, m.providers.PackRequestUnbond(amount))
}

// WithdrawUnbondedTo pays the client's unbonded stake to to, once the delay has passed.
func (m *Market) WithdrawUnbondedTo(ctx context.Context, to common.Address) (*Tx, error) {
	return m.transact(ctx, m.d.Providers, m.providers.PackWithdrawUnbondedTo(to))
}
