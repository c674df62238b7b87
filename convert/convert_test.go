package convert

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/probitylabs/probity/jobs"
)

// ckpt is a float checkpoint in the Hugging Face GPT-2 layout, written by the test the way
// transformers' save_pretrained does (config.json and model.safetensors, F32 unless a tensor
// is listed in half, names as GPT2Model's state dict).
type ckpt struct {
	cfg     map[string]any
	tensors map[string][]float32
	shapes  map[string][]int
	dtype   map[string]string // F16 or BF16 for some tensors
}

func newCkpt(V, P, d, H, L int, seed uint64) *ckpt {
	r := rand.New(rand.NewPCG(seed, 9))
	c := &ckpt{
		cfg: map[string]any{"architectures": []string{"GPT2LMHeadModel"}, "model_type": "gpt2", "vocab_size": V,
			"n_positions": P, "n_ctx": P, "n_embd": d, "n_layer": L, "n_head": H, "n_inner": nil,
			"activation_function": "gelu_new", "layer_norm_epsilon": 1e-5, "tie_word_embeddings": true},
		tensors: map[string][]float32{}, shapes: map[string][]int{}, dtype: map[string]string{},
	}
	add := func(name string, std, mean float64, shape ...int) {
		n := 1
		for _, s := range shape {
			n *= s
		}
		x := make([]float32, n)
		for i := range x {
			x[i] = float32(mean + std*r.NormFloat64())
		}
		c.tensors[name], c.shapes[name] = x, shape
	}
	add("wte.weight", 0.1, 0, V, d)
	add("wpe.weight", 0.02, 0, P, d)
	for i := range L {
		p := fmt.Sprintf("h.%d.", i)
		add(p+"ln_1.weight", 0.1, 1, d)
		add(p+"ln_1.bias", 0.02, 0, d)
		add(p+"attn.c_attn.weight", 0.15, 0, d, 3*d)
		add(p+"attn.c_attn.bias", 0.02, 0, 3*d)
		add(p+"attn.c_proj.weight", 0.1, 0, d, d)
		add(p+"attn.c_proj.bias", 0.02, 0, d)
		add(p+"ln_2.weight", 0.1, 1, d)
		add(p+"ln_2.bias", 0.02, 0, d)
		add(p+"mlp.c_fc.weight", 0.1, 0, d, 4*d)
		add(p+"mlp.c_fc.bias", 0.02, 0, 4*d)
		add(p+"mlp.c_proj.weight", 0.05, 0, 4*d, d)
		add(p+"mlp.c_proj.bias", 0.02, 0, d)
	}
	add("ln_f.weight", 0.1, 1, d)
	add("ln_f.bias", 0.02, 0, d)
	return c
}

// write saves the checkpoint; names are written in sorted order with F32 little-endian data,
// F16/BF16 as rounded halves.
func (c *ckpt) write(t testing.TB, dir string) {
	t.Helper()
	cfg, _ := json.MarshalIndent(c.cfg, "", "  ")
	if err := os.WriteFile(filepath.Join(dir, "config.json"), cfg, 0o644); err != nil {
		t.Fatal(err)
	}
	names := make([]string, 0, len(c.tensors))
	for n := range c.tensors {
		names = append(names, n)
	}
	slices.Sort(names)
	hdr := map[string]any{"__metadata__": map[string]string{"format": "pt"}}
	var data bytes.Buffer
	for _, n := range names {
		dt := c.dtype[n]
		if dt == "" {
			dt = "F32"
		}
		start := data.Len()
		for _, v := range c.tensors[n] {
			switch dt {
			case "F32":
				binary.Write(&data, binary.LittleEndian, math.Float32bits(v))
			case "BF16":
				binary.Write(&data, binary.LittleEndian, uint16(math.Float32bits(v)>>16))
			case "F16":
				binary.Write(&data, binary.LittleEndian, toHalf(v))
			}
		}
		hdr[n] = map[string]any{"dtype": dt, "shape": c.shapes[n], "data_offsets": []int{start, data.Len()}}
	}
	h, _ := json.Marshal(hdr)
	for len(h)%8 != 0 {
		h = append(h, ' ')
	}
	var out bytes.Buffer
	binary.Write(&out, binary.LittleEndian, uint64(len(h)))
	out.Write(h)
	out.Write(data.Bytes())
	if err := os.WriteFile(filepath.Join(dir, "model.safetensors"), out.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// toHalf rounds a float32 of normal half range to binary16 by truncation (exactness is not
// the point; the reader's conversion of what is stored is).
func toHalf(f float32) uint16 {
	b := math.Float32bits(f)
	sign := uint16(b>>16) & 0x8000
	exp := int(b>>23&0xff) - 127 + 15
	if exp <= 0 {
		return sign
	}
	return sign | uint16(exp)<<10 | uint16(b>>13&0x3ff)
}

func ids(n int, V int, seed uint64) []int32 {
	r := rand.New(rand.NewPCG(seed, 3))
	out := make([]int32, n)
	for i := range out {
		out[i] = int32(r.IntN(V))
	}
	return out
}

// TestImportRandomCheckpoint: a checkpoint in the exact Hugging Face layout imports into a
// valid integer decoder that generates, and agrees with the float model on most positions.
func TestImportRandomCheckpoint(t *testing.T) {
	dir := t.TempDir()
	newCkpt(64, 32, 32, 4, 2, 1).write(t, dir)
	g, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	st, err := Calibrate(g, Windows(ids(200, 64, 1), g.Positions))
	if err != nil {
		t.Fatal(err)
	}
	m, ls, err := Quantize(g, st)
	if err != nil {
		t.Fatal(err)
	}
	a, err := Agree(g, m, ls, Windows(ids(200, 64, 2), g.Positions))
	if err != nil {
		t.Fatal(err)
	}
	t.Log(a)
	if a.Top1 < 0.6 {
		t.Errorf("top-1 agreement %.2f on a random model; the scheme has lost the model", a.Top1)
	}
	if d := a.IntLoss - a.FloatLoss; d > 0.5 {
		t.Errorf("integer loss %.3f is %.3f above the float loss", a.IntLoss, d)
	}
	root, err := m.Root()
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := jobs.Generate(m, &jobs.GenJob{ModelRoot: root, Prompt: []int32{1, 2, 3}, New: 5}); err != nil {
		t.Fatal(err)
	}
}

// TestLoadHalfAndPrefixed: BF16 and F16 tensors are read, a "transformer." prefix and a tied
// lm_head.weight are accepted, old mask buffers are ignored.
func TestLoadHalfAndPrefixed(t *testing.T) {
	c := newCkpt(16, 8, 8, 2, 1, 2)
	renamed := map[string][]float32{}
	shapes := map[string][]int{}
	for n, v := range c.tensors {
		renamed["transformer."+n], shapes["transformer."+n] = v, c.shapes[n]
	}
	c.tensors, c.shapes = renamed, shapes
	c.tensors["lm_head.weight"], c.shapes["lm_head.weight"] = c.tensors["transformer.wte.weight"], []int{16, 8}
	c.tensors["transformer.h.0.attn.bias"], c.shapes["transformer.h.0.attn.bias"] = make([]float32, 64), []int{1, 1, 8, 8}
	c.dtype["transformer.h.0.mlp.c_fc.weight"] = "BF16"
	c.dtype["transformer.h.0.ln_1.weight"] = "F16"
	dir := t.TempDir()
	c.write(t, dir)
	g, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := c.tensors["transformer.h.0.mlp.c_fc.weight"][5]
	if got := g.Blocks[0].FC.Data[5]; math.Abs(float64(got-want)) > math.Abs(float64(want))/100 {
		t.Errorf("BF16 weight %v read as %v", want, got)
	}
	wantLN := c.tensors["transformer.h.0.ln_1.weight"][3]
	if got := g.Blocks[0].LN1W[3]; math.Abs(float64(got-wantLN)) > 0.01 {
		t.Errorf("F16 gamma %v read as %v", wantLN, got)
	}
}

// TestLoadRefusesWhatItCannotConvert: every unsupported or malformed checkpoint gets an error
// naming the key or tensor.
func TestLoadRefusesWhatItCannotConvert(t *testing.T) {
	for name, tc := range map[string]struct {
		edit func(c *ckpt)
		want string
	}{
		"llama":          {func(c *ckpt) { c.cfg["model_type"] = "llama" }, "model_type"},
		"relu":           {func(c *ckpt) { c.cfg["activation_function"] = "relu" }, "activation_function"},
		"untied":         {func(c *ckpt) { c.cfg["tie_word_embeddings"] = false }, "tie_word_embeddings"},
		"heads":          {func(c *ckpt) { c.cfg["n_head"] = 3 }, "n_head"},
		"missing tensor": {func(c *ckpt) { delete(c.tensors, "h.0.ln_2.bias") }, "h.0.ln_2.bias"},
		"wrong shape": {func(c *ckpt) {
			c.shapes["h.0.attn.c_attn.weight"] = []int{24, 8}
		}, "h.0.attn.c_attn.weight"},
		"extra tensor": {func(c *ckpt) {
			c.tensors["h.0.adapter.weight"], c.shapes["h.0.adapter.weight"] = make([]float32, 4), []int{4}
		}, "h.0.adapter.weight"},
		"integer weights": {func(c *ckpt) { c.dtype["wte.weight"] = "F16" }, "wte.weight"},
		"untied head": {func(c *ckpt) {
			h := slices.Clone(c.tensors["wte.weight"])
			h[0]++
			c.tensors["lm_head.weight"], c.shapes["lm_head.weight"] = h, []int{16, 8}
		}, "lm_head.weight"},
	} {
		c := newCkpt(16, 8, 8, 2, 1, 3)
		tc.edit(c)
		dir := t.TempDir()
		c.write(t, dir)
		if name == "integer weights" { // an I16 tensor: the F16 bytes relabelled
			b, _ := os.ReadFile(filepath.Join(dir, "model.safetensors"))
			b = bytes.Replace(b, []byte(`"dtype":"F16","shape":[16,8]`), []byte(`"dtype":"I16","shape":[16,8]`), 1)
			os.WriteFile(filepath.Join(dir, "model.safetensors"), b, 0o644)
		}
		_, err := Load(dir)
		if !errors.Is(err, ErrCheckpoint) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want ErrCheckpoint naming %q", name, err, tc.want)
		}
	}
}

// TestFixedMultipliers: the shared shift is the largest that keeps every multiplier below
// 2^31, and ratios too large for shift 1 are refused.
func TestFixedMultipliers(t *testing.T) {
	ms, s, err := fixed(0.5, 0.001)
	if err != nil || ms[0] >= 1<<31 || float64(ms[0])*2 < 1<<31-2 {
		t.Fatalf("0.5: m %d s %d (%v)", ms[0], s, err)
	}
	if got := float64(ms[1]) / math.Ldexp(1, int(s)); math.Abs(got-0.001) > 1e-9 {
		t.Errorf("0.001 as %d / 2^%d = %v", ms[1], s, got)
	}
	if _, _, err := fixed(1 << 31); err == nil {
		t.Error("ratio 2^31 accepted")
	}
	if _, _, err := fixed(0); err == nil {
		t.Error("ratio 0 accepted")
	}
}
