package tensor

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"

	"github.com/probitylabs/probity/protocol"
)

// ErrModel reports a model file that does not follow §3.1.
var ErrModel = errors.New("invalid model")

// Model is a chain of quantized linear layers; layer l's output is layer l+1's input.
type Model struct {
	Layers []Layer
}

// Validate checks every layer and that consecutive widths chain (K_{l+1} = N_l).
func (m Model) Validate() error {
	if len(m.Layers) == 0 {
		return fmt.Errorf("%w: no layers", ErrModel)
	}
	prevN := -1
	for l, ly := range m.Layers {
		K, N, err := ly.Dims()
		if err != nil {
			return fmt.Errorf("layer %d: %w", l, err)
		}
		if prevN >= 0 && K != prevN {
			return fmt.Errorf("%w: layer %d has K = %d, previous layer has N = %d", ErrShape, l, K, prevN)
		}
		prevN = N
	}
	return nil
}

// Run executes every layer on x and returns each layer's output.
func (m Model) Run(x *Int8) ([]*Int8, error) {
	if err := m.Validate(); err != nil {
		return nil, err
	}
	outs := make([]*Int8, len(m.Layers))
	cur := x
	for l, ly := range m.Layers {
		y, err := Linear(cur, ly)
		if err != nil {
			return nil, fmt.Errorf("layer %d: %w", l, err)
		}
		outs[l] = y
		cur = y
	}
	return outs, nil
}

func layerKey(l int, field string) string { return "layers." + strconv.Itoa(l) + "." + field }

// Builder returns the model as safetensors tensors and metadata (§3.1).
func (m Model) Builder() (*Builder, error) {
	if err := m.Validate(); err != nil {
		return nil, err
	}
	b := NewBuilder()
	for l, ly := range m.Layers {
		if err := b.Add(layerKey(l, "weight"), ly.Weight); err != nil {
			return nil, err
		}
		if err := b.Add(layerKey(l, "bias"), ly.Bias); err != nil {
			return nil, err
		}
		e := ly.Epilogue
		b.Metadata[layerKey(l, "multiplier")] = strconv.FormatUint(uint64(e.Multiplier), 10)
		b.Metadata[layerKey(l, "shift")] = strconv.FormatUint(uint64(e.Shift), 10)
		b.Metadata[layerKey(l, "zero_point")] = strconv.FormatInt(int64(e.ZeroPoint), 10)
		b.Metadata[layerKey(l, "relu")] = strconv.FormatBool(e.ReLU)
	}
	return b, nil
}

// SaveModel writes the model file of §3.1.
func SaveModel(path string, m Model) error {
	b, err := m.Builder()
	if err != nil {
		return err
	}
	return b.WriteFile(path)
}

// LoadModel reads a model file; it rejects missing or unknown tensors and metadata.
func LoadModel(path string) (Model, error) {
	f, err := ReadFile(path)
	if err != nil {
		return Model{}, err
	}
	m, err := ModelFromFile(f)
	if err != nil {
		return Model{}, fmt.Errorf("%s: %w", path, err)
	}
	return m, nil
}

// ModelFromFile decodes a parsed model file.
func ModelFromFile(f *File) (Model, error) {
	if len(f.Tensors)%2 != 0 || len(f.Tensors) == 0 {
		return Model{}, fmt.Errorf("%w: %d tensors, want a weight and a bias per layer", ErrModel, len(f.Tensors))
	}
	L := len(f.Tensors) / 2
	var m Model
	for l := range L {
		w, err := f.Int8(layerKey(l, "weight"))
		if err != nil {
			return Model{}, fmt.Errorf("%w: layer %d: %w", ErrModel, l, err)
		}
		b, err := f.Int32(layerKey(l, "bias"))
		if err != nil {
			return Model{}, fmt.Errorf("%w: layer %d: %w", ErrModel, l, err)
		}
		e, err := parseEpilogueMeta(f.Metadata, l)
		if err != nil {
			return Model{}, fmt.Errorf("%w: layer %d: %w", ErrModel, l, err)
		}
		m.Layers = append(m.Layers, Layer{Weight: w, Bias: b, Epilogue: e})
	}
	// Every tensor was found under its layer name and there are 2L of them, so no other tensor
	// exists. Metadata under "layers." must be exactly the 4L epilogue keys: "layers.01.shift"
	// or "layers.0.scale" would otherwise pass unread. Other keys ("format") are not ours.
	for k := range f.Metadata {
		if !strings.HasPrefix(k, "layers.") {
			continue
		}
		rest := strings.TrimPrefix(k, "layers.")
		idx, field, _ := strings.Cut(rest, ".")
		if _, err := parseMetaInt(idx, 0, int64(L)-1); err != nil || !slices.Contains(epilogueFields, field) {
			return Model{}, fmt.Errorf("%w: metadata %q names no epilogue field of a layer 0..%d", ErrModel, k, L-1)
		}
	}
	if err := m.Validate(); err != nil {
		return Model{}, err
	}
	return m, nil
}

// epilogueFields are the metadata fields of one layer (§3.1).
var epilogueFields = []string{"multiplier", "shift", "zero_point", "relu"}

// ErrMetaInt reports a metadata integer outside the grammar of §3.1.
var ErrMetaInt = errors.New("metadata integer not canonical decimal in range")

// parseMetaInt reads a metadata integer by the one grammar of §3.1: "0", or an optional "-"
// and a digit 1-9 followed by digits 0-9 (no "+", leading zeros, "-0", spaces, underscores or
// other digits), whose value is in [lo, hi]. strconv alone accepts "+5", "007" and "-0".
func parseMetaInt(s string, lo, hi int64) (int64, error) {
	digits := strings.TrimPrefix(s, "-")
	neg := len(digits) != len(s)
	ok := digits != "" && len(digits) <= 18 && (digits == "0" && !neg || digits[0] >= '1' && digits[0] <= '9')
	for i := 0; ok && i < len(digits); i++ {
		ok = digits[i] >= '0' && digits[i] <= '9'
	}
	if !ok {
		return 0, fmt.Errorf("%w: %q", ErrMetaInt, s)
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil || v < lo || v > hi {
		return 0, fmt.Errorf("%w: %q not in [%d, %d]", ErrMetaInt, s, lo, hi)
	}
	return v, nil
}

func parseEpilogueMeta(md map[string]string, l int) (protocol.Epilogue, error) {
	get := func(field string) (string, error) {
		v, ok := md[layerKey(l, field)]
		if !ok {
			return "", fmt.Errorf("metadata %q missing", layerKey(l, field))
		}
		return v, nil
	}
	var e protocol.Epilogue
	s, err := get("multiplier")
	if err != nil {
		return e, err
	}
	m, err := parseMetaInt(s, 1, 1<<31-1)
	if err != nil {
		return e, fmt.Errorf("multiplier: %w", err)
	}
	if s, err = get("shift"); err != nil {
		return e, err
	}
	sh, err := parseMetaInt(s, 1, 62)
	if err != nil {
		return e, fmt.Errorf("shift: %w", err)
	}
	if s, err = get("zero_point"); err != nil {
		return e, err
	}
	z, err := parseMetaInt(s, -128, 127)
	if err != nil {
		return e, fmt.Errorf("zero_point: %w", err)
	}
	if s, err = get("relu"); err != nil {
		return e, err
	}
	var relu bool
	switch s {
	case "true":
		relu = true
	case "false":
	default:
		return e, fmt.Errorf("relu %q is neither \"true\" nor \"false\"", s)
	}
	e = protocol.Epilogue{Multiplier: uint32(m), Shift: uint8(sh), ZeroPoint: int8(z), ReLU: relu}
	return e, e.Validate()
}

// SaveActivations writes an activation file (one I8 tensor "x", §3.1).
func SaveActivations(path string, x *Int8) error {
	b := NewBuilder()
	if err := b.Add("x", x); err != nil {
		return err
	}
	return b.WriteFile(path)
}

// LoadActivations reads the tensor "x" of an activation file, which holds no other tensor, and
// checks it is a matrix.
func LoadActivations(path string) (*Int8, error) {
	f, err := ReadFile(path)
	if err != nil {
		return nil, err
	}
	x, err := f.Int8("x")
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(f.Tensors) != 1 {
		return nil, fmt.Errorf("%s: %w: %d tensors, an activation file holds only \"x\"", path, ErrExtraTensors, len(f.Tensors))
	}
	if _, _, err := x.Matrix(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return x, nil
}

func rng(seed uint64, stream uint64) *rand.Rand {
	return rand.New(rand.NewPCG(seed, stream))
}

// RandomInput returns a deterministic [rows, cols] activation tensor with values in [-127, 127].
func RandomInput(seed uint64, rows, cols int) *Int8 {
	r := rng(seed, 0x1a7e)
	x := NewInt8(rows, cols)
	for i := range x.Data {
		x.Data[i] = int8(r.IntN(255) - 127)
	}
	return x
}

// RandomModel returns a deterministic model with widths dims[0] -> dims[1] -> ... . Hidden
// layers use ReLU; each epilogue is calibrated on a random batch so the outputs spread over the
// int8 range (standard deviation about 32) instead of saturating.
func RandomModel(seed uint64, dims ...int) (Model, error) {
	if len(dims) < 2 {
		return Model{}, fmt.Errorf("%w: need at least an input and an output width", ErrModel)
	}
	r := rng(seed, 0x30de1)
	var m Model
	calib := RandomInput(seed^0x5eed, 32, dims[0])
	for l := 0; l+1 < len(dims); l++ {
		K, N := dims[l], dims[l+1]
		if K <= 0 || N <= 0 {
			return Model{}, fmt.Errorf("%w: widths must be positive, have %v", ErrShape, dims)
		}
		if K > 100_000 {
			return Model{}, fmt.Errorf("%w: K = %d risks int32 accumulator overflow", ErrShape, K)
		}
		w := NewInt8(N, K)
		for i := range w.Data {
			w.Data[i] = int8(r.IntN(255) - 127)
		}
		b := NewInt32(N)
		// Bias on the scale of one accumulator standard deviation: sqrt(K) * 73 * 73.
		bs := int(math.Sqrt(float64(K)) * 73 * 73 / 4)
		for i := range b.Data {
			b.Data[i] = int32(r.IntN(2*bs+1) - bs)
		}
		relu := l+2 < len(dims)
		// Measure the accumulator spread on the calibration batch.
		var sum, sq float64
		var n int
		for i := 0; i < calib.Rows(); i++ {
			row := calib.Row(i)
			for j := range N {
				acc := float64(int64(b.Data[j]) + dot(row, w.Row(j)))
				sum += acc
				sq += acc * acc
				n++
			}
		}
		mean := sum / float64(n)
		std := math.Sqrt(max(sq/float64(n)-mean*mean, 1))
		scale := 32 / std
		e := epilogueFor(scale)
		if relu {
			e.ReLU = true
			e.ZeroPoint = int8(r.IntN(9) - 4)
		} else {
			e.ZeroPoint = int8(r.IntN(9) - 4)
		}
		ly := Layer{Weight: w, Bias: b, Epilogue: e}
		m.Layers = append(m.Layers, ly)
		next, err := Linear(calib, ly)
		if err != nil {
			return Model{}, err
		}
		calib = next
	}
	return m, nil
}

// epilogueFor returns m, s with m / 2^s close to scale and m in [2^30, 2^31) where possible.
func epilogueFor(scale float64) protocol.Epilogue {
	s := 1
	for s < 62 && scale*math.Pow(2, float64(s)) < 1<<30 {
		s++
	}
	mm := math.Round(scale * math.Pow(2, float64(s)))
	mm = min(max(mm, 1), 1<<31-1)
	return protocol.Epilogue{Multiplier: uint32(mm), Shift: uint8(s)}
}
