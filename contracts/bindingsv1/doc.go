// Package bindingsv1 holds the abigen v2 Go bindings of the Probity v1
// settlement contracts (ClassRegistry, ResultHasher, SLAManagerV1; specs/settlement.md),
// generated from forge's build artifacts and committed, bytecode included, like
// package bindings. The contracts v1 shares with v0 (DevToken, Groth16Verifier,
// ProviderRegistry) stay in package bindings.
//
// The package is separate because v1's struct types take the names v0's already
// have (Job, Receipt, Eip712DomainOutput). Once v0 is deleted the two packages can
// be merged into one. Only package chain imports it.
//
// TestBindingsUpToDate regenerates the bindings with the go:generate command
// below and fails on any difference.
package bindingsv1

//go:generate go run ../bindings/internal/bindgen/genbindings -contracts v1 -out bindings.go -pkg bindingsv1
