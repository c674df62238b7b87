package protocol

import (
	"encoding/binary"
	"fmt"
	"math/big"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
)

// The encodings of settlement (specs/settlement.md), mirrored by contracts/src/SLAManager.sol
// and pinned by testdata/vectors/settlement.json.

// EIP-712 type strings of settlement.md §2 and §6.
const (
	RequestType = "Request(address buyer,bytes32 classId,uint256 modelRoot,uint256 jobDigest,uint32 newTokens,uint96 price,uint64 lockBy,uint32 execWindow,uint32 proveWindow,uint32 challengeWindow,bytes32 seedCommitment,uint256 salt)"
	ReceiptType = "Receipt(uint256 jobId,address provider,uint256 modelRoot,uint256 jobDigest,uint256 traceRoot,bytes32 attestationDigest,uint256 seed,uint256 resultDigest,bytes32 proofHash)"
)

var (
	RequestTypeHash = crypto.Keccak256Hash([]byte(RequestType))
	ReceiptTypeHash = crypto.Keccak256Hash([]byte(ReceiptType))
)

// Bounds of a request's fields (settlement.md §2).
const (
	MaxNewTokens = 4096
	MaxWindow    = 30 * 24 * 3600
)

var two96 = new(big.Int).Lsh(big.NewInt(1), 96)

// Request is what a buyer asks for; its EIP-712 digest is the job id.
type Request struct {
	Buyer           common.Address
	ClassID         [32]byte
	ModelRoot       *big.Int
	JobDigest       *big.Int
	NewTokens       uint32
	Price           *big.Int
	LockBy          uint64
	ExecWindow      uint32
	ProveWindow     uint32
	ChallengeWindow uint32
	SeedCommitment  [32]byte
	Salt            *big.Int
}

// Validate checks what the contract checks of a request's own fields (settlement.md §2),
// except the governance minimums, the lock deadline and the class, which depend on the chain.
func (r Request) Validate() error {
	if err := CheckField("modelRoot", r.ModelRoot); err != nil {
		return err
	}
	if err := CheckField("jobDigest", r.JobDigest); err != nil {
		return err
	}
	if r.Price == nil || r.Price.Sign() <= 0 || r.Price.Cmp(two96) >= 0 {
		return fmt.Errorf("price: %w: %v is not in [1, 2^96)", ErrOutOfRange, r.Price)
	}
	if r.NewTokens == 0 || r.NewTokens > MaxNewTokens {
		return fmt.Errorf("newTokens: %w: %d is not in [1, 4096]", ErrOutOfRange, r.NewTokens)
	}
	for _, w := range []struct {
		name string
		v    uint32
	}{{"execWindow", r.ExecWindow}, {"proveWindow", r.ProveWindow}, {"challengeWindow", r.ChallengeWindow}} {
		if w.v > MaxWindow {
			return fmt.Errorf("%s: %w: %d s is above 30 days", w.name, ErrOutOfRange, w.v)
		}
	}
	return checkUint256("salt", r.Salt)
}

// Hash returns hashStruct(Request). It panics on a field that is not a uint256; call Validate
// on untrusted requests first.
func (r Request) Hash() [32]byte {
	u := func(v uint64) []byte { return word(new(big.Int).SetUint64(v)) }
	return crypto.Keccak256Hash(RequestTypeHash[:],
		common.LeftPadBytes(r.Buyer[:], 32), r.ClassID[:], word(r.ModelRoot), word(r.JobDigest),
		u(uint64(r.NewTokens)), word(r.Price), u(r.LockBy), u(uint64(r.ExecWindow)),
		u(uint64(r.ProveWindow)), u(uint64(r.ChallengeWindow)), r.SeedCommitment[:], word(r.Salt))
}

// JobID is the job id of a request under a manager: its EIP-712 digest, what the buyer signs.
func (d Domain) JobID(r Request) *big.Int {
	h := TypedDigest(d.Separator(), r.Hash())
	return new(big.Int).SetBytes(h[:])
}

// Commitment is keccak256(abi.encode(address provider, uint256 stake, uint256 traceRoot, bytes32
// attestationDigest)), what a commit stores in place of the provider and its stake
// (settlement.md §3), and what the seed is derived from.
func Commitment(provider common.Address, stake, traceRoot *big.Int, attestationDigest [32]byte) [32]byte {
	return crypto.Keccak256Hash(common.LeftPadBytes(provider[:], 32), word(stake), word(traceRoot), attestationDigest[:])
}

// SeedV2 derives a job's seed (settlement.md §4): keccak256(abi.encodePacked("probity/seed/v2",
// uint256 chainid, address manager, uint256 jobId, bytes32 commitment, bytes32 blockhash(seedBlock),
// bytes32 secret)) mod R, with secret zero when the seed is fixed without the buyer's reveal.
func SeedV2(chainID *big.Int, manager common.Address, jobID *big.Int, commitment, blockHash, secret [32]byte) *big.Int {
	h := crypto.Keccak256([]byte("probity/seed/v2"), word(chainID), manager[:], word(jobID), commitment[:], blockHash[:], secret[:])
	return new(big.Int).Mod(new(big.Int).SetBytes(h), R)
}

// Receipt is the EIP-712 struct a node key signs for a job (settlement.md §6).
type Receipt struct {
	JobID             *big.Int
	Provider          common.Address
	ModelRoot         *big.Int
	JobDigest         *big.Int
	TraceRoot         *big.Int
	AttestationDigest [32]byte
	Seed              *big.Int
	ResultDigest      *big.Int
	ProofHash         [32]byte
}

// Hash returns hashStruct(Receipt).
func (rc Receipt) Hash() [32]byte {
	return crypto.Keccak256Hash(ReceiptTypeHash[:], word(rc.JobID), common.LeftPadBytes(rc.Provider[:], 32),
		word(rc.ModelRoot), word(rc.JobDigest), word(rc.TraceRoot), rc.AttestationDigest[:], word(rc.Seed),
		word(rc.ResultDigest), rc.ProofHash[:])
}

// Digest is the EIP-712 digest the node key signs under domain d.
func (rc Receipt) Digest(d Domain) [32]byte { return TypedDigest(d.Separator(), rc.Hash()) }

// Result words (specs/trace.md §4): ten 24-bit tokens per word, little-endian.
const (
	resultPerWord   = 10
	resultTokenBits = 24
)

// PackResult returns the canonical words of tokens, as the contract takes them.
func PackResult(tokens []uint32) ([]*big.Int, error) {
	if len(tokens) == 0 {
		return nil, fmt.Errorf("result: %w: no tokens", ErrOutOfRange)
	}
	words := make([]*big.Int, (len(tokens)+resultPerWord-1)/resultPerWord)
	for q := range words {
		w := new(big.Int)
		for r := resultPerWord - 1; r >= 0; r-- {
			w.Lsh(w, resultTokenBits)
			if i := q*resultPerWord + r; i < len(tokens) {
				if tokens[i] >= 1<<resultTokenBits {
					return nil, fmt.Errorf("result: %w: token %d is %d, not below 2^24", ErrOutOfRange, i, tokens[i])
				}
				w.Or(w, new(big.Int).SetUint64(uint64(tokens[i])))
			}
		}
		words[q] = w
	}
	return words, nil
}

// UnpackResult returns the n tokens of canonical words, refusing what the contract refuses: a
// word count other than ceil(n/10), bits at or above 2^240, a nonzero slot past n.
func UnpackResult(n int, words []*big.Int) ([]uint32, error) {
	if n <= 0 {
		return nil, fmt.Errorf("result: %w: %d tokens", ErrOutOfRange, n)
	}
	if want := (n + resultPerWord - 1) / resultPerWord; len(words) != want {
		return nil, fmt.Errorf("result: %w: %d words for %d tokens, want %d", ErrOutOfRange, len(words), n, want)
	}
	tokens := make([]uint32, 0, n)
	for q, w := range words {
		if w == nil || w.Sign() < 0 || w.BitLen() > resultPerWord*resultTokenBits {
			return nil, fmt.Errorf("result: %w: word %d is not below 2^240", ErrOutOfRange, q)
		}
		b := make([]byte, 32)
		w.FillBytes(b)
		for r := 0; r < resultPerWord; r++ {
			// Token r occupies bits 24r..24r+23: bytes 31-3r-2 .. 31-3r of the big-endian word.
			lo := 32 - 3*(r+1)
			t := uint32(binary.BigEndian.Uint32(append([]byte{0}, b[lo:lo+3]...)))
			if q*resultPerWord+r < n {
				tokens = append(tokens, t)
			} else if t != 0 {
				return nil, fmt.Errorf("result: %w: word %d sets slot %d past %d tokens", ErrOutOfRange, q, r, n)
			}
		}
	}
	return tokens, nil
}
