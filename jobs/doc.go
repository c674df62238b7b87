// Package jobs is the one home of the job-level concepts every party shares (spec §6.1,
// §8.3): the job manifest and its strict parsing, the layout of a job directory (input,
// model and per-layer output files, and the tensor names inside them), and where a job's
// receipt is published next to its manifest. The buyer (sdk) writes this layout, the provider
// (prover) fetches into it and writes its outputs into it, and the auditor (verifier) reads
// it, so a directory one of them wrote is one the others read.
package jobs
