package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// TestVectorsUpToDate fails when the committed vectors differ from what the code generates.
func TestVectorsUpToDate(t *testing.T) {
	for name, want := range generate() {
		got, err := os.ReadFile(filepath.Join("..", "..", "..", "testdata", "vectors", name))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("testdata/vectors/%s is out of date: run %s", name, generatedBy)
		}
	}
}
