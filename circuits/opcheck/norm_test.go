package opcheck

import (
	"math/big"
	"math/rand/v2"
	"testing"

	"github.com/consensys/gnark-crypto/ecc"
	"github.com/consensys/gnark/constraint"
	"github.com/consensys/gnark/constraint/solver"
	"github.com/consensys/gnark/frontend"
	"github.com/consensys/gnark/frontend/cs/r1cs"
	"github.com/consensys/gnark/test"
	"github.com/probitylabs/probity/ops"
	"github.com/probitylabs/probity/tensor"
)

// normCircuit runs LayerNorm (or RMSNorm) on one row of capacity len(B). LayerNorm leaves Zx
// unused, so compiling it needs frontend.IgnoreUnconstrainedInputs.
type normCircuit struct {
	B, In                                  []frontend.Variable
	Width, J, G, Beta, Shift, Eps, Zx, Out frontend.Variable
	rms                                    bool
}

func (c *normCircuit) Define(api frontend.API) error {
	x := Row{B: c.B, In: c.In, Width: c.Width}
	if c.rms {
		RMSNorm(api, x, c.J, c.G, c.Beta, c.Shift, c.Eps, c.Zx, c.Out)
	} else {
		LayerNorm(api, x, c.J, c.G, c.Beta, c.Shift, c.Eps, c.Out)
	}
	return nil
}

func newNormCircuit(rms bool, capacity int) *normCircuit {
	return &normCircuit{B: make([]frontend.Variable, capacity), In: make([]frontend.Variable, capacity), rms: rms}
}

func normPow2(k int) *big.Int { return new(big.Int).Lsh(big.NewInt(1), uint(k)) }

// normInst is one instance as the circuit sees it. Its fields may leave their ranges, so the
// rejection tests can compute what a circuit without the range check would accept.
type normInst struct {
	rms    bool
	cap    int
	row    []int64 // bytes x + 128 of the real entries; the rest of the capacity is 0
	width  int64   // N as the circuit is told (len(row) unless a test says otherwise)
	j      int64
	gw, bw *big.Int // leaf words g + 2^31, b + 2^31
	s      int64
	eps    *big.Int
	zw     int64 // zx + 128 (rmsnorm)
}

// normTrace is every intermediate of ops.md §5 as the circuit computes it.
type normTrace struct {
	c, d, v, r, num, den, nu, rem, gnu, w, q, y *big.Int
	out                                         int64 // clamp8(y) + 128
}

// normForce replaces intermediates (a cheating prover's choice); nil keeps the honest one.
type normForce struct{ r, nu, q *big.Int }

// trace computes the §5 chain on big integers the way the circuit does (B-form sums, the
// circuit's B[j] = w[j] - 256 for a column beyond the width), with forced intermediates.
func (in *normInst) trace(f normForce) normTrace {
	n := big.NewInt(in.width)
	sumB, sumSq := new(big.Int), new(big.Int)
	for _, v := range in.row {
		sumB.Add(sumB, big.NewInt(v))
		sumSq.Add(sumSq, big.NewInt(v*v))
	}
	bj := big.NewInt(-256)
	if in.j >= 0 && in.j < int64(len(in.row)) {
		bj.SetInt64(in.row[in.j])
	}
	var t normTrace
	if in.rms {
		z := big.NewInt(in.zw)
		t.c = new(big.Int).Mul(n, new(big.Int).Sub(bj, z))
		sq := new(big.Int).Sub(sumSq, new(big.Int).Mul(big.NewInt(2), new(big.Int).Mul(z, sumB)))
		sq.Add(sq, new(big.Int).Mul(n, new(big.Int).Mul(z, z)))
		t.d = new(big.Int).Mul(n, sq)
	} else {
		t.c = new(big.Int).Sub(new(big.Int).Mul(n, bj), sumB)
		t.d = new(big.Int).Sub(new(big.Int).Mul(n, sumSq), new(big.Int).Mul(sumB, sumB))
	}
	t.v = new(big.Int).Lsh(new(big.Int).Add(t.d, in.eps), 16)
	if f.r != nil {
		t.r = f.r
	} else {
		t.r = new(big.Int).Sqrt(t.v)
	}
	t.den = new(big.Int).Lsh(t.r, 1)
	if t.r.Sign() == 0 {
		t.den.SetInt64(1)
	}
	t.num = new(big.Int).Add(new(big.Int).Lsh(t.c, 21), t.r)
	t.nu, t.rem = new(big.Int), new(big.Int)
	t.nu.DivMod(t.num, t.den, t.rem) // Euclidean: the floor for a positive divisor
	if f.nu != nil {
		t.nu = f.nu
		t.rem = new(big.Int).Sub(t.num, new(big.Int).Mul(f.nu, t.den))
	}
	t.gnu = new(big.Int).Mul(new(big.Int).Sub(in.gw, normPow2(31)), t.nu)
	t.w = new(big.Int).Add(t.gnu, normPow2(int(in.s)-1))
	t.q = new(big.Int).Div(t.w, normPow2(int(in.s)))
	if f.q != nil {
		t.q = f.q
	}
	t.y = new(big.Int).Add(t.q, new(big.Int).Sub(in.bw, normPow2(31)))
	t.out = normClamp(t.y) + 128
	return t
}

func normClamp(y *big.Int) int64 {
	if y.Cmp(big.NewInt(127)) > 0 {
		return 127
	}
	if y.Cmp(big.NewInt(-128)) < 0 {
		return -128
	}
	return y.Int64()
}

// assign is the witness for instance in with output byte out.
func (in *normInst) assign(out int64) *normCircuit {
	a := newNormCircuit(in.rms, in.cap)
	for t := range a.B {
		a.B[t], a.In[t] = 0, 0
		if t < len(in.row) {
			a.B[t], a.In[t] = in.row[t], 1
		}
	}
	a.Width, a.J, a.G, a.Beta, a.Shift, a.Eps, a.Out = in.width, in.j, in.gw, in.bw, in.s, in.eps, out
	a.Zx = 0
	if in.rms {
		a.Zx = in.zw
	}
	return a
}

func (in *normInst) solve(out int64) error {
	return test.IsSolved(newNormCircuit(in.rms, in.cap), in.assign(out), ecc.BN254.ScalarField())
}

// normCase is a valid instance of the op over a whole row, for the native reference.
type normCase struct {
	rms  bool
	cap  int
	x    []int8
	g, b []int32
	s    uint8
	eps  int64
	zx   int8
	j    int
}

func (nc *normCase) inst() *normInst {
	row := make([]int64, len(nc.x))
	for t, v := range nc.x {
		row[t] = int64(v) + 128
	}
	return &normInst{
		rms: nc.rms, cap: nc.cap, row: row, width: int64(len(row)), j: int64(nc.j),
		gw: new(big.Int).Add(big.NewInt(int64(nc.g[nc.j])), normPow2(31)),
		bw: new(big.Int).Add(big.NewInt(int64(nc.b[nc.j])), normPow2(31)),
		s:  int64(nc.s), eps: big.NewInt(nc.eps), zw: int64(nc.zx) + 128,
	}
}

// native is ops.LayerNorm / ops.RMSNorm's output byte (+128) at column j.
func (nc *normCase) native(t *testing.T) int64 {
	t.Helper()
	N := len(nc.x)
	x := tensor.NewInt8(1, N)
	copy(x.Data, nc.x)
	g, b := tensor.NewInt32(N), tensor.NewInt32(N)
	copy(g.Data, nc.g)
	copy(b.Data, nc.b)
	p := ops.NormParams{Gamma: g, Beta: b, Shift: nc.s, Eps: nc.eps, ZeroX: nc.zx}
	var y *tensor.Int8
	var err error
	if nc.rms {
		y, err = ops.RMSNorm(x, p)
	} else {
		y, err = ops.LayerNorm(x, p)
	}
	if err != nil {
		t.Fatal(err)
	}
	return int64(y.Data[nc.j]) + 128
}

// check solves nc with the native output and rejects its two neighbours; it returns the output.
func (nc *normCase) check(t *testing.T, label string) int64 {
	t.Helper()
	in := nc.inst()
	want := nc.native(t)
	if got := in.trace(normForce{}).out; got != want {
		t.Fatalf("%s: trace says %d, ops says %d", label, got, want)
	}
	if err := in.solve(want); err != nil {
		t.Fatalf("%s: correct output %d rejected: %v", label, want, err)
	}
	for _, o := range []int64{want - 1, want + 1} {
		if o >= 0 && o < 256 && in.solve(o) == nil {
			t.Fatalf("%s: wrong output %d (want %d) accepted", label, o, want)
		}
	}
	return want
}

func normBitLen(g int32) int {
	v := int64(g)
	if v < 0 {
		v = -v
	}
	return new(big.Int).SetInt64(v).BitLen()
}

// randNormCase draws an instance mixing full-range and structured rows and parameters.
func randNormCase(rng *rand.Rand, rms bool, capacity int) *normCase {
	N := 1 + rng.IntN(capacity)
	switch rng.IntN(5) {
	case 0:
		N = capacity
	case 1:
		N = 1 + rng.IntN(min(capacity, 3))
	}
	nc := &normCase{rms: rms, cap: capacity, x: make([]int8, N), g: make([]int32, N), b: make([]int32, N)}
	nc.zx = int8(rng.IntN(256) - 128)
	center, spread := rng.IntN(256)-128, 1+rng.IntN(8)
	mode := rng.IntN(5)
	for t := range nc.x {
		switch mode {
		case 0, 1:
			nc.x[t] = int8(rng.IntN(256) - 128)
		case 2:
			nc.x[t] = int8(max(-128, min(127, center+rng.IntN(2*spread+1)-spread)))
		case 3:
			nc.x[t] = int8(center) // zero variance for layernorm
		case 4:
			nc.x[t] = [2]int8{-128, 127}[rng.IntN(2)]
		}
	}
	if mode == 3 && rng.IntN(2) == 0 {
		nc.zx = int8(center) // zero variance for rmsnorm too
	}
	for t := range nc.g {
		switch rng.IntN(4) {
		case 0:
			nc.g[t] = int32(rng.Uint32())
		case 1:
			nc.g[t] = 0
		default:
			k := rng.IntN(24)
			nc.g[t] = int32(rng.IntN(1<<k+1)) - int32(1<<k)/2
		}
		if rng.IntN(4) == 0 {
			nc.b[t] = int32(rng.Uint32())
		} else {
			nc.b[t] = int32(rng.IntN(401) - 200)
		}
	}
	nc.j = rng.IntN(N)
	if rng.IntN(3) == 0 {
		nc.s = uint8(1 + rng.IntN(62))
	} else {
		// about 6 significant bits left after the shift: outputs in the middle of the range
		nc.s = uint8(max(1, min(62, normBitLen(nc.g[nc.j])+12-rng.IntN(9))))
	}
	switch rng.IntN(5) {
	case 0, 1:
		nc.eps = 0
	case 2:
		nc.eps = rng.Int64N(1 << 10)
	case 3:
		nc.eps = rng.Int64N(1<<46 + 1)
	case 4:
		nc.eps = 1 << 46
	}
	return nc
}

// TestNormMatchesOps checks both gadgets against ops.LayerNorm / ops.RMSNorm on random rows
// and parameters (capacities 1, 8 and the non-power-of-two 13), the neighbours rejected, and
// that the draws reach every branch: both saturations, the middle, r = 0, negative nu and g,
// and rshr ties.
func TestNormMatchesOps(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 1))
	seen := map[string]bool{}
	for _, rms := range []bool{false, true} {
		for _, capacity := range []int{1, 8, 13} {
			for range 120 {
				nc := randNormCase(rng, rms, capacity)
				out := nc.check(t, "random")
				tr := nc.inst().trace(normForce{})
				seen["hi"] = seen["hi"] || out == 255
				seen["lo"] = seen["lo"] || out == 0
				seen["mid"] = seen["mid"] || (out > 0 && out < 255)
				seen["r0"] = seen["r0"] || tr.r.Sign() == 0
				seen["nu<0"] = seen["nu<0"] || tr.nu.Sign() < 0
				seen["g<0"] = seen["g<0"] || nc.g[nc.j] < 0
				seen["tie"] = seen["tie"] || (tr.gnu.Sign() != 0 && new(big.Int).Mod(tr.w, normPow2(int(nc.s))).Sign() == 0)
			}
		}
	}
	for _, k := range []string{"hi", "lo", "mid", "r0", "nu<0", "g<0", "tie"} {
		if !seen[k] {
			t.Errorf("random cases never hit %q", k)
		}
	}
}

// setTarget sets b[j] so that y = rshr(g nu, s) + b is target (the clamp's boundaries).
func (nc *normCase) setTarget(target int64) {
	q := nc.inst().trace(normForce{}).q.Int64()
	nc.b[nc.j] = int32(target - q)
}

// fixedCase is a layernorm/rmsnorm instance on a fixed row with mid-range outputs.
func fixedCase(rms bool, capacity int, x []int8, j int) *normCase {
	nc := &normCase{rms: rms, cap: capacity, x: x, g: make([]int32, len(x)), b: make([]int32, len(x)), s: 12, j: j}
	for t := range x {
		nc.g[t] = int32(3000 + 17*t)
		nc.b[t] = int32(5 - t)
	}
	return nc
}

// TestNormEdgeCases covers the branches the random draws reach only by chance: zero
// variance with eps = 0 (r = 0), N = 1, N = capacity with the largest magnitudes, gamma at
// both int32 extremes, the largest eps, shifts 1 and 62, rdiv ties of both signs and the
// clamp's boundaries.
func TestNormEdgeCases(t *testing.T) {
	for _, rms := range []bool{false, true} {
		// zero variance, eps = 0: r = 0, nu = 0, out = clamp8(b)
		flat := fixedCase(rms, 8, []int8{-7, -7, -7, -7, -7}, 3)
		flat.zx = -7
		for _, bv := range []int32{-300, -128, 0, 127, 300} {
			flat.b[flat.j] = bv
			flat.check(t, "zero variance")
			if r := flat.inst().trace(normForce{}).r; r.Sign() != 0 {
				t.Fatalf("zero variance: r = %v", r)
			}
		}
		// the same row with eps > 0: r > 0 but c = 0
		flat.eps = 1 << 46
		flat.check(t, "zero variance, eps")

		// N = 1
		for _, eps := range []int64{0, 1, 1 << 46} {
			one := fixedCase(rms, 8, []int8{100}, 0)
			one.eps, one.zx = eps, -28
			one.check(t, "N = 1")
		}
		// N = capacity = 1
		one := fixedCase(rms, 1, []int8{-128}, 0)
		one.zx = 127
		one.check(t, "capacity 1")

		// N = capacity (13, not a power of two), -128/127 alternating with one outlier
		x := make([]int8, 13)
		for k := range x {
			x[k] = [2]int8{-128, 127}[k%2]
		}
		x[1] = -128
		for _, j := range []int{0, 1, 12} {
			for _, s := range []uint8{1, 12, 30, 62} {
				for _, eps := range []int64{0, 1 << 46} {
					for _, g := range []int32{2147483647, -2147483648, -1, 1} {
						nc := fixedCase(rms, 13, x, j)
						nc.s, nc.eps, nc.zx, nc.g[j] = s, eps, 127, g
						nc.check(t, "extremes")
						nc.b[j] = [2]int32{2147483647, -2147483648}[j%2]
						nc.check(t, "extreme beta")
					}
				}
			}
		}

		// rdiv ties: eps = c² 2^26 - D makes r = |c| 2^21, so c 2^20 / r = ±1/2 exactly:
		// round half up gives nu = 1 for c > 0 and nu = 0 for c < 0.
		for j, wantNu := range map[int]int64{2: 1, 0: 0} {
			nc := fixedCase(rms, 8, []int8{-3, 0, 1, 2}, j)
			nc.g[j], nc.s = 1<<12, 12
			tr := nc.inst().trace(normForce{})
			nc.eps = new(big.Int).Sub(new(big.Int).Lsh(new(big.Int).Mul(tr.c, tr.c), 26), tr.d).Int64()
			tr = nc.inst().trace(normForce{})
			if tr.r.Cmp(new(big.Int).Lsh(new(big.Int).Abs(tr.c), 21)) != 0 || tr.nu.Int64() != wantNu {
				t.Fatalf("rdiv tie not constructed: c %v r %v nu %v", tr.c, tr.r, tr.nu)
			}
			nc.check(t, "rdiv tie")
		}

		// the clamp's boundaries
		for _, target := range []int64{126, 127, 128, 1 << 30, -127, -128, -129, -1 << 30} {
			nc := fixedCase(rms, 8, []int8{-50, 3, 77, 12, -1, 9}, 2)
			nc.setTarget(target)
			if y := nc.inst().trace(normForce{}).y.Int64(); y != target {
				t.Fatalf("clamp target %d: y = %d", target, y)
			}
			nc.check(t, "clamp boundary")
		}
	}
}

// TestNormMaxWidth runs a capacity beyond 2^15, where the gadget checks N <= 2^15 itself:
// N = 2^15 (ops.md's largest row) is accepted, N = 2^15 + 1 is not.
func TestNormMaxWidth(t *testing.T) {
	const capacity = maxNormWidth + 1
	rng := rand.New(rand.NewPCG(9, 9))
	x := make([]int8, capacity)
	for k := range x {
		x[k] = int8(rng.IntN(256) - 128)
	}
	nc := fixedCase(false, capacity, x[:maxNormWidth], maxNormWidth-1)
	nc.s = 16
	nc.check(t, "N = 2^15")
	in := fixedCase(false, capacity, x, 7).inst()
	in.s = 16
	if in.solve(in.trace(normForce{}).out) == nil {
		t.Fatal("N = 2^15 + 1 accepted")
	}
}

// rejectAll fails unless every output byte is rejected for in.
func rejectAll(t *testing.T, in *normInst, label string) {
	t.Helper()
	for o := range int64(256) {
		if in.solve(o) == nil {
			t.Fatalf("%s: output %d accepted", label, o)
		}
	}
}

// TestNormRejectsOutOfRange sets each parameter just outside its range, with the output a
// circuit lacking that range check would compute (so each check's deletion shows), and checks
// the boundary values inside the range are accepted.
func TestNormRejectsOutOfRange(t *testing.T) {
	x := []int8{-50, 3, 77, 12, -1, 9}
	for _, rms := range []bool{false, true} {
		base := func() *normCase {
			nc := fixedCase(rms, 8, x, 2)
			nc.zx = 4
			return nc
		}
		reject := func(in *normInst, label string) {
			t.Helper()
			if in.solve(in.trace(normForce{}).out) == nil {
				t.Fatalf("rms %v: %s accepted", rms, label)
			}
		}
		// inside: gamma and beta at the int32 extremes, eps = 2^46, shifts 1 and 62, zx ±
		for _, g := range []int32{2147483647, -2147483648} {
			nc := base()
			nc.g[nc.j], nc.b[nc.j], nc.s = g, g, 40
			nc.check(t, "int32 extremes")
		}
		for _, s := range []uint8{1, 62} {
			nc := base()
			nc.s = s
			nc.check(t, "shift bounds")
		}
		for _, zx := range []int8{-128, 127} {
			nc := base()
			nc.zx, nc.eps = zx, 1<<46
			nc.check(t, "zx bounds, eps 2^46")
		}

		for _, w := range []*big.Int{normPow2(32), big.NewInt(-1)} {
			in := base().inst()
			in.gw = w
			reject(in, "gamma word "+w.String())
			in = base().inst()
			in.bw = w
			reject(in, "beta word "+w.String())
		}
		for _, eps := range []*big.Int{new(big.Int).Add(normPow2(46), big.NewInt(1)), normPow2(47), big.NewInt(-1)} {
			in := base().inst()
			in.eps = eps
			reject(in, "eps "+eps.String())
		}
		if rms {
			for _, zw := range []int64{256, -1} {
				in := base().inst()
				in.zw = zw
				reject(in, "zx word")
			}
		}
		// s = 63: with 2^63 the remainder bound r*2^(62-63) < 2^62 still holds for an even w
		// below 2^62, so g = -2 (g nu negative and even) gives rshr = 0 and y = b.
		in := base().inst()
		in.gw, in.s = big.NewInt(-2+1<<31), 63
		reject(in, "shift 63")
		for _, s := range []int64{0, 64} {
			in := base().inst()
			in.s = s
			rejectAll(t, in, "shift")
		}
		// j = N: w[j] = 0. With eps = 2^46, r is about 2^31 and the circuit's B[j] = -256 gives a
		// small nu, so only the j < N check rejects it.
		in = base().inst()
		in.j, in.eps = int64(len(x)), normPow2(46)
		reject(in, "j = N")
		for _, j := range []int64{-1, 8} {
			in := base().inst()
			in.j = j
			rejectAll(t, in, "j outside the capacity")
		}
		in1 := fixedCase(rms, 1, []int8{40}, 0).inst()
		in1.j = 1
		rejectAll(t, in1, "j outside capacity 1")
		// an empty row: width 0 fails j < N
		in = base().inst()
		in.row, in.width, in.j = nil, 0, 0
		rejectAll(t, in, "N = 0")
	}
}

// normSolveWith solves the compiled circuit for in and out with hint h replaced by wrong.
func normSolveWith(t *testing.T, ccs constraint.ConstraintSystem, in *normInst, out int64, h, wrong solver.Hint) error {
	t.Helper()
	w, err := frontend.NewWitness(in.assign(out), ecc.BN254.ScalarField())
	if err != nil {
		t.Fatal(err)
	}
	if h == nil {
		return ccs.IsSolved(w)
	}
	return ccs.IsSolved(w, solver.OverrideHint(solver.GetHintID(h), wrong))
}

// divOverride is floorDivHint except for the division by den, where it answers (q, rem)
// (reduced into the field).
func divOverride(den, q, rem *big.Int) solver.Hint {
	return func(field *big.Int, in, out []*big.Int) error {
		if err := floorDivHint(field, in, out); err != nil {
			return err
		}
		if in[1].Cmp(den) == 0 {
			out[0].Mod(q, field)
			out[1].Mod(rem, field)
		}
		return nil
	}
}

// clampOverride answers the clamp's branch bits (hi, lo).
func clampOverride(hi, lo int64) solver.Hint {
	return func(_ *big.Int, _, out []*big.Int) error {
		out[0].SetInt64(hi)
		out[1].SetInt64(lo)
		return nil
	}
}

// TestNormMaliciousHints replaces each hint's answer by a plausible wrong one, sets the output
// to what the wrong answer leads to, and checks the circuit rejects it: the square root off by
// one, the quotient nu off by one with and without its remainder following, a field quotient
// nu (the remainder shifted, made visible by g = 2r), RoundShift's quotient off by one, and
// every wrong clamp branch.
func TestNormMaliciousHints(t *testing.T) {
	ccs, err := frontend.Compile(ecc.BN254.ScalarField(), r1cs.NewBuilder, newNormCircuit(false, 8), frontend.IgnoreUnconstrainedInputs())
	if err != nil {
		t.Fatal(err)
	}
	one := big.NewInt(1)
	nc := fixedCase(false, 8, []int8{-50, 3, 77, 12, -1, 9}, 2)
	nc.s = 10
	in := nc.inst()
	tr := in.trace(normForce{})
	if err := normSolveWith(t, ccs, in, tr.out, nil, nil); err != nil {
		t.Fatalf("honest witness rejected: %v", err)
	}
	if tr.nu.Cmp(big.NewInt(1000)) < 0 || tr.den.Cmp(normPow2(int(in.s))) == 0 {
		t.Fatalf("base instance too small to attack: nu %v, den %v", tr.nu, tr.den)
	}
	expectReject := func(label string, in *normInst, out int64, h, wrong solver.Hint) {
		t.Helper()
		if normSolveWith(t, ccs, in, out, h, wrong) == nil {
			t.Errorf("%s: accepted", label)
		}
	}

	// isqrt: r + 1 breaks r² <= v, r - 1 breaks v < (r+1)².
	for _, d := range []int64{1, -1} {
		r := new(big.Int).Add(tr.r, big.NewInt(d))
		wrong := func(_ *big.Int, _, out []*big.Int) error { out[0].Set(r); return nil }
		expectReject("isqrt off by one", in, in.trace(normForce{r: r}).out, isqrtHint, wrong)
	}

	// nu: off by one with the remainder following (rem < 0 resp. rem >= den), and off by one
	// with the honest remainder (num != nu den + rem).
	for _, d := range []int64{1, -1} {
		nu := new(big.Int).Add(tr.nu, big.NewInt(d))
		rem := new(big.Int).Sub(tr.num, new(big.Int).Mul(nu, tr.den))
		out := in.trace(normForce{nu: nu}).out
		expectReject("nu off by one, remainder out of range", in, out, floorDivHint, divOverride(tr.den, nu, rem))
		expectReject("nu off by one, honest remainder", in, out, floorDivHint, divOverride(tr.den, nu, tr.rem))
	}
	// nu = (num - rem') / den in the field for another rem' in [0, den): with g = den, g nu is
	// the integer num - rem', so RoundShift and the clamp accept it; only nu's range does not.
	{
		gin := nc.inst()
		gin.gw = new(big.Int).Add(tr.den, normPow2(31))
		gin.s = 1
		gtr := gin.trace(normForce{})
		rem := new(big.Int).Mod(new(big.Int).Add(gtr.rem, new(big.Int).Rsh(gtr.den, 1)), gtr.den)
		field := ecc.BN254.ScalarField()
		nu := new(big.Int).Sub(gtr.num, rem)
		nu.Mul(nu, new(big.Int).ModInverse(gtr.den, field)).Mod(nu, field)
		gnu := new(big.Int).Sub(gtr.num, rem)
		q := new(big.Int).Div(new(big.Int).Add(gnu, one), big.NewInt(2))
		gin.bw = new(big.Int).Sub(normPow2(31), gtr.q) // honest y = 0, the cheat moves it
		out := gin.trace(normForce{q: q}).out
		if out == gin.trace(normForce{}).out {
			t.Fatal("field-quotient attack does not change the output")
		}
		expectReject("nu a field quotient", gin, out, floorDivHint, divOverride(gtr.den, nu, rem))
	}

	// RoundShift: q + 1 with the honest remainder (the equation), with the remainder following
	// (negative), and q - 1 with the remainder following (>= 2^s).
	pow := normPow2(int(in.s))
	r := new(big.Int).Sub(tr.w, new(big.Int).Mul(tr.q, pow))
	for _, c := range []struct {
		label  string
		dq     int64
		follow bool
	}{{"rshr q + 1, honest remainder", 1, false}, {"rshr q + 1, remainder follows", 1, true}, {"rshr q - 1, remainder follows", -1, true}} {
		q := new(big.Int).Add(tr.q, big.NewInt(c.dq))
		rem := r
		if c.follow {
			rem = new(big.Int).Sub(tr.w, new(big.Int).Mul(q, pow))
		}
		expectReject(c.label, in, in.trace(normForce{q: q}).out, floorDivHint, divOverride(pow, q, rem))
	}

	// s = 0 (NewShift's range): 2^0 = 1 and 2^(0-1) = 1/2 in the field, and RoundShift's
	// remainder bound admits r = 1/2 with q = g nu: y = g nu + b unless s = 0 is refused.
	{
		sin := nc.inst()
		sin.gw, sin.s = new(big.Int).Add(normPow2(31), one), 0
		gnu := new(big.Int).Set(tr.nu) // g = 1
		sin.bw = new(big.Int).Sub(new(big.Int).Add(normPow2(31), big.NewInt(5)), gnu)
		half := new(big.Int).ModInverse(big.NewInt(2), ecc.BN254.ScalarField())
		expectReject("shift 0", sin, 5+128, floorDivHint, divOverride(one, gnu, half))
	}

	// clamp: every wrong branch, with the output that branch's equation gives.
	for _, c := range []struct {
		y, hi, lo, out int64
	}{
		{130, 0, 0, 130 + 128},         // middle for y > 127: out is no byte
		{-130, 0, 0, -130 + 128},       // middle for y < -128
		{130, 2, 0, 254 - 130 + 128},   // hi not a bit
		{-130, 0, 2, -256 + 130 + 128}, // lo not a bit
		{100, 1, 0, 255},               // hi for y < 127
		{100, 0, 1, 0},                 // lo for y > -128
		{-130, 1, 1, -1 + 130 + 128},   // both
	} {
		cin := fixedCase(false, 8, []int8{-50, 3, 77, 12, -1, 9}, 2)
		cin.s = 10
		cin.setTarget(c.y)
		expectReject("clamp branch", cin.inst(), c.out, clamp8Hint, clampOverride(c.hi, c.lo))
	}
}

// TestNormConstraintCount logs the R1CS size of both gadgets at capacities 128, 1024 and 3072 (the
// numbers in norm.go's header).
func TestNormConstraintCount(t *testing.T) {
	if testing.Short() {
		t.Skip("compiles capacity 1024")
	}
	for _, capacity := range []int{128, 1024, 3072} {
		for _, rms := range []bool{false, true} {
			ccs, err := frontend.Compile(ecc.BN254.ScalarField(), r1cs.NewBuilder, newNormCircuit(rms, capacity), frontend.IgnoreUnconstrainedInputs())
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("capacity %d, rms %v: %d constraints", capacity, rms, ccs.GetNbConstraints())
		}
	}
}
