// Package tricky holds the syntactic forms of constraint sites that the mutate tool's tests
// mutate and type-check; it is never run.
package tricky

import (
	"github.com/consensys/gnark/frontend"
	gbits "github.com/consensys/gnark/std/math/bits"
)

type gadget struct{ api frontend.API }

// check has a multi-line assert with a trailing comma on a field receiver, and variadic options.
func (g *gadget) check(v frontend.Variable, opts ...gbits.BaseConversionOption) []frontend.Variable {
	g.api.AssertIsEqual(
		v,
		g.api.Add(v, 0),
	)
	return gbits.ToBinary(g.api, v, opts...)
}

// Define has nested sites, every assert, the API's own conversions and a shadowed helper.
func Define(api frontend.API, x, y frontend.Variable, b []frontend.Variable) {
	api.AssertIsEqual(toBits(api, x, 2)[0], gbits.FromBinary(api, b))
	api.AssertIsLessOrEqual(x, 10)
	api.AssertIsCrumb(y)
	api.AssertIsDifferent(x, y)
	xb := api.ToBinary(x, 8)
	api.ToBinary(y)
	_ = api.FromBinary(xb...)
	_ = gbits.FromBinary(api, b, gbits.WithUnconstrainedInputs())
	toBits := func(v frontend.Variable) frontend.Variable { return v }
	_ = toBits(x)
	g := &gadget{api}
	_ = g.check(x, gbits.WithNbDigits(3))
	_ = wrap(api, y)
}
