// Package model implements the Probity model graph of specs/model.md: a topologically ordered
// list of op instances (the ops of specs/ops.md, plus the column layout ops slice and concat)
// over tensors named in the model file and numbered by position, its fixed-width descriptor
// encoding into BN254 field elements, the commitments to its parameter tensors and the model
// root over all of it, the strict safetensors model file, and a reference executor that runs
// one forward pass and returns every intermediate tensor.
//
// A tensor id is positional and implicit: id 0 is the model input and op i writes tensor i+1,
// so every op has exactly one result and an operand id is valid only if it is smaller than its
// op's own result id; that single comparison is the topological order. Activation widths are
// static except for the sequence length T (the input's row count), which the descriptors spell
// as width 0, so one model root serves every prompt length.
//
// Everything the root commits to is range-bound and canonical: a model file is accepted only if
// it is byte for byte the file Encode writes for the model it describes, so the file, the model
// value and the root are in one-to-one correspondence. testdata/vectors/model.json pins
// descriptors, parameter roots, model roots and error classes.
//
// Errors are sentinels (ErrFormat, ErrLayout, ErrInteger, ErrName, ErrKind, ErrResolve,
// ErrOrder, ErrShape, ErrParam, ErrCanonical), each a class of specs/model.md §7, wrapped with
// the op index; Class maps an error to its class name.
package model
