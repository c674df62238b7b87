package gadgets

// Behavioural tests for constraints whose deletion (internal/cmd/mutate, docs/circuits.md
// "Mutation testing") no other test noticed: each lie below is one a malicious prover could
// use, is rejected by the gadget as it is, and is accepted once the named constraint is gone.

import (
	"math/big"
	"testing"

	"github.com/consensys/gnark-crypto/ecc"
	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/consensys/gnark/constraint"
	"github.com/consensys/gnark/constraint/solver"
	"github.com/consensys/gnark/frontend"
	"github.com/consensys/gnark/frontend/cs/r1cs"

	"github.com/probitylabs/probity/commit"
	"github.com/probitylabs/probity/protocol"
)

// compiled compiles c once, so that one test can solve many assignments with hint overrides.
func compiled(t *testing.T, c frontend.Circuit) constraint.ConstraintSystem {
	t.Helper()
	ccs, err := frontend.Compile(ecc.BN254.ScalarField(), r1cs.NewBuilder, c)
	if err != nil {
		t.Fatal(err)
	}
	return ccs
}

func solveCompiled(t *testing.T, ccs constraint.ConstraintSystem, a frontend.Circuit, opts ...solver.Option) error {
	t.Helper()
	w, err := frontend.NewWitness(a, ecc.BN254.ScalarField())
	if err != nil {
		t.Fatal(err)
	}
	return ccs.IsSolved(w, opts...)
}

// divModLie wraps divModHint for the divisions by modulus m only (the other division of the
// circuit keeps the honest hint) and changes (q, r) with f.
func divModLie(m int64, f func(field, x, q, r, m *big.Int)) solver.Hint {
	return func(field *big.Int, in, out []*big.Int) error {
		if err := divModHint(field, in, out); err != nil {
			return err
		}
		if in[1].Cmp(big.NewInt(m)) == 0 {
			f(field, in[0], out[0], out[1], in[1])
		}
		return nil
	}
}

// The three divmod lies: another remainder r' = r+1 mod m with q' = (x - r')/m in the field
// (only q's range rejects it); r' = r+1 mod m with q unchanged (only the equation rejects
// it); r + m with q - 1 (only the range of m - 1 - r rejects it).
func lieFieldQuotient(field, x, q, r, m *big.Int) {
	r.Add(r, big.NewInt(1)).Mod(r, m)
	inv := new(big.Int).ModInverse(m, field)
	q.Sub(x, r).Mul(q, inv).Mod(q, field)
}

func lieRemainderOnly(_, _, _, r, m *big.Int) { r.Add(r, big.NewInt(1)).Mod(r, m) }

func lieRemainderPlusM(_, _, q, r, m *big.Int) {
	q.Sub(q, big.NewInt(1))
	r.Add(r, m)
}

// nBitsLie returns gnark's nBits hint, except that an n-bit decomposition of the value v
// returns the bits of w: the bits a range check would tie to v.
func nBitsLie(t *testing.T, n int, v, w int64) solver.Hint {
	nb := nBitsHint(t)
	return func(field *big.Int, in, out []*big.Int) error {
		if err := nb(field, in, out); err != nil {
			return err
		}
		if len(out) == n && in[0].Cmp(big.NewInt(v)) == 0 {
			for i := range out {
				out[i].SetUint64(uint64(w>>i) & 1)
			}
		}
		return nil
	}
}

// ModVar and ModConst return x mod m and nothing else, whatever the divmod and bit hints say.
// M = 7 with D = 4 (so r + M fits D bits) for the row, N = 5 (d = 3) for the column, so each
// lie hits one of the two reductions and both r + M < 2^D and r + N < 2^d are reachable.
func TestModReductionLies(t *testing.T) {
	const M, D, N, d = 7, 4, 5, 3
	var seed fr.Element
	seed.SetUint64(2024)
	const k = 12
	smp := commit.Samples(seed, k, M, N)
	ccs := map[int]constraint.ConstraintSystem{}
	solve := func(s int, I, J int, opts ...solver.Option) error {
		if ccs[s] == nil {
			ccs[s] = compiled(t, &indexCircuit{D: D, N: N, S: s})
		}
		a := &indexCircuit{D: D, N: N, S: s, Seed: commit.ToBig(seed), M: M, I: I, J: J}
		return solveCompiled(t, ccs[s], a, opts...)
	}
	divID := solver.GetHintID(divModHint)
	nbID := solver.GetHintID(nBitsHint(t))
	tried := map[string]bool{}
	for s := range k {
		I, J := smp[s].I, smp[s].J
		if err := solve(s, I, J); err != nil {
			t.Fatalf("sample %d: honest rejected: %v", s, err)
		}
		type lie struct {
			name string
			ok   bool // the lie is well-formed for this sample
			I, J int
			opt  solver.Option
		}
		lies := []lie{
			{"row: r+1 with a field quotient (q's range)", true, (I + 1) % M, J, solver.OverrideHint(divID, divModLie(M, lieFieldQuotient))},
			{"row: r+1 with q unchanged (the equation)", true, (I + 1) % M, J, solver.OverrideHint(divID, divModLie(M, lieRemainderOnly))},
			{"row: r+M with q-1 (m-1-r's range)", true, I + M, J, solver.OverrideHint(divID, divModLie(M, lieRemainderPlusM))},
			// r's bits lie (r's own range check ties them to r); M-1-r = r would lie twice
			{"row: r's bits (r's range)", M-1-I != I, (I + 1) % M, J, solver.OverrideHint(nbID, nBitsLie(t, D, int64(I), int64((I+1)%M)))},
			{"column: r+1 with a field quotient (q's range)", true, I, (J + 1) % N, solver.OverrideHint(divID, divModLie(N, lieFieldQuotient))},
			{"column: r+1 with q unchanged (the equation)", true, I, (J + 1) % N, solver.OverrideHint(divID, divModLie(N, lieRemainderOnly))},
			{"column: r+N with q-1 (n-1-r's range)", J+N < 1<<d, I, J + N, solver.OverrideHint(divID, divModLie(N, lieRemainderPlusM))},
			{"column: r's bits (r's range)", N-1-J != J, I, (J + 1) % N, solver.OverrideHint(nbID, nBitsLie(t, d, int64(J), int64((J+1)%N)))},
		}
		for _, l := range lies {
			if !l.ok {
				continue
			}
			tried[l.name] = true
			if solve(s, l.I, l.J, l.opt) == nil {
				t.Fatalf("sample %d (i %d, j %d): %s accepted with (%d, %d)", s, I, J, l.name, l.I, l.J)
			}
		}
	}
	if len(tried) != 8 {
		t.Fatalf("only %d of 8 lies were well-formed for these samples: pick another seed", len(tried))
	}
}

// Non-canonical epilogue words are rejected even where the fields that are read look valid:
// bit 31 (above m's 31 bits) and bits 38, 39 (above s's six bits) must be zero.
func TestEpilogueWordReservedBits(t *testing.T) {
	c := &requantCircuit{}
	base := func(m, s, zb uint64) *big.Int { return new(big.Int).SetUint64(m | s<<32 | zb<<40) }
	for name, w := range map[string]*big.Int{
		"m = 2^31 + 1000": base(1<<31+1000, 10, 128),
		"s = 64 + 10":     base(1000, 64+10, 128),
		"s = 128 + 10":    base(1000, 128+10, 128),
	} {
		// acc = 0, z = 0: out = 0 if the low fields were read leniently
		if solved(c, &requantCircuit{Word: w, Acc: 0, Out: 0}) == nil {
			t.Errorf("%s accepted", name)
		}
	}
}

// s = 63 is outside [1, 62]; with acc·m = -2 it would be satisfiable (q = 0, r = 2^62 - 2,
// r·2^-1 < 2^62), so only the s ≠ 63 check rejects it.
func TestEpilogueShift63(t *testing.T) {
	w := new(big.Int).SetUint64(1 | 63<<32 | 128<<40)
	if solved(&requantCircuit{}, &requantCircuit{Word: w, Acc: -2, Out: 0}) == nil {
		t.Fatal("s = 63 accepted")
	}
}

// Lies of the floor-division and clamp hints that only one constraint each rejects.
func TestRequantHintLies(t *testing.T) {
	ccs := compiled(t, &requantCircuit{})
	word := func(m uint32, s uint8, z int8, relu bool) *big.Int {
		return (&protocol.Epilogue{Multiplier: m, Shift: s, ZeroPoint: z, ReLU: relu}).Word()
	}
	clamp := func(hi, lw int64) solver.Option {
		return solver.OverrideHint(solver.GetHintID(clampHint), func(f *big.Int, _, out []*big.Int) error {
			out[0].Mod(big.NewInt(hi), f)
			out[1].Mod(big.NewInt(lw), f)
			return nil
		})
	}
	for _, tc := range []struct {
		name      string
		word      *big.Int
		acc, out  int64 // out: what the lie gives
		honestOut int64
		opt       solver.Option
	}{
		// (6 + 2) / 4 = 2 exactly; q + 1 with r = 0 unchanged breaks only v = q·2^s + r
		{"q+1, r unchanged", word(3, 2, 0, false), 2, 3, 2, solver.OverrideHint(solver.GetHintID(floorDivHint), func(f *big.Int, in, out []*big.Int) error {
			if err := floorDivHint(f, in, out); err != nil {
				return err
			}
			out[0].Add(out[0], big.NewInt(1)).Mod(out[0], f)
			return nil
		})},
		// y = 100: hi = -1 gives a = 27, out = 2y - 127 = 73 (hi's booleanity)
		{"hi = -1", word(1, 1, 0, false), 200, 73, 100, clamp(-1, 0)},
		// y = -100: lw = -1 gives b = y - lo = 28, out = 2y - lo = -72 (lw's booleanity)
		{"lw = -1", word(1, 1, 0, false), -200, -72, -100, clamp(0, -1)},
		// relu with z = 0, y = -5: the middle branch gives out = y below the floor (out - lo's range)
		{"middle branch below the relu floor", word(1, 1, 0, true), -10, -5, 0, clamp(0, 0)},
	} {
		if err := solveCompiled(t, ccs, &requantCircuit{Word: tc.word, Acc: tc.acc, Out: tc.honestOut}); err != nil {
			t.Fatalf("%s: honest out %d rejected: %v", tc.name, tc.honestOut, err)
		}
		if solveCompiled(t, ccs, &requantCircuit{Word: tc.word, Acc: tc.acc, Out: tc.out}, tc.opt) == nil {
			t.Fatalf("%s: out %d accepted", tc.name, tc.out)
		}
	}
}
