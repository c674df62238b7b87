// Package prover is the Probity provider node (specs/protocol.md §6, §8, §10 from the
// provider's side): what a provider runs next to a GPU.
//
// A Node polls the SLA manager for JobPosted events it can serve (a catalogue shape it
// holds keys for, a price at or above its minimum, enough free stake), fetches the job
// manifest and its files, recomputes inputRoot, every weightsRoot and epilogue word and
// refuses a job whose files do not match before it locks (§6.1, §12 "withheld inputs").
// It then locks, runs an Executor while the NVML sampler of prover/gpu watches the device,
// commits every output root with the attestation digest, waits for the seed (§6.2), proves
// each layer with the circuits package, signs the EIP-712 receipt with the node key,
// submits, publishes the receipt next to the manifest (§8.3) and withdraws its credit.
//
// Every step is written to a per-job journal (one JSON file per job, replaced atomically)
// before the next one starts, so a node killed at any point resumes its jobs after
// reconciling the journal with the chain: the chain is the truth about where a job
// stands, the journal is the truth about what the node holds (outputs, record, proofs).
// The commit step journals the attestation record and the roots before the transaction
// is sent, so a resumed node always proves exactly what it committed.
//
// The chain is reached through a Backend wrapper that retries transient RPC failures
// with bounded exponential backoff and jitter, and replaces a transaction that stays
// unmined past a timeout by one with the same nonce and bumped fees.
package prover
