package receipt

import (
	"encoding/json"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"

	"github.com/probitylabs/probity/protocol"
)

func specVector(t *testing.T, name string, v any) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "testdata", "vectors", name))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
}

type receiptVectorFile struct {
	Detection []struct {
		K              uint16 `json:"k"`
		FloorBps       uint32 `json:"floorBps"`
		P              string `json:"p"`
		ProbabilityBps uint32 `json:"probabilityBps"`
		NearestBps     uint32 `json:"nearestBps"`
	} `json:"detection"`
	Spelling map[string]string `json:"spelling"`
}

// TestDetectionVectors: probabilityBps is floor(p / 10^14) of §11's fixed-point p, never the
// nearest basis point; the vectors include cases where the two differ.
func TestDetectionVectors(t *testing.T) {
	var v receiptVectorFile
	specVector(t, "receipt.json", &v)
	differ := 0
	for _, c := range v.Detection {
		p, err := protocol.DetectionFixed(c.K, c.FloorBps)
		if err != nil {
			t.Fatal(err)
		}
		if p.String() != c.P {
			t.Errorf("k=%d f0=%d: p = %s, vector %s", c.K, c.FloorBps, p, c.P)
		}
		if bps := new(big.Int).Quo(p, big.NewInt(1e14)).Uint64(); uint32(bps) != c.ProbabilityBps {
			t.Errorf("k=%d f0=%d: floor gives %d bps, vector %d", c.K, c.FloorBps, bps, c.ProbabilityBps)
		}
		if c.NearestBps != c.ProbabilityBps {
			differ++
		}
	}
	if differ == 0 {
		t.Fatal("no vector tells floor from rounding")
	}
}

var spellings = map[string]*regexp.Regexp{
	"word":    regexp.MustCompile(`^0x[0-9a-f]{64}$`),
	"address": regexp.MustCompile(`^0x[0-9a-f]{40}$`),
	"bytes":   regexp.MustCompile(`^0x([0-9a-f]{2})*$`),
	"decimal": regexp.MustCompile(`^(0|[1-9][0-9]*)$`),
}

// classify walks a decoded receipt and records the spelling class of every member.
func classify(t *testing.T, path string, v any, spelling map[string]string, got map[string]string) {
	switch x := v.(type) {
	case map[string]any:
		if spelling[path] == "object" {
			got[path] = "object"
			return
		}
		for k, e := range x {
			p := k
			if path != "" {
				p = path + "." + k
			}
			classify(t, p, e, spelling, got)
		}
	case []any:
		for _, e := range x {
			classify(t, path+"[]", e, spelling, got)
		}
	case json.Number:
		got[path] = "integer"
	case string:
		class := "string"
		for _, name := range []string{"word", "address", "bytes", "decimal"} {
			if spelling[path] == name && spellings[name].MatchString(x) {
				class = name
			}
		}
		if prev, ok := got[path]; ok && prev != class {
			class = fmt.Sprintf("mixed %s/%s", prev, class)
		}
		got[path] = class
	default:
		got[path] = fmt.Sprintf("%T", v)
	}
}

// TestReceiptSpellingVector encodes a receipt and requires every member to be spelled as
// receipt.json says (§8.3), and every listed member to occur.
func TestReceiptSpellingVector(t *testing.T) {
	var v receiptVectorFile
	specVector(t, "receipt.json", &v)
	b, err := testReceipt(t).MarshalIndent()
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.UseNumber()
	var doc any
	if err := dec.Decode(&doc); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	classify(t, "", doc, v.Spelling, got)
	for p, want := range v.Spelling {
		if got[p] != want {
			t.Errorf("%s: encoded as %q, vector says %q", p, got[p], want)
		}
	}
	for p := range got {
		if _, ok := v.Spelling[p]; !ok {
			t.Errorf("%s: member not in the vector", p)
		}
	}
	// The schema states the same classes.
	raw, err := os.ReadFile(filepath.Join("..", "specs", "receipt.schema.json"))
	if err != nil {
		t.Fatal(err)
	}
	var schema struct {
		Defs map[string]struct {
			Pattern string `json:"pattern"`
		} `json:"$defs"`
	}
	if err := json.Unmarshal(raw, &schema); err != nil {
		t.Fatal(err)
	}
	if p := schema.Defs["address"].Pattern; p != spellings["address"].String() {
		t.Errorf("schema address pattern %q, receipts spell addresses %q", p, spellings["address"])
	}
}

// TestAuditVectors recomputes, from the chain data an offline auditor gathers (§8.5), the
// outputs digest, the seed commitment check, the seed and the layer seeds.
func TestAuditVectors(t *testing.T) {
	var v struct {
		Cases []struct {
			ChainID           string   `json:"chainId"`
			Manager           string   `json:"manager"`
			JobID             string   `json:"jobId"`
			OutputRoots       []string `json:"outputRoots"`
			AttestationDigest string   `json:"attestationDigest"`
			SeedBlockHash     string   `json:"seedBlockHash"`
			SeedCommitment    string   `json:"seedCommitment"`
			Secret            string   `json:"secret"`
			Revealed          bool     `json:"revealed"`
			OutputsDigest     string   `json:"outputsDigest"`
			Seed              string   `json:"seed"`
			LayerSeeds        []string `json:"layerSeeds"`
		} `json:"cases"`
	}
	specVector(t, "audit.json", &v)
	if len(v.Cases) == 0 {
		t.Fatal("no audit vectors")
	}
	dec := func(s string) *big.Int {
		x, ok := new(big.Int).SetString(s, 10)
		if !ok {
			t.Fatalf("bad decimal %q", s)
		}
		return x
	}
	revealed := 0
	for i, c := range v.Cases {
		rc := &Receipt{AttestationDigest: Word(common.HexToHash(c.AttestationDigest))}
		for _, r := range c.OutputRoots {
			rc.OutputRoots = append(rc.OutputRoots, MustWord(dec(r)))
			rc.Job.Layers = append(rc.Job.Layers, Layer{})
		}
		od := rc.OutputsDigest()
		if od.String() != c.OutputsDigest {
			t.Errorf("case %d: outputs digest %s, vector %s", i, od, c.OutputsDigest)
		}
		secret := common.HexToHash(c.Secret)
		if c.Revealed {
			revealed++
			if cm := protocol.SeedCommitment(secret); hexutil.Encode(cm[:]) != c.SeedCommitment {
				t.Errorf("case %d: the secret does not open the commitment", i)
			}
		} else if secret != (common.Hash{}) || common.HexToHash(c.SeedCommitment) != (common.Hash{}) {
			t.Errorf("case %d: a seed fixed without reveal uses secret 0 (and here no commitment)", i)
		}
		seed := protocol.Seed(dec(c.ChainID), common.HexToAddress(c.Manager), dec(c.JobID), od, common.HexToHash(c.SeedBlockHash), secret)
		if seed.String() != c.Seed {
			t.Errorf("case %d: seed %s, vector %s", i, seed, c.Seed)
		}
		rc.Seed = MustWord(seed)
		rc.Job.InputRoot = MustWord(big.NewInt(1))
		var ls []string
		for l := range rc.OutputRoots {
			pi, err := rc.ExpectedPublicInputs(l)
			if err != nil {
				t.Fatal(err)
			}
			ls = append(ls, pi[3].Big().String())
		}
		if !slices.Equal(ls, c.LayerSeeds) {
			t.Errorf("case %d: layer seeds %v, vector %v", i, ls, c.LayerSeeds)
		}
	}
	if revealed == 0 || revealed == len(v.Cases) {
		t.Fatal("vectors need seeds fixed with and without a reveal")
	}
}
