package opcheck

import (
	"errors"
	"math/big"

	"github.com/consensys/gnark/frontend"
	"github.com/consensys/gnark/std/math/bits"

	"github.com/probitylabs/probity/circuits/gadgets"
)

// Shift is a range-checked shift s in [1, 62] with 2^s computed from its bits.
type Shift struct {
	S    frontend.Variable
	Pow  frontend.Variable // 2^s
	Half frontend.Variable // 2^(s-1)
	inv  frontend.Variable // 2^(62-s): r < 2^s iff r*2^(62-s) < 2^62
}

// NewShift checks s in [1, 62] and computes 2^s with five multiplications (no lookup).
func NewShift(api frontend.API, s frontend.Variable) *Shift {
	sb := bits.ToBinary(api, s, bits.WithNbDigits(6))
	api.AssertIsDifferent(s, 0)
	api.AssertIsDifferent(s, 63)
	var pow frontend.Variable = 1
	for i, b := range sb {
		f := api.Add(1, api.Mul(b, new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 1<<i), big.NewInt(1))))
		pow = api.Mul(pow, f)
	}
	inv2 := new(big.Int).ModInverse(big.NewInt(2), api.Compiler().Field())
	return &Shift{S: s, Pow: pow, Half: api.Mul(pow, inv2), inv: api.Div(new(big.Int).Lsh(big.NewInt(1), 62), pow)}
}

// RoundShift returns rshr(v, s) = floor((v + 2^(s-1)) / 2^s) (ops.md §1) for a signed v with
// |v| < 2^vBits, vBits <= 120 (the caller's bound). The circuit checks q + 2^vBits in
// [0, 2^(vBits+1)), T = r*2^(62-s) in [0, 2^62) and w = q*2^s + r for w = v + 2^(s-1).
// Multiplying the last by 2^(62-s) gives w*2^(62-s) = q*2^62 + T in the field, where both
// sides are integers below 2^184 in absolute value, so it holds over the integers and
// q = floor(w*2^(62-s) / 2^62) = floor(w / 2^s). No separate range check on r is needed:
// r = T / 2^(62-s) is then the integer remainder, in [0, 2^s).
func RoundShift(api frontend.API, v frontend.Variable, sh *Shift, vBits int) frontend.Variable {
	if vBits > 120 {
		panic("opcheck: RoundShift bound too large")
	}
	w := api.Add(v, sh.Half)
	qr, err := api.Compiler().NewHint(floorDivHint, 2, w, sh.Pow)
	if err != nil {
		panic(err)
	}
	q, r := qr[0], qr[1]
	bits.ToBinary(api, api.Add(q, new(big.Int).Lsh(big.NewInt(1), uint(vBits))), bits.WithNbDigits(vBits+1))
	bits.ToBinary(api, api.Mul(r, sh.inv), bits.WithNbDigits(62))
	api.AssertIsEqual(w, api.Add(api.Mul(q, sh.Pow), r))
	return q
}

// AssertClamp8 checks out = clamp8(y) + 128 (ops.md §1) for a byte out (the caller has
// range-checked it to [0, 256)) and a signed y with |y| < 2^64: AssertClamp8Bits with 64.
func AssertClamp8(api frontend.API, y, out frontend.Variable) {
	AssertClamp8Bits(api, y, out, 64)
}

// AssertClamp8Bits is AssertClamp8 for a signed y the caller bounds by |y| < 2^yBits,
// yBits <= 120; a tighter bound is a cheaper range check (yBits + 1 constraints). The prover
// says which branch applies; the circuit checks the branch's inequality and the branch's value.
func AssertClamp8Bits(api frontend.API, y, out frontend.Variable, yBits int) {
	if yBits < 8 || yBits > 120 {
		panic("opcheck: AssertClamp8Bits bound out of [8, 120]")
	}
	sel, err := api.Compiler().NewHint(clamp8Hint, 2, y)
	if err != nil {
		panic(err)
	}
	hi, lo := sel[0], sel[1]
	api.AssertIsBoolean(hi)
	api.AssertIsBoolean(lo)
	a := api.Mul(hi, api.Sub(y, 127))  // in [0, 2^yBits) when hi, since y < 2^yBits
	b := api.Mul(lo, api.Sub(-128, y)) // in [0, 2^yBits) when lo, since y > -2^yBits
	// A false inequality makes a or b negative, far above 2^yBits in the field. hi = lo = 1
	// needs no constraint of its own: then a + b = -255.
	bits.ToBinary(api, api.Add(a, b), bits.WithNbDigits(yBits))
	// In the middle branch out - 128 = y, and a byte out makes y in [-128, 127].
	api.AssertIsEqual(api.Sub(out, 128), api.Add(api.Sub(y, a), b))
}

// floorDivHint is the gadgets' signed floor division (floor(v / p), v mod p) for p > 0; the
// gadgets package registers it.
var floorDivHint = gadgets.FloorDivHint()

// clamp8Hint returns (y >= 127, y <= -128) as bits.
func clamp8Hint(field *big.Int, in, out []*big.Int) error {
	if len(in) != 1 || len(out) != 2 {
		return errors.New("clamp8Hint: want 1 input and 2 outputs")
	}
	y := gadgets.Signed(field, in[0])
	out[0].SetUint64(0)
	out[1].SetUint64(0)
	if y.Cmp(big.NewInt(127)) >= 0 {
		out[0].SetUint64(1)
	} else if y.Cmp(big.NewInt(-128)) <= 0 {
		out[1].SetUint64(1)
	}
	return nil
}

var _ = register(clamp8Hint)
