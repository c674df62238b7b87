package opcheck

// layernorm and rmsnorm (ops.md §5) for one sampled output element.
//
// Cost of the gadget alone (R1CS constraints, BN254; TestNormConstraintCount logs them):
//
//	capacity   LayerNorm   RMSNorm
//	128        761         772
//	1024       2558        2569
//	3072       6657        6668
//
// That is 2 per row entry (one square for Σ B², one for picking B[j]) plus about 505 for the
// parameter ranges, the square root, the division and the output epilogue (RoundShift and
// AssertClamp8 about 190 of them).

import (
	"errors"
	"math/big"

	"github.com/consensys/gnark/frontend"
	"github.com/consensys/gnark/std/math/bits"
)

// maxNormWidth is ops.md §5's largest row length N.
const maxNormWidth = 1 << 15

var _ = register(isqrtHint)

// LayerNorm asserts out = layernorm(x)[j] + 128 (ops.md §5) for the row x of width N = x.Width
// (N in [1, 2^15]), the column j in [0, N), g and b the parameter leaf words g[j] + 2^31 and
// b[j] + 2^31 (model.md §4, kind 4 leaf; each checked to 32 bits), the shift s (checked to
// [1, 62]), eps (checked to [0, 2^46]) and the output byte out (checked to [0, 256)).
//
// With B the row's bytes x + 128, c_j = N x_j - S1 = N B_j - Σ B and
// D = N Σ x² - S1² = N Σ B² - (Σ B)²: both are invariant under the shift by 128, and the zero
// padding beyond N adds nothing to Σ B or Σ B², so the sums run over the whole capacity.
func LayerNorm(api frontend.API, x Row, j, g, b, shift, eps, out frontend.Variable) {
	n, sumB, sumSq, bj := normRow(api, x, j)
	c := api.Sub(api.Mul(n, bj), sumB)
	d := api.Sub(api.Mul(n, sumSq), api.Mul(sumB, sumB))
	normEpilogue(api, c, d, g, b, shift, eps, out)
}

// RMSNorm is LayerNorm with c_j = N (x_j - zx); zx is the descriptor word zx + 128 (checked to
// [0, 255]).
//
// With Z = zx + 128, x_t - zx = B_t - Z, so c_j = N (B_j - Z) and
// D = N Σ_{t<N} (B_t - Z)² = N (Σ B² - 2 Z Σ B + N Z²): the padding has B = 0 but would add Z²
// each, which is why the N Z² term counts only the N real entries.
func RMSNorm(api frontend.API, x Row, j, g, b, shift, eps, zx, out frontend.Variable) {
	bits.ToBinary(api, zx, bits.WithNbDigits(8))
	n, sumB, sumSq, bj := normRow(api, x, j)
	c := api.Mul(n, api.Sub(bj, zx))
	sq := api.Add(api.Sub(sumSq, api.Mul(2, zx, sumB)), api.Mul(n, zx, zx))
	d := api.Mul(n, sq)
	normEpilogue(api, c, d, g, b, shift, eps, out)
}

// normRow returns N, Σ B, Σ B² over the row and B[j], and constrains j to [0, N).
//
// N >= 1 follows from j < N; N <= 2^15 follows from N <= capacity unless the capacity is
// larger, and only then is it checked. Every quantity is then exact over the integers:
// Σ B < 2^23 and Σ B² < 2^31.
func normRow(api frontend.API, x Row, j frontend.Variable) (n, sumB, sumSq, bj frontend.Variable) {
	if x.Cap() > maxNormWidth {
		// N - 1 in [0, 2^15) is N in [1, 2^15].
		bits.ToBinary(api, api.Sub(x.Width, 1), bits.WithNbDigits(15))
	}
	// w[t] = B[t] + 256 In[t] is in [256, 512) for t < N and 0 beyond (padding bytes are 0), so
	// one Pick gives both B[j] and j < N: w[j] != 0, and then B[j] = w[j] - 256.
	w := make([]frontend.Variable, x.Cap())
	sq := make([]frontend.Variable, x.Cap())
	for t := range x.B {
		w[t] = api.Add(x.B[t], api.Mul(256, x.In[t]))
		sq[t] = api.Mul(x.B[t], x.B[t])
	}
	wj := Pick(api, w, j)
	api.AssertIsDifferent(wj, 0)
	return x.Width, normSum(api, x.B), normSum(api, sq), api.Sub(wj, 256)
}

// normSum adds the terms in one linear expression.
func normSum(api frontend.API, xs []frontend.Variable) frontend.Variable {
	switch len(xs) {
	case 0:
		return 0
	case 1:
		return xs[0]
	}
	return api.Add(xs[0], xs[1], xs[2:]...)
}

// normEpilogue checks the parameters and asserts out = clamp8(rshr(g nu, s) + b) + 128 for
// nu = r == 0 ? 0 : rdiv(c 2^20, r), r = isqrt((D + eps) 2^16), given the exact integers c
// (|c| < 2^23) and D (in [0, 2^46)).
func normEpilogue(api frontend.API, c, d, gw, bw, shift, eps, out frontend.Variable) {
	two31 := new(big.Int).Lsh(big.NewInt(1), 31)
	two46 := new(big.Int).Lsh(big.NewInt(1), 46)
	bits.ToBinary(api, gw, bits.WithNbDigits(32))
	bits.ToBinary(api, bw, bits.WithNbDigits(32))
	g, b := api.Sub(gw, two31), api.Sub(bw, two31)
	sh := NewShift(api, shift)
	// eps in [0, 2^47), and bit 46 set only for eps = 2^46 exactly.
	eb := bits.ToBinary(api, eps, bits.WithNbDigits(47))
	api.AssertIsEqual(api.Mul(eb[46], api.Sub(eps, two46)), 0)

	// r = isqrt(v), v = (D + eps) 2^16 in [0, 2^63). The circuit checks e = v - r² and 2r - e in
	// [0, 2^33), i.e. r² <= v <= r² + 2r < (r+1)². That bounds r without a check of its own:
	// m = e + (2r - e) = 2r is in [0, 2^34); for even m, r = m/2 < 2^33 is a small integer; for
	// odd m, r = m/2 in the field gives 4e = 4v - m² over the integers (all terms below 2^69),
	// impossible as m² is odd. So r < 2^33, r² does not wrap, and r is the floor square root,
	// below 2^31.5.
	v := api.Mul(api.Add(d, eps), 1<<16)
	rs, err := api.Compiler().NewHint(isqrtHint, 1, v)
	if err != nil {
		panic(err)
	}
	r := rs[0]
	e := api.Sub(v, api.Mul(r, r))
	bits.ToBinary(api, e, bits.WithNbDigits(33))
	bits.ToBinary(api, api.Sub(api.Mul(r, 2), e), bits.WithNbDigits(33))

	// nu = floor((c 2^21 + r) / (2r)) for r > 0. r = 0 means D + eps = 0, so D = 0, every c is
	// 0 and so is the numerator: dividing by 1 instead then gives nu = 0, as §5 says.
	// |num| < 2^45, den in [1, 2^33), |nu| < 2^20 (§5's bound), so num = nu den + rem with
	// rem in [0, den) holds over the integers and nu is the floor. Without the range of nu a
	// prover could pick any rem and the field quotient (num - rem) / den.
	den := api.Add(api.Mul(r, 2), api.IsZero(r))
	num := api.Add(api.Mul(c, 1<<21), r)
	qr, err := api.Compiler().NewHint(floorDivHint, 2, num, den)
	if err != nil {
		panic(err)
	}
	nu, rem := qr[0], qr[1]
	bits.ToBinary(api, api.Add(nu, 1<<20), bits.WithNbDigits(21))
	bits.ToBinary(api, rem, bits.WithNbDigits(33))
	bits.ToBinary(api, api.Sub(api.Sub(den, 1), rem), bits.WithNbDigits(33))
	api.AssertIsEqual(num, api.Add(api.Mul(nu, den), rem))

	// |g nu| < 2^31 * 744365 < 2^51; y = rshr(g nu, s) + b has |y| < 2^51.
	y := api.Add(RoundShift(api, api.Mul(g, nu), sh, 51), b)
	// AssertClamp8 relies on out being a byte; the gadget checks it rather than trust the caller.
	bits.ToBinary(api, out, bits.WithNbDigits(8))
	AssertClamp8(api, y, out)
}

// isqrtHint returns the floor square root of its input (a non-negative integer).
func isqrtHint(_ *big.Int, in, out []*big.Int) error {
	if len(in) != 1 || len(out) != 1 {
		return errors.New("isqrtHint: want 1 input and 1 output")
	}
	out[0].Sqrt(in[0])
	return nil
}
