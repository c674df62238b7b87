package tensor

import (
	"errors"
	"fmt"
	"math"
	"runtime"
	"sync"

	"github.com/probitylabs/probity/protocol"
)

// ErrOverflow reports an accumulator outside the int32 range (§3.2).
var ErrOverflow = errors.New("int32 accumulator overflow")

// OverflowError names the output element whose accumulator left [-2^31, 2^31); Row -1
// means a column whose accumulator some int8 input would take out of range (CheckNoOverflow).
type OverflowError struct {
	Row, Col int
	Acc      int64
}

func (e *OverflowError) Error() string {
	if e.Row < 0 {
		return fmt.Sprintf("%v possible in column %d: an int8 input can reach acc = %d", ErrOverflow, e.Col, e.Acc)
	}
	return fmt.Sprintf("%v at row %d, column %d: acc = %d", ErrOverflow, e.Row, e.Col, e.Acc)
}

func (e *OverflowError) Unwrap() error { return ErrOverflow }

// Layer is one quantized linear layer: Weight is [N, K] (PyTorch nn.Linear layout), Bias is [N].
type Layer struct {
	Weight   *Int8
	Bias     *Int32
	Epilogue protocol.Epilogue
}

// Dims returns (K, N) after checking the layer's tensors and epilogue.
func (l Layer) Dims() (K, N int, err error) {
	if l.Weight == nil || l.Bias == nil {
		return 0, 0, fmt.Errorf("%w: layer without weight or bias", ErrShape)
	}
	N, K, err = l.Weight.Matrix()
	if err != nil {
		return 0, 0, fmt.Errorf("weight: %w", err)
	}
	if len(l.Bias.Shape) != 1 || l.Bias.Shape[0] != N || len(l.Bias.Data) != N {
		return 0, 0, fmt.Errorf("%w: bias shape %v does not match weight rows %d", ErrShape, l.Bias.Shape, N)
	}
	if err := l.Epilogue.Validate(); err != nil {
		return 0, 0, err
	}
	return K, N, nil
}

// Linear computes out = epilogue(A·Wᵀ + b) exactly as §3.2 defines it. Rows are split across
// all cores. Each dot product is accumulated in int64, which cannot overflow for K < 2^48, and
// then checked against the int32 range the protocol fixes.
func Linear(a *Int8, l Layer) (*Int8, error) {
	if _, _, err := l.Dims(); err != nil {
		return nil, err
	}
	ep := l.Epilogue
	return LinearApply(a, l.Weight, l.Bias, func(_ int, acc int32) int8 { return ep.Apply(acc) })
}

// LinearApply computes out[i][j] = apply(j, b[j] + A[i]·W[j]) for W [N, K] and b [N]: Linear's
// kernel with the requantization left to the caller (v1's linear requantizes each column with
// its own multiplier). Rows are split across all cores; the first accumulator outside int32,
// in row-major order, is returned as an *OverflowError.
func LinearApply(a *Int8, wt *Int8, bias *Int32, apply func(j int, acc int32) int8) (*Int8, error) {
	if wt == nil || bias == nil {
		return nil, fmt.Errorf("%w: linear without weight or bias", ErrShape)
	}
	N, K, err := wt.Matrix()
	if err != nil {
		return nil, fmt.Errorf("weight: %w", err)
	}
	if len(bias.Shape) != 1 || bias.Shape[0] != N || len(bias.Data) != N {
		return nil, fmt.Errorf("%w: bias shape %v does not match weight rows %d", ErrShape, bias.Shape, N)
	}
	M, Ka, err := a.Matrix()
	if err != nil {
		return nil, fmt.Errorf("input: %w", err)
	}
	if Ka != K {
		return nil, fmt.Errorf("%w: input has %d columns, layer expects K = %d", ErrShape, Ka, K)
	}
	out := NewInt8(M, N)
	w, b := wt.Data, bias.Data

	// Work is split into blocks of rows and columns, one per core: by rows when there are
	// enough of them, by columns when there are few (a decode step computes one row).
	workers := runtime.GOMAXPROCS(0)
	rowParts := min(workers, max(M, 1))
	colParts := max(1, min(workers/rowParts, N))
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr *OverflowError
	)
	rchunk := (M + rowParts - 1) / rowParts
	cchunk := (N + colParts - 1) / colParts
	for start := 0; start < M; start += rchunk {
		for c0 := 0; c0 < N; c0 += cchunk {
			end, c1 := min(start+rchunk, M), min(c0+cchunk, N)
			wg.Add(1)
			go func(start, end, c0, c1 int) {
				defer wg.Done()
				// Tile the columns so a block of weight rows stays in cache across the rows.
				jb := max(1, (256<<10)/max(K, 1))
				var local *OverflowError
				for j0 := c0; j0 < c1; j0 += jb {
					j1 := min(j0+jb, c1)
					for i := start; i < end; i++ {
						row := a.Data[i*K : (i+1)*K : (i+1)*K]
						orow := out.Data[i*N : (i+1)*N]
						var accs [4]int64
						for j := j0; j < j1; j += 4 {
							n := min(4, j1-j)
							if n == 4 {
								accs[0], accs[1], accs[2], accs[3] = dot4(row, w[j*K:(j+1)*K], w[(j+1)*K:(j+2)*K], w[(j+2)*K:(j+3)*K], w[(j+3)*K:(j+4)*K])
							} else {
								for c := range n {
									accs[c] = dot(row, w[(j+c)*K:(j+c+1)*K:(j+c+1)*K])
								}
							}
							for c := range n {
								acc := int64(b[j+c]) + accs[c]
								if acc < math.MinInt32 || acc > math.MaxInt32 {
									if local == nil || i < local.Row || (i == local.Row && j+c < local.Col) {
										local = &OverflowError{Row: i, Col: j + c, Acc: acc}
									}
									break
								}
								orow[j+c] = apply(j+c, int32(acc))
							}
						}
					}
				}
				if local != nil {
					mu.Lock()
					if firstErr == nil || local.Row < firstErr.Row || (local.Row == firstErr.Row && local.Col < firstErr.Col) {
						firstErr = local
					}
					mu.Unlock()
				}
			}(start, end, c0, c1)
		}
	}
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	return out, nil
}

// dot accumulates in int32 lanes over blocks short enough not to overflow (|a*b| <= 2^14, so
// 2^16 terms stay below 2^31) and sums the blocks in int64.
func dot(x, y []int8) int64 {
	var total int64
	y = y[:len(x)]
	for len(x) > 0 {
		n := min(len(x), 1<<16)
		xs, ys := x[:n], y[:n]
		var s0, s1, s2, s3 int32
		i := 0
		for ; i+4 <= n; i += 4 {
			s0 += int32(xs[i]) * int32(ys[i])
			s1 += int32(xs[i+1]) * int32(ys[i+1])
			s2 += int32(xs[i+2]) * int32(ys[i+2])
			s3 += int32(xs[i+3]) * int32(ys[i+3])
		}
		for ; i < n; i++ {
			s0 += int32(xs[i]) * int32(ys[i])
		}
		total += int64(s0) + int64(s1) + int64(s2) + int64(s3)
		x, y = x[n:], y[n:]
	}
	return total
}

// dot4 computes four dot products of x with y0..y3 at once, loading each x value once. The
// int32 lanes hold at most 2^16 terms of magnitude 2^14 per block, as in dot.
func dot4(x, y0, y1, y2, y3 []int8) (r0, r1, r2, r3 int64) {
	n := len(x)
	y0, y1, y2, y3 = y0[:n], y1[:n], y2[:n], y3[:n]
	for lo := 0; lo < n; lo += 1 << 16 {
		hi := min(n, lo+1<<16)
		var s0, s1, s2, s3 int32
		for i := lo; i < hi; i++ {
			v := int32(x[i])
			s0 += v * int32(y0[i])
			s1 += v * int32(y1[i])
			s2 += v * int32(y2[i])
			s3 += v * int32(y3[i])
		}
		r0 += int64(s0)
		r1 += int64(s1)
		r2 += int64(s2)
		r3 += int64(s3)
	}
	return
}

// AccumulatorRange returns, for output column j, the least and greatest accumulator
// b_j + Σ_k W[j,k]·x_k over every int8 input x: a positive weight reaches its extremes at
// x = 127 and x = -128, a negative one the other way round. If every column's range lies in
// the int32 range, Linear cannot overflow whatever the input (the static half of the
// computability check of spec §10).
func (l Layer) AccumulatorRange(j int) (lo, hi int64) {
	_, K, _ := l.Weight.Matrix()
	lo, hi = int64(l.Bias.Data[j]), int64(l.Bias.Data[j])
	for _, w := range l.Weight.Data[j*K : (j+1)*K] {
		if w >= 0 {
			hi += 127 * int64(w)
			lo -= 128 * int64(w)
		} else {
			hi -= 128 * int64(w)
			lo += 127 * int64(w)
		}
	}
	return lo, hi
}

// CheckNoOverflow reports the first output column whose accumulator can leave the int32
// range for some int8 input, as an *OverflowError with Row -1 and the violating extreme.
// nil means Linear(x, l) is defined for every x.
func (l Layer) CheckNoOverflow() error {
	_, N, err := l.Dims()
	if err != nil {
		return err
	}
	for j := range N {
		lo, hi := l.AccumulatorRange(j)
		if lo < math.MinInt32 {
			return &OverflowError{Row: -1, Col: j, Acc: lo}
		}
		if hi > math.MaxInt32 {
			return &OverflowError{Row: -1, Col: j, Acc: hi}
		}
	}
	return nil
}
