// Package ops is the Go reference implementation of Probity's integer op set, specified bit for
// bit in specs/ops.md: linear, matmul of two activations, softmax with a causal mask, layernorm
// and rmsnorm, 256-entry tables, requantized add and mul, embed, argmax and seeded sampling.
//
// Every op is integer-only and has exactly one result for given inputs, so a GPU kernel, this
// package and the NumPy script tools/ops_ref.py must agree bit for bit; testdata/vectors/ops.json
// pins the three to one another. There is one rounding rule (round half up, the v0 epilogue's),
// every int8 output saturates, and nothing wraps: where an accumulator could leave its range
// the op returns an error naming the element (linear and matmul, at run time), and every other
// op bounds its parameters so that overflow is impossible, rejecting the others up front.
//
// Errors are tensor.ErrShape, tensor.ErrOverflow (as *tensor.OverflowError with the row and
// column), ErrParam (as *ParamError naming the parameter) and ErrToken (as *TokenError naming
// the position), testable with errors.Is and errors.As.
//
// Ops act on matrices; a model splits attention heads into separate matrices. Row-wise ops split
// rows across all cores; linear is tensor.Linear itself.
package ops
