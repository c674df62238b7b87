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
	}
	return err
}
