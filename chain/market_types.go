package chain

import (
	"bytes"
	"crypto/ecdsa"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"os"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/probitylabs/probity/contracts/bindings"
	"github.com/probitylabs/probity/protocol"
)

// The settlement struct types (specs/settlement.md), re-exported from
// contracts/bindings.
type (
	// Request is what a buyer asks for (settlement.md §2); its EIP-712 digest is
	// the job id.
	Request = bindings.Request
	// Submission is one job's proof and result (settlement.md §5).
	Submission = bindings.Submission
	// Job is the manager's stored record of a job (settlement.md §3): a first
	// slot of state, flags (JobFlagSeedCommitment, JobFlagSeedFixed), seed block,
	// deadline and the terms fixed at lock (ProveWindow, BountyBps, AbandonBps,
	// Price); a second, Holder, that is the provider and its stake while the job is
	// Locked or Proved (JobHolder) and the hash of its Commitment while it is
	// Committed (JobCommitment); and a third, Seed, that holds the seed once it is
	// fixed before the submission and, while the job is Proved, its challenge anchor
	// (Anchor; Flags is then JobFlagSeedFixed alone). Everything else is in the request.
	Job = bindings.Job
	// Commitment is what a committed job's calldata must open (settlement.md §3):
	// the provider, its stake (a uint96) and the trace root and attestation digest
	// it committed. The manager stores only its hash (HashCommitment); the whole
	// of it is in the job's JobCommitted event (CommitmentFromEvent), and Commit,
	// CommitMany and LockAndCommit return it. A provider keeps it for its
	// submission, a keeper needs it to slash a Committed job.
	Commitment = bindings.Commitment
	// Receipt is the EIP-712 struct a node key signs for a job (settlement.md §6).
	Receipt = bindings.Receipt
	// Class is a ClassRegistry entry: a width class, its verifier and the
	// verifier of its targeted statement (the answers to challenges).
	Class = bindings.Class
	// Challenge is a ChallengeManager record of one challenged element of a
	// proved job: challenger, bond, respondBy and state (ChallengeState).
	Challenge = bindings.Challenge
	// TraceOpening answers a data challenge: one node of a committed trace with its path
	// (specs/settlement.md §10; jobs.TraceOpening is its field form).
	TraceOpening = bindings.TraceOpening
	// ModelEntry is a ClassRegistry model catalogue entry.
	ModelEntry = bindings.ModelEntry
)

// SLAManager and ClassRegistry events, re-exported.
// JobProved and SubmissionSkipped have their own types, with decoding added.
type (
	JobPosted       = bindings.SLAManagerJobPosted
	JobLocked       = bindings.SLAManagerJobLocked
	JobCommitted    = bindings.SLAManagerJobCommitted
	SeedFixed       = bindings.SLAManagerSeedFixed
	ProofRejected   = bindings.SLAManagerProofRejected
	JobSettled      = bindings.SLAManagerJobSettled
	JobSlashed      = bindings.SLAManagerJobSlashed
	JobAbandoned    = bindings.SLAManagerJobAbandoned
	JobCancelled    = bindings.SLAManagerJobCancelled
	Deposited       = bindings.SLAManagerDeposited
	Withdrawn       = bindings.SLAManagerWithdrawn
	ClassRegistered = bindings.ClassRegistryClassRegistered
	ClassRetired    = bindings.ClassRegistryClassRetired
	ModelRegistered = bindings.ClassRegistryModelRegistered

	ChallengeOpened   = bindings.ChallengeManagerChallengeOpened
	ChallengeAnswered = bindings.ChallengeManagerChallengeAnswered
	ChallengeUpheld   = bindings.ChallengeManagerChallengeUpheld
	ChallengeVoided   = bindings.ChallengeManagerChallengeVoided
	TraceOpened       = bindings.ChallengeManagerTraceOpened
	DataBondReleased  = bindings.ChallengeManagerDataBondReleased
	BondSet           = bindings.ChallengeManagerBondSet
	// BondsWithdrawn is ChallengeManager's Withdrawn: bonds paid out.
	BondsWithdrawn = bindings.ChallengeManagerWithdrawn
)

// JobProved is a JobProved event: the proof verified, and the generated tokens
// are on chain in Result, packed ten 24-bit tokens per word (specs/trace.md §4) and
// bound to the proof through ResultDigest. ResultTokens unpacks them.
type JobProved = bindings.SLAManagerJobProved

// SubmissionSkipped is a SubmissionSkipped event: a batch member left as it was.
type SubmissionSkipped struct {
	JobID *big.Int
	// Reason is the error a single submission would have reverted with (WrongState,
	// DeadlinePassed, RevealPending or SeedUnavailable), decoded.
	Reason *RevertError
	Event  *bindings.SLAManagerSubmissionSkipped
}

// Flags of Job.Flags, as the manager sets them.
const (
	// JobFlagSeedCommitment: the request carries a seed commitment, so the seed
	// waits for the buyer's reveal (or REVEAL_BLOCKS) and the proof clock starts
	// when it is fixed.
	JobFlagSeedCommitment uint8 = 1
	// JobFlagSeedFixed: Job.Seed holds the job's seed (revealSeed or fixSeed).
	JobFlagSeedFixed uint8 = 2
)

var maxUint96 = new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 96), big.NewInt(1))

// UnpackHolder splits a holder word as the manager packs it for a Locked or
// Proved job: the provider in the high 160 bits, its stake in the low 96.
func UnpackHolder(holder [32]byte) (provider common.Address, stake *big.Int) {
	copy(provider[:], holder[:20])
	return provider, new(big.Int).SetBytes(holder[20:])
}

// JobHolder returns the provider and stake of a Locked or Proved job, decoded
// from its Holder (as Market.HolderOf asks the manager); ok is false in any other
// state, where Holder is a commitment hash (Committed) or zero.
func JobHolder(j Job) (provider common.Address, stake *big.Int, ok bool) {
	if s := JobState(j.State); s != StateLocked && s != StateProved {
		return common.Address{}, nil, false
	}
	provider, stake = UnpackHolder(j.Holder)
	return provider, stake, true
}

// JobCommitment returns the commitment hash a Committed job stores in its
// Holder; ok is false in any other state.
func JobCommitment(j Job) (commitment [32]byte, ok bool) {
	if JobState(j.State) != StateCommitted {
		return [32]byte{}, false
	}
	return j.Holder, true
}

// CommitmentFromEvent is the commitment a JobCommitted event carries: what a
// submission and a slash of that job must open.
func CommitmentFromEvent(ev *JobCommitted) Commitment {
	return Commitment{
		Provider: ev.Provider, Stake: new(big.Int).Set(ev.Stake),
		TraceRoot: new(big.Int).Set(ev.TraceRoot), AttestationDigest: ev.AttestationDigest,
	}
}

// HashCommitment is keccak256(abi.encode(provider, uint256 stake, traceRoot,
// attestationDigest)), the hash a commit stores and the seed is derived over,
// computed locally as protocol.Commitment does (Market.CommitmentOf asks the
// manager). It fails for a commitment the ABI cannot encode (a nil, negative or
// oversized number: the stake is a uint96).
func HashCommitment(c Commitment) ([32]byte, error) {
	if err := checkCommitment(c); err != nil {
		return [32]byte{}, err
	}
	return protocol.Commitment(c.Provider, c.Stake, c.TraceRoot, c.AttestationDigest), nil
}

// checkCommitment refuses what abi.Pack would panic on (nil) or encode into
// calldata the manager's decoder rejects (a stake past uint96).
func checkCommitment(c Commitment) error {
	if c.Stake == nil || c.Stake.Sign() < 0 || c.Stake.Cmp(maxUint96) > 0 {
		return fmt.Errorf("chain: commitment stake %v is not a uint96", c.Stake)
	}
	if c.TraceRoot == nil || c.TraceRoot.Sign() < 0 || c.TraceRoot.BitLen() > 256 {
		return fmt.Errorf("chain: commitment trace root %v is not a uint256", c.TraceRoot)
	}
	return nil
}

// JobState mirrors the manager's JobState (settlement.md §3).
type JobState uint8

// job states, in the contract's order. Settled, Slashed and Cancelled are final.
const (
	StateNone JobState = iota
	StateOpen
	StateLocked
	StateCommitted
	StateProved
	StateSettled
	StateSlashed
	StateCancelled
)

var stateNames = [...]string{"None", "Open", "Locked", "Committed", "Proved", "Settled", "Slashed", "Cancelled"}

func (s JobState) String() string {
	if int(s) < len(stateNames) {
		return stateNames[s]
	}
	return fmt.Sprintf("JobState(%d)", uint8(s))
}

// ClassStatus mirrors ClassRegistry's ClassStatus.
type ClassStatus uint8

// Class statuses, in the contract's order. Retired is a tombstone.
const (
	ClassStatusNone ClassStatus = iota
	ClassStatusActive
	ClassStatusRetired
)

func (s ClassStatus) String() string {
	switch s {
	case ClassStatusNone:
		return "None"
	case ClassStatusActive:
		return "Active"
	case ClassStatusRetired:
		return "Retired"
	}
	return fmt.Sprintf("ClassStatus(%d)", uint8(s))
}

// ResultTokens unpacks the result words of a JobProved event into the job's n
// token ids (n is the request's NewTokens; the words alone cannot tell trailing
// zero tokens from empty slots). It refuses what the contract refuses: a word
// count other than ceil(n/10), a word at or above 2^240, a nonzero slot past n.
func ResultTokens(words []*big.Int, n uint32) ([]uint32, error) {
	t, err := protocol.UnpackResult(int(n), words)
	if err != nil {
		return nil, fmt.Errorf("chain: %w", err)
	}
	return t, nil
}

// PackResultTokens packs token ids into the canonical result words a submission
// carries (specs/trace.md §4).
func PackResultTokens(tokens []uint32) ([]*big.Int, error) {
	w, err := protocol.PackResult(tokens)
	if err != nil {
		return nil, fmt.Errorf("chain: %w", err)
	}
	return w, nil
}

// JobID is the job id of req under the manager at manager on chainID: the
// request's EIP-712 digest (settlement.md §2), computed here as
// protocol.Domain.JobID does; Market.JobIDOf asks the contract. It fails only for
// a request the ABI cannot encode (a nil or oversized number).
func JobID(chainID *big.Int, manager common.Address, req Request) (*big.Int, error) {
	for _, f := range []struct {
		name string
		v    *big.Int
		bits int
	}{{"modelRoot", req.ModelRoot, 256}, {"jobDigest", req.JobDigest, 256}, {"price", req.Price, 96}, {"salt", req.Salt, 256}} {
		if f.v == nil || f.v.Sign() < 0 || f.v.BitLen() > f.bits {
			return nil, fmt.Errorf("chain: request %s %v is not a uint%d", f.name, f.v, f.bits)
		}
	}
	return protocol.Domain{ChainID: chainID, Contract: manager}.JobID(ProtocolRequest(req)), nil
}

// ProtocolRequest is a request of the bindings as protocol.Request, the type of the
// encodings (job id, offers, receipts); RequestFrom is its inverse. The two types hold the
// same fields: this is their one conversion.
func ProtocolRequest(r Request) protocol.Request {
	return protocol.Request{
		Buyer: r.Buyer, ClassID: r.ClassId, ModelRoot: r.ModelRoot, JobDigest: r.JobDigest,
		NewTokens: r.NewTokens, Price: r.Price, LockBy: r.LockBy, ExecWindow: r.ExecWindow,
		ProveWindow: r.ProveWindow, ChallengeWindow: r.ChallengeWindow,
		SeedCommitment: r.SeedCommitment, Salt: r.Salt,
	}
}

// RequestFrom is the inverse of ProtocolRequest.
func RequestFrom(r protocol.Request) Request {
	return Request{
		Buyer: r.Buyer, ClassId: r.ClassID, ModelRoot: r.ModelRoot, JobDigest: r.JobDigest,
		NewTokens: r.NewTokens, Price: r.Price, LockBy: r.LockBy, ExecWindow: r.ExecWindow,
		ProveWindow: r.ProveWindow, ChallengeWindow: r.ChallengeWindow,
		SeedCommitment: r.SeedCommitment, Salt: r.Salt,
	}
}

// Addresses locates a deployment. ChainID, when set (deployment files written by
// `probity deploy` have it), is the chain the addresses are on: a client on another chain is
// refused rather than sending transactions to whatever lives at those addresses there.
type Addresses struct {
	ChainID   uint64         `json:"chainId,omitempty"`
	Token     common.Address `json:"token"`
	Providers common.Address `json:"providers"`
	Classes   common.Address `json:"classes"`
	Hasher    common.Address `json:"hasher"`
	Manager   common.Address `json:"manager"`
	// Challenges is the manager's ChallengeManager (SLAManager.challenges). Deploy
	// sets it; a file without it is still valid, and a Market reads it from the
	// manager on first use.
	Challenges common.Address `json:"challenges,omitempty"`
}

// Validate names the first address that is missing.
func (a Addresses) Validate() error {
	for _, f := range []struct {
		name string
		addr common.Address
	}{{"token", a.Token}, {"providers", a.Providers}, {"classes", a.Classes}, {"hasher", a.Hasher}, {"manager", a.Manager}} {
		if f.addr == (common.Address{}) {
			return fmt.Errorf("no %q address", f.name)
		}
	}
	return nil
}

// ReadAddresses reads a deployment file: the JSON object of Addresses, every
// address present. Unknown fields are errors.
func ReadAddresses(path string) (Addresses, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return Addresses{}, err
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	var a Addresses
	if err := dec.Decode(&a); err != nil {
		return Addresses{}, fmt.Errorf("deployment file %s: %w", path, err)
	}
	if err := a.Validate(); err != nil {
		return Addresses{}, fmt.Errorf("deployment file %s: %w", path, err)
	}
	return a, nil
}

// ResolveAddresses is a configuration's deployment: the addresses given inline, or those of the
// deployment file when one is named (never both, since either could silently win).
func ResolveAddresses(inline Addresses, file string) (Addresses, error) {
	if file == "" {
		return inline, nil
	}
	if inline != (Addresses{}) {
		return Addresses{}, errors.New("set either deploymentFile or the deployment addresses, not both")
	}
	return ReadAddresses(file)
}

// Provider is a ProviderRegistry account.
type Provider = bindings.Provider

// Params are the SLA manager's governance parameters (settlement.md §5). BountyBps and
// AbandonBps apply to jobs locked after a change; the minimum windows to jobs posted after.
type Params struct {
	DetectionFloorBps uint16
	BountyBps         uint16
	AbandonBps        uint16
	MinExecWindow     uint32 // seconds
	MinProveWindow    uint32 // seconds
}

// DeployParams configures Deploy.
type DeployParams struct {
	// UnbondingDelay is the registry's unbonding delay in seconds.
	UnbondingDelay uint64
	// Token, when set, is an existing ERC-20 to use; otherwise a DevToken is
	// deployed with InitialSupply minted to the deployer.
	Token common.Address
	// InitialSupply of the DevToken (default 10^27, a billion 18-decimal tokens).
	InitialSupply *big.Int
}

// SignDigest signs an EIP-712 digest in the r||s||v form the manager checks
// (v in {27, 28}; go-ethereum signatures are already low-s).
func SignDigest(key *ecdsa.PrivateKey, digest [32]byte) ([]byte, error) {
	sig, err := crypto.Sign(digest[:], key)
	if err != nil {
		return nil, fmt.Errorf("chain: signing digest: %w", err)
	}
	sig[64] += 27
	return sig, nil
}
