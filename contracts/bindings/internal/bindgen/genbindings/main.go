// Command genbindings rebuilds the contracts with the repository's forge and
// writes the abigen v2 bindings (run by `go generate ./contracts/bindings`).
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
	flag.Parse()
	if err := run(*out, *pkg); err != nil {
		fmt.Fprintln(os.Stderr, "genbindings:", err)
		os.Exit(1)
	}
}

func run(out, pkg string) error {
	contracts, sources := bindgen.Contracts, bindgen.Sources
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
