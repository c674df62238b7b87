package commit

import (
	"errors"
	"math/big"
	"os"
	"path/filepath"
	"testing"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"

	"github.com/probitylabs/probity/tensor"
)

// naiveRoot builds the full 2^d-leaf tree with no shortcuts, as the spec states it.
func naiveRoot(leaves []fr.Element, depth int) fr.Element {
	level := make([]fr.Element, 1<<depth)
	copy(level, leaves)
	for len(level) > 1 {
		next := make([]fr.Element, len(level)/2)
		for i := range next {
			next[i] = Hash(TagNode, level[2*i], level[2*i+1])
		}
		level = next
	}
	return level[0]
}

func TestSpongeDefinition(t *testing.T) {
	// S(tag; x1, x2, x3) by hand: capacity tag*2^64+3, two absorptions.
	var x [3]fr.Element
	for i := range x {
		x[i].SetUint64(uint64(10 + i))
	}
	var st [3]fr.Element
	st[0].SetBigInt(new(big.Int).Add(new(big.Int).Lsh(big.NewInt(7), 64), big.NewInt(3)))
	st[1].Add(&st[1], &x[0])
	st[2].Add(&st[2], &x[1])
	Permute(&st)
	st[1].Add(&st[1], &x[2])
	Permute(&st)
	if got := Hash(7, x[:]...); !got.Equal(&st[1]) {
		t.Fatal("Hash does not follow the sponge definition")
	}
	// Length separation: a trailing zero changes the hash.
	a := Hash(TagLeaf, x[0])
	b := Hash(TagLeaf, x[0], fr.Element{})
	if a.Equal(&b) {
		t.Fatal("lengths 1 and 2 collide")
	}
	n := Node(x[0], x[1])
	h := Hash(TagNode, x[0], x[1])
	if !n.Equal(&h) {
		t.Fatal("Node differs from S(NODE; l, r)")
	}
}

func TestPackRow(t *testing.T) {
	row := make([]int8, 33)
	for i := range row {
		row[i] = int8(i - 128 + 1) // bytes 1..33
	}
	p := PackRow(row)
	if len(p) != 2 {
		t.Fatalf("%d elements, want 2", len(p))
	}
	want := new(big.Int)
	for i := 30; i >= 0; i-- {
		want.Lsh(want, 8).Add(want, big.NewInt(int64(i+1)))
	}
	if ToBig(p[0]).Cmp(want) != 0 {
		t.Fatalf("element 0 = %s, want %s", ToBig(p[0]), want)
	}
	if ToBig(p[1]).Cmp(big.NewInt(32+33*256)) != 0 {
		t.Fatalf("element 1 = %s", ToBig(p[1]))
	}
	l, err := UnpackLeaf(KindActivations, 33, p)
	if err != nil {
		t.Fatal(err)
	}
	for i := range row {
		if l.Row[i] != row[i] {
			t.Fatalf("unpack column %d: %d, want %d", i, l.Row[i], row[i])
		}
	}
	// An element with data past the row is not a packing of this row.
	p[1].SetUint64(1 << 16)
	if _, err := UnpackLeaf(KindActivations, 33, p); !errors.Is(err, ErrLeaf) {
		t.Fatalf("stray byte accepted: %v", err)
	}
}

func TestTreeMatchesNaive(t *testing.T) {
	for _, c := range []struct{ M, C, D int }{{1, 5, 0}, {1, 5, 3}, {3, 31, 2}, {5, 40, 3}, {8, 62, 3}, {9, 7, 6}} {
		x := tensor.RandomInput(uint64(c.M*100+c.C), c.M, c.C)
		tr, err := CommitActivations(x, c.D)
		if err != nil {
			t.Fatal(err)
		}
		leaves := make([]fr.Element, c.M)
		for i := range leaves {
			leaves[i] = Hash(TagLeaf, PackRow(x.Row(i))...)
		}
		T := naiveRoot(leaves, c.D)
		if got := tr.TreeRoot(); !got.Equal(&T) {
			t.Fatalf("%+v: tree root differs from the naive tree", c)
		}
		root := tr.Root()
		for i := 0; i < c.M; i++ {
			o, err := tr.Open(i)
			if err != nil {
				t.Fatal(err)
			}
			if err := VerifyOpening(root, KindActivations, c.M, c.C, c.D, o); err != nil {
				t.Fatalf("%+v row %d: %v", c, i, err)
			}
			// Tampering with any part must fail.
			bad := *o
			bad.Leaf = append([]fr.Element(nil), o.Leaf...)
			bad.Leaf[0].SetUint64(ToBig(o.Leaf[0]).Uint64() ^ 1)
			if err := VerifyOpening(root, KindActivations, c.M, c.C, c.D, &bad); !errors.Is(err, ErrOpening) {
				t.Fatalf("tampered leaf accepted: %v", err)
			}
			if c.D > 0 {
				bad = *o
				bad.Siblings = append([]fr.Element(nil), o.Siblings...)
				bad.Siblings[c.D-1].SetUint64(12345)
				if err := VerifyOpening(root, KindActivations, c.M, c.C, c.D, &bad); !errors.Is(err, ErrOpening) {
					t.Fatalf("tampered sibling accepted: %v", err)
				}
			}
			if c.M > 1 {
				bad = *o
				bad.Index = (o.Index + 1) % c.M
				if err := VerifyOpening(root, KindActivations, c.M, c.C, c.D, &bad); !errors.Is(err, ErrOpening) {
					t.Fatalf("wrong index accepted: %v", err)
				}
			}
			// The root binds the shape.
			if err := VerifyOpening(root, KindActivations, c.M+1, c.C, c.D+1, o); err == nil {
				t.Fatal("opening verified against a different shape")
			}
		}
	}
}

func TestCommitLayer(t *testing.T) {
	m, err := tensor.RandomModel(3, 40, 5)
	if err != nil {
		t.Fatal(err)
	}
	ly := m.Layers[0]
	tr, err := CommitLayer(ly.Weight, ly.Bias)
	if err != nil {
		t.Fatal(err)
	}
	if tr.Depth() != 3 || tr.Rows() != 5 || tr.Cols() != 40 || tr.Kind() != KindLayer {
		t.Fatalf("depth %d rows %d cols %d kind %d", tr.Depth(), tr.Rows(), tr.Cols(), tr.Kind())
	}
	leaves := make([]fr.Element, 5)
	for j := range leaves {
		var b fr.Element
		b.SetInt64(int64(ly.Bias.Data[j]) + 1<<31)
		leaves[j] = Hash(TagLeaf, append(PackRow(ly.Weight.Row(j)), b)...)
	}
	T := naiveRoot(leaves, 3)
	if got := tr.TreeRoot(); !got.Equal(&T) {
		t.Fatal("layer tree differs from the naive tree")
	}
	o, err := tr.Open(4)
	if err != nil {
		t.Fatal(err)
	}
	if err := VerifyOpening(tr.Root(), KindLayer, 5, 40, 3, o); err != nil {
		t.Fatal(err)
	}
	l, err := UnpackLeaf(KindLayer, 40, o.Leaf)
	if err != nil || l.Bias != ly.Bias.Data[4] {
		t.Fatalf("bias %d, want %d (%v)", l.Bias, ly.Bias.Data[4], err)
	}
	if err := VerifyOpening(tr.Root(), KindActivations, 5, 40, 3, o); err == nil {
		t.Fatal("layer opening verified as activations")
	}
	if _, err := tr.Open(5); !errors.Is(err, ErrIndex) {
		t.Fatalf("open past the rows: %v", err)
	}
}

func TestCommitRejects(t *testing.T) {
	x := tensor.RandomInput(1, 5, 4)
	if _, err := CommitActivations(x, 2); !errors.Is(err, ErrTooManyRows) {
		t.Fatalf("5 rows at depth 2: %v", err)
	}
	if _, err := CommitActivations(&tensor.Int8{Shape: []int{2, 3}, Data: make([]int8, 5)}, 2); !errors.Is(err, tensor.ErrShape) {
		t.Fatalf("bad data length: %v", err)
	}
	if _, err := CommitLayer(tensor.NewInt8(3, 4), tensor.NewInt32(2)); !errors.Is(err, tensor.ErrShape) {
		t.Fatalf("bias mismatch: %v", err)
	}
	if _, err := FromBig(fr.Modulus()); !errors.Is(err, ErrNotField) {
		t.Fatalf("R accepted: %v", err)
	}
	if _, err := FromBig(big.NewInt(-1)); !errors.Is(err, ErrNotField) {
		t.Fatalf("-1 accepted: %v", err)
	}
}

func TestDeepSparseTree(t *testing.T) {
	x := tensor.RandomInput(2, 3, 64)
	tr, err := CommitActivations(x, 30)
	if err != nil {
		t.Fatal(err)
	}
	o, err := tr.Open(2)
	if err != nil {
		t.Fatal(err)
	}
	if err := VerifyOpening(tr.Root(), KindActivations, 3, 64, 30, o); err != nil {
		t.Fatal(err)
	}
}

func TestCommitActivationsFile(t *testing.T) {
	x := tensor.RandomInput(9, 37, 45)
	path := filepath.Join(t.TempDir(), "x.safetensors")
	if err := tensor.SaveActivations(path, x); err != nil {
		t.Fatal(err)
	}
	old := StreamBudget
	StreamBudget = 100 // several chunks
	defer func() { StreamBudget = old }()
	tf, err := CommitActivationsFile(path, "x", 6)
	if err != nil {
		t.Fatal(err)
	}
	tm, err := CommitActivations(x, 6)
	if err != nil {
		t.Fatal(err)
	}
	a, b := tf.Root(), tm.Root()
	if !a.Equal(&b) {
		t.Fatal("streamed and in-memory commitments differ")
	}
	o, err := tf.Open(36)
	if err != nil {
		t.Fatal(err)
	}
	if err := VerifyOpening(a, KindActivations, 37, 45, 6, o); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte("garbage"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := CommitActivationsFile(path, "x", 6); err == nil {
		t.Fatal("garbage file committed")
	}
}

func TestSamples(t *testing.T) {
	var seed fr.Element
	seed.SetUint64(77)
	s := Samples(seed, 16, 5, 3)
	for n, sm := range s {
		var sn fr.Element
		sn.SetUint64(uint64(n))
		h := ToBig(Hash(TagSample, seed, sn))
		m64 := new(big.Int).Lsh(big.NewInt(1), 64)
		lo := new(big.Int).Mod(h, m64)
		hi := new(big.Int).Mod(new(big.Int).Rsh(h, 64), m64)
		if int64(sm.I) != new(big.Int).Mod(lo, big.NewInt(5)).Int64() || int64(sm.J) != new(big.Int).Mod(hi, big.NewInt(3)).Int64() {
			t.Fatalf("sample %d = %+v, spec gives (%s, %s)", n, sm, lo, hi)
		}
	}
}

func benchmarkCommit(b *testing.B, M, C int) {
	x := tensor.RandomInput(1, M, C)
	depth := LayerDepth(M)
	b.SetBytes(int64(M * C))
	b.ResetTimer()
	for range b.N {
		if _, err := CommitActivations(x, depth); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCommit1024x4096(b *testing.B) { benchmarkCommit(b, 1024, 4096) }
func BenchmarkCommit4096x256(b *testing.B)  { benchmarkCommit(b, 4096, 256) }

func BenchmarkHashPermutation(b *testing.B) {
	var st [3]fr.Element
	for range b.N {
		Permute(&st)
	}
}

// FuzzVerifyOpening feeds arbitrary leaves and siblings to the verifier: it must never panic,
// and must accept only the honest opening.
func FuzzVerifyOpening(f *testing.F) {
	x := tensor.RandomInput(4, 3, 40)
	tr, err := CommitActivations(x, 2)
	if err != nil {
		f.Fatal(err)
	}
	root := tr.Root()
	o, _ := tr.Open(1)
	enc := func(o *Opening) []byte {
		var b []byte
		for _, e := range append(append([]fr.Element(nil), o.Leaf...), o.Siblings...) {
			bs := e.Bytes()
			b = append(b, bs[:]...)
		}
		return b
	}
	f.Add(1, enc(o))
	f.Add(0, []byte{1, 2, 3})
	f.Fuzz(func(t *testing.T, idx int, data []byte) {
		var elems []fr.Element
		for len(data) >= 32 {
			var e fr.Element
			e.SetBytes(data[:32])
			elems = append(elems, e)
			data = data[32:]
		}
		n := min(2, len(elems))
		cand := &Opening{Index: idx, Leaf: elems[:n], Siblings: elems[n:]}
		err := VerifyOpening(root, KindActivations, 3, 40, 2, cand)
		if err == nil {
			honest, _ := tr.Open(idx)
			for i := range honest.Leaf {
				if !honest.Leaf[i].Equal(&cand.Leaf[i]) {
					t.Fatalf("forged leaf accepted at index %d", idx)
				}
			}
		}
		for _, kind := range []int{KindActivations, KindLayer} {
			UnpackLeaf(kind, 40, elems)
		}
	})
}

func BenchmarkCommitFile1024x4096(b *testing.B) {
	x := tensor.RandomInput(1, 1024, 4096)
	path := filepath.Join(b.TempDir(), "x.safetensors")
	if err := tensor.SaveActivations(path, x); err != nil {
		b.Fatal(err)
	}
	old := StreamBudget
	StreamBudget = 1 << 20 // force streaming in 256-row chunks
	defer func() { StreamBudget = old }()
	b.SetBytes(int64(len(x.Data)))
	b.ResetTimer()
	for range b.N {
		if _, err := CommitActivationsFile(path, "x", 10); err != nil {
			b.Fatal(err)
		}
	}
}
