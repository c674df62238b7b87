package opcheck

import (
	"fmt"
	"math"
	"math/big"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/consensys/gnark-crypto/ecc"
	"github.com/consensys/gnark/constraint"
	"github.com/consensys/gnark/constraint/solver"
	"github.com/consensys/gnark/frontend"
	"github.com/consensys/gnark/frontend/cs/r1cs"
	"github.com/consensys/gnark/std/math/bits"
	"github.com/probitylabs/probity/ops"
	"github.com/probitylabs/probity/tensor"
)

// smCompiled caches one compiled circuit per key: compiling once and solving many
// witnesses is much faster than the test engine, and lets a test replace a hint.
var smCompiled = map[string]constraint.ConstraintSystem{}

func smCompile(t *testing.T, key string, c frontend.Circuit) constraint.ConstraintSystem {
	t.Helper()
	if ccs, ok := smCompiled[key]; ok {
		return ccs
	}
	ccs, err := frontend.Compile(ecc.BN254.ScalarField(), r1cs.NewBuilder, c)
	if err != nil {
		t.Fatal(err)
	}
	smCompiled[key] = ccs
	return ccs
}

// smSolveCompiled solves assignment a on ccs with the package's hints and any options (such as
// solver.OverrideHint: a malicious prover).
func smSolveCompiled(t *testing.T, ccs constraint.ConstraintSystem, a frontend.Circuit, opts ...solver.Option) error {
	t.Helper()
	w, err := frontend.NewWitness(a, ecc.BN254.ScalarField())
	if err != nil {
		t.Fatal(err)
	}
	return ccs.IsSolved(w, append([]solver.Option{solver.WithHints(GetHints()...)}, opts...)...)
}

// smOverride replaces hint h by wrong.
func smOverride(h, wrong solver.Hint) solver.Option {
	return solver.OverrideHint(solver.GetHintID(h), wrong)
}

// smWords encodes a table as model.md §3's 18 words (entries may be out of range on purpose).
func smWords(e []int64) [SoftmaxTableWords]frontend.Variable {
	var ws [SoftmaxTableWords]frontend.Variable
	for q := range ws {
		w := new(big.Int)
		for r := softmaxPerWord - 1; r >= 0; r-- {
			if d := softmaxPerWord*q + r; d < softmaxEntries {
				w.Lsh(w, 16)
				w.Add(w, big.NewInt(e[d]))
			}
		}
		ws[q] = w
	}
	return ws
}

func smEntries(tb ops.ExpTable) []int64 {
	e := make([]int64, softmaxEntries)
	for d, v := range tb {
		e[d] = int64(v)
	}
	return e
}

// smExpTable is the converter's table E[d] = round(2^15 exp(-d s)).
func smExpTable(s float64) ops.ExpTable {
	var tb ops.ExpTable
	for d := range tb {
		tb[d] = int32(math.Round(softmaxOne * math.Exp(-float64(d)*s)))
	}
	return tb
}

// smTables are realistic tables for several input scales and the extremes: all 2^15 (a flat
// softmax), E[d>0] = 0 (a hard max), exact halving, and random entries in [0, 2^15].
func smTables(rng *rand.Rand) map[string]ops.ExpTable {
	m := map[string]ops.ExpTable{}
	for _, s := range []float64{0.002, 0.03, 0.1, 0.5, 2, 12} {
		m["exp"+big.NewFloat(s).String()] = smExpTable(s)
	}
	var flat, hard, half, rnd ops.ExpTable
	for d := range flat {
		flat[d] = softmaxOne
		if d < 16 {
			half[d] = softmaxOne >> d
		}
		rnd[d] = rng.Int32N(softmaxOne + 1)
	}
	hard[0], rnd[0] = softmaxOne, softmaxOne
	m["flat"], m["hard"], m["half"], m["random"] = flat, hard, half, rnd
	return m
}

type smTableCircuit struct {
	Words [SoftmaxTableWords]frontend.Variable
	Exp   []frontend.Variable // the expected entries; nil: only the table's own checks
}

func (c *smTableCircuit) Define(api frontend.API) error {
	E := SoftmaxTable(api, c.Words[:])
	for d := range c.Exp {
		api.AssertIsEqual(E[d], c.Exp[d])
	}
	return nil
}

// smTableSolve solves a table assignment: with expected entries (c.Exp set) or without.
func smTableSolve(t *testing.T, c, a *smTableCircuit, opts ...solver.Option) error {
	t.Helper()
	return smSolveCompiled(t, smCompile(t, fmt.Sprint("table", len(c.Exp)), c), a, opts...)
}

func smTableAssign(e []int64) (*smTableCircuit, *smTableCircuit) {
	a := &smTableCircuit{Words: smWords(e), Exp: make([]frontend.Variable, softmaxEntries)}
	for d := range a.Exp {
		a.Exp[d] = e[d]
	}
	return &smTableCircuit{Exp: make([]frontend.Variable, softmaxEntries)}, a
}

// SoftmaxTable returns every valid table's entries and rejects each entry just outside
// [0, 2^15], E[0] != 2^15, bits above E[255] in the last word and bits above 2^240 in a word.
func TestSoftmaxTable(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for name, tb := range smTables(rng) {
		c, a := smTableAssign(smEntries(tb))
		if err := smTableSolve(t, c, a); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	base := smEntries(smExpTable(0.01))
	bad := map[string]func(e []int64){
		"E[0] = 2^15-1":   func(e []int64) { e[0] = softmaxOne - 1 },
		"E[0] = 0":        func(e []int64) { e[0] = 0 },
		"E[0] = 2^15+1":   func(e []int64) { e[0] = softmaxOne + 1 },
		"E[5] = 2^15+1":   func(e []int64) { e[5] = softmaxOne + 1 },
		"E[14] = 2^16-1":  func(e []int64) { e[14] = 1<<16 - 1 },
		"E[200] = 2^15+1": func(e []int64) { e[200] = softmaxOne + 1 },
		"E[255] = 2^15+1": func(e []int64) { e[255] = softmaxOne + 1 },
		"E[255] = 2^16":   func(e []int64) { e[255] = 1 << 16 },
	}
	for name, f := range bad {
		e := append([]int64(nil), base...)
		f(e)
		c, a := smTableAssign(e)
		if smTableSolve(t, c, a) == nil {
			t.Errorf("%s accepted", name)
		}
	}
	// A word with a bit above its 15 entries (the entries themselves as expected).
	for _, q := range []int{0, 7, 16} {
		c, a := smTableAssign(base)
		a.Words[q] = new(big.Int).Add(a.Words[q].(*big.Int), new(big.Int).Lsh(big.NewInt(1), 240))
		if smTableSolve(t, c, a) == nil {
			t.Errorf("word %d with bit 240 accepted", q)
		}
	}
	// A negative entry: the word minus one (E[15q] = -1 when it was 0, a borrow otherwise).
	hard := smEntries(smTables(rng)["hard"])
	for _, q := range []int{1, 16, 17} {
		c, a := smTableAssign(hard)
		a.Words[q] = new(big.Int).Sub(a.Words[q].(*big.Int), big.NewInt(1))
		a.Exp[softmaxPerWord*q] = -1
		if smTableSolve(t, c, a) == nil {
			t.Errorf("word %d minus 1 accepted", q)
		}
	}
}

// A prover who splits a word differently from its honest 16-bit entries is refused: another
// in-range table (only the recomposition catches it) or a borrow between two entries (only
// the 16-bit checks catch it).
func TestSoftmaxTableMaliciousHint(t *testing.T) {
	e := smEntries(smExpTable(0.01))
	a := &smTableCircuit{Words: smWords(e)}
	c := &smTableCircuit{}
	if err := smTableSolve(t, c, a); err != nil {
		t.Fatalf("honest hint refused: %v", err)
	}
	wrong := map[string]func(out []*big.Int){
		"entry - 1":  func(out []*big.Int) { out[3].Sub(out[3], big.NewInt(1)) },
		"entry + 1":  func(out []*big.Int) { out[3].Add(out[3], big.NewInt(1)) },
		"borrow":     func(out []*big.Int) { out[2].Add(out[2], big.NewInt(1<<16)); out[3].Sub(out[3], big.NewInt(1)) },
		"borrow top": func(out []*big.Int) { out[13].Add(out[13], big.NewInt(1<<16)); out[14].Sub(out[14], big.NewInt(1)) },
	}
	for name, f := range wrong {
		h := func(field *big.Int, in, out []*big.Int) error {
			if err := softmaxEntriesHint(field, in, out); err != nil {
				return err
			}
			f(out)
			for _, o := range out {
				o.Mod(o, field)
			}
			return nil
		}
		if smTableSolve(t, c, a, smOverride(softmaxEntriesHint, h)) == nil {
			t.Errorf("%s accepted", name)
		}
	}
}

type smCircuit struct {
	B, In, Vis []frontend.Variable
	Width      frontend.Variable
	Words      [SoftmaxTableWords]frontend.Variable
	J, Out     frontend.Variable
}

func (c *smCircuit) Define(api frontend.API) error {
	E := SoftmaxTable(api, c.Words[:])
	Softmax(api, Row{B: c.B, In: c.In, Width: c.Width}, c.Vis, E, c.J, c.Out)
	return nil
}

func newSm(capacity int) *smCircuit {
	return &smCircuit{B: make([]frontend.Variable, capacity), In: make([]frontend.Variable, capacity),
		Vis: make([]frontend.Variable, capacity)}
}

// smInst is one softmax op instance: X [M, N] with its native output, and a circuit capacity.
type smInst struct {
	name   string
	tb     ops.ExpTable
	causal bool
	x      *tensor.Int8
	want   *tensor.Int8
	cap    int
}

func newSmInst(t *testing.T, name string, tb ops.ExpTable, causal bool, x *tensor.Int8, capacity int) *smInst {
	t.Helper()
	want, err := ops.Softmax(x, ops.SoftmaxParams{Table: tb, Causal: causal})
	if err != nil {
		t.Fatalf("%s: native softmax: %v", name, err)
	}
	return &smInst{name: name, tb: tb, causal: causal, x: x, want: want, cap: capacity}
}

// visible is the caller's mask length for row i: t < n is unmasked.
func (in *smInst) visible(i int) int {
	M, N := in.x.Rows(), in.x.Cols()
	if !in.causal {
		return N
	}
	return min(N, max(0, i+N-M+1))
}

// assign is the witness for element (i, j) with the claimed output byte out.
func (in *smInst) assign(i int, j, out any) *smCircuit {
	N, n := in.x.Cols(), in.visible(i)
	a := newSm(in.cap)
	for t := range in.cap {
		a.B[t], a.In[t], a.Vis[t] = 0, 0, 0
		if t < N {
			a.B[t], a.In[t] = int(in.x.At(i, t))+128, 1
		}
		if t < n {
			a.Vis[t] = 1
		}
	}
	a.Width, a.Words, a.J, a.Out = N, smWords(smEntries(in.tb)), j, out
	return a
}

// solve solves a witness of this instance's capacity.
func (in *smInst) solve(t *testing.T, a *smCircuit, opts ...solver.Option) error {
	t.Helper()
	return smSolveCompiled(t, smCompile(t, fmt.Sprint("softmax", in.cap), newSm(in.cap)), a, opts...)
}

func (in *smInst) byteAt(i, j int) int { return int(in.want.At(i, j)) + 128 }

// check solves element (i, j) with the native byte, and refuses its neighbours.
func (in *smInst) check(t *testing.T, i, j int) {
	t.Helper()
	want := in.byteAt(i, j)
	if err := in.solve(t, in.assign(i, j, want)); err != nil {
		t.Fatalf("%s: (%d, %d) byte %d refused: %v", in.name, i, j, want, err)
	}
	for _, o := range []int{want - 1, want + 1} {
		if o >= 0 && o < 256 && in.solve(t, in.assign(i, j, o)) == nil {
			t.Fatalf("%s: (%d, %d) wrong byte %d (want %d) accepted", in.name, i, j, o, want)
		}
	}
}

func smRandom(rng *rand.Rand, M, N int, lo, hi int) *tensor.Int8 {
	x := tensor.NewInt8(M, N)
	for k := range x.Data {
		x.Data[k] = int8(lo + rng.IntN(hi-lo+1))
	}
	return x
}

// Softmax agrees with ops.Softmax on random rows of every width class edge (1, 2, 3, 31, 32,
// 33, capacity) for power-of-two and other capacities, causal (with fully masked rows, M > N)
// and not, over realistic and extreme tables, at the maximum, at masked columns and at random
// columns; each native byte's neighbours are refused.
func TestSoftmaxMatchesNative(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	tables := smTables(rng)
	names := make([]string, 0, len(tables))
	for name := range tables {
		names = append(names, name)
	}
	slices.Sort(names) // a deterministic draw
	for _, capacity := range []int{64, 37} {
		for _, N := range []int{1, 2, 3, 31, 32, 33, capacity} {
			if N > capacity {
				continue
			}
			for _, causal := range []bool{false, true} {
				name := names[rng.IntN(len(names))]
				// spread: a narrow value range makes many weights matter; a wide one makes
				// large differences (up to 255) and saturating or zero outputs.
				lo, hi := -128, 127
				if rng.IntN(2) == 0 {
					lo, hi = -3, 5
				}
				M := 1 + rng.IntN(3)
				if causal {
					M = N + 1 + rng.IntN(2) // the first M - N rows are fully masked
				}
				in := newSmInst(t, name, tables[name], causal, smRandom(rng, M, N, lo, hi), capacity)
				rows := []int{M - 1, rng.IntN(M)}
				if causal {
					rows = append(rows, 0) // fully masked
				}
				for _, i := range rows {
					n := in.visible(i)
					js := []int{rng.IntN(N)}
					if n > 0 {
						best := 0
						for c := range n {
							if in.x.At(i, c) > in.x.At(i, best) {
								best = c
							}
						}
						js = append(js, best)
					}
					if n < N {
						js = append(js, n) // the first masked column
					}
					for _, j := range js {
						in.check(t, i, j)
					}
				}
			}
		}
	}
}

// The extremes: an all-equal row gives rdiv(256, N) - 128 (127, i.e. byte 255, for N = 1,
// where q = 256 saturates); the flat table gives the same for any row; the hard table gives
// the maximum's share only; a row of -128 and of 127; the widest difference (255).
func TestSoftmaxExtremes(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	tables := smTables(rng)
	const capacity = 33
	for _, N := range []int{1, 2, 3, 32, 33} {
		for _, v := range []int8{-128, 0, 127} {
			x := tensor.NewInt8(1, N)
			for k := range x.Data {
				x.Data[k] = v
			}
			in := newSmInst(t, "equal", tables["exp0.1"], false, x, capacity)
			if got, want := in.want.At(0, 0), int8(min(127, (512+N)/(2*N)-128)); got != want {
				t.Fatalf("native all-equal N %d: %d, want %d", N, got, want)
			}
			in.check(t, 0, 0)
			in.check(t, 0, N-1)
		}
		for _, name := range []string{"flat", "hard", "half", "exp12"} {
			x := smRandom(rng, 2, N, -128, 127)
			x.Data[0], x.Data[N-1] = -128, 127 // difference 255 in row 0
			in := newSmInst(t, name, tables[name], false, x, capacity)
			in.check(t, 0, 0)
			in.check(t, 0, N-1)
			in.check(t, 1, rng.IntN(N))
		}
	}
}

// Every column of a fully masked row (causal, M > N) is byte 0, and so is every masked column
// of a partly masked row; byte 1 is refused.
func TestSoftmaxMasked(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	tables := smTables(rng)
	for _, N := range []int{1, 3, 8} {
		in := newSmInst(t, "masked", tables["exp0.5"], true, smRandom(rng, N+2, N, -128, 127), 8)
		for i := range N + 2 {
			for j := range N {
				if in.byteAt(i, j) == 0 && in.solve(t, in.assign(i, j, 1)) == nil {
					t.Fatalf("N %d: (%d, %d) byte 1 accepted for a masked element", N, i, j)
				}
				in.check(t, i, j)
			}
		}
	}
}

// A column j outside [0, N) is refused whatever byte is claimed: N (padding, when N < C), C
// and -1.
func TestSoftmaxColumnRange(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	tb := smTables(rng)["exp0.1"]
	for _, N := range []int{1, 5, 8} {
		in := newSmInst(t, "range", tb, false, smRandom(rng, 1, N, -128, 127), 8)
		for _, j := range []int{N, 8, 9, 15, -1} {
			if j == N && N == 8 {
				continue
			}
			for _, o := range []int{0, 1, 127, 128, 255} {
				if in.solve(t, in.assign(0, j, o)) == nil {
					t.Fatalf("N %d: column %d accepted with byte %d", N, j, o)
				}
			}
		}
	}
}

// A prover who claims a wrong max is refused: mx + 1 with the flat table changes no weight
// (only the attained-max product catches it), mx - 1 makes a difference negative.
func TestSoftmaxMaliciousMax(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	tables := smTables(rng)
	x := tensor.NewInt8(3, 5)
	copy(x.Data, []int8{3, 3, 3, 3, 3, -7, 2, 9, 9, 0, 127, -128, 5, 127, 1})
	for _, name := range []string{"flat", "exp0.1"} {
		for _, causal := range []bool{false, true} {
			in := newSmInst(t, name, tables[name], causal, x, 8)
			for i := range 3 {
				a := in.assign(i, 0, in.byteAt(i, 0))
				if err := in.solve(t, a); err != nil {
					t.Fatalf("%s row %d: honest max refused: %v", name, i, err)
				}
				for _, delta := range []int64{1, -1, 2} {
					h := func(field *big.Int, in, out []*big.Int) error {
						if err := softmaxMaxHint(field, in, out); err != nil {
							return err
						}
						out[0].Add(out[0], big.NewInt(delta))
						out[0].Mod(out[0], field)
						return nil
					}
					if in.solve(t, a, smOverride(softmaxMaxHint, h)) == nil {
						t.Fatalf("%s causal %v row %d: max %+d accepted", name, causal, i, delta)
					}
				}
			}
		}
	}
}

// A prover who rounds the division differently is refused. N = 1 gives q = 256 (byte 255),
// where q + 1 and q - 1 clamp to the same byte: (q+1, r) only the identity catches,
// (q-1, r+2S) only r < 2S and (q+1, r-2S) only r >= 0.
func TestSoftmaxMaliciousDivision(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	tables := smTables(rng)
	dom := smRandom(rng, 1, 6, -128, 126)
	dom.Data[2] = 127 // the unique max: with E[d>0] = 0 its share is 1, q = 256
	cases := []*smInst{
		newSmInst(t, "N1", tables["exp0.1"], false, smRandom(rng, 1, 1, -128, 127), 8),
		newSmInst(t, "dominant", tables["exp12"], false, dom, 8),
		newSmInst(t, "flat", tables["flat"], false, smRandom(rng, 1, 3, -128, 127), 8),
	}
	for _, in := range cases {
		j := 0
		if in.name == "dominant" {
			j = 2
		}
		a := in.assign(0, j, in.byteAt(0, j))
		if err := in.solve(t, a); err != nil {
			t.Fatalf("%s: honest division refused: %v", in.name, err)
		}
		for _, dq := range []int64{1, -1} {
			for _, dr := range []int{0, 1} {
				h := func(field *big.Int, inp, out []*big.Int) error {
					if err := floorDivHint(field, inp, out); err != nil {
						return err
					}
					out[0].Add(out[0], big.NewInt(dq))
					if dr == 1 { // keep q*2S + r
						out[1].Sub(out[1], new(big.Int).Mul(big.NewInt(dq), inp[1]))
					}
					out[0].Mod(out[0], field)
					out[1].Mod(out[1], field)
					return nil
				}
				if in.solve(t, a, smOverride(floorDivHint, h)) == nil {
					t.Fatalf("%s: q%+d (r kept: %v) accepted", in.name, dq, dr == 0)
				}
			}
		}
	}
}

// smNBits is gnark's bit-decomposition hint (bits.ToBinary).
func smNBits(t *testing.T) solver.Hint {
	t.Helper()
	for _, h := range bits.GetHints() {
		if solver.GetHintName(h) == "github.com/consensys/gnark/std/math/bits.nBits" {
			return h
		}
	}
	t.Fatal("gnark's nBits hint not found")
	return nil
}

// A prover who decomposes a difference d_t or a packed table word differently is refused:
// the bits of d_t + 1 (another table index; with the flat table every index has the same
// weight, so only the decomposition's own constraints catch it) and a word with its first two
// entries swapped. The override leaves every other decomposition alone: the 8-bit and 64-bit
// ones of a packed word are the only ones of those widths with such inputs.
func TestSoftmaxMaliciousBits(t *testing.T) {
	nBits := smNBits(t)
	rng := rand.New(rand.NewPCG(15, 16))
	tables := smTables(rng)
	x := tensor.NewInt8(1, 6)
	copy(x.Data, []int8{0, 1, 2, 3, 5, 9})
	wrong := map[string]func(in *big.Int, n int) *big.Int{
		"d + 1": func(in *big.Int, n int) *big.Int {
			if n != 8 {
				return in
			}
			return new(big.Int).And(new(big.Int).Add(in, big.NewInt(1)), big.NewInt(255))
		},
		"swapped entries": func(in *big.Int, n int) *big.Int {
			if n != 64 || in.Cmp(big.NewInt(1<<16)) < 0 {
				return in
			}
			mask := big.NewInt(0xffff)
			u0 := new(big.Int).And(in, mask)
			u1 := new(big.Int).And(new(big.Int).Rsh(in, 16), mask)
			v := new(big.Int).Rsh(in, 32)
			v.Lsh(v, 16).Or(v, u0)
			return v.Lsh(v, 16).Or(v, u1)
		},
	}
	for _, name := range []string{"flat", "exp0.1", "random"} {
		in := newSmInst(t, name, tables[name], false, x, 8)
		for j := range 6 {
			a := in.assign(0, j, in.byteAt(0, j))
			if err := in.solve(t, a, smOverride(nBits, nBits)); err != nil {
				t.Fatalf("%s: honest bits refused: %v", name, err)
			}
			for wname, f := range wrong {
				if name == "flat" && wname != "d + 1" {
					continue // the flat table's words are unchanged by a swap
				}
				h := func(field *big.Int, inp, out []*big.Int) error {
					v := f(inp[0], len(out))
					for i := range out {
						out[i].SetUint64(uint64(v.Bit(i)))
					}
					return nil
				}
				if in.solve(t, a, smOverride(nBits, h)) == nil {
					t.Errorf("%s column %d: %s accepted", name, j, wname)
				}
			}
		}
	}
}

// TestSoftmaxCost bounds the constraint counts quoted at the top of softmax.go (capacity 128;
// 1024, measured once, takes seconds to compile): the table at 18 per entry, the row at 145
// per column plus a constant.
func TestSoftmaxCost(t *testing.T) {
	table := smCompile(t, "table0", &smTableCircuit{}).GetNbConstraints()
	row := smCompile(t, "softmax128", newSm(128)).GetNbConstraints() - table
	t.Logf("SoftmaxTable %d, Softmax capacity 128: %d constraints", table, row)
	if table > 18*softmaxEntries+SoftmaxTableWords+1 {
		t.Errorf("SoftmaxTable: %d constraints, above 18 per entry", table)
	}
	if row > 145*128+300 {
		t.Errorf("Softmax capacity 128: %d constraints, above 145 per column and 300", row)
	}
}
