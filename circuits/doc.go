// Package circuits holds what every Groth16 circuit of Probity shares: compilation without
// Pedersen commitments (CompilePlain), so that a verifier is the plain pairing check that
// contracts/src/Groth16Verifier.sol implements; key management for a Target (development
// setup with an on-disk, checksummed cache, and an MPC ceremony for deployments); the
// verifier contract's constructor words (VerifyingKeyWords) and gnark's Solidity export; and
// the 256-byte Solidity proof encoding (MarshalSolidity, ParseSolidity).
//
// The statement itself, one sampled proof per generation job, is package circuits/universal
// (specs/circuit.md); its gadgets and op semantics are circuits/gadgets and circuits/opcheck.
package circuits
