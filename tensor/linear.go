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

// OverflowError names the output element whose accumulator left [-2^31, 2^31).
type OverflowError struct {
	Row, Col int
	Acc      int64
}

func (e *OverflowError) Error() string {
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
	K, N, err := l.Dims()
	if err != nil {
		return nil, err
	}
	M, Ka, err := a.Matrix()
	if err != nil {
		return nil, fmt.Errorf("input: %w", err)
	}
	if Ka != K {
		return nil, fmt.Errorf("%w: input has %d columns, layer expects K = %d", ErrShape, Ka, K)
	}
	out := NewInt8(M, N)
	w, b, ep := l.Weight.Data, l.Bias.Data, l.Epilogue

	workers := min(runtime.GOMAXPROCS(0), max(M, 1))
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr *OverflowError
	)
	chunk := (M + workers - 1) / max(workers, 1)
	for start := 0; start < M; start += chunk {
		end := min(start+chunk, M)
		wg.Add(1)
		go func(start, end int) {
			defer wg.Done()
			for i := start; i < end; i++ {
				row := a.Data[i*K : (i+1)*K : (i+1)*K]
				orow := out.Data[i*N : (i+1)*N]
				for j := range N {
					acc := int64(b[j]) + dot(row, w[j*K:(j+1)*K:(j+1)*K])
					if acc < math.MinInt32 || acc > math.MaxInt32 {
						mu.Lock()
						if firstErr == nil || i < firstErr.Row || (i == firstErr.Row && j < firstErr.Col) {
							firstErr = &OverflowError{Row: i, Col: j, Acc: acc}
						}
						mu.Unlock()
						return
					}
					orow[j] = ep.Apply(int32(acc))
				}
			}
		}(start, end)
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
