package main

import (
	"encoding/json"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/consensys/gnark-crypto/ecc/bn254/fr/poseidon2"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/probitylabs/probity/commit"
	"github.com/probitylabs/probity/protocol"
)

func readVector(t *testing.T, name string, v any) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "..", "testdata", "vectors", name))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
}

type poseidonFile struct {
	Permutation []struct{ Input, Output []string } `json:"permutation"`
	Constants   struct {
		Seed      string     `json:"seed"`
		RoundKeys [][]string `json:"roundKeys"`
		External  [][]int64  `json:"external"`
		Internal  [][]int64  `json:"internal"`
	} `json:"constants"`
}

// TestPoseidon2ConstantsFromSpec derives the round constants as §4.1 states (a keccak256 chain
// from the seed string, each digest reduced mod R) and requires them to equal the vector and
// the parameters gnark-crypto gives commit.Permute and the circuits.
func TestPoseidon2ConstantsFromSpec(t *testing.T) {
	var v poseidonFile
	readVector(t, "poseidon2.json", &v)
	c := v.Constants
	if c.Seed != "Poseidon2-BN254[t=3,rF=8,rP=56,d=5]" {
		t.Fatalf("seed %q", c.Seed)
	}
	if len(c.RoundKeys) != commit.FullRounds+commit.PartialRounds {
		t.Fatalf("%d rounds of keys", len(c.RoundKeys))
	}
	h := crypto.Keccak256([]byte(c.Seed))
	for r, keys := range c.RoundKeys {
		want := commit.Width
		if r >= commit.FullRounds/2 && r < commit.FullRounds/2+commit.PartialRounds {
			want = 1
		}
		if len(keys) != want {
			t.Fatalf("round %d has %d keys, want %d", r, len(keys), want)
		}
		for i, k := range keys {
			h = crypto.Keccak256(h)
			derived := new(big.Int).Mod(new(big.Int).SetBytes(h), protocol.R)
			if derived.String() != k {
				t.Fatalf("round %d key %d: derived %s, vector %s", r, i, derived, k)
			}
		}
	}
	p := poseidon2.NewParameters(commit.Width, commit.FullRounds, commit.PartialRounds)
	if len(p.RoundKeys) != len(c.RoundKeys) {
		t.Fatalf("gnark-crypto has %d rounds", len(p.RoundKeys))
	}
	for r := range p.RoundKeys {
		for i := range p.RoundKeys[r] {
			if commit.ToBig(p.RoundKeys[r][i]).String() != c.RoundKeys[r][i] {
				t.Fatalf("gnark-crypto round %d key %d differs from the vector", r, i)
			}
		}
	}
}

// TestPoseidon2PermutationFromSpec rebuilds P from the vector's constants and matrices alone,
// as §4.1 writes it, and requires commit.Permute's outputs for every permutation vector and
// for a fresh input.
func TestPoseidon2PermutationFromSpec(t *testing.T) {
	var v poseidonFile
	readVector(t, "poseidon2.json", &v)
	c := v.Constants
	R := protocol.R
	parse := func(s string) *big.Int {
		x, ok := new(big.Int).SetString(s, 10)
		if !ok {
			t.Fatalf("bad integer %q", s)
		}
		return x
	}
	mul := func(m [][]int64, s []*big.Int) []*big.Int {
		out := make([]*big.Int, len(s))
		for i := range m {
			acc := new(big.Int)
			for j := range m[i] {
				acc.Add(acc, new(big.Int).Mul(big.NewInt(m[i][j]), s[j]))
			}
			out[i] = acc.Mod(acc, R)
		}
		return out
	}
	sbox := func(x *big.Int) *big.Int { return new(big.Int).Exp(x, big.NewInt(5), R) }
	perm := func(in []*big.Int) []*big.Int {
		s := mul(c.External, in)
		for _, keys := range c.RoundKeys {
			for i, k := range keys {
				s[i] = new(big.Int).Mod(new(big.Int).Add(s[i], parse(k)), R)
			}
			if len(keys) == 1 {
				s[0] = sbox(s[0])
				s = mul(c.Internal, s)
				continue
			}
			for i := range s {
				s[i] = sbox(s[i])
			}
			s = mul(c.External, s)
		}
		return s
	}
	inputs := [][]string{{"1", "2", "3"}, {"123456789", "0", "987654321"}}
	for _, p := range v.Permutation {
		inputs = append(inputs, p.Input)
	}
	for n, in := range inputs {
		var st [3]fr.Element
		x := make([]*big.Int, 3)
		for i := range in {
			x[i] = parse(in[i])
			e, err := commit.FromBig(x[i])
			if err != nil {
				t.Fatal(err)
			}
			st[i] = e
		}
		commit.Permute(&st)
		got := perm(x)
		for i := range st {
			if commit.ToBig(st[i]).Cmp(got[i]) != 0 {
				t.Fatalf("input %d word %d: spec gives %s, commit.Permute %s", n, i, got[i], commit.ToBig(st[i]))
			}
		}
	}
}

type abiFile struct {
	Contracts map[string]map[string][]struct {
		Signature string `json:"signature"`
		Selector  string `json:"selector"`
		Topic0    string `json:"topic0"`
	} `json:"contracts"`
}

// TestContractSelectors recomputes every selector and topic of contracts.json from its
// signature, and with the repository's cast (when installed) for the SLA manager, so the
// vector is checked by a tool other than go-ethereum's ABI parser that produced it.
func TestContractSelectors(t *testing.T) {
	var v abiFile
	readVector(t, "contracts.json", &v)
	for _, name := range []string{"SLAManager", "ProviderRegistry", "ClassRegistry", "ResultHasher", "Groth16Verifier", "ChallengeManager"} {
		if len(v.Contracts[name]["functions"]) == 0 {
			t.Fatalf("%s: no functions", name)
		}
	}
	for name, c := range v.Contracts {
		for kind, es := range c {
			for _, e := range es {
				h := crypto.Keccak256([]byte(e.Signature))
				got, want := hexutil.Encode(h[:4]), e.Selector
				if kind == "events" {
					got, want = hexutil.Encode(h), e.Topic0
				}
				if got != want {
					t.Errorf("%s %s %s: keccak gives %s, vector %s", name, kind, e.Signature, got, want)
				}
			}
		}
	}
	cast := filepath.Join("..", "..", "..", "node_modules", ".bin", "cast")
	if _, err := os.Stat(cast); err != nil || testing.Short() {
		t.Skip("cast cross-check needs node_modules/.bin/cast and no -short")
	}
	m := v.Contracts["SLAManager"]
	for kind, es := range m {
		for _, e := range es {
			args := []string{"sig", e.Signature}
			want := e.Selector
			if kind == "events" {
				args, want = []string{"keccak", e.Signature}, e.Topic0
			}
			out, err := exec.Command(cast, args...).Output()
			if err != nil {
				t.Fatalf("cast %v: %v", args, err)
			}
			if got := strings.TrimSpace(string(out)); got != want {
				t.Errorf("SLAManager %s %s: cast gives %s, vector %s", kind, e.Signature, got, want)
			}
		}
	}
}
