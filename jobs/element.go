package jobs

import (
	"errors"
	"fmt"
	"math/big"
)

// ElementKind says what an Element of a trace names (specs/trace.md §8).
type ElementKind uint8

const (
	// ElementOp names op Op's result at (Row, Col); Col is 0 for an I32 result.
	ElementOp ElementKind = 0
	// ElementInput names input row Row: the prompt's id there, or a fed-back token.
	ElementInput ElementKind = 1
	// ElementToken names generated token Row: the selection over logits row P-1+Row.
	ElementToken ElementKind = 2
	// elementKinds bounds the kinds a canonical element may have.
	elementKinds = 3
)

func (k ElementKind) String() string {
	switch k {
	case ElementOp:
		return "op"
	case ElementInput:
		return "input"
	case ElementToken:
		return "token"
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// Element names one checkable thing of a job's committed trace and result: what a challenge
// names and a targeted proof answers (specs/trace.md §8, circuit.md §5). Its word is
// Kind·2^96 + Op·2^64 + Row·2^32 + Col.
type Element struct {
	Kind         ElementKind
	Op, Row, Col uint32
}

// ErrElement matches an element word or element that is not canonical.
var ErrElement = errors.New("bad element")

// elementBits is the width of an element word: 2 bits of kind and three 32-bit fields.
const elementBits = 98

// Word is the element's word, a public input of the targeted proof.
func (e Element) Word() *big.Int {
	w := new(big.Int).SetUint64(uint64(e.Kind))
	for _, f := range []uint32{e.Op, e.Row, e.Col} {
		w.Lsh(w, 32).Or(w, new(big.Int).SetUint64(uint64(f)))
	}
	return w
}

// ParseElement reads an element word and checks it is canonical.
func ParseElement(w *big.Int) (Element, error) {
	if w == nil || w.Sign() < 0 || w.BitLen() > elementBits {
		return Element{}, fmt.Errorf("%w: word %v is not below 2^%d", ErrElement, w, elementBits)
	}
	var f [4]uint64
	x := new(big.Int).Set(w)
	mask := new(big.Int).SetUint64(1<<32 - 1)
	for k := 3; k >= 0; k-- {
		f[k] = new(big.Int).And(x, mask).Uint64()
		x.Rsh(x, 32)
	}
	e := Element{Kind: ElementKind(f[0]), Op: uint32(f[1]), Row: uint32(f[2]), Col: uint32(f[3])}
	return e, e.Canonical()
}

// Canonical checks the rules the SLA contract enforces on a challenged element: a known kind,
// and Op = Col = 0 for an input row or a token, so every element has one word.
func (e Element) Canonical() error {
	if e.Kind >= elementKinds {
		return fmt.Errorf("%w: kind %d", ErrElement, e.Kind)
	}
	if e.Kind != ElementOp && (e.Op != 0 || e.Col != 0) {
		return fmt.Errorf("%w: %s row %d names op %d column %d (must be 0)", ErrElement, e.Kind, e.Row, e.Op, e.Col)
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
