package receipt

import (
	"strings"

	"github.com/ethereum/go-ethereum/common"

	"github.com/probitylabs/probity/jobs"
	"github.com/probitylabs/probity/protocol"
)

// Request is the receipt's request: package jobs' spelling of a request in a signed offer
// (settlement.md §8), which the receipt shares by definition (§9). Its fields are
// protocol.Request's, promoted.
type Request = jobs.RequestJSON

// NewRequest wraps a protocol request for a receipt; the request must pass Validate.
func NewRequest(r protocol.Request) (Request, error) {
	if err := r.Validate(); err != nil {
		return Request{}, err
	}
	return Request{Request: r}, nil
}

// validateRequest applies protocol.Request.Validate and names the failing field under
// "request.".
func validateRequest(q protocol.Request) error {
	if q.Buyer == (common.Address{}) {
		return fieldErr("request.buyer", "zero address")
	}
	if err := q.Validate(); err != nil {
		// protocol's errors start with the field's name ("price: ...").
		name, _, _ := strings.Cut(err.Error(), ":")
		if strings.ContainsAny(name, " ") {
			name = ""
		}
		return &FieldError{Field: strings.TrimSuffix("request."+name, "."), Err: err}
	}
	return nil
}
