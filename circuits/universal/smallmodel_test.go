package universal_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/consensys/gnark-crypto/ecc"
	"github.com/consensys/gnark/test"

	"github.com/probitylabs/probity/circuits/universal"
	"github.com/probitylabs/probity/circuits/universal/universaltest"
	"github.com/probitylabs/probity/jobs"
)

// A model with two ops and two kinds (the test bigram) in a class that samples only those:
// every other kind's off slot holds a dummy op whose index is past the model's trees, and the
// targeted circuit still answers its elements, real and vacuous (version 3 opens off slots
// at index 0). The small class, which samples every kind, refuses the model (Fits): version 2
// of the sampled circuit could not prove it.
func TestTargetedSmallModel(t *testing.T) {
	cl := universaltest.Class()
	m, err := universaltest.Model(1)
	if err != nil {
		t.Fatal(err)
	}
	root, _ := m.Root()
	j := &jobs.GenJob{ModelRoot: root, Prompt: []int32{2, 7, 1, 8}, New: 3}
	c, err := j.Check(m)
	if err != nil {
		t.Fatal(err)
	}
	tr, toks, err := c.Generate()
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range []jobs.Element{{Kind: jobs.ElementOp, Op: 1, Row: 5, Col: 3}, {Kind: jobs.ElementOp}, {Kind: jobs.ElementOp, Op: 2, Row: 1},
		{Kind: jobs.ElementInput, Row: 4}, {Kind: jobs.ElementToken, Row: 2}, {Kind: jobs.ElementOp, Op: 1 << 31}} {
		a, err := universal.AssignTargeted(cl, m, tr, j, toks, e)
		if err != nil {
			t.Fatal(err)
		}
		if err := test.IsSolved(universal.NewTargeted(cl), a, ecc.BN254.ScalarField()); err != nil {
			t.Errorf("%s: %v", e, err)
		}
	}
	if err := universal.Small().Fits(m, tr.T, j); !errors.Is(err, universal.ErrClass) || !strings.Contains(err.Error(), "at least 9 ops") {
		t.Fatalf("small class, two-op model: %v", err)
	}
}
