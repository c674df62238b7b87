// Package jobs is the one home of the job-level concepts every party shares.
//
// Generation jobs (specs/trace.md): the job (GenJob, its file and digest), the reference
// executor (Generate: prefill, then KV-cached decode steps), the trace, result and their files,
// the trace commitments and trace root, the result digest, and the recomputation check
// (CheckTrace, Verify) by which a node checks its executor and a buyer or auditor a delivery.
//
// Delivery (specs/settlement.md §8): signed offers and order books (Offer, BookReader), and
// where a job's receipt and committed trace are published next to its job file (ReceiptURL,
// PublishReceipt, TraceURL, PublishTrace). Challenges (specs/trace.md §8): the Element a
// challenge names and FindFault, the check that finds the first element a trace gets wrong.
package jobs
