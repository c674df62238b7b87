package main

import (
	"encoding/json"
	"math"
	"strconv"

	"github.com/probitylabs/probity/ops"
	"github.com/probitylabs/probity/ops/opsvec"
	"github.com/probitylabs/probity/tensor"
)

// ---- ops.json ----
//
// Inputs are drawn from a fixed SplitMix64 stream and the tables from their float definitions
// (specs/ops.md §4, §6); both are written into the file, so a checker needs neither. Expect,
// at and output come from the Go reference (package ops) through opsvec.Run, and
// tools/ops_ref.py recomputes them from the spec alone.

type opsGen struct {
	rng   ops.SplitMix64
	cases []opsvec.Case
}

func (g *opsGen) i8(shape ...int) opsvec.Tensor {
	t := tensor.NewInt8(shape...)
	for i := range t.Data {
		t.Data[i] = int8(g.rng.Next())
	}
	return opsvec.I8(t)
}

func (g *opsGen) i32(lo, hi int64, shape ...int) opsvec.Tensor {
	t := tensor.NewInt32(shape...)
	for i := range t.Data {
		t.Data[i] = int32(lo + int64(g.rng.Next()%uint64(hi-lo+1)))
	}
	return opsvec.I32(t)
}

func i8of(shape []int, data ...int64) opsvec.Tensor {
	return opsvec.Tensor{Dtype: "I8", Shape: shape, Data: append([]int64{}, data...)}
}

func i32of(shape []int, data ...int64) opsvec.Tensor {
	return opsvec.Tensor{Dtype: "I32", Shape: shape, Data: append([]int64{}, data...)}
}

func fill(n int, v int64) []int64 {
	d := make([]int64, n)
	for i := range d {
		d[i] = v
	}
	return d
}

// add runs the case through the reference and records its class, element and output.
func (g *opsGen) add(op, note string, params any, inputs map[string]opsvec.Tensor) {
	c := opsvec.Case{Op: op, Note: note, Params: must(json.Marshal(params)), Inputs: inputs}
	var err error
	c.Expect, c.At, c.Output, err = opsvec.Run(&c)
	if err != nil {
		fatal(err)
	}
	g.cases = append(g.cases, c)
}

// expTable is E[d] = round(2^15·exp(-d·scale)) (§4); the op never evaluates exp itself.
func expTable(scale float64) []int64 {
	t := make([]int64, 256)
	for d := range t {
		t[d] = int64(math.Round(ops.ExpOne * math.Exp(-float64(d)*scale)))
	}
	return t
}

// geluTable maps int8 codes of scale sIn to GELU codes of scale sOut (tanh form), saturated.
func geluTable(sIn, sOut float64) []int8 {
	t := make([]int8, 256)
	for q := -128; q < 128; q++ {
		x := float64(q) * sIn
		y := 0.5 * x * (1 + math.Tanh(math.Sqrt(2/math.Pi)*(x+0.044715*x*x*x)))
		t[q+128] = int8(max(-128, min(127, math.Round(y/sOut))))
	}
	return t
}

func opsVectors() any {
	g := &opsGen{rng: ops.SplitMix64{State: 0x0b5e55ed}}
	in := func(kv ...any) map[string]opsvec.Tensor {
		m := map[string]opsvec.Tensor{}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i].(string)] = kv[i+1].(opsvec.Tensor)
		}
		return m
	}
	ep := func(m uint32, s uint8, z int8, relu bool) opsvec.Epilogue {
		return opsvec.Epilogue{Multiplier: m, Shift: s, ZeroPoint: z, ReLU: relu}
	}

	// lin gives every one of n columns the multiplier m (the v0 case); per-column cases are
	// at the end, so adding them drew nothing from the stream before.
	lin := func(n int, m uint32, s uint8, z int8, relu bool) opsvec.LinearParams {
		ms := make([]uint32, n)
		for j := range ms {
			ms[j] = m
		}
		return opsvec.LinearParams{Multipliers: ms, Shift: s, ZeroPoint: z, ReLU: relu}
	}
	// linear (§2)
	g.add("linear", "random 3x8 by 4x8 with bias", lin(4, 13981, 22, 0, false),
		in("a", g.i8(3, 8), "w", g.i8(4, 8), "b", g.i32(-5000, 5000, 4)))
	g.add("linear", "relu with zero point -128, saturating both ends", lin(3, 1<<20, 20, -128, true),
		in("a", g.i8(2, 8), "w", g.i8(3, 8), "b", i32of([]int{3}, 0, 200, -200)))
	g.add("linear", "accumulator exactly 2^31-1 is valid; 2^31 at row 1, column 1 overflows",
		lin(2, 1, 31, 0, false),
		in("a", i8of([]int{2, 1}, 0, 1), "w", i8of([]int{2, 1}, 0, 1), "b", i32of([]int{2}, math.MaxInt32-1, math.MaxInt32)))
	g.add("linear", "accumulator -2^31 - 1 at row 0, column 0", lin(1, 1, 1, 0, false),
		in("a", i8of([]int{1, 1}, 1), "w", i8of([]int{1, 1}, -1), "b", i32of([]int{1}, math.MinInt32)))
	g.add("linear", "input K 8, weight K 7", lin(3, 1, 1, 0, false),
		in("a", g.i8(2, 8), "w", g.i8(3, 7), "b", g.i32(0, 0, 3)))
	g.add("linear", "multiplier 0", lin(3, 0, 1, 0, false),
		in("a", g.i8(2, 8), "w", g.i8(3, 8), "b", g.i32(0, 0, 3)))

	// matmul (§3)
	g.add("matmul", "A [3,5] by B [5,4], zero points 0", opsvec.MatmulParams{Epilogue: ep(1<<28, 40, 0, false)},
		in("a", g.i8(3, 5), "b", g.i8(5, 4)))
	g.add("matmul", "softmax output (zero point -128) by V stored [N,K]", opsvec.MatmulParams{ZeroA: -128, ZeroB: 3, TransB: true, Epilogue: ep(1<<24, 40, 5, false)},
		in("a", g.i8(2, 6), "b", g.i8(3, 6)))
	g.add("matmul", "largest centered products (-255)^2 saturate to 127", opsvec.MatmulParams{ZeroA: 127, ZeroB: 127, Epilogue: ep(1, 8, 0, false)},
		in("a", i8of([]int{1, 4}, -128, -128, -128, -128), "b", i8of([]int{4, 1}, -128, -128, -128, -128)))
	g.add("matmul", "K mismatch", opsvec.MatmulParams{Epilogue: ep(1, 1, 0, false)},
		in("a", g.i8(2, 3), "b", g.i8(4, 2)))
	g.add("matmul", "shift 63", opsvec.MatmulParams{Epilogue: ep(1, 63, 0, false)},
		in("a", g.i8(2, 3), "b", g.i8(3, 2)))

	// softmax (§4)
	e := expTable(0.05)
	g.add("softmax", "random 4x6, input scale 0.05", opsvec.SoftmaxParams{Table: e}, in("x", g.i8(4, 6)))
	g.add("softmax", "causal 4x4 (lower triangle)", opsvec.SoftmaxParams{Table: e, Causal: true}, in("x", g.i8(4, 4)))
	g.add("softmax", "causal 3 queries over 5 keys (KV cache offset 2)", opsvec.SoftmaxParams{Table: e, Causal: true}, in("x", g.i8(3, 5)))
	g.add("softmax", "causal 4 queries over 2 keys: rows 0 and 1 fully masked", opsvec.SoftmaxParams{Table: e, Causal: true}, in("x", g.i8(4, 2)))
	g.add("softmax", "all-equal rows of 3 and a row of one element (saturates to 127)", opsvec.SoftmaxParams{Table: e},
		in("x", i8of([]int{2, 3}, 7, 7, 7, -128, -128, -128)))
	g.add("softmax", "single column", opsvec.SoftmaxParams{Table: e}, in("x", i8of([]int{2, 1}, -128, 127)))
	g.add("softmax", "largest difference 255, table reaching 0", opsvec.SoftmaxParams{Table: expTable(0.1)},
		in("x", i8of([]int{2, 4}, 127, -128, 126, 127, -128, -128, -127, 127)))
	g.add("softmax", "ties at the rounding half: 256*w/sum = k + 1/2 rounds up", opsvec.SoftmaxParams{Table: expTable(100)},
		in("x", i8of([]int{1, 512}, fill(512, 0)...)))
	bad := append([]int64{}, e...)
	bad[0] = ops.ExpOne - 1
	g.add("softmax", "table[0] is not 2^15", opsvec.SoftmaxParams{Table: bad}, in("x", g.i8(1, 3)))
	bad = append([]int64{}, e...)
	bad[200] = ops.ExpOne + 1
	g.add("softmax", "table[200] above 2^15", opsvec.SoftmaxParams{Table: bad}, in("x", g.i8(1, 3)))
	bad = append([]int64{}, e...)
	bad[9] = -1
	g.add("softmax", "table[9] negative", opsvec.SoftmaxParams{Table: bad}, in("x", g.i8(1, 3)))
	g.add("softmax", "table of 255 entries", opsvec.SoftmaxParams{Table: e[:255]}, in("x", g.i8(1, 3)))
	g.add("softmax", "rows of length 0", opsvec.SoftmaxParams{Table: e}, in("x", i8of([]int{2, 0})))
	g.add("softmax", "no rows: empty output", opsvec.SoftmaxParams{Table: e, Causal: true}, in("x", i8of([]int{0, 3})))

	// layernorm and rmsnorm (§5)
	const N = 16
	g.add("layernorm", "random 3x16, shift 16", opsvec.NormParams{Shift: 16, Eps: 3},
		in("x", g.i8(3, N), "gamma", g.i32(1000, 3000, N), "beta", g.i32(-20, 20, N)))
	g.add("layernorm", "variance zero: eps 0 gives r = 0 and the output is beta", opsvec.NormParams{Shift: 16},
		in("x", i8of([]int{2, 4}, 5, 5, 5, 5, -128, -128, -128, -128), "gamma", i32of([]int{4}, 4096, 4096, 4096, 4096), "beta", i32of([]int{4}, -300, -1, 0, 300)))
	g.add("layernorm", "variance zero with eps 1", opsvec.NormParams{Shift: 16, Eps: 1},
		in("x", i8of([]int{1, 4}, 9, 9, 9, 9), "gamma", i32of([]int{4}, 4096, 4096, 4096, 4096), "beta", i32of([]int{4}, 0, 1, 2, 3)))
	alt := make([]int64, N)
	for i := range alt {
		alt[i] = map[bool]int64{true: -128, false: 127}[i%2 == 0]
	}
	g.add("layernorm", "largest magnitudes: -128/127 alternating, gamma +-(2^31-1), beta int32 extremes", opsvec.NormParams{Shift: 1, Eps: 1 << 46},
		in("x", i8of([]int{1, N}, alt...), "gamma", i32of([]int{N}, append(fill(N/2, math.MaxInt32), fill(N/2, -math.MaxInt32)...)...),
			"beta", i32of([]int{N}, append(fill(N-2, 0), math.MinInt32, math.MaxInt32)...)))
	g.add("layernorm", "one element: c = 0", opsvec.NormParams{Shift: 12},
		in("x", i8of([]int{1, 1}, 100), "gamma", i32of([]int{1}, 4096), "beta", i32of([]int{1}, 17)))
	g.add("layernorm", "rounding: nu * gamma lands on halves", opsvec.NormParams{Shift: 13},
		in("x", i8of([]int{1, 2}, -1, 1), "gamma", i32of([]int{2}, 1, 3), "beta", i32of([]int{2}, 0, 0)))
	g.add("layernorm", "shift 0", opsvec.NormParams{Shift: 0},
		in("x", g.i8(1, 4), "gamma", g.i32(0, 9, 4), "beta", g.i32(0, 9, 4)))
	g.add("layernorm", "eps 2^46 + 1", opsvec.NormParams{Shift: 1, Eps: 1<<46 + 1},
		in("x", g.i8(1, 4), "gamma", g.i32(0, 9, 4), "beta", g.i32(0, 9, 4)))
	g.add("layernorm", "gamma of 3 for rows of 4", opsvec.NormParams{Shift: 1},
		in("x", g.i8(1, 4), "gamma", g.i32(0, 9, 3), "beta", g.i32(0, 9, 4)))
	g.add("rmsnorm", "random 3x16, input zero point -5", opsvec.NormParams{Shift: 16, Eps: 100, ZeroX: -5},
		in("x", g.i8(3, N), "gamma", g.i32(-3000, 3000, N), "beta", g.i32(-3, 3, N)))
	g.add("rmsnorm", "every element equal to the zero point: output is beta", opsvec.NormParams{Shift: 16, ZeroX: 42},
		in("x", i8of([]int{1, 3}, 42, 42, 42), "gamma", i32of([]int{3}, 9999, 9999, 9999), "beta", i32of([]int{3}, -129, 5, 128)))
	g.add("rmsnorm", "largest magnitudes: all -128 with zero point 127", opsvec.NormParams{Shift: 2, ZeroX: 127},
		in("x", i8of([]int{1, 4}, -128, -128, -128, -128), "gamma", i32of([]int{4}, 1, 100, math.MaxInt32, math.MinInt32), "beta", i32of([]int{4}, 0, 0, 0, 0)))
	g.add("rmsnorm", "eps negative", opsvec.NormParams{Shift: 1, Eps: -1},
		in("x", g.i8(1, 4), "gamma", g.i32(0, 9, 4), "beta", g.i32(0, 9, 4)))

	// lut (§6)
	gelu := geluTable(0.05, 0.03)
	g.add("lut", "GELU, input scale 0.05, output scale 0.03, both extremes", opsvec.LUTParams{Table: gelu},
		in("x", i8of([]int{2, 5}, -128, -1, 0, 1, 127, 50, -50, 100, -100, 3)))
	g.add("lut", "rank-3 input keeps its shape", opsvec.LUTParams{Table: gelu}, in("x", g.i8(2, 2, 3)))
	g.add("lut", "table of 255 entries", opsvec.LUTParams{Table: gelu[:255]}, in("x", g.i8(1, 2)))

	// add (§7)
	g.add("add", "residual: two scales into a third", opsvec.AddParams{ZeroA: 3, ZeroB: -7, MulA: 3 << 28, MulB: 5 << 27, Shift: 30, ZeroOut: -2},
		in("a", g.i8(3, 4), "b", g.i8(3, 4)))
	g.add("add", "saturation both ends and halves rounding up", opsvec.AddParams{MulA: 1, MulB: 1, Shift: 1},
		in("a", i8of([]int{1, 6}, 127, -128, 1, -1, -3, 3), "b", i8of([]int{1, 6}, 127, -128, 0, 0, 0, 0)))
	g.add("add", "largest magnitudes: multipliers 2^31-1, sum -510*(2^31-1) just above -127.5 at shift 33 rounds to -127", opsvec.AddParams{ZeroA: 127, ZeroB: 127, MulA: math.MaxInt32, MulB: math.MaxInt32, Shift: 33},
		in("a", i8of([]int{1, 2}, -128, 127), "b", i8of([]int{1, 2}, -128, 127)))
	g.add("add", "shift 62 leaves only the output zero point", opsvec.AddParams{ZeroA: 127, ZeroB: -128, MulA: math.MaxInt32, MulB: math.MaxInt32, Shift: 62, ZeroOut: 127},
		in("a", i8of([]int{1, 2}, -128, 127), "b", i8of([]int{1, 2}, 127, -128)))
	g.add("add", "shapes differ", opsvec.AddParams{MulA: 1, MulB: 1, Shift: 1}, in("a", g.i8(2, 3), "b", g.i8(3, 2)))
	g.add("add", "mulB 2^31", opsvec.AddParams{MulA: 1, MulB: 1 << 31, Shift: 1}, in("a", g.i8(1, 2), "b", g.i8(1, 2)))

	// mul (§8)
	g.add("mul", "gate: SiLU output times up-projection", opsvec.MulParams{ZeroA: -10, ZeroB: 4, Mul: 1 << 26, Shift: 38, ZeroOut: 1},
		in("a", g.i8(3, 4), "b", g.i8(3, 4)))
	g.add("mul", "largest product 65025 times multiplier 2^31-1 at shift 40: 127", opsvec.MulParams{ZeroA: 127, ZeroB: 127, Mul: math.MaxInt32, Shift: 40},
		in("a", i8of([]int{1, 2}, -128, 127), "b", i8of([]int{1, 2}, -128, -128)))
	g.add("mul", "most negative product -65025 at shift 39 saturates to -128", opsvec.MulParams{ZeroA: 127, ZeroB: -128, Mul: math.MaxInt32, Shift: 39},
		in("a", i8of([]int{1, 2}, -128, 126), "b", i8of([]int{1, 2}, 127, 127)))
	g.add("mul", "halves: -3/2 rounds to -1, 3/2 to 2", opsvec.MulParams{Mul: 1, Shift: 1},
		in("a", i8of([]int{2}, -3, 3), "b", i8of([]int{2}, 1, 1)))
	g.add("mul", "shift 0", opsvec.MulParams{Mul: 1, Shift: 0}, in("a", g.i8(2), "b", g.i8(2)))

	// embed (§9)
	table := g.i8(5, 3)
	g.add("embed", "gather rows, repeated ids", opsvec.NoParams{}, in("table", table, "ids", i32of([]int{4}, 4, 0, 4, 2)))
	g.add("embed", "no tokens", opsvec.NoParams{}, in("table", table, "ids", i32of([]int{0})))
	g.add("embed", "id equal to V at position 2", opsvec.NoParams{}, in("table", table, "ids", i32of([]int{4}, 1, 2, 5, -1)))
	g.add("embed", "negative id at position 0", opsvec.NoParams{}, in("table", table, "ids", i32of([]int{2}, -1, 9)))
	g.add("embed", "ids not a vector", opsvec.NoParams{}, in("table", table, "ids", i32of([]int{1, 2}, 0, 1)))

	// argmax (§10)
	g.add("argmax", "ties go to the first maximum", opsvec.NoParams{},
		in("x", i8of([]int{4, 4}, 1, 5, 5, 0, -128, -128, -128, -128, 127, -3, 127, 127, 0, 1, 2, 3)))
	g.add("argmax", "random 3x7", opsvec.NoParams{}, in("x", g.i8(3, 7)))
	g.add("argmax", "rows of length 0", opsvec.NoParams{}, in("x", i8of([]int{1, 0})))

	// sample (§11)
	st := expTable(0.1)
	seed := func(s uint64) string { return strconv.FormatUint(s, 10) }
	logits := g.i8(4, 12)
	g.add("sample", "top-k 5, four rows drawn from one stream", opsvec.SampleParams{Table: st, K: 5, Seed: seed(42)}, in("x", logits))
	g.add("sample", "k = N (no truncation), seed 2^64-1", opsvec.SampleParams{Table: expTable(0.02), K: 12, Seed: seed(math.MaxUint64)}, in("x", logits))
	g.add("sample", "k = 1 is argmax, ties to the first index", opsvec.SampleParams{Table: st, K: 1, Seed: seed(7)},
		in("x", i8of([]int{2, 4}, 3, 9, 9, 1, -128, -128, -128, -128)))
	g.add("sample", "ties at the k-th value keep the lowest indices", opsvec.SampleParams{Table: expTable(0), K: 3, Seed: seed(1)},
		in("x", i8of([]int{3, 6}, 5, 2, 5, 5, 2, 5, 5, 2, 5, 5, 2, 5, 5, 2, 5, 5, 2, 5)))
	g.add("sample", "table zero beyond d = 0: only maxima can be drawn", opsvec.SampleParams{Table: append([]int64{ops.ExpOne}, fill(255, 0)...), K: 6, Seed: seed(99)},
		in("x", i8of([]int{2, 6}, 0, 8, 1, 8, 2, 3, 127, -128, 126, 127, 0, 0)))
	g.add("sample", "k 0", opsvec.SampleParams{Table: st, K: 0, Seed: seed(1)}, in("x", g.i8(1, 4)))
	g.add("sample", "k above N", opsvec.SampleParams{Table: st, K: 5, Seed: seed(1)}, in("x", g.i8(1, 4)))

	// Per-column linear multipliers (§2): each column its own scale.
	g.add("linear", "per-column multipliers, one of them 2^31-1", opsvec.LinearParams{Multipliers: []uint32{1 << 20, 3 << 18, math.MaxInt32, 12345}, Shift: 24, ZeroPoint: -3},
		in("a", g.i8(3, 8), "w", g.i8(4, 8), "b", g.i32(-5000, 5000, 4)))
	g.add("linear", "three multipliers for four columns", opsvec.LinearParams{Multipliers: []uint32{1, 1, 1}, Shift: 1},
		in("a", g.i8(2, 8), "w", g.i8(4, 8), "b", g.i32(0, 0, 4)))
	g.add("linear", "column 2's multiplier 2^31", opsvec.LinearParams{Multipliers: []uint32{1, 1, 1 << 31}, Shift: 1},
		in("a", g.i8(2, 8), "w", g.i8(3, 8), "b", g.i32(0, 0, 3)))

	// Causal matmul (§3): scores Q·Kᵀ with the future masked to epi(0), and P·V summing only
	// the visible rows; square and with a KV-cache offset.
	g.add("matmul", "causal Q·Kᵀ 4x4: j > i is epi(0) = zero point 5", opsvec.MatmulParams{TransB: true, Causal: true, Epilogue: ep(1<<24, 32, 5, false)},
		in("a", g.i8(4, 3), "b", g.i8(4, 3)))
	g.add("matmul", "causal Q·Kᵀ, 2 queries over 5 keys (offset 3)", opsvec.MatmulParams{ZeroA: 1, ZeroB: -1, TransB: true, Causal: true, Epilogue: ep(1<<24, 32, 0, false)},
		in("a", g.i8(2, 3), "b", g.i8(5, 3)))
	g.add("matmul", "causal P·V 3x3: row i sums t <= i", opsvec.MatmulParams{ZeroA: -128, ZeroB: 2, Causal: true, Epilogue: ep(1<<24, 32, 0, false)},
		in("a", g.i8(3, 3), "b", g.i8(3, 4)))
	g.add("matmul", "causal P·V, 2 rows over 4 (offset 2); a masked overflow is not computed", opsvec.MatmulParams{Causal: true, Epilogue: ep(1, 1, 0, false)},
		in("a", i8of([]int{2, 4}, 1, 1, 1, 127, 1, 1, 1, 1), "b", i8of([]int{4, 1}, 1, 1, 1, 127)))
	g.add("matmul", "causal Q·Kᵀ with more queries than keys: rows 0 and 1 fully masked", opsvec.MatmulParams{TransB: true, Causal: true, Epilogue: ep(1<<24, 32, -7, false)},
		in("a", g.i8(3, 2), "b", g.i8(1, 2)))

	return map[string]any{
		"generatedBy": generatedBy,
		"description": "the integer op set of specs/ops.md: each case has op, params, inputs (dtype, shape, row-major data), expect (ok, shape, param, overflow, token), at ([row, col] for overflow, [position] for token, else null) and output (null unless ok); tools/ops_ref.py reproduces this file byte for byte",
		"cases":       g.cases,
	}
}
