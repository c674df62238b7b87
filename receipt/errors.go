package receipt

import (
	"errors"
	"fmt"
)

// Timings are advisory wall-clock durations measured by the provider; they are not signed.
type Timings struct {
	ExecuteMs uint64 `json:"executeMs"`
	CommitMs  uint64 `json:"commitMs"`
	ProveMs   uint64 `json:"proveMs"`
	SubmitMs  uint64 `json:"submitMs"`
}

// Sentinel errors, so callers can tell classes of failure apart with errors.Is.
var (
	ErrMalformed = errors.New("malformed receipt")
	ErrVersion   = errors.New("unsupported receipt version")
	ErrSignature = errors.New("receipt signature invalid")
	// ErrNonCanonical wraps ErrMalformed: the receipt decodes but is not spelled canonically
	// (key order or case, duplicate keys, null, address case, string escapes).
	ErrNonCanonical = fmt.Errorf("%w: not in canonical form", ErrMalformed)
)

// FieldError says which field of a receipt is wrong.
type FieldError struct {
	Field string
	Err   error
}

func (e *FieldError) Error() string { return fmt.Sprintf("receipt field %s: %v", e.Field, e.Err) }

// Unwrap lets errors.Is(err, ErrMalformed) match every field error.
func (e *FieldError) Unwrap() []error { return []error{ErrMalformed, e.Err} }
