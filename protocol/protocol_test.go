package protocol

import (
	"bytes"
	"errors"
	"fmt"
	"math/big"
	"testing"

	"github.com/ethereum/go-ethereum/accounts/abi"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	gmath "github.com/ethereum/go-ethereum/common/math"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/signer/core/apitypes"
)

func TestRIsBN254ScalarField(t *testing.T) {
	// R = 36u^4 + 36u^3 + 18u^2 + 6u + 1 with u = 4965661367192848881.
	u := new(big.Int).SetUint64(4965661367192848881)
	r := big.NewInt(1)
	for _, c := range []struct {
		coef int64
		pow  int
	}{{6, 1}, {18, 2}, {36, 3}, {36, 4}} {
		t := new(big.Int).Exp(u, big.NewInt(int64(c.pow)), nil)
		r.Add(r, t.Mul(t, big.NewInt(c.coef)))
	}
	if r.Cmp(R) != 0 {
		t.Fatalf("R = %s, BN254 formula gives %s", R, r)
	}
}

func TestEpilogueWordRoundTrip(t *testing.T) {
	cases := []Epilogue{
		{Multiplier: 1, Shift: 1, ZeroPoint: -128},
		{Multiplier: 1<<31 - 1, Shift: 62, ZeroPoint: 127, ReLU: true},
		{Multiplier: 1234567, Shift: 20, ZeroPoint: -3, ReLU: true},
	}
	for _, e := range cases {
		w := e.Word()
		want := new(big.Int).SetUint64(uint64(e.Multiplier))
		want.Add(want, new(big.Int).Lsh(big.NewInt(int64(e.Shift)), 32))
		want.Add(want, new(big.Int).Lsh(big.NewInt(int64(e.ZeroPoint)+128), 40))
		if e.ReLU {
			want.Add(want, new(big.Int).Lsh(big.NewInt(1), 48))
		}
		if w.Cmp(want) != 0 {
			t.Fatalf("%+v: word %s, want %s", e, w, want)
		}
		got, err := ParseEpilogueWord(w)
		if err != nil || got != e {
			t.Fatalf("%+v: parse gives %+v, %v", e, got, err)
		}
	}
}

func TestEpilogueRejects(t *testing.T) {
	bad := []*big.Int{
		nil,
		big.NewInt(-1),
		new(big.Int).Lsh(big.NewInt(1), 49),      // stray bit
		Epilogue{Multiplier: 0, Shift: 3}.Word(), // m = 0
		Epilogue{Multiplier: 1 << 31, Shift: 3}.Word(),                                                  // m too large
		Epilogue{Multiplier: 5, Shift: 0}.Word(),                                                        // s = 0
		Epilogue{Multiplier: 5, Shift: 63}.Word(),                                                       // s too large
		new(big.Int).Add(Epilogue{Multiplier: 5, Shift: 3}.Word(), new(big.Int).Lsh(big.NewInt(2), 48)), // relu = 2
	}
	for i, w := range bad {
		if _, err := ParseEpilogueWord(w); !errors.Is(err, ErrEpilogue) {
			t.Errorf("case %d (%v): err = %v, want ErrEpilogue", i, w, err)
		}
	}
}

// applyRef is the §3.2 formula in big integers, independent of Apply's int64 shortcut.
func applyRef(e Epilogue, acc int64) int8 {
	num := new(big.Int).Mul(big.NewInt(acc), big.NewInt(int64(e.Multiplier)))
	num.Add(num, new(big.Int).Lsh(big.NewInt(1), uint(e.Shift-1)))
	den := new(big.Int).Lsh(big.NewInt(1), uint(e.Shift))
	y := new(big.Int).Div(num, den) // Euclidean: floor for positive divisor
	y.Add(y, big.NewInt(int64(e.ZeroPoint)))
	lo := big.NewInt(-128)
	if e.ReLU {
		lo = big.NewInt(int64(e.ZeroPoint))
	}
	if y.Cmp(lo) < 0 {
		y = lo
	}
	if y.Cmp(big.NewInt(127)) > 0 {
		y = big.NewInt(127)
	}
	return int8(y.Int64())
}

func FuzzEpilogueApply(f *testing.F) {
	f.Add(int32(-3), uint32(1), uint8(1), int8(0), false)
	f.Add(int32(-2147483648), uint32(1<<31-1), uint8(62), int8(-128), true)
	f.Add(int32(2147483647), uint32(1<<31-1), uint8(1), int8(127), false)
	f.Add(int32(-5), uint32(1), uint8(1), int8(0), false)
	f.Fuzz(func(t *testing.T, acc int32, m uint32, s uint8, z int8, relu bool) {
		e := Epilogue{Multiplier: m%(1<<31-1) + 1, Shift: s%62 + 1, ZeroPoint: z, ReLU: relu}
		if got, want := e.Apply(acc), applyRef(e, int64(acc)); got != want {
			t.Fatalf("%+v acc=%d: Apply %d, reference %d", e, acc, got, want)
		}
	})
}

// TestRequestEIP712AgainstGeth recomputes a request's struct hash, the manager's domain
// separator and the job id with go-ethereum's independent EIP-712 implementation.
func TestRequestEIP712AgainstGeth(t *testing.T) {
	r := Request{Buyer: common.HexToAddress("0x00000000000000000000000000000000000000b1"), ClassID: crypto.Keccak256Hash([]byte("class")),
		ModelRoot: big.NewInt(123456789), JobDigest: new(big.Int).Sub(R, big.NewInt(1)), NewTokens: 48, Price: big.NewInt(1e18),
		LockBy: 1 << 40, ExecWindow: 600, ProveWindow: 900, ChallengeWindow: 60, SeedCommitment: crypto.Keccak256Hash([]byte("secret")), Salt: big.NewInt(7)}
	if err := r.Validate(); err != nil {
		t.Fatal(err)
	}
	contract := common.HexToAddress("0x5FbDB2315678afecb367f032d93F642f64180aa3")
	td := apitypes.TypedData{
		Types: apitypes.Types{
			"EIP712Domain": {{Name: "name", Type: "string"}, {Name: "version", Type: "string"}, {Name: "chainId", Type: "uint256"}, {Name: "verifyingContract", Type: "address"}},
			"Request": {{Name: "buyer", Type: "address"}, {Name: "classId", Type: "bytes32"}, {Name: "modelRoot", Type: "uint256"},
				{Name: "jobDigest", Type: "uint256"}, {Name: "newTokens", Type: "uint32"}, {Name: "price", Type: "uint96"},
				{Name: "lockBy", Type: "uint64"}, {Name: "execWindow", Type: "uint32"}, {Name: "proveWindow", Type: "uint32"},
				{Name: "challengeWindow", Type: "uint32"}, {Name: "seedCommitment", Type: "bytes32"}, {Name: "salt", Type: "uint256"}},
		},
		PrimaryType: "Request",
		Domain:      apitypes.TypedDataDomain{Name: "Probity", Version: "1", ChainId: (*gmath.HexOrDecimal256)(big.NewInt(31337)), VerifyingContract: contract.Hex()},
		Message: apitypes.TypedDataMessage{"buyer": r.Buyer.Hex(), "classId": hexutil.Encode(r.ClassID[:]), "modelRoot": r.ModelRoot.String(),
			"jobDigest": r.JobDigest.String(), "newTokens": "48", "price": r.Price.String(), "lockBy": fmt.Sprint(r.LockBy),
			"execWindow": "600", "proveWindow": "900", "challengeWindow": "60", "seedCommitment": hexutil.Encode(r.SeedCommitment[:]), "salt": "7"},
	}
	if got := string(td.EncodeType("Request")); got != RequestType {
		t.Fatalf("encodeType = %q, want %q", got, RequestType)
	}
	sh, err := td.HashStruct("Request", td.Message)
	if err != nil {
		t.Fatal(err)
	}
	if h := r.Hash(); !bytes.Equal(sh, h[:]) {
		t.Fatalf("struct hash %x, geth %x", h, sh)
	}
	ds, err := td.HashStruct("EIP712Domain", td.Domain.Map())
	if err != nil {
		t.Fatal(err)
	}
	dom := Domain{ChainID: big.NewInt(31337), Contract: contract}
	if sep := dom.Separator(); !bytes.Equal(ds, sep[:]) {
		t.Fatalf("domain separator %x, geth %x", sep, ds)
	}
	digest, _, err := apitypes.TypedDataAndHash(td)
	if err != nil {
		t.Fatal(err)
	}
	if id := dom.JobID(r); id.Cmp(new(big.Int).SetBytes(digest)) != 0 {
		t.Fatalf("job id %x, geth digest %x", id, digest)
	}
}

// TestOutputsDigestAgainstABI checks the hand-written abi.encode against go-ethereum's packer.
func TestOutputsDigestAgainstABI(t *testing.T) {
	u256s, _ := abi.NewType("uint256[]", "", nil)
	b32, _ := abi.NewType("bytes32", "", nil)
	args := abi.Arguments{{Type: u256s}, {Type: b32}}
	att := crypto.Keccak256Hash([]byte("attestation"))
	for _, roots := range [][]*big.Int{
		{},
		{big.NewInt(1)},
		{big.NewInt(5), new(big.Int).Sub(R, big.NewInt(1)), big.NewInt(0)},
	} {
		packed, err := args.Pack(roots, [32]byte(att))
		if err != nil {
			t.Fatal(err)
		}
		if enc := EncodeOutputs(roots, att); !bytes.Equal(enc, packed) {
			t.Fatalf("%d roots: encoding\n%x\nabi.Pack\n%x", len(roots), enc, packed)
		}
		if got, want := OutputsDigest(roots, att), crypto.Keccak256Hash(packed); got != want {
			t.Fatalf("digest %x, want %x", got, want)
		}
	}
}

func TestSeedCommitment(t *testing.T) {
	secret := crypto.Keccak256Hash([]byte("buyer secret"))
	if c := SeedCommitment(secret); c != crypto.Keccak256Hash(secret[:]) {
		t.Fatalf("seed commitment %x is not keccak256(abi.encode(secret))", c)
	}
}

func TestRequiredStake(t *testing.T) {
	price := new(big.Int).Exp(big.NewInt(10), big.NewInt(18), nil)
	// f0 = 10%, k = 1: p = 0.1, stake = ceil(P * 0.9 / 0.1) = 9 P.
	s, err := RequiredStake(price, 1, 1000)
	if err != nil || s.Cmp(new(big.Int).Mul(price, big.NewInt(9))) != 0 {
		t.Fatalf("k=1: %v %v", s, err)
	}
	// The stake deters: p*stake >= (1-p)*price with the fixed-point p, and that p is at most the
	// real detection probability (rounding favours the buyer).
	for _, k := range []uint16{1, 2, 8, 32, 64, 200} {
		s, err := RequiredStake(price, k, 1000)
		if err != nil {
			t.Fatal(err)
		}
		p, _ := DetectionFixed(k, 1000)
		lhs := new(big.Int).Mul(p, s)
		rhs := new(big.Int).Mul(new(big.Int).Sub(StakeScale, p), price)
		if lhs.Cmp(rhs) < 0 || s.Cmp(price) < 0 {
			t.Fatalf("k=%d: stake %s does not deter", k, s)
		}
		exact := new(big.Rat).SetFrac(p, StakeScale)
		real := new(big.Rat).SetFloat64(DetectionProbability(1000, k))
		if exact.Cmp(real) > 0 && new(big.Rat).Sub(exact, real).Cmp(big.NewRat(1, 1e12)) > 0 {
			t.Fatalf("k=%d: fixed-point p %s above real %s", k, exact.FloatString(18), real.FloatString(18))
		}
	}
	if _, err := RequiredStake(price, 0, 1000); !errors.Is(err, ErrStake) {
		t.Fatalf("k=0: %v", err)
	}
	if _, err := RequiredStake(price, 8, 0); !errors.Is(err, ErrStake) {
		t.Fatalf("f0=0: %v", err)
	}
	if _, err := RequiredStake(price, 8, 10000); !errors.Is(err, ErrStake) {
		t.Fatalf("f0=100%%: %v", err)
	}
}
