package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/probitylabs/probity/circuits"
	"github.com/probitylabs/probity/demo"
)

func init() {
	register("demo", "end-to-end demo on an in-process chain: ask a model for text, prove and settle it, slash a lazy and a silent provider, audit", runDemo)
}

func runDemo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("demo", "demo [flags]\n\n"+
		"Runs Probity end to end on an in-process chain: a buyer asks the shipped model for text,\n"+
		"an honest prover node generates and proves it with one proof and is paid, the buyer reads\n"+
		"the text from the chain, a lazy and a silent provider are slashed, and an auditor verifies\n"+
		"the receipt offline. The first run builds the small class's keys (about two minutes).\n\n"+
		"Exit status: 0 every act as expected, 1 an act did not turn out as expected, 2 usage, 3 could not run.", stderr)
	var (
		asJSON  = fs.Bool("json", false, "print the summary as JSON instead of the narration")
		keep    = fs.String("keep", "", "keep the job files, order books, node data and receipt in `dir`")
		verbose = fs.Bool("v", false, "show the prover nodes' logs on stderr")
		keysDir = keysDirFlag(fs, "keys")
		prompt  = fs.String("prompt", "And God said, ", "the buyer's `text` (the shipped model is byte-level)")
		n       = fs.Int("tokens", 48, "`n`umber of new tokens to generate (the prompt plus n, less one, must fit 128 rows)")
	)
	if done, err := parseFlags(fs, args); done || err != nil {
		return err
	}
	if err := noArgs(fs.Args()); err != nil {
		return err
	}
	if *n < 1 || len(*prompt)+*n-1 > 128 || *prompt == "" {
		return usageError{fmt.Sprintf("--prompt of %d bytes and --tokens %d: need a prompt and 1 <= tokens, prompt + tokens - 1 <= 128", len(*prompt), *n)}
	}
	o := demo.Options{Keep: *keep, Prompt: *prompt, NewTokens: *n}
	if *keysDir != "" {
		o.Keys = &circuits.Cache{Dir: *keysDir}
	}
	if *verbose {
		o.Logs = stderr
	}
	out := stdout
	if *asJSON {
		out = io.Discard
	}
	sum, err := demo.Run(ctx, o, out)
	if *asJSON && sum != nil {
		if jerr := writeJSON(stdout, sum); jerr != nil && err == nil {
			err = jerr
		}
	}
	if errors.Is(err, demo.ErrUnexpected) {
		return failedError{err}
	}
	return err
}
