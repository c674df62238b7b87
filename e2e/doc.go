// Package e2e holds integration tests that run Probity the way it is deployed: a real anvil
// node as its own process, the contracts deployed to it with `probity deploy` over
// JSON-RPC, provider nodes as separate `probity prover` processes of the real CLI binary,
// and the buyer on the CLI. The tests need anvil from `make deps`; without it they skip, or
// fail under PROBITY_REQUIRE_TOOLS=1 (make test, CI). The network test proves jobs of the
// shipped model with the small width class, whose keys it sets up in the user's key cache
// once (about two minutes); under -short it runs only when they are cached, or under
// PROBITY_REQUIRE_TOOLS=1, which sets them up. The tests
// signal and inspect processes, so they build on Unix only.
package e2e
