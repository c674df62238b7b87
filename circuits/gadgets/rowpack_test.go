package gadgets

import (
	"math/big"
	"math/rand/v2"
	"testing"

	"github.com/consensys/gnark/frontend"

	"github.com/probitylabs/probity/commit"
)

type unpackCircuit struct {
	Cols  int `gnark:"-"`
	Elems []frontend.Variable
	Bytes []frontend.Variable
}

func (c *unpackCircuit) Define(api frontend.API) error {
	got := UnpackRow(api, c.Elems, c.Cols)
	for i := range got {
		api.AssertIsEqual(got[i], c.Bytes[i])
	}
	return nil
}

func newUnpack(cols int) *unpackCircuit {
	return &unpackCircuit{Cols: cols, Elems: make([]frontend.Variable, PackedLen(cols)), Bytes: make([]frontend.Variable, cols)}
}

func packAssignment(row []int8) *unpackCircuit {
	a := newUnpack(len(row))
	for i, e := range commit.PackRow(row) {
		a.Elems[i] = commit.ToBig(e)
	}
	for i, v := range row {
		a.Bytes[i] = int(v) + 128
	}
	return a
}

func TestUnpackRowMatchesPackRow(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, cols := range []int{1, 16, 30, 31, 32, 62, 64, 100} {
		row := make([]int8, cols)
		for i := range row {
			row[i] = int8(rng.IntN(256) - 128)
		}
		row[0], row[cols-1] = -128, 127 // the extremes of the byte range
		if err := solved(newUnpack(cols), packAssignment(row)); err != nil {
			t.Fatalf("cols %d: %v", cols, err)
		}
	}
}

func TestUnpackRowRejects(t *testing.T) {
	cols := 40
	row := make([]int8, cols)
	for i := range row {
		row[i] = int8(i - 20)
	}
	c := newUnpack(cols)

	// A claimed byte of 256 with the next byte lowered by one packs to the same element:
	// only the canonical decomposition is accepted.
	a := packAssignment(row)
	a.Bytes[3] = 256
	a.Bytes[4] = a.Bytes[4].(int) - 1
	if solved(c, a) == nil {
		t.Error("byte 256 accepted")
	}

	// Data past the row's last column in the last element.
	a = packAssignment(row)
	last := new(big.Int).Set(a.Elems[1].(*big.Int))
	last.Add(last, new(big.Int).Lsh(big.NewInt(1), uint(8*(cols-31))))
	a.Elems[1] = last
	if solved(c, a) == nil {
		t.Error("data past the last column accepted")
	}

	// An element with bits above 31 bytes.
	a = packAssignment(row)
	first := new(big.Int).Set(a.Elems[0].(*big.Int))
	first.Add(first, new(big.Int).Lsh(big.NewInt(1), 248))
	a.Elems[0] = first
	if solved(c, a) == nil {
		t.Error("element above 2^248 accepted")
	}

	// Negative byte (field -1).
	a = packAssignment(row)
	a.Bytes[0] = -1
	if solved(c, a) == nil {
		t.Error("byte -1 accepted")
	}
}
