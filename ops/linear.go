package ops

import (
	"fmt"
	"math"

	"github.com/probitylabs/probity/protocol"
	"github.com/probitylabs/probity/tensor"
)

// LinearParams are linear's requantization (specs/ops.md §2): one multiplier per output column
// (so each column's weights may have their own scale) and a shared shift, zero point and ReLU.
type LinearParams struct {
	Multipliers []uint32
	Shift       uint8
	ZeroPoint   int8
	ReLU        bool
}

// Epilogue is column j's epilogue (m[j], s, z, relu).
func (p LinearParams) Epilogue(j int) protocol.Epilogue {
	return protocol.Epilogue{Multiplier: p.Multipliers[j], Shift: p.Shift, ZeroPoint: p.ZeroPoint, ReLU: p.ReLU}
}

// Linear is specs/ops.md §2: out[i][j] = epi_j(b[j] + A[i]·W[j]) with W [N, K] and column j's
// epilogue (m[j], s, z, relu). Parameters are checked before any element is computed; the
// kernel is tensor's (tensor.Linear is the case of equal multipliers).
func Linear(a *tensor.Int8, w *tensor.Int8, b *tensor.Int32, p LinearParams) (*tensor.Int8, error) {
	if w == nil || len(w.Shape) != 2 || w.Check() != nil {
		return nil, fmt.Errorf("linear: %w: weight must be a matrix", tensor.ErrShape)
	}
	N := w.Shape[0]
	if len(p.Multipliers) != N {
		return nil, fmt.Errorf("linear: %w: %d multipliers for %d columns", tensor.ErrShape, len(p.Multipliers), N)
	}
	eps := make([]protocol.Epilogue, N)
	for j := range N {
		eps[j] = p.Epilogue(j)
		if err := eps[j].Validate(); err != nil {
			return nil, fmt.Errorf("linear: column %d: %w", j, err)
		}
	}
	out, err := tensor.LinearApply(a, w, b, func(j int, acc int32) int8 { return eps[j].Apply(acc) })
	if err != nil {
		return nil, fmt.Errorf("linear: %w", err)
	}
	return out, nil
}

// MatmulParams are the zero points of the two activations, B's layout and the output epilogue.
type MatmulParams struct {
	ZeroA, ZeroB int8
	// TransB says B is stored [N, K] (as K in Q·Kᵀ); otherwise it is [K, N] (as V in P·V).
	TransB bool
	// Causal masks the future (§3): with TransB, output (i, j) for j > i + N - M is epi(0);
	// without, the sum of row i stops at t = i + K - M. Either way row i reads only the
	// operands' rows it may see, which is what makes a decoder's trace equal to its KV-cached
	// decode steps.
	Causal   bool
	Epilogue protocol.Epilogue
}

// maxMatmulBlock is the number of centered products an int32 lane may sum: each is at most
// 255² = 65025 in magnitude, and 2^15 of them stay below 2^31.
const maxMatmulBlock = 1 << 15

// Matmul is specs/ops.md §3: out[i][j] = epi(Σ_t (A[i][t]-za)(Bt[j][t]-zb)), causally masked
// when p.Causal. Both operands are
// centered once into int16 with B in [N, K] order, so every output is a contiguous dot product
// (the layout tensor.Linear uses); rows are split across cores. The first accumulator outside
// int32, in row-major order, is returned as a *tensor.OverflowError.
func Matmul(a, b *tensor.Int8, p MatmulParams) (*tensor.Int8, error) {
	if err := p.Epilogue.Validate(); err != nil {
		return nil, fmt.Errorf("matmul: %w", err)
	}
	M, K, err := a.Matrix()
	if err != nil {
		return nil, fmt.Errorf("matmul: A: %w", err)
	}
	br, bc, err := b.Matrix()
	if err != nil {
		return nil, fmt.Errorf("matmul: B: %w", err)
	}
	N, Kb := bc, br
	if p.TransB {
		N, Kb = br, bc
	}
	if Kb != K {
		return nil, fmt.Errorf("matmul: %w: A is [%d, %d], B is %v (transB %v)", tensor.ErrShape, M, K, b.Shape, p.TransB)
	}
	ac := make([]int16, M*K)
	for i, v := range a.Data {
		ac[i] = int16(v) - int16(p.ZeroA)
	}
	bt := make([]int16, N*K)
	for j := range N {
		for t := range K {
			v := b.Data[t*N+j]
			if p.TransB {
				v = b.Data[j*K+t]
			}
			bt[j*K+t] = int16(v) - int16(p.ZeroB)
		}
	}
	out := tensor.NewInt8(M, N)
	err = forRows(M, func(lo, hi int) error {
		for i := lo; i < hi; i++ {
			row := ac[i*K : (i+1)*K]
			kEnd, jEnd := K, N // causal: terms t < kEnd, unmasked outputs j < jEnd
			if p.Causal && p.TransB {
				jEnd = min(N, max(0, i+N-M+1))
			} else if p.Causal {
				kEnd = min(K, max(0, i+K-M+1))
			}
			zero := p.Epilogue.Apply(0)
			for j := jEnd; j < N; j++ {
				out.Data[i*N+j] = zero
			}
			for j := range jEnd {
				acc := dot16(row[:kEnd], bt[j*K:j*K+kEnd])
				if acc < math.MinInt32 || acc > math.MaxInt32 {
					return fmt.Errorf("matmul: %w", &tensor.OverflowError{Row: i, Col: j, Acc: acc})
				}
				out.Data[i*N+j] = p.Epilogue.Apply(int32(acc))
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// dot16 sums centered products in int32 lanes over blocks of maxMatmulBlock terms (which
// cannot overflow, see there) and the blocks in int64.
func dot16(x, y []int16) int64 {
	y = y[:len(x)]
	var total int64
	for lo := 0; lo < len(x); lo += maxMatmulBlock {
		hi := min(len(x), lo+maxMatmulBlock)
		xs, ys := x[lo:hi], y[lo:hi]
		var s0, s1, s2, s3 int32
		i := 0
		for ; i+4 <= len(xs); i += 4 {
			s0 += int32(xs[i]) * int32(ys[i])
			s1 += int32(xs[i+1]) * int32(ys[i+1])
			s2 += int32(xs[i+2]) * int32(ys[i+2])
			s3 += int32(xs[i+3]) * int32(ys[i+3])
		}
		for ; i < len(xs); i++ {
			s0 += int32(xs[i]) * int32(ys[i])
		}
		total += int64(s0) + int64(s1) + int64(s2) + int64(s3)
	}
	return total
}
