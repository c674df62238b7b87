package opcheck

import (
	"errors"
	"math/big"

	"github.com/consensys/gnark/constraint/solver"
	"github.com/consensys/gnark/frontend"
	"github.com/consensys/gnark/std/selector"
)

// hints collects every hint of this package; each file registers its own with
// `var _ = register(h...)`.
var hints []solver.Hint

// register makes hs known to gnark's solver and to GetHints.
func register(hs ...solver.Hint) bool {
	solver.RegisterHint(hs...)
	hints = append(hints, hs...)
	return true
}

// GetHints returns every hint the gadgets of this package use (already registered with the
// solver when the package is loaded), floorDivHint from package gadgets included.
func GetHints() []solver.Hint { return append([]solver.Hint{floorDivHint}, hints...) }

var _ = register(prefixHint)

// Pick returns xs[idx] and constrains idx to [0, len(xs)): one constraint per entry.
func Pick(api frontend.API, xs []frontend.Variable, idx frontend.Variable) frontend.Variable {
	if len(xs) == 1 {
		api.AssertIsEqual(idx, 0)
		return xs[0]
	}
	return selector.Mux(api, idx, xs...)
}

// Prefix returns the mask m with m[t] = 1 for t < n and 0 for t >= n, for n in [0, c]
// (anything else is unsatisfiable): each m[t] is boolean, m[t+1] <= m[t], and the mask sums
// to n, so it has exactly one solution.
func Prefix(api frontend.API, n frontend.Variable, c int) []frontend.Variable {
	m, err := api.Compiler().NewHint(prefixHint, c, n)
	if err != nil {
		panic(err)
	}
	var sum frontend.Variable = 0
	for t := range m {
		api.AssertIsBoolean(m[t])
		if t > 0 {
			// m[t] = 1 forces m[t-1] = 1
			api.AssertIsEqual(api.Mul(m[t], api.Sub(1, m[t-1])), 0)
		}
		sum = api.Add(sum, m[t])
	}
	api.AssertIsEqual(sum, n)
	return m
}

// prefixHint returns min(n, len(out)) ones followed by zeros.
func prefixHint(_ *big.Int, in, out []*big.Int) error {
	if len(in) != 1 {
		return errors.New("prefixHint: want 1 input")
	}
	for t := range out {
		if in[0].Cmp(big.NewInt(int64(t))) > 0 {
			out[t].SetUint64(1)
		} else {
			out[t].SetUint64(0)
		}
	}
	return nil
}
