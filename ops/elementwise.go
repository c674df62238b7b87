package ops

import (
	"fmt"
	"slices"

	"github.com/probitylabs/probity/protocol"
	"github.com/probitylabs/probity/tensor"
)

// LUT is specs/ops.md §6: out[k] = table[x[k] + 128], for any shape.
func LUT(x *tensor.Int8, table []int8) (*tensor.Int8, error) {
	if len(table) != 256 {
		return nil, paramErr("lut", "table", "has %d entries, must have 256", len(table))
	}
	if err := x.Check(); err != nil {
		return nil, fmt.Errorf("lut: %w", err)
	}
	out := &tensor.Int8{Shape: slices.Clone(x.Shape), Data: make([]int8, len(x.Data))}
	for k, v := range x.Data {
		out.Data[k] = table[int(v)+128]
	}
	return out, nil
}

// AddParams are §7's zero points, multipliers (m/2^s ≈ S_in/S_out), shift and output zero point.
type AddParams struct {
	ZeroA, ZeroB int8
	MulA, MulB   uint32
	Shift        uint8
	ZeroOut      int8
}

// MulParams are §8's zero points, multiplier (m/2^s ≈ S_a·S_b/S_out), shift and output zero point.
type MulParams struct {
	ZeroA, ZeroB int8
	Mul          uint32
	Shift        uint8
	ZeroOut      int8
}

func checkMultiplier(op, name string, m uint32) error {
	if m == 0 || m >= 1<<31 {
		return paramErr(op, name, "%d not in [1, 2^31)", m)
	}
	return nil
}

func checkShift(op string, s uint8) error {
	if s < 1 || s > 62 {
		return paramErr(op, "shift", "%d not in [1, 62]", s)
	}
	return nil
}

func sameShape(op string, a, b *tensor.Int8) error {
	if err := a.Check(); err != nil {
		return fmt.Errorf("%s: A: %w", op, err)
	}
	if err := b.Check(); err != nil {
		return fmt.Errorf("%s: B: %w", op, err)
	}
	if !slices.Equal(a.Shape, b.Shape) {
		return fmt.Errorf("%s: %w: A is %v, B is %v", op, tensor.ErrShape, a.Shape, b.Shape)
	}
	return nil
}

// Add is specs/ops.md §7: out = clamp8(rshr(ma·(a-za) + mb·(b-zb), s) + zo). Each product is
// below 2^39 and the sum below 2^40, so int64 holds it with the rounding term.
func Add(a, b *tensor.Int8, p AddParams) (*tensor.Int8, error) {
	if err := sameShape("add", a, b); err != nil {
		return nil, err
	}
	if err := checkMultiplier("add", "mulA", p.MulA); err != nil {
		return nil, err
	}
	if err := checkMultiplier("add", "mulB", p.MulB); err != nil {
		return nil, err
	}
	if err := checkShift("add", p.Shift); err != nil {
		return nil, err
	}
	out := &tensor.Int8{Shape: slices.Clone(a.Shape), Data: make([]int8, len(a.Data))}
	ma, mb := int64(p.MulA), int64(p.MulB)
	for k := range a.Data {
		v := ma*(int64(a.Data[k])-int64(p.ZeroA)) + mb*(int64(b.Data[k])-int64(p.ZeroB))
		out.Data[k] = clamp8(rshr(v, p.Shift) + int64(p.ZeroOut))
	}
	return out, nil
}

// Mul is specs/ops.md §8: the centered product (|·| <= 65025, an int32) through the v0
// epilogue (m, s, zo, relu = false).
func Mul(a, b *tensor.Int8, p MulParams) (*tensor.Int8, error) {
	if err := sameShape("mul", a, b); err != nil {
		return nil, err
	}
	ep := protocol.Epilogue{Multiplier: p.Mul, Shift: p.Shift, ZeroPoint: p.ZeroOut}
	if err := checkMultiplier("mul", "mul", p.Mul); err != nil {
		return nil, err
	}
	if err := checkShift("mul", p.Shift); err != nil {
		return nil, err
	}
	out := &tensor.Int8{Shape: slices.Clone(a.Shape), Data: make([]int8, len(a.Data))}
	for k := range a.Data {
		out.Data[k] = ep.Apply((int32(a.Data[k]) - int32(p.ZeroA)) * (int32(b.Data[k]) - int32(p.ZeroB)))
	}
	return out, nil
}
