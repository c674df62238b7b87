package tricky

import (
	"github.com/consensys/gnark/frontend"
	"github.com/consensys/gnark/std/math/bits"
)

// toBits is ToBinary that also accepts d = 0.
func toBits(api frontend.API, v frontend.Variable, d int) []frontend.Variable {
	if d == 0 {
		api.AssertIsEqual(v, 0)
		return nil
	}
	return bits.ToBinary(api, v, bits.WithNbDigits(d))
}

// wrap is a helper calling a helper: its mutant copy calls toBits's copy.
func wrap(api frontend.API, v frontend.Variable) []frontend.Variable {
	return toBits(api, v, 3)
}
