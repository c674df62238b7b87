package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/probitylabs/probity/prover"
)

func init() {
	register("prover", "run a provider node: take jobs, execute, commit, prove, get paid", runProver)
}

func runProver(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("prover", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: probity prover [--config FILE] [flags]\n\n"+
			"Every setting comes from, in order of precedence: a flag, the environment variable\n"+
			"named below, the JSON config file, the default (see docs/prover.md).\n"+
			"SIGINT/SIGTERM stop the node after the current step of each job is journaled.\n\nFlags:")
		fs.PrintDefaults()
	}
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
