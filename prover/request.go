package prover

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/big"

	"github.com/ethereum/go-ethereum/common"

	"github.com/probitylabs/probity/chain"
)

// Request is a chain.Request in the journal, spelled as in an offer (settlement.md §8):
// words as 0x and 64 hex digits, the price as a decimal string, the rest as numbers.
type Request struct{ chain.Request }

type requestJSON struct {
	Buyer           common.Address `json:"buyer"`
	ClassID         string         `json:"classId"`
	ModelRoot       string         `json:"modelRoot"`
	JobDigest       string         `json:"jobDigest"`
	NewTokens       uint32         `json:"newTokens"`
	Price           string         `json:"price"`
	LockBy          uint64         `json:"lockBy"`
	ExecWindow      uint32         `json:"execWindow"`
	ProveWindow     uint32         `json:"proveWindow"`
	ChallengeWindow uint32         `json:"challengeWindow"`
	SeedCommitment  string         `json:"seedCommitment"`
	Salt            string         `json:"salt"`
}

// MarshalJSON implements json.Marshaler.
func (r Request) MarshalJSON() ([]byte, error) {
	q := r.Request
	if q.ModelRoot == nil || q.JobDigest == nil || q.Price == nil || q.Salt == nil {
		return nil, fmt.Errorf("request: a number is missing")
	}
	return json.Marshal(requestJSON{
		Buyer: q.Buyer, ClassID: word(new(big.Int).SetBytes(q.ClassId[:])), ModelRoot: word(q.ModelRoot),
		JobDigest: word(q.JobDigest), NewTokens: q.NewTokens, Price: q.Price.String(), LockBy: q.LockBy,
		ExecWindow: q.ExecWindow, ProveWindow: q.ProveWindow, ChallengeWindow: q.ChallengeWindow,
		SeedCommitment: word(new(big.Int).SetBytes(q.SeedCommitment[:])), Salt: word(q.Salt),
	})
}

// UnmarshalJSON implements json.Unmarshaler, strictly.
func (r *Request) UnmarshalJSON(b []byte) error {
	var j requestJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	var q chain.Request
	q.Buyer, q.NewTokens, q.LockBy = j.Buyer, j.NewTokens, j.LockBy
	q.ExecWindow, q.ProveWindow, q.ChallengeWindow = j.ExecWindow, j.ProveWindow, j.ChallengeWindow
	for _, f := range []struct {
		name, s string
		dst     **big.Int
	}{{"modelRoot", j.ModelRoot, &q.ModelRoot}, {"jobDigest", j.JobDigest, &q.JobDigest}, {"salt", j.Salt, &q.Salt}} {
		v, err := unword(f.s)
		if err != nil {
			return fmt.Errorf("request %s: %w", f.name, err)
		}
		*f.dst = v
	}
	for _, f := range []struct {
		name, s string
		dst     *[32]byte
	}{{"classId", j.ClassID, &q.ClassId}, {"seedCommitment", j.SeedCommitment, &q.SeedCommitment}} {
		v, err := unword(f.s)
		if err != nil {
			return fmt.Errorf("request %s: %w", f.name, err)
		}
		v.FillBytes(f.dst[:])
	}
	p, ok := new(big.Int).SetString(j.Price, 10)
	if !ok || p.Sign() < 0 || p.String() != j.Price {
		return fmt.Errorf("request price %q is not a canonical decimal", j.Price)
	}
	q.Price = p
	r.Request = q
	return nil
}

func decodeHex(s string) ([]byte, error) { return hex.DecodeString(s) }
