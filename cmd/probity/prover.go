package main

import (
	"context"
	"errors"
	"io"
	"os"

	"github.com/probitylabs/probity/prover"
)

func init() {
	register("prover", "run a provider node: take jobs, execute, commit, prove, get paid", runProver)
}

func runProver(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("prover", "prover [--config FILE] [flags]\n\n"+
		"Every setting comes from, in order of precedence: a flag, the environment variable\n"+
		"named below, the JSON config file, the default (see docs/prover.md).\n"+
		"SIGINT/SIGTERM stop the node after the current step of each job is journaled.", stderr)
	configPath := fs.String("config", "", "JSON config `file`")
	check := fs.Bool("check-config", false, "print the effective configuration and exit")
	flags := prover.BindFlags(fs)
	if done, err := parseFlags(fs, args); done || err != nil {
		return err
	}
	if err := noArgs(fs.Args()); err != nil {
		return err
	}
	err := prover.RunCLI(ctx, prover.CLI{ConfigPath: *configPath, Flags: flags, Environ: os.Environ(),
		Stdout: stdout, Stderr: stderr, CheckConfig: *check})
	var ce *prover.ConfigError
	if errors.As(err, &ce) {
		return withHint(usageError{err.Error()}, "see docs/prover.md for every setting; --check-config prints the effective one")
	}
	return err
}
