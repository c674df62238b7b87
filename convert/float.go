package convert

import (
	"fmt"
	"math"
	"runtime"
	"strings"
	"sync"
)

// Stats are the largest magnitudes each activation of the float model reached, by the
// integer model's tensor names (per head for the attention scores), over every forward pass
// they observed. They set the activation scales.
type Stats map[string]float64

func (s Stats) see(name string, xs []float64) {
	m := s[name]
	for _, x := range xs {
		m = math.Max(m, math.Abs(x))
	}
	s[name] = m
}

// gelu is the checkpoint's activation: the tanh form (gelu_new, as GPT-2) or the exact erf
// form (gelu).
func (g *GPT2) gelu(x float64) float64 {
	if strings.ToLower(g.Activation) == "gelu" {
		return 0.5 * x * (1 + math.Erf(x/math.Sqrt2))
	}
	return 0.5 * x * (1 + math.Tanh(math.Sqrt(2/math.Pi)*(x+0.044715*x*x*x)))
}

// Forward is the float GPT-2 forward pass (float64 arithmetic on the checkpoint's values) over
// ids, returning the logits [T][V]. When stats is non-nil it records every activation's
// magnitude under the integer model's names.
func (g *GPT2) Forward(ids []int32, stats Stats) ([][]float64, error) {
	T, d, H := len(ids), g.Width, g.Heads
	if T < 1 || T > g.Positions {
		return nil, fmt.Errorf("forward: %d tokens, the model takes 1 to %d", T, g.Positions)
	}
	dh := d / H
	see := func(name string, rows [][]float64) {
		if stats != nil {
			for _, r := range rows {
				stats.see(name, r)
			}
		}
	}
	x := make([][]float64, T)
	wte, wpe := make([][]float64, T), make([][]float64, T)
	for t, id := range ids {
		if id < 0 || int(id) >= g.Vocab {
			return nil, fmt.Errorf("forward: token %d at position %d outside the vocabulary [0, %d)", id, t, g.Vocab)
		}
		wte[t], wpe[t], x[t] = f64(g.WTE.Row(int(id))), f64(g.WPE.Row(t)), make([]float64, d)
		for k := range d {
			x[t][k] = wte[t][k] + wpe[t][k]
		}
	}
	see("embed", x)
	for b, blk := range g.Blocks {
		p := fmt.Sprintf("h%d_", b)
		h := layerNorm(x, blk.LN1W, blk.LN1B, g.Epsilon)
		see(p+"ln_1", h)
		qkv := affine(h, &blk.Attn, blk.AttnB)
		for part, name := range []string{"q", "k", "v"} {
			for hd := range H {
				see(fmt.Sprintf("%sh%d_%s", p, hd, name), cols(qkv, part*d+hd*dh, dh))
			}
		}
		attn := make([][]float64, T)
		for t := range T {
			attn[t] = make([]float64, d)
		}
		for hd := range H {
			q, k, v := cols(qkv, hd*dh, dh), cols(qkv, d+hd*dh, dh), cols(qkv, 2*d+hd*dh, dh)
			scores := make([][]float64, T)
			for i := range T {
				scores[i] = make([]float64, i+1) // causal: keys 0..i
				for j := 0; j <= i; j++ {
					scores[i][j] = dot(q[i], k[j]) / math.Sqrt(float64(dh))
				}
			}
			see(fmt.Sprintf("%sh%d_scores", p, hd), scores)
			for i := range T {
				pr := softmax(scores[i])
				for j, w := range pr {
					for c := range dh {
						attn[i][hd*dh+c] += w * v[j][c]
					}
				}
			}
		}
		see(p+"attn", attn)
		a := affine(attn, &blk.AttnProj, blk.AttnProjB)
		see(p+"attn_c_proj", a)
		x = addRows(x, a)
		see(p+"resid_attn", x)
		h2 := layerNorm(x, blk.LN2W, blk.LN2B, g.Epsilon)
		see(p+"ln_2", h2)
		u := affine(h2, &blk.FC, blk.FCB)
		see(p+"mlp_c_fc", u)
		for _, r := range u {
			for k := range r {
				r[k] = g.gelu(r[k])
			}
		}
		see(p+"mlp_gelu", u)
		mo := affine(u, &blk.Proj, blk.ProjB)
		see(p+"mlp_c_proj", mo)
		x = addRows(x, mo)
		see(p+"resid_mlp", x)
	}
	hf := layerNorm(x, g.LNFW, g.LNFB, g.Epsilon)
	see("ln_f", hf)
	logits := make([][]float64, T)
	rows(T, func(t int) {
		logits[t] = make([]float64, g.Vocab)
		for v := range g.Vocab {
			logits[t][v] = dot32(hf[t], g.WTE.Row(v))
		}
	})
	see("logits", logits)
	return logits, nil
}

func f64(xs []float32) []float64 {
	out := make([]float64, len(xs))
	for i, x := range xs {
		out[i] = float64(x)
	}
	return out
}

func dot(a, b []float64) float64 {
	var s float64
	for i := range a {
		s += a[i] * b[i]
	}
	return s
}

func cols(x [][]float64, off, w int) [][]float64 {
	out := make([][]float64, len(x))
	for i, r := range x {
		out[i] = r[off : off+w]
	}
	return out
}

func addRows(a, b [][]float64) [][]float64 {
	out := make([][]float64, len(a))
	for i := range a {
		out[i] = make([]float64, len(a[i]))
		for k := range a[i] {
			out[i][k] = a[i][k] + b[i][k]
		}
	}
	return out
}

// affine is x·W + b with W in Conv1D layout [in, out], rows split across cores.
func affine(x [][]float64, w *Matrix, b []float32) [][]float64 {
	out := make([][]float64, len(x))
	rows(len(x), func(i int) {
		o := f64(b)
		for k, xv := range x[i] {
			if xv == 0 {
				continue
			}
			row := w.Row(k)
			for j := range o {
				o[j] += xv * float64(row[j])
			}
		}
		out[i] = o
	})
	return out
}

// rows runs f(i) for i in [0, n) on all cores; each i is computed by one goroutine in the same
// order of operations, so the result does not depend on the split.
func rows(n int, f func(i int)) {
	workers := min(runtime.GOMAXPROCS(0), n)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += workers {
				f(i)
			}
		}()
	}
	wg.Wait()
}

func dot32(a []float64, b []float32) float64 {
	var s float64
	for i := range a {
		s += a[i] * float64(b[i])
	}
	return s
}

func layerNorm(x [][]float64, w, b []float32, eps float64) [][]float64 {
	out := make([][]float64, len(x))
	for i, r := range x {
		var mean, v float64
		for _, xv := range r {
			mean += xv
		}
		mean /= float64(len(r))
		for _, xv := range r {
			v += (xv - mean) * (xv - mean)
		}
		v /= float64(len(r))
		inv := 1 / math.Sqrt(v+eps)
		out[i] = make([]float64, len(r))
		for k, xv := range r {
			out[i][k] = (xv-mean)*inv*float64(w[k]) + float64(b[k])
		}
	}
	return out
}

func softmax(s []float64) []float64 {
	mx := math.Inf(-1)
	for _, v := range s {
		mx = math.Max(mx, v)
	}
	out := make([]float64, len(s))
	var sum float64
	for j, v := range s {
		out[j] = math.Exp(v - mx)
		sum += out[j]
	}
	for j := range out {
		out[j] /= sum
	}
	return out
}
