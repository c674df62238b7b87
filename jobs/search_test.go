package jobs

import (
	"errors"
	"testing"

	"github.com/probitylabs/probity/commit"
	"github.com/probitylabs/probity/model"
)

// cheat is a provider's committed generation: it answers openings from its own trees.
type cheat struct {
	name   string
	gen    *Generated
	opener *Opener
}

func newCheat(t *testing.T, name string, c *Checked, tr *model.Trace, tokens []int32) *cheat {
	t.Helper()
	g, err := c.Commit(tr, tokens)
	if err != nil {
		t.Fatal(err)
	}
	o, err := NewOpener(c.Model, g)
	if err != nil {
		t.Fatal(err)
	}
	return &cheat{name: name, gen: g, opener: o}
}

// search runs a search against the cheat, answering every opening it asks for, until it names
// a fault or nothing; it returns the fault, the rounds and the openings it took.
func search(t *testing.T, c *Checked, honest *Generated, ch *cheat) (*Fault, int, int) {
	t.Helper()
	s, err := c.NewSearch(honest, ch.gen.TraceRoot, ch.gen.Tokens)
	if err != nil {
		t.Fatal(err)
	}
	opened := 0
	for round := 0; round < 200; round++ {
		f, asks, err := s.Next()
		if err != nil {
			t.Fatalf("%s: round %d: %v", ch.name, round, err)
		}
		if f != nil || len(asks) == 0 {
			return f, round, opened
		}
		for _, e := range asks {
			if err := e.Canonical(); err != nil || !e.IsData() {
				t.Fatalf("%s: asked %s: %v", ch.name, e, err)
			}
			o, err := ch.opener.Open(e)
			if err != nil {
				t.Fatalf("%s: open %s: %v", ch.name, e, err)
			}
			if err := s.Add(e, o); err != nil {
				t.Fatalf("%s: add %s: %v", ch.name, e, err)
			}
			opened++
		}
	}
	t.Fatalf("%s: the search did not end", ch.name)
	return nil, 0, 0
}

// refuted checks that element e's equation fails in the cheat's full trace: the op's
// recomputation over the committed operands differs exactly there, the input row is not the
// prompt's or the token's, or the token is not the selection.
func refuted(t *testing.T, c *Checked, ch *cheat, e Element) {
	t.Helper()
	tr, tokens := ch.gen.Trace, ch.gen.Tokens
	switch e.Kind {
	case ElementOp:
		p, err := model.Over(c.Model, tr)
		if err != nil {
			t.Fatal(err)
		}
		err = p.CheckRows(int(e.Op), int(e.Row), int(e.Row)+1)
		var me *model.MismatchError
		if !errors.As(err, &me) || me.Col != int(e.Col) {
			t.Fatalf("%s: %s holds in the committed trace (%v)", ch.name, e, err)
		}
	case ElementInput:
		if tr.Tensors[0].I32.Data[e.Row] == c.Job.inputID(int(e.Row), tokens) {
			t.Fatalf("%s: %s holds", ch.name, e)
		}
	case ElementToken:
		g, err := c.selected(tr.Output().I8, int(e.Row))
		if err != nil || g == tokens[e.Row] {
			t.Fatalf("%s: %s holds (%v)", ch.name, e, err)
		}
	default:
		t.Fatalf("%s: fault of kind %s", ch.name, e.Kind)
	}
}

// forced generates the job with token q forced to g; raise also edits logits row P-1+q so that
// it selects g (the targeted cheat recomputed consistently after it), else the logits stay
// honest and only the selection is wrong.
func forced(t *testing.T, c *Checked, q int, g int32, raise bool) (*model.Trace, []int32) {
	t.Helper()
	m, j, V := c.Model, c.Job, c.Vocab
	P, T := len(j.Prompt), j.Rows()
	p, err := model.NewPass(m, T)
	if err != nil {
		t.Fatal(err)
	}
	ids := p.Input().I32.Data
	copy(ids, j.Prompt)
	logits := p.Tensor(len(m.Ops)).I8
	tokens := make([]int32, j.New)
	for s := range j.New {
		if err := p.Extend(P + s); err != nil {
			t.Fatal(err)
		}
		row := logits.Data[(P-1+s)*V : (P+s)*V]
		if s == q && raise {
			row[g] = 127
			for k := range row {
				if int32(k) != g && row[k] == 127 {
					row[k] = 126
				}
			}
		}
		if tokens[s], err = j.selectRow(row, s); err != nil {
			t.Fatal(err)
		}
		if s == q {
			tokens[s] = g
		}
		if s+1 < j.New {
			ids[P+s] = tokens[s]
		}
	}
	return p.Trace(), tokens
}

// Every kind of cheat whose trace is withheld is found from openings alone: the fault named
// fails in the committed trace, so its challenge cannot be answered.
func TestSearchFindsFaultsOfWithheldTraces(t *testing.T) {
	c, htr, htokens := generated(t, false)
	honest, err := c.Commit(htr, htokens)
	if err != nil {
		t.Fatal(err)
	}
	T, P, L := htr.T, len(c.Job.Prompt), len(c.Model.Ops)
	other := func(g int32) int32 { return (g + 1) % int32(c.Vocab) }
	var cheats []*cheat
	{ // the node's "answer" cheat: one element of the last logits row and the last token
		tr, tokens := htr.Clone(), append([]int32(nil), htokens...)
		n := len(tokens) - 1
		g := other(tokens[n])
		row := tr.Output().I8.Data[(T-1)*c.Vocab : T*c.Vocab]
		row[g] = 127
		for k := range row {
			if int32(k) != g && row[k] == 127 {
				row[k] = 126
			}
		}
		tokens[n] = g
		cheats = append(cheats, newCheat(t, "last logits row", c, tr, tokens))
	}
	{ // lazy: every activation off by one, the tokens kept
		tr := htr.Clone()
		for _, v := range tr.Tensors[1:] {
			if v.I8 != nil {
				for i := range v.I8.Data {
					v.I8.Data[i] ^= 1
				}
			}
		}
		cheats = append(cheats, newCheat(t, "lazy", c, tr, htokens))
	}
	{ // one element in the middle of the model, nothing recomputed after it
		tr := htr.Clone()
		u := L / 2
		for tr.Tensors[u+1].I8 == nil {
			u++
		}
		bump(&tr.Tensors[u+1].I8.Data[2*tr.Tensors[u+1].I8.Shape[1]+1])
		cheats = append(cheats, newCheat(t, "middle element", c, tr, htokens))
	}
	{ // a prompt token changed
		tr := htr.Clone()
		tr.Tensors[0].I32.Data[1] = other(tr.Tensors[0].I32.Data[1])
		cheats = append(cheats, newCheat(t, "prompt row", c, tr, htokens))
	}
	{ // a fed-back input row that is not the token
		tr := htr.Clone()
		tr.Tensors[0].I32.Data[P] = other(tr.Tensors[0].I32.Data[P])
		cheats = append(cheats, newCheat(t, "fed-back row", c, tr, htokens))
	}
	{ // only the result's tokens are wrong: the trace is honest
		tokens := append([]int32(nil), htokens...)
		tokens[0] = other(tokens[0])
		cheats = append(cheats, newCheat(t, "tokens only", c, htr, tokens))
	}
	for _, raise := range []bool{false, true} {
		// token 1 forced, the rest generated consistently from it: with raise the logits row
		// was edited to select it (one element), without it the selection itself is wrong
		tr, tokens := forced(t, c, 1, other(htokens[1]), raise)
		name := "forced token"
		if raise {
			name = "raised logits, consistent after"
		}
		cheats = append(cheats, newCheat(t, name, c, tr, tokens))
	}
	for _, ch := range cheats {
		f, rounds, opened := search(t, c, honest, ch)
		if f == nil {
			t.Fatalf("%s: no fault found", ch.name)
		}
		refuted(t, c, ch, f.Element)
		t.Logf("%-32s %-28s %d rounds, %d openings: %s", ch.name, f.Element, rounds, opened, f.Reason)
	}
}

// The honest trace needs no opening and has no fault; a commitment that differs only where no
// proof reads (the column root of a tensor read by rows only) has no fault either.
func TestSearchHonest(t *testing.T) {
	c, htr, htokens := generated(t, false)
	honest, err := c.Commit(htr, htokens)
	if err != nil {
		t.Fatal(err)
	}
	s, err := c.NewSearch(honest, honest.TraceRoot, htokens)
	if err != nil {
		t.Fatal(err)
	}
	if f, asks, err := s.Next(); f != nil || len(asks) != 0 || err != nil {
		t.Fatalf("honest trace: fault %v, asks %v, %v", f, asks, err)
	}
	if _, err := c.NewSearch(honest, honest.TraceRoot, htokens[1:]); !errors.Is(err, model.ErrMismatch) {
		t.Fatalf("short tokens: %v", err)
	}
}

// A provider whose values tensor's column tree disagrees with its rows at one position is
// found by the column openings, and the fault is the P·V tie at that position.
func TestSearchFindsAColumnTreeThatDisagreesWithItsRows(t *testing.T) {
	c, htr, htokens := generated(t, false)
	honest, err := c.Commit(htr, htokens)
	if err != nil {
		t.Fatal(err)
	}
	ch := newCheat(t, "column tree", c, htr, htokens)
	b := -1
	for id, tt := range ch.opener.trees {
		if tt.Col != nil {
			b = id
			break
		}
	}
	if b < 0 {
		t.Skip("the test model has no P·V matmul")
	}
	// Recommit tensor b's columns with one entry changed, and the trace root over it.
	x := htr.Tensors[b].I8
	bt := transpose(x)
	p, j := 2, 1
	bump(&bt.Data[j*htr.T+p])
	ct, err := commit.CommitActivations(bt, commit.LayerDepth(bt.Shape[0]))
	if err != nil {
		t.Fatal(err)
	}
	ch.opener.trees[b].Col, ch.opener.trees[b].Roots.Col = ct, ct.Root()
	roots := make([]TensorRoots, len(ch.opener.trees))
	for id, tt := range ch.opener.trees {
		roots[id] = tt.Roots
	}
	fake := *ch.gen
	fake.Roots = roots
	fake.TraceRoot = TraceRoot(fake.JobDigest, htr.T, roots)
	ch.gen = &fake
	ch.opener.gen = &fake
	f, rounds, opened := search(t, c, honest, ch)
	if f == nil {
		t.Fatal("no fault found")
	}
	u := -1
	for k := range c.Model.Ops {
		if op := &c.Model.Ops[k]; op.Kind == model.KindMatmul && !op.TransB && op.In[1] == b {
			u = k
			break
		}
	}
	if want := (Element{Kind: ElementOp, Op: uint32(u), Row: uint32(p), Col: uint32(j)}); f.Element != want {
		t.Fatalf("fault %s (%s), want the tie %s", f.Element, f.Reason, want)
	}
	t.Logf("%d rounds, %d openings: %s", rounds, opened, f.Reason)
}

// One element of any op's result falsified, at any row, with nothing recomputed after it: the
// search names a fault that fails, in a handful of openings.
func TestSearchFindsEveryFalsifiedOp(t *testing.T) {
	c, htr, htokens := generated(t, false)
	honest, err := c.Commit(htr, htokens)
	if err != nil {
		t.Fatal(err)
	}
	most := 0
	for u := range c.Model.Ops {
		for _, i := range []int{0, htr.T / 2, htr.T - 1} {
			tr := htr.Clone()
			v := tr.Tensors[u+1]
			if v.I32 != nil {
				v.I32.Data[i] = (v.I32.Data[i] + 1) % int32(c.Vocab)
			} else {
				w := v.I8.Shape[1]
				bump(&v.I8.Data[i*w+(i*7)%w])
			}
			ch := newCheat(t, "op", c, tr, htokens)
			f, _, opened := search(t, c, honest, ch)
			if f == nil {
				t.Fatalf("op %d row %d: no fault found", u, i)
			}
			refuted(t, c, ch, f.Element)
			most = max(most, opened)
		}
	}
	t.Logf("at most %d openings", most)
}
