package opcheck

// Argmax (ops.md §10) for one sampled output element.
//
// Constraints (R1CS, BN254, measured by TestArgmaxCost):
//
//	Argmax, capacity  128  1536 (12.0 per column)
//	Argmax, capacity 1024 12294 (12.0 per column)
//
// Per column: 9 for the 8-bit difference, 2 for the prefix mask [t < idx] (its bit and the
// step down) and 1 for its share of x_idx. (Prefix in pick.go checks the step with a product,
// 2 constraints; a boolean check of the step m[t-1] - m[t] is one.)

import (
	"github.com/consensys/gnark/frontend"
	"github.com/consensys/gnark/std/math/bits"
)

// Argmax asserts idx = argmax(x) (ops.md §10: the first maximum, smallest column on a tie),
// idx in [0, x.Width).
//
// The prover gives the mask lt_t = [t < idx] (prefixHint): each lt_t boolean, each step
// h_t = lt_{t-1} - lt_t (lt_{-1} = 1) boolean and sum_t lt_t = idx, so lt is idx ones and then
// zeros and h is the one-hot of idx (an idx >= C has h = 0, so M = 0 below and column 0 fails).
// With M = sum_t h_t P_t = P_idx for P_t = B_t + 256 In_t - 256, every column satisfies
// M - B_t - lt_t in [0, 256): M >= x_t everywhere and M > x_t before idx, so idx is the first
// maximum. A padding column (t >= width, B_t = 0, lt_t = 0 as idx < width) gives M itself, so
// no column needs gating; an idx >= width has P_idx = -256, whose difference at t = idx fails
// the 8-bit check.
func Argmax(api frontend.API, x Row, idx frontend.Variable) {
	C := x.Cap()
	if C < 1 || len(x.In) != C {
		panic("opcheck: Argmax row capacity and In length differ")
	}
	lt, err := api.Compiler().NewHint(prefixHint, C, idx)
	if err != nil {
		panic(err)
	}
	var count, m frontend.Variable = 0, 0
	var prev frontend.Variable = 1 // lt_{t-1}
	for t := range C {
		api.AssertIsBoolean(lt[t])
		h := api.Sub(prev, lt[t])
		if t > 0 { // h_0 = 1 - lt_0 is boolean with lt_0
			api.AssertIsBoolean(h)
		}
		count = api.Add(count, lt[t])
		m = api.Add(m, api.Mul(h, api.Sub(api.Add(x.B[t], api.Mul(x.In[t], 256)), 256)))
		prev = lt[t]
	}
	api.AssertIsEqual(count, idx)
	for t := range C {
		bits.ToBinary(api, api.Sub(api.Sub(m, x.B[t]), lt[t]), bits.WithNbDigits(8))
	}
}
