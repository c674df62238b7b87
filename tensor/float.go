package tensor

import (
	"encoding/binary"
	"fmt"
	"math"
	"slices"
)

// Float returns the floating-point tensor called name as float32 values: F32, F16 and BF16
// (the dtypes float checkpoints use) are converted exactly, F64 rounded to nearest. It is how
// a converter reads a Hugging Face checkpoint; protocol tensors are never floats.
func (f *File) Float(name string) (shape []int, data []float32, err error) {
	t, err := f.Lookup(name)
	if err != nil {
		return nil, nil, err
	}
	b := f.data[t.Begin:t.End]
	switch t.DType {
	case "F32":
		data = make([]float32, len(b)/4)
		for i := range data {
			data[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
		}
	case "F64":
		data = make([]float32, len(b)/8)
		for i := range data {
			data[i] = float32(math.Float64frombits(binary.LittleEndian.Uint64(b[8*i:])))
		}
	case "BF16":
		data = make([]float32, len(b)/2)
		for i := range data {
			data[i] = math.Float32frombits(uint32(binary.LittleEndian.Uint16(b[2*i:])) << 16)
		}
	case "F16":
		data = make([]float32, len(b)/2)
		for i := range data {
			data[i] = half(binary.LittleEndian.Uint16(b[2*i:]))
		}
	default:
		return nil, nil, fmt.Errorf("%w: tensor %q is %s, want a float dtype (F32, F16, BF16, F64)", ErrDtype, name, t.DType)
	}
	return slices.Clone(t.Shape), data, nil
}

// half converts an IEEE 754 binary16 value to float32 (subnormals, infinities and NaN included).
func half(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	frac := uint32(h) & 0x3ff
	switch {
	case exp == 0x1f: // inf or NaN
		return math.Float32frombits(sign | 0xff<<23 | frac<<13)
	case exp == 0 && frac == 0:
		return math.Float32frombits(sign)
	case exp == 0: // subnormal: frac·2^-24
		v := float32(frac) * float32(math.Ldexp(1, -24))
		if sign != 0 {
			v = -v
		}
		return v
	}
	return math.Float32frombits(sign | (exp+112)<<23 | frac<<13)
}
