package gadgets

import (
	"github.com/consensys/gnark/frontend"
	"github.com/consensys/gnark/std/math/bits"
)

// BytesPerElement is the packing density of §4.2.
const BytesPerElement = 31

// UnpackElement decomposes a packed element into nb bytes (nb <= 31), little-endian, each in
// [0, 256). The decomposition is canonical: 8*nb <= 248 bits is below the field size, so the
// recomposition cannot wrap and the bytes are unique; an element with bits past byte nb has no
// solution. The bytes are linear combinations of boolean-constrained bits, so they cost nothing
// beyond the 8*nb booleanity constraints and one recomposition.
func UnpackElement(api frontend.API, e frontend.Variable, nb int) []frontend.Variable {
	if nb < 1 || nb > BytesPerElement {
		panic("gadgets: UnpackElement needs 1..31 bytes")
	}
	bs := bits.ToBinary(api, e, bits.WithNbDigits(8*nb))
	out := make([]frontend.Variable, nb)
	for t := range out {
		out[t] = bits.FromBinary(api, bs[8*t:8*t+8], bits.WithUnconstrainedInputs())
	}
	return out
}

// UnpackRow returns the cols bytes (value+128) packed in elems (§4.2). The last element's
// missing bytes are forced to 0 by decomposing it into only the bytes it holds.
func UnpackRow(api frontend.API, elems []frontend.Variable, cols int) []frontend.Variable {
	if len(elems) != PackedLen(cols) {
		panic("gadgets: UnpackRow element count does not match cols")
	}
	out := make([]frontend.Variable, 0, cols)
	for j, e := range elems {
		nb := min(BytesPerElement, cols-j*BytesPerElement)
		out = append(out, UnpackElement(api, e, nb)...)
	}
	return out
}

// PackedLen is ceil(cols/31), the number of elements of a packed row.
func PackedLen(cols int) int { return (cols + BytesPerElement - 1) / BytesPerElement }
