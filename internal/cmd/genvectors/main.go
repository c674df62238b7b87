// Command genvectors writes the protocol test vectors in testdata/vectors from the Go reference
// implementation (specs/protocol.md). With -check it regenerates them in memory and fails if any
// committed file differs, so a change to an encoding cannot land without its vectors.
//
// The Go packages' tests re-derive every vector from its inputs, and the Solidity tests recompute
// the EIP-712, seed and stake vectors, so the files pin all implementations to one another.
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"math/big"
	"os"
	"path/filepath"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/probitylabs/probity/commit"
	"github.com/probitylabs/probity/protocol"
	"github.com/probitylabs/probity/tensor"
)

//go:generate go run . -dir ../../../testdata/vectors

const generatedBy = "go run ./internal/cmd/genvectors"

func main() {
	dir := flag.String("dir", "testdata/vectors", "output directory")
	check := flag.Bool("check", false, "compare with the files in -dir instead of writing them")
	flag.Parse()
	if *receiptV1 {
		writeReceipt(*dir)
		return
	}
	failed := false
	for name, b := range generate() {
		path := filepath.Join(*dir, name)
		if *check {
			old, err := os.ReadFile(path)
			if err != nil || !bytes.Equal(old, b) {
				fmt.Fprintf(os.Stderr, "genvectors: error: %s is out of date (%v)\n", path, err)
				failed = true
			}
			continue
		}
		if err := os.WriteFile(path, b, 0o644); err != nil {
			fatal(err)
		}
	}
	if failed {
		fmt.Fprintf(os.Stderr, "genvectors: hint: run %s and review the diff\n", generatedBy)
		os.Exit(1)
	}
}

// generate returns every vector file's content by name.
func generate() map[string][]byte {
	files := map[string]any{
		"poseidon2.json":     poseidonVectors(),
		"commitments.json":   commitmentVectors(),
		"samples.json":       sampleVectors(),
		"epilogue.json":      epilogueVectors(),
		"stake.json":         stakeVectors(),
		"ops.json":           opsVectors(),
		"model.json":         modelVectors(),
		"trace.json":         traceVectors(),
		"modelfile.json":     modelFileVectors(),
		"metadata.json":      metadataVectors(),
		"contracts.json":     contractVectors(),
		"audit.json":         auditVectors(),
		"settlement.json":    settlementVectors(),
		"offer.json":         offerVectors(),
		"trace_opening.json": openingVectors(),
	}
	out := map[string][]byte{}
	for name, v := range files {
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		enc.SetIndent("", "  ")
		if err := enc.Encode(v); err != nil {
			fatal(err)
		}
		out[name] = buf.Bytes()
	}
	return out
}

func fatal(err error) {
	fmt.Fprintf(os.Stderr, "genvectors: error: %v\n", err)
	os.Exit(1)
}

func must[T any](v T, err error) T {
	if err != nil {
		fatal(err)
	}
	return v
}

func dec(e fr.Element) string { return commit.ToBig(e).String() }

func decs(es []fr.Element) []string {
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = dec(e)
	}
	return out
}

func elem(s string) fr.Element {
	x, _ := new(big.Int).SetString(s, 10)
	return must(commit.FromBig(x))
}

// ---- poseidon2.json ----

type permVector struct {
	Input  []string `json:"input"`
	Output []string `json:"output"`
}

type spongeVector struct {
	Tag    uint64   `json:"tag"`
	Inputs []string `json:"inputs"`
	Output string   `json:"output"`
}

func poseidonVectors() any {
	rm1 := new(big.Int).Sub(protocol.R, big.NewInt(1)).String()
	var perms []permVector
	for _, in := range [][3]string{{"0", "0", "0"}, {"0", "1", "2"}, {rm1, rm1, rm1}} {
		var st [3]fr.Element
		for i := range st {
			st[i] = elem(in[i])
		}
		commit.Permute(&st)
		perms = append(perms, permVector{Input: in[:], Output: decs(st[:])})
	}
	var sponges []spongeVector
	for _, c := range []struct {
		tag uint64
		n   int
	}{{commit.TagLeaf, 0}, {commit.TagLeaf, 1}, {commit.TagLeaf, 2}, {commit.TagLeaf, 3}, {commit.TagNode, 2}, {commit.TagRoot, 5}, {commit.TagSample, 2}} {
		xs := make([]fr.Element, c.n)
		for i := range xs {
			xs[i].SetUint64(uint64(1000*c.tag) + uint64(i))
		}
		sponges = append(sponges, spongeVector{Tag: c.tag, Inputs: decs(xs), Output: dec(commit.Hash(c.tag, xs...))})
	}
	return map[string]any{
		"generatedBy": generatedBy,
		"description": "Poseidon2 over BN254, t=3, rF=8, rP=56 (spec §4.1): raw permutations and the sponge S(tag; inputs)",
		"parameters":  map[string]int{"width": commit.Width, "fullRounds": commit.FullRounds, "partialRounds": commit.PartialRounds},
		"permutation": perms,
		"sponge":      sponges,
		"constants":   poseidonConstants(),
	}
}

// ---- commitments.json ----

type openingJSON struct {
	Index    int      `json:"index"`
	Leaf     []string `json:"leaf"`
	Siblings []string `json:"siblings"`
}

type packVector struct {
	Row      []int8   `json:"row"`
	Elements []string `json:"elements"`
}

type activationVector struct {
	Name     string        `json:"name"`
	Shape    []int         `json:"shape"`
	Data     []int8        `json:"data"`
	Depth    int           `json:"depth"`
	TreeRoot string        `json:"treeRoot"`
	Root     string        `json:"root"`
	Openings []openingJSON `json:"openings"`
}

type layerVector struct {
	Name     string        `json:"name"`
	Shape    []int         `json:"shape"`
	Weight   []int8        `json:"weight"`
	Bias     []int32       `json:"bias"`
	Depth    int           `json:"depth"`
	TreeRoot string        `json:"treeRoot"`
	Root     string        `json:"root"`
	Openings []openingJSON `json:"openings"`
}

func openings(t *commit.Tree, idx ...int) []openingJSON {
	var out []openingJSON
	for _, i := range idx {
		o := must(t.Open(i))
		out = append(out, openingJSON{Index: o.Index, Leaf: decs(o.Leaf), Siblings: decs(o.Siblings)})
	}
	return out
}

func commitmentVectors() any {
	var packs []packVector
	for _, n := range []int{1, 31, 32, 62, 63} {
		row := tensor.RandomInput(uint64(n), 1, n).Data
		row[0] = -128
		row[n-1] = 127
		packs = append(packs, packVector{Row: row, Elements: decs(commit.PackRow(row))})
	}
	var acts []activationVector
	for _, c := range []struct {
		name    string
		M, C, D int
	}{{"single row", 1, 16, 0}, {"tiny input 3x16 at D=3", 3, 16, 3}, {"5x40 at D=3 (two packed elements)", 5, 40, 3}, {"full tree 4x64 at D=2", 4, 64, 2}} {
		x := tensor.RandomInput(uint64(c.M*1000+c.C), c.M, c.C)
		t := must(commit.CommitActivations(x, c.D))
		acts = append(acts, activationVector{Name: c.name, Shape: x.Shape, Data: x.Data, Depth: c.D,
			TreeRoot: dec(t.TreeRoot()), Root: dec(t.Root()), Openings: openings(t, 0, c.M-1)})
	}
	var layers []layerVector
	for _, c := range []struct {
		name string
		K, N int
	}{{"one column", 16, 1}, {"tiny layer 16x4", 16, 4}, {"5 columns, K=40", 40, 5}} {
		m := must(tensor.RandomModel(uint64(c.K*100+c.N), c.K, c.N))
		l := m.Layers[0]
		t := must(commit.CommitLayer(l.Weight, l.Bias))
		layers = append(layers, layerVector{Name: c.name, Shape: l.Weight.Shape, Weight: l.Weight.Data, Bias: l.Bias.Data,
			Depth: t.Depth(), TreeRoot: dec(t.TreeRoot()), Root: dec(t.Root()), Openings: openings(t, 0, c.N-1)})
	}
	return map[string]any{
		"generatedBy": generatedBy,
		"description": "row packing (§4.2), activation and layer-parameter commitments with openings (§4.3); int8 tensors row-major",
		"packing":     packs,
		"activations": acts,
		"layers":      layers,
	}
}

// ---- samples.json ----

type sampleVector struct {
	SeedL   string   `json:"seedL"`
	K       int      `json:"k"`
	M       int      `json:"M"`
	N       int      `json:"N"`
	H       []string `json:"h"`
	Samples [][2]int `json:"samples"`
}

func sampleVectors() any {
	var vs []sampleVector
	for _, c := range []struct{ l, k, M, N int }{{0, 2, 3, 4}, {1, 8, 16, 64}, {0, 8, 1, 1}, {2, 32, 1000, 4096}} {
		s := must(commit.FromBig(new(big.Int).Mod(new(big.Int).SetBytes(crypto.Keccak256([]byte(fmt.Sprintf("probity samples vector %d", c.l)))), protocol.R)))
		v := sampleVector{SeedL: dec(s), K: c.k, M: c.M, N: c.N}
		for n, sm := range commit.Samples(s, c.k, c.M, c.N) {
			var sn fr.Element
			sn.SetUint64(uint64(n))
			v.H = append(v.H, dec(commit.Hash(commit.TagSample, s, sn)))
			v.Samples = append(v.Samples, [2]int{sm.I, sm.J})
		}
		vs = append(vs, v)
	}
	return map[string]any{
		"generatedBy": generatedBy,
		"description": "sample indices (§6.3): h = S(SAMPLE; seedL, s), i = (h mod 2^64) mod M, j = ((h >> 64) mod 2^64) mod N",
		"cases":       vs,
	}
}

// ---- epilogue.json ----

type epilogueJSON struct {
	Multiplier uint32 `json:"multiplier"`
	Shift      uint8  `json:"shift"`
	ZeroPoint  int8   `json:"zeroPoint"`
	ReLU       bool   `json:"relu"`
}

func toJSON(e protocol.Epilogue) epilogueJSON {
	return epilogueJSON{e.Multiplier, e.Shift, e.ZeroPoint, e.ReLU}
}

type wordVector struct {
	Epilogue epilogueJSON `json:"epilogue"`
	Word     string       `json:"word"`
}

type applyVector struct {
	Epilogue epilogueJSON `json:"epilogue"`
	Acc      int32        `json:"acc"`
	Out      int8         `json:"out"`
	Note     string       `json:"note,omitempty"`
}

type linearVector struct {
	Name     string       `json:"name"`
	M        int          `json:"M"`
	K        int          `json:"K"`
	N        int          `json:"N"`
	A        []int8       `json:"a"`
	W        []int8       `json:"w"`
	B        []int32      `json:"b"`
	Epilogue epilogueJSON `json:"epilogue"`
	Out      []int8       `json:"out,omitempty"`
	Expect   string       `json:"expect"`
	Row      *int         `json:"row,omitempty"`
	Col      *int         `json:"col,omitempty"`
}

func epilogueVectors() any {
	var words []wordVector
	for _, e := range []protocol.Epilogue{
		{Multiplier: 1, Shift: 1, ZeroPoint: -128},
		{Multiplier: 1<<31 - 1, Shift: 62, ZeroPoint: 127, ReLU: true},
		{Multiplier: 1 << 30, Shift: 38, ZeroPoint: -2, ReLU: true},
		{Multiplier: 12345, Shift: 7},
	} {
		words = append(words, wordVector{toJSON(e), e.Word().String()})
	}
	half := protocol.Epilogue{Multiplier: 1, Shift: 1}
	var applies []applyVector
	for _, c := range []struct {
		e    protocol.Epilogue
		acc  int32
		note string
	}{
		{half, 3, "1.5 rounds half up to 2"},
		{half, -3, "-1.5 rounds half up to -1"},
		{half, -5, "-2.5 rounds half up to -2"},
		{half, -1, "-0.5 rounds half up to 0"},
		{protocol.Epilogue{Multiplier: 3, Shift: 2}, -7, "-21/4 = -5.25 rounds to -5"},
		{half, 400, "clamps to 127"},
		{half, -400, "clamps to -128"},
		{protocol.Epilogue{Multiplier: 1, Shift: 1, ZeroPoint: 5, ReLU: true}, -20, "relu clamps to the zero point"},
		{protocol.Epilogue{Multiplier: 1, Shift: 1, ZeroPoint: -10, ReLU: true}, 8, "relu passes 4 + z"},
		{protocol.Epilogue{Multiplier: 1<<31 - 1, Shift: 62, ZeroPoint: 0}, -1 << 31, "extreme accumulator and multiplier"},
		{protocol.Epilogue{Multiplier: 1<<31 - 1, Shift: 40}, 1<<31 - 1, "extreme positive"},
		{protocol.Epilogue{Multiplier: 1 << 30, Shift: 38, ZeroPoint: 3}, -123456, "typical requantization"},
	} {
		applies = append(applies, applyVector{toJSON(c.e), c.acc, c.e.Apply(c.acc), c.note})
	}
	var linears []linearVector
	m := must(tensor.RandomModel(11, 16, 4))
	x := tensor.RandomInput(12, 3, 16)
	y := must(tensor.Linear(x, m.Layers[0]))
	l := m.Layers[0]
	linears = append(linears, linearVector{Name: "tiny shape 3x16 -> 4", M: 3, K: 16, N: 4, A: x.Data, W: l.Weight.Data, B: l.Bias.Data, Epilogue: toJSON(l.Epilogue), Out: y.Data, Expect: "ok"})
	relu := protocol.Epilogue{Multiplier: 1 << 30, Shift: 36, ZeroPoint: -3, ReLU: true}
	a2 := &tensor.Int8{Shape: []int{2, 2}, Data: []int8{-128, 127, 5, -7}}
	w2 := &tensor.Int8{Shape: []int{3, 2}, Data: []int8{-128, -128, 127, 127, 1, -1}}
	b2 := &tensor.Int32{Shape: []int{3}, Data: []int32{100, -100, 0}}
	y2 := must(tensor.Linear(a2, tensor.Layer{Weight: w2, Bias: b2, Epilogue: relu}))
	linears = append(linears, linearVector{Name: "extremes with relu", M: 2, K: 2, N: 3, A: a2.Data, W: w2.Data, B: b2.Data, Epilogue: toJSON(relu), Out: y2.Data, Expect: "ok"})
	a3 := &tensor.Int8{Shape: []int{1, 2}, Data: []int8{-128, -128}}
	w3 := &tensor.Int8{Shape: []int{2, 2}, Data: []int8{1, 1, -128, -128}}
	b3 := &tensor.Int32{Shape: []int{2}, Data: []int32{0, 1<<31 - 32768}}
	_, err := tensor.Linear(a3, tensor.Layer{Weight: w3, Bias: b3, Epilogue: half})
	oe, ok := err.(*tensor.OverflowError)
	if !ok {
		fatal(fmt.Errorf("overflow vector did not overflow: %v", err))
	}
	linears = append(linears, linearVector{Name: "accumulator overflow", M: 1, K: 2, N: 2, A: a3.Data, W: w3.Data, B: b3.Data, Epilogue: toJSON(half), Expect: "overflow", Row: &oe.Row, Col: &oe.Col})
	return map[string]any{
		"generatedBy": generatedBy,
		"description": "epilogue words and the layer function of §3.2; W is [N,K] row-major; expect is ok or overflow (at row, col)",
		"words":       words,
		"apply":       applies,
		"linear":      linears,
	}
}

func hexb(b []byte) string { return hexutil.Encode(b) }

func stakeVectors() any {
	var cases []map[string]any
	eth := new(big.Int).Exp(big.NewInt(10), big.NewInt(18), nil)
	for _, c := range []struct {
		price *big.Int
		k     uint16
		f0    uint32
	}{
		{eth, 1, 1000}, {eth, 2, 1000}, {eth, 8, 1000}, {eth, 32, 1000}, {eth, 64, 1000}, {eth, 65535, 1000},
		{big.NewInt(1), 8, 1000}, {big.NewInt(1000003), 7, 1}, {eth, 32, 9999}, {eth, 32, 500},
		{new(big.Int).Lsh(big.NewInt(1), 190), 32, 1000},
		{eth, 0, 1000}, {eth, 8, 0}, {eth, 8, 10000},
	} {
		v := map[string]any{"price": c.price.String(), "k": c.k, "f0Bps": c.f0}
		s, err := protocol.RequiredStake(c.price, c.k, c.f0)
		if err != nil {
			v["expect"] = "revert"
		} else {
			v["expect"] = "ok"
			v["detection"] = must(protocol.DetectionFixed(c.k, c.f0)).String()
			v["stake"] = s.String()
		}
		cases = append(cases, v)
	}
	var gross []map[string]any
	for _, c := range []struct {
		net    *big.Int
		bounty uint32
	}{
		{eth, 0}, {eth, 500}, {eth, 2000}, {big.NewInt(1), 500}, {big.NewInt(19), 500}, {big.NewInt(1000003), 1999},
		{new(big.Int).Lsh(big.NewInt(1), 200), 2000},
	} {
		g := must(protocol.GrossStake(c.net, c.bounty))
		bounty := new(big.Int).Div(new(big.Int).Mul(g, big.NewInt(int64(c.bounty))), big.NewInt(10000))
		gross = append(gross, map[string]any{"expect": "ok", "net": c.net.String(), "bountyBps": c.bounty,
			"grossStake": g.String(), "bounty": bounty.String()})
	}
	return map[string]any{
		"generatedBy": generatedBy,
		"description": "requiredStake(price, k, f0Bps) and the fixed-point detection p (18 decimals) of §11; expect revert where f0 is outside (0, 10000) or k = 0. " +
			"grossStake(net, bountyBps) = ceil(net * 10000 / (10000 - bountyBps)), what lock reserves, and bounty = floor(grossStake * bountyBps / 10000); grossStake - bounty >= net",
		"cases":      cases,
		"grossStake": gross,
	}
}
