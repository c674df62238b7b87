// Package watcher is the honest party that makes a targeted falsification provable
// (specs/trace.md §8, settlement.md §10): a long-running process that follows the SLA
// manager's JobProved events, fetches each challengeable job's job file and the trace its
// provider published, checks that the trace opens the committed trace root, recomputes every
// element with the reference ops (jobs.Checked.FindFault) and challenges the first wrong one
// with a bond. When the provider cannot answer by the response deadline the watcher enforces
// the challenge: the provider is slashed, the watcher gets its bond back and the bounty.
//
// It is configured like the prover node (a JSON file, PROBITY_* variables and flags), keeps a
// journal of one file per job in its data directory, written before every transaction so a
// restart resumes where it stopped, and serves Prometheus metrics.
package watcher
