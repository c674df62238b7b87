package prover_test

import (
	"context"
	"math/big"
	"os"
	"testing"
	"time"

	"github.com/probitylabs/probity/attestation"
	"github.com/probitylabs/probity/prover"
	"github.com/probitylabs/probity/prover/gpu"
	"github.com/probitylabs/probity/receipt"
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
