# Probity developer entry point. `make test` is exactly what CI runs (.ci/run).
#
# The Solidity toolchain is offline and pinned by package-lock.json: forge, anvil
# and cast from @foundry-rs/* (native binaries shipped in npm optional
# dependencies), solc-js behind tools/solc/solc-wrapper, OpenZeppelin from npm.

SHELL := bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

GO    ?= go
NPM   ?= npm
FORGE := node_modules/.bin/forge

# go-nvml is cgo; its headers trip ~100 deprecation warnings without this.
export CGO_CFLAGS ?= -O2 -g -Wno-deprecated-declarations

# Written after a successful `npm ci`; newer package files make it stale.
NODE_STAMP := node_modules/.probity-deps-installed

GO_TEST_TIMEOUT  ?= 20m
HEAVY_TIMEOUT    ?= 90m
BENCH            ?= .
GO_FILES = $(shell find . -name '*.go' -not -path './node_modules/*' -not -path './.git/*')

define banner
	@printf '\n==> %s\n' $(1)
endef

.PHONY: help deps test test-go test-forge test-heavy demo bench generate snapshot snapshot-reach snapshot-check lint clean

help:
	@echo "make deps       install the pinned toolchain (npm ci when stale, go mod download)"
	@echo "make test       deps, gofmt check, go vet, go test -short (tools required), forge test  [what CI runs]"
	@echo "make test-heavy go test -tags heavy (big circuits and setups; slow)"
	@echo "make demo       end-to-end demo on an in-process chain"
	@echo "make bench      Go benchmarks (BENCH=regexp to filter)"
	@echo "make generate   go generate ./... (contract bindings, vectors)"
	@echo "make snapshot   forge gas snapshot into contracts/snapshots"
	@echo "make snapshot-reach  invariant reach counts into contracts/snapshots/invariant-reach.json"
	@echo "make lint       gofmt check and go vet"
	@echo "make mutate     delete each circuit constraint in turn and check the tests catch it (slow)"

$(NODE_STAMP): package.json package-lock.json
	$(call banner,"npm ci (Foundry 1.7.1, solc-js 0.8.30, OpenZeppelin)")
	$(NPM) ci --no-audit --no-fund
	@touch $@

deps: $(NODE_STAMP)
	$(call banner,"go mod download")
	$(GO) mod download
	@printf '%s\n' "forge: $$($(FORGE) --version | head -1)" "solc:  $$(tools/solc/solc-wrapper --version | tail -1)"

test: deps lint
	$(call banner,"go test -short ./...")
	PROBITY_REQUIRE_TOOLS=1 $(GO) test -short -timeout $(GO_TEST_TIMEOUT) ./...
	$(call banner,"forge test")
	$(FORGE) test

# Single halves, for iterating; they assume `make deps` has run.
test-go:
	PROBITY_REQUIRE_TOOLS=1 $(GO) test -short -timeout $(GO_TEST_TIMEOUT) ./...

test-forge:
	$(FORGE) test

test-heavy: deps
	$(call banner,"go test -tags heavy ./...")
	PROBITY_REQUIRE_TOOLS=1 $(GO) test -tags heavy -timeout $(HEAVY_TIMEOUT) ./...

demo:
	$(GO) run ./cmd/probity demo

bench: deps
	$(GO) test -run '^$$' -bench '$(BENCH)' -benchmem ./...

generate: deps
	$(GO) generate ./...

snapshot: deps
	$(call banner,"forge snapshot")
	$(FORGE) snapshot --snap contracts/snapshots/forge.gas-snapshot

# The invariant campaign's reach (settlements, slashes by cause, ...) into
# contracts/snapshots/invariant-reach.json.
snapshot-reach: deps
	$(call banner,"forge test (invariant reach snapshot)")
	PROBITY_WRITE_REACH=true $(FORGE) test --match-contract '^SLAInvariantTest$$'

snapshot-check: deps
	$(FORGE) snapshot --check contracts/snapshots/forge.gas-snapshot

lint:
	$(call banner,"gofmt -l")
	@bad="$$(gofmt -l $(GO_FILES))"; if [ -n "$$bad" ]; then echo "gofmt needed:"; echo "$$bad"; exit 1; fi
	$(call banner,"go vet ./...")
	$(GO) vet ./...

# Mutation testing (docs/circuits.md, "Mutation testing"): delete each constraint of the
# circuit packages in turn, in a private copy of the module, and run their tests; fails when
# a deletion survives. MUTATE_FLAGS=-allow-survivors only reports; -json for the raw results.
MUTATE_PKGS  ?= ./circuits/gadgets ./circuits/opcheck
MUTATE_FLAGS ?= -j 1
.PHONY: mutate
mutate:
	$(GO) run ./internal/cmd/mutate $(MUTATE_FLAGS) $(MUTATE_PKGS)

clean:
	rm -rf contracts/out contracts/cache
