package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/probitylabs/probity/circuits"
	"github.com/probitylabs/probity/protocol"
	"github.com/probitylabs/probity/receipt"
)

func init() {
	register("inspect", "print a receipt or attestation record readably (auto-detected)", runInspect)
}

func runInspect(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("inspect", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: probity inspect FILE\n\nFILE is a receipt (probity.receipt.v0) or an attestation record (JSON).")
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return usageError{err.Error()}
	}
	if fs.NArg() != 1 {
		return usageError{"inspect takes one file"}
	}
	data, err := os.ReadFile(fs.Arg(0))
	if err != nil {
		return err
	}
	var head struct {
		Version string `json:"version"`
	}
	if json.Unmarshal(data, &head) != nil {
		return withHint(fmt.Errorf("%s is not JSON", fs.Arg(0)),
			"raw NVIDIA attestation reports are decoded by the attestation verifier, not yet wired into inspect")
	}
	switch head.Version {
	case receipt.Version:
		rc, err := receipt.Parse(data)
		if err != nil {
			return err
		}
		printReceipt(stdout, rc)
		return nil
	default:
		// An attestation record or another Probity document: print it indented, as is.
		var out bytes.Buffer
		if err := json.Indent(&out, data, "", "  "); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%s document (%d bytes)\n%s\n", orUnknown(head.Version), len(data), bytes.TrimSpace(out.Bytes()))
		return nil
	}
}

func orUnknown(v string) string {
	if v == "" {
		return "unversioned"
	}
	return v
}

func printReceipt(w io.Writer, rc *receipt.Receipt) {
	sig := "valid"
	if err := rc.VerifySignature(); err != nil {
		sig = err.Error()
	}
	spec := "matches job"
	if err := rc.CheckSpecHash(); err != nil {
		spec = err.Error()
	}
	fmt.Fprintf(w, "Receipt %s\n", rc.Version)
	fmt.Fprintf(w, "  chain %s, SLA manager %s, job %s\n", rc.ChainID, rc.Contract.Hex(), rc.JobID)
	fmt.Fprintf(w, "  provider   %s\n  node key   %s (signature: %s)\n", rc.Provider.Hex(), rc.NodeKey.Hex(), sig)
	fmt.Fprintf(w, "  spec hash  %s (%s)\n", rc.SpecHash, spec)
	fmt.Fprintf(w, "  input      %s (%d rows)\n", rc.Job.InputRoot, rc.Job.Rows)
	for l, ly := range rc.Job.Layers {
		name := fmt.Sprintf("%s", ly.ShapeID)
		if s, err := circuits.ByID(ly.ShapeID); err == nil {
			name = s.String()
		}
		epi := "invalid epilogue"
		if e, err := protocol.ParseEpilogueWord(ly.Epilogue.Big()); err == nil {
			epi = fmt.Sprintf("m=%d s=%d z=%d relu=%t", e.Multiplier, e.Shift, e.ZeroPoint, e.ReLU)
		}
		fmt.Fprintf(w, "  layer %d    shape %s\n             weights %s\n             epilogue %s\n             output  %s\n",
			l, name, ly.WeightsRoot, epi, rc.OutputRoots[l])
	}
	fmt.Fprintf(w, "  outputs digest      %s\n", rc.OutputsDigest())
	fmt.Fprintf(w, "  attestation digest  %s\n", rc.AttestationDigest)
	fmt.Fprintf(w, "  seed       %s (block %d)\n", rc.Seed, rc.SeedBlock)
	fmt.Fprintf(w, "  samples    k = %d: falsifying >= %.2f%% of a layer is caught with p >= %.2f%%\n",
		rc.K, float64(rc.Detection.FloorBps)/100, float64(rc.Detection.ProbabilityBps)/100)
	fmt.Fprintf(w, "  proofs     %d x %d bytes, proofsHash %s\n", len(rc.Proofs), receipt.ProofSize, rc.ProofsHash().Hex())
	fmt.Fprintf(w, "  timings    execute %d ms, commit %d ms, prove %d ms, submit %d ms (advisory)\n",
		rc.Timings.ExecuteMs, rc.Timings.CommitMs, rc.Timings.ProveMs, rc.Timings.SubmitMs)
	var att bytes.Buffer
	if json.Indent(&att, rc.Attestation, "  ", "  ") == nil {
		fmt.Fprintf(w, "  attestation\n  %s\n", att.String())
	}
}
