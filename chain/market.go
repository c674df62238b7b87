package chain

import (
	"context"
	"crypto/ecdsa"
	"fmt"
	"math/big"
	"sync"
	"time"

	gmath "github.com/ethereum/go-ethereum/common/math"

	"github.com/ethereum/go-ethereum/accounts/abi/bind/v2"
	"github.com/ethereum/go-ethereum/common"

	"github.com/probitylabs/probity/contracts/bindings"
)

// Market acts on one deployment (specs/settlement.md) as one account: buyer,
// provider, keeper or governance, depending on the key. Every transaction returns
// a typed result embedding Tx (receipt, gas, decoded events); reverts come back
// as *RevertError naming the contract's custom error, as with Client.
type Market struct {
	backend Backend
	sender  *Sender
	d       *Deployment
	dec     *eventDecoder

	manager   *bindings.SLAManager
	classes   *bindings.ClassRegistry
	hasher    *bindings.ResultHasher
	providers *bindings.ProviderRegistry
	token     *bindings.DevToken
	cm        *bindings.ChallengeManager

	// cmOnce resolves d.Challenges from the manager when the deployment file
	// did not name it (challengeContract).
	cmOnce sync.Once
	cmErr  error
}

// NewMarket returns a client for the deployment at addrs, sending from key.
func NewMarket(ctx context.Context, backend Backend, addrs Addresses, key *ecdsa.PrivateKey) (*Market, error) {
	if err := addrs.Validate(); err != nil {
		return nil, fmt.Errorf("chain: deployment: %w", err)
	}
	s, err := NewSender(ctx, backend, key)
	if err != nil {
		return nil, err
	}
	if id := s.ChainID(); addrs.ChainID != 0 && (!id.IsUint64() || id.Uint64() != addrs.ChainID) {
		return nil, fmt.Errorf("chain: the deployment is on chain %d, the endpoint is chain %s", addrs.ChainID, id)
	}
	m := &Market{
		backend:   backend,
		sender:    s,
		d:         Bind(backend, addrs),
		manager:   bindings.NewSLAManager(),
		classes:   bindings.NewClassRegistry(),
		hasher:    bindings.NewResultHasher(),
		providers: bindings.NewProviderRegistry(),
		token:     bindings.NewDevToken(),
		cm:        bindings.NewChallengeManager(),
	}
	m.dec = &eventDecoder{manager: addrs.Manager, classes: addrs.Classes, challenges: addrs.Challenges,
		m: m.manager, c: m.classes, cm: m.cm}
	return m, nil
}

// Address is the client's account.
func (m *Market) Address() common.Address { return m.sender.From() }

// Sender is the client's transaction sender.
func (m *Market) Sender() *Sender { return m.sender }

// Addresses of the deployment.
func (m *Market) Addresses() Addresses { return m.d.Addresses }

// JobID is the job id of req, computed locally (JobID with the sender's chain and
// the deployment's manager); it equals JobIDOf without a round trip.
func (m *Market) JobID(req Request) (*big.Int, error) {
	return JobID(m.sender.ChainID(), m.d.Addresses.Manager, req)
}

// SignRequest signs a request's job id (its EIP-712 digest, from JobID, JobID or
// JobIDOf) with the buyer's key, as lockRequest checks it.
func SignRequest(key *ecdsa.PrivateKey, jobID *big.Int) ([]byte, error) {
	if jobID == nil || jobID.Sign() < 0 || jobID.BitLen() > 256 {
		return nil, fmt.Errorf("chain: job id %v is not a 32-byte digest", jobID)
	}
	var digest [32]byte
	jobID.FillBytes(digest[:])
	return SignDigest(key, digest)
}

// WaitForBlock returns once the head is at least n; a simulated chain mines the
// blocks (waitForBlock). A seed is derivable once the head passes the
// commit's SeedBlock (settlement.md §4).
func (m *Market) WaitForBlock(ctx context.Context, n uint64, interval time.Duration) error {
	return waitForBlock(ctx, m.backend, n, interval)
}

func (m *Market) transact(ctx context.Context, bc *bind.BoundContract, data []byte) (*Tx, error) {
	rcpt, err := m.sender.Transact(ctx, bc, data)
	if err != nil {
		return nil, err
	}
	tx := m.dec.tx(rcpt)
	return &tx, nil
}

func (m *Market) call(ctx context.Context, bc *bind.BoundContract, data []byte) ([]byte, error) {
	out, err := bc.CallRaw(&bind.CallOpts{Context: ctx, From: m.Address()}, data)
	if err != nil {
		return nil, decodeRevert(err)
	}
	return out, nil
}

// one returns the only event of a kind the call must emit exactly once.
func one[T any](tx *Tx, evs []*T) (*T, error) {
	if len(evs) != 1 {
		var zero T
		return nil, fmt.Errorf("%w: %d %T in transaction %s, want 1", ErrWrongEvent, len(evs), zero, tx.Receipt.TxHash)
	}
	return evs[0], nil
}

// ---------------------------------------------------------------- classes

// ClassResult is a registered class.
type ClassResult struct {
	Tx
	ClassID    [32]byte
	Registered *ClassRegistered
}

// RegisterClass registers a width class, its verifier and the verifier of its
// targeted statement (answers to challenges; both deployed with DeployVerifier
// from the class's keys) (governance only) and returns its id,
// keccak256(name); minSlots is the k of the stake bound.
func (m *Market) RegisterClass(ctx context.Context, name string, verifier, targetedVerifier common.Address, minSlots uint16) (*ClassResult, error) {
	tx, err := m.transact(ctx, m.d.Classes, m.classes.PackRegisterClass(name, verifier, targetedVerifier, minSlots))
	if err != nil {
		return nil, err
	}
	ev, err := one(tx, tx.Events.ClassRegistered)
	if err != nil {
		return nil, err
	}
	return &ClassResult{Tx: *tx, ClassID: ev.ClassId, Registered: ev}, nil
}

// RetireClass tombstones a class (governance only): no new job may use it.
func (m *Market) RetireClass(ctx context.Context, classID [32]byte) (*Tx, error) {
	return m.transact(ctx, m.d.Classes, m.classes.PackRetire(classID))
}

// RegisterModel catalogues a model root under an active class (anyone, once per root).
func (m *Market) RegisterModel(ctx context.Context, modelRoot *big.Int, classID [32]byte, uri string) (*Tx, error) {
	return m.transact(ctx, m.d.Classes, m.classes.PackRegisterModel(modelRoot, classID, uri))
}

// CorrectModel rewrites a catalogued model's entry (governance only): a squatted or
// stale claim, or a model whose class was retired and replaced. The catalogue is for
// discovery; the manager does not consult it.
func (m *Market) CorrectModel(ctx context.Context, modelRoot *big.Int, classID [32]byte, uri string) (*Tx, error) {
	return m.transact(ctx, m.d.Classes, m.classes.PackCorrectModel(modelRoot, classID, uri))
}

// DeployVerifier deploys a Groth16Verifier for vk from the client's account (one
// bytecode for every class; the key goes in as constructor arguments).
func (m *Market) DeployVerifier(ctx context.Context, vk VerifyingKey) (common.Address, error) {
	return DeployVerifier(ctx, m.sender, vk)
}

// ClassOf returns a class's registry entry (status None when unknown).
func (m *Market) ClassOf(ctx context.Context, classID [32]byte) (Class, error) {
	out, err := m.call(ctx, m.d.Classes, m.classes.PackClassOf(classID))
	if err != nil {
		return Class{}, err
	}
	return m.classes.UnpackClassOf(out)
}

// ModelOf returns a model's catalogue entry (class zero when not catalogued).
func (m *Market) ModelOf(ctx context.Context, modelRoot *big.Int) (ModelEntry, error) {
	out, err := m.call(ctx, m.d.Classes, m.classes.PackModelOf(modelRoot))
	if err != nil {
		return ModelEntry{}, err
	}
	return m.classes.UnpackModelOf(out)
}

// ---------------------------------------------------------------- buyer

// PostResult is a job posted by its buyer.
type PostResult struct {
	Tx
	JobID  *big.Int
	Posted *JobPosted
}

// Post posts the client's request for any provider to lock and escrows its price
// (from the client's manager balance when it covers it, else by transferFrom:
// approve the manager first).
func (m *Market) Post(ctx context.Context, req Request, inputURI string) (*PostResult, error) {
	tx, err := m.transact(ctx, m.d.Manager, m.manager.PackPost(req, inputURI))
	if err != nil {
		return nil, err
	}
	ev, err := one(tx, tx.Events.Posted)
	if err != nil {
		return nil, err
	}
	return &PostResult{Tx: *tx, JobID: ev.JobId, Posted: ev}, nil
}

// CancelResult is a cancelled job or revoked request.
type CancelResult struct {
	Tx
	Cancelled *JobCancelled
}

// Cancel cancels the client's open job (escrow credited back) or revokes a signed
// request nobody has locked yet.
func (m *Market) Cancel(ctx context.Context, req Request) (*CancelResult, error) {
	tx, err := m.transact(ctx, m.d.Manager, m.manager.PackCancel(req))
	if err != nil {
		return nil, err
	}
	ev, err := one(tx, tx.Events.Cancelled)
	if err != nil {
		return nil, err
	}
	return &CancelResult{Tx: *tx, Cancelled: ev}, nil
}

// DepositResult is a deposit to the client's escrow balance.
type DepositResult struct {
	Tx
	Deposited *Deposited
}

// Deposit adds amount to the client's manager balance, from which requests are
// escrowed (approve the manager first).
func (m *Market) Deposit(ctx context.Context, amount *big.Int) (*DepositResult, error) {
	tx, err := m.transact(ctx, m.d.Manager, m.manager.PackDeposit(amount))
	if err != nil {
		return nil, err
	}
	ev, err := one(tx, tx.Events.Deposited)
	if err != nil {
		return nil, err
	}
	return &DepositResult{Tx: *tx, Deposited: ev}, nil
}

// RevealSeed fixes a committed job's seed with the buyer's secret (anyone holding
// it; settlement.md §4). The proof clock starts now.
func (m *Market) RevealSeed(ctx context.Context, req Request, secret [32]byte) (*SeedResult, error) {
	return m.seed(ctx, m.manager.PackRevealSeed(req, secret))
}

// ---------------------------------------------------------------- provider

// LockResult is a locked job. Posted is set when the lock created the job (a
// signed request), Committed and Commitment by LockAndCommit.
type LockResult struct {
	Tx
	JobID     *big.Int
	Posted    *JobPosted
	Locked    *JobLocked
	Committed *JobCommitted
	// Commitment is the job's commitment (LockAndCommit only; zero otherwise): keep
	// it for the submission (NewSubmission builds one from Committed).
	Commitment Commitment
}

func (m *Market) lock(ctx context.Context, data []byte, posts, commits bool) (*LockResult, error) {
	tx, err := m.transact(ctx, m.d.Manager, data)
	if err != nil {
		return nil, err
	}
	r := &LockResult{Tx: *tx}
	if r.Locked, err = one(tx, tx.Events.Locked); err != nil {
		return nil, err
	}
	r.JobID = r.Locked.JobId
	if posts {
		if r.Posted, err = one(tx, tx.Events.Posted); err != nil {
			return nil, err
		}
	}
	if commits {
		if r.Committed, err = one(tx, tx.Events.Committed); err != nil {
			return nil, err
		}
		r.Commitment = CommitmentFromEvent(r.Committed)
	}
	return r, nil
}

// LockLimits bound what a lock may cost the provider (settlement.md §2): the stake it
// reserves and the abandonment fee it fixes follow the manager's rates when the lock is
// mined, and a rate raised in front of the lock reverts it (LockTermsExceeded) instead of
// binding the provider to worse terms. A nil MaxStake accepts any stake, a zero
// MaxAbandonBps any fee (AnyTerms).
type LockLimits struct {
	MaxStake      *big.Int
	MaxAbandonBps uint16
}

// AnyTerms accepts whatever the manager's rates give.
var AnyTerms = LockLimits{}

// Words returns the limits as the manager takes them (maxStake, maxAbandonBps).
func (l LockLimits) Words() (*big.Int, uint16) {
	maxStake, maxFee := l.MaxStake, l.MaxAbandonBps
	if maxStake == nil {
		maxStake = gmath.MaxBig256
	}
	if maxFee == 0 {
		maxFee = 10_000
	}
	return maxStake, maxFee
}

// LockLimitsNow are the limits of a lock on the terms the manager gives now: the stake
// requiredStake returns for the request and the current abandonment fee. A provider that
// reads them right before it sends its lock is never locked on terms it did not see.
func (m *Market) LockLimitsNow(ctx context.Context, req Request) (LockLimits, error) {
	cl, err := m.ClassOf(ctx, req.ClassId)
	if err != nil {
		return LockLimits{}, err
	}
	stake, err := m.RequiredStake(ctx, req.Price, cl.MinSlots)
	if err != nil {
		return LockLimits{}, err
	}
	out, err := m.call(ctx, m.d.Manager, m.manager.PackAbandonBps())
	if err != nil {
		return LockLimits{}, err
	}
	fee, err := m.manager.UnpackAbandonBps(out)
	if err != nil {
		return LockLimits{}, err
	}
	return LockLimits{MaxStake: stake, MaxAbandonBps: fee}, nil
}

// Lock locks an open job for the client (a registered provider) and reserves its stake.
func (m *Market) Lock(ctx context.Context, req Request, limits LockLimits) (*LockResult, error) {
	maxStake, maxFee := limits.Words()
	return m.lock(ctx, m.manager.PackLock(req, maxStake, maxFee), false, false)
}

// LockRequest creates and locks, in one call, a job from a request its buyer signed
// off chain (SignRequest); the escrow comes from the buyer.
func (m *Market) LockRequest(ctx context.Context, req Request, signature []byte, limits LockLimits) (*LockResult, error) {
	maxStake, maxFee := limits.Words()
	return m.lock(ctx, m.manager.PackLockRequest(req, signature, maxStake, maxFee), true, false)
}

// LockAndCommit is LockRequest and Commit in one call, for a provider that ran the
// job before locking it. The result's Commitment is what its submission opens.
func (m *Market) LockAndCommit(ctx context.Context, req Request, signature []byte, traceRoot *big.Int, attestationDigest [32]byte, limits LockLimits) (*LockResult, error) {
	maxStake, maxFee := limits.Words()
	return m.lock(ctx, m.manager.PackLockAndCommit(req, signature, traceRoot, attestationDigest, maxStake, maxFee), true, true)
}

// LockRequestsResult is a batch of signed requests locked in one transaction.
type LockRequestsResult struct {
	Tx
	JobIDs []*big.Int
	// Locked holds the JobLocked events in request order (Tx.Events.Posted the JobPosted ones).
	Locked []*JobLocked
}

// LockRequests locks several signed requests in one transaction, all or nothing; limits
// has one entry per request (nil: AnyTerms for each), and the fee bound sent is the
// lowest of them (the manager takes one for the batch).
func (m *Market) LockRequests(ctx context.Context, reqs []Request, signatures [][]byte, limits []LockLimits) (*LockRequestsResult, error) {
	if limits == nil {
		limits = make([]LockLimits, len(reqs))
	}
	if len(limits) != len(reqs) {
		return nil, fmt.Errorf("chain: %d lock limits for %d requests", len(limits), len(reqs))
	}
	maxStakes := make([]*big.Int, len(reqs))
	maxFee := uint16(10_000)
	for i, l := range limits {
		var fee uint16
		maxStakes[i], fee = l.Words()
		maxFee = min(maxFee, fee)
	}
	tx, err := m.transact(ctx, m.d.Manager, m.manager.PackLockRequests(reqs, signatures, maxStakes, maxFee))
	if err != nil {
		return nil, err
	}
	if len(tx.Events.Locked) != len(reqs) || len(tx.Events.Posted) != len(reqs) {
		return nil, fmt.Errorf("%w: %d JobLocked and %d JobPosted for %d requests in transaction %s",
			ErrWrongEvent, len(tx.Events.Locked), len(tx.Events.Posted), len(reqs), tx.Receipt.TxHash)
	}
	r := &LockRequestsResult{Tx: *tx, Locked: tx.Events.Locked}
	for _, l := range tx.Events.Locked {
		r.JobIDs = append(r.JobIDs, l.JobId)
	}
	return r, nil
}

// AbandonResult is a locked job given back.
type AbandonResult struct {
	Tx
	Abandoned *JobAbandoned
}

// Abandon gives a locked, uncommitted job back (its provider only), paying the
// job's abandonment fee; the job reopens while its lockBy allows.
func (m *Market) Abandon(ctx context.Context, req Request) (*AbandonResult, error) {
	tx, err := m.transact(ctx, m.d.Manager, m.manager.PackAbandon(req))
	if err != nil {
		return nil, err
	}
	ev, err := one(tx, tx.Events.Abandoned)
	if err != nil {
		return nil, err
	}
	return &AbandonResult{Tx: *tx, Abandoned: ev}, nil
}

// CommitResult is a committed job. Committed.SeedBlock is the block whose hash seeds
// the sampling; Committed.ProveBy is zero while the seed waits for the buyer's reveal.
type CommitResult struct {
	Tx
	Committed *JobCommitted
	// Commitment is what the job's submission (and a slash of it while Committed)
	// must open; the manager keeps only its hash. It is Committed's, so it can
	// also be rebuilt from the logs (CommitmentFromEvent).
	Commitment Commitment
}

// Commit commits the trace root and attestation digest of a job the client locked.
// The commitment replaces the job's provider and stake on chain: keep the result's
// Commitment (or the JobCommitted event) for the submission.
func (m *Market) Commit(ctx context.Context, jobID, traceRoot *big.Int, attestationDigest [32]byte) (*CommitResult, error) {
	tx, err := m.transact(ctx, m.d.Manager, m.manager.PackCommit(jobID, traceRoot, attestationDigest))
	if err != nil {
		return nil, err
	}
	ev, err := one(tx, tx.Events.Committed)
	if err != nil {
		return nil, err
	}
	return &CommitResult{Tx: *tx, Committed: ev, Commitment: CommitmentFromEvent(ev)}, nil
}

// CommitManyResult is several jobs committed in one transaction.
type CommitManyResult struct {
	Tx
	// Committed holds the JobCommitted events in the order of the job ids, and
	// Commitments their commitments, in the same order.
	Committed   []*JobCommitted
	Commitments []Commitment
}

// CommitMany commits several of the client's jobs in one transaction; the three
// slices are parallel.
func (m *Market) CommitMany(ctx context.Context, jobIDs, traceRoots []*big.Int, attestationDigests [][32]byte) (*CommitManyResult, error) {
	tx, err := m.transact(ctx, m.d.Manager, m.manager.PackCommitMany(jobIDs, traceRoots, attestationDigests))
	if err != nil {
		return nil, err
	}
	if len(tx.Events.Committed) != len(jobIDs) {
		return nil, fmt.Errorf("%w: %d JobCommitted for %d jobs in transaction %s", ErrWrongEvent, len(tx.Events.Committed), len(jobIDs), tx.Receipt.TxHash)
	}
	r := &CommitManyResult{Tx: *tx, Committed: tx.Events.Committed}
	for i, ev := range tx.Events.Committed {
		if ev.JobId.Cmp(jobIDs[i]) != 0 {
			return nil, fmt.Errorf("%w: JobCommitted %d is for job %v, want %v (transaction %s)", ErrWrongEvent, i, ev.JobId, jobIDs[i], tx.Receipt.TxHash)
		}
		r.Commitments = append(r.Commitments, CommitmentFromEvent(ev))
	}
	return r, nil
}

// SeedResult is a seed fixed and stored before the submission.
type SeedResult struct {
	Tx
	Fixed *SeedFixed
}

// FixSeed fixes and stores a committed job's seed without the buyer's secret
// (anyone): at once after the seed block without a seed commitment, else once the
// reveal window passed. A submission derives the seed itself, so this is only
// needed when the proof will not be mined within SEED_HORIZON blocks of the seed block.
func (m *Market) FixSeed(ctx context.Context, jobID *big.Int) (*SeedResult, error) {
	return m.seed(ctx, m.manager.PackFixSeed(jobID))
}

func (m *Market) seed(ctx context.Context, data []byte) (*SeedResult, error) {
	tx, err := m.transact(ctx, m.d.Manager, data)
	if err != nil {
		return nil, err
	}
	ev, err := one(tx, tx.Events.SeedFixed)
	if err != nil {
		return nil, err
	}
	return &SeedResult{Tx: *tx, Fixed: ev}, nil
}

// SubmitResult is how a single submission ended: proved (and settled with a zero
// challenge window) or slashed. A single submission is never skipped: it reverts.
type SubmitResult struct {
	Tx
	JobOutcome
}

// NewSubmission builds the submission of a committed job from its request, its
// JobCommitted event (a CommitResult's, a LockResult's from LockAndCommit, or one
// read from the logs), the result words (PackResultTokens) and the proof. It
// refuses an event of another job.
func (m *Market) NewSubmission(req Request, committed *JobCommitted, result []*big.Int, proof [8]*big.Int) (Submission, error) {
	if committed == nil {
		return Submission{}, fmt.Errorf("chain: no JobCommitted event")
	}
	id, err := m.JobID(req)
	if err != nil {
		return Submission{}, err
	}
	if committed.JobId == nil || committed.JobId.Cmp(id) != 0 {
		return Submission{}, fmt.Errorf("chain: JobCommitted is for job %v, the request's is %v", committed.JobId, id)
	}
	return Submission{Request: req, Commitment: CommitmentFromEvent(committed), Result: result, Proof: proof}, nil
}

// Submit submits one job's proof and result (its provider only, who must be the
// commitment's). An invalid proof slashes the job and the call succeeds: check
// Outcome.
func (m *Market) Submit(ctx context.Context, s Submission) (*SubmitResult, error) {
	id, err := m.JobID(s.Request)
	if err != nil {
		return nil, err
	}
	if err := checkCommitment(s.Commitment); err != nil {
		return nil, err
	}
	tx, err := m.transact(ctx, m.d.Manager, m.manager.PackSubmit(s))
	if err != nil {
		return nil, err
	}
	outs, err := outcomes(tx.Events, []*big.Int{id}, []Request{s.Request})
	if err != nil {
		return nil, err
	}
	return &SubmitResult{Tx: *tx, JobOutcome: outs[0]}, nil
}

// BatchResult is how every member of a batch ended, in submission order.
type BatchResult struct {
	Tx
	Jobs                     []JobOutcome
	Proved, Slashed, Skipped int
}

// SubmitBatch submits the proofs of several jobs of one class (at most MAX_BATCH)
// with one aggregated pairing check. A member whose job moved on, whose deadline
// passed or whose seed is not derivable is skipped; an invalid member is slashed
// without costing the valid ones.
func (m *Market) SubmitBatch(ctx context.Context, subs []Submission) (*BatchResult, error) {
	ids := make([]*big.Int, len(subs))
	reqs := make([]Request, len(subs))
	for i, s := range subs {
		id, err := m.JobID(s.Request)
		if err != nil {
			return nil, fmt.Errorf("submission %d: %w", i, err)
		}
		if err := checkCommitment(s.Commitment); err != nil {
			return nil, fmt.Errorf("submission %d: %w", i, err)
		}
		ids[i], reqs[i] = id, s.Request
	}
	tx, err := m.transact(ctx, m.d.Manager, m.manager.PackSubmitBatch(subs))
	if err != nil {
		return nil, err
	}
	outs, err := outcomes(tx.Events, ids, reqs)
	if err != nil {
		return nil, err
	}
	r := &BatchResult{Tx: *tx, Jobs: outs}
	for _, o := range outs {
		switch o.Outcome {
		case OutcomeProved:
			r.Proved++
		case OutcomeSlashed:
			r.Slashed++
		case OutcomeSkipped:
			r.Skipped++
		}
	}
	return r, nil
}

// ---------------------------------------------------------------- anyone

// SettleResult is what Finalize and Collect paid.
type SettleResult struct {
	Tx
	// Settled holds a JobSettled event per job paid; jobs not yet payable are passed over.
	Settled []*JobSettled
	// Withdrawn is the payout of Collect (nil for Finalize).
	Withdrawn *Withdrawn
}

// Finalize pays the proved jobs whose challenge window ended (anyone).
func (m *Market) Finalize(ctx context.Context, jobIDs []*big.Int) (*SettleResult, error) {
	tx, err := m.transact(ctx, m.d.Manager, m.manager.PackFinalize(jobIDs))
	if err != nil {
		return nil, err
	}
	return &SettleResult{Tx: *tx, Settled: tx.Events.Settled}, nil
}

// Collect finalizes jobIDs and pays the client's balance to to, in one transaction.
func (m *Market) Collect(ctx context.Context, jobIDs []*big.Int, to common.Address) (*SettleResult, error) {
	tx, err := m.transact(ctx, m.d.Manager, m.manager.PackCollect(jobIDs, to))
	if err != nil {
		return nil, err
	}
	w, err := one(tx, tx.Events.Withdrawn)
	if err != nil {
		return nil, err
	}
	return &SettleResult{Tx: *tx, Settled: tx.Events.Settled, Withdrawn: w}, nil
}

// SlashResult is a deadline slash.
type SlashResult struct {
	Tx
	Slashed *JobSlashed
}

// Slash slashes a job whose commit or proof deadline passed, or whose seed can no
// longer be derived; the job's bounty is credited to the client. A Committed job
// is slashed with its commitment c (from its JobCommitted event:
// CommitmentFromEvent), which must open the stored one (CommitmentMismatch); for a
// Locked job the manager ignores c, and a zero Commitment{} will do.
func (m *Market) Slash(ctx context.Context, req Request, c Commitment) (*SlashResult, error) {
	if c.Stake == nil {
		c.Stake = new(big.Int)
	}
	if c.TraceRoot == nil {
		c.TraceRoot = new(big.Int)
	}
	if err := checkCommitment(c); err != nil {
		return nil, err
	}
	tx, err := m.transact(ctx, m.d.Manager, m.manager.PackSlash(req, c))
	if err != nil {
		return nil, err
	}
	ev, err := one(tx, tx.Events.Slashed)
	if err != nil {
		return nil, err
	}
	return &SlashResult{Tx: *tx, Slashed: ev}, nil
}

// WithdrawResult is a payout of the client's balance.
type WithdrawResult struct {
	Tx
	Withdrawn *Withdrawn
}

// Withdraw pays out the client's balance: refunds, payments and slashed-stake credit.
func (m *Market) Withdraw(ctx context.Context) (*WithdrawResult, error) {
	return m.WithdrawTo(ctx, m.Address())
}

// WithdrawTo pays the client's balance to another address.
func (m *Market) WithdrawTo(ctx context.Context, to common.Address) (*WithdrawResult, error) {
	tx, err := m.transact(ctx, m.d.Manager, m.manager.PackWithdrawTo(to))
	if err != nil {
		return nil, err
	}
	ev, err := one(tx, tx.Events.Withdrawn)
	if err != nil {
		return nil, err
	}
	return &WithdrawResult{Tx: *tx, Withdrawn: ev}, nil
}

// ---------------------------------------------------------------- governance

// SetDetectionFloorBps sets the detection floor f0 (governance only; jobs locked later).
func (m *Market) SetDetectionFloorBps(ctx context.Context, bps uint16) (*Tx, error) {
	return m.transact(ctx, m.d.Manager, m.manager.PackSetDetectionFloorBps(bps))
}

// SetBountyBps sets the deadline-slash bounty (governance only; jobs locked later).
func (m *Market) SetBountyBps(ctx context.Context, bps uint16) (*Tx, error) {
	return m.transact(ctx, m.d.Manager, m.manager.PackSetBountyBps(bps))
}

// SetAbandonBps sets the abandonment fee (governance only; jobs locked later).
func (m *Market) SetAbandonBps(ctx context.Context, bps uint16) (*Tx, error) {
	return m.transact(ctx, m.d.Manager, m.manager.PackSetAbandonBps(bps))
}

// SetMinWindows sets the shortest windows a request may carry (governance only;
// jobs created later).
func (m *Market) SetMinWindows(ctx context.Context, execWindow, proveWindow uint32) (*Tx, error) {
	return m.transact(ctx, m.d.Manager, m.manager.PackSetMinWindows(execWindow, proveWindow))
}

// Params reads the manager's governance parameters.
func (m *Market) Params(ctx context.Context) (Params, error) {
	var p Params
	for _, f := range []struct {
		data   []byte
		unpack func([]byte) (uint16, error)
		dst    *uint16
	}{
		{m.manager.PackDetectionFloorBps(), m.manager.UnpackDetectionFloorBps, &p.DetectionFloorBps},
		{m.manager.PackBountyBps(), m.manager.UnpackBountyBps, &p.BountyBps},
		{m.manager.PackAbandonBps(), m.manager.UnpackAbandonBps, &p.AbandonBps},
	} {
		out, err := m.call(ctx, m.d.Manager, f.data)
		if err != nil {
			return p, err
		}
		if *f.dst, err = f.unpack(out); err != nil {
			return p, err
		}
	}
	for _, f := range []struct {
		data   []byte
		unpack func([]byte) (uint32, error)
		dst    *uint32
	}{
		{m.manager.PackMinExecWindow(), m.manager.UnpackMinExecWindow, &p.MinExecWindow},
		{m.manager.PackMinProveWindow(), m.manager.UnpackMinProveWindow, &p.MinProveWindow},
	} {
		out, err := m.call(ctx, m.d.Manager, f.data)
		if err != nil {
			return p, err
		}
		if *f.dst, err = f.unpack(out); err != nil {
			return p, err
		}
	}
	return p, nil
}

// ---------------------------------------------------------------- views

// GetJob returns the manager's record of a job (state None when unknown).
func (m *Market) GetJob(ctx context.Context, jobID *big.Int) (Job, error) {
	out, err := m.call(ctx, m.d.Manager, m.manager.PackGetJob(jobID))
	if err != nil {
		return Job{}, err
	}
	return m.manager.UnpackGetJob(out)
}

// HolderOf returns the provider and stake of a Locked or Proved job, as the manager
// unpacks them from the job's holder slot (zero for a job in any other state: a
// Committed job's are in its commitment and its JobCommitted event).
func (m *Market) HolderOf(ctx context.Context, jobID *big.Int) (provider common.Address, stake *big.Int, err error) {
	out, err := m.call(ctx, m.d.Manager, m.manager.PackHolderOf(jobID))
	if err != nil {
		return common.Address{}, nil, err
	}
	h, err := m.manager.UnpackHolderOf(out)
	if err != nil {
		return common.Address{}, nil, err
	}
	return h.Provider, h.Stake, nil
}

// CommitmentOf returns the hash the manager stores for commitment c (its
// commitmentOf; HashCommitment computes it locally).
func (m *Market) CommitmentOf(ctx context.Context, c Commitment) ([32]byte, error) {
	if err := checkCommitment(c); err != nil {
		return [32]byte{}, err
	}
	out, err := m.call(ctx, m.d.Manager, m.manager.PackCommitmentOf(c))
	if err != nil {
		return [32]byte{}, err
	}
	return m.manager.UnpackCommitmentOf(out)
}

// JobState returns a job's state.
func (m *Market) JobState(ctx context.Context, jobID *big.Int) (JobState, error) {
	j, err := m.GetJob(ctx, jobID)
	return JobState(j.State), err
}

// JobIDOf asks the manager for the job id of req (JobID computes it locally).
func (m *Market) JobIDOf(ctx context.Context, req Request) (*big.Int, error) {
	out, err := m.call(ctx, m.d.Manager, m.manager.PackJobIdOf(req))
	if err != nil {
		return nil, err
	}
	return m.manager.UnpackJobIdOf(out)
}

// SeedOf returns the seed a submission would use now: the stored one, else the one
// derived without the secret (reverts SeedUnavailable when none is derivable at the head).
// A derived seed is protocol.SeedV2 over the job's commitment (HashCommitment).
// A Proved job's seed comes back only when it was stored before the submission (a
// Proved job's holder slot is its provider and stake again, not the commitment);
// otherwise it reverts WrongState, and the seed is in the job's JobProved event.
func (m *Market) SeedOf(ctx context.Context, jobID *big.Int) (*big.Int, error) {
	out, err := m.call(ctx, m.d.Manager, m.manager.PackSeedOf(jobID))
	if err != nil {
		return nil, err
	}
	return m.manager.UnpackSeedOf(out)
}

// BalanceOf returns what Withdraw would pay account (manager balance plus
// slashed-stake credit in the registry).
func (m *Market) BalanceOf(ctx context.Context, account common.Address) (*big.Int, error) {
	out, err := m.call(ctx, m.d.Manager, m.manager.PackBalanceOf(account))
	if err != nil {
		return nil, err
	}
	return m.manager.UnpackBalanceOf(out)
}

// RequiredStake returns the stake a lock would reserve now for price in a class of
// minSlots (settlement.md §7).
func (m *Market) RequiredStake(ctx context.Context, price *big.Int, minSlots uint16) (*big.Int, error) {
	out, err := m.call(ctx, m.d.Manager, m.manager.PackRequiredStake(price, minSlots))
	if err != nil {
		return nil, err
	}
	return m.manager.UnpackRequiredStake(out)
}

// DetectionProbability returns p(f0, k) in 18-decimal fixed point.
func (m *Market) DetectionProbability(ctx context.Context, k uint16) (*big.Int, error) {
	out, err := m.call(ctx, m.d.Manager, m.manager.PackDetectionProbability(k))
	if err != nil {
		return nil, err
	}
	return m.manager.UnpackDetectionProbability(out)
}

// ReceiptDigest returns the EIP-712 digest a node key signs for rc, as the manager
// computes it (and emits it in JobProved).
func (m *Market) ReceiptDigest(ctx context.Context, rc Receipt) ([32]byte, error) {
	out, err := m.call(ctx, m.d.Manager, m.manager.PackReceiptDigest(rc))
	if err != nil {
		return [32]byte{}, err
	}
	return m.manager.UnpackReceiptDigest(out)
}

// VerifyReceipt asks the manager whether signature is the provider's current node
// key over rc.
func (m *Market) VerifyReceipt(ctx context.Context, rc Receipt, signature []byte) (bool, error) {
	out, err := m.call(ctx, m.d.Manager, m.manager.PackVerifyReceipt(rc, signature))
	if err != nil {
		return false, err
	}
	return m.manager.UnpackVerifyReceipt(out)
}

// DomainSeparator returns the manager's EIP-712 domain separator (name "Probity",
// version "1").
func (m *Market) DomainSeparator(ctx context.Context) ([32]byte, error) {
	out, err := m.call(ctx, m.d.Manager, m.manager.PackDomainSeparator())
	if err != nil {
		return [32]byte{}, err
	}
	return m.manager.UnpackDomainSeparator(out)
}

// ResultDigest returns S(RESULT; n, words) (specs/trace.md §4) as the deployment's
// ResultHasher computes it for a submission: public input 3 of the proof. It
// reverts (BadResultLength, NonCanonicalResultWord) on words the manager refuses.
func (m *Market) ResultDigest(ctx context.Context, n uint32, words []*big.Int) (*big.Int, error) {
	out, err := m.call(ctx, m.d.Hasher, m.hasher.PackResultDigest(new(big.Int).SetUint64(uint64(n)), words))
	if err != nil {
		return nil, err
	}
	return m.hasher.UnpackResultDigest(out)
}

// ---------------------------------------------------------------- token and stake

// Approve lets spender (the manager for escrow, the registry for stake) pull amount
// of the token from the client's account.
func (m *Market) Approve(ctx context.Context, spender common.Address, amount *big.Int) (*Tx, error) {
	return m.transact(ctx, m.d.Token, m.token.PackApprove(spender, amount))
}

// Mint mints DevTokens (the client must be the token's owner).
func (m *Market) Mint(ctx context.Context, to common.Address, amount *big.Int) (*Tx, error) {
	return m.transact(ctx, m.d.Token, m.token.PackMint(to, amount))
}

// TokenBalance returns account's token balance.
func (m *Market) TokenBalance(ctx context.Context, account common.Address) (*big.Int, error) {
	out, err := m.call(ctx, m.d.Token, m.token.PackBalanceOf(account))
	if err != nil {
		return nil, err
	}
	return m.token.UnpackBalanceOf(out)
}

// Register registers the client as a provider with nodeKey and pulls stake
// (approve the registry first).
func (m *Market) Register(ctx context.Context, nodeKey common.Address, stake *big.Int) (*Tx, error) {
	return m.transact(ctx, m.d.Providers, m.providers.PackRegister(nodeKey, stake))
}

// AddStake adds to the client's free stake.
func (m *Market) AddStake(ctx context.Context, amount *big.Int) (*Tx, error) {
	return m.transact(ctx, m.d.Providers, m.providers.PackAddStake(amount))
}

// ProviderOf returns a provider's registry account (free, reserved, unbonding stake).
func (m *Market) ProviderOf(ctx context.Context, provider common.Address) (Provider, error) {
	out, err := m.call(ctx, m.d.Providers, m.providers.PackProviderOf(provider))
	if err != nil {
		return Provider{}, err
	}
	return m.providers.UnpackProviderOf(out)
}
