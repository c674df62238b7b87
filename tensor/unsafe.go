package tensor

import "unsafe"

// unsafeBytes views an int8 slice as bytes; int8 and byte share size and alignment, and reading
// file bytes straight into the tensor avoids a copy per row.
func unsafeBytes(s []int8) []byte {
	if len(s) == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(&s[0])), len(s))
}
