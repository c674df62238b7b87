package tensor

import (
	"errors"
	"fmt"
)

// ErrShape reports a tensor whose shape does not fit its use or its data.
var ErrShape = errors.New("bad tensor shape")

// Int8 is a row-major int8 tensor.
type Int8 struct {
	Shape []int
	Data  []int8
}

// Int32 is a row-major int32 tensor.
type Int32 struct {
	Shape []int
	Data  []int32
}

// NewInt8 allocates a zero tensor of the given shape.
func NewInt8(shape ...int) *Int8 {
	n, err := numel(shape)
	if err != nil {
		panic(err)
	}
	return &Int8{Shape: append([]int(nil), shape...), Data: make([]int8, n)}
}

// NewInt32 allocates a zero tensor of the given shape.
func NewInt32(shape ...int) *Int32 {
	n, err := numel(shape)
	if err != nil {
		panic(err)
	}
	return &Int32{Shape: append([]int(nil), shape...), Data: make([]int32, n)}
}

// maxElems bounds element counts so that byte sizes never overflow an int.
const maxElems = 1 << 46

func numel(shape []int) (int, error) {
	n := 1
	for _, d := range shape {
		if d < 0 {
			return 0, fmt.Errorf("%w: negative dimension in %v", ErrShape, shape)
		}
		if d != 0 && n > maxElems/d {
			return 0, fmt.Errorf("%w: %v has too many elements", ErrShape, shape)
		}
		n *= d
	}
	return n, nil
}

// Check verifies that the data length matches the shape.
func (t *Int8) Check() error {
	n, err := numel(t.Shape)
	if err != nil {
		return err
	}
	if n != len(t.Data) {
		return fmt.Errorf("%w: shape %v needs %d elements, have %d", ErrShape, t.Shape, n, len(t.Data))
	}
	return nil
}

// Check verifies that the data length matches the shape.
func (t *Int32) Check() error {
	n, err := numel(t.Shape)
	if err != nil {
		return err
	}
	if n != len(t.Data) {
		return fmt.Errorf("%w: shape %v needs %d elements, have %d", ErrShape, t.Shape, n, len(t.Data))
	}
	return nil
}

// Matrix returns (rows, cols) of a 2-D tensor, or an error for any other rank or a bad length.
func (t *Int8) Matrix() (rows, cols int, err error) {
	if len(t.Shape) != 2 {
		return 0, 0, fmt.Errorf("%w: want a matrix, have shape %v", ErrShape, t.Shape)
	}
	if err := t.Check(); err != nil {
		return 0, 0, err
	}
	return t.Shape[0], t.Shape[1], nil
}

// Rows returns the first dimension of a 2-D tensor (0 for any other rank).
func (t *Int8) Rows() int {
	if len(t.Shape) != 2 {
		return 0
	}
	return t.Shape[0]
}

// Cols returns the second dimension of a 2-D tensor (0 for any other rank).
func (t *Int8) Cols() int {
	if len(t.Shape) != 2 {
		return 0
	}
	return t.Shape[1]
}

// Row returns row i of a 2-D tensor as a slice aliasing the data.
func (t *Int8) Row(i int) []int8 {
	c := t.Cols()
	return t.Data[i*c : (i+1)*c : (i+1)*c]
}

// At returns element (i, j) of a 2-D tensor.
func (t *Int8) At(i, j int) int8 { return t.Data[i*t.Cols()+j] }

// Len returns the number of elements.
func (t *Int32) Len() int { return len(t.Data) }

// Row returns row i of a 2-D tensor as a slice aliasing the data.
func (t *Int32) Row(i int) []int32 {
	if len(t.Shape) != 2 {
		panic("tensor: Row on a tensor that is not 2-D")
	}
	c := t.Shape[1]
	return t.Data[i*c : (i+1)*c : (i+1)*c]
}

// Clone returns a deep copy.
func (t *Int8) Clone() *Int8 {
	return &Int8{Shape: append([]int(nil), t.Shape...), Data: append([]int8(nil), t.Data...)}
}

// Clone returns a deep copy.
func (t *Int32) Clone() *Int32 {
	return &Int32{Shape: append([]int(nil), t.Shape...), Data: append([]int32(nil), t.Data...)}
}

// Equal reports whether two tensors have the same shape and data.
func (t *Int8) Equal(u *Int8) bool {
	if len(t.Shape) != len(u.Shape) || len(t.Data) != len(u.Data) {
		return false
	}
	for i := range t.Shape {
		if t.Shape[i] != u.Shape[i] {
			return false
		}
	}
	for i := range t.Data {
		if t.Data[i] != u.Data[i] {
			return false
		}
	}
	return true
}
