package chain

// errors_table.go comes from the bindings. `make generate` runs this package's generator before
// the bindings' own (import path order), so after a contract change run `go generate ./chain`
// once more; TestEveryContractErrorIsTyped says so while the table lags.
//go:generate go run ../internal/cmd/generrors ../contracts/bindings/bindings.go errors_table.go

import (
	"fmt"

	"github.com/ethereum/go-ethereum/common"

	"github.com/probitylabs/probity/contracts/bindings"
)

// ContractError is a revert with the contracts' custom error E, one of the structs abigen
// generated for them (bindings.SLAManagerWrongState, bindings.ProviderRegistryNotRegistered,
// ...). Every revert whose data is a custom error of the Probity contracts comes back as one,
// so a caller matches the error it expects by type, with its arguments typed:
//
//	var ws *chain.ContractError[bindings.SLAManagerWrongState]
//	if errors.As(err, &ws) {
//		fmt.Println(ws.Args.JobId, chain.JobState(ws.Args.State))
//	}
//
// It unwraps to the *RevertError it was decoded from, so errors.Is(err, ErrReverted) and
// IsRevert(err, name) hold for it too. A ContractError the SDK builds from its own checks
// before sending (Revert nil) is not a revert and matches neither.
type ContractError[E any] struct {
	// Args are the custom error's arguments.
	Args E
	// Revert is the decoded revert (its name, raw data and the node's error); nil for an
	// error raised before anything was sent.
	Revert *RevertError
}

func (e *ContractError[E]) Error() string {
	if msg := describe(&e.Args); msg != "" {
		return msg
	}
	if e.Revert != nil {
		return e.Revert.Error()
	}
	return fmt.Sprintf("chain: %T%+v", e.Args, e.Args)
}

// Unwrap returns the revert; nothing for an error built before sending.
func (e *ContractError[E]) Unwrap() error {
	if e.Revert == nil {
		return nil
	}
	return e.Revert
}

// decoder turns a custom error's ABI-encoded arguments (after the selector) into its
// *ContractError.
type decoder func(args []byte, re *RevertError) (error, bool)

// typed is the decoder of one binding's Unpack<Name>Error.
func typed[E any](unpack func([]byte) (*E, error)) decoder {
	return func(args []byte, re *RevertError) (error, bool) {
		v, err := unpack(args)
		if err != nil {
			return nil, false
		}
		return &ContractError[E]{Args: *v, Revert: re}, true
	}
}

func selector(id common.Hash) (s [4]byte) {
	copy(s[:], id[:4])
	return s
}

// newErrorTable builds the selector table; the first decoder added for a selector wins.
func newErrorTable(fill func(add func(id [4]byte, d decoder))) map[[4]byte]decoder {
	m := map[[4]byte]decoder{}
	fill(func(id [4]byte, d decoder) {
		if _, dup := m[id]; !dup {
			m[id] = d
		}
	})
	return m
}

// Typed returns the revert as the *ContractError of its custom error, or the revert itself
// when its data is no custom error of the contracts (or does not decode as one).
func (e *RevertError) Typed() error {
	if len(e.Data) >= 4 {
		var id [4]byte
		copy(id[:], e.Data[:4])
		if d, ok := typedErrors[id]; ok {
			if te, ok := d(e.Data[4:], e); ok {
				return te
			}
		}
	}
	return e
}

// describe says in words what the errors a buyer or provider meets most often mean; ""
// leaves the others to RevertError's "reverted with Name(args)".
func describe(args any) string {
	switch e := args.(type) {
	case *bindings.SLAManagerWrongState:
		return fmt.Sprintf("job %s is %s, which this call does not allow", e.JobId, JobState(e.State))
	case *bindings.SLAManagerUnauthorized:
		return fmt.Sprintf("%s may not do this; only %s may", e.Caller.Hex(), e.Expected.Hex())
	case *bindings.SLAManagerBadRequestSignature:
		return fmt.Sprintf("job %s: the signature is not buyer %s's", e.JobId, e.Buyer.Hex())
	case *bindings.SLAManagerBadTerms:
		return fmt.Sprintf("terms refused: price %s, lockBy %d, newTokens %d", e.Price, e.LockBy, e.NewTokens)
	case *bindings.SLAManagerBadWindows:
		return fmt.Sprintf("windows refused: exec %ds, prove %ds, challenge %ds (see the deployment's minimums)", e.ExecWindow, e.ProveWindow, e.ChallengeWindow)
	case *bindings.SLAManagerNotFieldElement:
		return fmt.Sprintf("%s is not a field element", e.Value)
	case *bindings.SLAManagerClassNotActive:
		return fmt.Sprintf("class 0x%x is %s on this deployment", e.ClassId, ClassStatus(e.Status))
	case *bindings.SLAManagerDeadlinePassed:
		return fmt.Sprintf("job %s: deadline %d passed", e.JobId, e.Deadline)
	case *bindings.SLAManagerDeadlineNotPassed:
		return fmt.Sprintf("job %s: its deadline %d has not passed", e.JobId, e.Deadline)
	case *bindings.SLAManagerSeedUnavailable:
		return fmt.Sprintf("job %s: seed block %d is not usable at block %s", e.JobId, e.SeedBlock, e.BlockNumber)
	case *bindings.SLAManagerSeedAlreadyFixed:
		return fmt.Sprintf("job %s: the seed is already fixed", e.JobId)
	case *bindings.SLAManagerRevealPending:
		return fmt.Sprintf("job %s: only the buyer's reveal can fix the seed until block %d (now %s)", e.JobId, e.Until, e.BlockNumber)
	case *bindings.SLAManagerBadReveal:
		if e.Commitment == ([32]byte{}) {
			return fmt.Sprintf("job %s has no seed commitment: there is nothing to reveal", e.JobId)
		}
		return fmt.Sprintf("job %s: the secret does not hash to the seed commitment 0x%x", e.JobId, e.Commitment)
	case *bindings.SLAManagerRevealClosed:
		return fmt.Sprintf("job %s: the reveal window closed at block %d (now %s); the seed is fixed without the secret", e.JobId, e.Until, e.BlockNumber)
	case *bindings.SLAManagerCommitmentMismatch:
		return fmt.Sprintf("job %s: commitment 0x%x does not open the stored 0x%x", e.JobId, e.Given, e.Committed)
	case *bindings.SLAManagerNothingToWithdraw:
		return fmt.Sprintf("%s has no credited balance", e.Account.Hex())
	case *bindings.DevTokenERC20InsufficientAllowance:
		return fmt.Sprintf("allowance to %s is %s, %s needed: approve or deposit first", e.Spender.Hex(), e.Allowance, e.Needed)
	case *bindings.DevTokenERC20InsufficientBalance:
		return fmt.Sprintf("%s holds %s tokens, %s needed", e.Sender.Hex(), e.Balance, e.Needed)
	}
	return ""
}
