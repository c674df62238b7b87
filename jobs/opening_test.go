package jobs

import (
	"encoding/json"
	"errors"
	"os"
	"testing"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/ethereum/go-ethereum/common/hexutil"

	"github.com/probitylabs/probity/commit"
)

func hexElem(t *testing.T, s string) fr.Element {
	t.Helper()
	e, err := commit.FromBig(hexutil.MustDecodeBig(s))
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func hexElems(t *testing.T, ss []string) []fr.Element {
	out := make([]fr.Element, len(ss))
	for i, s := range ss {
		out[i] = hexElem(t, s)
	}
	return out
}

// Every case of testdata/vectors/trace_opening.json (which the contract's tests also read)
// verifies or is refused as it says.
func TestTraceOpeningVectors(t *testing.T) {
	b, err := os.ReadFile("../testdata/vectors/trace_opening.json")
	if err != nil {
		t.Fatal(err)
	}
	var v struct {
		Cases []struct {
			Name, JobDigest, TraceRoot, Element string
			Valid, Vacuous                      bool
			Opening                             struct {
				Rows, Tensors, TreeRows, TreeCols      uint32
				Depth, TreeKind, TreeDepth             uint8
				TensorRoot, RowRoot, ColRoot, TreeRoot string
				TensorPath, Leaf, Path                 []string
			}
		}
	}
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	seen := map[[2]bool]int{}
	for _, c := range v.Cases {
		e, err := ParseElement(hexutil.MustDecodeBig(c.Element))
		if err != nil {
			t.Fatalf("%s: %v", c.Name, err)
		}
		j := c.Opening
		o := &TraceOpening{Rows: j.Rows, Tensors: j.Tensors, Depth: j.Depth, TensorRoot: hexElem(t, j.TensorRoot),
			RowRoot: hexElem(t, j.RowRoot), ColRoot: hexElem(t, j.ColRoot), TensorPath: hexElems(t, j.TensorPath),
			TreeKind: j.TreeKind, TreeRows: j.TreeRows, TreeCols: j.TreeCols, TreeDepth: j.TreeDepth,
			TreeRoot: hexElem(t, j.TreeRoot), Leaf: hexElems(t, j.Leaf), Path: hexElems(t, j.Path)}
		vac, err := o.Verify(hexElem(t, c.TraceRoot), hexElem(t, c.JobDigest), e)
		if (err == nil) != c.Valid || vac != c.Vacuous {
			t.Errorf("%s: vacuous %v, err %v; want valid %v vacuous %v", c.Name, vac, err, c.Valid, c.Vacuous)
		}
		if !c.Valid && !errors.Is(err, ErrTraceOpening) {
			t.Errorf("%s: %v, want ErrTraceOpening", c.Name, err)
		}
		seen[[2]bool{c.Valid, c.Vacuous}]++
	}
	if seen[[2]bool{true, false}] < 4 || seen[[2]bool{true, true}] < 4 || seen[[2]bool{false, false}] < 6 {
		t.Errorf("vector classes %v: want openings, vacuous openings and refusals", seen)
	}
}

// Every data element of a real trace opens and verifies, the leaf of a row being the row
// itself; one past every bound is vacuous.
func TestOpenEveryNode(t *testing.T) {
	c, tr, tokens := generated(t, false)
	m := c.Model
	g, err := c.Commit(tr, tokens)
	if err != nil {
		t.Fatal(err)
	}
	op, err := NewOpener(m, g)
	if err != nil {
		t.Fatal(err)
	}
	check := func(e Element, wantVacuous bool) *TraceOpening {
		t.Helper()
		o, err := op.Open(e)
		if err != nil {
			t.Fatalf("%s: %v", e, err)
		}
		vac, err := o.Verify(g.TraceRoot, g.JobDigest, e)
		if err != nil || vac != wantVacuous {
			t.Fatalf("%s: vacuous %v, %v; want vacuous %v", e, vac, err, wantVacuous)
		}
		return o
	}
	L := len(m.Ops)
	for tt := 0; tt <= L; tt++ {
		check(Element{Kind: ElementTensor, Op: uint32(tt)}, false)
		for i := 0; i < tr.T; i++ {
			o := check(Element{Kind: ElementRow, Op: uint32(tt), Row: uint32(i)}, false)
			v := tr.Tensors[tt]
			if v.I32 != nil {
				if want := commit.BiasElement(v.I32.Data[i]); len(o.Leaf) != 1 || !o.Leaf[0].Equal(&want) {
					t.Fatalf("tensor %d row %d: leaf is not the id", tt, i)
				}
				continue
			}
			l, err := commit.UnpackLeaf(commit.KindActivations, v.I8.Shape[1], o.Leaf)
			if err != nil || string(int8Bytes(l.Row)) != string(int8Bytes(v.I8.Data[i*v.I8.Shape[1]:(i+1)*v.I8.Shape[1]])) {
				t.Fatalf("tensor %d row %d: leaf is not the row (%v)", tt, i, err)
			}
		}
		check(Element{Kind: ElementRow, Op: uint32(tt), Row: uint32(tr.T)}, true)
		if g.Roots[tt].Col.IsZero() {
			check(Element{Kind: ElementColumn, Op: uint32(tt)}, true)
			continue
		}
		w := tr.Tensors[tt].I8.Shape[1]
		for col := 0; col < w; col++ {
			check(Element{Kind: ElementColumn, Op: uint32(tt), Col: uint32(col)}, false)
		}
		check(Element{Kind: ElementColumn, Op: uint32(tt), Col: uint32(w)}, true)
	}
	check(Element{Kind: ElementTensor, Op: uint32(L + 1)}, true)
	if _, err := op.Open(Element{Kind: ElementOp}); !errors.Is(err, ErrNonCanonical) {
		t.Errorf("an op element opened: %v", err)
	}
	if _, err := op.Open(Element{Kind: ElementRow, Op: 1, Col: 1}); !errors.Is(err, ErrNonCanonical) {
		t.Errorf("a non-canonical row opened: %v", err)
	}
	// The opening of one job's trace does not open another's (the job digest is bound).
	o, _ := op.Open(Element{Kind: ElementTensor})
	other := g.JobDigest
	other.SetUint64(7)
	if _, err := o.Verify(g.TraceRoot, other, Element{Kind: ElementTensor}); !errors.Is(err, ErrTraceOpening) {
		t.Errorf("another job digest verified: %v", err)
	}
}

func int8Bytes(xs []int8) []byte {
	b := make([]byte, len(xs))
	for i, x := range xs {
		b[i] = byte(x)
	}
	return b
}
