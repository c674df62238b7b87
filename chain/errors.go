package chain

import (
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"github.com/ethereum/go-ethereum/accounts/abi"
	"github.com/ethereum/go-ethereum/accounts/abi/bind/v2"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"

	"github.com/probitylabs/probity/contracts/bindings"
)

// ErrReverted matches every failed contract call or transaction.
var ErrReverted = errors.New("chain: reverted")

// ErrWrongEvent reports a receipt without the event a call must emit.
var ErrWrongEvent = errors.New("chain: expected event not in receipt")

// RevertError is a revert with its data decoded against the Probity contracts'
// custom errors (and OpenZeppelin's, which they inherit; and the
// ResultDigest library's, which SLAManager passes on from its ResultHasher).
// Calls return a known custom error as its typed *ContractError, which unwraps
// to this; Name and Args serve logs and errors no binding declares.
type RevertError struct {
	// Name is the custom error's name, e.g. "WrongState"; empty when the data
	// matched no known error.
	Name string
	// Args are the error's arguments in declaration order.
	Args []any
	// Data is the raw revert data.
	Data []byte
	// Cause is the node's error; nil for revert data that did not come from a
	// node error (DecodeRevertData, e.g. a SubmissionSkipped reason).
	Cause error
}

func (e *RevertError) Error() string {
	if e.Name == "" {
		if e.Cause == nil {
			return fmt.Sprintf("chain: reverted (data 0x%x)", e.Data)
		}
		return fmt.Sprintf("chain: reverted (data 0x%x): %v", e.Data, e.Cause)
	}
	args := make([]string, len(e.Args))
	for i, a := range e.Args {
		args[i] = fmt.Sprint(a)
	}
	return fmt.Sprintf("chain: reverted with %s(%s)", e.Name, strings.Join(args, ", "))
}

// Is makes errors.Is(err, ErrReverted) true.
func (e *RevertError) Is(target error) bool { return target == ErrReverted }

// Unwrap returns the node's error. A nil *RevertError unwraps to nothing: a typed error that
// wraps one it does not have (a nil cause in an interface) must not panic errors.As.
func (e *RevertError) Unwrap() error {
	if e == nil {
		return nil
	}
	return e.Cause
}

// TxFailedError is a transaction that was mined with a failed status.
type TxFailedError struct {
	Hash    common.Hash
	Receipt *types.Receipt
}

func (e *TxFailedError) Error() string {
	return fmt.Sprintf("chain: transaction %s failed (gas used %d)", e.Hash, e.Receipt.GasUsed)
}

// Is makes errors.Is(err, ErrReverted) true.
func (e *TxFailedError) Is(target error) bool { return target == ErrReverted }

// IsRevert reports whether err is a revert with the custom error name.
func IsRevert(err error, name string) bool {
	var re *RevertError
	return errors.As(err, &re) && re.Name == name
}

var knownErrors = func() map[[4]byte]abi.Error {
	m := map[[4]byte]abi.Error{}
	for _, md := range []*bind.MetaData{
		&bindings.SLAManagerMetaData, &bindings.ProviderRegistryMetaData, &bindings.ClassRegistryMetaData,
		&bindings.Groth16VerifierMetaData, &bindings.DevTokenMetaData, &bindings.ResultHasherMetaData,
		&bindings.ChallengeManagerMetaData,
	} {
		parsed, err := md.ParseABI()
		if err != nil {
			panic("chain: bindings ABI does not parse: " + err.Error())
		}
		for _, e := range parsed.Errors {
			var id [4]byte
			copy(id[:], e.ID[:4])
			m[id] = e
		}
	}
	return m
}()

// decodeRevert turns a node error that carries revert data into a *RevertError;
// other errors are returned wrapped.
func decodeRevert(err error) error {
	data, ok := RevertData(err)
	if !ok {
		return fmt.Errorf("chain: %w", err)
	}
	re := DecodeRevertData(data)
	re.Cause = err
	return re.Typed()
}

// DecodeRevertData decodes revert data (a selector and ABI-encoded arguments) against
// the contracts' custom errors. Data that matches none comes back with an empty Name.
func DecodeRevertData(data []byte) *RevertError {
	re := &RevertError{Data: data}
	if len(data) >= 4 {
		var id [4]byte
		copy(id[:], data[:4])
		if e, ok := knownErrors[id]; ok {
			if args, uerr := e.Inputs.Unpack(data[4:]); uerr == nil {
				re.Name, re.Args = e.Name, args
			}
		}
	}
	return re
}

// RevertData extracts revert bytes from an RPC error (rpc.DataError carries it
// as a hex string), for callers that make their own eth_call.
func RevertData(err error) ([]byte, bool) {
	var de interface{ ErrorData() any }
	if !errors.As(err, &de) {
		return nil, false
	}
	s, ok := de.ErrorData().(string)
	if !ok {
		return nil, false
	}
	b, herr := hex.DecodeString(strings.TrimPrefix(s, "0x"))
	if herr != nil {
		return nil, false
	}
	return b, true
}
