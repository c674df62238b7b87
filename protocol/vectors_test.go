package protocol

import (
	"encoding/json"
	"math/big"
	"os"
	"path/filepath"
	"testing"

	"github.com/ethereum/go-ethereum/common/hexutil"
)

func loadVectors(t *testing.T, name string, v any) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "testdata", "vectors", name))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
}

func bigDec(t *testing.T, s string) *big.Int {
	t.Helper()
	x, ok := new(big.Int).SetString(s, 10)
	if !ok {
		t.Fatalf("bad integer %q", s)
	}
	return x
}

func h32(t *testing.T, s string) [32]byte {
	t.Helper()
	b, err := hexutil.Decode(s)
	if err != nil || len(b) != 32 {
		t.Fatalf("bad bytes32 %q", s)
	}
	return [32]byte(b)
}

func TestStakeVectors(t *testing.T) {
	var v struct {
		Cases []struct {
			Price     string `json:"price"`
			K         uint16 `json:"k"`
			F0        uint32 `json:"f0Bps"`
			Expect    string `json:"expect"`
			Detection string `json:"detection"`
			Stake     string `json:"stake"`
		} `json:"cases"`
		Gross []struct {
			Net, GrossStake, Bounty string
			BountyBps               uint32 `json:"bountyBps"`
		} `json:"grossStake"`
	}
	loadVectors(t, "stake.json", &v)
	if len(v.Gross) == 0 {
		t.Fatal("no grossStake vectors")
	}
	for i, c := range v.Gross {
		g, err := GrossStake(bigDec(t, c.Net), c.BountyBps)
		if err != nil || g.Cmp(bigDec(t, c.GrossStake)) != 0 {
			t.Errorf("gross case %d: %v (%v), want %s", i, g, err, c.GrossStake)
			continue
		}
		// The promise of §11: what remains after the bounty is at least the net bound.
		if left := new(big.Int).Sub(g, bigDec(t, c.Bounty)); left.Cmp(bigDec(t, c.Net)) < 0 {
			t.Errorf("gross case %d: %s left after the bounty, below the net %s", i, left, c.Net)
		}
	}
	if _, err := GrossStake(big.NewInt(1), MaxBountyBps+1); err == nil {
		t.Error("a bounty above the cap was accepted")
	}
	for i, c := range v.Cases {
		s, err := RequiredStake(bigDec(t, c.Price), c.K, c.F0)
		switch c.Expect {
		case "revert":
			if err == nil {
				t.Errorf("case %d: want an error, got %s", i, s)
			}
		case "ok":
			if err != nil || s.Cmp(bigDec(t, c.Stake)) != 0 {
				t.Errorf("case %d: stake %v (%v), want %s", i, s, err, c.Stake)
			}
			if p, _ := DetectionFixed(c.K, c.F0); p.Cmp(bigDec(t, c.Detection)) != 0 {
				t.Errorf("case %d: detection %s", i, p)
			}
		default:
			t.Fatalf("case %d: unknown expect %q", i, c.Expect)
		}
	}
}

type epilogueJSON struct {
	Multiplier uint32 `json:"multiplier"`
	Shift      uint8  `json:"shift"`
	ZeroPoint  int8   `json:"zeroPoint"`
	ReLU       bool   `json:"relu"`
}

func (e epilogueJSON) E() Epilogue { return Epilogue(e) }

func TestEpilogueVectors(t *testing.T) {
	var v struct {
		Words []struct {
			Epilogue epilogueJSON `json:"epilogue"`
			Word     string       `json:"word"`
		} `json:"words"`
		Apply []struct {
			Epilogue epilogueJSON `json:"epilogue"`
			Acc      int32        `json:"acc"`
			Out      int8         `json:"out"`
		} `json:"apply"`
	}
	loadVectors(t, "epilogue.json", &v)
	for i, c := range v.Words {
		if got := c.Epilogue.E().Word(); got.String() != c.Word {
			t.Errorf("word %d: %s, want %s", i, got, c.Word)
		}
		if e, err := ParseEpilogueWord(bigDec(t, c.Word)); err != nil || e != c.Epilogue.E() {
			t.Errorf("word %d: parse %+v %v", i, e, err)
		}
	}
	for i, c := range v.Apply {
		if got := c.Epilogue.E().Apply(c.Acc); got != c.Out {
			t.Errorf("apply %d: %d, want %d", i, got, c.Out)
		}
		if got := applyRef(c.Epilogue.E(), int64(c.Acc)); got != c.Out {
			t.Errorf("apply %d: reference %d, want %d", i, got, c.Out)
		}
	}
}
