package verifier

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"slices"

	groth16bn254 "github.com/consensys/gnark/backend/groth16/bn254"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"

	"github.com/probitylabs/probity/chain"
	"github.com/probitylabs/probity/circuits"
	"github.com/probitylabs/probity/jobs"
	"github.com/probitylabs/probity/protocol"
	"github.com/probitylabs/probity/receipt"
)

// Chain is what the on-chain cross-check reads: the deployment it is, a block's hash, the
// JobCommitted and JobProved events of a job, the manager's verifyReceipt view and the
// verifying key of a class's registered verifier. MarketChain implements it over any RPC (or
// the simulated backend).
type Chain interface {
	ChainID(ctx context.Context) (*big.Int, error)
	Manager() common.Address
	BlockHash(ctx context.Context, number uint64) (common.Hash, error)
	// JobCommitted returns the job's JobCommitted event, nil when none.
	JobCommitted(ctx context.Context, jobID *big.Int) (*chain.JobCommitted, error)
	// JobProved returns the job's JobProved event at or after block from, nil when none.
	JobProved(ctx context.Context, jobID *big.Int, from uint64) (*chain.JobProved, error)
	VerifyReceipt(ctx context.Context, rc chain.Receipt, signature []byte) (bool, error)
	// ClassKey returns the verifying key of the verifier the class registry names for
	// classID; an error when the class is not registered.
	ClassKey(ctx context.Context, classID [32]byte) (*groth16bn254.VerifyingKey, error)
	// Window returns the job's state and its challenges (settlement.md §10): whether its
	// challenge window passed unchallenged, or with every challenge answered.
	Window(ctx context.Context, jobID *big.Int) (chain.JobState, []Challenged, error)
}

// Challenged is one challenge of a job: the element word and what became of it.
type Challenged struct {
	Element *big.Int
	State   chain.ChallengeState
}

// HeaderReader is the part of an RPC client MarketChain needs beside the market.
type HeaderReader interface {
	HeaderByNumber(ctx context.Context, number *big.Int) (*types.Header, error)
	ChainID(ctx context.Context) (*big.Int, error)
}

// MarketChain is the Chain of a deployment read through a chain.Market (whose key never
// signs here) and the RPC client behind it.
type MarketChain struct {
	Market  *chain.Market
	Headers HeaderReader
}

// ChainID implements Chain.
func (c MarketChain) ChainID(ctx context.Context) (*big.Int, error) { return c.Headers.ChainID(ctx) }

// Manager implements Chain.
func (c MarketChain) Manager() common.Address { return c.Market.Addresses().Manager }

// BlockHash implements Chain.
func (c MarketChain) BlockHash(ctx context.Context, number uint64) (common.Hash, error) {
	h, err := c.Headers.HeaderByNumber(ctx, new(big.Int).SetUint64(number))
	if err != nil {
		return common.Hash{}, err
	}
	return h.Hash(), nil
}

// JobCommitted implements Chain.
func (c MarketChain) JobCommitted(ctx context.Context, jobID *big.Int) (*chain.JobCommitted, error) {
	evs, err := c.Market.FilterJobCommitted(ctx, chain.EventRange{}, jobID)
	if err != nil {
		return nil, err
	}
	for _, ev := range evs {
		if ev.JobId.Cmp(jobID) == 0 {
			return ev, nil // a job commits once
		}
	}
	return nil, nil
}

// ClassKey implements Chain: the key words the class's Groth16Verifier holds, as a gnark key.
func (c MarketChain) ClassKey(ctx context.Context, classID [32]byte) (*groth16bn254.VerifyingKey, error) {
	cl, err := c.Market.ClassOf(ctx, classID)
	if err != nil {
		return nil, fmt.Errorf("reading class 0x%x from the registry: %w", classID, err)
	}
	if cl.Verifier == (common.Address{}) {
		return nil, fmt.Errorf("class 0x%x is not registered on chain", classID)
	}
	w, err := c.Market.VerifierKey(ctx, cl.Verifier)
	if err != nil {
		return nil, err
	}
	vk, err := circuits.VerifyingKeyFromWords(&circuits.VKWords{Alpha: w.Alpha, Beta: w.Beta, Gamma: w.Gamma, Delta: w.Delta, IC: w.IC})
	if err != nil {
		return nil, fmt.Errorf("verifier %s: %w", cl.Verifier, err)
	}
	bn, ok := vk.(*groth16bn254.VerifyingKey)
	if !ok {
		return nil, fmt.Errorf("verifier %s: not a BN254 key", cl.Verifier)
	}
	return bn, nil
}

// JobProved implements Chain.
func (c MarketChain) JobProved(ctx context.Context, jobID *big.Int, from uint64) (*chain.JobProved, error) {
	evs, err := c.Market.FilterJobProved(ctx, chain.EventRange{Start: from})
	if err != nil {
		return nil, err
	}
	for _, ev := range evs {
		if ev.JobId.Cmp(jobID) == 0 {
			return ev, nil
		}
	}
	return nil, nil
}

// VerifyReceipt implements Chain.
func (c MarketChain) VerifyReceipt(ctx context.Context, rc chain.Receipt, signature []byte) (bool, error) {
	return c.Market.VerifyReceipt(ctx, rc, signature)
}

// Window implements Chain.
func (c MarketChain) Window(ctx context.Context, jobID *big.Int) (chain.JobState, []Challenged, error) {
	st, err := c.Market.JobState(ctx, jobID)
	if err != nil {
		return 0, nil, err
	}
	evs, err := c.Market.FilterChallengeOpened(ctx, chain.EventRange{}, jobID)
	if err != nil {
		return 0, nil, err
	}
	out := make([]Challenged, 0, len(evs))
	for _, ev := range evs {
		ch, err := c.Market.ChallengeOf(ctx, jobID, ev.Element)
		if err != nil {
			return 0, nil, err
		}
		out = append(out, Challenged{Element: ev.Element, State: chain.ChallengeState(ch.State)})
	}
	return st, out, nil
}

// onChain confirms what only the chain knows (settlement.md §9): that the job's JobCommitted
// committed this receipt's commitment (provider, stake, trace root, attestation digest) with
// seed.block as its seed block, that seed.blockHash is the hash of that block, that the
// manager's JobProved for the job emitted this receipt's EIP-712 digest (with its provider,
// seed, result digest and tokens), and that the signature is the provider's current node
// key's (verifyReceipt). The key the proof was checked with is compared with the class's
// on-chain verifier in the proof check.
//
// Without a chain the seed's block hash is the provider's word, so the seed check and the
// detection bounds it stands behind are conditional: the check fails with ErrUnconfirmed
// unless the policy allows unconfirmed receipts, and is skipped (saying so) when it does.
func (a *audit) onChain(ctx context.Context) {
	c, rc := a.opts.Chain, a.rc
	if c == nil {
		const why = "no chain given: block %d's hash, the commitment and JobProved are unconfirmed, so the seed check (and what the detection bounds promise) holds only if seed.blockHash is the chain's"
		if a.policy.AllowUnconfirmed {
			a.r.skip(CheckOnChain, fmt.Sprintf(why+" (the policy allows unconfirmed receipts)", rc.Seed.Block))
			return
		}
		a.r.failf(CheckOnChain, ErrUnconfirmed, why+"; audit against the chain (--rpc) or allow unconfirmed receipts in the policy", rc.Seed.Block)
		return
	}
	fail := func(err error) { a.r.fail(CheckOnChain, ErrOnChain, err) }
	id, err := c.ChainID(ctx)
	switch {
	case err != nil:
		fail(fmt.Errorf("reading the chain id: %w", err))
		return
	case id.Cmp(rc.ChainID.Big()) != 0:
		fail(fmt.Errorf("the RPC serves chain %s, the receipt is for chain %s", id, rc.ChainID))
		return
	case c.Manager() != rc.Manager:
		fail(fmt.Errorf("the deployment's manager is %s, the receipt's %s", c.Manager().Hex(), rc.Manager.Hex()))
		return
	}
	if err := a.committed(ctx); err != nil {
		fail(err)
		return
	}
	h, err := c.BlockHash(ctx, rc.Seed.Block)
	if err != nil {
		fail(fmt.Errorf("reading block %d: %w", rc.Seed.Block, err))
		return
	}
	if receipt.Word(h) != rc.Seed.BlockHash {
		fail(fmt.Errorf("block %d's hash is %s, seed.blockHash is %s", rc.Seed.Block, h, rc.Seed.BlockHash))
		return
	}
	ev, err := c.JobProved(ctx, rc.JobID.Big(), rc.Seed.Block)
	if err != nil {
		fail(fmt.Errorf("reading JobProved: %w", err))
		return
	}
	if ev == nil {
		fail(fmt.Errorf("no JobProved for job %s since block %d", rc.JobID, rc.Seed.Block))
		return
	}
	digest := rc.Digest()
	tokens, err := protocol.UnpackResult(int(rc.Request.NewTokens), ev.Result)
	switch {
	case ev.ReceiptDigest != digest:
		fail(fmt.Errorf("JobProved emitted receipt digest %x, this receipt's is %x", ev.ReceiptDigest, digest))
		return
	case ev.Provider != rc.Provider:
		fail(fmt.Errorf("JobProved names provider %s, the receipt %s", ev.Provider.Hex(), rc.Provider.Hex()))
		return
	case ev.Seed.Cmp(rc.Seed.Value.Big()) != 0:
		fail(fmt.Errorf("JobProved emitted seed %s, seed.value is %s", ev.Seed, rc.Seed.Value))
		return
	case ev.ResultDigest.Cmp(rc.Result.Digest.Big()) != 0:
		fail(fmt.Errorf("JobProved emitted result digest %s, result.digest is %s", ev.ResultDigest, rc.Result.Digest))
		return
	case err != nil:
		fail(fmt.Errorf("JobProved's result: %w", err))
		return
	case !slices.Equal(tokens, rc.Result.Tokens):
		fail(errors.New("JobProved's tokens differ from result.tokens"))
		return
	}
	e := rc.EIP712()
	ok, err := c.VerifyReceipt(ctx, chain.Receipt{JobId: e.JobID, Provider: e.Provider, ModelRoot: e.ModelRoot, JobDigest: e.JobDigest,
		TraceRoot: e.TraceRoot, AttestationDigest: e.AttestationDigest, Seed: e.Seed, ResultDigest: e.ResultDigest, ProofHash: e.ProofHash}, rc.Signature)
	switch {
	case err != nil:
		fail(fmt.Errorf("verifyReceipt: %w", err))
		return
	case !ok:
		fail(fmt.Errorf("verifyReceipt: the signature is not provider %s's current node key's", rc.Provider.Hex()))
		return
	}
	window, err := a.window(ctx, ev)
	if err != nil {
		return // failed
	}
	a.r.pass(CheckOnChain, fmt.Sprintf("JobCommitted is this commitment; seed block %d's hash confirmed; JobProved (block %d) emitted this receipt's digest; node key current; %s", rc.Seed.Block, ev.Raw.BlockNumber, window))
}

// window says whether the job's challenge window passed unchallenged (settlement.md §10): a
// job still Proved may yet be slashed by an upheld challenge, so its receipt is unconfirmed
// until the window closes with no challenge open; a job slashed after its proof fails.
func (a *audit) window(ctx context.Context, ev *chain.JobProved) (string, error) {
	rc := a.rc
	if rc.Request.ChallengeWindow == 0 {
		return "no challenge window (paid with the proof)", nil
	}
	st, chs, err := a.opts.Chain.Window(ctx, rc.JobID.Big())
	if err != nil {
		a.r.fail(CheckOnChain, ErrOnChain, fmt.Errorf("reading the challenge window: %w", err))
		return "", err
	}
	var answered, open, upheld int
	var lost *big.Int
	for _, c := range chs {
		switch c.State {
		case chain.ChallengeStateAnswered, chain.ChallengeStateReleased: // a data answer's bond, released after payment
			answered++
		case chain.ChallengeStateOpen:
			open++
		case chain.ChallengeStateUpheld:
			upheld++
			lost = c.Element
		}
	}
	switch st {
	case chain.StateSettled:
		if len(chs) == 0 {
			return "the challenge window passed unchallenged", nil
		}
		return fmt.Sprintf("the challenge window passed with %d challenges, every one answered", answered), nil
	case chain.StateSlashed:
		why := errors.New("the job was slashed after its proof")
		if lost != nil {
			e, _ := jobs.ParseElement(lost)
			why = fmt.Errorf("the job was slashed after its proof: the challenge of %s was not answered", e)
		}
		a.r.fail(CheckOnChain, ErrOnChain, why)
		return "", why
	default:
		err := fmt.Errorf("%w: the challenge window is open until %d (%d challenges open, %d answered): an upheld challenge may still slash the job", ErrUnconfirmed, ev.PayableAt, open, answered)
		a.r.fail(CheckOnChain, ErrUnconfirmed, err)
		return "", err
	}
}

// committed checks the receipt's commitment and seed block against the job's JobCommitted
// event: the stake and the attestation digest are signed by nothing else.
func (a *audit) committed(ctx context.Context) error {
	rc := a.rc
	ev, err := a.opts.Chain.JobCommitted(ctx, rc.JobID.Big())
	switch {
	case err != nil:
		return fmt.Errorf("reading JobCommitted: %w", err)
	case ev == nil:
		return fmt.Errorf("job %s never committed on chain", rc.JobID)
	}
	onChain := protocol.Commitment(ev.Provider, ev.Stake, ev.TraceRoot, ev.AttestationDigest)
	switch {
	case ev.Provider != rc.Provider:
		return fmt.Errorf("JobCommitted names provider %s, the receipt %s", ev.Provider.Hex(), rc.Provider.Hex())
	case ev.Stake.Cmp(rc.Stake.Big()) != 0:
		return fmt.Errorf("JobCommitted locked stake %s, the receipt states %s", ev.Stake, rc.Stake)
	case ev.TraceRoot.Cmp(rc.TraceRoot.Big()) != 0:
		return fmt.Errorf("JobCommitted committed trace root %s, the receipt's is %s", receipt.MustWord(ev.TraceRoot), rc.TraceRoot)
	case receipt.Word(ev.AttestationDigest) != rc.AttestationDigest:
		return fmt.Errorf("JobCommitted committed attestation digest %s, the receipt's is %s", receipt.Word(ev.AttestationDigest), rc.AttestationDigest)
	case onChain != rc.Commitment():
		return fmt.Errorf("the committed commitment hashes to %x, the receipt's to %x", onChain, rc.Commitment())
	case ev.SeedBlock != rc.Seed.Block:
		return fmt.Errorf("JobCommitted fixed seed block %d, seed.block is %d", ev.SeedBlock, rc.Seed.Block)
	}
	return nil
}
