package universal

import (
	"errors"
	"strings"
	"testing"

	"github.com/probitylabs/probity/model"
)

// The catalogue and the test classes are valid; a class whose rows outgrow its parameter trees
// or its column comparisons is refused.
func TestClassValidate(t *testing.T) {
	for _, cl := range append(Classes(), testClass()) {
		if err := cl.Validate(); err != nil {
			t.Fatal(err)
		}
	}
	bad := Small()
	bad.RowDepth = bad.ParamDepth + 1
	if bad.Validate() == nil {
		t.Fatal("RowDepth > ParamDepth accepted")
	}
	bad = Small()
	bad.Elems = 1 // 31 values: 5 bits, fewer than 7 row bits
	if bad.Validate() == nil {
		t.Fatal("rows wider than the column bits accepted")
	}
}

// A class proves a model only if every kind the model uses has a slot: ops of a kind without
// one would never be checked.
func TestFitsNeedsSlotsForEveryKind(t *testing.T) {
	st := tinyStatement(t, 7)
	cl := testClass()
	if err := cl.Fits(st.Model, st.Trace.T, st.Job); err != nil {
		t.Fatal(err)
	}
	cl.Slots[model.KindSoftmax] = 0
	if err := cl.Fits(st.Model, st.Trace.T, st.Job); !errors.Is(err, ErrClass) || !strings.Contains(err.Error(), "softmax") {
		t.Fatalf("a class without softmax slots took a model with softmax ops: %v", err)
	}
	cl = testClass()
	cl.Slots[model.KindRMSNorm] = 0 // a kind the model does not use
	if err := cl.Fits(st.Model, st.Trace.T, st.Job); err != nil {
		t.Fatal(err)
	}
}
