package gadgets

import (
	"errors"
	"math/big"

	"github.com/consensys/gnark/frontend"
	"github.com/consensys/gnark/std/math/bits"
)

// Epilogue is the unpacked, range-checked epilogue word of §3.2.
type Epilogue struct {
	M     frontend.Variable // multiplier, in [1, 2^31)
	S     frontend.Variable // shift, in [1, 62]
	Pow2S frontend.Variable // 2^s
	Half  frontend.Variable // 2^(s-1)
	Z     frontend.Variable // zero point, in [-128, 127] (field-encoded)
	ReLU  frontend.Variable // boolean
	Lo    frontend.Variable // relu ? z : -128
	inv   frontend.Variable // 2^(62-s): r*inv < 2^62 iff r < 2^s
}

// UnpackEpilogue decomposes e = m + 2^32*s + 2^40*(z+128) + 2^48*relu into its fields and
// checks every range §7.4 names: e < 2^49, m < 2^31 and m != 0, 1 <= s <= 62, relu a bit.
// 2^s is computed from the six bits of s (five multiplications), so no lookup is needed.
func UnpackEpilogue(api frontend.API, word frontend.Variable) *Epilogue {
	wb := bits.ToBinary(api, word, bits.WithNbDigits(49))
	api.AssertIsEqual(wb[31], 0)
	m := bits.FromBinary(api, wb[0:31], bits.WithUnconstrainedInputs())
	api.AssertIsDifferent(m, 0)
	api.AssertIsEqual(wb[38], 0)
	api.AssertIsEqual(wb[39], 0)
	sb := wb[32:38]
	s := bits.FromBinary(api, sb, bits.WithUnconstrainedInputs())
	api.AssertIsDifferent(s, 0)
	api.AssertIsDifferent(s, 63)
	var pow frontend.Variable = 1
	for i, b := range sb {
		// factor = b ? 2^(2^i) : 1
		f := api.Add(1, api.Mul(b, new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 1<<i), big.NewInt(1))))
		pow = api.Mul(pow, f)
	}
	zb := bits.FromBinary(api, wb[40:48], bits.WithUnconstrainedInputs())
	relu := wb[48]
	inv2 := new(big.Int).ModInverse(big.NewInt(2), api.Compiler().Field())
	return &Epilogue{
		M:     m,
		S:     s,
		Pow2S: pow,
		Half:  api.Mul(pow, inv2),
		Z:     api.Sub(zb, 128),
		ReLU:  relu,
		Lo:    api.Sub(api.Mul(relu, zb), 128),
		inv:   api.Div(new(big.Int).Lsh(big.NewInt(1), 62), pow),
	}
}

// AssertRequant checks out = min(max(floor((acc*m + 2^(s-1)) / 2^s) + z, lo), 127) (§3.2).
// acc must be range-checked to int32 by the caller and out to [-128, 127] (it comes from an
// unpacked byte); in those ranges every quantity below stays far from the field size:
// |acc*m| < 2^62, so q in [-2^62, 2^62) and q*2^s + r is exact over the integers.
func AssertRequant(api frontend.API, e *Epilogue, acc, out frontend.Variable) {
	v := api.Add(api.Mul(acc, e.M), e.Half)
	qr, err := api.Compiler().NewHint(floorDivHint, 2, v, e.Pow2S)
	if err != nil {
		panic(err)
	}
	q, r := qr[0], qr[1]
	two62 := new(big.Int).Lsh(big.NewInt(1), 62)
	// q + 2^62 in [0, 2^63)
	bits.ToBinary(api, api.Add(q, two62), bits.WithNbDigits(63))
	// 0 <= r < 2^s: r < 2^62 and r * 2^(62-s) < 2^62 (no wrap: the product is below 2^124).
	bits.ToBinary(api, r, bits.WithNbDigits(62))
	bits.ToBinary(api, api.Mul(r, e.inv), bits.WithNbDigits(62))
	api.AssertIsEqual(v, api.Add(api.Mul(q, e.Pow2S), r))

	// Clamp. The prover says which branch applies (hi: y >= 127, lw: y <= lo); the circuit
	// checks the branch's inequality and that out takes the branch's value. In the middle
	// branch out = y, and out in [lo, 127] follows from out being a byte above lo.
	y := api.Add(q, e.Z)
	sel, err := api.Compiler().NewHint(clampHint, 2, y, e.Lo)
	if err != nil {
		panic(err)
	}
	hi, lw := sel[0], sel[1]
	api.AssertIsBoolean(hi)
	api.AssertIsBoolean(lw)
	api.AssertIsEqual(api.Mul(hi, lw), 0)
	a := api.Mul(hi, api.Sub(y, 127))  // >= 0 when hi
	b := api.Mul(lw, api.Sub(e.Lo, y)) // >= 0 when lw
	bits.ToBinary(api, api.Add(a, b), bits.WithNbDigits(64))
	api.AssertIsEqual(out, api.Add(api.Sub(y, a), b))
	bits.ToBinary(api, api.Sub(out, e.Lo), bits.WithNbDigits(8))
}

// signed reads a field element as an integer in (-R/2, R/2).
func signed(field, x *big.Int) *big.Int {
	v := new(big.Int).Set(x)
	if v.Cmp(new(big.Int).Rsh(field, 1)) > 0 {
		v.Sub(v, field)
	}
	return v
}

// floorDivHint returns (floor(v / p), v mod p) for signed v and p > 0.
func floorDivHint(field *big.Int, in, out []*big.Int) error {
	if len(in) != 2 || len(out) != 2 {
		return errors.New("floorDivHint: want 2 inputs and 2 outputs")
	}
	if in[1].Sign() == 0 {
		return errors.New("floorDivHint: division by zero")
	}
	v := signed(field, in[0])
	q, r := new(big.Int), new(big.Int)
	q.DivMod(v, in[1], r) // Euclidean: r >= 0, so q is the floor for p > 0
	out[0].Mod(q, field)
	out[1].Set(r)
	return nil
}

// clampHint returns (y >= 127, y <= lo && y < 127) as bits.
func clampHint(field *big.Int, in, out []*big.Int) error {
	if len(in) != 2 || len(out) != 2 {
		return errors.New("clampHint: want 2 inputs and 2 outputs")
	}
	y, lo := signed(field, in[0]), signed(field, in[1])
	out[0].SetUint64(0)
	out[1].SetUint64(0)
	if y.Cmp(big.NewInt(127)) >= 0 {
		out[0].SetUint64(1)
	} else if y.Cmp(lo) <= 0 {
		out[1].SetUint64(1)
	}
	return nil
}
