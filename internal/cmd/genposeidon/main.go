// Command genposeidon writes contracts/src/libraries/Poseidon2.sol, the on-chain Poseidon2
// permutation and sponge of specs/protocol.md §4.1, from the parameters gnark-crypto builds for
// commit.Permute (poseidon2.NewParameters(3, 8, 56)), so the contract cannot drift from the Go
// code and the circuits.
//
//	go run ./internal/cmd/genposeidon -out contracts/src/libraries/Poseidon2.sol
//
// The permutation is unrolled inline assembly with the round constants as literals. Additions
// are reduced lazily: a plain add costs 3 gas against addmod's 8, and mulmod accepts any 256-bit
// operand, so a word is only reduced where the next step could overflow 2^256. The generator
// tracks an upper bound of every intermediate value (inputs below R, constants their own value)
// and refuses to emit an add whose result could reach 2^256, so the schedule it writes is safe
// for every input, not only the tested ones.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"math/big"
	"os"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/consensys/gnark-crypto/ecc/bn254/fr/poseidon2"

	"github.com/probitylabs/probity/commit"
)

//go:generate go run . -out ../../../contracts/src/libraries/Poseidon2.sol

const generatedBy = "go run ./internal/cmd/genposeidon -out contracts/src/libraries/Poseidon2.sol"

func main() {
	out := flag.String("out", "contracts/src/libraries/Poseidon2.sol", "output file")
	flag.Parse()
	if err := os.WriteFile(*out, generate(), 0o644); err != nil {
		fmt.Fprintf(os.Stderr, "genposeidon: error: %v\n", err)
		os.Exit(1)
	}
}

var (
	modulus = fr.Modulus()
	rMax    = new(big.Int).Sub(modulus, big.NewInt(1))
	wordMax = new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 256), big.NewInt(1))
	// Bounds a word may leave a round with. mulmod takes any operand, so a word headed for an
	// S-box may be as large as an add allows; s1 and s2 of a partial round are added to a
	// reduced word once more (s0 + s1, s2 + t), so they must leave room for one.
	anyWord  = wordMax
	addable  = new(big.Int).Sub(wordMax, rMax)
	sumBound = new(big.Int).Sub(wordMax, new(big.Int).Mul(big.NewInt(2), rMax))
)

// val is a Yul expression and an upper bound of its value.
type val struct {
	text string
	max  *big.Int
}

func lit(x *big.Int) val { return val{fmt.Sprintf("0x%064x", x), x} }

func fits(a, b val) bool { return new(big.Int).Add(a.max, b.max).Cmp(wordMax) <= 0 }

func add(a, b val) val {
	if !fits(a, b) {
		panic(fmt.Sprintf("genposeidon: add(%s, %s) could overflow 2^256", a.text, b.text))
	}
	return val{fmt.Sprintf("add(%s, %s)", a.text, b.text), new(big.Int).Add(a.max, b.max)}
}

func addmod(a, b val) val { return val{fmt.Sprintf("addmod(%s, %s, r)", a.text, b.text), rMax} }
func mulmod(a, b val) val { return val{fmt.Sprintf("mulmod(%s, %s, r)", a.text, b.text), rMax} }

// sum is terms[0] + terms[1] + ... with a value at most limit: plain adds when their bound
// allows, otherwise adds while they cannot overflow and an addmod last, which reduces.
func sum(terms []val, limit *big.Int) val {
	acc := terms[0]
	total := new(big.Int).Set(acc.max)
	for _, t := range terms[1:] {
		total.Add(total, t.max)
	}
	for k, t := range terms[1:] {
		if total.Cmp(limit) <= 0 || (k < len(terms)-2 && fits(acc, t)) {
			acc = add(acc, t)
		} else {
			acc = addmod(acc, t)
		}
	}
	return acc
}

// body emits the permutation over the Yul variables s0, s1, s2 (inputs, then outputs, all
// below R), one block per round so that its temporaries are popped rather than reassigned.
type body struct {
	buf bytes.Buffer
	s   [3]val
}

func (b *body) line(format string, args ...any) {
	fmt.Fprintf(&b.buf, "            "+format+"\n", args...)
}

// set emits name := e and returns the variable with e's bound.
func (b *body) set(name string, e val) val {
	b.line("    %s := %s", name, e.text)
	return val{name, e.max}
}

func (b *body) let(name string, e val) val {
	b.line("    let %s := %s", name, e.text)
	return val{name, e.max}
}

// sbox replaces word i by its fifth power; its round constant was added by the layer before.
func (b *body) sbox(i int) {
	x := b.let(fmt.Sprintf("x%d", i), mulmod(b.s[i], b.s[i]))
	b.s[i] = b.set(fmt.Sprintf("s%d", i), mulmod(mulmod(x, x), b.s[i]))
}

// linear applies E or I with the next round's constants (nil: none) folded in, leaving each
// word at most limits[i].
func (b *body) linear(internal bool, next []*big.Int, limits [3]*big.Int) {
	tLimit := sumBound
	if internal {
		// Reduced, so the lazily reduced s1 and s2 grow by at most R a round.
		tLimit = rMax
	}
	t := b.let("t", sum(b.s[:], tLimit))
	var out [3]val
	for i := range b.s {
		terms := []val{b.s[i], t}
		if internal && i == 2 {
			terms = append(terms, b.s[2]) // I's last diagonal entry is 3
		}
		if i < len(next) {
			terms = append(terms, lit(next[i]))
		}
		out[i] = sum(terms, limits[i])
	}
	for i := range b.s {
		b.s[i] = b.set(fmt.Sprintf("s%d", i), out[i])
	}
}

// permutation returns the unrolled rounds of §4.1.
func permutation() []byte {
	p := poseidon2.NewParameters(commit.Width, commit.FullRounds, commit.PartialRounds)
	if p.Width != 3 || len(p.RoundKeys) != p.NbFullRounds+p.NbPartialRounds {
		panic("genposeidon: unexpected parameters " + p.String())
	}
	rf := p.NbFullRounds / 2
	last := len(p.RoundKeys) - 1
	full := func(round int) bool { return round < rf || round > last-rf }
	keys := func(round int) []*big.Int {
		if round > last {
			return nil
		}
		var ks []*big.Int
		for _, k := range p.RoundKeys[round] {
			ks = append(ks, k.BigInt(new(big.Int)))
		}
		return ks
	}
	// limits gives the bounds for words entering round next.
	limits := func(next int) [3]*big.Int {
		switch {
		case next > last:
			return [3]*big.Int{rMax, rMax, rMax}
		case full(next):
			return [3]*big.Int{anyWord, anyWord, anyWord}
		default:
			return [3]*big.Int{anyWord, addable, addable}
		}
	}
	b := &body{s: [3]val{{"s0", rMax}, {"s1", rMax}, {"s2", rMax}}}
	b.line("// E·s and round 0's constants (§4.1).")
	b.line("{")
	b.linear(false, keys(0), limits(0))
	b.line("}")
	for round := range p.RoundKeys {
		kind := "partial"
		if full(round) {
			kind = "full"
		}
		if round < last {
			b.line("// round %d (%s), then the constants of round %d", round, kind, round+1)
		} else {
			b.line("// round %d (%s), then the outputs reduced", round, kind)
		}
		b.line("{")
		if full(round) {
			for i := range b.s {
				b.sbox(i)
			}
		} else {
			b.sbox(0)
		}
		b.linear(!full(round), keys(round+1), limits(round+1))
		b.line("}")
	}
	for i, s := range b.s {
		if s.max.Cmp(rMax) > 0 {
			panic(fmt.Sprintf("genposeidon: output s%d is not reduced", i))
		}
	}
	return b.buf.Bytes()
}

func generate() []byte {
	var out bytes.Buffer
	fmt.Fprintf(&out, header, generatedBy, modulus)
	out.Write(permutation())
	out.WriteString(footer)
	return out.Bytes()
}

const header = `// SPDX-License-Identifier: Apache-2.0
// Code generated by %s; DO NOT EDIT.
pragma solidity 0.8.30;

/// @notice The Poseidon2 permutation P and the sponge S(tag; x_1..x_n) of specs/protocol.md §4.1:
///         BN254 scalar field, width 3, 8 full and 56 partial rounds, x^5, the round constants of
///         gnark-crypto's poseidon2.NewParameters(3, 8, 56), the same as commit.Hash in Go and the
///         circuits' in-circuit hash.
/// @dev Generated by internal/cmd/genposeidon, which checks that no unreduced add can overflow.
library Poseidon2 {
    /// @notice The BN254 scalar field modulus.
    uint256 internal constant R = %d;

    /// @notice An input was not below R; reducing it would let two inputs hash alike.
    error NotFieldElement(uint256 value);

    /// @notice A sponge tag did not fit 64 bits, so tag*2^64 + n would not separate domains.
    error TagOutOfRange(uint256 tag);

    /// @notice P(s0, s1, s2); every word must be below R.
    function permute(uint256 s0, uint256 s1, uint256 s2) internal pure returns (uint256, uint256, uint256) {
        if (s0 >= R) revert NotFieldElement(s0);
        if (s1 >= R) revert NotFieldElement(s1);
        if (s2 >= R) revert NotFieldElement(s2);
        return _permute(s0, s1, s2);
    }

    /// @notice S(tag; xs): state [tag*2^64 + n, 0, 0], absorb pairs into words 1 and 2 (the last
    ///         one padded with 0), permute after each; n == 0 permutes once. Returns word 1.
    function hash(uint256 tag, uint256[] memory xs) internal pure returns (uint256) {
        if (tag >= 1 << 64) revert TagOutOfRange(tag);
        uint256 n = xs.length;
        // n < 2^64: no memory array is that long, so the capacity word is below 2^128 < R.
        uint256 s0 = (tag << 64) | n;
        uint256 s1;
        uint256 s2;
        if (n == 0) {
            (, s1,) = _permute(s0, 0, 0);
            return s1;
        }
        for (uint256 i; i < n;) {
            uint256 a;
            uint256 b;
            // Reads xs[i] (i < n) and xs[i + 1] when i + 1 < n, without Solidity's bounds checks.
            assembly ("memory-safe") {
                a := mload(add(xs, shl(5, add(i, 1))))
                if lt(add(i, 1), n) { b := mload(add(xs, shl(5, add(i, 2)))) }
            }
            if (a >= R) revert NotFieldElement(a);
            if (b >= R) revert NotFieldElement(b);
            (s0, s1, s2) = _permute(s0, addmod(s1, a, R), addmod(s2, b, R));
            // i < n < 2^64, so i + 2 cannot overflow.
            unchecked {
                i += 2;
            }
        }
        return s1;
    }

    /// @dev P on words already below R; outputs are below R.
    function _permute(uint256 s0, uint256 s1, uint256 s2) private pure returns (uint256, uint256, uint256) {
        assembly ("memory-safe") {
            let r := R
`

const footer = `        }
        return (s0, s1, s2);
    }
}
`
