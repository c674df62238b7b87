package universal

import (
	"errors"
	"math/big"

	"github.com/consensys/gnark/constraint/solver"

	"github.com/probitylabs/probity/circuits/gadgets"
	"github.com/probitylabs/probity/circuits/opcheck"
)

func init() { solver.RegisterHint(ceilLog2Hint, ceilDivHint) }

// Hints returns every hint the universal circuit uses (its own and its gadgets').
func Hints() []solver.Hint {
	return append(append([]solver.Hint{ceilLog2Hint, ceilDivHint}, gadgets.GetHints()...), opcheck.GetHints()...)
}

// ceilLog2Hint returns ceil(log2 x) for x >= 1 (0 for x <= 1).
func ceilLog2Hint(_ *big.Int, in, out []*big.Int) error {
	if len(in) != 1 || len(out) != 1 {
		return errors.New("ceilLog2Hint: want 1 input and 1 output")
	}
	x := in[0]
	if x.Cmp(big.NewInt(1)) <= 0 {
		out[0].SetUint64(0)
		return nil
	}
	out[0].SetUint64(uint64(new(big.Int).Sub(x, big.NewInt(1)).BitLen()))
	return nil
}

// ceilDivHint returns ceil(a / b) for a >= 0, b > 0.
func ceilDivHint(_ *big.Int, in, out []*big.Int) error {
	if len(in) != 2 || len(out) != 1 || in[1].Sign() <= 0 {
		return errors.New("ceilDivHint: want a >= 0, b > 0")
	}
	q := new(big.Int).Add(in[0], new(big.Int).Sub(in[1], big.NewInt(1)))
	out[0].Quo(q, in[1])
	return nil
}
