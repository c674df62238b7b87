package main

import (
	"context"
	"crypto/ecdsa"
	"errors"
	"flag"
	"fmt"
	"io"
	iofs "io/fs"
	"math/big"
	"os"
	"strings"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/ethclient"

	"github.com/probitylabs/probity/chain"
	"github.com/probitylabs/probity/internal/settings"
	"github.com/probitylabs/probity/sdk"
)

// Shared plumbing of the commands that act on a deployment (deploy, class, catalogue, mint,
// params, stake, unbond, deposit, withdraw, balance, ask, job, slash): the
// --rpc/--key/--deployment flags, token amounts, and the mapping of contract reverts to exit
// status 1.

const (
	defaultRPC        = "http://127.0.0.1:8545"
	defaultDeployment = "deployment.json"
)

// tokenDecimals is the token's decimals: amounts on the command line are decimal token units.
const tokenDecimals = 18

const amountHelp = "decimal token `amount` (18 decimals: 10, 0.5, 0.000001)"

// netFlags are the flags every chain command takes.
type netFlags struct {
	rpc, key, deployment *string
}

func addNetFlags(fs *flag.FlagSet, withDeployment bool) *netFlags {
	n := &netFlags{
		rpc: fs.String("rpc", envOr(envRPC, defaultRPC), "EVM JSON-RPC `url` (env "+envRPC+")"),
		key: fs.String("key", os.Getenv(envKey), "`file` with the account's secp256k1 key, hex (env "+envKey+")"),
	}
	alias(fs, "rpc-url", "rpc")
	if withDeployment {
		n.deployment = fs.String("deployment", envOr(envDeployment, defaultDeployment),
			"deployment addresses `file` (JSON: token, providers, classes, hasher, manager), as written by `probity deploy` (env "+envDeployment+")")
		alias(fs, "deployment-file", "deployment")
	}
	return n
}

// newCommandFlags returns a flag set whose -h prints synopsis, then the flags.
func newCommandFlags(name, synopsis string, stderr io.Writer) *flag.FlagSet {
	return newFlags(name, synopsis+"\n\nExit status: 0 done, 1 the chain refused (a revert, named), 2 usage, 3 could not run.", stderr)
}

// signingKey reads --key (or $PROBITY_KEY). Commands that only read the chain pass
// required=false and get an ephemeral key that never signs.
func (n *netFlags) signingKey(required bool) (*ecdsa.PrivateKey, error) {
	path := *n.key
	if path == "" {
		if required {
			return nil, usageError{"--key FILE (or $" + envKey + ") is required: the account that sends the transactions"}
		}
		return crypto.GenerateKey()
	}
	k, err := settings.ReadKeyFile(path)
	var unreadable *iofs.PathError
	switch {
	case errors.As(err, &unreadable):
		// Missing or unreadable: the error names the file and why; the format is not the problem.
		return nil, fmt.Errorf("key file: %w", err)
	case err != nil:
		return nil, withHint(fmt.Errorf("key file: %w", err), "a key file holds one secp256k1 private key in hex (64 digits, 0x optional)")
	}
	return k, nil
}

// readDeployment reads a deployment file (chain.ReadAddresses): the JSON object of
// chain.Addresses `probity deploy` writes, the same as the "deployment" section of the
// prover's config, which reads the file itself with deploymentFile.
func readDeployment(path string) (chain.Addresses, error) {
	a, err := chain.ReadAddresses(path)
	if errors.Is(err, iofs.ErrNotExist) {
		return a, withHint(fmt.Errorf("deployment file: %w", err),
			"`probity deploy --out FILE` writes one; pass it with --deployment FILE")
	}
	return a, err
}

// dial connects to the RPC and checks that it answers.
func dial(ctx context.Context, url string) (*ethclient.Client, error) {
	if err := checkRPC(url); err != nil {
		return nil, err
	}
	ec, err := ethclient.DialContext(ctx, url)
	if err == nil {
		_, err = ec.ChainID(ctx)
	}
	if err != nil {
		return nil, withHint(fmt.Errorf("RPC %s: %w", url, err), "is a node running there? For a local chain run `anvil`; pass --rpc URL")
	}
	return ec, nil
}

// checkRPC refuses an --rpc without a scheme before go-ethereum reads "127.0.0.1:8545" as a
// URL whose "first path segment cannot contain colon". An IPC socket is a path (geth.ipc).
func checkRPC(url string) error {
	if strings.Contains(url, "://") || strings.HasSuffix(url, ".ipc") {
		return nil
	}
	return usageError{fmt.Sprintf("--rpc %q has no scheme: write http://%s (or https://, ws://, wss://; an IPC socket ends in .ipc)", url, url)}
}

// connect acts on the deployment as the --key account (an ephemeral one when !keyRequired).
// It checks that the manager has code, so a deployment file from another chain (or from an
// anvil since restarted) is reported as such rather than as undecodable call results.
func (n *netFlags) connect(ctx context.Context, keyRequired bool) (*sdk.Client, error) {
	if err := checkRPC(*n.rpc); err != nil { // a usage error before any file is read
		return nil, err
	}
	key, err := n.signingKey(keyRequired)
	if err != nil {
		return nil, err
	}
	addrs, err := readDeployment(*n.deployment)
	if err != nil {
		return nil, err
	}
	ec, err := dial(ctx, *n.rpc)
	if err != nil {
		return nil, err
	}
	code, err := ec.CodeAt(ctx, addrs.Manager, nil)
	if err != nil {
		return nil, fmt.Errorf("RPC %s: %w", *n.rpc, err)
	}
	if len(code) == 0 {
		return nil, withHint(fmt.Errorf("no contract at the manager address %s of %s on %s", addrs.Manager.Hex(), *n.deployment, *n.rpc),
			"the deployment file belongs to another chain (a restarted anvil starts empty): run `probity deploy` again")
	}
	return sdk.NewClient(ctx, ec, key, addrs)
}

// fromChain marks contract reverts as the chain's "no" (exit 1) and makes sure the message
// names the contract's custom error; every other error stays a failure to run (exit 3).
func fromChain(err error) error {
	if err == nil || !errors.Is(err, chain.ErrReverted) {
		return err
	}
	var re *chain.RevertError
	if errors.As(err, &re) && re.Name != "" && !strings.Contains(err.Error(), re.Name) {
		err = fmt.Errorf("%w (reverted with %s)", err, re.Name)
	}
	return failedError{err}
}

// parseAmount reads a decimal token amount ("10", "0.5") into base units (18 decimals). Zero
// and negative amounts are usage errors: no command has a use for them.
func parseAmount(flagName, s string) (*big.Int, error) {
	bad := func(why string) error {
		return usageError{fmt.Sprintf("--%s %q: %s (decimal token units with up to %d decimals, e.g. 10 or 0.5)", flagName, s, why, tokenDecimals)}
	}
	if s == "" {
		return nil, usageError{fmt.Sprintf("--%s is required (decimal token units, e.g. 10 or 0.5)", flagName)}
	}
	whole, frac, _ := strings.Cut(s, ".")
	if whole == "" && frac == "" || strings.Trim(whole+frac, "0123456789") != "" {
		return nil, bad("not a decimal number")
	}
	if len(frac) > tokenDecimals {
		return nil, bad("more decimals than the token has")
	}
	v, _ := new(big.Int).SetString("0"+whole+frac+strings.Repeat("0", tokenDecimals-len(frac)), 10)
	if v.Sign() == 0 {
		return nil, bad("must be positive")
	}
	return v, nil
}

// formatAmount writes base units as decimal token units ("10", "0.5").
func formatAmount(v *big.Int) string {
	if v == nil {
		return "0"
	}
	neg := v.Sign() < 0
	s := new(big.Int).Abs(v).String()
	if len(s) <= tokenDecimals {
		s = strings.Repeat("0", tokenDecimals-len(s)+1) + s
	}
	whole, frac := s[:len(s)-tokenDecimals], strings.TrimRight(s[len(s)-tokenDecimals:], "0")
	if frac != "" {
		whole += "." + frac
	}
	if neg {
		whole = "-" + whole
	}
	return whole
}

// keyAddress is the account of a key.
func keyAddress(k *ecdsa.PrivateKey) string { return crypto.PubkeyToAddress(k.PublicKey).Hex() }

// parseAddress reads a hex address flag or argument.
func parseAddress(what, s string) (common.Address, error) {
	if !common.IsHexAddress(s) {
		return common.Address{}, usageError{fmt.Sprintf("%s %q is not a hex address", what, s)}
	}
	return common.HexToAddress(s), nil
}

// parseInterspersed parses flags that may come before or after positional arguments
// (`job status 7 --json`): the flag package stops at the first positional one.
func parseInterspersed(fs *flag.FlagSet, args []string) (done bool, pos []string, err error) {
	for {
		if done, err = parseFlags(fs, args); done || err != nil {
			return done, nil, err
		}
		if fs.NArg() == 0 {
			return false, pos, nil
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

// jobIDArg reads the one positional job id.
func jobIDArg(pos []string) (*big.Int, error) {
	if len(pos) != 1 {
		return nil, usageError{fmt.Sprintf("expected one job ID (decimal), got %d arguments", len(pos))}
	}
	id, ok := new(big.Int).SetString(pos[0], 10)
	if !ok || id.Sign() <= 0 {
		return nil, usageError{fmt.Sprintf("job ID %q is not a positive decimal integer", pos[0])}
	}
	return id, nil
}

// noArgs rejects positional arguments.
func noArgs(pos []string) error {
	if len(pos) > 0 {
		return usageError{fmt.Sprintf("unexpected argument %q", pos[0])}
	}
	return nil
}

// runFunc is a command's (or subcommand's) body.
type runFunc func(ctx context.Context, args []string, stdout, stderr io.Writer) error

// sub is one subcommand of a command group.
type sub struct {
	name, summary string
	run           runFunc
}

// registerGroup registers `probity NAME SUB ...`, which dispatches to the sub's function; its
// -h lists the subs with their summaries.
func registerGroup(name, summary string, subs ...sub) {
	subcommandNames[name] = map[string]bool{}
	names := make([]string, len(subs))
	for i, s := range subs {
		subcommandNames[name][s.name] = true
		names[i] = s.name
	}
	usage := func(w io.Writer) {
		fmt.Fprintf(w, "Usage: probity %s SUB [flags]\n\n%s.\n\nSubcommands (`probity %s SUB -h` for each):\n", name, upperFirst(summary), name)
		for _, s := range subs {
			fmt.Fprintf(w, "  %-10s %s\n", s.name, s.summary)
		}
	}
	register(name, summary, func(ctx context.Context, args []string, stdout, stderr io.Writer) error {
		if len(args) == 0 || args[0] == "-h" || args[0] == "--help" {
			usage(stderr)
			if len(args) == 0 {
				return usageError{fmt.Sprintf("%s needs a subcommand: %s", name, strings.Join(names, ", "))}
			}
			return nil
		}
		for _, s := range subs {
			if s.name == args[0] {
				return s.run(ctx, args[1:], stdout, stderr)
			}
		}
		return usageError{fmt.Sprintf("unknown %s subcommand %q (known: %s)", name, args[0], strings.Join(names, ", "))}
	})
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
