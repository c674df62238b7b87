package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/consensys/gnark/backend/groth16"

	"github.com/probitylabs/probity/chain"
	"github.com/probitylabs/probity/verifier"
)

// Governance commands: deploy a stack, register and retire shapes, mint the dev token.

func init() {
	register("deploy", "deploy the token, registries and SLA manager; write the deployment file", runDeploy)
	register("shape", "governance: register a shape with its Groth16 verifier, or retire it", subcommands("shape",
		map[string]func(context.Context, []string, io.Writer, io.Writer) error{"register": runShapeRegister, "retire": runShapeRetire},
		"register", "retire"))
	register("mint", "mint dev tokens on a development deployment (token owner only)", runMint)
}

func runDeploy(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newCommandFlags("deploy", "deploy --key FILE [--rpc URL] [--out FILE]\n\n"+
		"Deploys a DevToken (a billion tokens minted to the deployer), the provider and shape\n"+
		"registries and the SLA manager; the deployer (--key) is governance. Writes the addresses\n"+
		"as JSON to --out, which must not exist yet. Production deployments use the Foundry script\n"+
		"(docs/contracts.md).", stderr)
	n := addNetFlags(fs, false)
	out := fs.String("out", defaultDeployment, "deployment `file` to write (refuses to replace one)")
	unbonding := fs.Duration("unbonding-delay", 7*24*time.Hour, "how long unbonding stake stays slashable before it can be withdrawn")
	done, pos, err := parseInterspersed(fs, args)
	if done || err != nil {
		return err
	}
	if err := noArgs(pos); err != nil {
		return err
	}
	if *unbonding < 0 {
		return usageError{"--unbonding-delay must not be negative"}
	}
	// Refuse before spending gas: the file names a deployment someone may still use.
	if _, err := os.Stat(*out); err == nil {
		return withHint(fmt.Errorf("%s already exists", *out), "choose another --out, or delete it first")
	}
	key, err := n.signingKey(true)
	if err != nil {
		return err
	}
	ec, err := dial(ctx, *n.rpc)
	if err != nil {
		return err
	}
	d, err := chain.Deploy(ctx, ec, key, chain.DeployParams{UnbondingDelay: uint64(unbonding.Seconds())})
	if err != nil {
		return fromChain(fmt.Errorf("deploy: %w", err))
	}
	if _, err := writeNew(*out, true, func(w io.Writer) error { return writeJSON(w, d.Addresses) }); err != nil {
		return withHint(fmt.Errorf("the contracts are deployed, but writing %s failed: %w", *out, err),
			fmt.Sprintf("write the addresses by hand: token %s, providers %s, shapes %s, manager %s",
				d.Addresses.Token.Hex(), d.Addresses.Providers.Hex(), d.Addresses.Shapes.Hex(), d.Addresses.Manager.Hex()))
	}
	fmt.Fprintf(stdout, "token     %s\nproviders %s\nshapes    %s\nmanager   %s\n", d.Addresses.Token.Hex(),
		d.Addresses.Providers.Hex(), d.Addresses.Shapes.Hex(), d.Addresses.Manager.Hex())
	fmt.Fprintf(stdout, "wrote %s; governance and token owner: %s\n", *out, keyAddress(key))
	return nil
}

func runShapeRegister(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newCommandFlags("shape register", "shape register --shape NAME [--keys-dir DIR | --vk FILE] --key FILE [--rpc URL] [--deployment FILE]\n\n"+
		"Deploys a Groth16Verifier holding the shape's verifying key (from the circuits key cache, or\n"+
		"--vk) and registers the catalogue shape with it. Governance only. Create keys with\n"+
		"`probity setup` (development) or `probity ceremony finalize --install`.", stderr)
	n := addNetFlags(fs, true)
	shapeName := fs.String("shape", "", "catalogue shape `name` (see `probity shapes`)")
	dir := fs.String("keys-dir", "", "key cache `dir` (default $XDG_CACHE_HOME/probity/keys)")
	vkFile := fs.String("vk", "", "verifying key `file` (gnark binary) instead of the cache")
	done, pos, err := parseInterspersed(fs, args)
	if done || err != nil {
		return err
	}
	if err := noArgs(pos); err != nil {
		return err
	}
	s, err := lookupShape("shape", *shapeName)
	if err != nil {
		return err
	}
	var vk groth16.VerifyingKey
	if *vkFile != "" {
		if *dir != "" {
			return usageError{"--keys-dir and --vk exclude each other"}
		}
		if vk, err = verifier.ReadVerifyingKeyFile(*vkFile); err != nil {
			return err
		}
	} else if vk, _, err = verifyingKey(s.Name, "", *dir); err != nil {
		return err
	}
	c, err := n.connect(ctx, true)
	if err != nil {
		return err
	}
	// Check first: registering deploys a verifier before the registry can refuse.
	if cur, err := c.Chain().Shape(ctx, s.ID()); err != nil {
		return fromChain(err)
	} else if cur.Status != 0 {
		return failedError{fmt.Errorf("%s %s is already registered (ShapeAlreadyRegistered; status %s, verifier %s)",
			s.Name, s.IDHex(), shapeStatus(cur.Status), cur.Verifier.Hex())}
	}
	id, err := c.RegisterShape(ctx, s, vk)
	if err != nil {
		return fromChain(err)
	}
	cur, err := c.Chain().Shape(ctx, id)
	if err != nil {
		return fromChain(err)
	}
	fmt.Fprintf(stdout, "registered %s as %s, verifier %s\n", s, s.IDHex(), cur.Verifier.Hex())
	return nil
}

// shapeStatus names the registry's ShapeStatus enum.
func shapeStatus(s uint8) string {
	switch s {
	case 0:
		return "None"
	case 1:
		return "Active"
	case 2:
		return "Retired"
	}
	return fmt.Sprintf("ShapeStatus(%d)", s)
}

func runShapeRetire(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newCommandFlags("shape retire", "shape retire --shape NAME --key FILE [--rpc URL] [--deployment FILE]\n\n"+
		"Retires a shape for good: no new job may use it (jobs already posted finish). Governance only.", stderr)
	n := addNetFlags(fs, true)
	shapeName := fs.String("shape", "", "catalogue shape `name`")
	done, pos, err := parseInterspersed(fs, args)
	if done || err != nil {
		return err
	}
	if err := noArgs(pos); err != nil {
		return err
	}
	s, err := lookupShape("shape", *shapeName)
	if err != nil {
		return err
	}
	c, err := n.connect(ctx, true)
	if err != nil {
		return err
	}
	if _, err := c.Chain().RetireShape(ctx, s.ID()); err != nil {
		return fromChain(fmt.Errorf("retire %s: %w", s.Name, err))
	}
	fmt.Fprintf(stdout, "retired %s (%s)\n", s.Name, s.IDHex())
	return nil
}

func runMint(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newCommandFlags("mint", "mint --to ADDR --amount X --key FILE [--rpc URL] [--deployment FILE]\n\n"+
		"Mints DevTokens on a development deployment (the token `probity deploy` creates); only the\n"+
		"token's owner, the deployer, may.", stderr)
	n := addNetFlags(fs, true)
	to := fs.String("to", "", "recipient `address`")
	amount := fs.String("amount", "", amountHelp)
	done, pos, err := parseInterspersed(fs, args)
	if done || err != nil {
		return err
	}
	if err := noArgs(pos); err != nil {
		return err
	}
	if *to == "" {
		return usageError{"--to is required"}
	}
	addr, err := parseAddress("--to", *to)
	if err != nil {
		return err
	}
	v, err := parseAmount("amount", *amount)
	if err != nil {
		return err
	}
	c, err := n.connect(ctx, true)
	if err != nil {
		return err
	}
	if _, err := c.Chain().Mint(ctx, addr, v); err != nil {
		return fromChain(fmt.Errorf("mint: %w", err))
	}
	bal, err := c.Chain().TokenBalance(ctx, addr)
	if err != nil {
		return fromChain(err)
	}
	fmt.Fprintf(stdout, "minted %s to %s; balance %s\n", formatAmount(v), addr.Hex(), formatAmount(bal))
	return nil
}
