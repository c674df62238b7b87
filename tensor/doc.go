// Package tensor implements the computation of the Probity protocol (specs/protocol.md §3):
// int8/int32 tensors, safetensors file I/O with the strict rejections of §3.1, the quantized
// int8 linear layer of §3.2 (exact integer arithmetic, int32 accumulator overflow reported,
// never wrapped) and a runner for a chain of such layers (an MLP).
//
// The executor here is the reference the proofs are checked against: a GPU kernel must produce
// bit-identical outputs, since integer results are either right or wrong.
package tensor
