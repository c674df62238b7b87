package main

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"strings"

	"github.com/probitylabs/probity/model"
	"github.com/probitylabs/probity/ops"
	"github.com/probitylabs/probity/protocol"
	"github.com/probitylabs/probity/tensor"
)

// ---- model.json ----
//
// Each case is a whole model file (hex) with its expected class. For a valid file the case
// also gives every op descriptor, every parameter root and the model root, so a checker needs
// only the file and specs/model.md. Parameters come from a fixed SplitMix64 stream; invalid
// files change exactly one thing in a valid one, so each has exactly one failing check.

type modelCase struct {
	Name        string     `json:"name"`
	Note        string     `json:"note"`
	Expect      string     `json:"expect"`
	File        string     `json:"file"`
	Descriptors [][]string `json:"descriptors,omitempty"`
	ParamRoots  []string   `json:"paramRoots,omitempty"`
	Root        string     `json:"root,omitempty"`
}

type modelGen struct {
	rng   ops.SplitMix64
	cases []modelCase
}

func (g *modelGen) i8(shape ...int) *tensor.Int8 {
	t := tensor.NewInt8(shape...)
	for i := range t.Data {
		t.Data[i] = int8(g.rng.Next())
	}
	return t
}

func (g *modelGen) i32(lo, hi int64, shape ...int) *tensor.Int32 {
	t := tensor.NewInt32(shape...)
	for i := range t.Data {
		t.Data[i] = int32(lo + int64(g.rng.Next()%uint64(hi-lo+1)))
	}
	return t
}

// fill replaces a model's parameter tensors with stream values (biases and betas small, gammas
// positive), keeping shapes and scalars.
func (g *modelGen) fill(m *model.Model) {
	for i := range m.Ops {
		op := &m.Ops[i]
		switch op.Kind {
		case model.KindEmbed, model.KindPosition, model.KindLinear:
			op.Weight = g.i8(op.Weight.Shape...)
			if op.Bias != nil {
				op.Bias = g.i32(-4096, 4096, op.Bias.Shape...)
				op.Scales = g.scales(op.Bias.Shape[0])
			}
		case model.KindLayerNorm, model.KindRMSNorm:
			op.Gamma = g.i32(1<<10, 1<<13, op.Gamma.Shape...)
			op.Beta = g.i32(-16, 16, op.Beta.Shape...)
		}
	}
}

func (g *modelGen) valid(name, note string, m *model.Model) []byte {
	b := must(model.Encode(m))
	descs := must(m.Descriptors())
	c := modelCase{Name: name, Note: note, Expect: "ok", File: hexb(b), Root: dec(must(m.Root()))}
	for i, d := range descs {
		c.Descriptors = append(c.Descriptors, decs(d))
		c.ParamRoots = append(c.ParamRoots, dec(model.ParamRoot(&m.Ops[i])))
	}
	g.cases = append(g.cases, c)
	return b
}

func (g *modelGen) invalid(name, note, expect string, b []byte) {
	if _, err := model.Parse(b); model.Class(err) != expect {
		fatal(fmt.Errorf("model vector %s: want class %s, reference gives %v", name, expect, err))
	}
	g.cases = append(g.cases, modelCase{Name: name, Note: note, Expect: expect, File: hexb(b)})
}

// invalidModel encodes a model that Validate refuses.
func (g *modelGen) invalidModel(name, note, expect string, m *model.Model) {
	g.invalid(name, note, expect, must(model.Encode(m)))
}

// edit rewrites a canonical file's metadata and tensors and writes it back in the canonical
// container layout, so the edit is the only difference.
func edit(b []byte, f func(md map[string]string, ts map[string]any)) []byte {
	file := must(tensor.Read(bytes.NewReader(b)))
	ts := map[string]any{}
	for _, info := range file.Tensors {
		if info.DType == "I8" {
			ts[info.Name] = must(file.Int8(info.Name))
		} else {
			ts[info.Name] = must(file.Int32(info.Name))
		}
	}
	md := map[string]string{}
	for k, v := range file.Metadata {
		md[k] = v
	}
	f(md, ts)
	var buf bytes.Buffer
	if err := tensor.Write(&buf, ts, md); err != nil {
		fatal(err)
	}
	return buf.Bytes()
}

// linEpi is a linear op's shared epilogue (its multipliers are per column, in the tensor).
func linEpi() protocol.Epilogue { return protocol.Epilogue{Shift: 36, ZeroPoint: -3} }

// scales are n per-column multipliers drawn from the stream in [2^29, 2^30].
func (g *modelGen) scales(n int) *tensor.Int32 { return g.i32(1<<29, 1<<30, n) }

func in8(w int) model.Input { return model.Input{Name: "x", DType: model.I8, Width: w} }

// singles are one small graph per op kind.
func (g *modelGen) singles() map[model.Kind]*model.Model {
	exp := model.ExpTableFor(0.05)
	lut := g.i8(256)
	one := func(in model.Input, op model.Op) *model.Model {
		op.Name, op.In = "y", []int{0}
		if op.Kind.Arity() == 2 {
			op.In = []int{0, 0}
		}
		return &model.Model{Input: in, Ops: []model.Op{op}}
	}
	return map[model.Kind]*model.Model{
		model.KindEmbed:  one(model.Input{Name: "ids", DType: model.I32, Width: 1}, model.Op{Kind: model.KindEmbed, Weight: g.i8(5, 40)}),
		model.KindLinear: one(in8(33), model.Op{Kind: model.KindLinear, Weight: g.i8(3, 33), Bias: g.i32(-1000, 1000, 3), Scales: g.scales(3), Epilogue: linEpi()}),
		model.KindMatmul: one(in8(6), model.Op{Kind: model.KindMatmul, ZeroA: 2, ZeroB: -5, TransB: true, Causal: true,
			Epilogue: protocol.Epilogue{Multiplier: 1 << 29, Shift: 40, ZeroPoint: 7, ReLU: true}}),
		model.KindSoftmax:   one(in8(4), model.Op{Kind: model.KindSoftmax, Exp: &exp}),
		model.KindLayerNorm: one(in8(7), model.Op{Kind: model.KindLayerNorm, Gamma: g.i32(1, 1<<14, 7), Beta: g.i32(-128, 127, 7), Shift: 14, Eps: 1000}),
		model.KindRMSNorm:   one(in8(7), model.Op{Kind: model.KindRMSNorm, Gamma: g.i32(1, 1<<14, 7), Beta: g.i32(-128, 127, 7), Shift: 13, Eps: 1 << 46, ZeroX: -9}),
		model.KindLUT:       one(in8(9), model.Op{Kind: model.KindLUT, Weight: lut}),
		model.KindAdd:       one(in8(5), model.Op{Kind: model.KindAdd, ZeroA: 1, ZeroB: -1, MulA: 1<<31 - 1, MulB: 3, Shift: 31, ZeroOut: -128}),
		model.KindMul:       one(in8(5), model.Op{Kind: model.KindMul, ZeroA: -2, ZeroB: 127, Mul: 12345, Shift: 62, ZeroOut: 127}),
		model.KindArgmax:    one(in8(10), model.Op{Kind: model.KindArgmax}),
		model.KindSlice:     one(in8(10), model.Op{Kind: model.KindSlice, Offset: 3, Width: 7}),
		model.KindConcat:    one(in8(2), model.Op{Kind: model.KindConcat}),
		model.KindPosition:  one(in8(3), model.Op{Kind: model.KindPosition, Weight: g.i8(12, 5)}),
	}
}

func modelVectors() any {
	g := &modelGen{rng: ops.SplitMix64{State: 0x6d6f64656c}} // "model"
	singles := g.singles()
	for _, k := range model.Kinds {
		g.valid(k.String(), "one "+k.String()+" op", singles[k])
	}
	decoder, err := model.Decoder(model.DecoderConfig{Vocab: 16, Context: 8, Width: 8, Heads: 2, Blocks: 2})
	if err != nil {
		fatal(err)
	}
	g.fill(decoder)
	g.valid("decoder", "GPT-2-style decoder: vocab 16, width 8, 2 heads, 2 blocks (specs/model.md §8)", decoder)
	lin := g.valid("linear-chain", "linear then lut then linear: the file every edit below starts from", &model.Model{
		Input: in8(4),
		Ops: []model.Op{
			{Kind: model.KindLinear, Name: "h", In: []int{0}, Weight: g.i8(6, 4), Bias: g.i32(-50, 50, 6), Scales: g.scales(6), Epilogue: linEpi()},
			{Kind: model.KindLUT, Name: "g", In: []int{1}, Weight: g.i8(256)},
			{Kind: model.KindLinear, Name: "y", In: []int{2}, Weight: g.i8(2, 6), Bias: g.i32(-50, 50, 2), Scales: g.scales(2), Epilogue: linEpi()},
		},
	})
	set := func(k, v string) func(md map[string]string, ts map[string]any) {
		return func(md map[string]string, _ map[string]any) { md[k] = v }
	}

	// format: the safetensors container.
	g.invalid("trailing-bytes", "one byte after the last tensor", "format", append(append([]byte{}, lin...), 0))
	g.invalid("truncated", "the last byte of the data is missing", "format", lin[:len(lin)-1])

	// layout: entries present or absent.
	g.invalid("extra-tensor", "a tensor no op owns", "layout", edit(lin, func(_ map[string]string, ts map[string]any) {
		ts["ops.1.weight"] = tensor.NewInt8(1, 1)
	}))
	g.invalid("extra-tensor-unnumbered", "a tensor outside the ops namespace", "layout", edit(lin, func(_ map[string]string, ts map[string]any) {
		ts["x"] = tensor.NewInt8(1, 4)
	}))
	g.invalid("missing-tensor", "linear without its bias", "layout", edit(lin, func(_ map[string]string, ts map[string]any) {
		delete(ts, "ops.2.bias")
	}))
	g.invalid("extra-metadata", "a key the op's kind does not have", "layout", edit(lin, set("ops.1.shift", "3")))
	g.invalid("extra-metadata-global", "an unknown top-level key", "layout", edit(lin, set("model.name", "x")))
	g.invalid("missing-metadata", "linear without relu", "layout", edit(lin, func(md map[string]string, _ map[string]any) {
		delete(md, "ops.0.relu")
	}))
	g.invalid("wrong-format", "probity.format of another version", "layout", edit(lin, set("probity.format", "model/v2")))
	g.invalid("op-numbering-gap", "ops 0 and 2 without op 1", "layout", edit(lin, renumber(1, "5")))
	g.invalid("op-numbering-leading-zero", "op 1 spelled ops.01", "layout", edit(lin, renumber(1, "01")))

	// integer: the one grammar.
	for _, c := range []struct{ name, key, v string }{
		{"integer-leading-zero", "ops.0.shift", "036"},
		{"integer-plus", "ops.0.shift", "+36"},
		{"integer-minus-zero", "ops.0.zero_point", "-0"},
		{"integer-sign-on-unsigned", "ops.0.shift", "-36"},
		{"integer-space", "ops.0.shift", " 36"},
		{"integer-hex", "ops.0.shift", "0x24"},
		{"integer-empty", "input.width", ""},
	} {
		g.invalid(c.name, fmt.Sprintf("%s = %q", c.key, c.v), "integer", edit(lin, set(c.key, c.v)))
	}

	// name, kind, resolve, order.
	g.invalid("name-uppercase", "tensor name with an upper-case letter", "name", edit(lin, func(md map[string]string, _ map[string]any) {
		md["ops.1.name"], md["ops.2.inputs"] = "G", "G"
	}))
	g.invalid("name-dot", "tensor name with a dot", "name", edit(lin, func(md map[string]string, _ map[string]any) {
		md["ops.1.name"], md["ops.2.inputs"] = "g.x", "g.x"
	}))
	g.invalid("name-duplicate", "two ops write tensor h", "name", edit(lin, set("ops.2.name", "h")))
	g.invalid("kind-unknown", "op kind conv", "kind", edit(lin, set("ops.1.kind", "conv")))
	g.invalid("resolve-unknown", "operand names no tensor", "resolve", edit(lin, set("ops.1.inputs", "nope")))
	g.invalid("resolve-arity", "lut with two operands", "resolve", edit(lin, set("ops.1.inputs", "h,h")))
	g.invalid("order-forward", "op 1 reads the result of op 2", "order", edit(lin, set("ops.1.inputs", "y")))
	g.invalid("order-self", "op 1 reads its own result", "order", edit(lin, set("ops.1.inputs", "g")))

	// shape and param: the graph.
	g.invalid("shape-linear-width", "second linear reads the 4-wide input", "shape", edit(lin, set("ops.2.inputs", "x")))
	g.invalid("shape-param-dtype", "lut table stored as I32", "shape", edit(lin, func(_ map[string]string, ts map[string]any) {
		ts["ops.1.table"] = tensor.NewInt32(256)
	}))
	g.invalid("param-multiplier", "column 3's multiplier -2^31 (multipliers are in [1, 2^31))", "param", edit(lin, func(_ map[string]string, ts map[string]any) {
		ts["ops.0.multiplier"].(*tensor.Int32).Data[3] = math.MinInt32
	}))
	g.invalid("param-multiplier-zero", "column 0's multiplier 0", "param", edit(lin, func(_ map[string]string, ts map[string]any) {
		ts["ops.0.multiplier"].(*tensor.Int32).Data[0] = 0
	}))
	g.invalid("shape-multiplier", "5 multipliers for 6 columns", "shape", edit(lin, func(_ map[string]string, ts map[string]any) {
		ts["ops.0.multiplier"] = tensor.NewInt32(5)
	}))
	g.invalid("layout-linear-scalar-multiplier", "a linear op with a scalar multiplier key", "layout", edit(lin, set("ops.0.multiplier", "1073741824")))
	g.invalid("param-shift", "epilogue shift 63", "param", edit(lin, set("ops.0.shift", "63")))
	g.invalid("param-relu", "relu 2", "param", edit(lin, set("ops.0.relu", "2")))
	g.invalid("param-too-large", "shift beyond every integer type", "param", edit(lin, set("ops.0.shift", "99999999999999999999")))
	g.invalid("param-lut-length", "lut table of 255 entries", "param", edit(lin, func(_ map[string]string, ts map[string]any) {
		ts["ops.1.table"] = tensor.NewInt8(255)
	}))
	g.invalid("param-input-dtype", "input.dtype F32", "param", edit(lin, set("input.dtype", "F32")))

	bad := singles[model.KindSoftmax]
	bad.Ops[0].Exp[0] = 1 << 14
	g.invalidModel("param-exp-table", "softmax E[0] = 2^14", "param", bad)
	badAdd := singles[model.KindAdd]
	badAdd.Ops[0].Shift = 0
	g.invalidModel("param-add-shift", "add shift 0", "param", badAdd)
	causalExp := model.ExpTableFor(0.05)
	causalSM := &model.Model{Input: in8(4), Ops: []model.Op{{Kind: model.KindSoftmax, Name: "y", In: []int{0}, Exp: &causalExp, Causal: true}}}
	g.invalidModel("shape-softmax-causal", "causal softmax over rows of constant width 4 (the mask is over T key positions)", "shape", causalSM)
	badSlice := singles[model.KindSlice]
	badSlice.Ops[0].Offset = 4
	g.invalidModel("shape-slice", "columns [4, 11) of a 10-wide tensor", "shape", badSlice)
	badMM := singles[model.KindMatmul]
	badMM.Ops[0].TransB = false
	g.invalidModel("shape-matmul", "A·B with B [T, 6] needs A [T, T]", "shape", badMM)
	badNorm := singles[model.KindRMSNorm]
	badNorm.Ops[0].Eps = 1<<46 + 1
	g.invalidModel("param-eps", "rmsnorm eps 2^46 + 1", "param", badNorm)
	badEmbed := singles[model.KindEmbed]
	badEmbed.Input = in8(1)
	g.invalidModel("shape-embed-ids", "embed reads I8 activations", "shape", badEmbed)

	// canonical: a valid graph in a file the encoder would not write.
	g.invalid("canonical-padding", "eight more spaces of header padding", "canonical", repad(lin, 8))
	g.invalid("canonical-order", "tensor data in another order (offsets consistent)", "canonical", reorder(lin))

	return map[string]any{
		"generatedBy":     generatedBy,
		"spec":            "specs/model.md",
		"descriptorWidth": model.DescriptorWidth,
		"tags":            map[string]uint64{"MODEL_OP": model.TagModelOp, "MODEL": model.TagModel},
		"cases":           g.cases,
	}
}

// renumber moves every key and tensor of op `from` to the index spelled `to`.
func renumber(from int, to string) func(md map[string]string, ts map[string]any) {
	old := fmt.Sprintf("ops.%d.", from)
	return func(md map[string]string, ts map[string]any) {
		for k, v := range md {
			if strings.HasPrefix(k, old) {
				delete(md, k)
				md["ops."+to+"."+strings.TrimPrefix(k, old)] = v
			}
		}
		for k, v := range ts {
			if strings.HasPrefix(k, old) {
				delete(ts, k)
				ts["ops."+to+"."+strings.TrimPrefix(k, old)] = v
			}
		}
	}
}

// repad adds n spaces to the header, which safetensors readers accept.
func repad(b []byte, n int) []byte {
	hl := binary.LittleEndian.Uint64(b)
	out := make([]byte, 8, len(b)+n)
	binary.LittleEndian.PutUint64(out, hl+uint64(n))
	out = append(out, b[8:8+hl]...)
	out = append(out, bytes.Repeat([]byte{' '}, n)...)
	return append(out, b[8+hl:]...)
}

// reorder writes the same tensors with the data section in reverse name order (the canonical
// writer sorts by element size, then name), with consistent offsets.
func reorder(b []byte) []byte {
	file := must(tensor.Read(bytes.NewReader(b)))
	type item struct {
		name, dtype string
		shape       []int
		data        []byte
	}
	var items []item
	for _, info := range file.Tensors {
		items = append(items, item{info.Name, info.DType, info.Shape, b[file.DataStart+info.Begin : file.DataStart+info.End]})
	}
	for i, j := 0, len(items)-1; i < j; i, j = i+1, j-1 {
		items[i], items[j] = items[j], items[i]
	}
	var hdr bytes.Buffer
	hdr.WriteString(`{"__metadata__":`)
	hdr.Write(must(json.Marshal(file.Metadata)))
	var off int
	var data []byte
	for _, it := range items {
		fmt.Fprintf(&hdr, `,%q:{"dtype":%q,"shape":%s,"data_offsets":[%d,%d]}`, it.name, it.dtype, must(json.Marshal(it.shape)), off, off+len(it.data))
		off += len(it.data)
		data = append(data, it.data...)
	}
	hdr.WriteByte('}')
	for hdr.Len()%8 != 0 {
		hdr.WriteByte(' ')
	}
	out := binary.LittleEndian.AppendUint64(nil, uint64(hdr.Len()))
	out = append(out, hdr.Bytes()...)
	return append(out, data...)
}
