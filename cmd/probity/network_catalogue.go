package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	iofs "io/fs"
	"math/big"

	"github.com/ethereum/go-ethereum/common"

	"github.com/probitylabs/probity/model"
)

// The class registry's model catalogue (settlement.md §2): anyone may say once which width
// class proves a model, so buyers can ask for the model without naming a class. It is its own
// command because `probity model` already is the model file's (import).

func init() {
	registerGroup("catalogue", "the model catalogue on chain: register a model file under its width class, or show an entry",
		sub{"register", "register a model file's root under a width class (anyone, once per root)", runCatalogueRegister},
		sub{"show", "a model's catalogue entry", runCatalogueShow})
}

// readModel reads a model file (specs/model.md) and its root, naming the file in errors.
func readModel(flagName, path string) (*model.Model, *big.Int, error) {
	if path == "" {
		return nil, nil, usageError{fmt.Sprintf("--%s FILE is required: a model file (e.g. models/kjv-gpt2.safetensors, or `probity model import` output)", flagName)}
	}
	m, err := model.ReadFile(path)
	var pe *iofs.PathError
	switch {
	case errors.As(err, &pe):
		return nil, nil, fmt.Errorf("model file: %w", err)
	case err != nil:
		return nil, nil, withHint(fmt.Errorf("model file %s: %w", path, err), "a model file is what `probity model import` writes (specs/model.md)")
	}
	root, err := m.Root()
	if err != nil {
		return nil, nil, fmt.Errorf("model file %s: %w", path, err)
	}
	return m, root.BigInt(new(big.Int)), nil
}

func runCatalogueRegister(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newCommandFlags("catalogue register", "catalogue register --model FILE --class NAME [--uri URI] --key FILE [--rpc URL] [--deployment FILE]\n\n"+
		"Adds the model (by its root) to the catalogue under the width class that proves it, once\n"+
		"per root (anyone may; governance corrects a wrong entry). A job that does not fit its\nclass is refused by every provider.\n"+
		"--uri says where the model can be had (advisory).", stderr)
	n := addNetFlags(fs, true)
	modelFile := fs.String("model", "", "model `file`")
	className := fs.String("class", "", "width class `name` that proves the model")
	uri := fs.String("uri", "", "where the model can be had (advisory `uri`)")
	asJSON := jsonFlag(fs)
	done, pos, err := parseInterspersed(fs, args)
	if done || err != nil {
		return err
	}
	if err := noArgs(pos); err != nil {
		return err
	}
	cl, err := lookupClass("class", *className)
	if err != nil {
		return err
	}
	m, root, err := readModel("model", *modelFile)
	if err != nil {
		return err
	}
	c, err := n.connect(ctx, true)
	if err != nil {
		return err
	}
	if err := c.RegisterModel(ctx, m, cl.ID(), *uri); err != nil {
		return fromChain(err)
	}
	r := struct {
		Model string `json:"model"`
		Root  string `json:"root"`
		Class string `json:"class"`
	}{*modelFile, root.String(), cl.Name}
	return emit(stdout, *asJSON, r, "registered model %s (root %s) under class %s", r.Model, r.Root, r.Class)
}

// catalogueEntry is `catalogue show --json`.
type catalogueEntry struct {
	Root       string         `json:"root"`
	Class      string         `json:"class,omitempty"`
	ClassID    string         `json:"classId"`
	Registrant common.Address `json:"registrant"`
	URI        string         `json:"uri"`
}

func runCatalogueShow(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newCommandFlags("catalogue show", "catalogue show --model FILE [--json] [--rpc URL] [--deployment FILE]\n\n"+
		"Prints the catalogue entry of the model: its class, registrant and URI. Exit 1 when the\n"+
		"model is not in the catalogue.", stderr)
	n := addNetFlags(fs, true)
	modelFile := fs.String("model", "", "model `file`")
	asJSON := fs.Bool("json", false, "print JSON")
	done, pos, err := parseInterspersed(fs, args)
	if done || err != nil {
		return err
	}
	if err := noArgs(pos); err != nil {
		return err
	}
	_, root, err := readModel("model", *modelFile)
	if err != nil {
		return err
	}
	c, err := n.connect(ctx, false)
	if err != nil {
		return err
	}
	e, err := c.Market().ModelOf(ctx, root)
	if err != nil {
		return fromChain(err)
	}
	if e.ClassId == ([32]byte{}) {
		return failedError{fmt.Errorf("model %s (root %s) is not in the catalogue (ModelNotRegistered)", *modelFile, root)}
	}
	r := catalogueEntry{Root: root.String(), ClassID: common.Hash(e.ClassId).Hex(), Registrant: e.Registrant, URI: e.Uri}
	if cl := classByID(e.ClassId); cl != nil {
		r.Class = cl.Name
	}
	if *asJSON {
		return writeJSON(stdout, r)
	}
	name := r.Class
	if name == "" {
		name = "(unknown to this build)"
	}
	fmt.Fprintf(stdout, "model      %s\nroot       %s\nclass      %s %s\nregistrant %s\nuri        %s\n", *modelFile, r.Root, name, r.ClassID, r.Registrant.Hex(), r.URI)
	return nil
}
