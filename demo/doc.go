// Package demo runs Probity end to end on an in-process chain: the `probity demo` command
// and its self-check.
//
// Run deploys the contracts on a simulated chain, registers a catalogue shape with keys from
// the circuits key cache, and runs three real prover nodes in process, one after the other so
// that each job goes to the intended provider:
//
//   - an honest node proves its job and is paid after the proofs verify on chain;
//   - a falsifying node commits corrupted outputs, finds that no proof of its sampled elements
//     exists, and is slashed when its proof deadline passes;
//   - a silent node locks a job and never commits, and is slashed at its commit deadline.
//
// A watcher (the honest provider) triggers both slashes and earns the bounty; the buyer gets
// the escrow back plus the slashed stake less the bounty. Finally an auditor verifies the honest
// receipt offline under a policy pinned to the chain and contract. Any act that does not turn
// out as the protocol says makes Run fail, so the demo doubles as a self-check.
package demo
