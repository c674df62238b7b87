// Package opcheck holds the in-circuit semantics of every op kind of specs/ops.md and
// specs/model.md: for one sampled output element, given the opened operand rows and the op's
// parameters, each gadget asserts that the element is exactly what the op computes.
//
// The gadgets know nothing about commitments: the universal circuit (package circuits) opens
// rows and descriptors against the committed roots, unpacks them into Rows and passes them
// here. Every gadget range-checks the parameters it reads (model.md §3: no bits of a
// descriptor are unconstrained) and is satisfiable on any valid instance of its op, so an
// unused slot is filled with a valid dummy instance instead of gating each constraint.
package opcheck
