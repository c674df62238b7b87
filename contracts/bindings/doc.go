// Package bindings holds the abigen v2 Go bindings of the Probity contracts
// (DevToken, Groth16Verifier, ProviderRegistry, SLAManager, ShapeRegistry),
// generated from forge's build artifacts and committed, bytecode included, so
// that Go code deploys and calls the contracts with no Solidity compiler at run
// time. Only package chain imports it; everything else goes through chain.
//
// The bindings are checked: TestBindingsUpToDate regenerates them from the
// current sources and fails on any difference.
package bindings

//go:generate go run ./internal/bindgen/genbindings -out bindings.go -pkg bindings
