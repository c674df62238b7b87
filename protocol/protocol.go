package protocol

import (
	"errors"
	"fmt"
	"math/big"
)

// R is the BN254 scalar field modulus (§1). Callers must not modify it.
var R, _ = new(big.Int).SetString("21888242871839275222246405745257275088548364400416034343698204186575808495617", 10)

// SeedDelay is the number of blocks between the output commitment and the block whose hash
// seeds the challenge (§6.2).
const SeedDelay = 2

// RevealBlocks is the number of blocks after the seed block during which only the buyer's
// reveal can fix the seed of a job posted with a seed commitment (§6.2).
const RevealBlocks = 32

// SeedHorizon is how many blocks after the seed block the seed can still be fixed
// (blockhash reaches back 256 blocks); past it the job is slashable at once (§6.2).
const SeedHorizon = 256

// Sentinel errors; typed details are wrapped around them.
var (
	ErrEpilogue   = errors.New("invalid epilogue")
	ErrOutOfRange = errors.New("value out of range")
	ErrStake      = errors.New("stake parameters admit no finite stake")
)

var two256 = new(big.Int).Lsh(big.NewInt(1), 256)

// checkUint256 reports whether x is a valid uint256 for ABI encoding.
func checkUint256(name string, x *big.Int) error {
	if x == nil {
		return fmt.Errorf("%s: %w: nil", name, ErrOutOfRange)
	}
	if x.Sign() < 0 || x.Cmp(two256) >= 0 {
		return fmt.Errorf("%s: %w: %s is not a uint256", name, ErrOutOfRange, x)
	}
	return nil
}

// CheckField returns an error unless 0 <= x < R.
func CheckField(name string, x *big.Int) error {
	if x == nil {
		return fmt.Errorf("%s: %w: nil", name, ErrOutOfRange)
	}
	if x.Sign() < 0 || x.Cmp(R) >= 0 {
		return fmt.Errorf("%s: %w: %s is not a field element (must be < R)", name, ErrOutOfRange, x)
	}
	return nil
}

// word encodes x as a 32-byte big-endian ABI word. It panics on values outside uint256:
// callers validate first, and an encoding of a wrong value must never be produced silently.
func word(x *big.Int) []byte {
	if err := checkUint256("word", x); err != nil {
		panic(err)
	}
	var b [32]byte
	x.FillBytes(b[:])
	return b[:]
}
