package opcheck

import (
	"math/big"
	"math/rand/v2"
	"testing"

	"github.com/consensys/gnark/frontend"
	"github.com/consensys/gnark/frontend/cs/r1cs"

	"github.com/probitylabs/probity/commit"
	"github.com/probitylabs/probity/ops"
	"github.com/probitylabs/probity/tensor"
)

// --- lut ---

// lutCircuit unpacks a table and looks up len(X) elements in it; Table, when set, must equal
// the whole unpacked table.
type lutCircuit struct {
	Words  [LutTableWords]frontend.Variable
	Table  []frontend.Variable
	X, Out []frontend.Variable
}

func (c *lutCircuit) Define(api frontend.API) error {
	table := LutTable(api, c.Words[:])
	for i := range c.Table {
		api.AssertIsEqual(table[i], c.Table[i])
	}
	for i := range c.X {
		Lut(api, table, c.X[i], c.Out[i])
	}
	return nil
}

func newLut(nTable, n int) *lutCircuit {
	return &lutCircuit{Table: make([]frontend.Variable, nTable), X: make([]frontend.Variable, n),
		Out: make([]frontend.Variable, n)}
}

// lutWords is model.md §3's d_7..d_15 for table: pack(table) with commit.PackRow.
func lutWords(table []int8) [LutTableWords]frontend.Variable {
	var ws [LutTableWords]frontend.Variable
	packed := commit.PackRow(table)
	if len(packed) != LutTableWords {
		panic("lut table does not pack to 9 words")
	}
	for j := range packed {
		ws[j] = commit.ToBig(packed[j])
	}
	return ws
}

func randomTable(rng *rand.Rand) []int8 {
	t := make([]int8, 256)
	for i := range t {
		t[i] = int8(rng.IntN(256) - 128)
	}
	return t
}

// LutTable unpacks the committed words into exactly the table's bytes, and Lut agrees with
// ops.LUT on every one of the 256 inputs, for random tables and the constant extremes.
func TestLutMatchesNative(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	x := tensor.NewInt8(1, 256)
	for i := range x.Data {
		x.Data[i] = int8(i - 128)
	}
	tables := [][]int8{make([]int8, 256), make([]int8, 256), make([]int8, 256)}
	for i := range 256 {
		tables[0][i] = -128
		tables[1][i] = 127
		tables[2][i] = int8(i - 128) // identity
	}
	for range 4 {
		tables = append(tables, randomTable(rng))
	}
	for _, table := range tables {
		want, err := ops.LUT(x, table)
		if err != nil {
			t.Fatal(err)
		}
		a := newLut(256, 256)
		a.Words = lutWords(table)
		for i := range 256 {
			a.Table[i] = int(table[i]) + 128
			a.X[i] = int(x.Data[i]) + 128
			a.Out[i] = int(want.Data[i]) + 128
		}
		if err := isSolved(newLut(256, 256), a); err != nil {
			t.Fatal(err)
		}
	}
	// Neighbours of the right output are refused, at the byte ends too.
	table := tables[3]
	for _, xi := range []int{0, 1, 127, 128, 254, 255} {
		for _, d := range []int{-1, 1} {
			a := newLut(0, 1)
			a.Words = lutWords(table)
			a.X[0], a.Out[0] = xi, int(table[xi])+128+d
			if isSolved(newLut(0, 1), a) == nil {
				t.Fatalf("x %d: out%+d accepted", xi, d)
			}
		}
	}
}

// A table word with bits past the bytes it holds is refused, even though its low bytes are
// the table's: d_7..d_14 below 2^248, d_15 below 2^64. So is an index outside [0, 256).
func TestLutRejectsNonCanonical(t *testing.T) {
	table := randomTable(rand.New(rand.NewPCG(5, 6)))
	for j := range LutTableWords {
		for _, extra := range []*big.Int{pow2(8 * lutWordBytes(j)), new(big.Int).Sub(fieldR, big.NewInt(1))} {
			a := newLut(256, 1)
			a.Words = lutWords(table)
			a.Words[j] = new(big.Int).Mod(new(big.Int).Add(a.Words[j].(*big.Int), extra), fieldR)
			for i := range 256 {
				a.Table[i] = int(table[i]) + 128
			}
			a.X[0], a.Out[0] = 31*j, int(table[31*j])+128
			if isSolved(newLut(256, 1), a) == nil {
				t.Fatalf("word %d + %v accepted", j, extra)
			}
		}
	}
	for _, xi := range []int64{256, -1, 511} {
		a := newLut(0, 1)
		a.Words = lutWords(table)
		a.X[0], a.Out[0] = xi, int(table[xi&255])+128
		if isSolved(newLut(0, 1), a) == nil {
			t.Fatalf("x = %d accepted", xi)
		}
	}
}

// --- add and mul ---

// ewParams are add's or mul's descriptor words as integers (mul uses MA only), possibly outside
// their ranges so a test can build the output the formula would give for them.
type ewParams struct {
	ZA, ZB, MA, MB, S, ZO int64 // zero points as words z+128
}

// ewRef evaluates ops.md §7 (mul false) or §8 (mul true) on bytes and words, over the
// integers, for any parameter values with s >= 1: the circuit's formula, out of range or not.
func ewRef(mul bool, a, b int64, p ewParams) int64 {
	var v *big.Int
	if mul {
		v = big.NewInt(p.MA)
		v.Mul(v, big.NewInt((a-p.ZA)*(b-p.ZB)))
	} else {
		v = new(big.Int).Mul(big.NewInt(p.MA), big.NewInt(a-p.ZA))
		v.Add(v, new(big.Int).Mul(big.NewInt(p.MB), big.NewInt(b-p.ZB)))
	}
	y := rshrRef(v, int(p.S))
	y.Add(y, big.NewInt(p.ZO-128))
	return clamp8Ref(y) + 128
}

type addCircuit struct {
	A, B, ZA, ZB, MA, MB, S, ZO, Out frontend.Variable
}

func (c *addCircuit) Define(api frontend.API) error {
	Add(api, c.A, c.B, c.ZA, c.ZB, c.MA, c.MB, c.S, c.ZO, c.Out)
	return nil
}

type mulCircuit struct {
	A, B, ZA, ZB, M, S, ZO, Out frontend.Variable
}

func (c *mulCircuit) Define(api frontend.API) error {
	Mul(api, c.A, c.B, c.ZA, c.ZB, c.M, c.S, c.ZO, c.Out)
	return nil
}

// ewAssign is the assignment of add's or mul's circuit for bytes a, b and out.
func ewAssign(mul bool, a, b int64, p ewParams, out int64) (frontend.Circuit, frontend.Circuit) {
	if mul {
		return &mulCircuit{}, &mulCircuit{A: a, B: b, ZA: p.ZA, ZB: p.ZB, M: p.MA, S: p.S, ZO: p.ZO, Out: out}
	}
	return &addCircuit{}, &addCircuit{A: a, B: b, ZA: p.ZA, ZB: p.ZB, MA: p.MA, MB: p.MB, S: p.S, ZO: p.ZO, Out: out}
}

// ewNative is ops.Add's or ops.Mul's output byte for int8 operands a, b (as bytes).
func ewNative(t *testing.T, mul bool, a, b int64, p ewParams) int64 {
	t.Helper()
	x, y := tensor.NewInt8(1, 1), tensor.NewInt8(1, 1)
	x.Data[0], y.Data[0] = int8(a-128), int8(b-128)
	var out *tensor.Int8
	var err error
	if mul {
		out, err = ops.Mul(x, y, ops.MulParams{ZeroA: int8(p.ZA - 128), ZeroB: int8(p.ZB - 128),
			Mul: uint32(p.MA), Shift: uint8(p.S), ZeroOut: int8(p.ZO - 128)})
	} else {
		out, err = ops.Add(x, y, ops.AddParams{ZeroA: int8(p.ZA - 128), ZeroB: int8(p.ZB - 128),
			MulA: uint32(p.MA), MulB: uint32(p.MB), Shift: uint8(p.S), ZeroOut: int8(p.ZO - 128)})
	}
	if err != nil {
		t.Fatal(err)
	}
	return int64(out.Data[0]) + 128
}

type ewCase struct {
	a, b int64
	p    ewParams
}

// ewCases are random instances (scales chosen so many outputs are unsaturated) and the
// extremes: both saturations, multipliers 1 and 2^31-1, shifts 1 and 62, zero points at both
// ends, ties, and outputs at the clamp boundaries.
func ewCases(rng *rand.Rand, mul bool) []ewCase {
	var cs []ewCase
	const mMax = 1<<31 - 1
	for _, za := range []int64{0, 128, 255} {
		for _, zo := range []int64{0, 128, 255} {
			for _, m := range []int64{1, mMax} {
				for _, s := range []int64{1, 31, 62} {
					for _, ab := range [][2]int64{{0, 0}, {255, 255}, {0, 255}, {255, 0}, {128, 128}, {200, 17}} {
						cs = append(cs, ewCase{ab[0], ab[1], ewParams{za, 255 - za, m, mMax + 1 - m, s, zo}})
					}
				}
			}
		}
	}
	for range 300 {
		s := int64(1 + rng.IntN(62))
		// m / 2^s around 2^-k: |v| / 2^s is then about 255 * 2^-k for add, 65025 * 2^-k for mul
		k := int64(rng.IntN(12) - 2)
		if mul {
			k += 8
		}
		mf := func() int64 {
			if e := s - k; e >= 0 && e <= 30 && rng.IntN(8) != 0 {
				return 1<<e + rng.Int64N(1<<e)
			}
			return 1 + rng.Int64N(mMax)
		}
		cs = append(cs, ewCase{rng.Int64N(256), rng.Int64N(256),
			ewParams{rng.Int64N(256), rng.Int64N(256), mf(), mf(), s, rng.Int64N(256)}})
	}
	// b's centred value: 0 for add (v is a's alone), 1 for mul (v = a's times 1)
	b0 := int64(128)
	if mul {
		b0 = 129
	}
	// Ties: m = 1, s = 1 and an odd v rounds half up, for negative v too.
	for _, a := range []int64{129, 127, 131, 125, 0, 255} {
		cs = append(cs, ewCase{a, b0, ewParams{128, 128, 1, 1, 1, 128}})
	}
	// The clamp boundaries y = 127, 128 (q = 1) and -128, -129 (q = -1), m = 1, s = 1.
	for _, y := range []int64{127, 128} {
		cs = append(cs, ewCase{130, b0, ewParams{128, 128, 1, 1, 1, 127 + y}}) // v = 2, q = 1
	}
	for _, y := range []int64{-128, -129} {
		cs = append(cs, ewCase{126, b0, ewParams{128, 128, 1, 1, 1, 129 + y}}) // v = -2, q = -1
	}
	return cs
}

func testElementwiseMatchesNative(t *testing.T, mul bool) {
	rng := rand.New(rand.NewPCG(8, 9))
	hi, lo, mid := 0, 0, 0
	for _, k := range ewCases(rng, mul) {
		want := ewNative(t, mul, k.a, k.b, k.p)
		if got := ewRef(mul, k.a, k.b, k.p); got != want {
			t.Fatalf("%+v: reference %d, ops %d", k, got, want)
		}
		switch want {
		case 255:
			hi++
		case 0:
			lo++
		default:
			mid++
		}
		c, a := ewAssign(mul, k.a, k.b, k.p, want)
		if err := isSolved(c, a); err != nil {
			t.Fatalf("%+v: out %d refused: %v", k, want, err)
		}
		for _, d := range []int64{-1, 1} {
			c, a := ewAssign(mul, k.a, k.b, k.p, want+d)
			if isSolved(c, a) == nil {
				t.Fatalf("%+v: out %d accepted, want %d", k, want+d, want)
			}
		}
	}
	if hi < 10 || lo < 10 || mid < 100 {
		t.Fatalf("cases cover too little: %d saturated high, %d low, %d inside", hi, lo, mid)
	}
}

// Add agrees with ops.Add on random and extreme instances and refuses the neighbours.
func TestAddMatchesNative(t *testing.T) { testElementwiseMatchesNative(t, false) }

// Mul agrees with ops.Mul on random and extreme instances and refuses the neighbours.
func TestMulMatchesNative(t *testing.T) { testElementwiseMatchesNative(t, true) }

// Each parameter just outside its range is refused, with the output the formula would give
// for it, so only the range check can refuse.
func TestElementwiseRejectsParams(t *testing.T) {
	base := ewParams{ZA: 100, ZB: 140, MA: 1 << 20, MB: 3 << 19, S: 22, ZO: 130}
	type mut struct {
		name string
		f    func(*ewParams)
	}
	muts := []mut{
		{"za 256", func(p *ewParams) { p.ZA = 256 }},
		{"za -1", func(p *ewParams) { p.ZA = -1 }},
		{"zb 256", func(p *ewParams) { p.ZB = 256 }},
		{"zb -1", func(p *ewParams) { p.ZB = -1 }},
		{"zo 256", func(p *ewParams) { p.ZO = 256 }},
		{"zo -1", func(p *ewParams) { p.ZO = -1 }},
		{"ma 0", func(p *ewParams) { p.MA = 0 }},
		{"ma 2^31", func(p *ewParams) { p.MA = 1 << 31 }},
		{"ma -1", func(p *ewParams) { p.MA = -1 }},
		{"mb 0", func(p *ewParams) { p.MB = 0 }},
		{"mb 2^31", func(p *ewParams) { p.MB = 1 << 31 }},
		{"mb -1", func(p *ewParams) { p.MB = -1 }},
		{"s 63", func(p *ewParams) { p.S = 63 }},
	}
	for _, mul := range []bool{false, true} {
		for _, m := range muts {
			if mul && m.name[:2] == "mb" {
				continue
			}
			for _, ab := range [][2]int64{{0, 255}, {200, 17}, {128, 128}, {255, 0}} {
				p := base
				m.f(&p)
				out := ewRef(mul, ab[0], ab[1], p)
				c, a := ewAssign(mul, ab[0], ab[1], p, out)
				if isSolved(c, a) == nil {
					t.Fatalf("mul %v, %s, a %d b %d: accepted", mul, m.name, ab[0], ab[1])
				}
			}
		}
		for _, s := range []int64{0, -1, 64} {
			for out := int64(0); out < 256; out += 51 {
				p := base
				p.S = s
				c, a := ewAssign(mul, 200, 17, p, out)
				if isSolved(c, a) == nil {
					t.Fatalf("mul %v, s %d, out %d: accepted", mul, s, out)
				}
			}
		}
	}
}

// A malicious prover's rounding or clamp through the whole add/mul gadget is refused.
func TestElementwiseMaliciousHints(t *testing.T) {
	for _, mul := range []bool{false, true} {
		p := ewParams{ZA: 100, ZB: 140, MA: 1 << 20, MB: 3 << 19, S: 22, ZO: 130}
		if mul {
			p.MA = 1 << 14
		}
		want := ewRef(mul, 200, 17, p)
		if want == 0 || want == 255 {
			t.Fatal("test instance saturates")
		}
		off := func(_ *big.Int, in, out []*big.Int) error {
			if err := floorDivHint(fieldR, in, out); err != nil {
				return err
			}
			out[0].Add(out[0], big.NewInt(1))
			out[1].Sub(out[1], in[1]) // keeps w = q 2^s + r
			out[1].Mod(out[1], fieldR)
			return nil
		}
		c, a := ewAssign(mul, 200, 17, p, want+1)
		if solveOverridden(t, c, a, floorDivHint, off) == nil {
			t.Fatalf("mul %v: q+1 accepted", mul)
		}
		sat := func(_ *big.Int, in, out []*big.Int) error {
			out[0].SetUint64(1)
			out[1].SetUint64(0)
			return nil
		}
		c, a = ewAssign(mul, 200, 17, p, 255)
		if solveOverridden(t, c, a, clamp8Hint, sat) == nil {
			t.Fatalf("mul %v: a false saturation accepted", mul)
		}
	}
}

// TestElementwiseCost records the R1CS size of each gadget (elementwise: no capacity
// dependence) and keeps it from growing unnoticed.
func TestElementwiseCost(t *testing.T) {
	for _, k := range []struct {
		name string
		c    frontend.Circuit
		max  int
	}{
		{"LutTable", newLut(0, 0), 2057},
		{"LutTable+Lut", newLut(0, 1), 2057 + 265},
		{"Add", &addCircuit{}, 265},
		{"Mul", &mulCircuit{}, 246},
	} {
		ccs, err := frontend.Compile(fieldR, r1cs.NewBuilder, k.c)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: %d constraints", k.name, ccs.GetNbConstraints())
		if n := ccs.GetNbConstraints(); n > k.max {
			t.Errorf("%s: %d constraints, more than %d", k.name, n, k.max)
		}
	}
}

// LutTable's bits are booleans: moving 256 from byte 1 into byte 0 of word 0 keeps the word
// (b_0 += 256, b_8 -= 1) but would make the table's first entry 256 + T[0].
func TestLutTableMaliciousBits(t *testing.T) {
	table := randomTable(rand.New(rand.NewPCG(10, 11)))
	table[1] |= 1 // byte 1 = T[1] + 128 odd: bit 8 of word 0 is set
	words := lutWords(table)
	b1 := int(table[1]) + 128
	if b1%2 == 0 {
		t.Fatal("test bug: byte 1 even")
	}
	honest := nBitsHint(t)
	bad := func(f *big.Int, in, out []*big.Int) error {
		if err := honest(f, in, out); err != nil {
			return err
		}
		if len(out) == 248 && in[0].Cmp(words[0].(*big.Int)) == 0 {
			out[0].Add(out[0], big.NewInt(256))
			out[8].Sub(out[8], big.NewInt(1))
		}
		return nil
	}
	a := newLut(256, 1)
	a.Words = words
	for i := range 256 {
		a.Table[i] = int(table[i]) + 128
	}
	a.Table[0] = int(table[0]) + 128 + 256
	a.Table[1] = b1 - 1
	a.X[0], a.Out[0] = 0, int(table[0])+128+256
	if solveOverridden(t, newLut(256, 1), a, honest, bad) == nil {
		t.Fatal("a non-boolean table bit accepted")
	}
}
