package ops

import (
	"fmt"

	"github.com/probitylabs/probity/tensor"
)

// ExpOne is E[0] of an exp table: exp(0) = 1 in 15 fraction bits.
const ExpOne = 1 << 15

// maxRow bounds the row length of softmax and sample, so a row's weight sum stays in
// [2^15, 2^31] (specs/ops.md §4).
const maxRow = 1 << 16

// ExpTable is the 256-entry table E[d] ≈ 2^15·exp(-d·S) over max-subtracted int8 differences
// d in [0, 255], used by softmax (§4) and sample (§11).
type ExpTable [256]int32

// Validate checks E[0] = 2^15 and every entry in [0, 2^15].
func (t *ExpTable) Validate(op string) error {
	if t[0] != ExpOne {
		return paramErr(op, "table[0]", "is %d, must be 2^15", t[0])
	}
	for d, v := range t {
		if v < 0 || v > ExpOne {
			return paramErr(op, fmt.Sprintf("table[%d]", d), "is %d, not in [0, 2^15]", v)
		}
	}
	return nil
}

// SoftmaxParams are the exp table (which encodes the input scale) and the causal mask flag.
type SoftmaxParams struct {
	Table  ExpTable
	Causal bool
}

// Softmax is specs/ops.md §4: out[i][j] = clamp8(rdiv(256·E[mx-x], Σ) - 128), the TFLite int8
// encoding (scale 1/256, zero point -128). With Causal, element (i, j) is masked when
// j > i + N - M; a fully masked row is all -128.
func Softmax(x *tensor.Int8, p SoftmaxParams) (*tensor.Int8, error) {
	if err := p.Table.Validate("softmax"); err != nil {
		return nil, err
	}
	M, N, err := x.Matrix()
	if err != nil {
		return nil, fmt.Errorf("softmax: %w", err)
	}
	if N < 1 || N > maxRow {
		return nil, fmt.Errorf("softmax: %w: row length %d not in [1, 2^16]", tensor.ErrShape, N)
	}
	out := tensor.NewInt8(M, N)
	_ = forRows(M, func(lo, hi int) error {
		for i := lo; i < hi; i++ {
			row, orow := x.Data[i*N:(i+1)*N], out.Data[i*N:(i+1)*N]
			n := N // unmasked prefix length
			if p.Causal {
				n = min(N, max(0, i+N-M+1))
			}
			for j := n; j < N; j++ {
				orow[j] = -128
			}
			if n == 0 {
				continue
			}
			mx := row[0]
			for _, v := range row[1:n] {
				mx = max(mx, v)
			}
			// sum <= N·2^15 <= 2^31 and 512·w <= 2^24: int64 holds every step.
			var sum int64
			for _, v := range row[:n] {
				sum += int64(p.Table[int(mx)-int(v)])
			}
			for j, v := range row[:n] {
				orow[j] = clamp8(rdiv(256*int64(p.Table[int(mx)-int(v)]), sum) - 128)
			}
		}
		return nil
	})
	return out, nil
}
