// Package demo runs Probity end to end on an in-process chain: the `probity demo` command
// and its self-check.
//
// Run deploys the contracts on a simulated chain, registers the small width class with
// its development keys (circuits key cache) and the shipped model (models.KJV) in the
// catalogue, and plays the protocol with real prover nodes (package prover) and the buyer SDK
// (package sdk):
//
//   - a buyer asks the shipped model for text with a signed offer (it sends no transaction);
//     the honest node generates the text, locks and commits in one transaction, proves the
//     job with one universal proof and is paid; the buyer reads the text from the chain;
//   - a lazy node commits a trace it did not compute, cannot prove it, and is slashed when its
//     proof deadline passes;
//   - a silent provider locks a job and never commits, and is slashed at its commit deadline;
//   - an auditor verifies the honest receipt offline.
//
// Balances are accounted for and must be conserved. Any act that does not turn out as the
// protocol says makes Run fail, so the demo doubles as a self-check.
package demo
