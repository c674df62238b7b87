package chain

import (
	"context"
	"math/big"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/eth/ethconfig"
	"github.com/ethereum/go-ethereum/ethclient/simulated"
	"github.com/ethereum/go-ethereum/node"
)

// MinePolicy says when a simulated chain mines blocks.
type MinePolicy int

const (
	// MineOnSend mines a block right after every transaction is sent.
	MineOnSend MinePolicy = iota
	// MineOnInterval mines a block every SimOptions.Interval.
	MineOnInterval
	// MineManually mines only on Simulated.Mine.
	MineManually
)

// SimOptions configures NewSimulated.
type SimOptions struct {
	Policy MinePolicy
	// Interval paces MineOnInterval (default 100ms). With MineOnSend a non-zero Interval also
	// mines a block every Interval, so that blocks keep coming when nobody sends: the seed
	// of a committed job is the hash of a block mined after the commit.
	Interval time.Duration
	// Balance given to every funded account (default 10^24 wei).
	Balance *big.Int
}

// Simulated is an in-process go-ethereum chain with a mining policy. Blocks
// matter to Probity beyond inclusion: the challenge seed is the hash of a block
// mined after the commit, so tests and demos must keep the chain moving.
type Simulated struct {
	// Backend is the chain's client (Client()): a *Simulated is itself a Backend, so it can be
	// passed wherever one is wanted (prover.Options.Backend, sdk.NewClient).
	Backend
	backend *simulated.Backend
	client  *simClient

	mu   sync.Mutex // serialises Commit between the miner goroutine and callers
	stop chan struct{}
	done chan struct{}
}

// NewSimulated starts a chain with funded accounts.
func NewSimulated(opts SimOptions, funded ...common.Address) *Simulated {
	bal := opts.Balance
	if bal == nil {
		bal = new(big.Int).Exp(big.NewInt(10), big.NewInt(24), nil)
	}
	alloc := types.GenesisAlloc{}
	for _, a := range funded {
		alloc[a] = types.Account{Balance: new(big.Int).Set(bal)}
	}
	s := &Simulated{backend: simulated.NewBackend(alloc, pragueRules)}
	s.client = &simClient{Client: s.backend.Client(), sim: s}
	s.Backend = s.client
	s.client.mineOnSend.Store(opts.Policy == MineOnSend)
	if opts.Policy == MineOnInterval || opts.Policy == MineOnSend && opts.Interval > 0 {
		iv := opts.Interval
		if iv <= 0 {
			iv = 100 * time.Millisecond
		}
		s.stop, s.done = make(chan struct{}), make(chan struct{})
		go s.mineEvery(iv)
	}
	return s
}

// pragueRules runs the simulated chain on the Prague rules, the EVM version the contracts are
// compiled for (foundry.toml) and the one anvil and forge measure gas under. go-ethereum's
// simulated backend otherwise enables every fork it knows, including unreleased ones with
// another gas schedule, and gas figures from the demo would not match any real chain.
func pragueRules(_ *node.Config, eth *ethconfig.Config) {
	cfg := *eth.Genesis.Config
	cfg.OsakaTime, cfg.BogotaTime = nil, nil
	eth.Genesis.Config = &cfg
}

// Client returns the chain as a Backend.
func (s *Simulated) Client() Backend { return s.client }

// Mine mines n blocks and returns the last block's hash.
func (s *Simulated) Mine(n int) common.Hash {
	s.mu.Lock()
	defer s.mu.Unlock()
	var h common.Hash
	for i := 0; i < n; i++ {
		h = s.backend.Commit()
	}
	return h
}

// AdjustTime moves the clock of the next block forward by d and mines it, so
// that deadlines (block.timestamp) can be passed without waiting.
func (s *Simulated) AdjustTime(d time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.backend.AdjustTime(d); err != nil {
		// go-ethereum refuses to move the clock of a pending block with transactions in it:
		// one sent just before (another goroutine's) is mined first, at the time it was sent.
		s.backend.Commit()
		if err := s.backend.AdjustTime(d); err != nil {
			return err
		}
	}
	s.backend.Commit()
	return nil
}

// Reorg replaces the chain above parent: parent becomes the head and n new blocks are mined on
// it (n > the blocks dropped makes the new branch the canonical one). Tests use it to check
// that a node does not act on a block hash (a seed) that a reorganisation replaced.
func (s *Simulated) Reorg(parent common.Hash, n int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.backend.Fork(parent); err != nil {
		return err
	}
	for i := 0; i < n; i++ {
		s.backend.Commit()
	}
	return nil
}

// SetMineOnSend switches mining after each sent transaction on or off (MineOnSend's policy),
// so a test can start with instant blocks for its setup and then run like a real chain.
func (s *Simulated) SetMineOnSend(on bool) { s.client.mineOnSend.Store(on) }

// Close stops the miner and the chain.
func (s *Simulated) Close() error {
	if s.stop != nil {
		close(s.stop)
		<-s.done
		s.stop = nil
	}
	return s.backend.Close()
}

func (s *Simulated) mineEvery(iv time.Duration) {
	defer close(s.done)
	t := time.NewTicker(iv)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			s.Mine(1)
		}
	}
}

// simClient mines after each sent transaction when asked to.
type simClient struct {
	simulated.Client
	sim        *Simulated
	mineOnSend atomic.Bool
}

func (c *simClient) SendTransaction(ctx context.Context, tx *types.Transaction) error {
	if err := c.Client.SendTransaction(ctx, tx); err != nil {
		return err
	}
	if c.mineOnSend.Load() {
		c.sim.Mine(1)
	}
	return nil
}
