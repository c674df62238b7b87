package universal

import (
	"testing"

	"github.com/consensys/gnark-crypto/ecc"
	"github.com/consensys/gnark/test"

	"github.com/probitylabs/probity/commit"
	"github.com/probitylabs/probity/jobs"
	"github.com/probitylabs/probity/model"
	"github.com/probitylabs/probity/model/modeltest"
	"github.com/probitylabs/probity/models"
)

// tinyStatement is a generation job of a one-block decoder (every op kind of GPT-2) with its
// honest trace and tokens.
func tinyStatement(t testing.TB, seed uint64) *Statement {
	t.Helper()
	m, err := modeltest.Decoder(model.DecoderConfig{Vocab: 16, Context: 16, Width: 8, Heads: 2, Blocks: 1}, 1)
	if err != nil {
		t.Fatal(err)
	}
	root, err := m.Root()
	if err != nil {
		t.Fatal(err)
	}
	j := &jobs.GenJob{ModelRoot: root, Prompt: []int32{3, 1, 4, 1, 5}, New: 4}
	tr, tokens, err := jobs.Generate(m, j)
	if err != nil {
		t.Fatal(err)
	}
	return &Statement{Model: m, Job: j, Trace: tr, Tokens: tokens, Seed: commit.Uint(seed)}
}

// testClass is the smallest class the test models fit (rows of 62 values, 16 rows, 31 ops,
// one slot per family), so that solver tests stay fast.
func testClass() *Class {
	return &Class{Name: "test", Elems: 2, RowDepth: 4, OpDepth: 5, ParamDepth: 5, Slots: slotsOf(1, 1, 1)}
}

func solve(t *testing.T, cl *Class, st *Statement) error {
	t.Helper()
	a, err := Assign(cl, st)
	if err != nil {
		t.Fatal(err)
	}
	return test.IsSolved(New(cl), a, ecc.BN254.ScalarField())
}

func TestHonestJobSolves(t *testing.T) {
	st := tinyStatement(t, 7)
	if err := solve(t, testClass(), st); err != nil {
		t.Fatal(err)
	}
}

// The shipped model's generation job is within the small class and its honest witness
// satisfies the small class's circuit (the same witness the demo proves).
func TestShippedModelJobSolves(t *testing.T) {
	m, err := models.KJV()
	if err != nil {
		t.Fatal(err)
	}
	root, err := m.Root()
	if err != nil {
		t.Fatal(err)
	}
	j := &jobs.GenJob{ModelRoot: root, Prompt: jobs.ByteTokens([]byte("And God said, ")), New: 48}
	tr, tokens, err := jobs.Generate(m, j)
	if err != nil {
		t.Fatal(err)
	}
	if err := solve(t, Small(), &Statement{Model: m, Job: j, Trace: tr, Tokens: tokens, Seed: commit.Uint(99)}); err != nil {
		t.Fatal(err)
	}
}
