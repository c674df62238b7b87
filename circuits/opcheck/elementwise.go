package opcheck

// Elementwise ops: lut (ops.md §6), add (§7) and mul (§8). One sampled output element reads
// one element of each operand at the same position, so none of these depends on the row
// capacity: the costs below (R1CS constraints, measured by TestElementwiseCost) are the same for
// capacity 128 and 1024.
//
//	LutTable  2057 per lut descriptor (the 2048 bits of its 9 words, each word's bound)
//	Lut        265 per sampled element (a 256-way mux, the 8 bits of the index, the equality)
//	Add        265 (zero points 3 x 9, multipliers 2 x 33, shift 16, products 2,
//	               RoundShift(40) 108, AssertClamp8Bits(40) 46)
//	Mul        246 (zero points 3 x 9, multiplier 33, shift 16, products 2,
//	               RoundShift(47) 115, AssertClamp8Bits(47) 53)
//
// Add and Mul check their descriptor words on each call; a circuit sampling several elements
// of one op pays that part again per element.

import (
	"github.com/consensys/gnark/frontend"
	"github.com/consensys/gnark/std/math/bits"
)

// LutTableWords is the number of descriptor words d_7..d_15 that hold a lut's table.
const LutTableWords = 9

// lutWordBytes is the number of table bytes in word j (protocol.md §4.2: 31 per word, the last
// one holding the 256 - 8*31 = 8 remaining bytes).
func lutWordBytes(j int) int { return min(31, 256-31*j) }

// LutTable unpacks the 9 table words d_7..d_15 of a lut descriptor (model.md §3: pack(table),
// protocol.md §4.2: 31 bytes t+128 per word little-endian, the 9th word holding the last 8
// bytes) into 256 bytes, canonically (no bits past the bytes a word holds).
//
// Each word is decomposed into exactly 8 bits per byte it holds, so a word at or above
// 2^(8*bytes) is unsatisfiable and every byte is bound to [0, 256).
func LutTable(api frontend.API, words []frontend.Variable) []frontend.Variable {
	if len(words) != LutTableWords {
		panic("opcheck: LutTable wants 9 words")
	}
	table := make([]frontend.Variable, 0, 256)
	for j, w := range words {
		wb := bits.ToBinary(api, w, bits.WithNbDigits(8*lutWordBytes(j)))
		for t := 0; t < lutWordBytes(j); t++ {
			// a linear combination of 8 checked bits: no constraint of its own
			var v frontend.Variable = 0
			for k := 7; k >= 0; k-- {
				v = api.Add(api.Mul(v, 2), wb[8*t+k])
			}
			table = append(table, v)
		}
	}
	return table
}

// Lut asserts out = table[x] where x and out are bytes (value+128) and table the 256 bytes
// from LutTable (ops.md §6: out = T[X + 128]). Pick also binds x to [0, 256).
func Lut(api frontend.API, table []frontend.Variable, x, out frontend.Variable) {
	if len(table) != 256 {
		panic("opcheck: Lut wants a 256-entry table")
	}
	api.AssertIsEqual(out, Pick(api, table, x))
}

// zeroPoint checks a descriptor zero-point word z+128 to [0, 255].
func zeroPoint(api frontend.API, z frontend.Variable) {
	bits.ToBinary(api, z, bits.WithNbDigits(8))
}

// multiplier checks a multiplier word to [1, 2^31) (ops.md §7, §8).
func multiplier(api frontend.API, m frontend.Variable) {
	bits.ToBinary(api, m, bits.WithNbDigits(31))
	api.AssertIsDifferent(m, 0)
}

// Add asserts out = clamp8(rshr(ma (a - za) + mb (b - zb), s) + zo) + 128 (ops.md §7). a, b, out
// are bytes (value+128), range-checked by the caller (they come from opened rows); za, zb, zo
// are the descriptor words z+128 (checked to [0, 255]); ma, mb in [1, 2^31) and s in [1, 62]
// (checked). The +128 of each byte and zero point cancel in a - za, so the centred values are
// differences of words.
func Add(api frontend.API, a, b, za, zb, ma, mb, shift, zo, out frontend.Variable) {
	zeroPoint(api, za)
	zeroPoint(api, zb)
	zeroPoint(api, zo)
	multiplier(api, ma)
	multiplier(api, mb)
	sh := NewShift(api, shift)
	// |ma (a - za)| <= (2^31 - 1) * 255 < 2^39, so |v| < 2^40.
	v := api.Add(api.Mul(ma, api.Sub(a, za)), api.Mul(mb, api.Sub(b, zb)))
	q := RoundShift(api, v, sh, 40)
	// |q| <= 2^39 + 1, so |y| = |q + zo| < 2^40.
	AssertClamp8Bits(api, api.Add(q, api.Sub(zo, 128)), out, 40)
}

// Mul asserts out = clamp8(rshr(m (a - za)(b - zb), s) + zo) + 128 (ops.md §8), same
// encodings and checks as Add: a, b, out are bytes from the caller, za, zb, zo words z+128 in
// [0, 255], m in [1, 2^31), s in [1, 62].
func Mul(api frontend.API, a, b, za, zb, m, shift, zo, out frontend.Variable) {
	zeroPoint(api, za)
	zeroPoint(api, zb)
	zeroPoint(api, zo)
	multiplier(api, m)
	sh := NewShift(api, shift)
	// |(a - za)(b - zb)| <= 65025 < 2^16, times m < 2^31: |v| < 2^47.
	v := api.Mul(m, api.Mul(api.Sub(a, za), api.Sub(b, zb)))
	q := RoundShift(api, v, sh, 47)
	// |q| <= 2^46 + 1, so |y| = |q + zo| < 2^47.
	AssertClamp8Bits(api, api.Add(q, api.Sub(zo, 128)), out, 47)
}
