// Package e2e holds integration tests that run Probity the way it is deployed: a real
// anvil node as its own process, the contracts deployed to it over JSON-RPC, provider
// nodes as separate `probity prover` processes of the real CLI binary, and the sdk as
// the buyer. The tests need anvil from `make deps`; without it they skip, or fail
// under PROBITY_REQUIRE_TOOLS=1 (make test, CI). They signal and inspect processes and
// run POSIX shell commands, so they build on Unix only.
package e2e
