package chain

import (
	"context"
	"crypto/ecdsa"
	"errors"
	"fmt"
	"math/big"
	"sync"
	"time"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/accounts/abi/bind/v2"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
)

// Backend is what the client needs from a chain: ethclient.Client, the
// simulated backend's client and any JSON-RPC endpoint wrapper satisfy it.
type Backend interface {
	bind.ContractBackend
	bind.DeployBackend
	ethereum.ChainIDReader
	ethereum.BlockNumberReader
}

// Sender signs and sends transactions from one key. It assigns nonces itself,
// so concurrent sends from the same Sender never collide, and waits for each
// receipt. A send that fails before reaching the chain returns its nonce.
type Sender struct {
	backend Backend
	key     *ecdsa.PrivateKey
	from    common.Address
	chainID *big.Int

	// PollInterval is how often a pending transaction's receipt is polled.
	PollInterval time.Duration

	mu    sync.Mutex
	nonce *uint64
}

// NewSender returns a sender for key on backend.
func NewSender(ctx context.Context, backend Backend, key *ecdsa.PrivateKey) (*Sender, error) {
	if key == nil {
		return nil, errors.New("chain: nil private key")
	}
	id, err := backend.ChainID(ctx)
	if err != nil {
		return nil, fmt.Errorf("chain: reading chain id: %w", err)
	}
	return &Sender{
		backend:      backend,
		key:          key,
		from:         crypto.PubkeyToAddress(key.PublicKey),
		chainID:      id,
		PollInterval: 50 * time.Millisecond,
	}, nil
}

// From is the sending account.
func (s *Sender) From() common.Address { return s.from }

// ChainID is the chain the sender signs for.
func (s *Sender) ChainID() *big.Int { return new(big.Int).Set(s.chainID) }

// Transact sends calldata to contract and waits until it is mined. A revert
// found while estimating gas comes back as a *RevertError; a mined transaction
// that failed as a *TxFailedError (both match ErrReverted).
func (s *Sender) Transact(ctx context.Context, contract *bind.BoundContract, data []byte) (*types.Receipt, error) {
	tx, err := s.send(ctx, func(opts *bind.TransactOpts) (*types.Transaction, error) {
		return bind.Transact(contract, opts, data)
	})
	if err != nil {
		return nil, err
	}
	return s.Wait(ctx, tx)
}

// Deploy creates a contract from bytecode and constructor input and waits for
// it. It returns the new address and the receipt.
func (s *Sender) Deploy(ctx context.Context, bytecode, input []byte) (common.Address, *types.Receipt, error) {
	var addr common.Address
	tx, err := s.send(ctx, func(opts *bind.TransactOpts) (*types.Transaction, error) {
		a, tx, err := bind.DeployContract(opts, bytecode, s.backend, input)
		addr = a
		return tx, err
	})
	if err != nil {
		return common.Address{}, nil, err
	}
	rcpt, err := s.Wait(ctx, tx)
	if err != nil {
		return common.Address{}, nil, err
	}
	return addr, rcpt, nil
}

func (s *Sender) send(ctx context.Context, do func(*bind.TransactOpts) (*types.Transaction, error)) (*types.Transaction, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.nonce == nil {
		n, err := s.backend.PendingNonceAt(ctx, s.from)
		if err != nil {
			return nil, fmt.Errorf("chain: reading nonce of %s: %w", s.from, err)
		}
		s.nonce = &n
	}
	opts := bind.NewKeyedTransactor(s.key, s.chainID)
	opts.Context = ctx
	opts.Nonce = new(big.Int).SetUint64(*s.nonce)
	tx, err := do(opts)
	if err != nil {
		// Re-read the nonce next time: the chain may know better than we do.
		s.nonce = nil
		return nil, decodeRevert(err)
	}
	*s.nonce++
	return tx, nil
}

// Wait polls for tx's receipt until it is mined or ctx ends.
func (s *Sender) Wait(ctx context.Context, tx *types.Transaction) (*types.Receipt, error) {
	t := time.NewTicker(s.PollInterval)
	defer t.Stop()
	for {
		rcpt, err := s.backend.TransactionReceipt(ctx, tx.Hash())
		if err == nil && rcpt != nil {
			if rcpt.Status != types.ReceiptStatusSuccessful {
				return rcpt, &TxFailedError{Hash: tx.Hash(), Receipt: rcpt}
			}
			return rcpt, nil
		}
		if err != nil && !errors.Is(err, ethereum.NotFound) && !indexing(err) {
			return nil, fmt.Errorf("chain: receipt of %s: %w", tx.Hash(), err)
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("chain: waiting for %s: %w", tx.Hash(), ctx.Err())
		case <-t.C:
		}
	}
}

// indexing reports go-ethereum's "transaction indexing is in progress": the node has not
// indexed the block holding the transaction yet (a simulated chain mining on a timer, a node
// catching up), so the receipt is not known yet rather than missing.
func indexing(err error) bool {
	var de interface{ ErrorData() any }
	if !errors.As(err, &de) {
		return false
	}
	s, _ := de.ErrorData().(string)
	return s == "transaction indexing is in progress"
}
