package universal

import (
	"math/big"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"

	"github.com/probitylabs/probity/commit"
)

// TagSlot is the sponge domain of sample derivation (specs/circuit.md §3; tags 48–63 are
// reserved for circuit.md).
const TagSlot uint64 = 48

// slotWords returns the four words of h = S(SLOT; seed, f, s): bits [0,64), [64,128),
// [128,192) and [192,254) of h's canonical integer.
func slotWords(seed fr.Element, f, s int) [4]uint64 {
	h := commit.Hash(TagSlot, seed, commit.Uint(uint64(f)), commit.Uint(uint64(s)))
	b := commit.ToBig(h)
	var w [4]uint64
	mask := new(big.Int).SetUint64(^uint64(0))
	for q := range w {
		w[q] = new(big.Int).And(new(big.Int).Rsh(b, uint(64*q)), mask).Uint64()
	}
	return w
}

// Draw is what one slot samples (specs/circuit.md §3): for an op slot the rank R of the op
// among the ops of its kind, the row I, the column J of the result, and Tie, the row at which
// a P·V slot compares the value tensor's two commitments; an input slot uses I (the input
// row), a select slot I (the generation step).
type Draw struct{ R, I, J, Tie int }

// drawOp derives op slot s of kind k for a model with n ops of that kind, a trace of T rows
// and a result width w (only R is meaningful before the op is known, so the caller passes
// w once it has looked the op up).
func drawOp(seed fr.Element, k, s, n, T, w int) Draw {
	x := slotWords(seed, k, s)
	return Draw{R: mod(x[0], n), I: mod(x[1], T), J: mod(x[2], w), Tie: mod(x[3], T)}
}

// drawRow derives slot s of an input or select family over m rows or steps.
func drawRow(seed fr.Element, f, s, m int) int { return mod(slotWords(seed, f, s)[1], m) }

func mod(x uint64, m int) int {
	if m <= 0 {
		return 0
	}
	return int(x % uint64(m))
}
