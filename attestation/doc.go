// Package attestation implements the attestation record of specs/protocol.md §9: what a
// provider states about the GPU that ran a job (identity and telemetry read through NVML) and,
// on GPUs in confidential-computing mode, the hardware attestation report and certificate chain
// the GPU itself signed over a nonce bound to the job.
//
// The package is pure Go so that receipts, verifiers and the chain client can hold and hash
// records without cgo; collecting them is prover/gpu's job and checking the hardware report is
// verifier/attest's. The record's canonical form is compact encoding/json output of the types
// here, in their field order, and its digest is keccak256("probity/attestation/v0" || canonical).
// Parse is strict (unknown fields, other spellings, bad hex and inconsistent modes are
// rejected with an error naming the field) because an auditor must never accept two spellings of
// one record. Nonce binds the confidential-computing report to the job: it commits to the chain,
// the SLA manager, the job id and the job's output commitment.
package attestation
