package sdk_test

import (
	"path/filepath"
	"testing"

	"github.com/probitylabs/probity/commit"
	"github.com/probitylabs/probity/sdk"
	"github.com/probitylabs/probity/tensor"
)

// BuildSpec reads the input in row chunks: with a chunk budget of a few rows it gives the root
// the in-memory commitment gives, so the input never has to fit in memory.
func TestBuildSpecStreamsInput(t *testing.T) {
	dir := t.TempDir()
	in, mf := filepath.Join(dir, "x.safetensors"), filepath.Join(dir, "m.safetensors")
	x := tensor.RandomInput(11, 16, 64)
	if err := tensor.SaveActivations(in, x); err != nil {
		t.Fatal(err)
	}
	m, err := tensor.RandomModel(11, 64, 64)
	if err != nil {
		t.Fatal(err)
	}
	if err := tensor.SaveModel(mf, m); err != nil {
		t.Fatal(err)
	}
	old := commit.StreamBudget
	commit.StreamBudget = 3 * 64 // three rows per chunk, the last chunk short
	defer func() { commit.StreamBudget = old }()
	spec, err := sdk.BuildSpec(in, mf, []string{"demo-64"})
	if err != nil {
		t.Fatal(err)
	}
	want, err := commit.CommitActivations(x, 4)
	if err != nil {
		t.Fatal(err)
	}
	if got := commit.ToBig(want.Root()); spec.InputRoot.Cmp(got) != 0 || spec.Rows != 16 {
		t.Fatalf("input root %v rows %d, want %v rows 16", spec.InputRoot, spec.Rows, got)
	}
}
