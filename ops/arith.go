package ops

import (
	"math"
	"runtime"
	"sync"
)

// rshr is round-half-up division by 2^s (specs/ops.md §1): floor((v + 2^(s-1)) / 2^s). Callers
// keep |v| < 2^62 and s in [1, 62], so the addition cannot overflow; Go's arithmetic shift of a
// signed value is floor division.
func rshr(v int64, s uint8) int64 { return (v + int64(1)<<(s-1)) >> s }

// rdiv is round-half-up division a/b for b > 0: floor((2a + b) / (2b)). Callers keep |a| < 2^61.
func rdiv(a, b int64) int64 { return floorDiv(2*a+b, 2*b) }

// floorDiv rounds toward minus infinity, where Go's / truncates toward zero.
func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

func clamp8(v int64) int8 {
	if v < -128 {
		return -128
	}
	if v > 127 {
		return 127
	}
	return int8(v)
}

// isqrt is the floor square root of v < 2^63: the unique r with r² <= v < (r+1)². The float
// estimate is within a few units of the answer, and the two loops enforce the defining property
// exactly, so the result does not depend on float rounding. r < 2^31.5, so (r+1)² < 2^64 never
// overflows the unsigned arithmetic.
func isqrt(v uint64) uint64 {
	r := uint64(math.Sqrt(float64(v)))
	for r > 0 && r*r > v {
		r--
	}
	for (r+1)*(r+1) <= v {
		r++
	}
	return r
}

// forRows runs fn on contiguous row ranges of [0, M), one per core, and returns the error of
// the lowest range that failed. Each fn returns the first error of its own range in row order,
// so the result is the first failing row overall, as the spec requires, whatever the schedule.
func forRows(M int, fn func(lo, hi int) error) error {
	workers := min(runtime.GOMAXPROCS(0), M)
	if workers <= 1 {
		if M == 0 {
			return nil
		}
		return fn(0, M)
	}
	chunk := (M + workers - 1) / workers
	errs := make([]error, (M+chunk-1)/chunk)
	var wg sync.WaitGroup
	for w := range errs {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			errs[w] = fn(w*chunk, min((w+1)*chunk, M))
		}(w)
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
