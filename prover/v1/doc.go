// Package proverv1 is the provider node of the v1 settlement (specs/settlement.md): it serves
// generation jobs of the universal circuit's width classes (circuits/universal) with one
// Groth16 proof per job.
//
// Jobs come from two sources: signed offers read from order books (settlement.md §8), which
// the node executes first and then locks and commits in one transaction (lockAndCommit), and
// jobs posted on chain (JobPosted with the job URI), which it locks, executes and commits.
// Before it spends anything it checks that the class is registered, active and served with the
// keys its verifier was deployed from, that it holds the model of the request's root, that the
// fetched job file is the one the request names and fits the class, the price, the free stake,
// the lock deadline, and that the windows leave room for its measured execution and proving
// time: an honest provider never locks what it cannot prove in time.
//
// The seed comes from the chain (or the buyer's reveal); the node fixes it when its proof would
// otherwise not land inside the seed horizon, proves with universal.Prove, and submits alone or
// in a batch of one class (submitBatch), then finalizes and collects its payment.
//
// Every step is written to a per-job journal (one JSON file per job, replaced atomically)
// before the next starts, so a node killed at any point resumes after reconciling the journal
// with the chain: the chain is the truth about where a job stands, the journal the truth about
// what the node holds (the trace, the attestation record, the seed, the proof). What is
// committed is journaled before the transaction is sent, so a resumed node proves exactly what
// it committed.
//
// The protocol-independent parts are package prover's: the retrying, fee-bumping Backend
// wrapper, the executor interface, the metrics, the GPU collector and its configuration.
package proverv1
