// Package receipt implements the probity.receipt.v1 document of specs/settlement.md §9: the
// self-contained record of one generation job settled through the manager (its request and
// job file, the class, the commitment, the seed and the chain data it came from, the result,
// the one Groth16 proof, the detection bounds, the attestation record, timings), its canonical
// JSON encoding, and the EIP-712 digest (settlement.md §6) that the provider's node key signs
// and that the manager emits in JobProved.
//
// Decoding is strict because an auditor must never accept two spellings of one receipt, so a document must be the canonical encoding (the key order of the
// Go types, lower-case hex, decimal strings for chainId, jobId, price and stake, no null) up to
// insignificant whitespace, and every error names the field at fault (a *FieldError).
//
// A provider builds a receipt by filling every field (NewRequest, ClassOf, DetectionOf help)
// and calling Sign; receipttest.Job.Receipt is the worked example. A buyer authenticates a
// fetched receipt by comparing Digest with the receipt digest JobProved emitted. EIP712,
// Digest, Commitment, Nonce and PublicInputs read the fields as they are: call them on a
// receipt that passed Validate (Parse validates).
//
// The CC nonce (Nonce) is protocol.md §9.3's with the trace root as the job's one output root,
// the reading, for a generation job, of "the job's committed roots".
//
// What a receipt claims is checked by package verifier; this package only guarantees that a
// parsed receipt is well formed.
package receipt
