package chain

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/big"
	"os"

	"github.com/ethereum/go-ethereum/common"

	"github.com/probitylabs/probity/contracts/bindingsv1"
	"github.com/probitylabs/probity/protocol"
)

// The v1 settlement's struct types (specs/settlement.md), re-exported from
// contracts/bindingsv1. Their plain names are v0's in this package (types.go)
// until v0 is deleted; then the V1 suffix goes. ClassRegistry's types have no v0
// twin and take their plain names now.
type (
	// RequestV1 is what a buyer asks for (settlement.md §2); its EIP-712 digest is
	// the job id.
	RequestV1 = bindingsv1.Request
	// SubmissionV1 is one job's proof and result (settlement.md §5).
	SubmissionV1 = bindingsv1.Submission
	// JobV1 is the manager's stored record of a v1 job (settlement.md §3): a first
	// slot of state, flags (JobFlagSeedCommitment, JobFlagSeedFixed), seed block,
	// deadline and the terms fixed at lock (ProveWindow, BountyBps, AbandonBps,
	// Price); a second, Holder, that is the provider and its stake while the job is
	// Locked or Proved (JobHolderV1) and the hash of its CommitmentV1 while it is
	// Committed (JobCommitmentV1); and the seed once it is fixed before the
	// submission. Everything else is in the request.
	JobV1 = bindingsv1.Job
	// CommitmentV1 is what a committed job's calldata must open (settlement.md §3):
	// the provider, its stake (a uint96) and the trace root and attestation digest
	// it committed. The manager stores only its hash (HashCommitmentV1); the whole
	// of it is in the job's JobCommitted event (CommitmentFromEvent), and Commit,
	// CommitMany and LockAndCommit return it. A provider keeps it for its
	// submission, a keeper needs it to slash a Committed job.
	CommitmentV1 = bindingsv1.Commitment
	// ReceiptV1 is the EIP-712 struct a node key signs for a v1 job (settlement.md §6).
	ReceiptV1 = bindingsv1.Receipt
	// Class is a ClassRegistry entry: a width class and its verifier.
	Class = bindingsv1.Class
	// ModelEntry is a ClassRegistry model catalogue entry.
	ModelEntry = bindingsv1.ModelEntry
)

// SLAManagerV1 and ClassRegistry events, re-exported (the V1 suffix as above).
// JobProved and SubmissionSkipped have their own types, with decoding added.
type (
	JobPostedV1     = bindingsv1.SLAManagerV1JobPosted
	JobLockedV1     = bindingsv1.SLAManagerV1JobLocked
	JobCommittedV1  = bindingsv1.SLAManagerV1JobCommitted
	SeedFixedV1     = bindingsv1.SLAManagerV1SeedFixed
	ProofRejectedV1 = bindingsv1.SLAManagerV1ProofRejected
	JobSettledV1    = bindingsv1.SLAManagerV1JobSettled
	JobSlashedV1    = bindingsv1.SLAManagerV1JobSlashed
	JobAbandonedV1  = bindingsv1.SLAManagerV1JobAbandoned
	JobCancelledV1  = bindingsv1.SLAManagerV1JobCancelled
	DepositedV1     = bindingsv1.SLAManagerV1Deposited
	WithdrawnV1     = bindingsv1.SLAManagerV1Withdrawn
	ClassRegistered = bindingsv1.ClassRegistryClassRegistered
	ClassRetired    = bindingsv1.ClassRegistryClassRetired
	ModelRegistered = bindingsv1.ClassRegistryModelRegistered
)

// JobProvedV1 is a JobProved event: the proof verified, and the generated tokens
// are on chain in Result, packed ten 24-bit tokens per word (specs/trace.md §4) and
// bound to the proof through ResultDigest. ResultTokens unpacks them.
type JobProvedV1 = bindingsv1.SLAManagerV1JobProved

// SubmissionSkippedV1 is a SubmissionSkipped event: a batch member left as it was.
type SubmissionSkippedV1 struct {
	JobID *big.Int
	// Reason is the error a single submission would have reverted with (WrongState,
	// DeadlinePassed, RevealPending or SeedUnavailable), decoded.
	Reason *RevertError
	Event  *bindingsv1.SLAManagerV1SubmissionSkipped
}

// Flags of JobV1.Flags, as the manager sets them.
const (
	// JobFlagSeedCommitment: the request carries a seed commitment, so the seed
	// waits for the buyer's reveal (or REVEAL_BLOCKS) and the proof clock starts
	// when it is fixed.
	JobFlagSeedCommitment uint8 = 1
	// JobFlagSeedFixed: JobV1.Seed holds the job's seed (revealSeed or fixSeed).
	JobFlagSeedFixed uint8 = 2
)

var maxUint96 = new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 96), big.NewInt(1))

// UnpackHolderV1 splits a holder word as the manager packs it for a Locked or
// Proved job: the provider in the high 160 bits, its stake in the low 96.
func UnpackHolderV1(holder [32]byte) (provider common.Address, stake *big.Int) {
	copy(provider[:], holder[:20])
	return provider, new(big.Int).SetBytes(holder[20:])
}

// JobHolderV1 returns the provider and stake of a Locked or Proved job, decoded
// from its Holder (as Market.HolderOf asks the manager); ok is false in any other
// state, where Holder is a commitment hash (Committed) or zero.
func JobHolderV1(j JobV1) (provider common.Address, stake *big.Int, ok bool) {
	if s := JobStateV1(j.State); s != StateV1Locked && s != StateV1Proved {
		return common.Address{}, nil, false
	}
	provider, stake = UnpackHolderV1(j.Holder)
	return provider, stake, true
}

// JobCommitmentV1 returns the commitment hash a Committed job stores in its
// Holder; ok is false in any other state.
func JobCommitmentV1(j JobV1) (commitment [32]byte, ok bool) {
	if JobStateV1(j.State) != StateV1Committed {
		return [32]byte{}, false
	}
	return j.Holder, true
}

// CommitmentFromEvent is the commitment a JobCommitted event carries: what a
// submission and a slash of that job must open.
func CommitmentFromEvent(ev *JobCommittedV1) CommitmentV1 {
	return CommitmentV1{
		Provider: ev.Provider, Stake: new(big.Int).Set(ev.Stake),
		TraceRoot: new(big.Int).Set(ev.TraceRoot), AttestationDigest: ev.AttestationDigest,
	}
}

// HashCommitmentV1 is keccak256(abi.encode(provider, uint256 stake, traceRoot,
// attestationDigest)), the hash a commit stores and the seed is derived over,
// computed locally as protocol.Commitment does (Market.CommitmentOf asks the
// manager). It fails for a commitment the ABI cannot encode (a nil, negative or
// oversized number: the stake is a uint96).
func HashCommitmentV1(c CommitmentV1) ([32]byte, error) {
	if err := checkCommitment(c); err != nil {
		return [32]byte{}, err
	}
	return protocol.Commitment(c.Provider, c.Stake, c.TraceRoot, c.AttestationDigest), nil
}

// checkCommitment refuses what abi.Pack would panic on (nil) or encode into
// calldata the manager's decoder rejects (a stake past uint96).
func checkCommitment(c CommitmentV1) error {
	if c.Stake == nil || c.Stake.Sign() < 0 || c.Stake.Cmp(maxUint96) > 0 {
		return fmt.Errorf("chain: commitment stake %v is not a uint96", c.Stake)
	}
	if c.TraceRoot == nil || c.TraceRoot.Sign() < 0 || c.TraceRoot.BitLen() > 256 {
		return fmt.Errorf("chain: commitment trace root %v is not a uint256", c.TraceRoot)
	}
	return nil
}

// JobStateV1 mirrors the v1 manager's JobState (settlement.md §3).
type JobStateV1 uint8

// v1 job states, in the contract's order. Settled, Slashed and Cancelled are final.
const (
	StateV1None JobStateV1 = iota
	StateV1Open
	StateV1Locked
	StateV1Committed
	StateV1Proved
	StateV1Settled
	StateV1Slashed
	StateV1Cancelled
)

var stateV1Names = [...]string{"None", "Open", "Locked", "Committed", "Proved", "Settled", "Slashed", "Cancelled"}

func (s JobStateV1) String() string {
	if int(s) < len(stateV1Names) {
		return stateV1Names[s]
	}
	return fmt.Sprintf("JobStateV1(%d)", uint8(s))
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

// JobIDV1 is the job id of req under the v1 manager at manager on chainID: the
// request's EIP-712 digest (settlement.md §2), computed here as
// protocol.Domain.JobID does; Market.JobIDOf asks the contract. It fails only for
// a request the ABI cannot encode (a nil or oversized number).
func JobIDV1(chainID *big.Int, manager common.Address, req RequestV1) (*big.Int, error) {
	for _, f := range []struct {
		name string
		v    *big.Int
		bits int
	}{{"modelRoot", req.ModelRoot, 256}, {"jobDigest", req.JobDigest, 256}, {"price", req.Price, 96}, {"salt", req.Salt, 256}} {
		if f.v == nil || f.v.Sign() < 0 || f.v.BitLen() > f.bits {
			return nil, fmt.Errorf("chain: request %s %v is not a uint%d", f.name, f.v, f.bits)
		}
	}
	return protocol.Domain{ChainID: chainID, Contract: manager}.JobID(ProtocolRequestV1(req)), nil
}

// ProtocolRequestV1 is a request of the bindings as protocol.Request, the type of the
// encodings (job id, offers, receipts); RequestV1From is its inverse. The two types hold the
// same fields: this is their one conversion.
func ProtocolRequestV1(r RequestV1) protocol.Request {
	return protocol.Request{
		Buyer: r.Buyer, ClassID: r.ClassId, ModelRoot: r.ModelRoot, JobDigest: r.JobDigest,
		NewTokens: r.NewTokens, Price: r.Price, LockBy: r.LockBy, ExecWindow: r.ExecWindow,
		ProveWindow: r.ProveWindow, ChallengeWindow: r.ChallengeWindow,
		SeedCommitment: r.SeedCommitment, Salt: r.Salt,
	}
}

// RequestV1From is the inverse of ProtocolRequestV1.
func RequestV1From(r protocol.Request) RequestV1 {
	return RequestV1{
		Buyer: r.Buyer, ClassId: r.ClassID, ModelRoot: r.ModelRoot, JobDigest: r.JobDigest,
		NewTokens: r.NewTokens, Price: r.Price, LockBy: r.LockBy, ExecWindow: r.ExecWindow,
		ProveWindow: r.ProveWindow, ChallengeWindow: r.ChallengeWindow,
		SeedCommitment: r.SeedCommitment, Salt: r.Salt,
	}
}

// AddressesV1 locates a v1 deployment. ChainID, when set (deployment files written by
// `probity deploy` have it), is the chain the addresses are on: a client on another chain is
// refused rather than sending transactions to whatever lives at those addresses there.
type AddressesV1 struct {
	ChainID   uint64         `json:"chainId,omitempty"`
	Token     common.Address `json:"token"`
	Providers common.Address `json:"providers"`
	Classes   common.Address `json:"classes"`
	Hasher    common.Address `json:"hasher"`
	Manager   common.Address `json:"manager"`
}

// Validate names the first address that is missing.
func (a AddressesV1) Validate() error {
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

// ReadAddressesV1 reads a v1 deployment file: the JSON object of AddressesV1, every
// address present. Unknown fields are errors.
func ReadAddressesV1(path string) (AddressesV1, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return AddressesV1{}, err
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	var a AddressesV1
	if err := dec.Decode(&a); err != nil {
		return AddressesV1{}, fmt.Errorf("deployment file %s: %w", path, err)
	}
	if err := a.Validate(); err != nil {
		return AddressesV1{}, fmt.Errorf("deployment file %s: %w", path, err)
	}
	return a, nil
}
