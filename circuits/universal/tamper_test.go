package universal

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/probitylabs/probity/commit"
	"github.com/probitylabs/probity/jobs"
	"github.com/probitylabs/probity/model"
	"github.com/probitylabs/probity/tensor"
)

// everyKindStatement is a generation job of a model with every op kind (the dummy graph with
// random parameters and a logits linear), so that no slot of the class is off.
func everyKindStatement(t testing.TB, seed uint64) *Statement { return everyKindRows(t, seed, 16) }

// everyKindRows is everyKindStatement with a position table of the given rows.
func everyKindRows(t testing.TB, seed uint64, rows int) *Statement {
	t.Helper()
	const vocab, T = 6, 7
	m := allKinds(rows, vocab)
	r := rand.New(rand.NewPCG(seed, 3))
	for i := range m.Ops {
		op := &m.Ops[i]
		if op.Weight != nil {
			for k := range op.Weight.Data {
				op.Weight.Data[k] = int8(r.IntN(200) - 100)
			}
		}
		if op.Bias != nil {
			for k := range op.Bias.Data {
				op.Bias.Data[k] = int32(r.IntN(2001) - 1000)
			}
		}
		if op.Kind == model.KindLinear {
			for k := range op.Scales.Data {
				op.Scales.Data[k] = int32(1<<30 + r.IntN(1<<29))
			}
		}
	}
	last := len(m.Ops) // the P·V result
	ms := tensor.NewInt32(vocab)
	for k := range ms.Data {
		ms.Data[k] = 1 << 31 / 3
	}
	w := tensor.NewInt8(vocab, 4)
	for k := range w.Data {
		w.Data[k] = int8(r.IntN(255) - 127)
	}
	m.Ops = append(m.Ops, model.Op{Kind: model.KindLinear, Name: "logits", In: []int{last - 1}, Weight: w,
		Bias: tensor.NewInt32(vocab), Scales: ms, Epilogue: m.Ops[5].Epilogue})
	root, err := m.Root()
	if err != nil {
		t.Fatal(err)
	}
	j := &jobs.GenJob{ModelRoot: root, Prompt: []int32{1, 2, 3}, New: T - 2}
	tr, tokens, err := jobs.Generate(m, j)
	if err != nil {
		t.Fatal(err)
	}
	return &Statement{Model: m, Job: j, Trace: tr, Tokens: tokens, Seed: commit.Uint(seed)}
}

func TestEveryKindSolves(t *testing.T) {
	st := everyKindStatement(t, 11)
	n := st.Model.KindCounts()
	for k := 1; k <= model.NumKinds; k++ {
		if n[k] == 0 {
			t.Fatalf("kind %s missing from the test model", model.Kind(k))
		}
	}
	if err := solve(t, testClass(), st); err != nil {
		t.Fatal(err)
	}
}

// Falsifying the element a slot samples, with the trace then committed honestly, is caught:
// for every slot of every kind, on models with and without the kind's neighbours.
func TestFalsifiedSampleCaught(t *testing.T) {
	for _, mk := range []struct {
		name string
		st   func() *Statement
	}{{"decoder", func() *Statement { return tinyStatement(t, 7) }}, {"every-kind", func() *Statement { return everyKindStatement(t, 11) }}} {
		base := mk.st()
		n := base.Model.KindCounts()
		cl := testClass()
		for k := 1; k <= model.NumKinds; k++ {
			if n[k] == 0 {
				continue
			}
			for si := range cl.Slots[k] {
				t.Run(fmt.Sprintf("%s/%s/%d", mk.name, model.Kind(k), si), func(t *testing.T) {
					st := mk.st()
					u, i, j := drawnElement(t, st, model.Kind(k), si)
					v := st.Trace.Tensors[u+1]
					if v.I32 != nil {
						v.I32.Data[i] ^= 1
					} else {
						w := v.I8.Shape[1]
						x := &v.I8.Data[i*w+j]
						if *x == 127 {
							*x--
						} else {
							*x++
						}
					}
					if err := solve(t, cl, st); err == nil {
						t.Fatalf("op %d (%s) element (%d, %d) falsified and accepted", u, model.Kind(k), i, j)
					}
				})
			}
		}
	}
}

// drawnElement is the op, row and column that slot si of kind k samples.
func drawnElement(t *testing.T, st *Statement, k model.Kind, si int) (u, i, j int) {
	src, err := newSource(st.Model, st.Trace)
	if err != nil {
		t.Fatal(err)
	}
	x := slotWords(st.Seed, int(k), si)
	u = src.opOfRank(k, mod(x[0], src.counts[k]))
	w := src.width(int(src.descs[u][2].Uint64()))
	return u, mod(x[1], st.Trace.T), mod(x[2], w)
}

// Check, which Prove runs first, names the op and row at fault for a falsified sampled
// element, and passes on the honest statement.
func TestCheckNamesTheFault(t *testing.T) {
	cl := testClass()
	st := everyKindStatement(t, 11)
	if err := st.Check(cl); err != nil {
		t.Fatal(err)
	}
	u, i, j := drawnElement(t, st, model.KindSoftmax, 0)
	x := &st.Trace.Tensors[u+1].I8.Data[i*st.Trace.Tensors[u+1].I8.Shape[1]+j]
	*x ^= 1
	err := st.Check(cl)
	if !errors.Is(err, model.ErrMismatch) || !strings.Contains(err.Error(), fmt.Sprintf("op %d (softmax", u)) {
		t.Fatalf("falsified softmax element: %v", err)
	}
}
