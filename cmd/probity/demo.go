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
	register("demo", "end-to-end demo on an in-process chain: prove, settle, slash a cheater and a silent provider, audit", runDemo)
}

func runDemo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("demo", "demo [flags]\n\n"+
		"Runs Probity end to end on an in-process chain with three real prover nodes (honest,\n"+
		"falsifying, silent) and checks that every act turns out as the protocol says.\n\n"+
		"Exit status: 0 every act as expected, 1 an act did not turn out as expected, 2 usage, 3 could not run.", stderr)
	var (
		asJSON  = fs.Bool("json", false, "print the summary as JSON instead of the narration")
		keep    = fs.String("keep", "", "keep the job files, node data and receipts in `dir`")
		verbose = fs.Bool("v", false, "show the prover nodes' logs on stderr")
		shape   = fs.String("shape", "demo-64", "catalogue `shape` of the layers (tiny: one small layer, fastest)")
		keysDir = fs.String("keys", "", "circuit key cache `dir` (default: the user cache, as for probity setup)")
		falsify = fs.Float64("falsify", 0.5, "`fraction` of each layer's outputs the cheating node corrupts, in (0, 1]")
	)
	if done, err := parseFlags(fs, args); done || err != nil {
		return err
	}
	if err := noArgs(fs.Args()); err != nil {
		return err
	}
	if *falsify <= 0 || *falsify > 1 {
		return usageError{fmt.Sprintf("--falsify %v is not in (0, 1]", *falsify)}
	}
	if _, err := lookupShape("shape", *shape); err != nil {
		return err
	}
	o := demo.Options{Shape: *shape, Falsify: *falsify, Keep: *keep}
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
