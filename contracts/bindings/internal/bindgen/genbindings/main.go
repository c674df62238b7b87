// Command genbindings rebuilds the contracts with the repository's forge and
// writes the abigen v2 bindings (run by `go generate ./contracts/bindings` and,
// with -contracts v1, by `go generate ./contracts/bindingsv1`).
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/probitylabs/probity/contracts/bindings/internal/bindgen"
	"github.com/probitylabs/probity/internal/testenv"
)

func main() {
	out := flag.String("out", "bindings.go", "output Go file")
	pkg := flag.String("pkg", "bindings", "Go package name")
	set := flag.String("contracts", "v0", "which contracts to bind: v0 (bindgen.Contracts) or v1 (bindgen.ContractsV1)")
	flag.Parse()
	if err := run(*out, *pkg, *set); err != nil {
		fmt.Fprintln(os.Stderr, "genbindings:", err)
		os.Exit(1)
	}
}

func run(out, pkg, set string) error {
	var contracts, sources []string
	switch set {
	case "v0":
		contracts = bindgen.Contracts
	case "v1":
		contracts, sources = bindgen.ContractsV1, bindgen.SourcesV1
	default:
		return fmt.Errorf("-contracts %q: want v0 or v1", set)
	}
	root, err := testenv.RepoRoot()
	if err != nil {
		return err
	}
	forge, err := testenv.Locate(root, "forge")
	if err != nil {
		return err
	}
	tmp, err := os.MkdirTemp("", "probity-bindgen-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	artifacts := filepath.Join(tmp, "out")
	if err := bindgen.Build(forge, root, artifacts, filepath.Join(tmp, "cache"), sources...); err != nil {
		return err
	}
	code, err := bindgen.Generate(artifacts, pkg, contracts)
	if err != nil {
		return err
	}
	return os.WriteFile(out, code, 0o644)
}
