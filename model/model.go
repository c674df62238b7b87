package model

import (
	"errors"
	"fmt"
	"regexp"

	"github.com/probitylabs/probity/ops"
	"github.com/probitylabs/probity/protocol"
	"github.com/probitylabs/probity/tensor"
)

// Kind is an op kind; its value is word 0 of the op's descriptor (specs/model.md §3).
type Kind uint8

// Op kinds. The values are part of the encoding and never change meaning; 0 is not a kind, so
// an all-zero descriptor is never valid.
const (
	KindEmbed     Kind = 1
	KindLinear    Kind = 2
	KindMatmul    Kind = 3
	KindSoftmax   Kind = 4
	KindLayerNorm Kind = 5
	KindRMSNorm   Kind = 6
	KindLUT       Kind = 7
	KindAdd       Kind = 8
	KindMul       Kind = 9
	KindArgmax    Kind = 10
	KindSlice     Kind = 11
	KindConcat    Kind = 12
	KindPosition  Kind = 13
)

var kindNames = map[Kind]string{
	KindEmbed: "embed", KindLinear: "linear", KindMatmul: "matmul", KindSoftmax: "softmax",
	KindLayerNorm: "layernorm", KindRMSNorm: "rmsnorm", KindLUT: "lut", KindAdd: "add",
	KindMul: "mul", KindArgmax: "argmax", KindSlice: "slice", KindConcat: "concat",
	KindPosition: "position",
}

// Kinds lists every kind in value order.
var Kinds = []Kind{KindEmbed, KindLinear, KindMatmul, KindSoftmax, KindLayerNorm, KindRMSNorm,
	KindLUT, KindAdd, KindMul, KindArgmax, KindSlice, KindConcat, KindPosition}

func (k Kind) String() string {
	if n, ok := kindNames[k]; ok {
		return n
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// Arity is the number of operands of the kind (0 for an unknown kind).
func (k Kind) Arity() int {
	switch k {
	case KindMatmul, KindAdd, KindMul, KindConcat:
		return 2
	case 0:
		return 0
	}
	if _, ok := kindNames[k]; ok {
		return 1
	}
	return 0
}

// DType of a tensor: every activation is I8 [T, w] except token ids and argmax results, which
// are I32 [T] (width 1).
type DType uint8

const (
	I32 DType = 1 // token ids [T]
	I8  DType = 2 // activations [T, w]
)

func (d DType) String() string {
	switch d {
	case I32:
		return "I32"
	case I8:
		return "I8"
	}
	return fmt.Sprintf("dtype(%d)", uint8(d))
}

// Seq is the width word of a tensor whose width is the sequence length T (attention scores and
// probabilities). Every constant width is at least 1, so 0 is free for it.
const Seq = 0

// MaxWidth bounds every constant width and the embedding vocabulary (specs/model.md §2); a
// width class sets tighter limits.
const MaxWidth = 1 << 24

// Input describes tensor 0.
type Input struct {
	Name  string
	DType DType
	Width int // 1 for I32 token ids
}

// Op is one op instance. Only the fields of its kind are used; Encode writes and Parse reads
// exactly those, and the others must be zero values (Validate refuses anything else, so two
// Models with the same root are equal).
type Op struct {
	Kind Kind
	Name string // the result tensor's name
	In   []int  // operand tensor ids, len = Kind.Arity()

	Weight   *tensor.Int8      // linear W [N, K]; embed table [V, D]; position table [P, D]; lut table [256]
	Bias     *tensor.Int32     // linear b [N]
	Scales   *tensor.Int32     // linear per-column multipliers m [N], each in [1, 2^31)
	Gamma    *tensor.Int32     // layernorm, rmsnorm [N]
	Beta     *tensor.Int32     // layernorm, rmsnorm [N]
	Exp      *ops.ExpTable     // softmax
	Epilogue protocol.Epilogue // matmul; linear's shift, zero point and relu (its multiplier is 0: Scales has them)

	ZeroA, ZeroB int8   // matmul, add, mul
	ZeroOut      int8   // add, mul
	ZeroX        int8   // rmsnorm
	TransB       bool   // matmul
	Causal       bool   // matmul, softmax
	MulA, MulB   uint32 // add
	Mul          uint32 // mul
	Shift        uint8  // layernorm, rmsnorm, add, mul
	Eps          int64  // layernorm, rmsnorm
	Offset       int    // slice: first column
	Width        int    // slice: number of columns
}

// Model is a graph: tensor 0 is Input, op i writes tensor i+1, and the last op's result is the
// model's output.
type Model struct {
	Input Input
	Ops   []Op
}

// Errors, one per class of specs/model.md §7.
var (
	ErrFormat    = errors.New("model file is not valid safetensors")
	ErrLayout    = errors.New("model file has missing or extra entries")
	ErrInteger   = errors.New("metadata integer is not canonical")
	ErrName      = errors.New("bad tensor name")
	ErrKind      = errors.New("unknown op kind")
	ErrResolve   = errors.New("operand names no tensor")
	ErrOrder     = errors.New("operand is not computed before its op")
	ErrShape     = errors.New("shapes do not chain")
	ErrParam     = errors.New("parameter out of range")
	ErrCanonical = errors.New("model file is not in canonical form")
)

var classes = []struct {
	err  error
	name string
}{
	{ErrFormat, "format"}, {ErrLayout, "layout"}, {ErrInteger, "integer"}, {ErrName, "name"},
	{ErrKind, "kind"}, {ErrResolve, "resolve"}, {ErrOrder, "order"}, {ErrShape, "shape"},
	{ErrParam, "param"}, {ErrCanonical, "canonical"},
}

// Class returns the class name of a model error ("ok" for nil, "" for an error of no class).
func Class(err error) string {
	if err == nil {
		return "ok"
	}
	for _, c := range classes {
		if errors.Is(err, c.err) {
			return c.name
		}
	}
	return ""
}

// OpError places an error at op Index (-1: the input).
type OpError struct {
	Index int
	Err   error
}

func (e *OpError) Error() string {
	if e.Index < 0 {
		return fmt.Sprintf("input: %v", e.Err)
	}
	return fmt.Sprintf("op %d: %v", e.Index, e.Err)
}

func (e *OpError) Unwrap() error { return e.Err }

func opErr(i int, class error, format string, args ...any) error {
	return &OpError{Index: i, Err: fmt.Errorf("%w: %s", class, fmt.Sprintf(format, args...))}
}

// nameRE is §5's tensor name grammar: no dots (so names never collide with metadata keys), no
// commas (the operand list separator), at most 64 bytes.
var nameRE = regexp.MustCompile(`^[a-z][a-z0-9_]{0,63}$`)

// Shape is a tensor's dtype and width (its rows are always T).
type Shape struct {
	DType DType
	Width int // Seq for width T
}

// Validate checks the graph against specs/model.md §6, op by op in order and, within an op,
// kind, operands, parameters, then shapes, and returns the first failure.
func (m *Model) Validate() error {
	_, err := m.Shapes()
	return err
}

// Shapes validates the model and returns the shape of every tensor, indexed by tensor id.
func (m *Model) Shapes() ([]Shape, error) {
	in := m.Input
	if !nameRE.MatchString(in.Name) {
		return nil, opErr(-1, ErrName, "%q does not match [a-z][a-z0-9_]{0,63}", in.Name)
	}
	switch {
	case in.DType == I32 && in.Width == 1:
	case in.DType == I8 && in.Width >= 1 && in.Width <= MaxWidth:
	case in.DType != I32 && in.DType != I8:
		return nil, opErr(-1, ErrParam, "dtype %v is neither I32 nor I8", in.DType)
	default:
		return nil, opErr(-1, ErrParam, "%v input width %d (I32 takes 1, I8 takes [1, 2^24])", in.DType, in.Width)
	}
	if len(m.Ops) == 0 {
		return nil, opErr(-1, ErrShape, "a model has at least one op")
	}
	if len(m.Ops) > MaxOps {
		return nil, opErr(-1, ErrShape, "%d ops, at most %d", len(m.Ops), MaxOps)
	}
	shapes := make([]Shape, 1, len(m.Ops)+1)
	shapes[0] = Shape{in.DType, in.Width}
	names := map[string]bool{in.Name: true}
	for i := range m.Ops {
		op := &m.Ops[i]
		s, err := op.check(i, shapes)
		if err != nil {
			return nil, err
		}
		if !nameRE.MatchString(op.Name) {
			return nil, opErr(i, ErrName, "%q does not match [a-z][a-z0-9_]{0,63}", op.Name)
		}
		if names[op.Name] {
			return nil, opErr(i, ErrName, "%q names an earlier tensor", op.Name)
		}
		names[op.Name] = true
		shapes = append(shapes, s)
	}
	return shapes, nil
}

// MaxOps bounds the op count so the op tree's depth fits commit.MaxDepth comfortably.
const MaxOps = 1 << 20

// check validates op i against the shapes of tensors 0..i and returns its result's shape.
func (op *Op) check(i int, shapes []Shape) (Shape, error) {
	ar := op.Kind.Arity()
	if ar == 0 {
		return Shape{}, opErr(i, ErrKind, "%d is not an op kind", uint8(op.Kind))
	}
	if len(op.In) != ar {
		return Shape{}, opErr(i, ErrResolve, "%s takes %d operands, has %d", op.Kind, ar, len(op.In))
	}
	for _, id := range op.In {
		if id < 0 {
			return Shape{}, opErr(i, ErrResolve, "operand id %d", id)
		}
		if id > i {
			return Shape{}, opErr(i, ErrOrder, "operand %d is written by op %d, not before op %d", id, id-1, i)
		}
	}
	if err := op.checkUnused(i); err != nil {
		return Shape{}, err
	}
	if err := op.checkParams(i); err != nil {
		return Shape{}, err
	}
	a := shapes[op.In[0]]
	var b Shape
	if ar == 2 {
		b = shapes[op.In[1]]
	}
	shapeErr := func(format string, args ...any) (Shape, error) {
		return Shape{}, opErr(i, ErrShape, "%s: "+format, append([]any{op.Kind}, args...)...)
	}
	wantI8 := func(s Shape, what string) error {
		if s.DType != I8 {
			return opErr(i, ErrShape, "%s: %s is %v, want I8", op.Kind, what, s.DType)
		}
		return nil
	}
	if op.Kind == KindEmbed {
		if a.DType != I32 {
			return shapeErr("ids are %v, want I32", a.DType)
		}
		return Shape{I8, op.Weight.Shape[1]}, nil
	}
	if op.Kind == KindPosition { // reads only A's row count, so A may be of either dtype
		return Shape{I8, op.Weight.Shape[1]}, nil
	}
	if err := wantI8(a, "A"); err != nil {
		return Shape{}, err
	}
	if ar == 2 {
		if err := wantI8(b, "B"); err != nil {
			return Shape{}, err
		}
	}
	switch op.Kind {
	case KindLinear:
		if a.Width != op.Weight.Shape[1] {
			return shapeErr("A width %s, weight is %v", WidthString(a.Width), op.Weight.Shape)
		}
		return Shape{I8, op.Weight.Shape[0]}, nil
	case KindMatmul:
		if op.TransB { // B [N, K] with N = T rows: A [T, K]·Bᵀ is [T, T]
			if a.Width != b.Width {
				return shapeErr("A width %s, B width %s (transB)", WidthString(a.Width), WidthString(b.Width))
			}
			return Shape{I8, Seq}, nil
		}
		// B [K, N] with K = T rows: A must be [T, T].
		if a.Width != Seq {
			return shapeErr("A width %s, B has T rows", WidthString(a.Width))
		}
		return Shape{I8, b.Width}, nil
	case KindSoftmax:
		if a.Width != Seq && a.Width > 1<<16 {
			return shapeErr("row width %d above 2^16", a.Width)
		}
		if op.Causal && a.Width != Seq { // the mask is over key positions, so rows are T wide
			return shapeErr("causal softmax over rows of constant width %d, want T", a.Width)
		}
		return a, nil
	case KindLayerNorm, KindRMSNorm:
		if a.Width == Seq || a.Width > 1<<15 {
			return shapeErr("row width %s not a constant in [1, 2^15]", WidthString(a.Width))
		}
		if op.Gamma.Shape[0] != a.Width {
			return shapeErr("gamma and beta are [%d], rows are %d wide", op.Gamma.Shape[0], a.Width)
		}
		return a, nil
	case KindLUT:
		return a, nil
	case KindAdd, KindMul:
		if a.Width != b.Width {
			return shapeErr("A width %s, B width %s", WidthString(a.Width), WidthString(b.Width))
		}
		return a, nil
	case KindArgmax:
		return Shape{I32, 1}, nil
	case KindSlice:
		if a.Width == Seq || op.Offset+op.Width > a.Width {
			return shapeErr("columns [%d, %d) of a tensor %s wide", op.Offset, op.Offset+op.Width, WidthString(a.Width))
		}
		return Shape{I8, op.Width}, nil
	case KindConcat:
		if a.Width == Seq || b.Width == Seq || a.Width+b.Width > MaxWidth {
			return shapeErr("widths %s + %s", WidthString(a.Width), WidthString(b.Width))
		}
		return Shape{I8, a.Width + b.Width}, nil
	}
	panic("unreachable: kind checked above")
}

// WidthString spells a width: "T" for Seq, else the number.
func WidthString(w int) string {
	if w == Seq {
		return "T"
	}
	return fmt.Sprint(w)
}

// uses reports which optional fields a kind carries; checkUnused refuses any other field that
// is set, so an Op has one representation.
type uses struct {
	weight, bias, scales, norm, exp, epi, za, zb, zo, zx, transB, causal, mulAB, mul, shift, eps, slice bool
}

func (k Kind) uses() uses {
	switch k {
	case KindEmbed, KindLUT, KindPosition:
		return uses{weight: true}
	case KindLinear:
		return uses{weight: true, bias: true, scales: true, epi: true}
	case KindMatmul:
		return uses{epi: true, za: true, zb: true, transB: true, causal: true}
	case KindSoftmax:
		return uses{exp: true, causal: true}
	case KindLayerNorm:
		return uses{norm: true, shift: true, eps: true}
	case KindRMSNorm:
		return uses{norm: true, shift: true, eps: true, zx: true}
	case KindAdd:
		return uses{za: true, zb: true, zo: true, mulAB: true, shift: true}
	case KindMul:
		return uses{za: true, zb: true, zo: true, mul: true, shift: true}
	case KindSlice:
		return uses{slice: true}
	}
	return uses{}
}

func (op *Op) checkUnused(i int) error {
	u := op.Kind.uses()
	for _, f := range []struct {
		used, set bool
		name      string
	}{
		{u.weight, op.Weight != nil, "weight"}, {u.bias, op.Bias != nil, "bias"}, {u.scales, op.Scales != nil, "multipliers"},
		{u.norm, op.Gamma != nil || op.Beta != nil, "gamma/beta"}, {u.exp, op.Exp != nil, "exp table"},
		{u.epi, op.Epilogue != (protocol.Epilogue{}), "epilogue"}, {u.za, op.ZeroA != 0, "zero_a"},
		{u.zb, op.ZeroB != 0, "zero_b"}, {u.zo, op.ZeroOut != 0, "zero_out"}, {u.zx, op.ZeroX != 0, "zero_x"},
		{u.transB, op.TransB, "trans_b"}, {u.causal, op.Causal, "causal"},
		{u.mulAB, op.MulA != 0 || op.MulB != 0, "mul_a/mul_b"}, {u.mul, op.Mul != 0, "mul"},
		{u.shift, op.Shift != 0, "shift"}, {u.eps, op.Eps != 0, "eps"},
		{u.slice, op.Offset != 0 || op.Width != 0, "offset/width"},
	} {
		if f.set && !f.used {
			return opErr(i, ErrParam, "%s has no %s", op.Kind, f.name)
		}
	}
	return nil
}

func inRange(i int, name string, v, lo, hi int64) error {
	if v < lo || v > hi {
		return opErr(i, ErrParam, "%s %d not in [%d, %d]", name, v, lo, hi)
	}
	return nil
}

// checkParams checks the parameter tensors' presence, shapes and values and every scalar's
// range (specs/ops.md gives the ranges; §6 of specs/model.md adds the widths).
func (op *Op) checkParams(i int) error {
	matrix := func(t *tensor.Int8, what string) error {
		if t == nil || t.Check() != nil || len(t.Shape) != 2 || t.Shape[0] < 1 || t.Shape[1] < 1 ||
			t.Shape[0] > MaxWidth || t.Shape[1] > MaxWidth {
			return opErr(i, ErrShape, "%s %s must be a matrix with dimensions in [1, 2^24]", op.Kind, what)
		}
		return nil
	}
	vector := func(t *tensor.Int32, n int, what string) error {
		if t == nil || t.Check() != nil || len(t.Shape) != 1 || t.Shape[0] != n {
			return opErr(i, ErrShape, "%s %s must be [%d]", op.Kind, what, n)
		}
		return nil
	}
	epi := func() error {
		if err := op.Epilogue.Validate(); err != nil {
			return opErr(i, ErrParam, "%v", err)
		}
		return nil
	}
	switch op.Kind {
	case KindEmbed, KindPosition:
		return matrix(op.Weight, "table")
	case KindLinear:
		if err := matrix(op.Weight, "weight"); err != nil {
			return err
		}
		if err := vector(op.Bias, op.Weight.Shape[0], "bias"); err != nil {
			return err
		}
		if err := vector(op.Scales, op.Weight.Shape[0], "multiplier"); err != nil {
			return err
		}
		for j, m := range op.Scales.Data {
			if m < 1 {
				return opErr(i, ErrParam, "multiplier[%d] %d not in [1, 2^31)", j, m)
			}
		}
		if op.Epilogue.Multiplier != 0 {
			return opErr(i, ErrParam, "linear's epilogue has no multiplier (the multiplier tensor has them)")
		}
		return inRange(i, "shift", int64(op.Epilogue.Shift), 1, 62)
	case KindMatmul:
		return epi()
	case KindSoftmax:
		if op.Exp == nil {
			return opErr(i, ErrParam, "softmax has no exp table")
		}
		if err := op.Exp.Validate("softmax"); err != nil {
			return opErr(i, ErrParam, "%v", err)
		}
	case KindLayerNorm, KindRMSNorm:
		if op.Gamma == nil || op.Gamma.Check() != nil || len(op.Gamma.Shape) != 1 || op.Gamma.Shape[0] < 1 {
			return opErr(i, ErrShape, "%s gamma must be a non-empty vector", op.Kind)
		}
		if err := vector(op.Beta, op.Gamma.Shape[0], "beta"); err != nil {
			return err
		}
		if err := inRange(i, "shift", int64(op.Shift), 1, 62); err != nil {
			return err
		}
		return inRange(i, "eps", op.Eps, 0, 1<<46)
	case KindLUT:
		if op.Weight == nil || op.Weight.Check() != nil || len(op.Weight.Shape) != 1 || op.Weight.Shape[0] != 256 {
			return opErr(i, ErrParam, "lut table must be I8 [256]")
		}
	case KindAdd:
		if err := inRange(i, "mul_a", int64(op.MulA), 1, 1<<31-1); err != nil {
			return err
		}
		if err := inRange(i, "mul_b", int64(op.MulB), 1, 1<<31-1); err != nil {
			return err
		}
		return inRange(i, "shift", int64(op.Shift), 1, 62)
	case KindMul:
		if err := inRange(i, "mul", int64(op.Mul), 1, 1<<31-1); err != nil {
			return err
		}
		return inRange(i, "shift", int64(op.Shift), 1, 62)
	case KindSlice:
		if err := inRange(i, "offset", int64(op.Offset), 0, MaxWidth-1); err != nil {
			return err
		}
		return inRange(i, "width", int64(op.Width), 1, MaxWidth)
	}
	return nil
}
