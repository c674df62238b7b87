package sdk

import (
	"errors"
	"fmt"
	"math/big"

	"github.com/ethereum/go-ethereum/common"

	"github.com/probitylabs/probity/chain"
)

// Sentinel errors of the SDK itself.
var (
	ErrJobSlashed    = errors.New("sdk: job was slashed")
	ErrJobCancelled  = errors.New("sdk: job was cancelled")
	ErrNoReceipt     = errors.New("sdk: receipt not available")
	ErrReceiptDigest = errors.New("sdk: receipt does not match the settled digest")
	ErrJobRequest    = errors.New("sdk: invalid job request")
)

// WrongStateError is the contract's WrongState(jobId, state): the job is not in the state the
// call needs.
type WrongStateError struct {
	JobID *big.Int
	State chain.JobState
	cause *chain.RevertError
}

func (e *WrongStateError) Error() string {
	return fmt.Sprintf("job %s is %s, which this call does not allow", e.JobID, e.State)
}
func (e *WrongStateError) Unwrap() error { return e.cause }

// UnauthorizedError is Unauthorized(caller, expected).
type UnauthorizedError struct {
	Caller, Expected common.Address
	cause            *chain.RevertError
}

func (e *UnauthorizedError) Error() string {
	return fmt.Sprintf("%s may not do this; only %s may", e.Caller.Hex(), e.Expected.Hex())
}
func (e *UnauthorizedError) Unwrap() error { return e.cause }

// DeadlinePassedError is DeadlinePassed(jobId, deadline).
type DeadlinePassedError struct {
	JobID    *big.Int
	Deadline uint64
	cause    *chain.RevertError
}

func (e *DeadlinePassedError) Error() string {
	return fmt.Sprintf("job %s: deadline %d passed", e.JobID, e.Deadline)
}
func (e *DeadlinePassedError) Unwrap() error { return e.cause }

// InsufficientStakeError is InsufficientStake(provider, free, required).
type InsufficientStakeError struct {
	Provider       common.Address
	Free, Required *big.Int
	cause          *chain.RevertError
}

func (e *InsufficientStakeError) Error() string {
	return fmt.Sprintf("provider %s has %s free stake, the job needs %s", e.Provider.Hex(), e.Free, e.Required)
}
func (e *InsufficientStakeError) Unwrap() error { return e.cause }

// ShapeNotActiveError is ShapeNotActive(layer, shapeId): the shape is not registered or retired.
type ShapeNotActiveError struct {
	Layer   *big.Int
	ShapeID [32]byte
	cause   *chain.RevertError
}

func (e *ShapeNotActiveError) Error() string {
	return fmt.Sprintf("layer %s: shape 0x%x is not active on this deployment", e.Layer, e.ShapeID)
}
func (e *ShapeNotActiveError) Unwrap() error { return e.cause }

// NothingToWithdrawError is NothingToWithdraw(account).
type NothingToWithdrawError struct {
	Account common.Address
	cause   *chain.RevertError
}

func (e *NothingToWithdrawError) Error() string {
	return fmt.Sprintf("%s has no credited balance", e.Account.Hex())
}
func (e *NothingToWithdrawError) Unwrap() error { return e.cause }

// WindowTooShortError is WindowTooShort(execWindow, proveWindow, minExecWindow,
// minProveWindow): a window is below the deployment's governance minimum, which exists so that
// no job can be posted that an honest provider could not meet. PostJob returns it, wrapped in
// ErrJobRequest and without a revert, when it sees the windows are short before sending.
type WindowTooShortError struct {
	ExecWindow, ProveWindow       uint32 // seconds, as posted
	MinExecWindow, MinProveWindow uint32 // seconds, the deployment's minimums
	cause                         *chain.RevertError
}

func (e *WindowTooShortError) Error() string {
	return fmt.Sprintf("windows too short: exec %ds, prove %ds; the deployment requires at least %ds and %ds",
		e.ExecWindow, e.ProveWindow, e.MinExecWindow, e.MinProveWindow)
}
func (e *WindowTooShortError) Unwrap() error {
	if e.cause == nil {
		return nil // found by PostJob's check, not a revert
	}
	return e.cause
}

// RevealPendingError is RevealPending(jobId, until, blockNumber): the job has a seed
// commitment, so until block Until only the buyer's RevealSeed can fix its seed.
type RevealPendingError struct {
	JobID       *big.Int
	Until       uint64
	BlockNumber *big.Int
	cause       *chain.RevertError
}

func (e *RevealPendingError) Error() string {
	return fmt.Sprintf("job %s: only the buyer's reveal can fix the seed until block %d (now %s)", e.JobID, e.Until, e.BlockNumber)
}
func (e *RevealPendingError) Unwrap() error { return e.cause }

// RevealClosedError is RevealClosed(jobId, until, blockNumber): the reveal window ended at
// block Until; the seed is fixed without the secret from now on (spec §6.2), so a buyer that
// sees this has nothing left to do for the seed.
type RevealClosedError struct {
	JobID       *big.Int
	Until       uint64
	BlockNumber *big.Int
	cause       *chain.RevertError
}

func (e *RevealClosedError) Error() string {
	return fmt.Sprintf("job %s: the reveal window closed at block %d (now %s); the seed is fixed without the secret", e.JobID, e.Until, e.BlockNumber)
}
func (e *RevealClosedError) Unwrap() error { return e.cause }

// SeedCommitmentReusedError is SeedCommitmentReused(commitment): this buyer already posted a
// job committed to the same secret. Draw a fresh secret for every job (NewSeedSecret).
type SeedCommitmentReusedError struct {
	Commitment [32]byte
	cause      *chain.RevertError
}

func (e *SeedCommitmentReusedError) Error() string {
	return fmt.Sprintf("seed commitment 0x%x was used for an earlier job: draw a fresh secret for every job", e.Commitment)
}
func (e *SeedCommitmentReusedError) Unwrap() error { return e.cause }

// BadRevealError is BadReveal(jobId, commitment): the job was posted without a seed commitment
// (Commitment is zero), or the secret does not hash to it.
type BadRevealError struct {
	JobID      *big.Int
	Commitment [32]byte
	cause      *chain.RevertError
}

func (e *BadRevealError) Error() string {
	if e.Commitment == ([32]byte{}) {
		return fmt.Sprintf("job %s was posted without a seed commitment: there is nothing to reveal", e.JobID)
	}
	return fmt.Sprintf("job %s: the secret does not hash to the seed commitment 0x%x", e.JobID, e.Commitment)
}
func (e *BadRevealError) Unwrap() error { return e.cause }

// SeedAlreadyFixedError is SeedAlreadyFixed(jobId): a reveal or fixSeed came after the seed
// was fixed (by the buyer's reveal, the fallback, or the provider's submission).
type SeedAlreadyFixedError struct {
	JobID *big.Int
	cause *chain.RevertError
}

func (e *SeedAlreadyFixedError) Error() string {
	return fmt.Sprintf("job %s: the seed is already fixed", e.JobID)
}
func (e *SeedAlreadyFixedError) Unwrap() error { return e.cause }

// SeedUnavailableError is SeedUnavailable(jobId, seedBlock, blockNumber): the seed block is
// not mined yet, or is more than protocol.SeedHorizon blocks old so its hash is gone.
type SeedUnavailableError struct {
	JobID       *big.Int
	SeedBlock   uint64
	BlockNumber *big.Int
	cause       *chain.RevertError
}

func (e *SeedUnavailableError) Error() string {
	return fmt.Sprintf("job %s: seed block %d is not usable at block %s", e.JobID, e.SeedBlock, e.BlockNumber)
}
func (e *SeedUnavailableError) Unwrap() error { return e.cause }

// ZeroRecipientError is ZeroRecipient(): a withdrawal to the zero address.
type ZeroRecipientError struct{ cause *chain.RevertError }

func (e *ZeroRecipientError) Error() string { return "cannot withdraw to the zero address" }
func (e *ZeroRecipientError) Unwrap() error { return e.cause }

// decodeError turns the contract's custom errors into the typed errors above; other reverts
// stay *chain.RevertError (Name and Args), which every typed error also unwraps to.
func decodeError(err error) error {
	var re *chain.RevertError
	if !errors.As(err, &re) {
		return err
	}
	a := re.Args
	arg := func(i int) any {
		if i < len(a) {
			return a[i]
		}
		return nil
	}
	bigArg := func(i int) *big.Int { v, _ := arg(i).(*big.Int); return v }
	addrArg := func(i int) common.Address { v, _ := arg(i).(common.Address); return v }
	u64Arg := func(i int) uint64 { v, _ := arg(i).(uint64); return v }
	u32Arg := func(i int) uint32 { v, _ := arg(i).(uint32); return v }
	switch re.Name {
	case "WrongState":
		s, _ := arg(1).(uint8)
		return &WrongStateError{JobID: bigArg(0), State: chain.JobState(s), cause: re}
	case "Unauthorized":
		return &UnauthorizedError{Caller: addrArg(0), Expected: addrArg(1), cause: re}
	case "DeadlinePassed":
		return &DeadlinePassedError{JobID: bigArg(0), Deadline: u64Arg(1), cause: re}
	case "InsufficientStake":
		return &InsufficientStakeError{Provider: addrArg(0), Free: bigArg(1), Required: bigArg(2), cause: re}
	case "ShapeNotActive":
		id, _ := arg(1).([32]byte)
		return &ShapeNotActiveError{Layer: bigArg(0), ShapeID: id, cause: re}
	case "NothingToWithdraw":
		return &NothingToWithdrawError{Account: addrArg(0), cause: re}
	case "WindowTooShort":
		return &WindowTooShortError{ExecWindow: u32Arg(0), ProveWindow: u32Arg(1), MinExecWindow: u32Arg(2), MinProveWindow: u32Arg(3), cause: re}
	case "RevealPending":
		return &RevealPendingError{JobID: bigArg(0), Until: u64Arg(1), BlockNumber: bigArg(2), cause: re}
	case "BadReveal":
		c, _ := arg(1).([32]byte)
		return &BadRevealError{JobID: bigArg(0), Commitment: c, cause: re}
	case "SeedAlreadyFixed":
		return &SeedAlreadyFixedError{JobID: bigArg(0), cause: re}
	case "RevealClosed":
		return &RevealClosedError{JobID: bigArg(0), Until: u64Arg(1), BlockNumber: bigArg(2), cause: re}
	case "SeedCommitmentReused":
		c, _ := arg(0).([32]byte)
		return &SeedCommitmentReusedError{Commitment: c, cause: re}
	case "SeedUnavailable":
		return &SeedUnavailableError{JobID: bigArg(0), SeedBlock: u64Arg(1), BlockNumber: bigArg(2), cause: re}
	case "ZeroRecipient":
		return &ZeroRecipientError{cause: re}
	}
	return err
}
