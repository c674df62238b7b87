// Package jobs is the one home of the job-level concepts every party shares.
//
// Layer jobs (spec §6.1, §8.3): the job manifest and its strict parsing, the layout of a job
// directory (input, model and per-layer output files, and the tensor names inside them), and
// where a job's receipt is published next to its manifest. The buyer (sdk) writes this layout,
// the provider (prover) fetches into it and writes its outputs into it, and the auditor
// (verifier) reads it, so a directory one of them wrote is one the others read.
//
// Generation jobs (specs/trace.md): the job (GenJob, its file and digest), the reference
// executor (Generate: prefill, then KV-cached decode steps), the trace, result and their files,
// the trace commitments and trace root, the result digest, and the recomputation check
// (CheckTrace, Verify) by which a node checks its executor and a buyer or auditor a delivery.
package jobs
