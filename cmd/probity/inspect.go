package main

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"os"

	"github.com/probitylabs/probity/attestation"
	"github.com/probitylabs/probity/receipt"
	"github.com/probitylabs/probity/verifier/attest"
)

func init() {
	register("inspect", "print a receipt, attestation record, NVIDIA report, serialized evidence, cert chain, model, job or tensor file readably (auto-detected)", runInspect)
}

func runInspect(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("inspect", "inspect [--cert-chain FILE] [--json] FILE\n\n"+
		"FILE is a receipt (probity.receipt.v1), an attestation record (JSON; in mode nvml+cc its\n"+
		"report and certificate chain are decoded), a raw NVIDIA attestation report (SPDM\n"+
		"GET_MEASUREMENTS request and response as NVML returns them, binary or hex), NVIDIA's\n"+
		"serialized evidence JSON (an array of {arch, nonce, evidence, certificate}, GPUs and\n"+
		"NVSwitches), a PEM certificate chain, or a safetensors file: an integer model (model/v1),\n"+
		"a generation job (job/v1), or any tensor file (trace, result, activations, checkpoint).\n"+
		"--json prints Probity's own files (receipts, records, JSON documents, tensor files) as one\n"+
		"object with its \"kind\"; NVIDIA's formats print as text only.", stderr)
	chainFile := fs.String("cert-chain", "", "certificate chain `file` (PEM or DER, leaf first): print its subjects and check the report's signature under its leaf key")
	asJSON := jsonFlag(fs)
	if done, err := parseFlags(fs, args); done || err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usageError{"inspect takes one file"}
	}
	path := fs.Arg(0)
	var chain []*x509.Certificate
	if *chainFile != "" {
		b, err := os.ReadFile(*chainFile)
		if err != nil {
			return err
		}
		if chain, err = attest.ParseCertChain(b); err != nil {
			return fmt.Errorf("--cert-chain %s: %w", *chainFile, err)
		}
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if looksSafetensors(data) {
		if *asJSON {
			return inspectJSON(stdout, path, data, true, "")
		}
		return printSafetensors(stdout, path, data)
	}
	if *asJSON {
		var head struct {
			Version string `json:"version"`
		}
		if json.Unmarshal(data, &head) != nil {
			return usageError{fmt.Sprintf("--json: %s is not one of Probity's files (a JSON document or a tensor file); NVIDIA's reports, evidence and chains print as text", path)}
		}
		return inspectJSON(stdout, path, data, false, head.Version)
	}
	if raw, ok, err := rawReport(data); ok {
		r, perr := attest.ParseReport(raw)
		if err == nil {
			err = perr
		}
		if err != nil {
			return withHint(fmt.Errorf("%s: %w", path, err), "the file starts like an NVIDIA attestation report (SPDM 1.1 GET_MEASUREMENTS) but is damaged or truncated")
		}
		if chain != nil {
			printChain(stdout, "", *chainFile, chain)
		}
		printSPDMReport(stdout, "", r, chain)
		return nil
	}
	if isPEMChain(data) {
		certs, err := attest.ParseCertChain(data)
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		printChain(stdout, "", path, certs)
		return nil
	}
	if attest.LooksSerialized(data) {
		evs, err := attest.ParseSerializedEvidence(data)
		if err != nil {
			return withHint(fmt.Errorf("%s: %w", path, err), "a JSON array is read as NVIDIA's serialized evidence: objects with arch (HOPPER, BLACKWELL or LS10), nonce (hex), evidence and certificate (base64)")
		}
		return printSerialized(stdout, path, evs)
	}
	var head struct {
		Version string `json:"version"`
	}
	if json.Unmarshal(data, &head) != nil {
		return withHint(fmt.Errorf("%s is not JSON, an NVIDIA attestation report or a PEM certificate chain", path),
			"inspect reads receipts and attestation records (JSON), NVIDIA's serialized evidence (JSON array), raw SPDM reports (binary or hex) and PEM chains")
	}
	switch head.Version {
	case receipt.Version:
		rc, err := receipt.Parse(data)
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		return printReceipt(stdout, rc, chain)
	case attestation.Version:
		var rec attestation.Record
		if err := json.Unmarshal(data, &rec); err != nil {
			return fmt.Errorf("%s: attestation record: %w", path, err)
		}
		if err := printRecord(stdout, "", &rec, len(data), chain); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		return nil
	default:
		// Another Probity document: print it indented, as is.
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

func printReceipt(w io.Writer, rc *receipt.Receipt, chain []*x509.Certificate) error {
	sig := "valid"
	if err := rc.VerifySignature(); err != nil {
		sig = err.Error()
	}
	q := rc.Request.Request
	fmt.Fprintf(w, "Receipt %s\n", rc.Version)
	fmt.Fprintf(w, "  chain %s, SLA manager %s, job %s\n", rc.ChainID, rc.Manager.Hex(), rc.JobID)
	fmt.Fprintf(w, "  buyer      %s\n  provider   %s (stake %s)\n  node key   %s (signature: %s)\n", q.Buyer.Hex(), rc.Provider.Hex(), rc.Stake, rc.NodeKey.Hex(), sig)
	fmt.Fprintf(w, "  class      %s (%s), slots %v\n", rc.Class.Name, rc.Class.ID, rc.Class.Slots)
	fmt.Fprintf(w, "  model root %#x\n  job digest %#x (%d job-file bytes)\n", q.ModelRoot, q.JobDigest, len(rc.Job))
	fmt.Fprintf(w, "  terms      %d new tokens, price %s, windows exec %d s, prove %d s, challenge %d s\n",
		q.NewTokens, q.Price, q.ExecWindow, q.ProveWindow, q.ChallengeWindow)
	fmt.Fprintf(w, "  trace root %s\n  attestation digest %s\n", rc.TraceRoot, rc.AttestationDigest)
	secret := "none (fixed without the buyer's secret)"
	if rc.Seed.Secret.Big().Sign() != 0 {
		secret = "revealed by the buyer"
	}
	fmt.Fprintf(w, "  seed       %s (block %d, hash %s; secret %s)\n", rc.Seed.Value, rc.Seed.Block, rc.Seed.BlockHash, secret)
	fmt.Fprintf(w, "  result     %d tokens, digest %s\n", len(rc.Result.Tokens), rc.Result.Digest)
	fmt.Fprintf(w, "  proof      %d bytes, keccak %s\n", len(rc.Proof), rc.ProofHash().Hex())
	for _, b := range rc.Detection {
		fmt.Fprintf(w, "  detection  %-10s %d of %d units: a falsified unit caught with p >= %.2f%%, one element with p >= %.2f%%\n",
			b.Family, b.Slots, b.Units, 100*b.Instance, 100*b.Element)
	}
	fmt.Fprintf(w, "  timings    execute %d ms, commit %d ms, prove %d ms, submit %d ms (advisory)\n",
		rc.Timings.ExecuteMs, rc.Timings.CommitMs, rc.Timings.ProveMs, rc.Timings.SubmitMs)
	var rec attestation.Record
	if json.Unmarshal(rc.Attestation, &rec) == nil {
		return printRecord(w, "  ", &rec, len(rc.Attestation), chain)
	}
	var att bytes.Buffer
	if json.Indent(&att, rc.Attestation, "  ", "  ") == nil {
		fmt.Fprintf(w, "  attestation (not a readable record)\n  %s\n", att.String())
	}
	return nil
}
