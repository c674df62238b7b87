package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"sort"
	"strings"
)

// One name per setting across commands, each with an environment variable read when the flag
// is not given (flag > environment > default):
//
//	--rpc URL         PROBITY_RPC         every command that reads or writes the chain
//	--deployment FILE PROBITY_DEPLOYMENT  the deployment's addresses (`probity deploy --out`)
//	--key FILE        PROBITY_KEY         the account that signs (a hex secp256k1 key)
//	--keys-dir DIR    PROBITY_KEYS_DIR    the circuit key cache
//
// The names used before (--rpc-url, --deployment-file, --provider-key-file, --dir, --keys and
// $PROBITY_KEY_FILE and the prover's and watcher's old PROBITY_* names) still work, with a
// warning, and are left out of -h.
const (
	envRPC        = "PROBITY_RPC"
	envDeployment = "PROBITY_DEPLOYMENT"
	envKey        = "PROBITY_KEY"
	envKeysDir    = "PROBITY_KEYS_DIR"
)

// deprecatedUsage starts the usage of a deprecated alias, which -h leaves out.
const deprecatedUsage = "deprecated alias of --"

// newFlags returns the flag set of `probity name`, whose -h (and a flag error) prints
// "Usage: probity " and usage (the synopsis, then what the command does), then every flag
// with its default.
func newFlags(name, usage string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: probity %s\n\nFlags:\n", usage)
		printDefaults(fs, stderr)
	}
	return fs
}

// printDefaults is flag.PrintDefaults without the deprecated aliases.
func printDefaults(fs *flag.FlagSet, w io.Writer) {
	visible := flag.NewFlagSet(fs.Name(), flag.ContinueOnError)
	visible.SetOutput(w)
	fs.VisitAll(func(f *flag.Flag) {
		if !strings.HasPrefix(f.Usage, deprecatedUsage) {
			visible.Var(f.Value, f.Name, f.Usage)
			visible.Lookup(f.Name).DefValue = f.DefValue
		}
	})
	visible.PrintDefaults()
}

// alias registers old as a deprecated name of the flag current (already defined, not a
// boolean): it sets the same value and warns on the flag set's output.
func alias(fs *flag.FlagSet, old, current string) {
	f := fs.Lookup(current)
	if f == nil {
		panic("alias of undefined flag --" + current)
	}
	fs.Func(old, deprecatedUsage+current, func(v string) error {
		fmt.Fprintf(fs.Output(), "probity: warning: --%s is deprecated; use --%s\n", old, current)
		return f.Value.Set(v)
	})
}

// given reports whether any of the flags names was on the command line.
func given(fs *flag.FlagSet, names ...string) bool {
	found := false
	fs.Visit(func(f *flag.Flag) { found = found || slices.Contains(names, f.Name) })
	return found
}

// envOr is the environment variable's value, or def when it is unset or empty.
func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// keysDirFlag is --keys-dir (env PROBITY_KEYS_DIR), with the older names as aliases.
func keysDirFlag(fs *flag.FlagSet, olds ...string) *string {
	dir := fs.String("keys-dir", os.Getenv(envKeysDir), "circuit key cache `dir` (env "+envKeysDir+"; default $XDG_CACHE_HOME/probity/keys)")
	for _, old := range olds {
		alias(fs, old, "keys-dir")
	}
	return dir
}

// aliasSettings gives the prover's and watcher's flags (one per setting, bound by their
// packages) their names before unification.
func aliasSettings(fs *flag.FlagSet) {
	for _, a := range [][2]string{{"rpc-url", "rpc"}, {"deployment-file", "deployment"},
		{"provider-key-file", "key"}, {"key-file", "key"}, {"node-key-file", "node-key"}} {
		if fs.Lookup(a[1]) != nil && fs.Lookup(a[0]) == nil {
			alias(fs, a[0], a[1])
		}
	}
}

// deprecatedEnv maps the environment variables used before to their names now.
var deprecatedEnv = map[string]string{
	"PROBITY_KEY_FILE":          envKey,
	"PROBITY_RPC_URL":           envRPC,
	"PROBITY_DEPLOYMENT_FILE":   envDeployment,
	"PROBITY_PROVIDER_KEY_FILE": envKey,
	"PROBITY_NODE_KEY_FILE":     "PROBITY_NODE_KEY",
}

// applyDeprecatedEnv sets every current variable whose deprecated name is set (unless the
// current one is set too; empty counts as unset), warning once per variable on stderr, before a command reads the
// environment: the commands, and the prover's and watcher's settings, read only the current
// names.
func applyDeprecatedEnv(stderr io.Writer) {
	olds := make([]string, 0, len(deprecatedEnv))
	for old := range deprecatedEnv {
		olds = append(olds, old)
	}
	sort.Strings(olds)
	for _, old := range olds {
		v := os.Getenv(old)
		if v == "" { // unset or empty, as the commands treat every variable
			continue
		}
		cur := deprecatedEnv[old]
		fmt.Fprintf(stderr, "probity: warning: $%s is deprecated; use $%s\n", old, cur)
		if os.Getenv(cur) == "" {
			os.Setenv(cur, v)
		}
	}
}
