package ops

import (
	"errors"
	"math"
	"math/big"
	"testing"

	"github.com/probitylabs/probity/protocol"
	"github.com/probitylabs/probity/tensor"
)

func randInt8(rng *SplitMix64, shape ...int) *tensor.Int8 {
	t := tensor.NewInt8(shape...)
	for i := range t.Data {
		t.Data[i] = int8(rng.Next())
	}
	return t
}

func constInt8(v int8, shape ...int) *tensor.Int8 {
	t := tensor.NewInt8(shape...)
	for i := range t.Data {
		t.Data[i] = v
	}
	return t
}

func expTab(scale float64) ExpTable {
	var e ExpTable
	for d := range e {
		e[d] = int32(math.Round(ExpOne * math.Exp(-float64(d)*scale)))
	}
	return e
}

// TestRounding pins round half up on both signs, for shifts and for division.
func TestRounding(t *testing.T) {
	for _, c := range []struct {
		v    int64
		s    uint8
		want int64
	}{{3, 1, 2}, {-3, 1, -1}, {-5, 1, -2}, {5, 1, 3}, {-1, 1, 0}, {1, 1, 1}, {-6, 2, -1}, {-7, 2, -2}, {1<<61 + 1<<60, 62, 1}, {-(1 << 61), 62, 0}} {
		if got := rshr(c.v, c.s); got != c.want {
			t.Errorf("rshr(%d, %d) = %d, want %d", c.v, c.s, got, c.want)
		}
	}
	for _, c := range []struct{ a, b, want int64 }{{1, 2, 1}, {-1, 2, 0}, {3, 2, 2}, {-3, 2, -1}, {5, 3, 2}, {-5, 3, -2}, {4, 3, 1}, {-4, 3, -1}} {
		if got := rdiv(c.a, c.b); got != c.want {
			t.Errorf("rdiv(%d, %d) = %d, want %d", c.a, c.b, got, c.want)
		}
	}
}

// TestIsqrt checks the defining property against math/big at small values, around every
// perfect square near the top of the range and at the largest input.
func TestIsqrt(t *testing.T) {
	check := func(v uint64) {
		want := new(big.Int).Sqrt(new(big.Int).SetUint64(v)).Uint64()
		if got := isqrt(v); got != want {
			t.Fatalf("isqrt(%d) = %d, want %d", v, got, want)
		}
	}
	for v := range uint64(1 << 16) {
		check(v)
	}
	for r := uint64(3037000499); r > 3037000499-2000; r-- {
		check(r*r - 1)
		check(r * r)
		check(r*r + 1)
	}
	check(math.MaxInt64)
	check(1<<63 - 1<<20)
}

// TestLinearIsTensorLinear: with equal multipliers the op is v0's layer function, so both give
// the same bits; with per-column multipliers, column j is v0's layer with multiplier m[j].
func TestLinearIsTensorLinear(t *testing.T) {
	rng := &SplitMix64{State: 1}
	a, w := randInt8(rng, 7, 33), randInt8(rng, 9, 33)
	b := tensor.NewInt32(9)
	for i := range b.Data {
		b.Data[i] = int32(rng.Next()%20001) - 10000
	}
	ep := protocol.Epilogue{Multiplier: 12345, Shift: 22, ZeroPoint: -3}
	same := LinearParams{Multipliers: make([]uint32, 9), Shift: 22, ZeroPoint: -3}
	for j := range same.Multipliers {
		same.Multipliers[j] = 12345
	}
	got, err := Linear(a, w, b, same)
	if err != nil {
		t.Fatal(err)
	}
	want, err := tensor.Linear(a, tensor.Layer{Weight: w, Bias: b, Epilogue: ep})
	if err != nil || !got.Equal(want) {
		t.Fatalf("ops.Linear differs from tensor.Linear (%v)", err)
	}
	per := LinearParams{Multipliers: make([]uint32, 9), Shift: 22, ZeroPoint: -3}
	for j := range per.Multipliers {
		per.Multipliers[j] = 1000 + 777*uint32(j)
	}
	got, err = Linear(a, w, b, per)
	if err != nil {
		t.Fatal(err)
	}
	for j, m := range per.Multipliers {
		ej := ep
		ej.Multiplier = m
		col, err := tensor.Linear(a, tensor.Layer{Weight: w, Bias: b, Epilogue: ej})
		if err != nil {
			t.Fatal(err)
		}
		for i := range 7 {
			if got.Data[i*9+j] != col.Data[i*9+j] {
				t.Fatalf("row %d column %d: %d, want %d (multiplier %d)", i, j, got.Data[i*9+j], col.Data[i*9+j], m)
			}
		}
	}
}

// TestMatmulMatchesNaive compares the int16 kernel with the definition on both layouts, with
// nonzero zero points, causal or not, across row counts that split unevenly over cores (with
// fewer rows than keys, so the causal mask has a KV-cache offset).
func TestMatmulMatchesNaive(t *testing.T) {
	rng := &SplitMix64{State: 2}
	for _, causal := range []bool{false, true} {
		for _, transB := range []bool{false, true} {
			M, K, N := 13, 70, 5
			if causal && transB {
				N = 20 // 13 queries over 20 keys
			}
			a := randInt8(rng, M, K)
			b := randInt8(rng, K, N)
			if transB {
				b = randInt8(rng, N, K)
			}
			p := MatmulParams{ZeroA: -128, ZeroB: 17, TransB: transB, Causal: causal, Epilogue: protocol.Epilogue{Multiplier: 1 << 20, Shift: 40, ZeroPoint: 2}}
			got, err := Matmul(a, b, p)
			if err != nil {
				t.Fatal(err)
			}
			for i := range M {
				for j := range N {
					var acc int64
					for k := range K {
						if causal && !transB && k > i+K-M {
							continue // a masked term
						}
						bv := b.Data[k*N+j]
						if transB {
							bv = b.Data[j*K+k]
						}
						acc += (int64(a.Data[i*K+k]) + 128) * (int64(bv) - 17)
					}
					if causal && transB && j > i+N-M {
						acc = 0 // a masked output
					}
					if want := p.Epilogue.Apply(int32(acc)); got.Data[i*N+j] != want {
						t.Fatalf("causal %v transB %v (%d, %d): got %d, want %d", causal, transB, i, j, got.Data[i*N+j], want)
					}
				}
			}
		}
	}
}

// TestMatmulOverflowBoundary: with every centered product 65025, K = 33025 is the largest
// depth that fits int32 and K = 33026 overflows; the error names the first row in row-major
// order even when several rows, handled by different cores, overflow.
func TestMatmulOverflowBoundary(t *testing.T) {
	p := MatmulParams{ZeroA: 127, ZeroB: 127, TransB: true, Epilogue: protocol.Epilogue{Multiplier: 1, Shift: 24}}
	out, err := Matmul(constInt8(-128, 1, 33025), constInt8(-128, 1, 33025), p)
	if err != nil {
		t.Fatalf("K = 33025: %v", err)
	}
	if out.Data[0] != 127 {
		t.Fatalf("K = 33025: got %d, want saturation to 127", out.Data[0])
	}
	a := constInt8(127, 4, 33026) // centered 0: rows 0 and 3 stay in range
	for _, i := range []int{1, 2} {
		for k := range 33026 {
			a.Data[i*33026+k] = -128
		}
	}
	b := constInt8(-128, 2, 33026)
	b.Data[33026] = 127 // column 1 loses one product and fits again
	_, err = Matmul(a, b, p)
	var oe *tensor.OverflowError
	if !errors.As(err, &oe) || !errors.Is(err, tensor.ErrOverflow) {
		t.Fatalf("K = 33026: got %v, want an overflow error", err)
	}
	if oe.Row != 1 || oe.Col != 0 || oe.Acc != 33026*65025 {
		t.Fatalf("overflow at (%d, %d) acc %d, want (1, 0) acc %d", oe.Row, oe.Col, oe.Acc, 33026*65025)
	}
}

// TestSoftmaxRows checks the properties the encoding promises on random rows: masked elements
// are -128, codes are monotone in the input (the table decreases), and the probabilities sum
// to 256 within the rounding of each element.
func TestSoftmaxRows(t *testing.T) {
	rng := &SplitMix64{State: 3}
	for _, causal := range []bool{false, true} {
		M, N := 9, 40
		x := randInt8(rng, M, N)
		out, err := Softmax(x, SoftmaxParams{Table: expTab(0.03), Causal: causal})
		if err != nil {
			t.Fatal(err)
		}
		for i := range M {
			n := N
			if causal {
				n = i + N - M + 1
			}
			sum := 0
			for j := range N {
				q := out.Data[i*N+j]
				if j >= n {
					if q != -128 {
						t.Fatalf("masked (%d, %d) = %d", i, j, q)
					}
					continue
				}
				sum += int(q) + 128
				for k := range n {
					if x.Data[i*N+k] > x.Data[i*N+j] && out.Data[i*N+k] < q {
						t.Fatalf("row %d: larger input %d has smaller code", i, k)
					}
				}
			}
			if d := sum - 256; d < -n/2-1 || d > n/2+1 {
				t.Fatalf("row %d: probabilities sum to %d/256", i, sum)
			}
		}
	}
}

// TestSoftmaxLongestRow: at N = 2^16 the weight sum reaches its bound 2^31; all-equal rows
// then round 1/65536 of 256 down to 0 (code -128). One more column is a shape error.
func TestSoftmaxLongestRow(t *testing.T) {
	out, err := Softmax(constInt8(127, 1, maxRow), SoftmaxParams{Table: expTab(0.05)})
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range out.Data {
		if q != -128 {
			t.Fatalf("got %d, want -128", q)
		}
	}
	x := constInt8(0, 1, 512)
	if out, _ := Softmax(x, SoftmaxParams{Table: expTab(0.05)}); out.Data[0] != -127 {
		t.Fatalf("N = 512: 256/512 = 1/2 must round up to 1 (code -127), got %d", out.Data[0])
	}
	if _, err := Softmax(constInt8(0, 1, maxRow+1), SoftmaxParams{Table: expTab(0.05)}); !errors.Is(err, tensor.ErrShape) {
		t.Fatalf("N = 2^16+1: got %v, want a shape error", err)
	}
}

// normBig is §5 in math/big, with no bounds to rely on: the int64 implementation must agree
// with it at the largest magnitudes the parameter limits allow.
func normBig(row []int8, g, b []int32, s uint8, eps int64, rms bool, zx int8) []int8 {
	n := big.NewInt(int64(len(row)))
	s1 := new(big.Int)
	for _, v := range row {
		s1.Add(s1, big.NewInt(int64(v)))
	}
	c := make([]*big.Int, len(row))
	sq := new(big.Int)
	for j, v := range row {
		if rms {
			c[j] = new(big.Int).Mul(n, big.NewInt(int64(v)-int64(zx)))
		} else {
			c[j] = new(big.Int).Sub(new(big.Int).Mul(n, big.NewInt(int64(v))), s1)
		}
		sq.Add(sq, new(big.Int).Mul(c[j], c[j]))
	}
	d := new(big.Int).Quo(sq, n)
	r := new(big.Int).Sqrt(new(big.Int).Lsh(d.Add(d, big.NewInt(eps)), 16))
	out := make([]int8, len(row))
	half := new(big.Int).Lsh(big.NewInt(1), uint(s-1))
	for j := range row {
		nu := new(big.Int)
		if r.Sign() != 0 { // floor((2·c·2^20 + r) / (2r))
			num := new(big.Int).Add(new(big.Int).Lsh(c[j], 21), r)
			nu.Div(num, new(big.Int).Lsh(r, 1)) // Div is Euclidean: floor for a positive divisor
		}
		y := new(big.Int).Mul(nu, big.NewInt(int64(g[j])))
		y.Add(y, half).Rsh(y, uint(s)) // Rsh on big.Int floors negative values too
		y.Add(y, big.NewInt(int64(b[j])))
		out[j] = int8(max(-128, min(127, y.Int64())))
	}
	return out
}

// TestNormLargestMagnitudes runs both norms at N = 2^15 with -128/127 rows, gamma at both
// int32 extremes, shift 1..30 and eps 0 and 2^46, against the math/big definition.
func TestNormLargestMagnitudes(t *testing.T) {
	N := maxNormRow
	rng := &SplitMix64{State: 4}
	x := tensor.NewInt8(3, N)
	for j := range N {
		x.Data[j] = map[bool]int8{true: -128, false: 127}[j%2 == 0]
		x.Data[N+j] = -128
		x.Data[2*N+j] = int8(rng.Next())
	}
	x.Data[N] = 127 // one outlier: the largest |c| relative to D
	g, b := tensor.NewInt32(N), tensor.NewInt32(N)
	for j := range N {
		g.Data[j] = int32(rng.Next())
		b.Data[j] = int32(rng.Next()%256) - 128
	}
	g.Data[0], g.Data[1] = math.MaxInt32, math.MinInt32
	for _, rms := range []bool{false, true} {
		for _, s := range []uint8{1, 12, 30, 62} {
			for _, eps := range []int64{0, maxNormEps} {
				p := NormParams{Gamma: g, Beta: b, Shift: s, Eps: eps, ZeroX: 127}
				var out *tensor.Int8
				var err error
				if rms {
					out, err = RMSNorm(x, p)
				} else {
					out, err = LayerNorm(x, p)
				}
				if err != nil {
					t.Fatal(err)
				}
				for i := range 3 {
					want := normBig(x.Data[i*N:(i+1)*N], g.Data, b.Data, s, eps, rms, 127)
					for j, w := range want {
						if out.Data[i*N+j] != w {
							t.Fatalf("rms %v s %d eps %d (%d, %d): got %d, want %d", rms, s, eps, i, j, out.Data[i*N+j], w)
						}
					}
				}
			}
		}
	}
	if _, err := LayerNorm(tensor.NewInt8(1, N+1), NormParams{Gamma: tensor.NewInt32(N + 1), Beta: tensor.NewInt32(N + 1), Shift: 1}); !errors.Is(err, tensor.ErrShape) {
		t.Fatalf("N = 2^15+1: got %v, want a shape error", err)
	}
}

// TestNormVarianceZero: a constant row with eps 0 has r = 0 and outputs clamp8(beta); with
// eps > 0 it is the same, since every c is 0 either way.
func TestNormVarianceZero(t *testing.T) {
	b := &tensor.Int32{Shape: []int{3}, Data: []int32{-1000, 7, 1000}}
	g := &tensor.Int32{Shape: []int{3}, Data: []int32{math.MaxInt32, math.MaxInt32, math.MaxInt32}}
	for _, eps := range []int64{0, 5} {
		out, err := LayerNorm(constInt8(-128, 2, 3), NormParams{Gamma: g, Beta: b, Shift: 1, Eps: eps})
		if err != nil {
			t.Fatal(err)
		}
		if want := []int8{-128, 7, 127, -128, 7, 127}; !(&tensor.Int8{Shape: []int{2, 3}, Data: want}).Equal(out) {
			t.Fatalf("eps %d: got %v, want %v", eps, out.Data, want)
		}
	}
}

// TestAddMulSaturate drives add and mul to both int8 ends with the largest multipliers.
func TestAddMulSaturate(t *testing.T) {
	hi, lo := constInt8(127, 1, 2), constInt8(-128, 1, 2)
	out, err := Add(hi, hi, AddParams{MulA: math.MaxInt32, MulB: math.MaxInt32, Shift: 1, ZeroA: -128, ZeroB: -128})
	if err != nil || out.Data[0] != 127 {
		t.Fatalf("add high: %v %v", out, err)
	}
	out, err = Add(lo, lo, AddParams{MulA: math.MaxInt32, MulB: math.MaxInt32, Shift: 1, ZeroA: 127, ZeroB: 127})
	if err != nil || out.Data[0] != -128 {
		t.Fatalf("add low: %v %v", out, err)
	}
	out, err = Mul(lo, hi, MulParams{Mul: math.MaxInt32, Shift: 1, ZeroA: 127, ZeroB: -128})
	if err != nil || out.Data[0] != -128 {
		t.Fatalf("mul low: %v %v", out, err)
	}
	var pe *ParamError
	if _, err := Add(hi, hi, AddParams{MulA: 1, MulB: 0, Shift: 1}); !errors.As(err, &pe) || pe.Param != "mulB" {
		t.Fatalf("mulB 0: got %v", err)
	}
}

// TestArgmaxTies: the first maximum wins, also when every element is equal.
func TestArgmaxTies(t *testing.T) {
	x := &tensor.Int8{Shape: []int{3, 4}, Data: []int8{-128, -128, -128, -128, 2, 9, 1, 9, 127, 127, -1, 127}}
	out, err := Argmax(x)
	if err != nil {
		t.Fatal(err)
	}
	if want := []int32{0, 1, 0}; out.Data[0] != want[0] || out.Data[1] != want[1] || out.Data[2] != want[2] {
		t.Fatalf("got %v, want %v", out.Data, want)
	}
}

// TestEmbedErrors: the first bad position is named, with its id.
func TestEmbedErrors(t *testing.T) {
	table := constInt8(1, 4, 2)
	_, err := Embed(table, &tensor.Int32{Shape: []int{3}, Data: []int32{3, math.MaxInt32, -1}})
	var te *TokenError
	if !errors.As(err, &te) || !errors.Is(err, ErrToken) || te.Pos != 1 || te.ID != math.MaxInt32 || te.Vocab != 4 {
		t.Fatalf("got %v", err)
	}
}

// TestSplitMix64 pins the PRNG to the published reference outputs for seed 1234567
// (Vigna's splitmix64.c).
func TestSplitMix64(t *testing.T) {
	r := SplitMix64{State: 1234567}
	for i, want := range []uint64{6457827717110365317, 3203168211198807973, 9817491932198370423, 4593380528125082431, 16408922859458223821} {
		if got := r.Next(); got != want {
			t.Fatalf("output %d: got %d, want %d", i, got, want)
		}
	}
}

// TestSampleFrequencies: over many rows (one draw each) the empirical frequency of each token
// follows its table weight, top-k never draws outside the kept set, and k = 1 is argmax.
func TestSampleFrequencies(t *testing.T) {
	const rows = 20000
	logits := []int8{10, 0, 10, -5, 3, 10, -128}
	x := tensor.NewInt8(rows, len(logits))
	for i := range rows {
		copy(x.Data[i*len(logits):], logits)
	}
	tab := expTab(0.2)
	p := SampleParams{Table: tab, K: 4, Seed: 0xfeed}
	out, err := Sample(x, p)
	if err != nil {
		t.Fatal(err)
	}
	// kept: the three 10s and the 3 (index 4); weights 2^15, 2^15, 2^15, E[7]
	w := map[int32]float64{0: ExpOne, 2: ExpOne, 5: ExpOne, 4: float64(tab[7])}
	total := 3*float64(ExpOne) + float64(tab[7])
	count := map[int32]int{}
	for _, tok := range out.Data {
		if _, ok := w[tok]; !ok {
			t.Fatalf("drew token %d outside the top 4", tok)
		}
		count[tok]++
	}
	for tok, wt := range w {
		exp := rows * wt / total
		if d := float64(count[tok]) - exp; d*d > 25*exp { // within 5 standard deviations
			t.Fatalf("token %d drawn %d times, expected about %.0f", tok, count[tok], exp)
		}
	}
	p.K = 1
	out, _ = Sample(x, p)
	for _, tok := range out.Data {
		if tok != 0 {
			t.Fatalf("k = 1 drew %d, want the first maximum 0", tok)
		}
	}
}

// TestParamErrorsNameTheElement: table checks name the entry that is wrong.
func TestParamErrorsNameTheElement(t *testing.T) {
	tab := expTab(0.1)
	tab[200] = ExpOne + 1
	_, err := Softmax(constInt8(0, 1, 2), SoftmaxParams{Table: tab})
	var pe *ParamError
	if !errors.As(err, &pe) || pe.Param != "table[200]" || pe.Op != "softmax" {
		t.Fatalf("got %v", err)
	}
	if _, err := Sample(constInt8(0, 1, 2), SampleParams{Table: expTab(0.1), K: 3}); !errors.As(err, &pe) || pe.Param != "k" {
		t.Fatalf("k 3 of 2: got %v", err)
	}
}
