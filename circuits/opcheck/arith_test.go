package opcheck

import (
	"math/big"
	"math/rand/v2"
	"testing"

	"github.com/consensys/gnark-crypto/ecc"
	"github.com/consensys/gnark/constraint/solver"
	"github.com/consensys/gnark/frontend"
	"github.com/consensys/gnark/frontend/cs/r1cs"
	"github.com/consensys/gnark/std/math/bits"
	"github.com/consensys/gnark/test"
)

// fieldR is the BN254 scalar field every test solves over.
var fieldR = ecc.BN254.ScalarField()

// isSolved runs the test engine (no compile) on c with assignment a.
func isSolved(c, a frontend.Circuit) error { return test.IsSolved(c, a, fieldR) }

// solveOverridden compiles c and solves a with hint h replaced by wrong: how a malicious
// prover deviates from an honest hint, which test.IsSolved cannot express.
func solveOverridden(t *testing.T, c, a frontend.Circuit, h, wrong solver.Hint) error {
	t.Helper()
	ccs, err := frontend.Compile(fieldR, r1cs.NewBuilder, c)
	if err != nil {
		t.Fatal(err)
	}
	w, err := frontend.NewWitness(a, fieldR)
	if err != nil {
		t.Fatal(err)
	}
	return ccs.IsSolved(w, solver.WithHints(GetHints()...), solver.OverrideHint(solver.GetHintID(h), wrong))
}

func pow2(k int) *big.Int { return new(big.Int).Lsh(big.NewInt(1), uint(k)) }

// rshrRef is ops.md §1's rshr(v, s) = floor((v + 2^(s-1)) / 2^s) on big integers.
func rshrRef(v *big.Int, s int) *big.Int {
	w := new(big.Int).Add(v, pow2(s-1))
	return w.Div(w, pow2(s)) // Euclidean division: the floor for a positive divisor
}

// --- NewShift ---

type shiftCircuit struct {
	S, Pow, Half frontend.Variable
}

func (c *shiftCircuit) Define(api frontend.API) error {
	sh := NewShift(api, c.S)
	api.AssertIsEqual(sh.S, c.S)
	api.AssertIsEqual(sh.Pow, c.Pow)
	api.AssertIsEqual(sh.Half, c.Half)
	// inv is 2^(62-s): RoundShift's remainder bound depends on it.
	api.AssertIsEqual(api.Mul(sh.inv, sh.Pow), pow2(62))
	return nil
}

// Every shift in [1, 62] gives 2^s and 2^(s-1); 0, 63 and anything past 6 bits are rejected.
func TestNewShiftRange(t *testing.T) {
	for s := 1; s <= 62; s++ {
		a := &shiftCircuit{S: s, Pow: pow2(s), Half: pow2(s - 1)}
		if err := isSolved(&shiftCircuit{}, a); err != nil {
			t.Fatalf("s = %d rejected: %v", s, err)
		}
		if isSolved(&shiftCircuit{}, &shiftCircuit{S: s, Pow: pow2(s + 1), Half: pow2(s)}) == nil {
			t.Fatalf("s = %d: a wrong power accepted", s)
		}
	}
	inv2 := new(big.Int).ModInverse(big.NewInt(2), fieldR)
	for _, s := range []int64{0, 63, 64, 65, 127, -1} {
		// 2^(low 6 bits of s) and its half: what NewShift computes from s's digits, so only
		// its range checks can refuse
		low := new(big.Int).Mod(new(big.Int).Mod(big.NewInt(s), fieldR), big.NewInt(64))
		pow := pow2(int(low.Int64()))
		half := new(big.Int).Mul(pow, inv2)
		half.Mod(half, fieldR)
		if isSolved(&shiftCircuit{}, &shiftCircuit{S: s, Pow: pow, Half: half}) == nil {
			t.Fatalf("s = %d accepted", s)
		}
	}
}

// --- RoundShift ---

// roundShiftCircuit checks len(V) round-shifts at once, all with bound VBits.
type roundShiftCircuit struct {
	V, S, Q []frontend.Variable
	vBits   int
}

func (c *roundShiftCircuit) Define(api frontend.API) error {
	for i := range c.V {
		api.AssertIsEqual(RoundShift(api, c.V[i], NewShift(api, c.S[i]), c.vBits), c.Q[i])
	}
	return nil
}

func newRoundShift(n, vBits int) *roundShiftCircuit {
	return &roundShiftCircuit{V: make([]frontend.Variable, n), S: make([]frontend.Variable, n),
		Q: make([]frontend.Variable, n), vBits: vBits}
}

type rsCase struct {
	v *big.Int
	s int
}

// rsCases are, for every shift, the extremes of the bound, the ties around 0 and random values.
func rsCases(rng *rand.Rand, vBits int) []rsCase {
	var cs []rsCase
	top := new(big.Int).Sub(pow2(vBits), big.NewInt(1))
	for s := 1; s <= 62; s++ {
		h := pow2(s - 1)
		for _, v := range []*big.Int{
			top, new(big.Int).Neg(top), big.NewInt(0), big.NewInt(1), big.NewInt(-1),
			h, new(big.Int).Neg(h), // ties: rounded up
			new(big.Int).Sub(h, big.NewInt(1)), new(big.Int).Sub(big.NewInt(1), h),
			new(big.Int).Mul(h, big.NewInt(3)), new(big.Int).Mul(h, big.NewInt(-3)),
			new(big.Int).Sub(top, h), // the largest |w|
			randBits(rng, vBits),
			new(big.Int).Neg(randBits(rng, vBits)),
		} {
			if v.CmpAbs(pow2(vBits)) < 0 {
				cs = append(cs, rsCase{v, s})
			}
		}
	}
	return cs
}

// randBits is a uniform integer in [0, 2^n).
func randBits(rng *rand.Rand, n int) *big.Int {
	v := new(big.Int)
	for i := 0; i < n; i += 64 {
		v.Lsh(v, 64).Or(v, new(big.Int).SetUint64(rng.Uint64()))
	}
	return v.Rsh(v, uint((64-n%64)%64))
}

// RoundShift agrees with rshr at both ends of its bound for every shift and every bound the
// gadgets use, and rejects q ± 1.
func TestRoundShiftMatchesRshr(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, vBits := range []int{1, 16, 40, 47, 64, 120} {
		cs := rsCases(rng, vBits)
		c, a := newRoundShift(len(cs), vBits), newRoundShift(len(cs), vBits)
		for i, k := range cs {
			a.V[i], a.S[i], a.Q[i] = k.v, k.s, rshrRef(k.v, k.s)
		}
		if err := isSolved(c, a); err != nil {
			t.Fatalf("vBits %d: %v", vBits, err)
		}
		for _, i := range []int{0, 1, len(cs) / 2, len(cs) - 1} {
			for _, d := range []int64{-1, 1} {
				k := cs[i]
				c1, a1 := newRoundShift(1, vBits), newRoundShift(1, vBits)
				a1.V[0], a1.S[0], a1.Q[0] = k.v, k.s, new(big.Int).Add(rshrRef(k.v, k.s), big.NewInt(d))
				if isSolved(c1, a1) == nil {
					t.Fatalf("vBits %d, v %v, s %d: q%+d accepted", vBits, k.v, k.s, d)
				}
			}
		}
	}
	// Past the bound the honest quotient no longer fits: the circuit refuses rather than wraps.
	c1, a1 := newRoundShift(1, 40), newRoundShift(1, 40)
	a1.V[0], a1.S[0] = pow2(41), 1
	a1.Q[0] = rshrRef(pow2(41), 1)
	if isSolved(c1, a1) == nil {
		t.Fatal("v = 2^41 with a 40-bit bound accepted")
	}
}

// A malicious floorDivHint: every plausible wrong (q, r) is rejected, whatever q the rest of
// the circuit expects.
func TestRoundShiftMaliciousHint(t *testing.T) {
	type wrong struct {
		name string
		f    func(w, p, q, r *big.Int) (*big.Int, *big.Int) // from the honest (q, r)
	}
	wrongs := []wrong{
		{"q-1, r+2^s", func(w, p, q, r *big.Int) (*big.Int, *big.Int) {
			return new(big.Int).Sub(q, big.NewInt(1)), new(big.Int).Add(r, p)
		}},
		{"q+1, r-2^s", func(w, p, q, r *big.Int) (*big.Int, *big.Int) {
			return new(big.Int).Add(q, big.NewInt(1)), new(big.Int).Sub(r, p)
		}},
		{"q+1, r", func(w, p, q, r *big.Int) (*big.Int, *big.Int) {
			return new(big.Int).Add(q, big.NewInt(1)), r
		}},
		{"q = (w-r-1)/2^s in the field, r+1", func(w, p, q, r *big.Int) (*big.Int, *big.Int) {
			r1 := new(big.Int).Add(r, big.NewInt(1))
			q1 := new(big.Int).Sub(w, r1)
			q1.Mul(q1, new(big.Int).ModInverse(p, fieldR))
			return q1.Mod(q1, fieldR), r1
		}},
	}
	for _, k := range []rsCase{{big.NewInt(1000), 4}, {big.NewInt(-1000), 4}, {big.NewInt(-5), 62}, {big.NewInt(7), 1}} {
		for _, wr := range wrongs {
			w := new(big.Int).Add(k.v, pow2(k.s-1))
			p := pow2(k.s)
			q, r := new(big.Int).DivMod(w, p, new(big.Int)) // Euclidean: the floor, as p > 0
			mq, mr := wr.f(w, p, q, r)
			if new(big.Int).Mod(new(big.Int).Sub(w, new(big.Int).Add(new(big.Int).Mul(mq, p), mr)), fieldR).Sign() != 0 {
				// every wrong answer but the plain q+1 keeps w = q*2^s + r in the field
				if wr.name != "q+1, r" {
					t.Fatalf("%s: test bug", wr.name)
				}
			}
			bad := func(_ *big.Int, in, out []*big.Int) error {
				out[0].Mod(mq, fieldR)
				out[1].Mod(mr, fieldR)
				return nil
			}
			c, a := newRoundShift(1, 40), newRoundShift(1, 40)
			a.V[0], a.S[0], a.Q[0] = k.v, k.s, new(big.Int).Mod(mq, fieldR)
			if solveOverridden(t, c, a, floorDivHint, bad) == nil {
				t.Fatalf("v %v s %d: %s accepted", k.v, k.s, wr.name)
			}
		}
		// the honest answer through the same override path is accepted
		c, a := newRoundShift(1, 40), newRoundShift(1, 40)
		a.V[0], a.S[0], a.Q[0] = k.v, k.s, rshrRef(k.v, k.s)
		if err := solveOverridden(t, c, a, floorDivHint, floorDivHint); err != nil {
			t.Fatal(err)
		}
	}
}

// --- AssertClamp8 ---

// clamp8Circuit does what a caller of AssertClamp8 does: Out is a checked byte.
// yBits 0 is AssertClamp8 itself, anything else AssertClamp8Bits with that bound.
type clamp8Circuit struct {
	Y, Out frontend.Variable
	yBits  int
}

func (c *clamp8Circuit) Define(api frontend.API) error {
	bits.ToBinary(api, c.Out, bits.WithNbDigits(8))
	if c.yBits == 0 {
		AssertClamp8(api, c.Y, c.Out)
	} else {
		AssertClamp8Bits(api, c.Y, c.Out, c.yBits)
	}
	return nil
}

func clamp8Ref(y *big.Int) int64 {
	if y.Cmp(big.NewInt(127)) > 0 {
		return 127
	}
	if y.Cmp(big.NewInt(-128)) < 0 {
		return -128
	}
	return y.Int64()
}

// AssertClamp8 accepts clamp8(y)+128 on each branch, at the boundaries 127/128/-128/-129 and
// at the ends of its 2^64 bound, and rejects the neighbours.
func TestAssertClamp8(t *testing.T) {
	m := new(big.Int).Sub(pow2(64), big.NewInt(1))
	ys := []*big.Int{m, new(big.Int).Neg(m), pow2(63), new(big.Int).Neg(pow2(63))}
	for _, y := range []int64{-1000, -130, -129, -128, -127, -1, 0, 1, 126, 127, 128, 129, 1000} {
		ys = append(ys, big.NewInt(y))
	}
	for _, y := range ys {
		want := clamp8Ref(y) + 128
		if err := isSolved(&clamp8Circuit{}, &clamp8Circuit{Y: y, Out: want}); err != nil {
			t.Fatalf("y = %v: %v", y, err)
		}
		for _, d := range []int64{-1, 1} {
			if o := want + d; o >= 0 && o < 256 {
				if isSolved(&clamp8Circuit{}, &clamp8Circuit{Y: y, Out: o}) == nil {
					t.Fatalf("y = %v: out %d accepted", y, o)
				}
			}
		}
	}
}

// AssertClamp8Bits accepts the ends of a tight bound and refuses a saturated y just past it
// (its branch inequality no longer fits the range check), so the bound is the caller's to keep.
func TestAssertClamp8Bits(t *testing.T) {
	for _, yBits := range []int{8, 40, 47} {
		m := new(big.Int).Sub(pow2(yBits), big.NewInt(1))
		for _, y := range []*big.Int{m, new(big.Int).Neg(m), big.NewInt(127), big.NewInt(128), big.NewInt(-128), big.NewInt(-129), big.NewInt(5)} {
			want := clamp8Ref(y) + 128
			if err := isSolved(&clamp8Circuit{yBits: yBits}, &clamp8Circuit{Y: y, Out: want}); err != nil {
				t.Fatalf("yBits %d, y = %v: %v", yBits, y, err)
			}
			if isSolved(&clamp8Circuit{yBits: yBits}, &clamp8Circuit{Y: y, Out: 255 - want}) == nil {
				t.Fatalf("yBits %d, y = %v: out %d accepted", yBits, y, 255-want)
			}
		}
		for _, y := range []*big.Int{new(big.Int).Add(pow2(yBits), big.NewInt(127)), new(big.Int).Neg(new(big.Int).Add(pow2(yBits), big.NewInt(128)))} {
			if isSolved(&clamp8Circuit{yBits: yBits}, &clamp8Circuit{Y: y, Out: clamp8Ref(y) + 128}) == nil {
				t.Fatalf("yBits %d, y = %v past the bound accepted", yBits, y)
			}
		}
	}
}

// A malicious clamp8Hint: a non-boolean branch bit, a branch whose inequality is false, both
// branches, or the middle branch outside [-128, 127] (there the caller's byte check refuses), is
// rejected; the out each would imply is given, so the test's expectation cannot be what refuses.
func TestAssertClamp8MaliciousHint(t *testing.T) {
	for _, k := range []struct {
		name   string
		y      int64
		hi, lo int64
		out    int64 // y - hi (y - 127) + lo (-128 - y) + 128
	}{
		{"hi = 2", 128, 2, 0, 128 - 2 + 128},
		{"hi = -1", 0, -1, 0, 0 - 127 + 128},
		{"lo = 2", -129, 0, 2, -129 + 2 + 128},
		{"hi for y = 0", 0, 1, 0, 255},
		{"lo for y = 0", 0, 0, 1, 0},
		{"hi for y = 126", 126, 1, 0, 255},
		{"lo for y = -127", -127, 0, 1, 0},
		{"hi and lo", 0, 1, 1, 0 + 127 - 128 + 128},
		{"middle for y = 128", 128, 0, 0, 256},
	} {
		bad := func(_ *big.Int, in, out []*big.Int) error {
			out[0].Mod(big.NewInt(k.hi), fieldR)
			out[1].Mod(big.NewInt(k.lo), fieldR)
			return nil
		}
		if solveOverridden(t, &clamp8Circuit{}, &clamp8Circuit{Y: k.y, Out: k.out}, clamp8Hint, bad) == nil {
			t.Fatalf("%s accepted", k.name)
		}
	}
	// At the boundaries the middle branch is a second honest answer with the same out.
	for _, y := range []int64{127, -128} {
		mid := func(_ *big.Int, in, out []*big.Int) error {
			out[0].SetUint64(0)
			out[1].SetUint64(0)
			return nil
		}
		if err := solveOverridden(t, &clamp8Circuit{}, &clamp8Circuit{Y: y, Out: y + 128}, clamp8Hint, mid); err != nil {
			t.Fatalf("y = %d, middle branch: %v", y, err)
		}
	}
}

// nBitsHint is gnark's binary-decomposition hint (behind every bits.ToBinary).
func nBitsHint(t *testing.T) solver.Hint {
	t.Helper()
	for _, h := range bits.GetHints() {
		if solver.GetHintName(h) == "github.com/consensys/gnark/std/math/bits.nBits" {
			return h
		}
	}
	t.Fatal("gnark's nBits hint not found")
	return nil
}

// NewShift's bits are booleans: s = 3 decomposed as the digits (3, 0, ..., 0) would make
// 2^s = 4.
func TestNewShiftMaliciousBits(t *testing.T) {
	honest := nBitsHint(t)
	bad := func(f *big.Int, in, out []*big.Int) error {
		if len(out) == 6 && in[0].Cmp(big.NewInt(3)) == 0 {
			for i := range out {
				out[i].SetUint64(0)
			}
			out[0].SetUint64(3)
			return nil
		}
		return honest(f, in, out)
	}
	if solveOverridden(t, &shiftCircuit{}, &shiftCircuit{S: 3, Pow: 4, Half: 2}, honest, bad) == nil {
		t.Fatal("s = 3 with 2^s = 4 accepted")
	}
	if err := solveOverridden(t, &shiftCircuit{}, &shiftCircuit{S: 3, Pow: 8, Half: 4}, honest, honest); err != nil {
		t.Fatal(err)
	}
}

// compilePanics reports whether compiling c fails (gnark turns a panic in Define into an
// error, or lets it through).
func compilePanics(c frontend.Circuit) (failed bool) {
	defer func() {
		if recover() != nil {
			failed = true
		}
	}()
	_, err := frontend.Compile(fieldR, r1cs.NewBuilder, c)
	return err != nil
}

// Bounds the primitives cannot keep below the field's half are refused at compile time.
func TestArithBoundsGuarded(t *testing.T) {
	if !compilePanics(newRoundShift(1, 121)) {
		t.Fatal("RoundShift with a 121-bit bound compiled")
	}
	if compilePanics(newRoundShift(1, 120)) {
		t.Fatal("RoundShift with a 120-bit bound refused")
	}
	for _, b := range []int{7, 121} {
		if !compilePanics(&clamp8Circuit{yBits: b}) {
			t.Fatalf("AssertClamp8Bits with bound %d compiled", b)
		}
	}
	for _, b := range []int{8, 120} {
		if compilePanics(&clamp8Circuit{yBits: b}) {
			t.Fatalf("AssertClamp8Bits with bound %d refused", b)
		}
	}
}
