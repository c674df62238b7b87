package jobs

import (
	"errors"
	"fmt"
	"math/big"
)

// ElementKind says what an element of a job names (specs/trace.md §8, circuit.md §5).
type ElementKind uint8

// The element kinds. ElementNone names nothing: it is provable by every provider, as is any
// element past the job's ops, rows, columns or steps. Kinds 4 to 6 are data elements: they
// name a node of the committed trace's trees, which a data challenge makes the provider open
// on chain (settlement.md §10); Op is then the trace tensor (0 the input, u+1 op u's result).
const (
	ElementOp     ElementKind = 0 // op Op's result at (Row, Col)
	ElementInput  ElementKind = 1 // input row Row
	ElementToken  ElementKind = 2 // generated token Row
	ElementNone   ElementKind = 3
	ElementTensor ElementKind = 4 // trace tensor Op's leaf in the trace tree
	ElementRow    ElementKind = 5 // row Row of trace tensor Op's row tree
	ElementColumn ElementKind = 6 // column Col of trace tensor Op's column tree
)

func (k ElementKind) String() string {
	switch k {
	case ElementOp:
		return "op"
	case ElementInput:
		return "input"
	case ElementToken:
		return "token"
	case ElementNone:
		return "none"
	case ElementTensor:
		return "tensor"
	case ElementRow:
		return "row"
	case ElementColumn:
		return "column"
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// ElementBits is the width of a provable element word: the circuit decomposes the word into
// exactly these bits, so a word of 2^98 or more (a data element among them) is unprovable.
const ElementBits = 98

// WordBits is the width of any element word, data elements (kinds 4 to 6) included.
const WordBits = 99

var (
	// ErrElement reports a word that is no element (>= 2^99, or negative).
	ErrElement = errors.New("not an element word")
	// ErrNonCanonical reports an element word a challenge must not use (circuit.md §5).
	ErrNonCanonical = errors.New("non-canonical element")
)

// Element is one checkable thing of a job's committed trace and result (specs/trace.md §8):
// op Op's result at (Row, Col) for ElementOp, input row Row for ElementInput, generated token
// Row for ElementToken. It is what a challenge names, a targeted proof answers
// (circuit.md §5) and FindFault returns.
type Element struct {
	Kind         ElementKind
	Op, Row, Col uint32
}

// Word is the element's word: kind·2^96 + op·2^64 + row·2^32 + col, the targeted proof's
// public input for kinds 0 to 3. A kind above 3 gives a word of 2^98 or more, which no proof
// answers: a data element is answered by an opening (TraceOpening).
func (e Element) Word() *big.Int {
	w := new(big.Int).SetUint64(uint64(e.Kind))
	for _, f := range []uint32{e.Op, e.Row, e.Col} {
		w.Lsh(w, 32).Or(w, new(big.Int).SetUint64(uint64(f)))
	}
	return w
}

// ParseElement decodes an element word; it refuses words of 2^99 or more (and negative ones).
// Kinds 3 and 7 and non-canonical words parse: see Canonical.
func ParseElement(w *big.Int) (Element, error) {
	if w.Sign() < 0 || w.BitLen() > WordBits {
		return Element{}, fmt.Errorf("%w: %s", ErrElement, w)
	}
	field := func(q uint) uint32 { return uint32(new(big.Int).Rsh(w, 32*q).Uint64()) }
	return Element{Kind: ElementKind(field(3)), Op: field(2), Row: field(1), Col: field(0)}, nil
}

// Canonical is the contract's rule for a challenged element: kind 0, 1, 2, 4, 5 or 6, and the
// fields the kind does not use zero (op and col for an input row or a token, which the circuit
// ignores there; row and col for a tensor, col for a row, row for a column), so that two words
// never name one element.
func (e Element) Canonical() error {
	var unused bool
	switch e.Kind {
	case ElementOp:
	case ElementInput, ElementToken:
		unused = e.Op != 0 || e.Col != 0
	case ElementTensor:
		unused = e.Row != 0 || e.Col != 0
	case ElementRow:
		unused = e.Col != 0
	case ElementColumn:
		unused = e.Row != 0
	default:
		return fmt.Errorf("%w: kind %s", ErrNonCanonical, e.Kind)
	}
	if unused {
		return fmt.Errorf("%w: %s element with op %d, row %d, column %d", ErrNonCanonical, e.Kind, e.Op, e.Row, e.Col)
	}
	return nil
}

// IsData reports a data element (kinds 4 to 6), answered by an opening, not a proof.
func (e Element) IsData() bool {
	return e.Kind >= ElementTensor && e.Kind <= ElementColumn
}

func (e Element) String() string {
	switch e.Kind {
	case ElementOp:
		return fmt.Sprintf("op %d row %d column %d", e.Op, e.Row, e.Col)
	case ElementInput:
		return fmt.Sprintf("input row %d", e.Row)
	case ElementToken:
		return fmt.Sprintf("token %d", e.Row)
	case ElementTensor:
		return fmt.Sprintf("trace tensor %d", e.Op)
	case ElementRow:
		return fmt.Sprintf("trace tensor %d row %d", e.Op, e.Row)
	case ElementColumn:
		return fmt.Sprintf("trace tensor %d column %d", e.Op, e.Col)
	}
	return fmt.Sprintf("%s %d/%d/%d", e.Kind, e.Op, e.Row, e.Col)
}
