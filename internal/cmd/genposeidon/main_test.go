package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// TestSolidityUpToDate fails when the committed library differs from what the generator writes
// now, e.g. after a change of gnark-crypto's constants or of the generator.
func TestSolidityUpToDate(t *testing.T) {
	want, err := os.ReadFile(filepath.Join("..", "..", "..", "contracts", "src", "libraries", "Poseidon2.sol"))
	if err != nil {
		t.Fatal(err)
	}
	if got := generate(); !bytes.Equal(got, want) {
		t.Fatalf("contracts/src/libraries/Poseidon2.sol is stale (%d bytes generated, %d committed): run %s", len(got), len(want), generatedBy)
	}
}

// TestAddRefusesOverflow pins the safety argument of the lazy reduction: the generator cannot
// emit an add whose operands' bounds may sum past 2^256 - 1.
func TestAddRefusesOverflow(t *testing.T) {
	x := val{"x", addable}
	_ = add(x, val{"y", rMax}) // exactly 2^256 - 1: allowed
	defer func() {
		if recover() == nil {
			t.Fatal("add accepted operands that may overflow")
		}
	}()
	add(x, val{"y", modulus})
}
