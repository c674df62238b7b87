//go:build unix

package e2e

import (
	"context"
	"math/big"
	"sync"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/ethclient"
	"github.com/ethereum/go-ethereum/rpc"
	"github.com/stretchr/testify/require"

	"github.com/probitylabs/probity/chain"
	"github.com/probitylabs/probity/contracts/bindings"
)

// miner mines an empty block on anvil every interval while it is on. Anvil runs with
// automine, so transactions are mined at once; the extra blocks are the ones a job waits
// for between its commit and its seed block. Turning it off freezes a node that has
// committed at exactly that step.
type miner struct {
	rc       *rpc.Client
	interval time.Duration

	mu   sync.Mutex
	stop context.CancelFunc
	done chan struct{}
}

func newMiner(t *testing.T, rc *rpc.Client, interval time.Duration) *miner {
	m := &miner{rc: rc, interval: interval}
	t.Cleanup(m.off)
	return m
}

func (m *miner) on() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.stop != nil {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	m.stop, m.done = cancel, make(chan struct{})
	go func() {
		defer close(m.done)
		t := time.NewTicker(m.interval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				_ = m.rc.CallContext(ctx, nil, "evm_mine")
			}
		}
	}()
}

func (m *miner) off() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.stop == nil {
		return
	}
	m.stop()
	<-m.done
	m.stop, m.done = nil, nil
}

// headTime is the latest block's timestamp.
func headTime(t *testing.T, ctx context.Context, ec *ethclient.Client) uint64 {
	t.Helper()
	h, err := ec.HeaderByNumber(ctx, nil)
	require.NoError(t, err)
	return h.Time
}

// advancePast moves anvil's clock so that the next block's timestamp is after ts, and
// mines that block.
func advancePast(t *testing.T, ctx context.Context, rc *rpc.Client, ec *ethclient.Client, ts uint64) {
	t.Helper()
	if now := headTime(t, ctx, ec); now <= ts {
		require.NoError(t, rc.CallContext(ctx, nil, "evm_increaseTime", ts-now+1))
	}
	require.NoError(t, rc.CallContext(ctx, nil, "evm_mine"))
	require.Greater(t, headTime(t, ctx, ec), ts)
}

// tokenView reads the token's books directly, for the final audit of every balance.
type tokenView struct {
	ec    *ethclient.Client
	addrs chain.Addresses
	token *bindings.DevToken
}

func newTokenView(ec *ethclient.Client, addrs chain.Addresses) tokenView {
	return tokenView{ec: ec, addrs: addrs, token: bindings.NewDevToken()}
}

func (v tokenView) call(t *testing.T, ctx context.Context, to common.Address, data []byte) []byte {
	t.Helper()
	out, err := v.ec.CallContract(ctx, ethereum.CallMsg{To: &to, Data: data}, nil)
	require.NoError(t, err)
	return out
}

func (v tokenView) balance(t *testing.T, ctx context.Context, a common.Address) *big.Int {
	t.Helper()
	b, err := v.token.UnpackBalanceOf(v.call(t, ctx, v.addrs.Token, v.token.PackBalanceOf(a)))
	require.NoError(t, err)
	return b
}

func (v tokenView) totalSupply(t *testing.T, ctx context.Context) *big.Int {
	t.Helper()
	s, err := v.token.UnpackTotalSupply(v.call(t, ctx, v.addrs.Token, v.token.PackTotalSupply()))
	require.NoError(t, err)
	return s
}

// holders is every address that ever sent or received the token (from its Transfer
// logs; a mint sends from the zero address, which is left out).
func (v tokenView) holders(t *testing.T, ctx context.Context) map[common.Address]bool {
	t.Helper()
	logs, err := v.ec.FilterLogs(ctx, ethereum.FilterQuery{FromBlock: big.NewInt(0), Addresses: []common.Address{v.addrs.Token},
		Topics: [][]common.Hash{{crypto.Keccak256Hash([]byte("Transfer(address,address,uint256)"))}}})
	require.NoError(t, err)
	out := map[common.Address]bool{}
	for i := range logs {
		ev, err := v.token.UnpackTransferEvent(&logs[i])
		require.NoError(t, err)
		for _, a := range []common.Address{ev.From, ev.To} {
			if a != (common.Address{}) {
				out[a] = true
			}
		}
	}
	return out
}
