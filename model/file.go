package model

import (
	"bytes"
	"fmt"
	"math"
	"math/big"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/probitylabs/probity/ops"
	"github.com/probitylabs/probity/tensor"
)

// FormatVersion is the value of the metadata key "probity.format" (specs/model.md §5).
const FormatVersion = "model/v1"

// field is one integer metadata field of an op: its key, whether it is signed, its Go range
// (a value that parses but does not fit is a param error) and its accessor.
type field struct {
	key    string
	signed bool
	lo, hi int64
	ptr    func(op *Op) any // *int8, *uint8, *uint32, *int64, *int or *bool
}

func i8f(key string, p func(op *Op) *int8) field {
	return field{key, true, math.MinInt8, math.MaxInt8, func(op *Op) any { return p(op) }}
}

func u8f(key string, p func(op *Op) *uint8) field {
	return field{key, false, 0, math.MaxUint8, func(op *Op) any { return p(op) }}
}

func u32f(key string, p func(op *Op) *uint32) field {
	return field{key, false, 0, math.MaxUint32, func(op *Op) any { return p(op) }}
}

func boolf(key string, p func(op *Op) *bool) field {
	return field{key, false, 0, 1, func(op *Op) any { return p(op) }}
}

// linearFields are linear's shared epilogue fields; its multipliers are a tensor (one per
// column), matmul's single one is epilogueFields' first.
var linearFields = []field{
	u8f("shift", func(op *Op) *uint8 { return &op.Epilogue.Shift }),
	i8f("zero_point", func(op *Op) *int8 { return &op.Epilogue.ZeroPoint }),
	boolf("relu", func(op *Op) *bool { return &op.Epilogue.ReLU }),
}

var epilogueFields = append([]field{u32f("multiplier", func(op *Op) *uint32 { return &op.Epilogue.Multiplier })}, linearFields...)

var (
	zeroA   = i8f("zero_a", func(op *Op) *int8 { return &op.ZeroA })
	zeroB   = i8f("zero_b", func(op *Op) *int8 { return &op.ZeroB })
	zeroOut = i8f("zero_out", func(op *Op) *int8 { return &op.ZeroOut })
	shift   = u8f("shift", func(op *Op) *uint8 { return &op.Shift })
	eps     = field{"eps", false, 0, math.MaxInt64, func(op *Op) any { return &op.Eps }}
)

// fields lists each kind's integer metadata fields (specs/model.md §5).
func (k Kind) fields() []field {
	switch k {
	case KindLinear:
		return linearFields
	case KindMatmul:
		return append([]field{zeroA, zeroB, boolf("trans_b", func(op *Op) *bool { return &op.TransB }),
			boolf("causal", func(op *Op) *bool { return &op.Causal })}, epilogueFields...)
	case KindSoftmax:
		return []field{boolf("causal", func(op *Op) *bool { return &op.Causal })}
	case KindLayerNorm:
		return []field{shift, eps}
	case KindRMSNorm:
		return []field{shift, eps, i8f("zero_x", func(op *Op) *int8 { return &op.ZeroX })}
	case KindAdd:
		return []field{zeroA, zeroB, u32f("mul_a", func(op *Op) *uint32 { return &op.MulA }),
			u32f("mul_b", func(op *Op) *uint32 { return &op.MulB }), shift, zeroOut}
	case KindMul:
		return []field{zeroA, zeroB, u32f("mul", func(op *Op) *uint32 { return &op.Mul }), shift, zeroOut}
	case KindSlice:
		return []field{
			{"offset", false, 0, math.MaxInt32, func(op *Op) any { return &op.Offset }},
			{"width", false, 0, math.MaxInt32, func(op *Op) any { return &op.Width }},
		}
	}
	return nil
}

// paramNames lists each kind's parameter tensors and dtypes in the file.
func (k Kind) paramNames() map[string]string {
	switch k {
	case KindEmbed, KindLUT, KindPosition:
		return map[string]string{"table": "I8"}
	case KindLinear:
		return map[string]string{"weight": "I8", "bias": "I32", "multiplier": "I32"}
	case KindSoftmax:
		return map[string]string{"table": "I32"}
	case KindLayerNorm, KindRMSNorm:
		return map[string]string{"gamma": "I32", "beta": "I32"}
	}
	return nil
}

func kindByName(s string) (Kind, bool) {
	for k, n := range kindNames {
		if n == s {
			return k, true
		}
	}
	return 0, false
}

func opKey(i int, f string) string { return "ops." + strconv.Itoa(i) + "." + f }

func (f field) get(op *Op) int64 {
	switch p := f.ptr(op).(type) {
	case *int8:
		return int64(*p)
	case *uint8:
		return int64(*p)
	case *uint32:
		return int64(*p)
	case *int64:
		return *p
	case *int:
		return int64(*p)
	case *bool:
		if *p {
			return 1
		}
		return 0
	}
	panic("model: unknown field type")
}

func (f field) set(op *Op, v int64) {
	switch p := f.ptr(op).(type) {
	case *int8:
		*p = int8(v)
	case *uint8:
		*p = uint8(v)
	case *uint32:
		*p = uint32(v)
	case *int64:
		*p = v
	case *int:
		*p = int(v)
	case *bool:
		*p = v == 1
	}
}

// Encode writes the canonical model file (specs/model.md §5). It does not validate, so that
// invalid models can be written for tests; Parse refuses them.
func Encode(m *Model) ([]byte, error) {
	b := tensor.NewBuilder()
	md := b.Metadata
	md["probity.format"] = FormatVersion
	md["input.name"] = m.Input.Name
	md["input.dtype"] = m.Input.DType.String()
	md["input.width"] = strconv.Itoa(m.Input.Width)
	names := make([]string, 0, len(m.Ops)+1)
	names = append(names, m.Input.Name)
	for i := range m.Ops {
		names = append(names, m.Ops[i].Name)
	}
	for i := range m.Ops {
		op := &m.Ops[i]
		md[opKey(i, "kind")] = op.Kind.String()
		md[opKey(i, "name")] = op.Name
		in := make([]string, len(op.In))
		for k, id := range op.In {
			if id < 0 || id >= len(names) {
				return nil, fmt.Errorf("encode: op %d: operand id %d names no tensor", i, id)
			}
			in[k] = names[id]
		}
		md[opKey(i, "inputs")] = strings.Join(in, ",")
		for _, f := range op.Kind.fields() {
			md[opKey(i, f.key)] = strconv.FormatInt(f.get(op), 10)
		}
		for _, p := range op.paramTensors() {
			if p.t == (*tensor.Int8)(nil) || p.t == (*tensor.Int32)(nil) || (op.Kind == KindSoftmax && op.Exp == nil) {
				return nil, fmt.Errorf("encode: op %d: %s has no %s", i, op.Kind, p.name)
			}
			if err := b.Add(opKey(i, p.name), p.t); err != nil {
				return nil, fmt.Errorf("encode: op %d: %w", i, err)
			}
		}
	}
	var buf bytes.Buffer
	if _, err := b.WriteTo(&buf); err != nil {
		return nil, fmt.Errorf("encode: %w", err)
	}
	return buf.Bytes(), nil
}

// WriteFile encodes m to path.
func WriteFile(path string, m *Model) error {
	b, err := Encode(m)
	if err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o644)
}

// ReadFile parses the model file at path.
func ReadFile(path string) (*Model, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	m, err := Parse(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return m, nil
}

var (
	opKeyRE   = regexp.MustCompile(`^ops\.([0-9]+)\.([a-z_]+)$`)
	canonUint = regexp.MustCompile(`^(0|[1-9][0-9]*)$`)
	canonInt  = regexp.MustCompile(`^(0|-?[1-9][0-9]*)$`)
)

var globalKeys = []string{"probity.format", "input.name", "input.dtype", "input.width"}

func layoutErr(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrLayout, fmt.Sprintf(format, args...))
}

// parseInt is §5's one integer grammar: decimal, no leading zeros, no "-0", a sign only on a
// signed field. A value outside [lo, hi] (the Go type's range) is a param error; Validate then
// applies the spec's tighter ranges.
func parseInt(s string, signed bool, lo, hi int64) (int64, error) {
	re := canonUint
	if signed {
		re = canonInt
	}
	if !re.MatchString(s) {
		return 0, fmt.Errorf("%w: %q", ErrInteger, s)
	}
	v, ok := new(big.Int).SetString(s, 10)
	if !ok || !v.IsInt64() || v.Int64() < lo || v.Int64() > hi {
		return 0, fmt.Errorf("%w: %s not in [%d, %d]", ErrParam, s, lo, hi)
	}
	return v.Int64(), nil
}

// Parse reads a model file, refusing everything specs/model.md §7 refuses, in its order:
// format, layout (keys, numbering, kinds, tensor sets), integers, the graph (Validate), and
// last any difference from the canonical encoding.
func Parse(b []byte) (*Model, error) {
	f, err := tensor.Read(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrFormat, err)
	}
	md := f.Metadata
	for _, k := range globalKeys {
		if _, ok := md[k]; !ok {
			return nil, layoutErr("metadata %q missing", k)
		}
	}
	if v := md["probity.format"]; v != FormatVersion {
		return nil, layoutErr("probity.format is %q, want %q", v, FormatVersion)
	}
	// Op numbering: the ops are exactly those with an ops.<i>.kind key, i canonical and
	// contiguous from 0.
	opKeys := map[int]map[string]string{}
	for k, v := range md {
		if slices.Contains(globalKeys, k) {
			continue
		}
		sm := opKeyRE.FindStringSubmatch(k)
		if sm == nil || !canonUint.MatchString(sm[1]) || len(sm[1]) > 7 {
			return nil, layoutErr("metadata key %q is not a model key", k)
		}
		i, _ := strconv.Atoi(sm[1])
		if opKeys[i] == nil {
			opKeys[i] = map[string]string{}
		}
		opKeys[i][sm[2]] = v
	}
	L := len(opKeys)
	for i := range L {
		if _, ok := opKeys[i]; !ok {
			return nil, layoutErr("ops are not numbered 0..%d: op %d has no keys", L-1, i)
		}
	}
	m := &Model{Ops: make([]Op, L)}
	for i := range L {
		keys := opKeys[i]
		kn, ok := keys["kind"]
		if !ok {
			return nil, layoutErr("op %d has no kind", i)
		}
		kind, ok := kindByName(kn)
		if !ok {
			return nil, opErr(i, ErrKind, "%q", kn)
		}
		m.Ops[i].Kind = kind
		want := []string{"kind", "name", "inputs"}
		for _, fl := range kind.fields() {
			want = append(want, fl.key)
		}
		for k := range keys {
			if !slices.Contains(want, k) {
				return nil, layoutErr("op %d (%s) has extra metadata %q", i, kind, opKey(i, k))
			}
		}
		for _, k := range want {
			if _, ok := keys[k]; !ok {
				return nil, layoutErr("op %d (%s) misses metadata %q", i, kind, opKey(i, k))
			}
		}
	}
	// Tensors: exactly the parameter tensors of the ops, nothing else.
	for _, info := range f.Tensors {
		sm := opKeyRE.FindStringSubmatch(info.Name)
		ok := sm != nil && canonUint.MatchString(sm[1]) && len(sm[1]) <= 7
		if ok {
			i, _ := strconv.Atoi(sm[1])
			ok = i < L && m.Ops[i].Kind.paramNames()[sm[2]] != ""
		}
		if !ok {
			return nil, layoutErr("extra tensor %q", info.Name)
		}
	}
	for i := range L {
		op := &m.Ops[i]
		pn := op.Kind.paramNames()
		for _, name := range slices.Sorted(mapKeys(pn)) {
			key := opKey(i, name)
			if _, err := f.Lookup(key); err != nil {
				return nil, layoutErr("op %d (%s) misses tensor %q", i, op.Kind, key)
			}
			if err := op.setParam(f, name, pn[name], key); err != nil {
				return nil, opErr(i, ErrShape, "%v", err)
			}
		}
	}
	// Integers, in op order then field order.
	w, err := parseInt(md["input.width"], false, 0, math.MaxInt32)
	if err != nil {
		return nil, &OpError{Index: -1, Err: err}
	}
	m.Input.Width = int(w)
	for i := range L {
		op := &m.Ops[i]
		for _, fl := range op.Kind.fields() {
			v, err := parseInt(opKeys[i][fl.key], fl.signed, fl.lo, fl.hi)
			if err != nil {
				return nil, &OpError{Index: i, Err: fmt.Errorf("%s: %w", fl.key, err)}
			}
			fl.set(op, v)
		}
	}
	// Names and operands: an operand names the input or an op's result; one written by a later
	// op (or by the op itself) is an order error.
	m.Input.Name = md["input.name"]
	switch md["input.dtype"] {
	case "I32":
		m.Input.DType = I32
	case "I8":
		m.Input.DType = I8
	default:
		return nil, opErr(-1, ErrParam, "input.dtype %q is neither I32 nor I8", md["input.dtype"])
	}
	ids := map[string]int{m.Input.Name: 0}
	for i := range L {
		m.Ops[i].Name = opKeys[i]["name"]
		if _, dup := ids[m.Ops[i].Name]; !dup {
			ids[m.Ops[i].Name] = i + 1
		}
	}
	for i := range L {
		op := &m.Ops[i]
		list := opKeys[i]["inputs"]
		parts := strings.Split(list, ",")
		if list == "" {
			parts = nil
		}
		op.In = make([]int, len(parts))
		for k, p := range parts {
			id, ok := ids[p]
			if !ok {
				return nil, opErr(i, ErrResolve, "operand %q names no tensor", p)
			}
			op.In[k] = id
		}
	}
	if err := m.Validate(); err != nil {
		return nil, err
	}
	canon, err := Encode(m)
	if err != nil {
		return nil, err
	}
	if !bytes.Equal(canon, b) {
		return nil, fmt.Errorf("%w: %d bytes differ from the %d-byte canonical encoding", ErrCanonical, len(b), len(canon))
	}
	return m, nil
}

func mapKeys(m map[string]string) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// setParam reads one parameter tensor with its dtype.
func (op *Op) setParam(f *tensor.File, name, dtype, key string) error {
	if dtype == "I8" {
		t, err := f.Int8(key)
		if err != nil {
			return err
		}
		op.Weight = t
		return nil
	}
	t, err := f.Int32(key)
	if err != nil {
		return err
	}
	switch name {
	case "bias":
		op.Bias = t
	case "multiplier":
		op.Scales = t
	case "gamma":
		op.Gamma = t
	case "beta":
		op.Beta = t
	case "table": // softmax
		if len(t.Shape) != 1 || t.Shape[0] != 256 {
			return fmt.Errorf("softmax table is %v, want [256]", t.Shape)
		}
		var e ops.ExpTable
		copy(e[:], t.Data)
		op.Exp = &e
	}
	return nil
}
