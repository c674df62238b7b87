package universal

import (
	"fmt"

	"github.com/consensys/gnark/constraint"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/probitylabs/probity/circuits"

	"github.com/probitylabs/probity/model"
)

// Slot families beside the op kinds 1..13 (specs/circuit.md §3): input slots check a row of
// the input tensor against the prompt or the result, select slots check a generated token.
const (
	FamilyInput  = model.NumKinds + 1
	FamilySelect = model.NumKinds + 2
	numFamilies  = FamilySelect
)

// Class is a width class (specs/circuit.md §2): the limits one circuit, one setup and one
// verifier serve. Every job whose model and trace fit them is proved by the same circuit.
type Class struct {
	Name string
	// Elems is the row capacity in packed elements: every I8 row, and every width-T row, has
	// at most 31*Elems values.
	Elems int
	// RowDepth bounds the rows: T <= 2^RowDepth (also P, n <= 2^RowDepth).
	RowDepth int
	// OpDepth bounds the tensors: L + 1 <= 2^OpDepth.
	OpDepth int
	// ParamDepth bounds parameter tensors' rows (vocabulary, context, columns): <= 2^ParamDepth.
	ParamDepth int
	// Slots[f] is the number of sample slots of family f: op kinds 1..13, then FamilyInput and
	// FamilySelect.
	Slots [numFamilies + 1]int
}

// Validate checks the invariants the circuit relies on: a row index fits the parameter trees
// (position tables are indexed by row) and the column comparisons (the causal mask compares a
// row with a column in widthBits bits), and every capacity is positive.
func (c *Class) Validate() error {
	switch {
	case c.Elems < 1 || c.RowDepth < 1 || c.OpDepth < 1 || c.ParamDepth < 1:
		return fmt.Errorf("class %s: capacities must be positive", c.Name)
	case c.RowDepth > c.ParamDepth:
		return fmt.Errorf("class %s: RowDepth %d > ParamDepth %d", c.Name, c.RowDepth, c.ParamDepth)
	case c.RowDepth > bitLen(c.Width()):
		return fmt.Errorf("class %s: 2^RowDepth rows exceed the %d-value row capacity's bits", c.Name, c.Width())
	}
	for f, n := range c.Slots {
		if n < 0 || (f == 0 && n != 0) {
			return fmt.Errorf("class %s: bad slot count %d for family %d", c.Name, n, f)
		}
	}
	return nil
}

// Width is the row capacity in values.
func (c *Class) Width() int { return 31 * c.Elems }

// MaxRows is 2^RowDepth, the longest trace (prompt plus generated tokens, less one).
func (c *Class) MaxRows() int { return 1 << c.RowDepth }

// softmaxWidth bounds softmax rows: width-T rows (attention) have at most MaxRows values.
func (c *Class) softmaxWidth() int { return min(c.Width(), c.MaxRows()) }

// promptWords is the capacity of the job digest's prompt words and of the result words: ten
// 24-bit ids per word (specs/trace.md §1.3, §4) for up to MaxRows ids.
func (c *Class) promptWords() int { return (c.MaxRows() + 9) / 10 }

// CircuitVersion is part of every class's identifier: a change to the statement's constraints
// changes it (TestConstraintCounts refuses new counts under the old version), so keys cached or
// registered for one version are never used with another's circuit. Version 2 checks the
// shared model-root and trace-root preimages first and takes the floor-division hint from
// package gadgets (the same constraints, another constraint system).
const CircuitVersion = 2

// String names the class, the circuit version and the limits, so a key cache entry, a
// ceremony and a verifier are tied to exactly one circuit.
func (c *Class) String() string {
	s := fmt.Sprintf("universal-v%d-%s-e%d-r%d-o%d-p%d-s", CircuitVersion, c.Name, c.Elems, c.RowDepth, c.OpDepth, c.ParamDepth)
	for f := 1; f <= numFamilies; f++ {
		s += fmt.Sprintf("%d.", c.Slots[f])
	}
	return s[:len(s)-1]
}

// slotsOf returns the same number of slots for every op kind, and in and sel for the input and
// select families.
func slotsOf(perKind, in, sel int) [numFamilies + 1]int {
	var s [numFamilies + 1]int
	for k := 1; k <= model.NumKinds; k++ {
		s[k] = perKind
	}
	s[FamilyInput], s[FamilySelect] = in, sel
	return s
}

// Small is the class of the shipped model and the demo: rows of up to 279 values (the
// shipped model's widest tensor is 256), up to 128 rows and 127 ops, vocabularies and
// contexts up to 256. One slot per op kind keeps the demo job's proof under 10 s on two cores
// (two per kind would take 14 s); the detection bound per kind is Bounds'.
func Small() *Class {
	return &Class{Name: "small", Elems: 9, RowDepth: 7, OpDepth: 7, ParamDepth: 8, Slots: slotsOf(1, 2, 2)}
}

// GPT2Small is the production class sized for a GPT-2-small-shaped model: d_model 768, d_ff
// 3072 (rows of up to 3100 values), context 1024, up to 2047 ops (GPT-2 small has 1109) and
// parameter tensors of up to 2^16 rows. Its vocabulary must fit a row too (see circuit.md §2).
func GPT2Small() *Class {
	return &Class{Name: "gpt2-small", Elems: 100, RowDepth: 10, OpDepth: 11, ParamDepth: 16, Slots: slotsOf(2, 2, 2)}
}

// Classes lists the catalogue.
func Classes() []*Class { return []*Class{Small(), GPT2Small()} }

// ID is keccak256 of String(): the class's key-cache entry and its on-chain verifier name.
func (c *Class) ID() [32]byte { return crypto.Keccak256Hash([]byte(c.String())) }

// Compile compiles the class's circuit (a circuits.Target).
func (c *Class) Compile() (constraint.ConstraintSystem, error) {
	return circuits.CompilePlain(New(c), c.String())
}
