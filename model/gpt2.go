package model

import (
	"fmt"
	"math"

	"github.com/probitylabs/probity/ops"
	"github.com/probitylabs/probity/protocol"
	"github.com/probitylabs/probity/tensor"
)

// DecoderConfig sizes a GPT-2-style decoder (specs/model.md §8). Context is the position
// table's rows, the longest sequence the model takes; Inner is the MLP's width (0: 4·Width).
type DecoderConfig struct {
	Vocab, Context, Width, Heads, Blocks, Inner int
}

// Decoder returns the graph of specs/model.md §8: token and position embeddings, Blocks pre-LN transformer
// blocks (layernorm, one qkv linear, per-head slices, causal attention, concat, output linear,
// residual add, layernorm, MLP with a GELU table, residual add), a final layernorm and the
// logits linear. Parameter tensors are zero and the scalars are placeholders in range (unit
// gamma, GELU and exp tables for scale 1/16); the importer or a test sets the real values.
func Decoder(c DecoderConfig) (*Model, error) {
	if c.Vocab < 1 || c.Context < 1 || c.Heads < 1 || c.Inner < 0 || c.Blocks < 0 || c.Width < c.Heads || c.Width%c.Heads != 0 {
		return nil, fmt.Errorf("decoder: bad config %+v", c)
	}
	d, dh := c.Width, c.Width/c.Heads
	inner := c.Inner
	if inner == 0 {
		inner = 4 * d
	}
	m := &Model{Input: Input{Name: "ids", DType: I32, Width: 1}}
	add := func(op Op) int {
		m.Ops = append(m.Ops, op)
		return len(m.Ops) // the result's tensor id
	}
	epi := protocol.Epilogue{Multiplier: 1 << 30, Shift: 38}
	linear := func(name string, in, n, k int) int {
		ms := tensor.NewInt32(n)
		for j := range ms.Data {
			ms.Data[j] = 1 << 30
		}
		return add(Op{Kind: KindLinear, Name: name, In: []int{in}, Weight: tensor.NewInt8(n, k), Bias: tensor.NewInt32(n),
			Scales: ms, Epilogue: protocol.Epilogue{Shift: 38}})
	}
	layernorm := func(name string, in int) int {
		g := tensor.NewInt32(d)
		for j := range g.Data {
			g.Data[j] = 1 << 12 // gamma 1 at shift 12 and output scale 1
		}
		return add(Op{Kind: KindLayerNorm, Name: name, In: []int{in}, Gamma: g, Beta: tensor.NewInt32(d), Shift: 12, Eps: 1})
	}
	resid := func(name string, a, b int) int {
		return add(Op{Kind: KindAdd, Name: name, In: []int{a, b}, MulA: 1 << 30, MulB: 1 << 30, Shift: 30})
	}
	wte := add(Op{Kind: KindEmbed, Name: "wte", In: []int{0}, Weight: tensor.NewInt8(c.Vocab, d)})
	wpe := add(Op{Kind: KindPosition, Name: "wpe", In: []int{0}, Weight: tensor.NewInt8(c.Context, d)})
	x := resid("embed", wte, wpe)
	exp, gelu := ExpTableFor(1.0/16), GELUTable(1.0/16, 1.0/16)
	for b := range c.Blocks {
		p := fmt.Sprintf("h%d_", b)
		h := layernorm(p+"ln_1", x)
		qkv := linear(p+"attn_c_attn", h, 3*d, d)
		heads := make([]int, c.Heads)
		for hd := range c.Heads {
			q := fmt.Sprintf("%sh%d_", p, hd)
			sl := func(name string, part int) int {
				return add(Op{Kind: KindSlice, Name: q + name, In: []int{qkv}, Offset: part*d + hd*dh, Width: dh})
			}
			qi, ki, vi := sl("q", 0), sl("k", 1), sl("v", 2)
			s := add(Op{Kind: KindMatmul, Name: q + "scores", In: []int{qi, ki}, TransB: true, Causal: true, Epilogue: epi})
			e := exp // each op owns its table, so setting one never changes another
			pr := add(Op{Kind: KindSoftmax, Name: q + "probs", In: []int{s}, Exp: &e, Causal: true})
			// Softmax codes have zero point -128 (specs/ops.md §4).
			heads[hd] = add(Op{Kind: KindMatmul, Name: q + "attn", In: []int{pr, vi}, ZeroA: -128, Causal: true, Epilogue: epi})
		}
		o := heads[0]
		for hd := 1; hd < c.Heads; hd++ {
			o = add(Op{Kind: KindConcat, Name: fmt.Sprintf("%sheads_%d", p, hd), In: []int{o, heads[hd]}})
		}
		a := linear(p+"attn_c_proj", o, d, d)
		x1 := resid(p+"resid_attn", x, a)
		h2 := layernorm(p+"ln_2", x1)
		u := linear(p+"mlp_c_fc", h2, inner, d)
		g := add(Op{Kind: KindLUT, Name: p + "mlp_gelu", In: []int{u}, Weight: &tensor.Int8{Shape: []int{256}, Data: append([]int8(nil), gelu[:]...)}})
		mo := linear(p+"mlp_c_proj", g, d, inner)
		x = resid(p+"resid_mlp", x1, mo)
	}
	x = layernorm("ln_f", x)
	linear("logits", x, c.Vocab, d)
	return m, nil
}

// ExpTableFor is specs/ops.md §4's table E[d] = round(2^15·exp(-d·s)) for input scale s.
func ExpTableFor(s float64) ops.ExpTable {
	var e ops.ExpTable
	for d := range e {
		e[d] = int32(math.Round(ops.ExpOne * math.Exp(-float64(d)*s)))
	}
	return e
}

// GELUTable is the lut of GELU (tanh form, as GPT-2) from input scale sIn to output scale sOut,
// zero points 0.
func GELUTable(sIn, sOut float64) [256]int8 {
	var t [256]int8
	for k := range t {
		x := float64(k-128) * sIn
		y := 0.5 * x * (1 + math.Tanh(math.Sqrt(2/math.Pi)*(x+0.044715*x*x*x)))
		t[k] = int8(min(max(math.Round(y/sOut), -128), 127))
	}
	return t
}
