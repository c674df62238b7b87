package sdk

import (
	"errors"
	"fmt"
	"math/big"

	"github.com/probitylabs/probity/chain"
	"github.com/probitylabs/probity/contracts/bindings"
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

// The contracts' custom errors a buyer meets, under the SDK's names. Each is the
// *chain.ContractError of the error struct abigen generated for it, so Args carries the
// error's arguments typed:
//
//	var ws *sdk.WrongStateError
//	if errors.As(err, &ws) {
//		fmt.Println(ws.Args.JobId, chain.JobState(ws.Args.State))
//	}
//
// Every other custom error of the contracts comes back the same way as
// *chain.ContractError[bindings.<Contract><Error>]; all of them match
// errors.Is(err, chain.ErrReverted) and errors.As(err, **chain.RevertError). Prepare and
// RevealSeed return a few of them from their own checks before sending (ClassNotActive,
// BadWindows, BadReveal): those have no Revert and do not match chain.ErrReverted.
type (
	// WrongStateError: the job is not in the state the call needs (Args.State, a chain.JobState).
	WrongStateError = chain.ContractError[bindings.SLAManagerWrongState]
	// UnauthorizedError: only Args.Expected may make this call.
	UnauthorizedError = chain.ContractError[bindings.SLAManagerUnauthorized]
	// BadRequestSignatureError: a lock of a signed request whose signature is not the buyer's.
	BadRequestSignatureError = chain.ContractError[bindings.SLAManagerBadRequestSignature]
	// BadTermsError: a zero price, a lock deadline in the past, or a token count outside [1, 4096].
	BadTermsError = chain.ContractError[bindings.SLAManagerBadTerms]
	// BadWindowsError: a window below the deployment's minimum or above 30 days.
	BadWindowsError = chain.ContractError[bindings.SLAManagerBadWindows]
	// NotFieldElementError: a model root, job digest or trace root not below the BN254
	// scalar field's modulus.
	NotFieldElementError = chain.ContractError[bindings.SLAManagerNotFieldElement]
	// ClassNotActiveError: the request's class is unknown or retired on this deployment
	// (Args.Status, a chain.ClassStatus).
	ClassNotActiveError = chain.ContractError[bindings.SLAManagerClassNotActive]
	// DeadlinePassedError: the call came after the job's deadline.
	DeadlinePassedError = chain.ContractError[bindings.SLAManagerDeadlinePassed]
	// DeadlineNotPassedError: a slash or finalize before the deadline that allows it (chain time).
	DeadlineNotPassedError = chain.ContractError[bindings.SLAManagerDeadlineNotPassed]
	// SeedUnavailableError: the seed block is not mined yet, or too old for its hash.
	SeedUnavailableError = chain.ContractError[bindings.SLAManagerSeedUnavailable]
	// SeedAlreadyFixedError: the job's seed is already fixed.
	SeedAlreadyFixedError = chain.ContractError[bindings.SLAManagerSeedAlreadyFixed]
	// RevealPendingError: until block Args.Until only the buyer's reveal can fix the seed.
	RevealPendingError = chain.ContractError[bindings.SLAManagerRevealPending]
	// BadRevealError: the request has no seed commitment (Args.Commitment zero), or the
	// secret does not hash to it.
	BadRevealError = chain.ContractError[bindings.SLAManagerBadReveal]
	// RevealClosedError: the reveal window ended at block Args.Until; the seed is fixed
	// without the secret from now on.
	RevealClosedError = chain.ContractError[bindings.SLAManagerRevealClosed]
	// CommitmentMismatchError: a call on a committed job carried another commitment than
	// the one stored.
	CommitmentMismatchError = chain.ContractError[bindings.SLAManagerCommitmentMismatch]
	// NothingToWithdrawError: the account has no credited balance.
	NothingToWithdrawError = chain.ContractError[bindings.SLAManagerNothingToWithdraw]
	// InsufficientAllowanceError: a post or lock needed transferFrom, and the buyer's
	// allowance to the manager was short. Approve (or Deposit) first.
	InsufficientAllowanceError = chain.ContractError[bindings.DevTokenERC20InsufficientAllowance]
	// InsufficientBalanceError: the sender holds fewer tokens than needed.
	InsufficientBalanceError = chain.ContractError[bindings.DevTokenERC20InsufficientBalance]
)

// wrap gives a failed call its context; reverts already come typed from package chain.
func wrap(what string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("sdk: %s: %w", what, err)
}
