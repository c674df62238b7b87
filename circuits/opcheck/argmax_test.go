package opcheck

import (
	"fmt"
	"math/big"
	"math/rand/v2"
	"testing"

	"github.com/consensys/gnark/frontend"
	"github.com/probitylabs/probity/ops"
	"github.com/probitylabs/probity/tensor"
)

type amCircuit struct {
	B, In []frontend.Variable
	Width frontend.Variable
	Idx   frontend.Variable
}

func (c *amCircuit) Define(api frontend.API) error {
	Argmax(api, Row{B: c.B, In: c.In, Width: c.Width}, c.Idx)
	return nil
}

func newAm(capacity int) *amCircuit {
	return &amCircuit{B: make([]frontend.Variable, capacity), In: make([]frontend.Variable, capacity)}
}

// amAssign is the witness for a row x (len N) in a row of the given capacity claiming idx.
func amAssign(x []int8, capacity int, idx any) *amCircuit {
	a := newAm(capacity)
	for t := range capacity {
		a.B[t], a.In[t] = 0, 0
		if t < len(x) {
			a.B[t], a.In[t] = int(x[t])+128, 1
		}
	}
	a.Width, a.Idx = len(x), idx
	return a
}

func amSolve(t *testing.T, x []int8, capacity int, idx any) error {
	t.Helper()
	ccs := smCompile(t, fmt.Sprint("argmax", capacity), newAm(capacity))
	return smSolveCompiled(t, ccs, amAssign(x, capacity, idx))
}

// amNative is ops.Argmax of the one row x.
func amNative(t *testing.T, x []int8) int {
	t.Helper()
	m := tensor.NewInt8(1, len(x))
	copy(m.Data, x)
	out, err := ops.Argmax(m)
	if err != nil {
		t.Fatal(err)
	}
	return int(out.Data[0])
}

// amCheck solves the native index and refuses the others: every other column of the
// capacity when all is set (and C, -1), else the neighbours, the other maxima and the
// padding column N.
func amCheck(t *testing.T, label string, x []int8, capacity int, all bool) {
	t.Helper()
	want := amNative(t, x)
	if err := amSolve(t, x, capacity, want); err != nil {
		t.Fatalf("%s: native index %d refused: %v", label, want, err)
	}
	var bad []int
	if all {
		for i := -1; i <= capacity; i++ {
			bad = append(bad, i)
		}
	} else {
		bad = []int{want - 1, want + 1, len(x)}
		for i, v := range x {
			if v == x[want] {
				bad = append(bad, i) // a later maximum: the tie goes to the first
			}
		}
	}
	for _, i := range bad {
		if i != want && amSolve(t, x, capacity, i) == nil {
			t.Fatalf("%s: index %d accepted (want %d)", label, i, want)
		}
	}
}

// Argmax agrees with ops.Argmax on random rows of widths 1, 2, 3, 31, 32, 33 and the
// capacity, for a power-of-two and another capacity, with values drawn from a few levels (many
// ties) and from the whole int8 range; every wrong index is refused.
func TestArgmaxMatchesNative(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	levels := []int8{-128, -1, 0, 5, 127}
	for _, capacity := range []int{64, 37} {
		for _, N := range []int{1, 2, 3, 31, 32, 33, capacity} {
			for k := range 4 {
				x := make([]int8, N)
				for i := range x {
					if k%2 == 0 {
						x[i] = levels[rng.IntN(len(levels))]
					} else {
						x[i] = int8(rng.IntN(256) - 128)
					}
				}
				amCheck(t, fmt.Sprintf("cap %d N %d draw %d", capacity, N, k), x, capacity, k == 0)
			}
		}
	}
}

// The extremes: an all-equal row (index 0) at -128 (the padding's own value, so a padding
// index must be refused by In alone), 0 and 127; the maximum first, last and tied at both ends.
func TestArgmaxExtremes(t *testing.T) {
	const capacity = 33
	for _, N := range []int{1, 2, 32, 33} {
		for _, v := range []int8{-128, 0, 127} {
			x := make([]int8, N)
			for i := range x {
				x[i] = v
			}
			amCheck(t, fmt.Sprintf("equal %d N %d", v, N), x, capacity, true)
		}
		x := make([]int8, N)
		for i := range x {
			x[i] = int8(-128 + i)
		}
		amCheck(t, fmt.Sprintf("rising N %d", N), x, capacity, true)
		for i := range x {
			x[i] = int8(127 - i)
		}
		amCheck(t, fmt.Sprintf("falling N %d", N), x, capacity, true)
		x[N-1] = 127
		amCheck(t, fmt.Sprintf("tied ends N %d", N), x, capacity, true)
	}
}

// A prover whose mask is not [t < idx] is refused: the honest mask of the true index under a
// wrong claimed index (only sum lt = idx catches it), a mask that steps back up, 1 0 1 0
// (count 2; only the step's booleanity catches it), and 0 -1 -1 -1, whose steps are one-hot
// twice (count -3; only the mask's booleanity catches it).
func TestArgmaxMaliciousHint(t *testing.T) {
	fixed := func(lt ...int64) func(*big.Int, []*big.Int, []*big.Int) error {
		return func(field *big.Int, _, out []*big.Int) error {
			for i := range out {
				out[i].SetInt64(0)
				if i < len(lt) {
					out[i].Mod(big.NewInt(lt[i]), field)
				}
			}
			return nil
		}
	}
	cases := []struct {
		name string
		x    []int8
		idx  int
		lt   []int64
	}{
		{"true mask", []int8{-28, -8, -98}, 0, []int64{1, 0, 0}},
		{"true mask, tie", []int8{7, 7, 7}, 2, []int64{0, 0, 0}},
		{"true mask, padding", []int8{7, 7, 7}, 3, []int64{0, 0, 0}},
		{"steps up", []int8{-128, -118, -128, -128}, 2, []int64{1, 0, 1, 0}},
		{"negative", []int8{-127, -127, -128, -128}, -3, []int64{0, -1, -1, -1}},
	}
	const capacity = 4
	ccs := smCompile(t, fmt.Sprint("argmax", capacity), newAm(capacity))
	for _, c := range cases {
		want := amNative(t, c.x)
		if err := smSolveCompiled(t, ccs, amAssign(c.x, capacity, want)); err != nil {
			t.Fatalf("%s: honest index %d refused: %v", c.name, want, err)
		}
		if smSolveCompiled(t, ccs, amAssign(c.x, capacity, c.idx), smOverride(prefixHint, fixed(c.lt...))) == nil {
			t.Errorf("%s: index %d (want %d) accepted", c.name, c.idx, want)
		}
	}
}

// TestArgmaxCost bounds the constraint counts quoted at the top of argmax.go (capacity 128):
// 12 per column plus a constant.
func TestArgmaxCost(t *testing.T) {
	n := smCompile(t, "argmax128", newAm(128)).GetNbConstraints()
	t.Logf("Argmax capacity 128: %d constraints", n)
	if n > 12*128+5 {
		t.Errorf("Argmax capacity 128: %d constraints, above 12 per column and 5", n)
	}
}
