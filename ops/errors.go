package ops

import (
	"errors"
	"fmt"
)

var (
	// ErrParam reports a parameter outside the range specs/ops.md gives it. It is static: an op
	// checks its parameters before it computes any element.
	ErrParam = errors.New("op parameter out of range")
	// ErrToken reports an embed id outside the table's rows.
	ErrToken = errors.New("token id out of range")
)

// ParamError names the op and the parameter (with its index, e.g. "table[3]") that is invalid.
type ParamError struct {
	Op, Param string
	Reason    string
}

func (e *ParamError) Error() string {
	return fmt.Sprintf("%s: %v: %s %s", e.Op, ErrParam, e.Param, e.Reason)
}

func (e *ParamError) Unwrap() error { return ErrParam }

func paramErr(op, param, format string, args ...any) error {
	return &ParamError{Op: op, Param: param, Reason: fmt.Sprintf(format, args...)}
}

// TokenError names the first position whose id is not a row of the embedding table.
type TokenError struct {
	Pos   int
	ID    int32
	Vocab int
}

func (e *TokenError) Error() string {
	return fmt.Sprintf("embed: %v: id %d at position %d, vocabulary has %d rows", ErrToken, e.ID, e.Pos, e.Vocab)
}

func (e *TokenError) Unwrap() error { return ErrToken }
