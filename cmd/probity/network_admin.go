package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/consensys/gnark/backend/groth16"
	"github.com/ethereum/go-ethereum/common"

	"github.com/probitylabs/probity/chain"
	"github.com/probitylabs/probity/circuits"
	"github.com/probitylabs/probity/circuits/universal"
	"github.com/probitylabs/probity/verifier"
)

// Governance commands: deploy a stack, register, retire and list width classes, mint the
// dev token.

func init() {
	register("deploy", "deploy the token, registries, result hasher and SLA manager; write the deployment file", runDeploy)
	registerGroup("class", "width classes on chain: register one with its Groth16 verifier, retire it, list them",
		sub{"register", "deploy a class's verifiers from its keys and register it (governance)", runClassRegister},
		sub{"retire", "retire a class for good: no new job may name it (governance)", runClassRetire},
		sub{"list", "the known classes with their status, verifier and fewest sample slots", runClassList})
	register("mint", "mint dev tokens on a development deployment (token owner only)", runMint)
}

func runDeploy(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newCommandFlags("deploy", "deploy --key FILE [--rpc URL] [--out FILE] [--unbonding-delay D]\n\n"+
		"Deploys a DevToken (a billion tokens minted to the deployer), the provider and class\n"+
		"registries, the result hasher and the SLA manager (protocol v1, specs/settlement.md); the\n"+
		"deployer (--key) is governance. Writes the addresses as JSON to --out, which must not exist\n"+
		"yet: the file every other command takes as --deployment and the prover as deploymentFile.\n"+
		"Production deployments use the Foundry script contracts/script/Deploy.s.sol.", stderr)
	n := addNetFlags(fs, false)
	out := fs.String("out", defaultDeployment, "deployment `file` to write (refuses to replace one)")
	unbonding := fs.Duration("unbonding-delay", 7*24*time.Hour, "how long unbonding stake stays slashable before it can be withdrawn")
	asJSON := jsonFlag(fs)
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
	chainID, err := ec.ChainID(ctx)
	if err != nil {
		return fmt.Errorf("RPC %s: %w", *n.rpc, err)
	}
	d, err := chain.Deploy(ctx, ec, key, chain.DeployParams{UnbondingDelay: uint64(unbonding.Seconds())})
	if err != nil {
		return fromChain(fmt.Errorf("deploy: %w", err))
	}
	a := d.Addresses
	if chainID.IsUint64() {
		a.ChainID = chainID.Uint64()
	}
	if _, err := writeNew(*out, true, func(w io.Writer) error { return writeJSON(w, a) }); err != nil {
		return withHint(fmt.Errorf("the contracts are deployed, but writing %s failed: %w", *out, err),
			fmt.Sprintf(`write it by hand: {"chainId": %s, "token": "%s", "providers": "%s", "classes": "%s", "hasher": "%s", "manager": "%s", "challenges": "%s"}`,
				chainID, a.Token.Hex(), a.Providers.Hex(), a.Classes.Hex(), a.Hasher.Hex(), a.Manager.Hex(), a.Challenges.Hex()))
	}
	if *asJSON {
		return writeJSON(stdout, struct {
			chain.Addresses
			File       string `json:"file"`
			Governance string `json:"governance"`
		}{a, *out, keyAddress(key)})
	}
	fmt.Fprintf(stdout, "chain     %s\ntoken     %s\nproviders %s\nclasses   %s\nhasher    %s\nmanager   %s\nchallenges %s\n", chainID,
		a.Token.Hex(), a.Providers.Hex(), a.Classes.Hex(), a.Hasher.Hex(), a.Manager.Hex(), a.Challenges.Hex())
	fmt.Fprintf(stdout, "wrote %s; governance and token owner: %s\n", *out, keyAddress(key))
	return nil
}

// lookupClass resolves a universal width class by name; an unknown or missing name is a
// usage error listing the known ones.
func lookupClass(flagName, name string) (*universal.Class, error) {
	var names []string
	for _, c := range append(universal.Classes(), testClasses...) {
		if c.Name == name {
			return c, nil
		}
		names = append(names, c.Name)
	}
	if name == "" {
		return nil, usageError{fmt.Sprintf("--%s is required: a width class (%s; see `probity classes`)", flagName, strings.Join(names, ", "))}
	}
	return nil, usageError{fmt.Sprintf("--%s %q: unknown width class (known: %s; see `probity classes`)", flagName, name, strings.Join(names, ", "))}
}

// testClasses are classes only tests serve (small enough for a ceremony in seconds).
var testClasses []*universal.Class

// classByID is the class of this build with the on-chain id, or nil.
func classByID(id [32]byte) *universal.Class {
	for _, c := range universal.Classes() {
		if c.ID() == id {
			return c
		}
	}
	return nil
}

// classKey reads the verifying key of a class, or of its targeted statement
// (universal.TargetedClass), from the key cache (dir, default the user cache).
func classKey(cl *universal.Class, target circuits.Target, dir string) (groth16.VerifyingKey, error) {
	cache, err := keyCache(dir)
	if err != nil {
		return nil, err
	}
	keys, err := cache.Load(target)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return nil, withHint(fmt.Errorf("no keys for %s in %s", target, cache.Dir),
			fmt.Sprintf("`probity setup --class %s` creates development keys; `probity ceremony finalize --install` installs ceremony keys", cl.Name))
	case errors.Is(err, circuits.ErrCacheCorrupt):
		return nil, withHint(err, fmt.Sprintf("`probity setup --class %s --regenerate` replaces the entry with development keys", cl.Name))
	case err != nil:
		return nil, err
	}
	return keys.VK, nil
}

func runClassRegister(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newCommandFlags("class register", "class register --class NAME [--keys-dir DIR | --vk FILE --targeted-vk FILE] --key FILE [--rpc URL] [--deployment FILE]\n\n"+
		"Deploys the Groth16Verifiers of the width class's verifying key and of its targeted\n"+
		"statement's (from the circuits key cache, or --vk and --targeted-vk) and registers the\n"+
		"class with them and its fewest sample slots. Governance\n"+
		"only. Create keys with `probity setup --class NAME` (development) or `probity ceremony\n"+
		"finalize --install`; provider nodes must prove with the same keys.", stderr)
	n := addNetFlags(fs, true)
	className := fs.String("class", "", "width class `name` (see `probity classes`)")
	dir := keysDirFlag(fs)
	vkFile := fs.String("vk", "", "verifying key `file` (gnark binary) instead of the cache")
	tvkFile := fs.String("targeted-vk", "", "verifying key `file` of the class's targeted statement (with --vk)")
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
	var vk, tvk groth16.VerifyingKey
	if *vkFile != "" || *tvkFile != "" {
		if given(fs, "keys-dir") {
			return usageError{"--keys-dir and --vk exclude each other"}
		}
		if *vkFile == "" || *tvkFile == "" {
			return usageError{"--vk and --targeted-vk go together"}
		}
		if vk, err = verifier.ReadVerifyingKeyFile(*vkFile); err != nil {
			return err
		}
		if tvk, err = verifier.ReadVerifyingKeyFile(*tvkFile); err != nil {
			return err
		}
	} else {
		if vk, err = classKey(cl, cl, *dir); err != nil {
			return err
		}
		if tvk, err = classKey(cl, universal.TargetedClass{Class: cl}, *dir); err != nil {
			return err
		}
	}
	c, err := n.connect(ctx, true)
	if err != nil {
		return err
	}
	// Check first: registering deploys a verifier before the registry can refuse.
	id := cl.ID()
	if cur, err := c.Market().ClassOf(ctx, id); err != nil {
		return fromChain(err)
	} else if chain.ClassStatus(cur.Status) != chain.ClassStatusNone {
		return failedError{fmt.Errorf("class %s (%s) is already registered (ClassAlreadyRegistered; status %s, verifier %s)",
			cl.Name, common.Hash(id).Hex(), chain.ClassStatus(cur.Status), cur.Verifier.Hex())}
	}
	if _, err := c.RegisterClass(ctx, cl, vk, tvk); err != nil {
		return fromChain(err)
	}
	cur, err := c.Market().ClassOf(ctx, id)
	if err != nil {
		return fromChain(err)
	}
	r := classRegistered{Name: cl.Name, ID: common.Hash(id).Hex(), Verifier: cur.Verifier, MinSlots: cur.MinSlots}
	return emit(stdout, *asJSON, r, "registered class %s as %s, verifier %s, min slots %d", r.Name, r.ID, r.Verifier.Hex(), r.MinSlots)
}

// classRegistered is `class register --json` (and `class retire --json`, without verifier and
// slots).
type classRegistered struct {
	Name     string         `json:"name"`
	ID       string         `json:"classId"`
	Verifier common.Address `json:"verifier,omitzero"`
	MinSlots uint16         `json:"minSlots,omitempty"`
}

func runClassRetire(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newCommandFlags("class retire", "class retire --class NAME --key FILE [--rpc URL] [--deployment FILE]\n\n"+
		"Retires a width class for good: no new job may name it (jobs already locked finish).\n"+
		"Governance only.", stderr)
	n := addNetFlags(fs, true)
	className := fs.String("class", "", "width class `name`")
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
	c, err := n.connect(ctx, true)
	if err != nil {
		return err
	}
	if _, err := c.Market().RetireClass(ctx, cl.ID()); err != nil {
		return fromChain(fmt.Errorf("retire %s: %w", cl.Name, err))
	}
	r := classRegistered{Name: cl.Name, ID: common.Hash(cl.ID()).Hex()}
	return emit(stdout, *asJSON, r, "retired class %s (%s)", r.Name, r.ID)
}

// classStatusRow is one row of `class list --json`.
type classStatusRow struct {
	Name     string         `json:"name"`
	ID       string         `json:"id"`
	Status   string         `json:"status"`
	Verifier common.Address `json:"verifier,omitempty"`
	MinSlots uint16         `json:"minSlots,omitempty"`
}

func runClassList(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newCommandFlags("class list", "class list [--json] [--rpc URL] [--deployment FILE]\n\n"+
		"Prints every width class this build knows with its status on the deployment (None,\n"+
		"Active, Retired), its verifier and its fewest sample slots (the k of the stake bound).", stderr)
	n := addNetFlags(fs, true)
	asJSON := fs.Bool("json", false, "print JSON")
	done, pos, err := parseInterspersed(fs, args)
	if done || err != nil {
		return err
	}
	if err := noArgs(pos); err != nil {
		return err
	}
	c, err := n.connect(ctx, false)
	if err != nil {
		return err
	}
	var rows []classStatusRow
	for _, cl := range universal.Classes() {
		cur, err := c.Market().ClassOf(ctx, cl.ID())
		if err != nil {
			return fromChain(err)
		}
		rows = append(rows, classStatusRow{Name: cl.Name, ID: common.Hash(cl.ID()).Hex(), Status: chain.ClassStatus(cur.Status).String(),
			Verifier: cur.Verifier, MinSlots: cur.MinSlots})
	}
	if *asJSON {
		return writeJSON(stdout, rows)
	}
	fmt.Fprintf(stdout, "%-11s %-8s %-42s %5s  %s\n", "NAME", "STATUS", "VERIFIER", "K", "CLASS ID")
	for _, r := range rows {
		v, k := "-", "-"
		if r.Status != chain.ClassStatusNone.String() {
			v, k = r.Verifier.Hex(), fmt.Sprint(r.MinSlots)
		}
		fmt.Fprintf(stdout, "%-11s %-8s %-42s %5s  %s\n", r.Name, r.Status, v, k, r.ID)
	}
	return nil
}

func runMint(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newCommandFlags("mint", "mint --to ADDR --amount X --key FILE [--rpc URL] [--deployment FILE]\n\n"+
		"Mints DevTokens on a development deployment (the token `probity deploy` creates); only the\n"+
		"token's owner, the deployer, may.", stderr)
	n := addNetFlags(fs, true)
	to := fs.String("to", "", "recipient `address`")
	amount := fs.String("amount", "", amountHelp)
	asJSON := jsonFlag(fs)
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
	if _, err := c.Market().Mint(ctx, addr, v); err != nil {
		return fromChain(fmt.Errorf("mint: %w", err))
	}
	bal, err := c.Market().TokenBalance(ctx, addr)
	if err != nil {
		return fromChain(err)
	}
	r := struct {
		Minted  string         `json:"minted"`
		To      common.Address `json:"to"`
		Balance string         `json:"balance"`
	}{formatAmount(v), addr, formatAmount(bal)}
	return emit(stdout, *asJSON, r, "minted %s to %s; balance %s", r.Minted, addr.Hex(), r.Balance)
}
