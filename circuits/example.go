package circuits

import (
	"math/big"
	"math/bits"
	"math/rand/v2"

	"github.com/probitylabs/probity/protocol"
	"github.com/probitylabs/probity/tensor"
)

// RandomInputs builds honest inputs for a shape from a deterministic generator: uniform int8
// activations and weights, small biases, and an epilogue scaled to K so that outputs spread
// over the int8 range rather than saturating. Tests, benchmarks and vector generators use it.
func RandomInputs(s Shape, M int, rng *rand.Rand, seed *big.Int, relu bool) (Inputs, error) {
	K, N := int(s.K), int(s.N)
	a := tensor.NewInt8(M, K)
	for i := range a.Data {
		a.Data[i] = int8(rng.IntN(256) - 128)
	}
	w := tensor.NewInt8(N, K)
	for i := range w.Data {
		w.Data[i] = int8(rng.IntN(256) - 128)
	}
	b := tensor.NewInt32(N)
	for i := range b.Data {
		b.Data[i] = int32(rng.IntN(1<<16) - 1<<15)
	}
	// acc has a standard deviation near 74^2 * sqrt(K); m / 2^s maps that to about 40.
	ep := protocol.Epilogue{Multiplier: 1234567, Shift: uint8(27 + bits.Len(uint(K))/2), ZeroPoint: -3, ReLU: relu}
	l := tensor.Layer{Weight: w, Bias: b, Epilogue: ep}
	out, err := tensor.Linear(a, l)
	if err != nil {
		return Inputs{}, err
	}
	return Inputs{Shape: s, Input: a, Layer: l, Output: out, Seed: seed}, nil
}
