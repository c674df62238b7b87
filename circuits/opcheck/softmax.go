package opcheck

// Softmax (ops.md §4) for one sampled output element, and the decomposition of its table
// words (model.md §3).
//
// Constraints (R1CS, BN254, measured by TestSoftmaxCost):
//
//	SoftmaxTable             4627 (once per table: 256 entries of 18 constraints, 19 more)
//	Softmax, capacity  128  18466 (144.3 per column)
//	Softmax, capacity 1024 146658 (143.2 per column)
//
// Per column: 1 for the masked difference d_t, 9 for its 8 bits, 63 for the packed-word mux,
// 65 to unpack the word, 3 for the slot mux, 1 for the running product that proves the max,
// and about 1 for the final pick of column j.
//
// The table lookup w_t = E[d_t] is the dominant cost. A plain 256-way binary mux over the
// entries costs 255 constraints per column (selector.Mux: the same plus 9 for its own bits).
// Here the 256 entries are packed four to a field element (64 words of 64 bits); the 6 high
// bits of d_t pick a word with a 64-way mux (63 constraints: a mux moves all four entries of a
// word at once), the word is unpacked into its 64 bits (65) and the 2 low bits pick the entry
// (3): 131 instead of 255. Four per word is the optimum of 256/k - 1 + 16k + k over the k
// entries per word (the unpacking pays 16 bits per entry). Cheaper still would be a
// log-derivative lookup (gnark std/lookup/logderivlookup, a few constraints per column), but
// it needs Groth16 commitments (BSB22), which no circuit of this project uses so far.

import (
	"errors"
	"fmt"
	"math/big"
	mbits "math/bits"

	"github.com/consensys/gnark/frontend"
	"github.com/consensys/gnark/std/math/bits"
	"github.com/consensys/gnark/std/selector"
)

const (
	// SoftmaxTableWords is the number of table words of a softmax descriptor (d_8..d_25).
	SoftmaxTableWords = 18
	// softmaxEntries is the table length: one entry per max-subtracted difference.
	softmaxEntries = 256
	// softmaxPerWord is the number of 16-bit entries in each of the first 17 table words.
	softmaxPerWord = 15
	// softmaxOne is E[0] = 2^15, the largest entry.
	softmaxOne = 1 << 15
)

var _ = register(softmaxEntriesHint, softmaxMaxHint)

// SoftmaxTable decomposes the 18 table words (descriptor words d_8..d_25 of a softmax,
// model.md §3: d_{8+q} = sum_{r<15, 15q+r<256} E[15q+r] * 2^(16r)) into the 256 entries
// E[0..255], checking each entry is 16 bits, that the last word holds only E[255] (no bits
// above), E[0] = 2^15 and every E[d] <= 2^15 (ops.md §4).
//
// The entries of words 0..16 are hinted and recomposed: fifteen 16-bit entries sum below
// 2^240 < R, so the recomposition is exact and each word has one decomposition. Every entry
// is returned as a single wire (not a linear combination of its bits), which keeps the
// linear combinations of Softmax's packed words short.
func SoftmaxTable(api frontend.API, words []frontend.Variable) []frontend.Variable {
	if len(words) != SoftmaxTableWords {
		panic(fmt.Sprintf("opcheck: SoftmaxTable wants %d words, got %d", SoftmaxTableWords, len(words)))
	}
	E := make([]frontend.Variable, 0, softmaxEntries)
	for q := 0; q < SoftmaxTableWords-1; q++ {
		es, err := api.Compiler().NewHint(softmaxEntriesHint, softmaxPerWord, words[q])
		if err != nil {
			panic(err)
		}
		var sum frontend.Variable = 0
		for r, e := range es {
			sum = api.Add(sum, api.Mul(e, softmaxPow16(r)))
		}
		api.AssertIsEqual(sum, words[q])
		E = append(E, es...)
	}
	// The last word is E[255] itself: its 16-bit check below is the "no bits above" check.
	E = append(E, words[SoftmaxTableWords-1])
	// A 16-bit e is at most 2^15 iff bit 15 set forces the low 15 bits to zero: each product
	// b15 * low is an integer in [0, 2^15), so their sum (below 2^23) is zero only if each is.
	var over frontend.Variable = 0
	for _, e := range E {
		b := bits.ToBinary(api, e, bits.WithNbDigits(16))
		over = api.Add(over, api.Mul(b[15], api.Sub(e, api.Mul(b[15], softmaxOne))))
	}
	api.AssertIsEqual(over, 0)
	api.AssertIsEqual(E[0], softmaxOne)
	return E
}

// Softmax asserts out = softmax(x)[j] + 128 (ops.md §4) for the row x (width N = x.Width,
// 1 <= N), the visibility mask vis (vis[t] = 1 for the unmasked columns; the caller builds it
// as a prefix mask that is a subset of x.In: t <= i + N - M when causal, t < N otherwise), the
// 256 table entries E from SoftmaxTable, the column j in [0, N) (constrained here) and the
// output byte out. A masked column (vis[j] = 0) must give out = 0 (value -128); a row with
// every column masked gives out = 0 as well.
//
// The caller range-checks out to [0, 256) (as AssertClamp8 requires) and guarantees vis
// boolean with vis[t] <= x.In[t]; the prefix shape of vis is not relied on. E must come from
// SoftmaxTable: the packed lookup needs 16-bit entries and the sum below needs E[0] = 2^15.
//
// In the circuit, with B_t = x_t + 128 and mxB = mx + 128 (hinted):
//   - d_t = vis_t (mxB - B_t) in [0, 256) by 8 bits: mx is at least every visible x_t, and
//     d_t = 0 for a masked t;
//   - prod_t (d_t + 1 - vis_t) = 0 when some column is visible: a factor is zero only for a
//     visible t with d_t = 0, so mx is attained, i.e. it is the max;
//   - v_t = E[d_t] for every t, so v_t = E[0] = 2^15 for a masked t, and
//     sum = sum_t v_t - 2^15 (C - #visible) is the sum of the visible weights, exactly;
//   - with S = sum, or 1 when no column is visible (sum = 0 then), q = floor((512 v_j + S) /
//     (2S)) = rdiv(256 w_j, sum) by q*2S + r = 512 v_j + S with r in [0, 2S);
//   - out = clamp8(vis_j q - 128) + 128: a masked j gives clamp8(-128) + 128 = 0.
//
// q needs no range check of its own: AssertClamp8 bounds |vis_j q - 128| below 2^64 + 128
// (for an in-range out), so for a visible j, |q * 2S| < 2^98 and the field identity holds over
// the integers; with r in [0, 2S) that makes q the floor.
func Softmax(api frontend.API, x Row, vis []frontend.Variable, E []frontend.Variable, j, out frontend.Variable) {
	C := x.Cap()
	if C < 1 || len(x.In) != C || len(vis) != C {
		panic(fmt.Sprintf("opcheck: Softmax row capacity %d with %d In and %d vis", C, len(x.In), len(vis)))
	}
	if C > 1<<16 {
		panic("opcheck: Softmax row capacity above 2^16")
	}
	if len(E) != softmaxEntries {
		panic(fmt.Sprintf("opcheck: Softmax wants %d table entries, got %d", softmaxEntries, len(E)))
	}
	// P[w] packs E[4w..4w+3] in 16-bit slots: each entry is below 2^16 (SoftmaxTable), so
	// P[w] < 2^64 has exactly one decomposition into 64 bits.
	P := make([]frontend.Variable, softmaxEntries/4)
	for w := range P {
		P[w] = api.Add(E[4*w], api.Mul(E[4*w+1], softmaxPow16(1)), api.Mul(E[4*w+2], softmaxPow16(2)), api.Mul(E[4*w+3], softmaxPow16(3)))
	}
	mx, err := api.Compiler().NewHint(softmaxMaxHint, 1, append(append([]frontend.Variable{}, x.B...), vis...)...)
	if err != nil {
		panic(err)
	}
	mxB := mx[0]

	var prod frontend.Variable = 1
	var sumV frontend.Variable = 0
	var nVis frontend.Variable = 0
	packed := make([]frontend.Variable, C)
	for t := range C {
		d := api.Mul(vis[t], api.Sub(mxB, x.B[t]))
		db := bits.ToBinary(api, d, bits.WithNbDigits(8))
		word := selector.BinaryMux(api, db[2:], P)
		wb := bits.ToBinary(api, word, bits.WithNbDigits(64))
		slots := make([]frontend.Variable, 4)
		for s := range slots {
			slots[s] = softmaxBits(api, wb[16*s:16*s+16])
		}
		v := selector.BinaryMux(api, db[:2], slots) // E[d_t]
		prod = api.Mul(prod, api.Sub(api.Add(d, 1), vis[t]))
		sumV = api.Add(sumV, v)
		nVis = api.Add(nVis, vis[t])
		// v_t < 2^16, so one pick carries v_j, vis_j and In_j.
		packed[t] = api.Add(v, api.Mul(vis[t], 1<<16), api.Mul(x.In[t], 1<<17))
	}
	// A j >= N has In_j = 0, so packed_j - 2^17 is negative: not 17 bits.
	pb := bits.ToBinary(api, api.Sub(Pick(api, packed, j), 1<<17), bits.WithNbDigits(17))
	vj := softmaxBits(api, pb[:16]) // and vis_j = pb[16]

	anyVis := api.Sub(1, api.IsZero(nVis))
	api.AssertIsEqual(api.Mul(prod, anyVis), 0)
	sum := api.Sub(sumV, api.Mul(api.Sub(C, nVis), softmaxOne))
	S := api.Add(sum, api.Sub(1, anyVis)) // in [1, C 2^15]
	num := api.Add(api.Mul(vj, 512), S)   // below 2^24 + 2^31
	den := api.Mul(S, 2)                  // in [2, C 2^16]
	qr, err := api.Compiler().NewHint(floorDivHint, 2, num, den)
	if err != nil {
		panic(err)
	}
	q, r := qr[0], qr[1]
	rBits := mbits.Len(uint(C) << 16) // 2S <= C 2^16 < 2^rBits
	bits.ToBinary(api, r, bits.WithNbDigits(rBits))
	bits.ToBinary(api, api.Sub(api.Sub(den, 1), r), bits.WithNbDigits(rBits))
	api.AssertIsEqual(api.Add(api.Mul(q, den), r), num)
	AssertClamp8(api, api.Sub(api.Mul(pb[16], q), 128), out)
}

// softmaxPow16 is 2^(16k).
func softmaxPow16(k int) *big.Int { return new(big.Int).Lsh(big.NewInt(1), uint(16*k)) }

// softmaxBits is sum_i b[i] 2^i, a linear combination (no constraint).
func softmaxBits(api frontend.API, b []frontend.Variable) frontend.Variable {
	var v frontend.Variable = 0
	for i, bi := range b {
		v = api.Add(v, api.Mul(bi, new(big.Int).Lsh(big.NewInt(1), uint(i))))
	}
	return v
}

// softmaxEntriesHint splits a table word into its len(out) 16-bit entries, low first.
func softmaxEntriesHint(_ *big.Int, in, out []*big.Int) error {
	if len(in) != 1 {
		return errors.New("softmaxEntriesHint: want 1 input")
	}
	w := new(big.Int).Set(in[0])
	mask := big.NewInt(0xffff)
	for r := range out {
		out[r].And(w, mask)
		w.Rsh(w, 16)
	}
	return nil
}

// softmaxMaxHint returns max B_t over the visible t (in = B_0..B_{C-1}, vis_0..vis_{C-1}), or
// 0 when no column is visible.
func softmaxMaxHint(_ *big.Int, in, out []*big.Int) error {
	if len(in)%2 != 0 || len(out) != 1 {
		return errors.New("softmaxMaxHint: want 2C inputs and 1 output")
	}
	c := len(in) / 2
	out[0].SetUint64(0)
	for t := range c {
		if in[c+t].Sign() != 0 && in[t].Cmp(out[0]) > 0 {
			out[0].Set(in[t])
		}
	}
	return nil
}
