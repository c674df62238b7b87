package prover

import (
	"context"
	"crypto/ecdsa"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/big"
	"math/rand/v2"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/rpc"

	"github.com/probitylabs/probity/chain"
	"github.com/probitylabs/probity/internal/atomicfile"
)

// Transient reports whether err is worth retrying: the endpoint could not be reached or
// answered with a server-side HTTP failure. Answers of a working node (reverts, "not
// found", JSON-RPC errors) are not transient: retrying cannot change them.
func Transient(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, ethereum.NotFound) {
		return false
	}
	if strings.Contains(err.Error(), "transaction indexing is in progress") {
		return true // a node still indexing after a restart answers this for receipts
	}
	var he rpc.HTTPError
	if errors.As(err, &he) {
		return he.StatusCode >= 500 || he.StatusCode == 429
	}
	var phe *rpc.HTTPError
	if errors.As(err, &phe) {
		return phe.StatusCode >= 500 || phe.StatusCode == 429
	}
	var re rpc.Error
	if errors.As(err, &re) {
		return false
	}
	if errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	var ne net.Error
	if errors.As(err, &ne) {
		return true
	}
	var ue *url.Error
	return errors.As(err, &ue)
}

// RetryPolicy bounds retries: attempt n waits a uniformly random time in
// [0, min(Max, Min*2^n)] ("full jitter"), so many nodes hitting a restarted endpoint do
// not come back in lockstep.
type RetryPolicy struct {
	Retries int
	Min     time.Duration
	Max     time.Duration
	// OnRetry is told about every retried failure (metrics, logs). May be nil.
	OnRetry func(op string, attempt int, err error)
}

func (p RetryPolicy) backoff(attempt int) time.Duration {
	d := p.Min << min(attempt, 30)
	if d > p.Max || d <= 0 {
		d = p.Max
	}
	return time.Duration(rand.Int64N(int64(d) + 1))
}

func retry[T any](ctx context.Context, p RetryPolicy, op string, f func() (T, error)) (T, error) {
	for attempt := 0; ; attempt++ {
		v, err := f()
		if err == nil || !Transient(err) || attempt >= p.Retries || ctx.Err() != nil {
			return v, err
		}
		if p.OnRetry != nil {
			p.OnRetry(op, attempt+1, err)
		}
		t := time.NewTimer(p.backoff(attempt))
		select {
		case <-ctx.Done():
			t.Stop()
			return v, err
		case <-t.C:
		}
	}
}

// ResilientBackend wraps a chain.Backend: every call is retried on transient failures,
// and transactions sent from Key are tracked by nonce: a transaction still unmined
// StuckAfter after it (or its last replacement) was sent is replaced by the same
// transaction with both fee caps raised by BumpPercent. Receipt lookups for any hash of
// the group answer with the receipt of whichever was mined, so callers waiting on the
// original hash never notice the replacement.
type ResilientBackend struct {
	chain.Backend
	Policy      RetryPolicy
	Key         *ecdsa.PrivateKey
	StuckAfter  time.Duration
	BumpPercent int
	// OnReplace is told about every replacement. May be nil.
	OnReplace func(nonce uint64, old, new common.Hash)
	// PendingDir, when set, keeps the newest transaction of every unmined group on disk as
	// PendingDir/<nonce>.tx, so that a restarted node goes on replacing what a crash left
	// stuck (Restore, Pump). Without it a stuck transaction sent before a crash blocks every
	// later nonce of the key until it is mined.
	PendingDir string
	// OnStoreError is told when PendingDir cannot be written. May be nil.
	OnStoreError func(err error)

	mu     sync.Mutex
	groups map[common.Hash]*txGroup
}

type txGroup struct {
	nonce    uint64
	txs      []*types.Transaction // oldest first
	lastSent time.Time
}

// NewResilientBackend wraps b.
func NewResilientBackend(b chain.Backend, key *ecdsa.PrivateKey, p RetryPolicy, stuckAfter time.Duration, bumpPercent int) *ResilientBackend {
	return &ResilientBackend{Backend: b, Policy: p, Key: key, StuckAfter: stuckAfter, BumpPercent: bumpPercent,
		groups: map[common.Hash]*txGroup{}}
}

func (r *ResilientBackend) CodeAt(ctx context.Context, a common.Address, n *big.Int) ([]byte, error) {
	return retry(ctx, r.Policy, "eth_getCode", func() ([]byte, error) { return r.Backend.CodeAt(ctx, a, n) })
}

func (r *ResilientBackend) CallContract(ctx context.Context, m ethereum.CallMsg, n *big.Int) ([]byte, error) {
	return retry(ctx, r.Policy, "eth_call", func() ([]byte, error) { return r.Backend.CallContract(ctx, m, n) })
}

func (r *ResilientBackend) HeaderByNumber(ctx context.Context, n *big.Int) (*types.Header, error) {
	return retry(ctx, r.Policy, "eth_getBlockByNumber", func() (*types.Header, error) { return r.Backend.HeaderByNumber(ctx, n) })
}

func (r *ResilientBackend) PendingCodeAt(ctx context.Context, a common.Address) ([]byte, error) {
	return retry(ctx, r.Policy, "eth_getCode", func() ([]byte, error) { return r.Backend.PendingCodeAt(ctx, a) })
}

func (r *ResilientBackend) PendingNonceAt(ctx context.Context, a common.Address) (uint64, error) {
	return retry(ctx, r.Policy, "eth_getTransactionCount", func() (uint64, error) { return r.Backend.PendingNonceAt(ctx, a) })
}

func (r *ResilientBackend) SuggestGasPrice(ctx context.Context) (*big.Int, error) {
	return retry(ctx, r.Policy, "eth_gasPrice", func() (*big.Int, error) { return r.Backend.SuggestGasPrice(ctx) })
}

func (r *ResilientBackend) SuggestGasTipCap(ctx context.Context) (*big.Int, error) {
	return retry(ctx, r.Policy, "eth_maxPriorityFeePerGas", func() (*big.Int, error) { return r.Backend.SuggestGasTipCap(ctx) })
}

func (r *ResilientBackend) EstimateGas(ctx context.Context, m ethereum.CallMsg) (uint64, error) {
	return retry(ctx, r.Policy, "eth_estimateGas", func() (uint64, error) { return r.Backend.EstimateGas(ctx, m) })
}

func (r *ResilientBackend) FilterLogs(ctx context.Context, q ethereum.FilterQuery) ([]types.Log, error) {
	return retry(ctx, r.Policy, "eth_getLogs", func() ([]types.Log, error) { return r.Backend.FilterLogs(ctx, q) })
}

func (r *ResilientBackend) ChainID(ctx context.Context) (*big.Int, error) {
	return retry(ctx, r.Policy, "eth_chainId", func() (*big.Int, error) { return r.Backend.ChainID(ctx) })
}

func (r *ResilientBackend) BlockNumber(ctx context.Context) (uint64, error) {
	return retry(ctx, r.Policy, "eth_blockNumber", func() (uint64, error) { return r.Backend.BlockNumber(ctx) })
}

// alreadyKnown reports a node saying it has this transaction (or a mined one with its
// nonce): after a retried send, that means the first attempt got through.
func alreadyKnown(err error) bool {
	if err == nil {
		return false
	}
	m := strings.ToLower(err.Error())
	return strings.Contains(m, "already known") || strings.Contains(m, "known transaction") ||
		strings.Contains(m, "nonce too low") || strings.Contains(m, "already imported")
}

// SendTransaction sends tx with retries and starts tracking it for replacement.
func (r *ResilientBackend) SendTransaction(ctx context.Context, tx *types.Transaction) error {
	attempt := 0
	_, err := retry(ctx, r.Policy, "eth_sendRawTransaction", func() (struct{}, error) {
		err := r.Backend.SendTransaction(ctx, tx)
		if attempt > 0 && alreadyKnown(err) {
			err = nil
		}
		attempt++
		return struct{}{}, err
	})
	if err != nil {
		return err
	}
	if r.Key != nil && r.StuckAfter > 0 {
		if from, serr := types.Sender(types.LatestSignerForChainID(tx.ChainId()), tx); serr == nil && from == crypto.PubkeyToAddress(r.Key.PublicKey) {
			g := &txGroup{nonce: tx.Nonce(), txs: []*types.Transaction{tx}, lastSent: time.Now()}
			r.mu.Lock()
			r.groups[tx.Hash()] = g
			r.mu.Unlock()
			r.store(g.nonce, tx)
		}
	}
	return nil
}

// TransactionReceipt answers for a tracked transaction with the receipt of whichever
// member of its replacement group was mined, replacing it when it is stuck.
func (r *ResilientBackend) TransactionReceipt(ctx context.Context, h common.Hash) (*types.Receipt, error) {
	r.mu.Lock()
	g := r.groups[h]
	var txs []*types.Transaction
	if g != nil {
		txs = append(txs, g.txs...)
	}
	r.mu.Unlock()
	if g == nil {
		return retry(ctx, r.Policy, "eth_getTransactionReceipt", func() (*types.Receipt, error) { return r.Backend.TransactionReceipt(ctx, h) })
	}
	for i := len(txs) - 1; i >= 0; i-- {
		rc, err := retry(ctx, r.Policy, "eth_getTransactionReceipt", func() (*types.Receipt, error) {
			return r.Backend.TransactionReceipt(ctx, txs[i].Hash())
		})
		if err == nil && rc != nil {
			r.forget(g)
			return rc, nil
		}
		if err != nil && !errors.Is(err, ethereum.NotFound) {
			return nil, err
		}
	}
	r.mu.Lock()
	stuck := time.Since(g.lastSent) > r.StuckAfter
	r.mu.Unlock()
	if stuck {
		r.replace(ctx, g)
	}
	return nil, ethereum.NotFound
}

func (r *ResilientBackend) forget(g *txGroup) {
	r.mu.Lock()
	for _, tx := range g.txs {
		delete(r.groups, tx.Hash())
	}
	r.mu.Unlock()
	r.unstore(g.nonce)
}

func (r *ResilientBackend) pendingPath(nonce uint64) string {
	return filepath.Join(r.PendingDir, fmt.Sprintf("%020d.tx", nonce))
}

// store records tx as the newest of its nonce's group.
func (r *ResilientBackend) store(nonce uint64, tx *types.Transaction) {
	if r.PendingDir == "" {
		return
	}
	b, err := tx.MarshalBinary()
	if err == nil {
		err = os.MkdirAll(r.PendingDir, 0o700)
	}
	if err == nil {
		err = atomicfile.Write(r.pendingPath(nonce), b)
	}
	if err != nil && r.OnStoreError != nil {
		r.OnStoreError(fmt.Errorf("recording pending transaction %s: %w", tx.Hash(), err))
	}
}

func (r *ResilientBackend) unstore(nonce uint64) {
	if r.PendingDir == "" {
		return
	}
	if err := os.Remove(r.pendingPath(nonce)); err != nil && !errors.Is(err, fs.ErrNotExist) && r.OnStoreError != nil {
		r.OnStoreError(err)
	}
}

// Restore reads the transactions a previous run left unmined in PendingDir and tracks them
// again: one already mined, or whose nonce another transaction used, is dropped; the rest
// are sent again (a node that restarted may have lost them) and, being as old as their
// file, replaced by Pump once StuckAfter has passed. It returns how many it tracks.
func (r *ResilientBackend) Restore(ctx context.Context) (int, error) {
	if r.PendingDir == "" {
		return 0, nil
	}
	entries, err := os.ReadDir(r.PendingDir)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	n := 0
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".tx") {
			continue
		}
		path := filepath.Join(r.PendingDir, e.Name())
		b, err := os.ReadFile(path)
		if err != nil {
			return n, err
		}
		tx := new(types.Transaction)
		if err := tx.UnmarshalBinary(b); err != nil {
			return n, fmt.Errorf("pending transaction %s: %w", path, err)
		}
		if path != r.pendingPath(tx.Nonce()) {
			return n, fmt.Errorf("pending transaction %s holds nonce %d", path, tx.Nonce())
		}
		rc, err := retry(ctx, r.Policy, "eth_getTransactionReceipt", func() (*types.Receipt, error) {
			return r.Backend.TransactionReceipt(ctx, tx.Hash())
		})
		switch {
		case err == nil && rc != nil:
			r.unstore(tx.Nonce())
			continue
		case err != nil && !errors.Is(err, ethereum.NotFound):
			return n, err
		}
		if err := r.Backend.SendTransaction(ctx, tx); err != nil && strings.Contains(strings.ToLower(err.Error()), "nonce too low") {
			r.unstore(tx.Nonce()) // another transaction of this nonce was mined
			continue
		}
		sent := time.Now()
		if info, err := e.Info(); err == nil {
			sent = info.ModTime()
		}
		r.mu.Lock()
		r.groups[tx.Hash()] = &txGroup{nonce: tx.Nonce(), txs: []*types.Transaction{tx}, lastSent: sent}
		r.mu.Unlock()
		n++
	}
	return n, nil
}

// Pump checks every tracked group each interval until ctx ends: a mined one is forgotten, a
// stuck one replaced. Callers waiting on a receipt do the same for their own transaction;
// Pump covers transactions nobody waits on any more (restored after a crash, or abandoned
// by a cancelled step) that would otherwise block the key's later nonces.
func (r *ResilientBackend) Pump(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		r.mu.Lock()
		firsts := map[*txGroup]common.Hash{}
		for _, g := range r.groups {
			firsts[g] = g.txs[0].Hash()
		}
		r.mu.Unlock()
		for _, h := range firsts {
			_, _ = r.TransactionReceipt(ctx, h)
		}
	}
}

func bump(v *big.Int, pct int) *big.Int {
	out := new(big.Int).Mul(v, big.NewInt(int64(100+pct)))
	out.Add(out, big.NewInt(99)) // round up, so a 1-wei fee still rises
	return out.Quo(out, big.NewInt(100))
}

// replace re-signs the newest transaction of g with higher fees and sends it.
func (r *ResilientBackend) replace(ctx context.Context, g *txGroup) {
	r.mu.Lock()
	last := g.txs[len(g.txs)-1]
	g.lastSent = time.Now() // one replacement per StuckAfter, even if this one fails
	r.mu.Unlock()
	var inner types.TxData
	switch last.Type() {
	case types.LegacyTxType:
		price := bump(last.GasPrice(), r.BumpPercent)
		if s, err := r.Backend.SuggestGasPrice(ctx); err == nil && s.Cmp(price) > 0 {
			price = s
		}
		inner = &types.LegacyTx{Nonce: last.Nonce(), GasPrice: price, Gas: last.Gas(), To: last.To(), Value: last.Value(), Data: last.Data()}
	case types.DynamicFeeTxType:
		tip, feeCap := bump(last.GasTipCap(), r.BumpPercent), bump(last.GasFeeCap(), r.BumpPercent)
		if h, err := r.Backend.HeaderByNumber(ctx, nil); err == nil && h.BaseFee != nil {
			// The replacement must also clear the current base fee.
			if need := new(big.Int).Add(new(big.Int).Mul(h.BaseFee, big.NewInt(2)), tip); need.Cmp(feeCap) > 0 {
				feeCap = need
			}
		}
		inner = &types.DynamicFeeTx{ChainID: last.ChainId(), Nonce: last.Nonce(), GasTipCap: tip, GasFeeCap: feeCap,
			Gas: last.Gas(), To: last.To(), Value: last.Value(), Data: last.Data(), AccessList: last.AccessList()}
	default:
		return
	}
	signed, err := types.SignNewTx(r.Key, types.LatestSignerForChainID(last.ChainId()), inner)
	if err != nil {
		return
	}
	if err := r.Backend.SendTransaction(ctx, signed); err != nil && !alreadyKnown(err) {
		if r.Policy.OnRetry != nil {
			r.Policy.OnRetry("replace", 0, err)
		}
		return
	}
	r.mu.Lock()
	g.txs = append(g.txs, signed)
	r.groups[signed.Hash()] = g
	r.mu.Unlock()
	r.store(g.nonce, signed)
	if r.OnReplace != nil {
		r.OnReplace(g.nonce, last.Hash(), signed.Hash())
	}
}
