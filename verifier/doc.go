// Package verifier audits probity.receipt.v1 documents (specs/settlement.md §9) offline:
// given a receipt and an explicit Policy it re-derives everything the manager checked, and
// what only an auditor can check, and reports one named result per check.
//
// The checks, in order: the document's schema and version; replay (chain id and manager
// against the policy); the job id, recomputed from the request under the manager's EIP-712
// domain; the job file (strict parse, its digest the request's job digest, its model root and
// token count the request's); the class (the request's classId, a class the policy accepts, by
// name, with the receipt's slots); the seed, recomputed with SeedV2 from the commitment,
// block hash and secret (the block hash itself stays unconfirmed offline); the result (its
// digest and length); the Groth16 proof against the class's verifying key and the five public
// inputs rebuilt from the fields above, never read from the document, with a pinned key
// (the policy's key or its KeyHash, the caller's, or the class's on-chain verifier's, which
// any other key must equal in chain mode; never an unpinned key cache entry); the detection
// bounds, recomputed when the auditor has the model; the attestation record (digest binding,
// the CC nonce and the policy, with Records); the node key's EIP-712 signature;
// and the chain: JobCommitted's commitment (provider, stake, trace root, attestation digest)
// and seed block, the seed block's hash, the JobProved event's receipt digest, and the
// provider's current node key.
//
// Without a chain the seed block's hash is the provider's word, and with it the seed and what
// the detection bounds promise: the on-chain check then fails with ErrUnconfirmed (Verdict
// "unconfirmed", Report.OK false) unless the policy sets AllowUnconfirmed.
//
// A verifier refuses to run without a policy; PolicyUnsafeAcceptAll is the spelled-out opt-out.
package verifier
