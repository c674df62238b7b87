// Package proverv1 is the provider node of the v1 settlement (specs/settlement.md): it serves
// generation jobs of the universal circuit's width classes (circuits/universal) with one
// Groth16 proof per job.
//
// Jobs come from two sources: signed offers (jobs.Offer) read from the configured order books
// or handed over with Consider, which the node executes first and then locks and commits in
// one transaction (lockAndCommit); and jobs posted on chain (JobPosted with the job URI),
// which it locks, executes and commits. Before it spends anything it checks the offer (chain,
// manager, terms, lock deadline, the buyer's signature), that the class is served and active
// on chain with a verifier deployed from this node's keys, that it holds the model of the
// request's root, that the fetched job file (bounded in size and time) is the request's
// (jobs.CheckJobFile) and fits the model and the class, the price, that the windows hold its
// measured execution and proving time (a self-test at start, kept per data directory), and
// that its free stake covers the lock: an honest provider never locks what it cannot prove in
// time. A refused job locks nothing.
//
// The GPU sampler of prover/gpu watches the execution, and the attestation record's digest
// is committed with the trace root (the CC nonce binds the trace root, as receiptv1 rebuilds
// it). The seed comes from the chain or the buyer's reveal; the node fixes it when its proof
// would otherwise not land inside the seed horizon (settlement.md §4), proves with
// universal.Prove and submits alone or in a submitBatch of one class, handling each member's
// outcome (proved, slashed, skipped). It signs the probity.receipt.v1 document (receipt/v1)
// whose digest JobProved emitted, finalizes or collects after the challenge window, publishes
// the receipt at receipts/<jobId>.json next to the job URI and withdraws, as configured.
//
// Every step is written to a per-job journal (one JSON file per job, replaced atomically)
// before the next starts, so a node killed at any point resumes after reconciling the journal
// with the chain: the chain is the truth about where a job stands, the journal the truth about
// what the node holds (the trace, the attestation record, the seed, the proof). What is
// committed is journaled before the transaction is sent, so a resumed node proves exactly what
// it committed.
//
// Run serves until its context ends; RunUntil serves until given jobs are final (the demo);
// Record.Report gives a job's timings and gas per transaction.
//
// The protocol-independent parts are package prover's: the retrying, fee-bumping Backend
// wrapper, the executor interface and checked generation (prover.Generate), the metrics, the
// logger, the GPU collector and the GPU, fetch, RPC, log and safety configuration.
package proverv1
