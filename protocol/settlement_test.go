package protocol

import (
	"errors"
	"math/big"
	"slices"
	"testing"

	"github.com/ethereum/go-ethereum/common"
)

// TestSettlementVectors re-derives testdata/vectors/settlement.json from each case's inputs;
// contracts/test/SettlementVectors.t.sol checks the contract against the same file.
func TestSettlementVectors(t *testing.T) {
	var v struct {
		RequestType string `json:"requestType"`
		ReceiptType string `json:"receiptType"`
		Cases       []struct {
			ChainID   int64  `json:"chainId"`
			Manager   string `json:"manager"`
			DomainSep string `json:"domainSeparator"`
			Request   struct {
				Buyer, ClassID, ModelRoot, JobDigest, Price, SeedCommitment, Salt string
				NewTokens, ExecWindow, ProveWindow, ChallengeWindow               uint32
				LockBy                                                            uint64
			} `json:"request"`
			RequestHash, JobID, TraceRoot, AttestationDigest, Commitment string
			Provider, Stake                                              string
			BlockHash, Secret, Seed, ResultDigest, ReceiptDigest         string
			Tokens                                                       []uint32
			ResultWords                                                  []string
			Receipt                                                      struct{ Provider, ProofHash string }
		} `json:"cases"`
	}
	loadVectors(t, "settlement.json", &v)
	if v.RequestType != RequestType || v.ReceiptType != ReceiptType {
		t.Fatalf("type strings differ: %q %q", v.RequestType, v.ReceiptType)
	}
	if len(v.Cases) == 0 {
		t.Fatal("no cases")
	}
	for i, c := range v.Cases {
		d := Domain{ChainID: big.NewInt(c.ChainID), Contract: common.HexToAddress(c.Manager)}
		if got := d.Separator(); got != h32(t, c.DomainSep) {
			t.Errorf("case %d: domain separator %x", i, got)
		}
		q := c.Request
		r := Request{
			Buyer: common.HexToAddress(q.Buyer), ClassID: h32(t, q.ClassID), ModelRoot: bigDec(t, q.ModelRoot),
			JobDigest: bigDec(t, q.JobDigest), NewTokens: q.NewTokens, Price: bigDec(t, q.Price), LockBy: q.LockBy,
			ExecWindow: q.ExecWindow, ProveWindow: q.ProveWindow, ChallengeWindow: q.ChallengeWindow,
			SeedCommitment: h32(t, q.SeedCommitment), Salt: bigDec(t, q.Salt),
		}
		if err := r.Validate(); err != nil {
			t.Errorf("case %d: %v", i, err)
		}
		if got := r.Hash(); got != h32(t, c.RequestHash) {
			t.Errorf("case %d: request hash %x", i, got)
		}
		jobID := d.JobID(r)
		if jobID.Cmp(bigDec(t, c.JobID)) != 0 {
			t.Errorf("case %d: job id %v", i, jobID)
		}
		traceRoot := bigDec(t, c.TraceRoot)
		com := Commitment(common.HexToAddress(c.Provider), bigDec(t, c.Stake), traceRoot, h32(t, c.AttestationDigest))
		if com != h32(t, c.Commitment) {
			t.Errorf("case %d: commitment %x", i, com)
		}
		secret := h32(t, c.Secret)
		if secret != ([32]byte{}) && SeedCommitment(secret) != r.SeedCommitment {
			t.Errorf("case %d: secret does not open the request's seed commitment", i)
		}
		seed := SeedV2(d.ChainID, d.Contract, jobID, com, h32(t, c.BlockHash), secret)
		if seed.Cmp(bigDec(t, c.Seed)) != 0 {
			t.Errorf("case %d: seed %v", i, seed)
		}
		words, err := PackResult(c.Tokens)
		if err != nil {
			t.Fatal(err)
		}
		for k, w := range words {
			if w.Cmp(bigDec(t, c.ResultWords[k])) != 0 {
				t.Errorf("case %d: word %d is %v", i, k, w)
			}
		}
		back, err := UnpackResult(len(c.Tokens), words)
		if err != nil || !slices.Equal(back, c.Tokens) {
			t.Errorf("case %d: unpack %v, %v", i, back, err)
		}
		rc := Receipt{
			JobID: jobID, Provider: common.HexToAddress(c.Receipt.Provider), ModelRoot: r.ModelRoot,
			JobDigest: r.JobDigest, TraceRoot: traceRoot, AttestationDigest: h32(t, c.AttestationDigest),
			Seed: seed, ResultDigest: bigDec(t, c.ResultDigest), ProofHash: h32(t, c.Receipt.ProofHash),
		}
		if got := rc.Digest(d); got != h32(t, c.ReceiptDigest) {
			t.Errorf("case %d: receipt digest %x", i, got)
		}
	}
}

func TestRequestValidate(t *testing.T) {
	ok := Request{ModelRoot: big.NewInt(1), JobDigest: big.NewInt(2), NewTokens: 1, Price: big.NewInt(1), Salt: big.NewInt(0)}
	if err := ok.Validate(); err != nil {
		t.Fatal(err)
	}
	for name, mut := range map[string]func(*Request){
		"model root >= R":   func(r *Request) { r.ModelRoot = new(big.Int).Set(R) },
		"job digest nil":    func(r *Request) { r.JobDigest = nil },
		"zero price":        func(r *Request) { r.Price = big.NewInt(0) },
		"price past 2^96":   func(r *Request) { r.Price = new(big.Int).Lsh(big.NewInt(1), 96) },
		"no tokens":         func(r *Request) { r.NewTokens = 0 },
		"too many tokens":   func(r *Request) { r.NewTokens = MaxNewTokens + 1 },
		"window too long":   func(r *Request) { r.ChallengeWindow = MaxWindow + 1 },
		"negative salt":     func(r *Request) { r.Salt = big.NewInt(-1) },
		"prove window long": func(r *Request) { r.ProveWindow = MaxWindow + 1 },
	} {
		r := ok
		mut(&r)
		if err := r.Validate(); !errors.Is(err, ErrOutOfRange) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestUnpackResultRefusesNonCanonicalWords(t *testing.T) {
	words, _ := PackResult([]uint32{7, 8, 9})
	for name, c := range map[string]struct {
		n     int
		words []*big.Int
	}{
		"no tokens":       {0, words},
		"too few words":   {11, words},
		"too many words":  {3, append(slices.Clone(words), big.NewInt(0))},
		"slot past n":     {2, words},
		"bits at 2^240":   {3, []*big.Int{new(big.Int).Lsh(big.NewInt(1), 240)}},
		"negative word":   {3, []*big.Int{big.NewInt(-1)}},
		"nil word":        {3, []*big.Int{nil}},
		"second slot set": {1, []*big.Int{big.NewInt(1 << 24)}},
	} {
		if _, err := UnpackResult(c.n, c.words); !errors.Is(err, ErrOutOfRange) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := PackResult([]uint32{1 << 24}); !errors.Is(err, ErrOutOfRange) {
		t.Errorf("token 2^24 packed: %v", err)
	}
}

// FuzzUnpackResult: words the contract would take (canonical for n tokens) unpack and pack back
// to themselves; anything else is refused with ErrOutOfRange, never a panic.
func FuzzUnpackResult(f *testing.F) {
	f.Add(3, []byte{7, 0, 0, 8, 0, 0, 9})
	f.Add(11, []byte{0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, n int, raw []byte) {
		if n < -1 || n > 64 || len(raw) > 96 {
			return
		}
		var words []*big.Int
		for len(raw) > 0 {
			k := min(len(raw), 32)
			words = append(words, new(big.Int).SetBytes(raw[:k]))
			raw = raw[k:]
		}
		tokens, err := UnpackResult(n, words)
		if err != nil {
			if !errors.Is(err, ErrOutOfRange) {
				t.Fatalf("unexpected error %v", err)
			}
			return
		}
		again, err := PackResult(tokens)
		if err != nil || len(again) != len(words) {
			t.Fatalf("repack: %v", err)
		}
		for i := range words {
			if again[i].Cmp(words[i]) != 0 {
				t.Fatalf("word %d: %v != %v", i, again[i], words[i])
			}
		}
	})
}
