package prover_test

import (
	"context"
	"crypto/x509"
	"math/big"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/NVIDIA/go-nvml/pkg/nvml"
	"github.com/NVIDIA/go-nvml/pkg/nvml/mock"
	groth16bn254 "github.com/consensys/gnark/backend/groth16/bn254"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/probitylabs/probity/attestation"
	"github.com/probitylabs/probity/circuits"
	"github.com/probitylabs/probity/prover"
	"github.com/probitylabs/probity/prover/gpu"
	"github.com/probitylabs/probity/receipt"
	"github.com/probitylabs/probity/verifier"
	"github.com/probitylabs/probity/verifier/attest"
	"github.com/probitylabs/probity/verifier/attest/attesttest"
)

// TestLifecycleReplayedGPU runs a job with the NVML collector replaying a recorded H100
// (CC off): the receipt's attestation record is mode nvml with the device identity and the
// telemetry of the job window, and its digest is the one committed on chain.
func TestLifecycleReplayedGPU(t *testing.T) {
	b, err := os.ReadFile("../testdata/gpu/h100-sxm-cc-off.json")
	if err != nil {
		t.Fatal(err)
	}
	f, err := gpu.ParseFixture(b)
	if err != nil {
		t.Fatal(err)
	}
	col, err := gpu.OpenLib(gpu.Replay(f), 0)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	w := newWorld(t, ctx)
	start := w.head(t, ctx)
	job := w.post(t, ctx, big.NewInt(1e17))
	cfg := w.config(t.TempDir(), start)
	cfg.GPU.Mode = "auto"
	cfg.GPU.Interval = prover.Duration(5 * time.Millisecond)
	n := w.node(t, ctx, cfg, func(o *prover.Options) { o.GPU = col })
	rec := runUntil(t, ctx, n, job.ID, time.Minute)
	if rec.Step != prover.StepDone {
		t.Fatalf("job ended at %s: %s", rec.Step, rec.Reason)
	}
	rb, _ := os.ReadFile(rec.ReceiptPath)
	rc, err := receipt.Parse(rb)
	if err != nil {
		t.Fatal(err)
	}
	att, err := attestation.Parse(rc.Attestation)
	if err != nil {
		t.Fatal(err)
	}
	if att.Mode != attestation.ModeNVML || att.Identity == nil || att.Telemetry == nil || att.Telemetry.Samples < 2 {
		t.Fatalf("record %+v", att)
	}
	if d, _ := att.Digest(); d != [32]byte(rc.AttestationDigest) {
		t.Fatal("receipt's attestation digest is not the record's")
	}
	t.Logf("attested %s (%s), %d samples", att.Identity.Name, att.Identity.UUID, att.Telemetry.Samples)
}

// ccReplay replays the recorded H100 in CC mode with a test device chain whose certificates
// name a local OCSP responder: the replayed GPU signs each report over the nonce it is asked
// for with the test leaf key, as a real GPU signs over the job's nonce.
func ccReplay(t *testing.T) (*gpu.Collector, *attesttest.Device, *attesttest.Responder) {
	t.Helper()
	b, err := os.ReadFile("../testdata/gpu/h100-sxm-cc-on.json")
	if err != nil {
		t.Fatal(err)
	}
	f, err := gpu.ParseFixture(b)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := attest.ParseReport(f.AttestationReport.Value)
	if err != nil {
		t.Fatal(err)
	}
	fwid, _ := rep.Opaque(attest.OpaqueFWID) // NVIDIA's sample names one; the test leaf repeats it
	resp := attesttest.NewResponder(t)
	d := attesttest.NewDevice(t, resp.URL, fwid...)
	resp.AddIssuers(d.Root, d.ICA, d.BROM)
	f.CertChain.Value = d.Chain
	lib := gpu.Replay(f)
	h, _ := lib.DeviceGetHandleByIndex(0)
	dev := h.(*mock.Device)
	report := dev.GetConfComputeGpuAttestationReportFunc
	dev.GetConfComputeGpuAttestationReportFunc = func(r *nvml.ConfComputeGpuAttestationReport) nvml.Return {
		ret := report(r)
		copy(r.AttestationReport[:], attesttest.SignReport(t, r.AttestationReport[:r.AttestationReportSize], d.Leaf.Key, &r.Nonce))
		return ret
	}
	col, err := gpu.OpenLib(lib, 0)
	if err != nil {
		t.Fatal(err)
	}
	return col, d, resp
}

// TestLifecycleReplayedCCGPU runs a CC job on the replayed H100: the node fetches OCSP
// responses for the device chain from the certificates' responder before the lock, staples
// them from its cache at record time, and an auditor accepts the receipt's revocation check
// without the AllowMissingOCSPUnsafe opt-out.
func TestLifecycleReplayedCCGPU(t *testing.T) {
	col, d, resp := ccReplay(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	w := newWorld(t, ctx)
	start := w.head(t, ctx)
	job := w.post(t, ctx, big.NewInt(1e17))
	cfg := w.config(t.TempDir(), start)
	cfg.GPU.Mode, cfg.GPU.RequireCC = "require", true // gpu.requireOCSP follows
	cfg.GPU.Interval = prover.Duration(5 * time.Millisecond)
	n := w.node(t, ctx, cfg, func(o *prover.Options) { o.GPU = col })
	rec := runUntil(t, ctx, n, job.ID, time.Minute)
	if rec.Step != prover.StepDone {
		t.Fatalf("job ended at %s: %s", rec.Step, rec.Reason)
	}
	// Preflight fetched each certificate once; the record stapled from the cache.
	if resp.Requests(d.BROM.Cert) != 1 || resp.Requests(d.ICA.Cert) != 1 {
		t.Errorf("responder asked %d and %d times", resp.Requests(d.BROM.Cert), resp.Requests(d.ICA.Cert))
	}
	rb, _ := os.ReadFile(rec.ReceiptPath)
	rc, err := receipt.Parse(rb)
	if err != nil {
		t.Fatal(err)
	}
	att, err := attestation.Parse(rc.Attestation)
	if err != nil {
		t.Fatal(err)
	}
	if att.Mode != attestation.ModeNVMLCC || len(att.CC.OCSP) != 2 {
		t.Fatalf("mode %s with %d staples", att.Mode, len(att.CC.OCSP))
	}
	tiny, err := circuits.Lookup("tiny")
	if err != nil {
		t.Fatal(err)
	}
	keys, err := sharedKeys.Setup(tiny)
	if err != nil {
		t.Fatal(err)
	}
	pol := verifier.DefaultPolicy()
	pol.RequireCC = true
	rep, err := verifier.Audit(ctx, rc, pol, verifier.Options{
		Keys:        verifier.KeyMap{keys.Shape.ID(): keys.VK.(*groth16bn254.VerifyingKey)},
		Attestation: verifier.Records{Roots: []*x509.Certificate{d.Root.Cert}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := rep.Err(); err != nil {
		t.Fatalf("audit: %v", err)
	}
	if st := rep.Check(verifier.CheckAttestation).Status; st != verifier.Pass {
		t.Fatalf("attestation check %s", st)
	}
	// The staples are what the auditor's revocation check passes on.
	staples := make([][]byte, len(att.CC.OCSP))
	for i, o := range att.CC.OCSP {
		staples[i] = o
	}
	certs, _ := attest.ParseCertChain(att.CC.CertChain)
	if err := attest.CheckRevocation(certs, 1, nil, staples, time.Now()); err != nil {
		t.Fatal(err)
	}
}

// TestLifecycleRevokedGPURefused: a GPU whose device certificate is on hold never locks a job.
func TestLifecycleRevokedGPURefused(t *testing.T) {
	col, d, resp := ccReplay(t)
	resp.Hold(d.BROM.Cert)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	w := newWorld(t, ctx)
	start := w.head(t, ctx)
	job := w.post(t, ctx, big.NewInt(1e17))
	cfg := w.config(t.TempDir(), start)
	cfg.GPU.Mode, cfg.GPU.RequireCC = "require", true
	n := w.node(t, ctx, cfg, func(o *prover.Options) { o.GPU = col })
	rec := runUntil(t, ctx, n, job.ID, time.Minute)
	if rec.Step != prover.StepRefused || !strings.Contains(rec.Reason, "on hold") {
		t.Fatalf("job ended at %s: %s", rec.Step, rec.Reason)
	}
	if _, locked := rec.Txs["lock"]; locked {
		t.Fatal("a revoked GPU locked the job")
	}
	if v := testutil.ToFloat64(n.Metrics().Refused.WithLabelValues("revoked")); v != 1 {
		t.Fatalf("refused{reason=revoked} = %v", v)
	}
}
