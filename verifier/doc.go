// Package verifier audits Probity receipts offline (specs/protocol.md §7, §8, §12): given a
// receipt and an explicit Policy it re-derives everything the SLA manager checked and more, and
// reports one named result per check, so an auditor sees exactly what passed, what failed and
// why.
//
// The checks, in order: the document's schema and version; replay (chain id and contract
// against the policy); the EIP-712 signature by the node key; the spec hash; the layer seeds;
// the public inputs, rebuilt from the signed fields with the contract's chaining
// (inputRoot -> outputRoots[0] -> ...) and compared to the proofs'; every Groth16 proof,
// verified natively with gnark; the detection bound and k against the policy; the attestation
// record (digest binding, mode, GPU model, the confidential-computing report); and, when asked,
// the sampled elements recomputed from tensor files and a cross-check against the chain.
//
// Nothing here needs a chain: Audit is pure unless Options.Chain is set. A verifier refuses to
// run without a policy; PolicyUnsafeAcceptAll is the spelled-out opt-out.
package verifier
