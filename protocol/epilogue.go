package protocol

import (
	"fmt"
	"math/big"
)

// Epilogue is the requantization step of a layer (§3.2): y = floor((acc*m + 2^(s-1)) / 2^s) + z,
// clamped to [relu ? z : -128, 127].
type Epilogue struct {
	Multiplier uint32 // m in [1, 2^31)
	Shift      uint8  // s in [1, 62]
	ZeroPoint  int8   // z
	ReLU       bool
}

// Validate checks the ranges of §3.2.
func (e Epilogue) Validate() error {
	if e.Multiplier == 0 || e.Multiplier >= 1<<31 {
		return fmt.Errorf("%w: multiplier %d not in [1, 2^31)", ErrEpilogue, e.Multiplier)
	}
	if e.Shift < 1 || e.Shift > 62 {
		return fmt.Errorf("%w: shift %d not in [1, 62]", ErrEpilogue, e.Shift)
	}
	return nil
}

// Word packs the epilogue into one field element: m + 2^32*s + 2^40*(z+128) + 2^48*relu.
func (e Epilogue) Word() *big.Int {
	return new(big.Int).SetUint64(e.word64())
}

func (e Epilogue) word64() uint64 {
	w := uint64(e.Multiplier) | uint64(e.Shift)<<32 | uint64(int(e.ZeroPoint)+128)<<40
	if e.ReLU {
		w |= 1 << 48
	}
	return w
}

// ParseEpilogueWord is the inverse of Word; it rejects words with stray bits or invalid fields.
func ParseEpilogueWord(w *big.Int) (Epilogue, error) {
	if w == nil || w.Sign() < 0 || w.BitLen() > 49 {
		return Epilogue{}, fmt.Errorf("%w: word %v has bits outside the 49-bit layout", ErrEpilogue, w)
	}
	u := w.Uint64()
	e := Epilogue{
		Multiplier: uint32(u),
		Shift:      uint8(u >> 32),
		ZeroPoint:  int8(int(uint8(u>>40)) - 128),
		ReLU:       u>>48 == 1,
	}
	if err := e.Validate(); err != nil {
		return Epilogue{}, err
	}
	return e, nil
}

// Apply computes the epilogue on an accumulator. acc must be an int32 value (the layer is
// invalid otherwise, §3.2); in that range acc*m + 2^(s-1) stays below 2^63, and Go's arithmetic
// shift of a signed value is floor division by 2^s.
func (e Epilogue) Apply(acc int32) int8 {
	v := int64(acc)*int64(e.Multiplier) + int64(1)<<(e.Shift-1)
	y := v>>e.Shift + int64(e.ZeroPoint)
	lo := int64(-128)
	if e.ReLU {
		lo = int64(e.ZeroPoint)
	}
	if y < lo {
		y = lo
	}
	if y > 127 {
		y = 127
	}
	return int8(y)
}
