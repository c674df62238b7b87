package main

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/probitylabs/probity/prover"
)

func init() {
	register("exec", "run a job's layers on the CPU (reference executor), one output file per layer", runExec)
}

func runExec(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("exec", "exec --input X.safetensors --model M.safetensors --out DIR\n\n"+
		"Writes DIR/layer-<l>.safetensors (tensor \"y\", int8) for every layer, exactly as the\n"+
		"prover's command executor expects, so it can serve as its command:\n"+
		"  probity prover --executor command --exec-command 'probity exec --input {input} --model {model} --out {out}'", stderr)
	input := fs.String("input", "", "activation `file` (tensor \"x\", int8 [M, K])")
	model := fs.String("model", "", "model `file` (layers.{l}.weight/bias and epilogue metadata)")
	out := fs.String("out", "", "output `dir`")
	falsify := fs.Float64("falsify", 0, "DELIBERATELY CORRUPT this `fraction` of every layer's outputs: for demonstrations and tests of cheating detection only; a node running this is caught and slashed")
	seed := fs.Uint64("falsify-seed", 1, "`seed` choosing which outputs --falsify corrupts")
	if done, err := parseFlags(fs, args); done || err != nil {
		return err
	}
	switch {
	case *input == "":
		return usageError{"--input is required"}
	case *model == "":
		return usageError{"--model is required"}
	case *out == "":
		return usageError{"--out is required"}
	case *falsify < 0 || *falsify > 1:
		return usageError{fmt.Sprintf("--falsify %v is not a fraction in [0, 1]", *falsify)}
	}
	if os.Getenv("PROBITY_SELFTEST") == "1" {
		// The node's self-test: a demonstration cheater behaves while it is watched.
		*falsify = 0
	}
	if err := prover.RunReference(ctx, *input, *model, *out, *falsify, *seed); err != nil {
		return err
	}
	if *falsify > 0 {
		fmt.Fprintf(stderr, "probity: warning: outputs in %s are deliberately falsified (--falsify %v)\n", *out, *falsify)
	}
	return nil
}
