// Package convert turns a float checkpoint in the Hugging Face layout (config.json and
// model.safetensors of a GPT-2 architecture model) into a Probity integer model
// (specs/model.md): per-column weight scales, activation scales calibrated on given tokens,
// tables for softmax and GELU; and it measures how well the integer model agrees with the
// float one (next-token top-1 agreement and loss) on held-out tokens.
package convert

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/probitylabs/probity/tensor"
)

// ErrCheckpoint reports a checkpoint that is not a GPT-2 checkpoint this converter can read;
// the message names the file, key or tensor.
var ErrCheckpoint = errors.New("unsupported checkpoint")

func ckptErr(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrCheckpoint, fmt.Sprintf(format, args...))
}

// Config is the part of a Hugging Face GPT-2 config.json the converter uses.
type Config struct {
	ModelType     string   `json:"model_type"`
	Architectures []string `json:"architectures"`
	Vocab         int      `json:"vocab_size"`
	Positions     int      `json:"n_positions"`
	Width         int      `json:"n_embd"`
	Heads         int      `json:"n_head"`
	Layers        int      `json:"n_layer"`
	Inner         *int     `json:"n_inner"`
	Activation    string   `json:"activation_function"`
	Epsilon       float64  `json:"layer_norm_epsilon"`
	Tied          *bool    `json:"tie_word_embeddings"`
	ScaleAttn     *bool    `json:"scale_attn_weights"`
	ScaleByIdx    bool     `json:"scale_attn_by_inverse_layer_idx"`
	ReorderUpcast bool     `json:"reorder_and_upcast_attn"`
}

// Matrix is a row-major float matrix.
type Matrix struct {
	Rows, Cols int
	Data       []float32
}

// Row returns row i.
func (m *Matrix) Row(i int) []float32 { return m.Data[i*m.Cols : (i+1)*m.Cols] }

// Block is one transformer block's parameters, in the checkpoint's own layout: Conv1D weights
// are [in, out] (x·W + b).
type Block struct {
	LN1W, LN1B, LN2W, LN2B       []float32
	Attn, AttnProj, FC, Proj     Matrix // [d, 3d], [d, d], [d, 4d], [4d, d]
	AttnB, AttnProjB, FCB, ProjB []float32
}

// GPT2 is a float GPT-2 checkpoint.
type GPT2 struct {
	Config
	WTE, WPE   Matrix // [V, d], [P, d]
	Blocks     []Block
	LNFW, LNFB []float32
}

// Load reads DIR/config.json and DIR/model.safetensors. Tensor names are GPT-2's (wte.weight,
// h.{i}.attn.c_attn.weight, ...), optionally prefixed "transformer." as GPT2LMHeadModel saves
// them; lm_head.weight, if present, must equal wte.weight (tied embeddings); the attention
// mask buffers old checkpoints carry (h.{i}.attn.bias, h.{i}.attn.masked_bias) are ignored.
// Anything else, or a missing tensor or wrong shape, is an ErrCheckpoint naming it.
func Load(dir string) (*GPT2, error) {
	raw, err := os.ReadFile(filepath.Join(dir, "config.json"))
	if err != nil {
		return nil, err
	}
	var c Config
	if err := json.Unmarshal(raw, &c); err != nil {
		return nil, ckptErr("config.json: %v", err)
	}
	if err := c.check(); err != nil {
		return nil, err
	}
	f, err := tensor.ReadFile(filepath.Join(dir, "model.safetensors"))
	if err != nil {
		return nil, ckptErr("model.safetensors: %v", err)
	}
	prefix := ""
	if _, err := f.Lookup("transformer.wte.weight"); err == nil {
		prefix = "transformer."
	}
	used := map[string]bool{}
	d := c.Width
	inner := 4 * d
	if c.Inner != nil {
		inner = *c.Inner
	}
	var errs []error
	get := func(name string, shape ...int) []float32 {
		full := prefix + name
		used[full] = true
		s, data, err := f.Float(full)
		if err != nil { // the error names the tensor
			errs = append(errs, ckptErr("%v", err))
			return nil
		}
		if !slices.Equal(s, shape) {
			errs = append(errs, ckptErr("tensor %s has shape %v, config.json implies %v", full, s, shape))
			return nil
		}
		for i, v := range data {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				errs = append(errs, ckptErr("tensor %s element %d is %v", full, i, v))
				return nil
			}
		}
		return data
	}
	mat := func(name string, r, cols int) Matrix { return Matrix{r, cols, get(name, r, cols)} }
	g := &GPT2{Config: c}
	g.WTE = mat("wte.weight", c.Vocab, d)
	g.WPE = mat("wpe.weight", c.Positions, d)
	for i := range c.Layers {
		p := fmt.Sprintf("h.%d.", i)
		g.Blocks = append(g.Blocks, Block{
			LN1W: get(p+"ln_1.weight", d), LN1B: get(p+"ln_1.bias", d),
			Attn: mat(p+"attn.c_attn.weight", d, 3*d), AttnB: get(p+"attn.c_attn.bias", 3*d),
			AttnProj: mat(p+"attn.c_proj.weight", d, d), AttnProjB: get(p+"attn.c_proj.bias", d),
			LN2W: get(p+"ln_2.weight", d), LN2B: get(p+"ln_2.bias", d),
			FC: mat(p+"mlp.c_fc.weight", d, inner), FCB: get(p+"mlp.c_fc.bias", inner),
			Proj: mat(p+"mlp.c_proj.weight", inner, d), ProjB: get(p+"mlp.c_proj.bias", d),
		})
		used[prefix+p+"attn.bias"], used[prefix+p+"attn.masked_bias"] = true, true
	}
	g.LNFW, g.LNFB = get("ln_f.weight", d), get("ln_f.bias", d)
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	if _, err := f.Lookup("lm_head.weight"); err == nil {
		used["lm_head.weight"] = true
		s, head, err := f.Float("lm_head.weight")
		if err != nil || !slices.Equal(s, []int{c.Vocab, d}) || !slices.Equal(head, g.WTE.Data) {
			return nil, ckptErr("lm_head.weight is not tied to wte.weight; an untied output head is not supported")
		}
	}
	for _, n := range f.Names() {
		if !used[n] {
			return nil, ckptErr("unexpected tensor %s (not part of a GPT-2 checkpoint)", n)
		}
	}
	return g, nil
}

func (c *Config) check() error {
	if c.ModelType != "gpt2" {
		return ckptErr("config.json: model_type %q, only \"gpt2\" is supported", c.ModelType)
	}
	if len(c.Architectures) > 0 && !slices.Contains(c.Architectures, "GPT2LMHeadModel") && !slices.Contains(c.Architectures, "GPT2Model") {
		return ckptErr("config.json: architectures %v, want GPT2LMHeadModel", c.Architectures)
	}
	switch {
	case c.Vocab < 1 || c.Positions < 1 || c.Width < 1 || c.Heads < 1 || c.Layers < 1:
		return ckptErr("config.json: vocab_size, n_positions, n_embd, n_head and n_layer must all be positive")
	case c.Width%c.Heads != 0:
		return ckptErr("config.json: n_embd %d is not a multiple of n_head %d", c.Width, c.Heads)
	case c.Inner != nil && *c.Inner < 1:
		return ckptErr("config.json: n_inner %d", *c.Inner)
	case c.Tied != nil && !*c.Tied:
		return ckptErr("config.json: tie_word_embeddings false; an untied output head is not supported")
	case c.ScaleAttn != nil && !*c.ScaleAttn, c.ScaleByIdx, c.ReorderUpcast:
		return ckptErr("config.json: only the default attention scaling (1/sqrt(head width)) is supported")
	case c.Epsilon <= 0:
		return ckptErr("config.json: layer_norm_epsilon %v must be positive", c.Epsilon)
	}
	switch strings.ToLower(c.Activation) {
	case "gelu_new", "gelu_pytorch_tanh", "gelu", "gelu_fast":
	default:
		return ckptErr("config.json: activation_function %q is not a GELU", c.Activation)
	}
	return nil
}
