// Package bindings holds the abigen v2 Go bindings of the Probity contracts
// (ChallengeManager, ClassRegistry, DevToken, Groth16Verifier, ProviderRegistry, ResultHasher,
// SLAManager; specs/settlement.md), generated from forge's build artifacts and
// committed, bytecode included, so that Go code deploys and calls the contracts
// with no Solidity compiler at run time. Only package chain imports it;
// everything else goes through chain.
//
// TestBindingsUpToDate regenerates the bindings with the go:generate command
// below and fails on any difference.
package bindings

//go:generate go run ./internal/bindgen/genbindings -out bindings.go -pkg bindings
