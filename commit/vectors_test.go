package commit

import (
	"encoding/json"
	"math/big"
	"os"
	"path/filepath"
	"testing"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"

	"github.com/probitylabs/probity/tensor"
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

func el(t *testing.T, s string) fr.Element {
	t.Helper()
	x, ok := new(big.Int).SetString(s, 10)
	if !ok {
		t.Fatalf("bad integer %q", s)
	}
	e, err := FromBig(x)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func els(t *testing.T, ss []string) []fr.Element {
	out := make([]fr.Element, len(ss))
	for i, s := range ss {
		out[i] = el(t, s)
	}
	return out
}

func TestPoseidon2Vectors(t *testing.T) {
	var v struct {
		Permutation []struct{ Input, Output []string } `json:"permutation"`
		Sponge      []struct {
			Tag    uint64   `json:"tag"`
			Inputs []string `json:"inputs"`
			Output string   `json:"output"`
		} `json:"sponge"`
	}
	loadVectors(t, "poseidon2.json", &v)
	if len(v.Permutation) == 0 || len(v.Sponge) == 0 {
		t.Fatal("empty vectors")
	}
	for i, c := range v.Permutation {
		var st [3]fr.Element
		copy(st[:], els(t, c.Input))
		Permute(&st)
		for j, want := range els(t, c.Output) {
			if !st[j].Equal(&want) {
				t.Errorf("permutation %d word %d differs", i, j)
			}
		}
	}
	for i, c := range v.Sponge {
		want := el(t, c.Output)
		if got := Hash(c.Tag, els(t, c.Inputs)...); !got.Equal(&want) {
			t.Errorf("sponge %d differs", i)
		}
	}
}

type openingJSON struct {
	Index    int      `json:"index"`
	Leaf     []string `json:"leaf"`
	Siblings []string `json:"siblings"`
}

func TestCommitmentVectors(t *testing.T) {
	var v struct {
		Packing []struct {
			Row      []int8   `json:"row"`
			Elements []string `json:"elements"`
		} `json:"packing"`
		Activations []struct {
			Name     string        `json:"name"`
			Shape    []int         `json:"shape"`
			Data     []int8        `json:"data"`
			Depth    int           `json:"depth"`
			TreeRoot string        `json:"treeRoot"`
			Root     string        `json:"root"`
			Openings []openingJSON `json:"openings"`
		} `json:"activations"`
		Layers []struct {
			Name     string        `json:"name"`
			Shape    []int         `json:"shape"`
			Weight   []int8        `json:"weight"`
			Bias     []int32       `json:"bias"`
			Depth    int           `json:"depth"`
			TreeRoot string        `json:"treeRoot"`
			Root     string        `json:"root"`
			Openings []openingJSON `json:"openings"`
		} `json:"layers"`
	}
	loadVectors(t, "commitments.json", &v)
	for i, c := range v.Packing {
		got := PackRow(c.Row)
		want := els(t, c.Elements)
		if len(got) != len(want) {
			t.Fatalf("packing %d: %d elements", i, len(got))
		}
		for j := range got {
			if !got[j].Equal(&want[j]) {
				t.Errorf("packing %d element %d differs", i, j)
			}
		}
	}
	check := func(name string, tr *Tree, depth int, treeRoot, root string, ops []openingJSON) {
		if tr.Depth() != depth {
			t.Errorf("%s: depth %d, want %d", name, tr.Depth(), depth)
		}
		T, R := el(t, treeRoot), el(t, root)
		if got := tr.TreeRoot(); !got.Equal(&T) {
			t.Errorf("%s: tree root differs", name)
		}
		if got := tr.Root(); !got.Equal(&R) {
			t.Errorf("%s: root differs", name)
		}
		for _, oj := range ops {
			o := &Opening{Index: oj.Index, Leaf: els(t, oj.Leaf), Siblings: els(t, oj.Siblings)}
			if err := VerifyOpening(R, tr.Kind(), tr.Rows(), tr.Cols(), depth, o); err != nil {
				t.Errorf("%s: opening %d: %v", name, oj.Index, err)
			}
			mine, err := tr.Open(oj.Index)
			if err != nil {
				t.Fatal(err)
			}
			for j := range mine.Siblings {
				if !mine.Siblings[j].Equal(&o.Siblings[j]) {
					t.Errorf("%s: opening %d sibling %d differs", name, oj.Index, j)
				}
			}
		}
	}
	for _, c := range v.Activations {
		tr, err := CommitActivations(&tensor.Int8{Shape: c.Shape, Data: c.Data}, c.Depth)
		if err != nil {
			t.Fatalf("%s: %v", c.Name, err)
		}
		check(c.Name, tr, c.Depth, c.TreeRoot, c.Root, c.Openings)
	}
	for _, c := range v.Layers {
		tr, err := CommitLayer(&tensor.Int8{Shape: c.Shape, Data: c.Weight}, &tensor.Int32{Shape: []int{len(c.Bias)}, Data: c.Bias})
		if err != nil {
			t.Fatalf("%s: %v", c.Name, err)
		}
		check(c.Name, tr, c.Depth, c.TreeRoot, c.Root, c.Openings)
	}
}

func TestSampleVectors(t *testing.T) {
	var v struct {
		Cases []struct {
			SeedL   string   `json:"seedL"`
			K       int      `json:"k"`
			M       int      `json:"M"`
			N       int      `json:"N"`
			H       []string `json:"h"`
			Samples [][2]int `json:"samples"`
		} `json:"cases"`
	}
	loadVectors(t, "samples.json", &v)
	for i, c := range v.Cases {
		got := Samples(el(t, c.SeedL), c.K, c.M, c.N)
		if len(got) != len(c.Samples) {
			t.Fatalf("case %d: %d samples", i, len(got))
		}
		for s := range got {
			if got[s].I != c.Samples[s][0] || got[s].J != c.Samples[s][1] {
				t.Errorf("case %d sample %d: %+v, want %v", i, s, got[s], c.Samples[s])
			}
			var sn fr.Element
			sn.SetUint64(uint64(s))
			want := el(t, c.H[s])
			if h := Hash(TagSample, el(t, c.SeedL), sn); !h.Equal(&want) {
				t.Errorf("case %d sample %d: h differs", i, s)
			}
		}
	}
}
