// Package testenv lets Go tests use the repository's pinned JavaScript toolchain
// (forge, anvil and cast from the npm packages @foundry-rs/*, installed by
// `make deps` into node_modules).
//
// A test that needs a tool asks for it with ForgePath, AnvilPath or CastPath. When
// the tool is missing the test is skipped with a hint to run `make deps`, unless
// PROBITY_REQUIRE_TOOLS=1 is set (as `make test` and CI do), in which case it fails:
// CI must never go green by skipping the chain tests.
package testenv
