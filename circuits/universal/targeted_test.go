package universal

import (
	"fmt"
	"testing"

	"github.com/consensys/gnark-crypto/ecc"
	"github.com/consensys/gnark/test"

	"github.com/probitylabs/probity/model"
)

func solveTargeted(t *testing.T, cl *Class, st *Statement, ch Challenge) error {
	t.Helper()
	jd, err := st.Job.Digest()
	if err != nil {
		t.Fatal(err)
	}
	a, err := AssignTargeted(cl, st.Model, st.Trace, jd, ch)
	if err != nil {
		t.Fatal(err)
	}
	return test.IsSolved(NewTargeted(cl), a, ecc.BN254.ScalarField())
}

// A targeted proof exists for an element of every op of a model with every kind, at the
// corners of its result (first and last row and column), and none once that element is
// falsified (the trace then committed honestly).
func TestTargetedEveryOp(t *testing.T) {
	cl := testClass()
	base := everyKindStatement(t, 11)
	for u := range base.Model.Ops {
		v := base.Trace.Tensors[u+1]
		rows, cols := base.Trace.T, 1
		if v.I8 != nil {
			cols = v.I8.Shape[1]
		}
		for _, e := range [][2]int{{0, 0}, {rows - 1, cols - 1}, {rows / 2, cols / 3}} {
			ch := Challenge{Op: u, Row: e[0], Col: e[1]}
			name := fmt.Sprintf("op%d-%s-%d-%d", u, base.Model.Ops[u].Kind, e[0], e[1])
			t.Run(name, func(t *testing.T) {
				st := everyKindStatement(t, 11)
				if err := solveTargeted(t, cl, st, ch); err != nil {
					t.Fatalf("honest element refused: %v", err)
				}
				v := st.Trace.Tensors[u+1]
				if v.I32 != nil {
					v.I32.Data[ch.Row] ^= 1
				} else {
					x := &v.I8.Data[ch.Row*cols+ch.Col]
					if *x == 127 {
						*x--
					} else {
						*x++
					}
				}
				if err := solveTargeted(t, cl, st, ch); err == nil {
					t.Fatal("falsified element answered")
				}
			})
		}
	}
}

// A challenge outside the trace is refused by the witness builder, and the circuit refuses a
// named element outside the op's result even when the prover tries (row T, column w).
func TestTargetedOutOfRange(t *testing.T) {
	cl := testClass()
	st := everyKindStatement(t, 11)
	jd, _ := st.Job.Digest()
	for _, ch := range []Challenge{{-1, 0, 0}, {len(st.Model.Ops), 0, 0}, {0, st.Trace.T, 0}, {0, 0, 4}} {
		if _, err := AssignTargeted(cl, st.Model, st.Trace, jd, ch); err == nil {
			t.Fatalf("challenge %+v accepted", ch)
		}
	}
	a, err := AssignTargeted(cl, st.Model, st.Trace, jd, Challenge{Op: 0, Row: 1, Col: 3})
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []func(a *Targeted){
		func(a *Targeted) { a.Col = 4 },          // embed result has 4 columns
		func(a *Targeted) { a.Row = st.Trace.T }, // T rows
	} {
		b := *a
		bad(&b)
		if err := test.IsSolved(NewTargeted(cl), &b, ecc.BN254.ScalarField()); err == nil {
			t.Fatal("element outside the result accepted")
		}
	}
	if k := st.Model.Ops[0].Kind; k != model.KindEmbed {
		t.Fatalf("op 0 is %s", k)
	}
}
