package universal

import (
	"math"
	"testing"
)

// The bounds follow specs/circuit.md §3's formula: a kind with one op and two slots catches a
// wholly falsified instance surely, and one element of it with 1 - (1 - 1/(T w))^2.
func TestBounds(t *testing.T) {
	st := everyKindStatement(t, 11)
	cl := testClass()
	bs, err := cl.Bounds(st.Model, st.Trace.T, st.Job.New)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]Bound{}
	for _, b := range bs {
		seen[b.Family] = b
		if b.Instance < b.Element || b.Instance > 1 || b.Element <= 0 {
			t.Fatalf("%+v", b)
		}
	}
	emb := seen["embed"]
	if emb.Units != 1 || emb.Instance != 1 || emb.Elements != st.Trace.T*4 {
		t.Fatalf("embed %+v", emb)
	}
	if want := 1 - math.Pow(1-1/float64(emb.Elements), float64(emb.Slots)); math.Abs(emb.Element-want) > 1e-12 {
		t.Fatalf("embed element bound %v, want %v", emb.Element, want)
	}
	mm := seen["matmul"] // two matmuls, one slot each in the test class
	if mm.Units != 2 || math.Abs(mm.Instance-0.5) > 1e-12 {
		t.Fatalf("matmul %+v", mm)
	}
	if len(bs) != 13+2 {
		t.Fatalf("%d families", len(bs))
	}
}
