package gadgets

import (
	"errors"
	"math/big"

	"github.com/consensys/gnark/constraint/solver"
	"github.com/consensys/gnark/frontend"
	"github.com/consensys/gnark/std/math/bits"
)

func init() {
	solver.RegisterHint(GetHints()...)
}

// GetHints returns every hint the gadgets use; a prover must register them (init does).
func GetHints() []solver.Hint {
	return []solver.Hint{divModHint, floorDivHint, clampHint}
}

// divModHint returns (x / m, x mod m) for non-negative integers.
func divModHint(_ *big.Int, in, out []*big.Int) error {
	if len(in) != 2 || len(out) != 2 {
		return errors.New("divModHint: want 2 inputs and 2 outputs")
	}
	if in[1].Sign() == 0 {
		// Unsatisfiable anyway (the circuit requires m >= 1); return something well-defined.
		out[0].SetUint64(0)
		out[1].Set(in[0])
		return nil
	}
	out[0].QuoRem(in[0], in[1], out[1])
	return nil
}

// SampleHash returns h = S(SAMPLE; seed, s) for sample s (§6.3).
func SampleHash(sp *Sponge, seed frontend.Variable, s int) frontend.Variable {
	return sp.Hash(TagSample, seed, s)
}

// HashWords decomposes h canonically (all 254 bits, h < R enforced, so the prover cannot use
// h + R) and returns the bits of lo = h mod 2^64 and mid = (h >> 64) mod 2^64.
func HashWords(api frontend.API, h frontend.Variable) (lo, mid []frontend.Variable) {
	hb := bits.ToBinary(api, h) // full width: gnark adds the h < R check
	return hb[0:64], hb[64:128]
}

// ModVar reduces x (given by its 64 boolean bits) modulo a variable m with 1 <= m <= 2^d and
// returns the d bits of x mod m. q < 2^64, r < 2^d and m - 1 - r in [0, 2^d) make q*m + r = x
// exact over the integers (no wrap: q*m + r < 2^97), hence r = x mod m.
func ModVar(api frontend.API, xBits []frontend.Variable, m frontend.Variable, d int) []frontend.Variable {
	x := bits.FromBinary(api, xBits, bits.WithUnconstrainedInputs())
	qr, err := api.Compiler().NewHint(divModHint, 2, x, m)
	if err != nil {
		panic(err)
	}
	q, r := qr[0], qr[1]
	bits.ToBinary(api, q, bits.WithNbDigits(len(xBits)))
	rb := toBits(api, r, d)
	toBits(api, api.Sub(api.Sub(m, 1), r), d)
	api.AssertIsEqual(x, api.Add(api.Mul(q, m), r))
	return rb
}

// ModConst reduces x (its boolean bits) modulo the constant n >= 1 and returns the
// ceil(log2 n) bits of x mod n. A power of two costs nothing: the result is the low bits.
func ModConst(api frontend.API, xBits []frontend.Variable, n uint64) []frontend.Variable {
	if n == 0 {
		panic("gadgets: ModConst by zero")
	}
	d := ceilLog2(n)
	if n&(n-1) == 0 {
		return xBits[:d]
	}
	x := bits.FromBinary(api, xBits, bits.WithUnconstrainedInputs())
	qr, err := api.Compiler().NewHint(divModHint, 2, x, n)
	if err != nil {
		panic(err)
	}
	q, r := qr[0], qr[1]
	bits.ToBinary(api, q, bits.WithNbDigits(len(xBits)))
	rb := toBits(api, r, d)
	toBits(api, api.Sub(n-1, r), d)
	api.AssertIsEqual(x, api.Add(api.Mul(q, n), r))
	return rb
}

// toBits is ToBinary that also accepts d = 0 (then v must be 0).
func toBits(api frontend.API, v frontend.Variable, d int) []frontend.Variable {
	if d == 0 {
		api.AssertIsEqual(v, 0)
		return nil
	}
	return bits.ToBinary(api, v, bits.WithNbDigits(d))
}

// ceilLog2 returns ceil(log2 n) for n >= 1.
func ceilLog2(n uint64) int {
	d := 0
	for (uint64(1) << d) < n {
		d++
	}
	return d
}

// CeilLog2 is ceil(log2 n) for n >= 1, the depth of a layer-parameter tree (§4.3).
func CeilLog2(n uint64) int { return ceilLog2(n) }

// DivModHint exposes the (quotient, remainder) hint for circuits built on these gadgets.
func DivModHint() solver.Hint { return divModHint }

// FloorDivHint exposes the signed floor-division hint (floor(v / p), v mod p) for p > 0.
func FloorDivHint() solver.Hint { return floorDivHint }

// Signed reads a field element as an integer in (-R/2, R/2), as the hints do.
func Signed(field, x *big.Int) *big.Int { return signed(field, x) }

// FromBits recomposes boolean-constrained bits (least significant first); no bits is 0.
func FromBits(api frontend.API, b []frontend.Variable) frontend.Variable {
	if len(b) == 0 {
		return 0
	}
	return bits.FromBinary(api, b, bits.WithUnconstrainedInputs())
}
