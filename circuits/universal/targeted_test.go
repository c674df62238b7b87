package universal

import (
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"math/big"
	"path/filepath"
	"sync"
	"testing"

	"github.com/consensys/gnark-crypto/ecc"
	"github.com/consensys/gnark/constraint"
	"github.com/consensys/gnark/constraint/solver"
	"github.com/consensys/gnark/frontend"
	"github.com/consensys/gnark/frontend/cs/r1cs"

	"github.com/ethereum/go-ethereum/crypto"

	"github.com/probitylabs/probity/circuits"
	"github.com/probitylabs/probity/jobs"
)

// targetedCCS is the test class's targeted circuit, compiled once for the tests that override
// a hint.
var targetedCCS = sync.OnceValues(func() (constraint.ConstraintSystem, error) {
	return frontend.Compile(ecc.BN254.ScalarField(), r1cs.NewBuilder, NewTargeted(testClass()))
})

// solveT solves a test-class targeted assignment against the compiled circuit.
func solveT(t *testing.T, a *Targeted, opts ...solver.Option) error {
	t.Helper()
	ccs, err := targetedCCS()
	if err != nil {
		t.Fatal(err)
	}
	w, err := frontend.NewWitness(a, ecc.BN254.ScalarField())
	if err != nil {
		t.Fatal(err)
	}
	return ccs.IsSolved(w, opts...)
}

func assignT(t *testing.T, cl *Class, st *Statement, e jobs.Element) *Targeted {
	t.Helper()
	a, err := AssignTargeted(cl, st.Model, st.Trace, st.Job, st.Tokens, e)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func opElement(u, i, j int) jobs.Element {
	return jobs.Element{Kind: jobs.ElementOp, Op: uint32(u), Row: uint32(i), Col: uint32(j)}
}

// bump changes an int8 by one, staying in range.
func bump(x *int8) {
	if *x == 127 {
		*x--
	} else {
		*x++
	}
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
		for _, c := range [][2]int{{0, 0}, {rows - 1, cols - 1}, {rows / 2, cols / 3}} {
			e := opElement(u, c[0], c[1])
			name := fmt.Sprintf("op%d-%s-%d-%d", u, base.Model.Ops[u].Kind, c[0], c[1])
			t.Run(name, func(t *testing.T) {
				st := everyKindStatement(t, 11)
				if err := solveT(t, assignT(t, cl, st, e)); err != nil {
					t.Fatalf("honest element refused: %v", err)
				}
				v := st.Trace.Tensors[u+1]
				if v.I32 != nil {
					v.I32.Data[c[0]] ^= 1
				} else {
					bump(&v.I8.Data[c[0]*cols+c[1]])
				}
				if err := solveT(t, assignT(t, cl, st, e)); err == nil {
					t.Fatal("falsified element answered")
				}
			})
		}
	}
}

// Input rows (kind 1): a prompt row and generated rows are answered; a falsified input row
// (the trace committed with it) is refused, in the prompt and past it.
func TestTargetedInputRows(t *testing.T) {
	cl := testClass()
	base := everyKindStatement(t, 11)
	P, T := len(base.Job.Prompt), base.Trace.T
	for _, r := range []int{0, P - 1, P, T - 1} {
		e := jobs.Element{Kind: jobs.ElementInput, Row: uint32(r)}
		t.Run(fmt.Sprintf("row%d", r), func(t *testing.T) {
			st := everyKindStatement(t, 11)
			if err := solveT(t, assignT(t, cl, st, e)); err != nil {
				t.Fatalf("honest input row refused: %v", err)
			}
			in := st.Trace.Tensors[0].I32
			in.Data[r] = (in.Data[r] + 1) % 6
			if err := solveT(t, assignT(t, cl, st, e)); err == nil {
				t.Fatal("falsified input row answered")
			}
		})
	}
}

// Selected tokens (kind 2): every step is answered; a wrong token (the result digest over it,
// the trace honest) is refused, also the last one, which no tensor holds.
func TestTargetedTokens(t *testing.T) {
	cl := testClass()
	base := everyKindStatement(t, 11)
	for q := range base.Job.New {
		e := jobs.Element{Kind: jobs.ElementToken, Row: uint32(q)}
		t.Run(fmt.Sprintf("step%d", q), func(t *testing.T) {
			st := everyKindStatement(t, 11)
			if err := solveT(t, assignT(t, cl, st, e)); err != nil {
				t.Fatalf("honest token refused: %v", err)
			}
			st.Tokens = append([]int32{}, st.Tokens...)
			st.Tokens[q] = (st.Tokens[q] + 1) % 6
			if err := solveT(t, assignT(t, cl, st, e)); err == nil {
				t.Fatal("wrong token answered")
			}
		})
	}
}

// vacuousElements are elements that name nothing in the every-kind job (L ops, T rows, n
// steps; op 0, the embed, has 4 columns), with 32-bit extremes.
func vacuousElements(st *Statement) map[string]jobs.Element {
	L, T, n := uint32(len(st.Model.Ops)), uint32(st.Trace.T), uint32(st.Job.New)
	top := uint32(math.MaxUint32)
	return map[string]jobs.Element{
		"kind 3":                 {Kind: jobs.ElementNone},
		"kind 3 with fields":     {Kind: jobs.ElementNone, Op: 1, Row: 2, Col: 3},
		"kind 3 max":             {Kind: jobs.ElementNone, Op: top, Row: top, Col: top},
		"op L":                   opElement(int(L), 0, 0),
		"op 2^32-1":              {Kind: jobs.ElementOp, Op: top},
		"op row T":               opElement(0, int(T), 0),
		"op row 2^32-1":          {Kind: jobs.ElementOp, Row: top},
		"op column w":            opElement(0, 0, 4),
		"op column 2^32-1":       {Kind: jobs.ElementOp, Col: top},
		"last op column w":       opElement(int(L-1), 1, 6),
		"input row T":            {Kind: jobs.ElementInput, Row: T},
		"input row 2^32-1":       {Kind: jobs.ElementInput, Row: top},
		"token n":                {Kind: jobs.ElementToken, Row: n},
		"token 2^32-1":           {Kind: jobs.ElementToken, Row: top},
		"non-canonical input":    {Kind: jobs.ElementInput, Op: 9, Row: T, Col: 9},
		"non-canonical token":    {Kind: jobs.ElementToken, Op: top, Row: n + 1, Col: 1},
		"op L, row T, column 2w": {Kind: jobs.ElementOp, Op: L, Row: T, Col: 8},
	}
}

// Every element that names nothing is answered by the honest provider (every slot off): the
// contract cannot tell it from a real one, so its challenger must lose. Also for a job whose
// trace is falsified elsewhere: vacuity needs nothing of the trace.
func TestTargetedVacuous(t *testing.T) {
	cl := testClass()
	st := everyKindStatement(t, 11)
	bad := everyKindStatement(t, 11)
	bump(&bad.Trace.Tensors[3].I8.Data[0])
	for name, e := range vacuousElements(st) {
		t.Run(name, func(t *testing.T) {
			if err := solveT(t, assignT(t, cl, st, e)); err != nil {
				t.Fatalf("vacuous element refused: %v", err)
			}
			if err := solveT(t, assignT(t, cl, bad, e)); err != nil {
				t.Fatalf("vacuous element refused for a falsified trace: %v", err)
			}
		})
	}
}

// A word of 2^98 or more (a data element's, or kind 7) is unprovable: the element's 98-bit
// decomposition refuses it, even with every slot off and the low 98 bits naming nothing.
func TestTargetedWordTooLarge(t *testing.T) {
	st := everyKindStatement(t, 11)
	for _, w := range []*big.Int{
		new(big.Int).Lsh(big.NewInt(1), 98),
		new(big.Int).Add(new(big.Int).Lsh(big.NewInt(1), 98), jobs.Element{Kind: jobs.ElementNone}.Word()),
		new(big.Int).Lsh(big.NewInt(7), 96), // kind 7
	} {
		a := assignT(t, testClass(), st, jobs.Element{Kind: jobs.ElementNone})
		a.Element = w
		if solveT(t, a) == nil {
			t.Fatalf("word %s answered", w)
		}
		// Such a word has a kind of 4 or more: a data element (answered by an opening, never a
		// proof) or, kind 7, no element a challenge may name.
		if e, err := jobs.ParseElement(w); err != nil || e.Kind <= jobs.ElementNone {
			t.Fatalf("jobs.ParseElement(%s): %s, %v", w, e, err)
		}
	}
	if _, err := AssignTargeted(testClass(), st.Model, st.Trace, st.Job, st.Tokens, jobs.Element{Kind: 4}); !errors.Is(err, jobs.ErrElement) {
		t.Fatalf("kind 4 assigned: %v", err)
	}
}

// A falsified real element cannot be answered as a vacuous one: the witness of every slot off
// (the assignment of a vacuous element: op u past its rows, or kind 3) under the real
// element's word is refused, and so is each lie that would make the element look absent: a
// smaller T, L or n, another width, the kind's bits, or a comparison's bits.
func TestTargetedNoFalseVacuity(t *testing.T) {
	cl := testClass()
	st := everyKindStatement(t, 11)
	const u, i, j = 2, 6, 2 // the add, last row; i - T, j - w, u - L all differ
	bump(&st.Trace.Tensors[u+1].I8.Data[i*4+j])
	st.Tokens = append([]int32{}, st.Tokens...)
	last := st.Job.New - 1
	st.Tokens[last] = (st.Tokens[last] + 1) % 6
	T, n, L := st.Trace.T, st.Job.New, len(st.Model.Ops)
	in := st.Trace.Tensors[0].I32
	in.Data[T-1] = (in.Data[T-1] + 1) % 6
	named := []jobs.Element{opElement(u, i, j), {Kind: jobs.ElementInput, Row: uint32(T - 1)}, {Kind: jobs.ElementToken, Row: uint32(last)}}
	// off is the all-off witness under e's word: op e.Op's descriptor opened for an op element.
	off := func(t *testing.T, e jobs.Element) *Targeted {
		v := jobs.Element{Kind: jobs.ElementNone}
		if e.Kind == jobs.ElementOp {
			v = jobs.Element{Kind: jobs.ElementOp, Op: e.Op, Row: uint32(T)}
		}
		a := assignT(t, cl, st, v)
		a.Element = e.Word()
		return a
	}
	for _, e := range named {
		if solveT(t, assignT(t, cl, st, e)) == nil {
			t.Fatalf("falsified %+v answered", e)
		}
		lies := map[string]func(a *Targeted){
			"slots off":          func(a *Targeted) {},
			"T = the row":        func(a *Targeted) { a.T = int(e.Row) },
			"n = the step":       func(a *Targeted) { a.New, a.T = int(e.Row), int(e.Row)+len(st.Job.Prompt)-1 },
			"L = the op":         func(a *Targeted) { a.L = u },
			"width = the column": func(a *Targeted) { a.Target.Desc[2] = j },
		}
		for name, lie := range lies {
			t.Run(fmt.Sprintf("%s/%s", e.Kind, name), func(t *testing.T) {
				a := off(t, e)
				lie(a)
				if solveT(t, a) == nil {
					t.Fatal("falsified element answered as vacuous")
				}
			})
		}
		// The kind's bits (the 98-bit decomposition) say kind 3: the word fixes them.
		t.Run(fmt.Sprintf("%s/kind bits", e.Kind), func(t *testing.T) {
			w := e.Word()
			lie := new(big.Int).Or(w, new(big.Int).Lsh(big.NewInt(3), 96))
			if solveT(t, off(t, e), lyingBits(t, jobs.ElementBits, w, lie)) == nil {
				t.Fatal("lying kind bits accepted")
			}
		})
	}
	// The comparisons' bits say the element is past its bound: each compares a - b + 2^32 in
	// 33 bits, a value no other comparison of the witness has; the lie sets the top bit (a >= b).
	two32 := new(big.Int).Lsh(big.NewInt(1), 32)
	for name, c := range map[string]struct {
		e    jobs.Element
		a, b int
	}{
		"op < L":         {named[0], u, L},
		"row < T":        {named[0], i, T},
		"column < w":     {named[0], j, 4},
		"input row < T":  {named[1], T - 1, T},
		"token step < n": {named[2], last, n},
	} {
		t.Run("comparison "+name, func(t *testing.T) {
			a := off(t, c.e)
			if name == "op < L" {
				a = off(t, jobs.Element{Kind: jobs.ElementNone}) // u >= L opens op 0
				a.Element = c.e.Word()
			}
			v := new(big.Int).Add(big.NewInt(int64(c.a-c.b)), two32)
			if solveT(t, a, lyingBits(t, 33, v, new(big.Int).Add(v, two32))) == nil {
				t.Fatal("lying comparison accepted")
			}
		})
	}
}

// An answer about another input row than the one named: a falsified input row a is answered
// with the opening of row b, which holds what row a should (the row's bits lie, b for a).
func TestTargetedInputOtherRow(t *testing.T) {
	cl := testClass()
	st := everyKindStatement(t, 11)
	P, T := len(st.Job.Prompt), st.Trace.T
	in := st.Trace.Tensors[0].I32.Data
	ra, rb := -1, -1
	for a := range T {
		for b := range T {
			// row a's bits are decomposed once: not 0 (the off op slots' rows) nor P - 1 (the off
			// select slot's logits row)
			if a != b && a != 0 && a != P-1 && in[a] == in[b] && ra < 0 {
				ra, rb = a, b
			}
		}
	}
	if ra < 0 {
		t.Fatal("no two input rows agree: pick another seed")
	}
	st.Trace.Tensors[0].I32.Data[ra] = (in[ra] + 1) % 6
	a := assignT(t, cl, st, jobs.Element{Kind: jobs.ElementInput, Row: uint32(rb)})
	if err := solveT(t, a); err != nil {
		t.Fatalf("honest row %d refused: %v", rb, err)
	}
	a.Element = jobs.Element{Kind: jobs.ElementInput, Row: uint32(ra)}.Word()
	if solveT(t, a, lyingBits(t, cl.RowDepth, big.NewInt(int64(ra)), big.NewInt(int64(rb)))) == nil {
		t.Fatal("accepted")
	}
}

// The targeted circuit's identifier names its version, so the key cache never serves it the
// keys of version 1 (-targeted) or of the sampled circuit.
func TestTargetedIdentifier(t *testing.T) {
	cl := Small()
	tc := TargetedClass{cl}
	if got, want := tc.String(), cl.String()+"-targeted-v3"; got != want {
		t.Fatalf("String %q, want %q", got, want)
	}
	if tc.ID() != crypto.Keccak256Hash([]byte(tc.String())) {
		t.Fatal("ID is not keccak256(String())")
	}
	cache := circuits.Cache{Dir: t.TempDir()}
	v1 := crypto.Keccak256Hash([]byte(cl.String() + "-targeted"))
	if d := cache.EntryDir(tc); d == cache.EntryDir(cl) || filepath.Base(d) == hex.EncodeToString(v1[:]) {
		t.Fatalf("the targeted cache entry %s is the sampled circuit's or version 1's", d)
	}
}
