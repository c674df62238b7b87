package model

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"

	"github.com/probitylabs/probity/commit"
	"github.com/probitylabs/probity/tensor"
)

// randomDecoder is the tiny GPT-2-style decoder of the brief with random integer parameters.
func randomDecoder(t testing.TB, c DecoderConfig, seed uint64) *Model {
	t.Helper()
	m, err := Decoder(c)
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(seed, 1))
	for i := range m.Ops {
		op := &m.Ops[i]
		if op.Weight != nil && op.Kind != KindLUT {
			for k := range op.Weight.Data {
				op.Weight.Data[k] = int8(r.IntN(256) - 128)
			}
		}
		if op.Bias != nil {
			for k := range op.Bias.Data {
				op.Bias.Data[k] = int32(r.IntN(8193) - 4096)
			}
		}
		if op.Gamma != nil {
			for k := range op.Gamma.Data {
				op.Gamma.Data[k] = int32(1<<10 + r.IntN(1<<13))
				op.Beta.Data[k] = int32(r.IntN(33) - 16)
			}
		}
	}
	return m
}

// TestDecoderTrace builds, validates and runs the d=16, 2-head, 2-block, vocab-32 decoder and
// checks every trace tensor against the graph's static shape, and that the file round trip
// keeps the model root.
func TestDecoderTrace(t *testing.T) {
	m := randomDecoder(t, DecoderConfig{Vocab: 32, Context: 16, Width: 16, Heads: 2, Blocks: 2}, 7)
	shapes, err := m.Shapes()
	if err != nil {
		t.Fatal(err)
	}
	// 2 embeddings and their add + 2 blocks of 22 ops (2 layernorms, 4 linears, 6 slices, 4 matmuls, 2 softmax,
	// 1 concat, 1 lut, 2 adds) + final layernorm + logits.
	if len(m.Ops) != 49 {
		t.Fatalf("%d ops, want 49", len(m.Ops))
	}
	const T = 6
	ids := tensor.NewInt32(T)
	for i := range ids.Data {
		ids.Data[i] = int32((i*11 + 3) % 32)
	}
	tr, err := Run(m, Value{I32: ids})
	if err != nil {
		t.Fatal(err)
	}
	if len(tr.Tensors) != len(m.Ops)+1 {
		t.Fatalf("trace has %d tensors, want %d", len(tr.Tensors), len(m.Ops)+1)
	}
	seenSeq := false
	for id, v := range tr.Tensors {
		s := shapes[id]
		want := []int{T}
		if s.DType == I8 {
			want = append(want, widthOr(s.Width, T))
			seenSeq = seenSeq || s.Width == Seq
			if v.I8 == nil || v.I32 != nil {
				t.Fatalf("tensor %d: want I8", id)
			}
		} else if v.I32 == nil {
			t.Fatalf("tensor %d: want I32", id)
		}
		if got := v.Shape(); !slices.Equal(got, want) {
			t.Errorf("tensor %d: shape %v, graph says %v", id, got, want)
		}
	}
	if !seenSeq {
		t.Error("no tensor of width T: the attention scores are missing")
	}
	if got := tr.Output().Shape(); !slices.Equal(got, []int{T, 32}) {
		t.Errorf("logits are %v, want [%d, 32]", got, T)
	}
	// Causality: the first row of every head's probabilities puts all mass on key 0.
	for i, op := range m.Ops {
		if op.Kind == KindSoftmax {
			row := tr.Tensors[i+1].I8.Row(0)
			if row[0] != 127 || row[1] != -128 {
				t.Errorf("op %d (%s): row 0 is %v, want [127 -128 ...]", i, op.Name, row)
			}
		}
	}
	// A changed token changes only later positions' logits (causal attention), never row 0.
	ids2 := &tensor.Int32{Shape: []int{T}, Data: append([]int32(nil), ids.Data...)}
	ids2.Data[T-1] = (ids2.Data[T-1] + 1) % 32
	tr2, err := Run(m, Value{I32: ids2})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(i8bytes(tr.Output().I8.Row(0)), i8bytes(tr2.Output().I8.Row(0))) {
		t.Error("changing the last token changed the first position's logits")
	}

	b, err := Encode(m)
	if err != nil {
		t.Fatal(err)
	}
	back, err := Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	r1, _ := m.Root()
	r2, err := back.Root()
	if err != nil || !r1.Equal(&r2) {
		t.Fatalf("root after round trip %v (%v), want %v", r2.String(), err, r1.String())
	}
}

func i8bytes(x []int8) []byte {
	b := make([]byte, len(x))
	for i, v := range x {
		b[i] = byte(v)
	}
	return b
}

// TestRootBindsEveryOp flips one parameter or scalar of each op and expects a new root.
func TestRootBindsEveryOp(t *testing.T) {
	m := randomDecoder(t, DecoderConfig{Vocab: 8, Context: 8, Width: 4, Heads: 2, Blocks: 1}, 3)
	base, err := m.Root()
	if err != nil {
		t.Fatal(err)
	}
	for i := range m.Ops {
		op := &m.Ops[i]
		undo := func() {}
		switch op.Kind {
		case KindEmbed, KindPosition, KindLUT:
			op.Weight.Data[0] ^= 1
			undo = func() { op.Weight.Data[0] ^= 1 }
		case KindLinear: // a column's multiplier, which only the parameter root holds
			op.Scales.Data[len(op.Scales.Data)-1]--
			undo = func() { op.Scales.Data[len(op.Scales.Data)-1]++ }
		case KindLayerNorm:
			op.Beta.Data[len(op.Beta.Data)-1]++
			undo = func() { op.Beta.Data[len(op.Beta.Data)-1]-- }
		case KindSlice:
			d := 1 // move the window one column, inside the qkv row
			if op.Offset > 0 {
				d = -1
			}
			op.Offset += d
			undo = func() { op.Offset -= d }
		case KindMatmul:
			op.Causal = !op.Causal
			undo = func() { op.Causal = !op.Causal }
		case KindSoftmax:
			op.Exp[255]++
			undo = func() { op.Exp[255]-- }
		case KindAdd:
			op.MulB--
			undo = func() { op.MulB++ }
		case KindConcat:
			op.In[0], op.In[1] = op.In[1], op.In[0]
			undo = func() { op.In[0], op.In[1] = op.In[1], op.In[0] }
		default:
			t.Fatalf("op %d: kind %s not covered", i, op.Kind)
		}
		got, err := m.Root()
		undo()
		if err != nil {
			t.Fatalf("op %d (%s): %v", i, op.Kind, err)
		}
		if got.Equal(&base) {
			t.Errorf("op %d (%s): change not bound by the root", i, op.Kind)
		}
	}
	if got, _ := m.Root(); !got.Equal(&base) {
		t.Fatal("undo did not restore the model")
	}
}

// TestParamRootsAgreeWithCommit pins model's own tree (used for kinds 3, 4 and 5) to package
// commit's: the embed table's tree is an activation tree of depth ceil(log2 V).
func TestParamRootsAgreeWithCommit(t *testing.T) {
	for _, V := range []int{1, 2, 3, 5, 8, 9} {
		E := tensor.NewInt8(V, 40)
		for i := range E.Data {
			E.Data[i] = int8(i*7 + V)
		}
		ct, err := commit.CommitActivations(E, commit.LayerDepth(V))
		if err != nil {
			t.Fatal(err)
		}
		got := ParamRoot(&Op{Kind: KindEmbed, Weight: E})
		want := commit.ShapeRoot(KindTable, V, 40, commit.LayerDepth(V), ct.TreeRoot())
		if !got.Equal(&want) {
			t.Errorf("V = %d: embed root differs from commit's tree", V)
		}
	}
}

// TestSoftmaxTableWords decodes the softmax descriptor's packed table (15 entries of 16 bits
// per word) and checks it gives the table back and leaves the unused words zero.
func TestSoftmaxTableWords(t *testing.T) {
	e := ExpTableFor(0.01)
	m := &Model{Input: Input{Name: "x", DType: I8, Width: 4}, Ops: []Op{{Kind: KindSoftmax, Name: "y", In: []int{0}, Exp: &e}}}
	d, err := m.Descriptor(0)
	if err != nil {
		t.Fatal(err)
	}
	for k := range 256 {
		w := commit.ToBig(d[8+k/15])
		v := w.Rsh(w, uint(16*(k%15))).Uint64() & 0xffff
		if int32(v) != e[k] {
			t.Fatalf("entry %d: word gives %d, table has %d", k, v, e[k])
		}
	}
	if last := commit.ToBig(d[25]); last.BitLen() > 16 {
		t.Errorf("word 25 holds only entry 255, has %d bits", last.BitLen())
	}
	for _, k := range []int{5, 6} {
		if !d[k].IsZero() {
			t.Errorf("word %d (no operand B) is %v", k, d[k].String())
		}
	}
}

type vectorFile struct {
	DescriptorWidth int `json:"descriptorWidth"`
	Cases           []struct {
		Name        string     `json:"name"`
		Expect      string     `json:"expect"`
		File        string     `json:"file"`
		Descriptors [][]string `json:"descriptors"`
		ParamRoots  []string   `json:"paramRoots"`
		Root        string     `json:"root"`
	} `json:"cases"`
}

func loadVectors(t testing.TB) vectorFile {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "testdata", "vectors", "model.json"))
	if err != nil {
		t.Fatal(err)
	}
	var v vectorFile
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	return v
}

// TestVectors parses every file of model.json, checks its class, and for valid ones every
// descriptor, parameter root and the model root; it also requires a valid case per kind and
// an invalid case per error class.
func TestVectors(t *testing.T) {
	v := loadVectors(t)
	if v.DescriptorWidth != DescriptorWidth {
		t.Fatalf("descriptorWidth %d, want %d", v.DescriptorWidth, DescriptorWidth)
	}
	classes := map[string]int{}
	kinds := map[Kind]int{}
	str := func(e fr.Element) string { return commit.ToBig(e).String() }
	for _, c := range v.Cases {
		b, err := hex.DecodeString(c.File[2:])
		if err != nil {
			t.Fatalf("%s: %v", c.Name, err)
		}
		m, err := Parse(b)
		if got := Class(err); got != c.Expect {
			t.Errorf("%s: class %s (%v), file says %s", c.Name, got, err, c.Expect)
			continue
		}
		classes[c.Expect]++
		if err != nil {
			continue
		}
		descs, err := m.Descriptors()
		if err != nil || len(descs) != len(c.Descriptors) || len(c.ParamRoots) != len(m.Ops) {
			t.Fatalf("%s: %d descriptors (%v), file has %d", c.Name, len(descs), err, len(c.Descriptors))
		}
		for i, d := range descs {
			kinds[m.Ops[i].Kind]++
			for k := range d {
				if str(d[k]) != c.Descriptors[i][k] {
					t.Errorf("%s: op %d word %d is %s, file has %s", c.Name, i, k, str(d[k]), c.Descriptors[i][k])
				}
			}
			if got := str(ParamRoot(&m.Ops[i])); got != c.ParamRoots[i] {
				t.Errorf("%s: op %d parameter root %s, file has %s", c.Name, i, got, c.ParamRoots[i])
			}
		}
		if r, _ := m.Root(); str(r) != c.Root {
			t.Errorf("%s: root %s, file has %s", c.Name, str(r), c.Root)
		}
		if again, _ := Encode(m); !bytes.Equal(again, b) {
			t.Errorf("%s: re-encoding differs from the file", c.Name)
		}
	}
	for _, k := range Kinds {
		if kinds[k] == 0 {
			t.Errorf("no valid vector uses %s", k)
		}
	}
	for _, cl := range classes2 {
		if classes[cl] == 0 {
			t.Errorf("no vector of class %s", cl)
		}
	}
}

var classes2 = []string{"ok", "format", "layout", "integer", "name", "kind", "resolve", "order", "shape", "param", "canonical"}

// FuzzParse checks that Parse never panics and that whatever it accepts is canonical:
// Encode(Parse(b)) == b, and the model validates.
func FuzzParse(f *testing.F) {
	for _, c := range loadVectors(f).Cases {
		b, err := hex.DecodeString(c.File[2:])
		if err != nil {
			f.Fatal(err)
		}
		if len(b) < 4096 {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := Parse(b)
		if err != nil {
			if Class(err) == "" {
				t.Fatalf("error without a class: %v", err)
			}
			return
		}
		if err := m.Validate(); err != nil {
			t.Fatalf("accepted an invalid model: %v", err)
		}
		out, err := Encode(m)
		if err != nil || !bytes.Equal(out, b) {
			t.Fatalf("parse then encode differs (%v)", err)
		}
	})
}

// Each descriptor's last word is its rank within its kind, ranks run 0..n_k-1 in op order,
// and the counts the root binds are the kinds' sizes.
func TestDescriptorRanks(t *testing.T) {
	m := randomDecoder(t, DecoderConfig{Vocab: 8, Context: 8, Width: 4, Heads: 2, Blocks: 2}, 5)
	descs, err := m.Descriptors()
	if err != nil {
		t.Fatal(err)
	}
	n := m.KindCounts()
	var next [NumKinds + 1]int
	total := 0
	for i, d := range descs {
		k := m.Ops[i].Kind
		if got := d[rankWord]; got != commit.Uint(uint64(next[k])) {
			t.Fatalf("op %d (%s): rank word %s, want %d", i, k, got.String(), next[k])
		}
		if m.Rank(i) != next[k] {
			t.Fatalf("op %d: Rank %d, want %d", i, m.Rank(i), next[k])
		}
		next[k]++
	}
	for k := 1; k <= NumKinds; k++ {
		if next[k] != n[k] {
			t.Fatalf("kind %d: %d ops, KindCounts says %d", k, next[k], n[k])
		}
		total += n[k]
	}
	if total != len(m.Ops) || n[KindSoftmax] != 2*2 || n[KindPosition] != 1 {
		t.Fatalf("counts %v for %d ops", n, len(m.Ops))
	}
	if NumKinds != int(KindPosition) {
		t.Fatal("NumKinds is not the last kind")
	}
}
