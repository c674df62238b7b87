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
package chain
