// Package circuits implements the sampled-layer statement of specs/protocol.md §7 as a gnark
// Groth16 circuit over BN254, the shape catalogue of §5, key management (development setup
// with an on-disk cache, and an MPC ceremony for deployments), and the prove/verify API used
// by the prover and verifier packages.
//
// A LayerCircuit for shape (K, N, D, k) has five public inputs, in this order: inputRoot,
// weightsRoot, outputRoot, seed_l and the epilogue word. Everything else (M, the tree roots,
// the openings) is private and bound through the shape-bound roots of §4.3. For each of the k
// samples the circuit derives (i, j) from the seed exactly as §6.3 does, opens row i of the
// input, column j of the parameters and row i of the output, and checks that the output
// element is the int8 layer function of §3.2. The circuit uses no lookups and no Pedersen
// commitments, so its verifier is the plain Groth16 pairing check that
// contracts/src/Groth16Verifier.sol implements; VerifyingKeyWords gives that contract's
// constructor arguments and MarshalSolidity its proof encoding.
//
// Prove checks every sample natively before proving: a wrong output is reported as a
// *SampleError naming the sample, rather than as an unsatisfied constraint.
package circuits
