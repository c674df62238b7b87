package convert

import (
	"fmt"
	"math"

	"github.com/probitylabs/probity/model"
	"github.com/probitylabs/probity/protocol"
	"github.com/probitylabs/probity/tensor"
)

// The integer model's scheme (docs/models.md): every activation is symmetric int8 (zero point
// 0) with the scale max|x|/127 seen in calibration, except softmax outputs (scale 1/256, zero
// point -128, specs/ops.md §4); every linear weight column has its own scale max|W[j]|/127
// and its own multiplier; q, k and v of each head get their own scales through those
// per-column multipliers; the heads of a block share one scale because they are concatenated.

// Calibrate runs the float model over each window and returns the activation magnitudes.
func Calibrate(g *GPT2, windows [][]int32) (Stats, error) {
	if len(windows) == 0 {
		return nil, fmt.Errorf("calibrate: no calibration tokens")
	}
	st := Stats{}
	for _, w := range windows {
		if _, err := g.Forward(w, st); err != nil {
			return nil, fmt.Errorf("calibrate: %w", err)
		}
	}
	for name, v := range st {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, fmt.Errorf("calibrate: activation %s reached %v in the float model", name, v)
		}
	}
	return st, nil
}

// Windows cuts tokens into consecutive windows of at most n tokens (the last may be shorter
// but has at least 2, so it predicts something).
func Windows(tokens []int32, n int) [][]int32 {
	var out [][]int32
	for lo := 0; lo+1 < len(tokens); lo += n {
		out = append(out, tokens[lo:min(lo+n, len(tokens))])
	}
	return out
}

// scale is the symmetric int8 scale of an activation.
func (s Stats) scale(name string) float64 {
	v := s[name]
	if v == 0 || math.IsNaN(v) {
		v = 1
	}
	return v / 127
}

// fixed writes ratios r_i as multipliers m_i ≈ r_i·2^s in [1, 2^31) with one shift s in
// [1, 62], the largest that keeps every m_i below 2^31, so the smallest ratio keeps the
// most precision the shared shift allows.
func fixed(rs ...float64) ([]uint32, uint8, error) {
	mx := 0.0
	for _, r := range rs {
		if !(r > 0) || math.IsInf(r, 0) {
			return nil, 0, fmt.Errorf("requantization ratio %v is not a positive number", r)
		}
		mx = math.Max(mx, r)
	}
	s := int(math.Floor(math.Log2((1<<31 - 1) / mx)))
	for s > 0 && math.Round(mx*math.Ldexp(1, s)) >= 1<<31 {
		s--
	}
	if s < 1 {
		return nil, 0, fmt.Errorf("requantization ratio %v is too large for a multiplier below 2^31 at shift 1", mx)
	}
	s = min(s, 62)
	ms := make([]uint32, len(rs))
	for i, r := range rs {
		ms[i] = uint32(max(1, math.Round(r*math.Ldexp(1, s))))
	}
	return ms, uint8(s), nil
}

func round8(x float64) int8 { return int8(max(-128, min(127, math.Round(x)))) }

// quantTable is a float table [rows][cols] as int8 codes of one scale max|x|/127.
func quantTable(m *Matrix) (*tensor.Int8, float64) {
	mx := 0.0
	for _, v := range m.Data {
		mx = math.Max(mx, math.Abs(float64(v)))
	}
	if mx == 0 {
		mx = 1
	}
	s := mx / 127
	t := tensor.NewInt8(m.Rows, m.Cols)
	for i, v := range m.Data {
		t.Data[i] = round8(float64(v) / s)
	}
	return t, s
}

// setLinear quantizes y = x·W + b into op: w(j, k) is the float weight of output column j
// and input k, sIn the input's scale and sOut[j] column j's output scale.
func setLinear(op *model.Op, N, K int, w func(j, k int) float64, bias []float32, sIn float64, sOut func(j int) float64) error {
	op.Weight, op.Bias, op.Scales = tensor.NewInt8(N, K), tensor.NewInt32(N), tensor.NewInt32(N)
	ratios := make([]float64, N)
	for j := range N {
		mx := 0.0
		for k := range K {
			mx = math.Max(mx, math.Abs(w(j, k)))
		}
		sw := mx / 127
		if sw == 0 {
			sw = 1
		}
		for k := range K {
			op.Weight.Data[j*K+k] = round8(w(j, k) / sw)
		}
		if bias != nil {
			b := math.Round(float64(bias[j]) / (sIn * sw))
			if b < math.MinInt32 || b > math.MaxInt32 {
				return fmt.Errorf("%s: bias of column %d is %v in accumulator units, outside int32", op.Name, j, b)
			}
			op.Bias.Data[j] = int32(b)
		}
		// The largest accumulator any int8 input can reach must fit int32 (specs/ops.md §2),
		// so the converted op can never overflow at run time.
		bound := math.Abs(float64(op.Bias.Data[j]))
		for k := range K {
			bound += 128 * math.Abs(float64(op.Weight.Data[j*K+k]))
		}
		if bound > math.MaxInt32 {
			return fmt.Errorf("%s: column %d can reach an accumulator of %.0f, outside int32", op.Name, j, bound)
		}
		ratios[j] = sIn * sw / sOut(j)
	}
	ms, s, err := fixed(ratios...)
	if err != nil {
		return fmt.Errorf("%s: %w", op.Name, err)
	}
	for j, m := range ms {
		op.Scales.Data[j] = int32(m)
	}
	op.Epilogue = protocol.Epilogue{Shift: s}
	return nil
}

// setNorm quantizes gamma·(x - mean)/sqrt(var + eps) + beta with input scale sIn and output
// scale sOut (specs/ops.md §5: g = gamma·2^(s-12)/S_out, b = beta/S_out, eps in N²·S_x² units).
func setNorm(op *model.Op, gamma, beta []float32, eps, sIn, sOut float64) error {
	N := len(gamma)
	mx := 0.0
	for _, v := range gamma {
		mx = math.Max(mx, math.Abs(float64(v))/sOut)
	}
	if mx == 0 {
		mx = 1
	}
	// g·nu < 2^51 needs |g| < 2^31 (|nu| < 2^20); 2^24 leaves room and keeps 12+ bits.
	s := min(62, max(1, 12+int(math.Floor(math.Log2((1<<24)/mx)))))
	op.Shift = uint8(s)
	op.Gamma, op.Beta = tensor.NewInt32(N), tensor.NewInt32(N)
	for j := range N {
		op.Gamma.Data[j] = int32(math.Round(float64(gamma[j]) * math.Ldexp(1, s-12) / sOut))
		b := math.Round(float64(beta[j]) / sOut)
		op.Beta.Data[j] = int32(max(math.MinInt32, min(math.MaxInt32, b)))
	}
	e := math.Round(float64(N) * float64(N) * eps / (sIn * sIn))
	op.Eps = int64(min(e, 1<<46))
	return nil
}

// Quantize converts the checkpoint into the integer decoder of specs/model.md §8 with the
// activation scales of st. It returns the model and the logits' scale (code·scale ≈ logit).
func Quantize(g *GPT2, st Stats) (*model.Model, float64, error) {
	d, H := g.Width, g.Heads
	dh := d / H
	inner := 4 * d
	if g.Inner != nil {
		inner = *g.Inner
	}
	m, err := model.Decoder(model.DecoderConfig{Vocab: g.Vocab, Context: g.Positions, Width: d, Heads: H, Blocks: g.Layers, Inner: inner})
	if err != nil {
		return nil, 0, err
	}
	ops := map[string]*model.Op{}
	for i := range m.Ops {
		ops[m.Ops[i].Name] = &m.Ops[i]
	}
	var sWTE, sWPE float64
	ops["wte"].Weight, sWTE = quantTable(&g.WTE)
	ops["wpe"].Weight, sWPE = quantTable(&g.WPE)
	sX := st.scale("embed")
	if err := setAdd(ops["embed"], sWTE, sWPE, sX); err != nil {
		return nil, 0, err
	}
	for b, blk := range g.Blocks {
		p := fmt.Sprintf("h%d_", b)
		sLN1 := st.scale(p + "ln_1")
		if err := setNorm(ops[p+"ln_1"], blk.LN1W, blk.LN1B, g.Epsilon, sX, sLN1); err != nil {
			return nil, 0, err
		}
		// Column j of c_attn is part j/d (q, k, v) of head (j%d)/dh, each with its own scale.
		partScale := func(j int) float64 {
			return st.scale(fmt.Sprintf("%sh%d_%s", p, (j%d)/dh, []string{"q", "k", "v"}[j/d]))
		}
		conv := func(w *Matrix) func(j, k int) float64 {
			return func(j, k int) float64 { return float64(w.Data[k*w.Cols+j]) }
		}
		if err := setLinear(ops[p+"attn_c_attn"], 3*d, d, conv(&blk.Attn), blk.AttnB, sLN1, partScale); err != nil {
			return nil, 0, err
		}
		sAttn := st.scale(p + "attn")
		for hd := range H {
			q := fmt.Sprintf("%sh%d_", p, hd)
			sQ, sK, sV, sS := st.scale(q+"q"), st.scale(q+"k"), st.scale(q+"v"), st.scale(q+"scores")
			if err := setEpilogue(ops[q+"scores"], sQ*sK/(math.Sqrt(float64(dh))*sS)); err != nil {
				return nil, 0, err
			}
			e := model.ExpTableFor(sS)
			ops[q+"probs"].Exp = &e
			if err := setEpilogue(ops[q+"attn"], sV/(256*sAttn)); err != nil {
				return nil, 0, err
			}
		}
		sProj := st.scale(p + "attn_c_proj")
		if err := setLinear(ops[p+"attn_c_proj"], d, d, conv(&blk.AttnProj), blk.AttnProjB, sAttn, func(int) float64 { return sProj }); err != nil {
			return nil, 0, err
		}
		sR1 := st.scale(p + "resid_attn")
		if err := setAdd(ops[p+"resid_attn"], sX, sProj, sR1); err != nil {
			return nil, 0, err
		}
		sLN2 := st.scale(p + "ln_2")
		if err := setNorm(ops[p+"ln_2"], blk.LN2W, blk.LN2B, g.Epsilon, sR1, sLN2); err != nil {
			return nil, 0, err
		}
		sFC, sGELU := st.scale(p+"mlp_c_fc"), st.scale(p+"mlp_gelu")
		if err := setLinear(ops[p+"mlp_c_fc"], inner, d, conv(&blk.FC), blk.FCB, sLN2, func(int) float64 { return sFC }); err != nil {
			return nil, 0, err
		}
		lut := ops[p+"mlp_gelu"].Weight
		for c := -128; c < 128; c++ {
			lut.Data[c+128] = round8(g.gelu(float64(c)*sFC) / sGELU)
		}
		sMP := st.scale(p + "mlp_c_proj")
		if err := setLinear(ops[p+"mlp_c_proj"], d, inner, conv(&blk.Proj), blk.ProjB, sGELU, func(int) float64 { return sMP }); err != nil {
			return nil, 0, err
		}
		sR2 := st.scale(p + "resid_mlp")
		if err := setAdd(ops[p+"resid_mlp"], sR1, sMP, sR2); err != nil {
			return nil, 0, err
		}
		sX = sR2
	}
	sLNF, sLogit := st.scale("ln_f"), st.scale("logits")
	if err := setNorm(ops["ln_f"], g.LNFW, g.LNFB, g.Epsilon, sX, sLNF); err != nil {
		return nil, 0, err
	}
	// The output head is tied to wte: W[j] = wte[j], already [V, d] (out, in).
	tied := func(j, k int) float64 { return float64(g.WTE.Data[j*d+k]) }
	if err := setLinear(ops["logits"], g.Vocab, d, tied, nil, sLNF, func(int) float64 { return sLogit }); err != nil {
		return nil, 0, err
	}
	if err := m.Validate(); err != nil {
		return nil, 0, fmt.Errorf("quantize: the converted model is invalid: %w", err)
	}
	return m, sLogit, nil
}

func setAdd(op *model.Op, sA, sB, sOut float64) error {
	ms, s, err := fixed(sA/sOut, sB/sOut)
	if err != nil {
		return fmt.Errorf("%s: %w", op.Name, err)
	}
	op.MulA, op.MulB, op.Shift = ms[0], ms[1], s
	return nil
}

func setEpilogue(op *model.Op, ratio float64) error {
	ms, s, err := fixed(ratio)
	if err != nil {
		return fmt.Errorf("%s: %w", op.Name, err)
	}
	op.Epilogue = protocol.Epilogue{Multiplier: ms[0], Shift: s}
	return nil
}
