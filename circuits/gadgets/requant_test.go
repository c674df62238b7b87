package gadgets

import (
	"math"
	"math/big"
	"math/rand/v2"
	"testing"

	"github.com/consensys/gnark/constraint/solver"
	"github.com/consensys/gnark/frontend"

	"github.com/probitylabs/probity/protocol"
)

type requantCircuit struct {
	Word frontend.Variable
	Acc  frontend.Variable
	Out  frontend.Variable
}

func (c *requantCircuit) Define(api frontend.API) error {
	AssertRequant(api, UnpackEpilogue(api, c.Word), c.Acc, c.Out)
	return nil
}

func randomEpilogue(rng *rand.Rand) protocol.Epilogue {
	return protocol.Epilogue{
		Multiplier: uint32(1 + rng.IntN(1<<31-1)),
		Shift:      uint8(1 + rng.IntN(62)),
		ZeroPoint:  int8(rng.IntN(256) - 128),
		ReLU:       rng.IntN(2) == 1,
	}
}

// The circuit accepts exactly protocol.Epilogue.Apply's output, including at the int32 and
// parameter extremes, and rejects the neighbours (off-by-one rounding).
func TestRequantMatchesNative(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	c := &requantCircuit{}
	type tc struct {
		e   protocol.Epilogue
		acc int32
	}
	var cases []tc
	for _, acc := range []int32{math.MinInt32, math.MaxInt32, 0, -1, 1} {
		for _, e := range []protocol.Epilogue{
			{Multiplier: 1<<31 - 1, Shift: 1, ZeroPoint: 127},
			{Multiplier: 1, Shift: 62, ZeroPoint: -128, ReLU: true},
			{Multiplier: 1 << 30, Shift: 31, ZeroPoint: 0, ReLU: true},
		} {
			cases = append(cases, tc{e, acc})
		}
	}
	for range 60 {
		e := randomEpilogue(rng)
		// Keep many outputs unsaturated: acc near 2^s / m * [-200, 200].
		scale := math.Ldexp(1, int(e.Shift)) / float64(e.Multiplier)
		a := (rng.Float64()*400 - 200) * scale
		a = math.Max(math.Min(a, math.MaxInt32), math.MinInt32)
		cases = append(cases, tc{e, int32(a)})
	}
	// Exact rounding ties: acc*m = (2t+1) * 2^(s-1) rounds half up.
	cases = append(cases, tc{protocol.Epilogue{Multiplier: 1, Shift: 1}, 3}, tc{protocol.Epilogue{Multiplier: 1, Shift: 1}, -3},
		tc{protocol.Epilogue{Multiplier: 3, Shift: 2}, 2}, tc{protocol.Epilogue{Multiplier: 3, Shift: 2}, -2})
	for n, x := range cases {
		want := x.e.Apply(x.acc)
		a := &requantCircuit{Word: x.e.Word(), Acc: int64(x.acc), Out: int64(want)}
		if err := solved(c, a); err != nil {
			t.Fatalf("case %d %+v acc %d out %d: %v", n, x.e, x.acc, want, err)
		}
		for _, d := range []int64{-1, 1} {
			bad := int64(want) + d
			if bad < -128 || bad > 127 {
				continue
			}
			a.Out = bad
			if solved(c, a) == nil {
				t.Fatalf("case %d %+v acc %d: out %d accepted, want %d", n, x.e, x.acc, bad, want)
			}
		}
	}
}

// Rounding that is not half-up, with the quotient and remainder hint lying so that the
// requantization equation still holds: r out of [0, 2^s) or q off by one must be rejected.
func TestRequantMaliciousHints(t *testing.T) {
	e := protocol.Epilogue{Multiplier: 3, Shift: 2, ZeroPoint: 0}
	acc := int64(2) // (6 + 2) / 4 = 2 exactly
	c := &requantCircuit{}
	for _, lie := range []struct {
		name string
		dq   int64
		out  int64
	}{{"q-1, r+2^s", -1, 1}, {"q+1, r-2^s", 1, 3}} {
		h := func(f *big.Int, in, out []*big.Int) error {
			if err := floorDivHint(f, in, out); err != nil {
				return err
			}
			out[0].Add(out[0], big.NewInt(lie.dq))
			out[0].Mod(out[0], f)
			out[1].Sub(out[1], new(big.Int).Mul(big.NewInt(lie.dq), in[1]))
			out[1].Mod(out[1], f)
			return nil
		}
		a := &requantCircuit{Word: e.Word(), Acc: acc, Out: lie.out}
		if solveWith(t, c, a, solver.OverrideHint(solver.GetHintID(floorDivHint), h)) == nil {
			t.Fatalf("%s accepted", lie.name)
		}
	}
	// A lying clamp branch: claim saturation below 127.
	lyingClamp := func(_ *big.Int, _, out []*big.Int) error {
		out[0].SetUint64(1)
		out[1].SetUint64(0)
		return nil
	}
	a := &requantCircuit{Word: e.Word(), Acc: acc, Out: 127}
	if solveWith(t, c, a, solver.OverrideHint(solver.GetHintID(clampHint), lyingClamp)) == nil {
		t.Fatal("saturation claimed for y = 2")
	}
	// And a lying lower branch under relu.
	er := protocol.Epilogue{Multiplier: 1, Shift: 1, ZeroPoint: 5, ReLU: true}
	lyingLow := func(_ *big.Int, _, out []*big.Int) error {
		out[0].SetUint64(0)
		out[1].SetUint64(1)
		return nil
	}
	a = &requantCircuit{Word: er.Word(), Acc: 40, Out: 5} // y = 20 + 5 = 25 > z
	if solveWith(t, c, a, solver.OverrideHint(solver.GetHintID(clampHint), lyingLow)) == nil {
		t.Fatal("relu floor claimed for y = 25")
	}
}

// Every out-of-range epilogue field is rejected.
func TestEpilogueWordRejects(t *testing.T) {
	c := &requantCircuit{}
	good := protocol.Epilogue{Multiplier: 1000, Shift: 10, ZeroPoint: 0}
	if err := solved(c, &requantCircuit{Word: good.Word(), Acc: 0, Out: 0}); err != nil {
		t.Fatal(err)
	}
	base := func(m, s, zb, relu uint64) *big.Int {
		return new(big.Int).SetUint64(m | s<<32 | zb<<40 | relu<<48)
	}
	for name, w := range map[string]*big.Int{
		"m = 0":       base(0, 10, 128, 0),
		"m = 2^31":    base(1<<31, 10, 128, 0),
		"s = 0":       base(1000, 0, 128, 0),
		"s = 63":      base(1000, 63, 128, 0),
		"s = 64":      base(1000, 64, 128, 0),
		"s = 200":     base(1000, 200, 128, 0),
		"relu = 2":    base(1000, 10, 128, 2),
		"bit 49":      new(big.Int).Add(base(1000, 10, 128, 0), new(big.Int).Lsh(big.NewInt(1), 49)),
		"word - R":    new(big.Int).Sub(big.NewInt(0), base(1000, 10, 128, 0)),
		"word = 2^64": new(big.Int).Lsh(big.NewInt(1), 64),
	} {
		// Out is what the word's low fields would give if they were read leniently.
		for _, out := range []int64{0, 1, -1} {
			if solved(c, &requantCircuit{Word: w, Acc: 0, Out: out}) == nil {
				t.Errorf("%s accepted", name)
			}
		}
	}
}
