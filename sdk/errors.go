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
	// ErrJobSlashed: the job ended slashed (the buyer's price and most of the stake are
	// credited to it: Withdraw).
	ErrJobSlashed = errors.New("sdk: job was slashed")
	// ErrJobCancelled: the job ended cancelled (an open job's escrow is credited back).
	ErrJobCancelled = errors.New("sdk: job was cancelled")
	// ErrNoReceipt: the provider has not published the job's receipt (yet).
	ErrNoReceipt = errors.New("sdk: receipt not available")
	// ErrReceiptDigest: a fetched receipt is not the one the manager emitted in JobProved.
	ErrReceiptDigest = errors.New("sdk: receipt does not match the proved digest")
	// ErrReceiptInvalid: a fetched receipt carries JobProved's digest but a field the digest
	// does not cover disagrees with the chain or its other fields (its error wraps the
	// failed checks' verifier errors).
	ErrReceiptInvalid = errors.New("sdk: receipt fields do not check against the chain")
	// ErrGeneration: the generation asked for is not a valid job (its error says why).
	ErrGeneration = errors.New("sdk: invalid generation request")
	// ErrEscrow: a signed offer could not be escrowed at lock as things stand.
	ErrEscrow = errors.New("sdk: offer cannot be escrowed")
	// ErrNoJob: the chain has no job with this id (never posted, never locked).
	ErrNoJob = errors.New("sdk: no such job")
)

// EscrowError says why an offer could not be escrowed: the manager takes the price from the
// buyer's escrow balance when it covers it, else by transferFrom, which needs both the token
// balance and the allowance. It matches ErrEscrow.
type EscrowError struct {
	Price, Balance, Allowance, Tokens *big.Int
}

func (e *EscrowError) Error() string {
	return fmt.Sprintf("sdk: the price %s is covered neither by the escrow balance %s nor by transferFrom (allowance %s, tokens %s): Deposit or Approve first",
		e.Price, e.Balance, e.Allowance, e.Tokens)
}

// Unwrap makes errors.Is(err, ErrEscrow) true.
func (e *EscrowError) Unwrap() error { return ErrEscrow }

// WrongStateError is WrongState(jobId, state): the job is not in the state the call needs.
type WrongStateError struct {
	JobID *big.Int
	State chain.JobState
	cause *chain.RevertError
}

func (e *WrongStateError) Error() string {
	return fmt.Sprintf("job %s is %s, which this call does not allow", e.JobID, e.State)
}
func (e *WrongStateError) Unwrap() error { return e.cause }

// UnauthorizedError is Unauthorized(caller, expected): only Expected may make this call.
type UnauthorizedError struct {
	Caller, Expected common.Address
	cause            *chain.RevertError
}

func (e *UnauthorizedError) Error() string {
	return fmt.Sprintf("%s may not do this; only %s may", e.Caller.Hex(), e.Expected.Hex())
}
func (e *UnauthorizedError) Unwrap() error { return e.cause }

// BadRequestSignatureError is BadRequestSignature(jobId, buyer): a lock of a signed request
// whose signature is not the buyer's.
type BadRequestSignatureError struct {
	JobID *big.Int
	Buyer common.Address
	cause *chain.RevertError
}

func (e *BadRequestSignatureError) Error() string {
	return fmt.Sprintf("job %s: the signature is not buyer %s's", e.JobID, e.Buyer.Hex())
}
func (e *BadRequestSignatureError) Unwrap() error { return e.cause }

// BadTermsError is BadTerms(price, lockBy, newTokens): a zero price, a lock deadline in the
// past, or a token count outside [1, 4096].
type BadTermsError struct {
	Price     *big.Int
	LockBy    uint64
	NewTokens uint32
	cause     *chain.RevertError
}

func (e *BadTermsError) Error() string {
	return fmt.Sprintf("terms refused: price %s, lockBy %d, newTokens %d", e.Price, e.LockBy, e.NewTokens)
}
func (e *BadTermsError) Unwrap() error { return e.cause }

// BadWindowsError is BadWindows(execWindow, proveWindow, challengeWindow): a window below the
// deployment's minimum or above 30 days.
type BadWindowsError struct {
	ExecWindow, ProveWindow, ChallengeWindow uint32
	cause                                    *chain.RevertError
}

func (e *BadWindowsError) Error() string {
	return fmt.Sprintf("windows refused: exec %ds, prove %ds, challenge %ds (see the deployment's minimums)", e.ExecWindow, e.ProveWindow, e.ChallengeWindow)
}
func (e *BadWindowsError) Unwrap() error { return e.cause }

// NotFieldElementError is NotFieldElement(value): a model root, job digest or trace root not
// below the BN254 scalar field's modulus.
type NotFieldElementError struct {
	Value *big.Int
	cause *chain.RevertError
}

func (e *NotFieldElementError) Error() string {
	return fmt.Sprintf("%s is not a field element", e.Value)
}
func (e *NotFieldElementError) Unwrap() error { return e.cause }

// ClassNotActiveError is ClassNotActive(classId, status): the request's class is unknown or
// retired on this deployment.
type ClassNotActiveError struct {
	ClassID [32]byte
	Status  chain.ClassStatus
	cause   *chain.RevertError
}

func (e *ClassNotActiveError) Error() string {
	return fmt.Sprintf("class 0x%x is %s on this deployment", e.ClassID, e.Status)
}
func (e *ClassNotActiveError) Unwrap() error { return e.cause }

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

// DeadlineNotPassedError is DeadlineNotPassed(jobId, deadline): a slash or finalize before the
// deadline that allows it (chain time).
type DeadlineNotPassedError struct {
	JobID    *big.Int
	Deadline uint64
	cause    *chain.RevertError
}

func (e *DeadlineNotPassedError) Error() string {
	return fmt.Sprintf("job %s: its deadline %d has not passed", e.JobID, e.Deadline)
}
func (e *DeadlineNotPassedError) Unwrap() error { return e.cause }

// SeedUnavailableError is SeedUnavailable(jobId, seedBlock, blockNumber): the seed block is
// not mined yet, or too old for its hash.
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

// SeedAlreadyFixedError is SeedAlreadyFixed(jobId).
type SeedAlreadyFixedError struct {
	JobID *big.Int
	cause *chain.RevertError
}

func (e *SeedAlreadyFixedError) Error() string {
	return fmt.Sprintf("job %s: the seed is already fixed", e.JobID)
}
func (e *SeedAlreadyFixedError) Unwrap() error { return e.cause }

// RevealPendingError is RevealPending(jobId, until, blockNumber): until block Until only the
// buyer's reveal can fix the seed.
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

// BadRevealError is BadReveal(jobId, commitment): the request has no seed commitment
// (Commitment zero), or the secret does not hash to it.
type BadRevealError struct {
	JobID      *big.Int
	Commitment [32]byte
	cause      *chain.RevertError
}

func (e *BadRevealError) Error() string {
	if e.Commitment == ([32]byte{}) {
		return fmt.Sprintf("job %s has no seed commitment: there is nothing to reveal", e.JobID)
	}
	return fmt.Sprintf("job %s: the secret does not hash to the seed commitment 0x%x", e.JobID, e.Commitment)
}
func (e *BadRevealError) Unwrap() error { return e.cause }

// RevealClosedError is RevealClosed(jobId, until, blockNumber): the reveal window ended at
// block Until, and the seed is fixed without the secret from now on.
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

// CommitmentMismatchError is CommitmentMismatch(jobId, given, committed): a call on a
// committed job carried another commitment than the one stored.
type CommitmentMismatchError struct {
	JobID            *big.Int
	Given, Committed [32]byte
	cause            *chain.RevertError
}

func (e *CommitmentMismatchError) Error() string {
	return fmt.Sprintf("job %s: commitment 0x%x does not open the stored 0x%x", e.JobID, e.Given, e.Committed)
}
func (e *CommitmentMismatchError) Unwrap() error { return e.cause }

// NothingToWithdrawError is NothingToWithdraw(account).
type NothingToWithdrawError struct {
	Account common.Address
	cause   *chain.RevertError
}

func (e *NothingToWithdrawError) Error() string {
	return fmt.Sprintf("%s has no credited balance", e.Account.Hex())
}
func (e *NothingToWithdrawError) Unwrap() error { return e.cause }

// InsufficientAllowanceError is the token's ERC20InsufficientAllowance(spender, allowance,
// needed): a post or lock needed transferFrom, and the buyer's allowance to the manager was
// short. Approve (or Deposit) first.
type InsufficientAllowanceError struct {
	Spender           common.Address
	Allowance, Needed *big.Int
	cause             *chain.RevertError
}

func (e *InsufficientAllowanceError) Error() string {
	return fmt.Sprintf("allowance to %s is %s, %s needed: Approve or Deposit first", e.Spender.Hex(), e.Allowance, e.Needed)
}
func (e *InsufficientAllowanceError) Unwrap() error { return e.cause }

// InsufficientBalanceError is the token's ERC20InsufficientBalance(sender, balance, needed).
type InsufficientBalanceError struct {
	Sender          common.Address
	Balance, Needed *big.Int
	cause           *chain.RevertError
}

func (e *InsufficientBalanceError) Error() string {
	return fmt.Sprintf("%s holds %s tokens, %s needed", e.Sender.Hex(), e.Balance, e.Needed)
}
func (e *InsufficientBalanceError) Unwrap() error { return e.cause }

// decodeError turns the contracts' custom errors into the typed errors above; other reverts
// stay *chain.RevertError (Name and Args), which every typed error also unwraps to, so
// errors.Is(err, chain.ErrReverted) holds for all of them.
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
	wordArg := func(i int) [32]byte { v, _ := arg(i).([32]byte); return v }
	u8Arg := func(i int) uint8 { v, _ := arg(i).(uint8); return v }
	switch re.Name {
	case "WrongState":
		return &WrongStateError{JobID: bigArg(0), State: chain.JobState(u8Arg(1)), cause: re}
	case "Unauthorized":
		return &UnauthorizedError{Caller: addrArg(0), Expected: addrArg(1), cause: re}
	case "BadRequestSignature":
		return &BadRequestSignatureError{JobID: bigArg(0), Buyer: addrArg(1), cause: re}
	case "BadTerms":
		return &BadTermsError{Price: bigArg(0), LockBy: u64Arg(1), NewTokens: u32Arg(2), cause: re}
	case "BadWindows":
		return &BadWindowsError{ExecWindow: u32Arg(0), ProveWindow: u32Arg(1), ChallengeWindow: u32Arg(2), cause: re}
	case "NotFieldElement":
		return &NotFieldElementError{Value: bigArg(0), cause: re}
	case "ClassNotActive":
		return &ClassNotActiveError{ClassID: wordArg(0), Status: chain.ClassStatus(u8Arg(1)), cause: re}
	case "DeadlinePassed":
		return &DeadlinePassedError{JobID: bigArg(0), Deadline: u64Arg(1), cause: re}
	case "DeadlineNotPassed":
		return &DeadlineNotPassedError{JobID: bigArg(0), Deadline: u64Arg(1), cause: re}
	case "SeedUnavailable":
		return &SeedUnavailableError{JobID: bigArg(0), SeedBlock: u64Arg(1), BlockNumber: bigArg(2), cause: re}
	case "SeedAlreadyFixed":
		return &SeedAlreadyFixedError{JobID: bigArg(0), cause: re}
	case "RevealPending":
		return &RevealPendingError{JobID: bigArg(0), Until: u64Arg(1), BlockNumber: bigArg(2), cause: re}
	case "BadReveal":
		return &BadRevealError{JobID: bigArg(0), Commitment: wordArg(1), cause: re}
	case "RevealClosed":
		return &RevealClosedError{JobID: bigArg(0), Until: u64Arg(1), BlockNumber: bigArg(2), cause: re}
	case "CommitmentMismatch":
		return &CommitmentMismatchError{JobID: bigArg(0), Given: wordArg(1), Committed: wordArg(2), cause: re}
	case "NothingToWithdraw":
		return &NothingToWithdrawError{Account: addrArg(0), cause: re}
	case "ERC20InsufficientAllowance":
		return &InsufficientAllowanceError{Spender: addrArg(0), Allowance: bigArg(1), Needed: bigArg(2), cause: re}
	case "ERC20InsufficientBalance":
		return &InsufficientBalanceError{Sender: addrArg(0), Balance: bigArg(1), Needed: bigArg(2), cause: re}
	}
	return err
}

// wrap gives a failed call its context and its typed revert.
func wrap(what string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("sdk: %s: %w", what, decodeError(err))
}
