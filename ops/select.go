package ops

import (
	"fmt"
	"math/bits"

	"github.com/probitylabs/probity/tensor"
)

// Argmax is specs/ops.md §10: per row, the column of the greatest value, the first on a tie.
func Argmax(x *tensor.Int8) (*tensor.Int32, error) {
	M, N, err := x.Matrix()
	if err != nil {
		return nil, fmt.Errorf("argmax: %w", err)
	}
	if N < 1 {
		return nil, fmt.Errorf("argmax: %w: empty rows", tensor.ErrShape)
	}
	out := tensor.NewInt32(M)
	for i := range M {
		row := x.Data[i*N : (i+1)*N]
		best := 0
		for j, v := range row {
			if v > row[best] { // strict: an equal value later never replaces the first
				best = j
			}
		}
		out.Data[i] = int32(best)
	}
	return out, nil
}

// SplitMix64 is the PRNG of specs/ops.md §11 (Steele, Lea and Flood, 2014). Its zero value is
// the stream of seed 0.
type SplitMix64 struct{ State uint64 }

// Next advances the state by the golden-ratio increment and returns its mixed value; all
// arithmetic wraps mod 2^64 by definition.
func (s *SplitMix64) Next() uint64 {
	s.State += 0x9e3779b97f4a7c15
	z := s.State
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// SampleParams are the exp table (with the temperature folded in), top-k and the 64-bit seed.
type SampleParams struct {
	Table ExpTable
	K     int
	Seed  uint64
}

// Sample is specs/ops.md §11: per row, keep the top k (value descending, index ascending),
// weight them by the table, draw u = ⌊x·W/2^64⌋ from the row's SplitMix64 output and return
// the first index whose cumulative weight exceeds u.
func Sample(x *tensor.Int8, p SampleParams) (*tensor.Int32, error) {
	if err := p.Table.Validate("sample"); err != nil {
		return nil, err
	}
	M, N, err := x.Matrix()
	if err != nil {
		return nil, fmt.Errorf("sample: %w", err)
	}
	if N < 1 || N > maxRow {
		return nil, fmt.Errorf("sample: %w: row length %d not in [1, 2^16]", tensor.ErrShape, N)
	}
	if p.K < 1 || p.K > N {
		return nil, paramErr("sample", "k", "%d not in [1, %d]", p.K, N)
	}
	out := tensor.NewInt32(M)
	rng := SplitMix64{State: p.Seed}
	w := make([]int64, N)
	for i := range M {
		row := x.Data[i*N : (i+1)*N]
		// The k-th largest value v* from a histogram of the 256 codes, then how many of the
		// elements equal to v* (the lowest indices) are kept: the spec's order without a sort.
		var hist [256]int
		for _, v := range row {
			hist[int(v)+128]++
		}
		vstar, greater := 127, 0
		for ; greater+hist[vstar+128] < p.K; vstar-- {
			greater += hist[vstar+128]
		}
		keepEq := p.K - greater
		mx := int8(vstar)
		for v := 127; v > vstar; v-- {
			if hist[v+128] > 0 {
				mx = int8(v)
				break
			}
		}
		var total int64 // <= N·2^15 <= 2^31
		for j, v := range row {
			w[j] = 0
			if int(v) > vstar || (int(v) == vstar && keepEq > 0) {
				if int(v) == vstar {
					keepEq--
				}
				w[j] = int64(p.Table[int(mx)-int(v)])
			}
			total += w[j]
		}
		hi, _ := bits.Mul64(rng.Next(), uint64(total))
		u := int64(hi) // ⌊x·W / 2^64⌋ < W
		var cum int64
		for j := range row {
			cum += w[j]
			if cum > u {
				out.Data[i] = int32(j)
				break
			}
		}
	}
	return out, nil
}
