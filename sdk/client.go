package sdk

import (
	"context"
	"crypto/ecdsa"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/ethclient"

	"github.com/probitylabs/probity/chain"
	"github.com/probitylabs/probity/circuits/universal"
)

// Addresses locate a deployment (token, provider registry, class registry, result hasher,
// SLA manager).
type Addresses = chain.Addresses

// Client acts on one deployment as one account, normally a buyer (any account may also
// slash a late job and withdraw its balance).
type Client struct {
	market  *chain.Market
	backend chain.Backend
	key     *ecdsa.PrivateKey
	// PollInterval paces Watch and every Wait (default 500 ms; 20 ms on a simulated chain).
	PollInterval time.Duration
	// FromBlock is the first block searched for a job's events (default 0). Set it to the
	// deployment block on long-lived chains.
	FromBlock uint64
	// HTTP fetches receipts over http(s) (http.DefaultClient when nil).
	HTTP *http.Client
	// Secrets holds the seed secrets the client reveals (in memory by default; give it a
	// directory to keep them across restarts: NewSecrets).
	Secrets *Secrets
	// Classes are width classes the client knows by their parameters beyond the catalogue
	// (universal.Classes): a class the on-chain registry names only by id is used from the
	// model catalogue (Prepare), and a receipt's class checked (Receipt), only when known.
	Classes []*universal.Class
}

// Connect dials an EVM RPC endpoint and acts as key on the deployment at addrs.
func Connect(ctx context.Context, rpcURL string, key *ecdsa.PrivateKey, addrs Addresses) (*Client, error) {
	ec, err := ethclient.DialContext(ctx, rpcURL)
	if err != nil {
		return nil, fmt.Errorf("sdk: dialing %s: %w", rpcURL, err)
	}
	return NewClient(ctx, ec, key, addrs)
}

// NewClient acts as key on the deployment at addrs through any chain backend (an RPC client,
// or a simulated chain's Client()).
func NewClient(ctx context.Context, backend chain.Backend, key *ecdsa.PrivateKey, addrs Addresses) (*Client, error) {
	if key == nil {
		return nil, errors.New("sdk: nil key")
	}
	m, err := chain.NewMarket(ctx, backend, addrs, key)
	if err != nil {
		return nil, fmt.Errorf("sdk: %w", err)
	}
	return &Client{market: m, backend: backend, key: key, PollInterval: 500 * time.Millisecond, Secrets: &Secrets{}}, nil
}

// Address is the client's account.
func (c *Client) Address() common.Address { return c.market.Address() }

// Market exposes the lower-level chain client (every contract call, typed results).
func (c *Client) Market() *chain.Market { return c.market }

// Addresses of the deployment.
func (c *Client) Addresses() Addresses { return c.market.Addresses() }

// ChainID of the connected chain.
func (c *Client) ChainID() *big.Int { return c.market.ChainID() }

// BlockNumber is the number of the chain's latest block.
func (c *Client) BlockNumber(ctx context.Context) (uint64, error) {
	n, err := c.backend.BlockNumber(ctx)
	if err != nil {
		return 0, fmt.Errorf("sdk: block number: %w", err)
	}
	return n, nil
}

// Now is the latest block's timestamp: the clock every deadline of a job is measured on.
func (c *Client) Now(ctx context.Context) (uint64, error) {
	h, err := c.backend.HeaderByNumber(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("sdk: latest header: %w", err)
	}
	return h.Time, nil
}

func (c *Client) httpClient() *http.Client {
	if c.HTTP != nil {
		return c.HTTP
	}
	return http.DefaultClient
}

func (c *Client) wait(ctx context.Context, what string) error {
	select {
	case <-ctx.Done():
		return fmt.Errorf("sdk: %s: %w", what, ctx.Err())
	case <-time.After(c.PollInterval):
		return nil
	}
}

// ---------------------------------------------------------------- money

// Balance is what Withdraw would pay the client now: its manager balance (refunds, payments,
// slashed escrow) and its slashed-stake credit.
func (c *Client) Balance(ctx context.Context) (*big.Int, error) {
	b, err := c.market.BalanceOf(ctx, c.Address())
	return b, wrap("balance", err)
}

// Approve lets the manager pull amount tokens from the client (the allowance replaces the
// previous one). A posted or locked request whose price the escrow balance does not cover is
// escrowed by transferFrom within this allowance.
func (c *Client) Approve(ctx context.Context, amount *big.Int) error {
	_, err := c.market.Approve(ctx, c.Addresses().Manager, amount)
	return wrap("approving the manager", err)
}

// Deposit moves amount tokens into the client's escrow balance at the manager (it approves
// the manager for amount first when the allowance is short). Requests are escrowed from this
// balance when it covers their price, so a buyer that deposits ahead signs offers that need
// no allowance.
func (c *Client) Deposit(ctx context.Context, amount *big.Int) error {
	allowance, err := c.market.Allowance(ctx, c.Address(), c.Addresses().Manager)
	if err != nil {
		return wrap("reading the allowance", err)
	}
	if allowance.Cmp(amount) < 0 {
		if err := c.Approve(ctx, amount); err != nil {
			return err
		}
	}
	_, err = c.market.Deposit(ctx, amount)
	return wrap("depositing", err)
}

// Withdraw pays out the client's balance and returns the amount. It fails with
// *NothingToWithdrawError when there is none.
func (c *Client) Withdraw(ctx context.Context) (*big.Int, error) {
	return c.WithdrawTo(ctx, c.Address())
}

// WithdrawTo pays the client's balance to another address.
func (c *Client) WithdrawTo(ctx context.Context, to common.Address) (*big.Int, error) {
	r, err := c.market.WithdrawTo(ctx, to)
	if err != nil {
		return nil, wrap("withdrawing", err)
	}
	return r.Withdrawn.Amount, nil
}

// Finalize settles proved jobs whose challenge window ended (anyone may): the provider is paid
// and the jobs become final. Jobs not yet payable are passed over.
func (c *Client) Finalize(ctx context.Context, jobIDs ...*big.Int) ([]*chain.JobSettled, error) {
	r, err := c.market.Finalize(ctx, jobIDs)
	if err != nil {
		return nil, wrap("finalizing", err)
	}
	return r.Settled, nil
}

// Collect finalizes jobIDs and pays the client's balance to to in one transaction (a provider
// collecting its payments; a buyer collecting refunds passes no ids). It returns the amount
// paid.
func (c *Client) Collect(ctx context.Context, to common.Address, jobIDs ...*big.Int) (*big.Int, error) {
	if jobIDs == nil {
		jobIDs = []*big.Int{}
	}
	r, err := c.market.Collect(ctx, jobIDs, to)
	if err != nil {
		return nil, wrap("collecting", err)
	}
	return r.Withdrawn.Amount, nil
}
