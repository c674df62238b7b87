package commit

import (
	"errors"
	"fmt"
	"math/big"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/consensys/gnark-crypto/ecc/bn254/fr/poseidon2"
)

// Domain tags of the sponge (§4.1).
const (
	TagLeaf   uint64 = 1
	TagNode   uint64 = 2
	TagRoot   uint64 = 3
	TagSample uint64 = 4
)

// Kinds of committed tensors, bound into the root (§4.3).
const (
	KindActivations = 1
	KindLayer       = 2
)

// Poseidon2 parameters (§4.1).
const (
	Width         = 3
	FullRounds    = 8
	PartialRounds = 56
)

// perm holds only constants, so one instance is safe for concurrent use.
var perm = poseidon2.NewPermutation(Width, FullRounds, PartialRounds)

// Permute applies the Poseidon2 permutation P of §4.1 in place.
func Permute(state *[3]fr.Element) {
	if err := perm.Permutation(state[:]); err != nil {
		panic(err) // width is fixed at 3: cannot happen
	}
}

// Hash is the sponge S(tag; xs...) of §4.1: rate 2, capacity 1, capacity initialised with
// tag*2^64 + len(xs), so domains and lengths are separated.
func Hash(tag uint64, xs ...fr.Element) fr.Element {
	var st [3]fr.Element
	st[0] = capacity(tag, len(xs))
	if len(xs) == 0 {
		Permute(&st)
		return st[1]
	}
	for i := 0; i < len(xs); i += 2 {
		st[1].Add(&st[1], &xs[i])
		if i+1 < len(xs) {
			st[2].Add(&st[2], &xs[i+1])
		}
		Permute(&st)
	}
	return st[1]
}

var two64 = func() fr.Element {
	var e fr.Element
	e.SetBigInt(new(big.Int).Lsh(big.NewInt(1), 64))
	return e
}()

// capacity returns tag*2^64 + n, the initial capacity element of the sponge.
func capacity(tag uint64, n int) fr.Element {
	var c, l fr.Element
	c.SetUint64(tag)
	c.Mul(&c, &two64)
	l.SetUint64(uint64(n))
	c.Add(&c, &l)
	return c
}

// Node is S(NODE; l, r).
func Node(l, r fr.Element) fr.Element {
	var st [3]fr.Element
	st[0] = nodeCap
	st[1] = l
	st[2] = r
	Permute(&st)
	return st[1]
}

var nodeCap = capacity(TagNode, 2)

// ErrNotField reports an integer that is not a canonical field element.
var ErrNotField = errors.New("not a field element")

// FromBig converts x in [0, R) to a field element; anything else is rejected, never reduced.
func FromBig(x *big.Int) (fr.Element, error) {
	var e fr.Element
	if x == nil || x.Sign() < 0 || x.Cmp(fr.Modulus()) >= 0 {
		return e, fmt.Errorf("%w: %v", ErrNotField, x)
	}
	e.SetBigInt(x)
	return e, nil
}

// ToBig returns the canonical integer of e.
func ToBig(e fr.Element) *big.Int {
	return e.BigInt(new(big.Int))
}

// PackRow packs int8 values 31 bytes per element, little-endian within an element, each byte
// being v+128 (§4.2).
func PackRow(row []int8) []fr.Element {
	n := (len(row) + 30) / 31
	out := make([]fr.Element, n)
	packInto(out, row)
	return out
}

func packInto(out []fr.Element, row []int8) {
	var buf [32]byte
	for j := range out {
		// fr.Element.SetBytes takes big-endian; the spec is little-endian within an element.
		clear(buf[:])
		chunk := row[j*31 : min(len(row), j*31+31)]
		for t, v := range chunk {
			buf[31-t] = byte(int(v) + 128)
		}
		out[j].SetBytes(buf[:])
	}
}
