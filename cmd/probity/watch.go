package main

import (
	"context"
	"errors"
	"io"
	"os"

	"github.com/probitylabs/probity/internal/settings"
	"github.com/probitylabs/probity/watcher"
)

func init() {
	register("watch", "run a watcher: recompute proved jobs and challenge the first wrong element", runWatch)
}

func runWatch(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("watch", "watch [--config FILE] [flags]\n\n"+
		"Runs a watcher (package watcher): it follows the SLA manager's JobProved events and, for\n"+
		"every job with a challenge window of a model it holds, fetches the job file and the trace\n"+
		"the provider published next to it (traces/<trace root>.safetensors), checks that it opens\n"+
		"the committed trace root, recomputes every element with the reference ops, and challenges\n"+
		"the first wrong one with a bond. An unanswered challenge is enforced after its deadline:\n"+
		"the provider is slashed, the watcher gets its bond back and the bounty (specs/trace.md §8,\n"+
		"specs/settlement.md). One honest watcher makes every falsified element provable.\n\n"+
		"Every setting comes from, in order of precedence: a flag, the environment variable named\n"+
		"below, the JSON config file (watcher/testdata/config.example.json), the default (see\n"+
		"docs/prover.md#watcher). SIGINT/SIGTERM stop it; started again on the same dataDir it\n"+
		"resumes its open challenges.", stderr)
	configPath := fs.String("config", "", "JSON config `file`")
	check := fs.Bool("check-config", false, "print the effective configuration and exit")
	flags := watcher.BindFlags(fs)
	aliasSettings(fs)
	if done, err := parseFlags(fs, args); done || err != nil {
		return err
	}
	if err := noArgs(fs.Args()); err != nil {
		return err
	}
	cfg, err := watcher.LoadConfig(*configPath, os.Environ(), flags)
	if errors.Is(err, watcher.ErrConfig) {
		return withHint(usageError{err.Error()}, "see docs/prover.md#watcher for every setting; --check-config prints the effective one")
	}
	if err != nil {
		return err
	}
	if *check {
		return printConfig(stdout, cfg)
	}
	w, err := watcher.New(ctx, watcher.Options{Config: cfg, Logger: settings.NewLogger(cfg.Log, stderr)})
	if err != nil {
		return err
	}
	return cleanStop(ctx, w.Run(ctx))
}
