// Package opsvec is the format of testdata/vectors/ops.json (specs/ops.md): one case per op
// instance, with its inputs, parameters, the expected class (ok or an error class) and the
// output. The generator (internal/cmd/genvectors) fills Expect, At and Output with Run; the ops
// tests re-run every case and compare; tools/ops_ref.py recomputes the same fields from the
// spec alone and must reproduce the file byte for byte.
package opsvec

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"

	"github.com/probitylabs/probity/ops"
	"github.com/probitylabs/probity/protocol"
	"github.com/probitylabs/probity/tensor"
)

// Expect classes; the error classes are those of specs/ops.md §1.
const (
	OK       = "ok"
	Shape    = "shape"
	Param    = "param"
	Overflow = "overflow"
	Token    = "token"
)

// Tensor is a tensor in JSON: dtype I8 or I32, shape and row-major data.
type Tensor struct {
	Dtype string  `json:"dtype"`
	Shape []int   `json:"shape"`
	Data  []int64 `json:"data"`
}

// Case is one vector. At names the failing element for overflow ([row, col]) and token
// ([position]) and is null otherwise; Output is null unless Expect is ok.
type Case struct {
	Op     string            `json:"op"`
	Note   string            `json:"note"`
	Params json.RawMessage   `json:"params"`
	Inputs map[string]Tensor `json:"inputs"`
	Expect string            `json:"expect"`
	At     []int             `json:"at"`
	Output *Tensor           `json:"output"`
}

// Epilogue is protocol.Epilogue in JSON.
type Epilogue struct {
	Multiplier uint32 `json:"multiplier"`
	Shift      uint8  `json:"shift"`
	ZeroPoint  int8   `json:"zeroPoint"`
	ReLU       bool   `json:"relu"`
}

func (e Epilogue) proto() protocol.Epilogue {
	return protocol.Epilogue{Multiplier: e.Multiplier, Shift: e.Shift, ZeroPoint: e.ZeroPoint, ReLU: e.ReLU}
}

// The parameters of each op, in the order they appear in the file.
type (
	LinearParams struct {
		Multipliers []uint32 `json:"multipliers"`
		Shift       uint8    `json:"shift"`
		ZeroPoint   int8     `json:"zeroPoint"`
		ReLU        bool     `json:"relu"`
	}
	MatmulParams struct {
		ZeroA    int8     `json:"zeroA"`
		ZeroB    int8     `json:"zeroB"`
		TransB   bool     `json:"transB"`
		Causal   bool     `json:"causal"`
		Epilogue Epilogue `json:"epilogue"`
	}
	// Table is an exp table; its entries are int64 so a vector can hold out-of-range ones.
	SoftmaxParams struct {
		Table  []int64 `json:"table"`
		Causal bool    `json:"causal"`
	}
	NormParams struct {
		Shift uint8 `json:"shift"`
		Eps   int64 `json:"eps"`
		ZeroX int8  `json:"zeroX"`
	}
	LUTParams struct {
		Table []int8 `json:"table"`
	}
	AddParams struct {
		ZeroA   int8   `json:"zeroA"`
		ZeroB   int8   `json:"zeroB"`
		MulA    uint32 `json:"mulA"`
		MulB    uint32 `json:"mulB"`
		Shift   uint8  `json:"shift"`
		ZeroOut int8   `json:"zeroOut"`
	}
	MulParams struct {
		ZeroA   int8   `json:"zeroA"`
		ZeroB   int8   `json:"zeroB"`
		Mul     uint32 `json:"mul"`
		Shift   uint8  `json:"shift"`
		ZeroOut int8   `json:"zeroOut"`
	}
	// Seed is a decimal string: it may exceed 2^53 (specs/protocol.md §1).
	SampleParams struct {
		Table []int64 `json:"table"`
		K     int     `json:"k"`
		Seed  string  `json:"seed"`
	}
	NoParams struct{}
)

// I8 and I32 build JSON tensors from Go values.
func I8(t *tensor.Int8) Tensor {
	d := make([]int64, len(t.Data))
	for i, v := range t.Data {
		d[i] = int64(v)
	}
	return Tensor{Dtype: "I8", Shape: append([]int{}, t.Shape...), Data: d}
}

func I32(t *tensor.Int32) Tensor {
	d := make([]int64, len(t.Data))
	for i, v := range t.Data {
		d[i] = int64(v)
	}
	return Tensor{Dtype: "I32", Shape: append([]int{}, t.Shape...), Data: d}
}

func (c *Case) i8(name string) (*tensor.Int8, error) {
	t, ok := c.Inputs[name]
	if !ok || t.Dtype != "I8" {
		return nil, fmt.Errorf("opsvec: %s case: no I8 input %q", c.Op, name)
	}
	out := &tensor.Int8{Shape: append([]int{}, t.Shape...), Data: make([]int8, len(t.Data))}
	for i, v := range t.Data {
		if v < math.MinInt8 || v > math.MaxInt8 {
			return nil, fmt.Errorf("opsvec: %s case: input %s[%d] = %d is not int8", c.Op, name, i, v)
		}
		out.Data[i] = int8(v)
	}
	return out, nil
}

func (c *Case) i32(name string) (*tensor.Int32, error) {
	t, ok := c.Inputs[name]
	if !ok || t.Dtype != "I32" {
		return nil, fmt.Errorf("opsvec: %s case: no I32 input %q", c.Op, name)
	}
	out := &tensor.Int32{Shape: append([]int{}, t.Shape...), Data: make([]int32, len(t.Data))}
	for i, v := range t.Data {
		if v < math.MinInt32 || v > math.MaxInt32 {
			return nil, fmt.Errorf("opsvec: %s case: input %s[%d] = %d is not int32", c.Op, name, i, v)
		}
		out.Data[i] = int32(v)
	}
	return out, nil
}

// expTable converts a JSON exp table; entries outside int32 or a wrong length cannot be
// represented in ops.ExpTable and are reported as the op's param error directly.
func expTable(op string, t []int64) (ops.ExpTable, error) {
	var e ops.ExpTable
	if len(t) != len(e) {
		return e, &ops.ParamError{Op: op, Param: "table", Reason: fmt.Sprintf("has %d entries, must have 256", len(t))}
	}
	for i, v := range t {
		if v < math.MinInt32 || v > math.MaxInt32 {
			return e, &ops.ParamError{Op: op, Param: fmt.Sprintf("table[%d]", i), Reason: "not an int32"}
		}
		e[i] = int32(v)
	}
	return e, nil
}

// Run executes the case's op and returns the class, the failing element and the output. A
// non-nil error means the case itself is malformed (unknown op, missing input), not an op error.
func Run(c *Case) (expect string, at []int, out *Tensor, err error) {
	res, opErr, err := run(c)
	if err != nil {
		return "", nil, nil, err
	}
	if opErr == nil {
		return OK, nil, res, nil
	}
	var oe *tensor.OverflowError
	var te *ops.TokenError
	switch {
	case errors.As(opErr, &oe):
		return Overflow, []int{oe.Row, oe.Col}, nil, nil
	case errors.As(opErr, &te):
		return Token, []int{te.Pos}, nil, nil
	case errors.Is(opErr, ops.ErrParam), errors.Is(opErr, protocol.ErrEpilogue):
		return Param, nil, nil, nil
	case errors.Is(opErr, tensor.ErrShape):
		return Shape, nil, nil, nil
	}
	return "", nil, nil, fmt.Errorf("opsvec: %s case: unclassified error: %w", c.Op, opErr)
}

func decode[P any](c *Case) (P, error) {
	var p P
	if err := json.Unmarshal(c.Params, &p); err != nil {
		return p, fmt.Errorf("opsvec: %s case params: %w", c.Op, err)
	}
	return p, nil
}

// run returns the op's output and error (opErr), or err for a malformed case.
func run(c *Case) (res *Tensor, opErr, err error) {
	wrap8 := func(t *tensor.Int8, e error) (*Tensor, error, error) {
		if e != nil {
			return nil, e, nil
		}
		v := I8(t)
		return &v, nil, nil
	}
	wrap32 := func(t *tensor.Int32, e error) (*Tensor, error, error) {
		if e != nil {
			return nil, e, nil
		}
		v := I32(t)
		return &v, nil, nil
	}
	// Inputs by name, failing the case (not the op) when one is missing.
	var bad error
	i8 := func(n string) *tensor.Int8 {
		t, e := c.i8(n)
		bad = errors.Join(bad, e)
		return t
	}
	i32 := func(n string) *tensor.Int32 {
		t, e := c.i32(n)
		bad = errors.Join(bad, e)
		return t
	}
	switch c.Op {
	case "linear":
		p, err := decode[LinearParams](c)
		a, w, b := i8("a"), i8("w"), i32("b")
		if err = errors.Join(err, bad); err != nil {
			return nil, nil, err
		}
		return wrap8(ops.Linear(a, w, b, ops.LinearParams(p)))
	case "matmul":
		p, err := decode[MatmulParams](c)
		a, b := i8("a"), i8("b")
		if err = errors.Join(err, bad); err != nil {
			return nil, nil, err
		}
		return wrap8(ops.Matmul(a, b, ops.MatmulParams{ZeroA: p.ZeroA, ZeroB: p.ZeroB, TransB: p.TransB, Causal: p.Causal, Epilogue: p.Epilogue.proto()}))
	case "softmax":
		p, err := decode[SoftmaxParams](c)
		x := i8("x")
		if err = errors.Join(err, bad); err != nil {
			return nil, nil, err
		}
		tab, e := expTable("softmax", p.Table)
		if e != nil {
			return nil, e, nil
		}
		return wrap8(ops.Softmax(x, ops.SoftmaxParams{Table: tab, Causal: p.Causal}))
	case "layernorm", "rmsnorm":
		p, err := decode[NormParams](c)
		x, g, b := i8("x"), i32("gamma"), i32("beta")
		if err = errors.Join(err, bad); err != nil {
			return nil, nil, err
		}
		np := ops.NormParams{Gamma: g, Beta: b, Shift: p.Shift, Eps: p.Eps, ZeroX: p.ZeroX}
		if c.Op == "layernorm" {
			return wrap8(ops.LayerNorm(x, np))
		}
		return wrap8(ops.RMSNorm(x, np))
	case "lut":
		p, err := decode[LUTParams](c)
		x := i8("x")
		if err = errors.Join(err, bad); err != nil {
			return nil, nil, err
		}
		return wrap8(ops.LUT(x, p.Table))
	case "add":
		p, err := decode[AddParams](c)
		a, b := i8("a"), i8("b")
		if err = errors.Join(err, bad); err != nil {
			return nil, nil, err
		}
		return wrap8(ops.Add(a, b, ops.AddParams(p)))
	case "mul":
		p, err := decode[MulParams](c)
		a, b := i8("a"), i8("b")
		if err = errors.Join(err, bad); err != nil {
			return nil, nil, err
		}
		return wrap8(ops.Mul(a, b, ops.MulParams(p)))
	case "embed":
		table, ids := i8("table"), i32("ids")
		if bad != nil {
			return nil, nil, bad
		}
		return wrap8(ops.Embed(table, ids))
	case "argmax":
		x := i8("x")
		if bad != nil {
			return nil, nil, bad
		}
		return wrap32(ops.Argmax(x))
	case "sample":
		p, err := decode[SampleParams](c)
		x := i8("x")
		if err = errors.Join(err, bad); err != nil {
			return nil, nil, err
		}
		seed, err := strconv.ParseUint(p.Seed, 10, 64)
		if err != nil {
			return nil, nil, fmt.Errorf("opsvec: sample case seed: %w", err)
		}
		tab, e := expTable("sample", p.Table)
		if e != nil {
			return nil, e, nil
		}
		return wrap32(ops.Sample(x, ops.SampleParams{Table: tab, K: p.K, Seed: seed}))
	}
	return nil, nil, fmt.Errorf("opsvec: unknown op %q", c.Op)
}
