// Package commit implements the commitments of the Probity protocol (specs/protocol.md §4, §6.3):
// the domain-separated Poseidon2 sponge S over BN254, row packing (31 bytes per field element),
// Merkle trees over tensor rows with shape-bound roots, openings and their verification, and
// the derivation of sample indices from a layer seed.
//
// The circuits recompute all of this in-circuit, so every function here must agree with them bit
// for bit; testdata/vectors/{poseidon2,commitments,samples}.json pin the outputs.
package commit
