// Package gadgets holds the in-circuit building blocks of the sampled-layer statement
// (specs/protocol.md §4, §6.3, §7): the Poseidon2 sponge S, row unpacking, Merkle openings,
// canonical sample-index derivation and the requantization epilogue of §3.2.
//
// Each gadget is the exact in-circuit twin of a native function in package commit or
// protocol; the tests pin that agreement and pair every valid witness with tampered ones.
// No gadget uses lookups or the range-check commitment API: the statement must compile to a
// plain R1CS so that its Groth16 verifier is the bare pairing check (§7).
package gadgets
