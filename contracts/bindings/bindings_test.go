package bindings_test

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/probitylabs/probity/contracts/bindings/internal/bindgen"
	"github.com/probitylabs/probity/internal/testenv"
)

// TestBindingsUpToDate rebuilds the contracts into a temporary directory,
// regenerates the bindings and requires them to equal the committed file: a
// contract change without `go generate ./contracts/bindings` fails here.
func TestBindingsUpToDate(t *testing.T) {
	forge := testenv.ForgePath(t)
	root, err := testenv.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	out := filepath.Join(tmp, "out")
	if err := bindgen.Build(forge, root, out, filepath.Join(tmp, "cache")); err != nil {
		t.Fatal(err)
	}
	got, err := bindgen.Generate(out, "bindings", bindgen.Contracts)
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile("bindings.go")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("contracts/bindings/bindings.go is stale (%d bytes generated, %d committed): run `go generate ./contracts/bindings`", len(got), len(want))
	}
}

func TestGenerateRejectsMissingArtifact(t *testing.T) {
	if _, err := bindgen.Generate(t.TempDir(), "bindings", bindgen.Contracts); err == nil {
		t.Fatal("Generate succeeded without artifacts")
	}
}

func TestGenerateRejectsEmptyList(t *testing.T) {
	if _, err := bindgen.Generate(t.TempDir(), "bindings", nil); err == nil {
		t.Fatal("Generate succeeded without contracts")
	}
}
