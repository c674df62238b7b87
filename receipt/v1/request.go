package receiptv1

import (
	"fmt"
	"math/big"
	"strings"

	"github.com/ethereum/go-ethereum/common"

	"github.com/probitylabs/probity/protocol"
	"github.com/probitylabs/probity/receipt"
)

// Request is a v1 request (settlement.md §2) spelled as in a signed offer (§8): words as 0x
// and 64 hex digits, price a decimal string, newTokens, lockBy and the windows JSON numbers.
// The offer document (package jobs, written concurrently) spells its request the same way;
// when both exist one of them should use the other's type.
type Request struct {
	Buyer           common.Address `json:"buyer"`
	ClassID         receipt.Word   `json:"classId"`
	ModelRoot       receipt.Word   `json:"modelRoot"`
	JobDigest       receipt.Word   `json:"jobDigest"`
	NewTokens       uint32         `json:"newTokens"`
	Price           *receipt.Uint  `json:"price"`
	LockBy          uint64         `json:"lockBy"`
	ExecWindow      uint32         `json:"execWindow"`
	ProveWindow     uint32         `json:"proveWindow"`
	ChallengeWindow uint32         `json:"challengeWindow"`
	SeedCommitment  receipt.Word   `json:"seedCommitment"`
	Salt            receipt.Word   `json:"salt"`
}

// NewRequest spells a protocol request; the request must pass protocol.Request.Validate.
func NewRequest(r protocol.Request) (Request, error) {
	if err := r.Validate(); err != nil {
		return Request{}, err
	}
	return Request{
		Buyer: r.Buyer, ClassID: r.ClassID, ModelRoot: receipt.MustWord(r.ModelRoot),
		JobDigest: receipt.MustWord(r.JobDigest), NewTokens: r.NewTokens, Price: receipt.NewUint(r.Price),
		LockBy: r.LockBy, ExecWindow: r.ExecWindow, ProveWindow: r.ProveWindow,
		ChallengeWindow: r.ChallengeWindow, SeedCommitment: r.SeedCommitment, Salt: receipt.MustWord(r.Salt),
	}, nil
}

// Protocol returns the request as package protocol's struct, whose EIP-712 digest is the job
// id (Domain.JobID).
func (q Request) Protocol() protocol.Request {
	price := new(big.Int)
	if q.Price != nil {
		price = q.Price.Big()
	}
	return protocol.Request{
		Buyer: q.Buyer, ClassID: q.ClassID, ModelRoot: q.ModelRoot.Big(), JobDigest: q.JobDigest.Big(),
		NewTokens: q.NewTokens, Price: price, LockBy: q.LockBy, ExecWindow: q.ExecWindow,
		ProveWindow: q.ProveWindow, ChallengeWindow: q.ChallengeWindow, SeedCommitment: q.SeedCommitment,
		Salt: q.Salt.Big(),
	}
}

// validate applies protocol.Request.Validate and names the failing field under "request.".
func (q Request) validate() error {
	if q.Price == nil {
		return fieldErr("request.price", "missing")
	}
	if q.Buyer == (common.Address{}) {
		return fieldErr("request.buyer", "zero address")
	}
	if err := q.Protocol().Validate(); err != nil {
		// protocol's errors start with the field's name ("price: ...").
		name, _, _ := strings.Cut(err.Error(), ":")
		if strings.ContainsAny(name, " ") {
			name = ""
		}
		return &receipt.FieldError{Field: strings.TrimSuffix("request."+name, "."), Err: err}
	}
	return nil
}

// String is for messages.
func (q Request) String() string {
	return fmt.Sprintf("request(buyer %s, class %s, %d tokens)", q.Buyer.Hex(), q.ClassID, q.NewTokens)
}
