// Package prover is the provider node (specs/settlement.md): it serves
// generation jobs of the universal circuit's width classes (circuits/universal) with one
// Groth16 proof per job.
//
// Jobs come from two sources: signed offers (jobs.Offer) read from the configured order books
// or handed over with Consider, which the node executes first and then locks and commits in
// one transaction (lockAndCommit); and jobs posted on chain (JobPosted with the job URI),
// which it locks, executes and commits. Before it spends anything it checks the offer (chain,
// manager, terms, lock deadline, the buyer's signature), that the class is served and active
// on chain with a verifier deployed from this node's keys, that it holds the model of the
// request's root, that the fetched job file is the request's (jobs.CheckJobFile) and fits the
// model and the class, the price, that the windows hold its measured execution and proving
// time (a self-test of the configured executor at start, kept per class, host and executor
// configuration) behind the heavy work its unproved jobs still need over its Concurrency
// slots, and that its free stake covers the lock: an honest provider never locks what it
// cannot prove in time. A refused job locks nothing; a job that fits alone but not behind the
// backlog waits and is considered again. An offer is also run past the manager itself: its
// lockAndCommit is simulated (eth_call from the provider) before the execution and again
// right before it, so an offer the manager would refuse (an unfunded buyer, a signature it
// rejects) costs no compute; and at most MaxUnlockedOffers (MaxUnlockedPerBuyer per buyer)
// execute unlocked at once. Execution and proving slots go to the earliest deadline first.
//
// Job files and order books are fetched in the background (a silent server holds only its
// own job), bounded by the longest prompt a served class takes and by JobFetchTimeout, with
// an HTTP client that dials only public addresses and follows no redirect to another unless
// AllowPrivateAddresses: buyers choose the URIs.
//
// The GPU sampler of prover/gpu watches the execution, and the attestation record's digest
// is committed with the trace root (the CC nonce binds the trace root, as receipt.Receipt.Nonce
// rebuilds it). The seed comes from the chain or the buyer's reveal, read SeedConfirmations blocks past
// the seed block; the node fixes it when its proof would otherwise not land inside the seed
// horizon (settlement.md §4), proves with universal.Prove and submits alone or in a
// submitBatch of one class, handling each member's outcome (proved, slashed, skipped). Every
// submission is simulated first: one the manager would find invalid (a reorganisation replaced
// the seed) is not sent, and the job reads its seed again and proves again. A locked job the
// node cannot execute (Safety.MaxExecAttempts failures, or too little time left before the
// commit deadline) is abandoned for its fee instead of slashed for its stake. It signs the probity.receipt.v1 document (package receipt)
// whose digest JobProved emitted, finalizes or collects after the challenge window, publishes
// the receipt at receipts/<jobId>.json next to the job URI and withdraws, as configured.
//
// Every step is written to a per-job journal (one JSON file per job, replaced atomically)
// before the next starts, so a node killed at any point resumes after reconciling the journal
// with the chain: the chain is the truth about where a job stands, the journal the truth about
// what the node holds (the trace, the attestation record, the seed, the proof). What is
// committed is journaled before the transaction is sent, so a resumed node proves exactly what
// it committed. A reconcile also follows reorganisations: a stored seed that is not the
// journaled one is proved again, a moved seed block re-derives the seed, and a lock or commit
// whose block was dropped is waited for while its transaction is pending again, or sent again
// once it is gone.
//
// Run serves until its context ends; RunUntil serves until given jobs are final (the demo);
// Record.Report gives a job's timings and gas per transaction.
//
// Around the node: the retrying, fee-bumping Backend wrapper (rpc.go), the executor interface
// and checked generation (executor.go, Generate), the metrics, the GPU collector (prover/gpu),
// the OCSP stapler for the GPU's certificate chain (ocsp.go, revocation.go) and
// the GPU, fetch, RPC, log and safety configuration (sections.go).
package prover
