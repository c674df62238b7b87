package jobs

import (
	"errors"
	"fmt"
	"math/big"
)

// ElementKind says what an element of a job names (specs/trace.md §8, circuit.md §5).
type ElementKind uint8

// The element kinds. ElementNone names nothing: it is provable by every provider, as is any
// element past the job's ops, rows, columns or steps.
const (
	ElementOp    ElementKind = 0 // op Op's result at (Row, Col)
	ElementInput ElementKind = 1 // input row Row
	ElementToken ElementKind = 2 // generated token Row
	ElementNone  ElementKind = 3
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
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// ElementBits is the width of an element word: the circuit decomposes the word into exactly
// these bits, so a word of 2^98 or more is unprovable.
const ElementBits = 98

var (
	// ErrElement reports a word that is no element (>= 2^98, or negative).
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

// Word is the element's public input: kind·2^96 + op·2^64 + row·2^32 + col. A kind above 3
// gives a word of 2^98 or more, which no proof answers.
func (e Element) Word() *big.Int {
	w := new(big.Int).SetUint64(uint64(e.Kind))
	for _, f := range []uint32{e.Op, e.Row, e.Col} {
		w.Lsh(w, 32).Or(w, new(big.Int).SetUint64(uint64(f)))
	}
	return w
}

// ParseElement decodes an element word; it refuses words of 2^98 or more (and negative ones),
// which the circuit cannot prove. Kind 3 and non-canonical words parse: see Canonical.
func ParseElement(w *big.Int) (Element, error) {
	if w.Sign() < 0 || w.BitLen() > ElementBits {
		return Element{}, fmt.Errorf("%w: %s", ErrElement, w)
	}
	field := func(q uint) uint32 { return uint32(new(big.Int).Rsh(w, 32*q).Uint64()) }
	return Element{Kind: ElementKind(field(3)), Op: field(2), Row: field(1), Col: field(0)}, nil
}

// Canonical is the contract's rule for a challenged element: kind at most 2, and op = col = 0
// for an input row or a token (the circuit ignores them there, so two words would name one
// element).
func (e Element) Canonical() error {
	switch {
	case e.Kind > ElementToken:
		return fmt.Errorf("%w: kind %s", ErrNonCanonical, e.Kind)
	case e.Kind != ElementOp && (e.Op != 0 || e.Col != 0):
		return fmt.Errorf("%w: %s element with op %d, column %d", ErrNonCanonical, e.Kind, e.Op, e.Col)
	}
	return nil
}

func (e Element) String() string {
	switch e.Kind {
	case ElementOp:
		return fmt.Sprintf("op %d row %d column %d", e.Op, e.Row, e.Col)
	case ElementInput:
		return fmt.Sprintf("input row %d", e.Row)
	case ElementToken:
		return fmt.Sprintf("token %d", e.Row)
	}
	return fmt.Sprintf("%s %d/%d/%d", e.Kind, e.Op, e.Row, e.Col)
}
