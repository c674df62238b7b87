// Package chain is the Go client of the Probity contracts (specs/protocol.md §10,
// §11): it deploys them from the committed bytecode in contracts/bindings (no
// Solidity compiler at run time), sends transactions with a nonce-tracking
// sender that waits for receipts, decodes the manager's events from receipts and
// logs, and turns reverts into typed errors naming the contract's custom error.
//
// It is the only package that imports contracts/bindings; the struct types the
// contracts take (JobSpec, Layer, Job, Receipt) are re-exported here as aliases
// so that higher layers never import the bindings.
//
// Any EVM endpoint works through the Backend interface (ethclient for a node,
// anvil in development). NewSimulated wraps go-ethereum's in-process simulated
// chain with a mining policy: the challenge seed of spec §6.2 needs blocks mined
// after the commit, so a simulated chain either mines after every transaction,
// on an interval, or when the caller asks (Simulated.Mine).
//
// Market is the client of the settlement (specs/settlement.md: SLAManager,
// ClassRegistry, ResultHasher; bindings in contracts/bindings), deployed by
// Deploy. A buyer signs a request (SignRequest over its job id, the request's
// EIP-712 digest) and a provider locks, commits and submits it; one proof settles a
// job, alone or in a batch. A commit replaces the job's provider and stake on chain
// by the hash of a Commitment (provider, stake, trace root, attestation digest):
// Commit, CommitMany and LockAndCommit return it from the JobCommitted event, which
// carries all of it, and the job's submission (NewSubmission) and a slash of it
// while Committed must open it. Each transaction returns a typed result with its gas and
// the events it emitted, decoded: the tokens a JobProved carries, the per-member
// outcome of a batch, a skipped member's reason as a RevertError.
package chain
