package jobs

import (
	"errors"
	"fmt"
	"testing"

	"github.com/probitylabs/probity/model"
)

// bump changes one int8 by one, staying in range.
func bump(x *int8) {
	if *x == 127 {
		*x--
	} else {
		*x++
	}
}

func generated(t *testing.T, sample bool) (*Checked, *model.Trace, []int32) {
	t.Helper()
	m := testModel(t)
	c := mustCheck(t, m, testJob(t, m, sample))
	tr, tokens, err := c.Generate()
	if err != nil {
		t.Fatal(err)
	}
	return c, tr, tokens
}

func wantFault(t *testing.T, c *Checked, tr *model.Trace, tokens []int32, want Element) {
	t.Helper()
	f, err := c.FindFault(tr, tokens)
	if err != nil {
		t.Fatal(err)
	}
	if f == nil {
		t.Fatalf("no fault found, want %s", want)
	}
	if f.Element != want {
		t.Fatalf("fault %s (%s), want %s", f.Element, f.Reason, want)
	}
}

// An honest trace has no fault, with either selection.
func TestFindFaultHonest(t *testing.T) {
	for _, sample := range []bool{false, true} {
		c, tr, tokens := generated(t, sample)
		if f, err := c.FindFault(tr, tokens); err != nil || f != nil {
			t.Fatalf("sample %v: honest trace: fault %+v, err %v", sample, f, err)
		}
	}
}

// One element falsified anywhere (every op, first, middle and last row, a corner column) is
// the fault found, whatever the later elements it breaks.
func TestFindFaultNamesTheFalsifiedElement(t *testing.T) {
	c, honest, tokens := generated(t, false)
	T := honest.T
	for u := range c.Model.Ops {
		for _, r := range []int{0, T / 2, T - 1} {
			tr := honest.Clone()
			v := tr.Tensors[u+1]
			e := Element{Kind: ElementOp, Op: uint32(u), Row: uint32(r)}
			if v.I32 != nil {
				v.I32.Data[r] ^= 1
			} else {
				w := v.I8.Shape[1]
				col := (r * 7) % w
				e.Col = uint32(col)
				bump(&v.I8.Data[r*w+col])
			}
			t.Run(fmt.Sprintf("op%d-%s-row%d", u, c.Model.Ops[u].Kind, r), func(t *testing.T) {
				wantFault(t, c, tr, tokens, e)
			})
		}
	}
}

// The targeted cheat: one element of one op falsified in the last row and every later op and
// the last token recomputed from it, so the trace is consistent everywhere else (sampling
// misses it with probability close to 1). The fault is that one element.
func TestFindFaultTargetedCheat(t *testing.T) {
	c, honest, tokens := generated(t, false)
	m, T := c.Model, honest.T
	caught := 0
	for u := range m.Ops {
		v := honest.Tensors[u+1]
		if v.I8 == nil {
			continue
		}
		tr := honest.Clone()
		w := v.I8.Shape[1]
		col := w - 1
		bump(&tr.Tensors[u+1].I8.Data[(T-1)*w+col])
		got := append([]int32(nil), tokens...)
		repairAfter(t, m, tr, u)
		V := c.Vocab
		g, err := c.Job.selectRow(tr.Output().I8.Data[(T-1)*V:T*V], len(got)-1)
		if err != nil {
			t.Fatal(err)
		}
		got[len(got)-1] = g
		wantFault(t, c, tr, got, Element{Kind: ElementOp, Op: uint32(u), Row: uint32(T - 1), Col: uint32(col)})
		if g != tokens[len(tokens)-1] {
			caught++ // the falsification changed the answer
		}
	}
	t.Logf("%d of %d one-step falsifications changed the last token", caught, len(m.Ops))

	// The cheat that pays: the last logits row's element of another token raised to 127, so
	// the answer changes, and the token with it.
	tr := honest.Clone()
	V, last := c.Vocab, len(m.Ops)-1
	want := (tokens[len(tokens)-1] + 1) % int32(V)
	row := tr.Output().I8.Data[(T-1)*V : T*V]
	for j := range row {
		row[j] = min(row[j], 126)
	}
	row[want] = 127
	first := 0
	for honest.Output().I8.Data[(T-1)*V+first] == row[first] {
		first++
	}
	got := append([]int32(nil), tokens...)
	got[len(got)-1] = want
	wantFault(t, c, tr, got, Element{Kind: ElementOp, Op: uint32(last), Row: uint32(T - 1), Col: uint32(first)})
}

// A wrong token or a wrong fed-back input row, with everything else honest, is its own fault.
func TestFindFaultTokensAndInput(t *testing.T) {
	c, tr, tokens := generated(t, false)
	P := len(c.Job.Prompt)
	bad := append([]int32(nil), tokens...)
	bad[len(bad)-1] = (bad[len(bad)-1] + 1) % int32(c.Vocab)
	wantFault(t, c, tr, bad, Element{Kind: ElementToken, Row: uint32(len(bad) - 1)})

	in := tr.Clone()
	in.Tensors[0].I32.Data[1] ^= 1
	wantFault(t, c, in, tokens, Element{Kind: ElementInput, Row: 1})

	// Token 0 changed and fed back consistently: the token is the fault, not the input row
	// after it.
	fed := tr.Clone()
	bad = append([]int32(nil), tokens...)
	bad[0] = (bad[0] + 1) % int32(c.Vocab)
	fed.Tensors[0].I32.Data[P] = bad[0]
	wantFault(t, c, fed, bad, Element{Kind: ElementToken, Row: 0})
}

// A trace or result of another shape cannot be checked element by element.
func TestFindFaultRefusesOtherShapes(t *testing.T) {
	c, tr, tokens := generated(t, false)
	if _, err := c.FindFault(tr, tokens[1:]); !errors.Is(err, model.ErrMismatch) {
		t.Fatalf("short result: %v", err)
	}
	short := tr.Clone()
	short.T--
	if _, err := c.FindFault(short, tokens); !errors.Is(err, model.ErrMismatch) {
		t.Fatalf("short trace: %v", err)
	}
}

// repairAfter recomputes every op after op u from the trace's own operands, as a cheater
// that keeps its trace consistent downstream of a falsified element would.
func repairAfter(t *testing.T, m *model.Model, tr *model.Trace, u int) {
	t.Helper()
	p, err := model.Over(m, tr)
	if err != nil {
		t.Fatal(err)
	}
	for i := u + 1; i < len(m.Ops); i++ {
		for {
			err := p.CheckRows(i, 0, tr.T)
			var me *model.MismatchError
			if !errors.As(err, &me) {
				if err != nil {
					t.Fatal(err)
				}
				break
			}
			v := tr.Tensors[i+1]
			if v.I32 != nil {
				v.I32.Data[me.Row] = me.Want
			} else {
				v.I8.Data[me.Row*v.I8.Shape[1]+me.Col] = int8(me.Want)
			}
		}
	}
}
