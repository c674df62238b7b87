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
	// JobV1 is the manager's stored record of a v1 job: two slots from lock on
	// (settlement.md §3); everything else is in the request.
	JobV1 = bindingsv1.Job
	// TermsV1 is what a locked job pays and can lose, fixed at lock.
	TermsV1 = bindingsv1.Terms
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
	return protocol.Domain{ChainID: chainID, Contract: manager}.JobID(protocol.Request{
		Buyer: req.Buyer, ClassID: req.ClassId, ModelRoot: req.ModelRoot, JobDigest: req.JobDigest,
		NewTokens: req.NewTokens, Price: req.Price, LockBy: req.LockBy, ExecWindow: req.ExecWindow,
		ProveWindow: req.ProveWindow, ChallengeWindow: req.ChallengeWindow,
		SeedCommitment: req.SeedCommitment, Salt: req.Salt,
	}), nil
}

// AddressesV1 locates a v1 deployment.
type AddressesV1 struct {
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
