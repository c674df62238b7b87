package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/probitylabs/probity/internal/settings"
	"github.com/probitylabs/probity/prover"
)

func init() {
	register("prover", "run a provider node: take offers and posted jobs, generate, commit, prove, get paid", runProver)
}

func runProver(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("prover", "prover [--config FILE] [flags]\n\n"+
		"Runs the provider node (package prover): it reads signed offers from its\n"+
		"order books and jobs posted on chain, checks each (class, model, price, windows against\n"+
		"its measured speed, free stake), generates the text, locks and commits, proves the job with\n"+
		"one universal-circuit proof, submits, publishes the receipt and withdraws its pay.\n\n"+
		"Every setting comes from, in order of precedence: a flag, the environment variable named\n"+
		"below, the JSON config file (prover/testdata/config.example.json), the default (see\n"+
		"docs/prover.md). The provider must be registered first (`probity stake`) with the node\n"+
		"key's address. SIGINT/SIGTERM stop the node after the current step of each job is\n"+
		"journaled; started again on the same dataDir it resumes every unfinished job.", stderr)
	configPath := fs.String("config", "", "JSON config `file`")
	check := fs.Bool("check-config", false, "print the effective configuration and exit")
	flags := prover.BindFlags(fs)
	aliasSettings(fs)
	if done, err := parseFlags(fs, args); done || err != nil {
		return err
	}
	if err := noArgs(fs.Args()); err != nil {
		return err
	}
	cfg, err := prover.LoadConfig(*configPath, os.Environ(), flags)
	var ce *prover.ConfigError
	if errors.As(err, &ce) {
		return withHint(usageError{err.Error()}, "see docs/prover.md for every setting; --check-config prints the effective one")
	}
	if err != nil {
		return err
	}
	if *check {
		return printConfig(stdout, cfg)
	}
	n, err := prover.New(ctx, prover.Options{Config: cfg, Logger: settings.NewLogger(cfg.Log, stderr)})
	if errors.Is(err, prover.ErrNotRegistered) {
		return withHint(err, "`probity stake --amount X --node-key-address NODEKEY` registers the provider account")
	}
	if err != nil {
		return err
	}
	return cleanStop(ctx, n.Run(ctx))
}

// printConfig prints a long-running command's effective configuration (--check-config).
func printConfig(stdout io.Writer, cfg any) error {
	b, err := json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(stdout, "%s\n", b)
	return err
}

// cleanStop is a long-running command's exit: the cancellation SIGINT or SIGTERM caused is a
// clean stop, not an error.
func cleanStop(ctx context.Context, err error) error {
	if errors.Is(err, context.Canceled) && ctx.Err() != nil {
		return nil
	}
	return err
}
