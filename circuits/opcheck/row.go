package opcheck

import "github.com/consensys/gnark/frontend"

// Row is one opened int8 row as the circuit unpacked it from its packed leaf (protocol.md
// §4.2): B[t] = x_t + 128, in [0, 256), for t < width and 0 for t >= width; In[t] = 1 for
// t < width and 0 beyond. len(B) = len(In) is the width class's capacity. The caller
// constrains all of it (byte ranges, zero padding, In boolean and prefix-shaped with
// sum(In) = width), so a gadget may rely on it.
type Row struct {
	B     []frontend.Variable
	In    []frontend.Variable
	Width frontend.Variable
}

// Cap is the row's capacity.
func (r Row) Cap() int { return len(r.B) }
