package ops

import (
	"fmt"

	"github.com/probitylabs/probity/tensor"
)

// maxNormRow and maxNormEps keep every intermediate of §5 below 2^63: |c| < 2^23,
// D < 2^46, (D + eps)·2^16 < 2^63.
const (
	maxNormRow = 1 << 15
	maxNormEps = 1 << 46
)

// NormParams are the per-column gamma and beta (beta with the output zero point folded in), the
// output shift, eps in units of N²·S_x², and, for rmsnorm only, the input zero point.
type NormParams struct {
	Gamma, Beta *tensor.Int32
	Shift       uint8
	Eps         int64
	ZeroX       int8
}

// LayerNorm is specs/ops.md §5 with c_j = N·x_j - Σx.
func LayerNorm(x *tensor.Int8, p NormParams) (*tensor.Int8, error) {
	return norm("layernorm", x, p, false)
}

// RMSNorm is specs/ops.md §5 with c_j = N·(x_j - zx).
func RMSNorm(x *tensor.Int8, p NormParams) (*tensor.Int8, error) { return norm("rmsnorm", x, p, true) }

func norm(op string, x *tensor.Int8, p NormParams, rms bool) (*tensor.Int8, error) {
	M, N, err := x.Matrix()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	if N < 1 || N > maxNormRow {
		return nil, fmt.Errorf("%s: %w: row length %d not in [1, 2^15]", op, tensor.ErrShape, N)
	}
	for _, v := range []struct {
		name string
		t    *tensor.Int32
	}{{"gamma", p.Gamma}, {"beta", p.Beta}} {
		if v.t == nil || len(v.t.Shape) != 1 || v.t.Shape[0] != N || len(v.t.Data) != N {
			return nil, fmt.Errorf("%s: %w: %s must be [%d]", op, tensor.ErrShape, v.name, N)
		}
	}
	if p.Shift < 1 || p.Shift > 62 {
		return nil, paramErr(op, "shift", "%d not in [1, 62]", p.Shift)
	}
	if p.Eps < 0 || p.Eps > maxNormEps {
		return nil, paramErr(op, "eps", "%d not in [0, 2^46]", p.Eps)
	}
	out := tensor.NewInt8(M, N)
	_ = forRows(M, func(lo, hi int) error {
		c := make([]int64, N)
		n := int64(N)
		for i := lo; i < hi; i++ {
			row := x.Data[i*N : (i+1)*N]
			var s1 int64
			for _, v := range row {
				s1 += int64(v)
			}
			var sq int64 // Σc² <= N·(255N)² < 2^61
			for j, v := range row {
				if rms {
					c[j] = n * (int64(v) - int64(p.ZeroX))
				} else {
					c[j] = n*int64(v) - s1
				}
				sq += c[j] * c[j]
			}
			// Σc² is N times an integer (N·Σx² - S1², resp. N·Σ(x-zx)²), so this is exact.
			d := sq / n
			r := int64(isqrt(uint64(d+p.Eps) << 16))
			orow := out.Data[i*N : (i+1)*N]
			for j := range row {
				var nu int64
				if r != 0 {
					nu = rdiv(c[j]<<20, r)
				}
				orow[j] = clamp8(rshr(int64(p.Gamma.Data[j])*nu, p.Shift) + int64(p.Beta.Data[j]))
			}
		}
		return nil
	})
	return out, nil
}
