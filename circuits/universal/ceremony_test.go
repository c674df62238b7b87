//go:build heavy

package universal

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"testing"

	"github.com/probitylabs/probity/circuits"
	"github.com/probitylabs/probity/commit"
	"github.com/probitylabs/probity/jobs"
	"github.com/probitylabs/probity/model"
	"github.com/probitylabs/probity/protocol"
	"github.com/probitylabs/probity/tensor"
)

// The MPC ceremony serves a class as it serves a layer shape: two phases with a contributor
// each, then keys that prove a generation job of the class and verify. The model is a bigram
// (embed, then the logits linear) and the class has slots for just those kinds, so the
// ceremony's domain stays small (minutes on two cores).
func TestCeremonyForAClass(t *testing.T) {
	var slots [numFamilies + 1]int
	slots[model.KindEmbed], slots[model.KindLinear], slots[FamilyInput], slots[FamilySelect] = 1, 1, 1, 1
	cl := &Class{Name: "ceremony", Elems: 1, RowDepth: 3, OpDepth: 2, ParamDepth: 3, Slots: slots}
	const V, D = 8, 4
	r := rand.New(rand.NewPCG(3, 3))
	table, w := tensor.NewInt8(V, D), tensor.NewInt8(V, D)
	for k := range table.Data {
		table.Data[k], w.Data[k] = int8(r.IntN(200)-100), int8(r.IntN(200)-100)
	}
	ms := tensor.NewInt32(V)
	for k := range ms.Data {
		ms.Data[k] = 1 << 30
	}
	m := &model.Model{Input: model.Input{Name: "ids", DType: model.I32, Width: 1}, Ops: []model.Op{
		{Kind: model.KindEmbed, Name: "wte", In: []int{0}, Weight: table},
		{Kind: model.KindLinear, Name: "logits", In: []int{1}, Weight: w, Bias: tensor.NewInt32(V), Scales: ms, Epilogue: protocol.Epilogue{Shift: 40}},
	}}
	root, err := m.Root()
	if err != nil {
		t.Fatal(err)
	}
	j := &jobs.GenJob{ModelRoot: root, Prompt: []int32{1, 2, 3}, New: 4}
	tr, tokens, err := jobs.Generate(m, j)
	if err != nil {
		t.Fatal(err)
	}
	st := &Statement{Model: m, Job: j, Trace: tr, Tokens: tokens, Seed: commit.Uint(3)}
	if err := st.Check(cl); err != nil {
		t.Fatal(err)
	}
	if _, err := Assign(&Class{Name: "none", Elems: 1, RowDepth: 3, OpDepth: 2, ParamDepth: 3}, st); !errors.Is(err, ErrClass) {
		t.Fatalf("a class without embed and linear slots took the job: %v", err)
	}
	c, err := circuits.NewCeremony(cl)
	if err != nil {
		t.Fatal(err)
	}
	var p1 bytes.Buffer
	if err := c.Init(&p1); err != nil {
		t.Fatal(err)
	}
	step := func(prev []byte) []byte {
		var next bytes.Buffer
		if err := c.Contribute(bytes.NewReader(prev), &next); err != nil {
			t.Fatal(err)
		}
		return next.Bytes()
	}
	p1a := step(p1.Bytes())
	var commons, p2 bytes.Buffer
	if err := c.SealPhase1([]byte("beacon 1"), &commons, &p2, bytes.NewReader(p1a)); err != nil {
		t.Fatal(err)
	}
	p2a := step(p2.Bytes())
	keys, err := c.Finalize([]byte("beacon 2"), bytes.NewReader(commons.Bytes()), []io.Reader{bytes.NewReader(p2a)}...)
	if err != nil {
		t.Fatal(err)
	}
	p, err := Prove(keys, st)
	if err != nil {
		t.Fatal(err)
	}
	if err := Verify(keys.VK, p.Groth16, p.Public); err != nil {
		t.Fatal(err)
	}
	bad := p.Public
	bad[3] = commit.Uint(1) // another result digest
	if Verify(keys.VK, p.Groth16, bad) == nil {
		t.Fatal("a proof verified for another result")
	}
}
