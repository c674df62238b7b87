package demo

import (
	"context"
	"crypto/ecdsa"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"os"
	"path/filepath"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/probitylabs/probity/chain"
	"github.com/probitylabs/probity/circuits"
	"github.com/probitylabs/probity/circuits/universal"
	"github.com/probitylabs/probity/model"
	"github.com/probitylabs/probity/models"
	"github.com/probitylabs/probity/sdk"
	"github.com/probitylabs/probity/verifier"
)

// ErrUnexpected matches every act that did not turn out as the protocol says (the self-check
// failed), as opposed to the demo being unable to run.
var ErrUnexpected = errors.New("demo: unexpected outcome")

// Options configure Run. The zero value runs the standard demo.
type Options struct {
	// Keys is the circuit key cache (default circuits.DefaultCache: the first run builds the
	// small class's development keys, about two minutes, later runs load them).
	Keys *circuits.Cache
	// Keep, when set, is a directory that receives the job files, the order books, the nodes'
	// data directories and the receipt; otherwise they go to a temporary directory.
	Keep string
	// Logs receives the prover nodes' logs (nil: discarded).
	Logs io.Writer
	// Price of each job in token base units (default 1 token, 10^18).
	Price *big.Int
	// Prompt and NewTokens are the buyer's question (default "And God said, " and 48).
	Prompt    string
	NewTokens int
}

// Job is what happened to one job.
type Job struct {
	ID       string         `json:"id"`
	Role     string         `json:"role"` // "honest", "lazy", "silent" or "targeted"
	Provider common.Address `json:"provider"`
	Outcome  string         `json:"outcome"` // the final on-chain state: "Settled" or "Slashed"
	// NodeStep and NodeReason are where the provider's node left the job (its journal).
	NodeStep   string `json:"nodeStep,omitempty"`
	NodeReason string `json:"nodeReason,omitempty"`
	Price      string `json:"price"`
	Stake      string `json:"stake"`            // reserved at lock
	Bounty     string `json:"bounty,omitempty"` // paid to the slasher
	// Gas by transaction (lockAndCommit, lockRequest, revealSeed, submit, slash, ...) and the
	// job's whole on-chain life.
	Gas      map[string]uint64 `json:"gas"`
	GasTotal uint64            `json:"gasTotal"`
	// The honest job's node times and its receipt file (when Options.Keep is set).
	ExecuteMs uint64 `json:"executeMs,omitempty"`
	ProveMs   uint64 `json:"proveMs,omitempty"`
	Receipt   string `json:"receipt,omitempty"`
}

// Balance is one account's tokens before the jobs and after every withdrawal.
type Balance struct {
	Name    string         `json:"name"`
	Address common.Address `json:"address"`
	Before  string         `json:"before"`
	After   string         `json:"after"`
	Delta   string         `json:"delta"`
}

// Audit is the auditor's verdict on the honest receipt: offline (OK, Checks) and whether the
// same audit cross-checked against the chain passed too.
type Audit struct {
	OK      bool             `json:"ok"`
	OnChain bool             `json:"onChain"`
	Checks  []verifier.Check `json:"checks"`
	Elapsed time.Duration    `json:"elapsedNs"`
}

// Summary is the machine-readable account of a run.
type Summary struct {
	ChainID   string        `json:"chainId"`
	Addresses sdk.Addresses `json:"addresses"`
	// Class is the width class that proves the jobs, ClassID its on-chain id.
	Class   string `json:"class"`
	ClassID string `json:"classId"`
	// Model is the shipped model's name and root.
	Model     string `json:"model"`
	ModelRoot string `json:"modelRoot"`
	// KeysCached says whether the class's keys were already in the cache; KeysMs is the time
	// to load or build them.
	KeysCached bool   `json:"keysCached"`
	KeysMs     uint64 `json:"keysMs"`
	// Prompt is the buyer's question and Text the answer it read from the chain.
	Prompt string `json:"prompt"`
	Text   string `json:"text"`
	Jobs   []Job  `json:"jobs"` // honest, lazy, silent, targeted
	// Balances: buyer, watcher, the four providers, and the three contracts holding stake,
	// escrow and bonds; Conserved says that they sum to the same before and after.
	Balances  []Balance `json:"balances"`
	Conserved bool      `json:"conserved"`
	Audit     Audit     `json:"audit"`
	Dir       string    `json:"dir,omitempty"` // kept files (Options.Keep)
	ElapsedMs uint64    `json:"elapsedMs"`
}

// Job returns the summary of the job played by role, or nil.
func (s *Summary) Job(role string) *Job {
	for i := range s.Jobs {
		if s.Jobs[i].Role == role {
			return &s.Jobs[i]
		}
	}
	return nil
}

// Roles of the three providers.
const (
	RoleHonest   = "honest"
	RoleLazy     = "lazy"
	RoleSilent   = "silent"
	RoleTargeted = "targeted"
)

// roles are the providers, in account order.
var roles = []string{RoleHonest, RoleLazy, RoleSilent, RoleTargeted}

// The windows of every job: an hour to lock, an hour from lock to commit and from seed to
// proof, no challenge window (paid at once).
const window = 3600

type provider struct {
	role    string
	key     *ecdsa.PrivateKey
	nodeKey *ecdsa.PrivateKey
	market  *chain.Market
	book    string // its order book, file://
}

type run struct {
	o      Options
	out    io.Writer
	dir    string
	logger *slog.Logger
	cache  circuits.Cache
	sum    *Summary

	sim     *sdk.Simulated
	gov     *sdk.Client
	buyer   *sdk.Client
	watcher *sdk.Client
	class   *universal.Class
	classID [32]byte
	keys    *circuits.Keys
	model   *model.Model
	provs   map[string]*provider
	// watchFrom is the next block the watcher scans.
	watchFrom uint64

	stopMiner func()
}

// Run plays the demo, writing a few lines per act to out, and returns the summary. It fails
// with an error wrapping ErrUnexpected when an act does not turn out as expected.
func Run(ctx context.Context, o Options, out io.Writer) (*Summary, error) {
	t0 := time.Now()
	if o.Price == nil {
		o.Price = big.NewInt(1e18)
	}
	if o.Prompt == "" {
		o.Prompt = "And God said, "
	}
	if o.NewTokens == 0 {
		o.NewTokens = 48
	}
	if out == nil {
		out = io.Discard
	}
	logs := o.Logs
	if logs == nil {
		logs = io.Discard
	}
	r := &run{o: o, out: out, sum: &Summary{Prompt: o.Prompt}, provs: map[string]*provider{},
		logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelInfo}))}
	var err error
	if o.Keep != "" {
		if err := os.MkdirAll(o.Keep, 0o755); err != nil {
			return nil, fmt.Errorf("demo: --keep: %w", err)
		}
		if r.dir, err = filepath.Abs(o.Keep); err != nil {
			return nil, err
		}
		r.sum.Dir = r.dir
	} else {
		if r.dir, err = os.MkdirTemp("", "probity-demo-"); err != nil {
			return nil, err
		}
		defer os.RemoveAll(r.dir)
	}
	if o.Keys != nil {
		r.cache = *o.Keys
	} else if r.cache, err = circuits.DefaultCache(); err != nil {
		return nil, fmt.Errorf("demo: %w", err)
	}

	err = r.play(ctx)
	if r.stopMiner != nil {
		r.stopMiner()
	}
	if r.sim != nil {
		r.sim.Close()
	}
	r.sum.ElapsedMs = uint64(time.Since(t0).Milliseconds())
	if o.Keep == "" {
		for i := range r.sum.Jobs { // the temporary directory is gone: name no file in it
			r.sum.Jobs[i].Receipt = ""
		}
	}
	if err != nil {
		return r.sum, err
	}
	fmt.Fprintf(out, "\nAll acts turned out as the protocol says (%.1f s).\n", time.Since(t0).Seconds())
	return r.sum, nil
}

func (r *run) printf(format string, args ...any) { fmt.Fprintf(r.out, format, args...) }

func (r *run) play(ctx context.Context) error {
	if err := r.setup(ctx); err != nil {
		return err
	}
	if err := r.stake(ctx); err != nil {
		return err
	}
	// Balances once the stakes are in the registry and the escrow deposited: the jobs move
	// tokens between the buyer, the watcher, the providers, the registry and the manager, and
	// no token may appear or vanish.
	before, err := r.balances(ctx)
	if err != nil {
		return err
	}
	honest, err := r.honestAct(ctx)
	if err != nil {
		return err
	}
	lazy, err := r.lazyAct(ctx)
	if err != nil {
		return err
	}
	silent, err := r.silentAct(ctx)
	if err != nil {
		return err
	}
	targeted, err := r.targetedAct(ctx)
	if err != nil {
		return err
	}
	if err := r.slashAct(ctx, lazy, silent); err != nil {
		return err
	}
	if err := r.gasAct(ctx, []*sdk.Job{honest, lazy, silent, targeted}); err != nil {
		return err
	}
	if err := r.settleAccounts(ctx, before); err != nil {
		return err
	}
	return r.auditAct(ctx, honest)
}

// setup starts the chain, deploys, registers the class with its keys and the model.
func (r *run) setup(ctx context.Context) error {
	r.printf("Act 0: an in-process chain, the small width class and the shipped model\n")
	var err error
	// Blocks come every 20 ms as well as after every transaction: the seed is fixed from the
	// block after the commit, as on a real chain.
	r.sim, err = sdk.NewSimulated(ctx, sdk.SimulatedConfig{Accounts: 6, Interval: -1}) // the acts mine themselves (r.mine)
	if err != nil {
		return fmt.Errorf("demo: starting the simulated chain: %w", err)
	}
	r.stopMiner = r.mine(20 * time.Millisecond)
	if r.gov, err = r.sim.Client(ctx, r.sim.Governance); err != nil {
		return err
	}
	a := r.sim.Addresses
	r.sum.ChainID, r.sum.Addresses = r.gov.ChainID().String(), a
	r.printf("  chain %s: token %s, provider registry %s, class registry %s, SLA manager %s\n",
		r.sum.ChainID, short(a.Token), short(a.Providers), short(a.Classes), short(a.Manager))

	r.class = universal.Small()
	t := time.Now()
	r.keys, err = r.cache.Load(r.class)
	r.sum.KeysCached = err == nil
	if errors.Is(err, os.ErrNotExist) {
		r.printf("  building the %s class's development keys into %s (once, about two minutes; later runs load them)...\n",
			r.class.Name, r.cache.Dir)
		r.keys, err = r.cache.Setup(r.class)
	}
	if err != nil {
		return fmt.Errorf("demo: circuit keys: %w", err)
	}
	r.sum.KeysMs = uint64(time.Since(t).Milliseconds())
	targeted, err := r.cache.Load(universal.TargetedClass{Class: r.class})
	if errors.Is(err, os.ErrNotExist) {
		r.printf("  building the %s class's targeted (challenge) keys into %s (once)...\n", r.class.Name, r.cache.Dir)
		targeted, err = r.cache.Setup(universal.TargetedClass{Class: r.class})
	}
	if err != nil {
		return fmt.Errorf("demo: targeted circuit keys: %w", err)
	}
	if r.classID, err = r.gov.RegisterClass(ctx, r.class, r.keys.VK, targeted.VK); err != nil {
		return fmt.Errorf("demo: registering the class: %w", err)
	}
	how := "loaded"
	if !r.sum.KeysCached {
		how = "built"
	}
	r.sum.Class, r.sum.ClassID = r.class.String(), common.Hash(r.classID).Hex()
	r.printf("  class %s (%d constraints, one proof per job) registered with its verifier; keys %s in %.1f s\n",
		r.class.Name, r.keys.CCS.GetNbConstraints(), how, float64(r.sum.KeysMs)/1000)

	if r.model, err = models.KJV(); err != nil {
		return err
	}
	root, err := r.model.Root()
	if err != nil {
		return err
	}
	if err := r.gov.RegisterModel(ctx, r.model, r.classID, "probity:models/kjv-gpt2"); err != nil {
		return fmt.Errorf("demo: registering the model: %w", err)
	}
	r.sum.Model, r.sum.ModelRoot = "kjv-gpt2", root.String()
	r.printf("  model kjv-gpt2 (byte-level GPT-2, %d ops, root %s) in the catalogue for that class\n", len(r.model.Ops), abbrev(root.String()))
	if r.buyer, err = r.sim.Client(ctx, r.sim.Accounts[0]); err != nil {
		return err
	}
	r.watcher, err = r.sim.Client(ctx, r.sim.Accounts[5])
	return err
}

// stake registers the three providers with a node key and a stake each, and deposits the
// buyer's escrow for three jobs with the manager (offers take it from there at lock).
func (r *run) stake(ctx context.Context) error {
	// Each provider stakes twice what one job of the class at this price reserves (the stake
	// is sized from the class's fewest sample slots so that cheating does not pay).
	need, err := r.gov.Market().RequiredStake(ctx, r.o.Price, sdk.MinSlots(r.class))
	if err != nil {
		return err
	}
	stake := new(big.Int).Mul(need, big.NewInt(2))
	for i, role := range roles {
		p := &provider{role: role, key: r.sim.Accounts[i+1], book: "file://" + filepath.Join(r.dir, "books", role)}
		var err error
		if p.nodeKey, err = crypto.GenerateKey(); err != nil {
			return err
		}
		if p.market, err = chain.NewMarket(ctx, r.sim.Chain.Client(), r.sim.Addresses, p.key); err != nil {
			return err
		}
		if _, err := p.market.Approve(ctx, r.sim.Addresses.Providers, stake); err != nil {
			return fmt.Errorf("demo: %s provider: %w", role, err)
		}
		if _, err := p.market.Register(ctx, crypto.PubkeyToAddress(p.nodeKey.PublicKey), stake); err != nil {
			return fmt.Errorf("demo: %s provider: %w", role, err)
		}
		r.provs[role] = p
	}
	if err := r.buyer.Deposit(ctx, new(big.Int).Mul(r.o.Price, big.NewInt(int64(len(roles))))); err != nil {
		return fmt.Errorf("demo: buyer deposit: %w", err)
	}
	r.printf("  %d providers staked %s each with a node key; the buyer deposited %s of escrow\n",
		len(roles), amount(stake), amount(new(big.Int).Mul(r.o.Price, big.NewInt(int64(len(roles))))))
	return nil
}

// mine mines a block every interval until the returned function is called.
func (r *run) mine(interval time.Duration) func() {
	stop, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				r.sim.Chain.Mine(1)
			}
		}
	}()
	return func() { close(stop); <-done }
}
