package gpu_test

import (
	"context"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/probitylabs/probity/attestation"
	"github.com/probitylabs/probity/prover/gpu"
	"github.com/probitylabs/probity/verifier/attest"
)

// TestCollectedRecordVerifies: a whole CC job on the replayed device, collected, encoded,
// parsed back and verified offline as an auditor would.
func TestCollectedRecordVerifies(t *testing.T) {
	b, err := os.ReadFile("../../testdata/gpu/h100-sxm-cc-on.json")
	if err != nil {
		t.Fatal(err)
	}
	f, err := gpu.ParseFixture(b)
	if err != nil {
		t.Fatal(err)
	}
	c, err := gpu.OpenLib(gpu.Replay(f), 0)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	s := c.NewSampler(time.Millisecond)
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	time.Sleep(5 * time.Millisecond)
	sum, err := s.Stop()
	if err != nil {
		t.Fatal(err)
	}
	// NVIDIA's sample was taken over its own nonce; a live job passes attestation.Nonce(...).
	nonce := [32]byte(f.RecordNonce)
	rec, err := c.BuildRecord(gpu.RecordOptions{Telemetry: sum, PIDs: []uint32{1}, Nonce: &nonce, RequireCC: true})
	if err != nil {
		t.Fatal(err)
	}
	canon, err := rec.Canonical()
	if err != nil {
		t.Fatal(err)
	}
	back, err := attestation.Parse(canon)
	if err != nil {
		t.Fatal(err)
	}
	pol := &attest.Policy{RequireCC: true, AllowedModels: []string{"NVIDIA H100 80GB HBM3"}, At: time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)}
	res, err := attest.VerifyRecord(back, nonce, pol)
	if err != nil {
		t.Fatal(err)
	}
	if !res.OK() {
		t.Fatalf("%v\n%+v", res.Err(), res.Checks)
	}
	for _, name := range []string{attest.CheckChain, attest.CheckSignature, attest.CheckNonce, attest.CheckFWID, attest.CheckDriver, attest.CheckVBIOS} {
		if ch, _ := res.Get(name); ch.Status != attest.Passed {
			t.Errorf("%s: %s", name, ch.Status)
		}
	}
	// The same evidence for another job fails the nonce check.
	other := attestation.Nonce(bigOne(), [20]byte{}, bigOne(), [32]byte{})
	res, _ = attest.VerifyRecord(back, other, pol)
	if !errors.Is(res.Err(), attest.ErrNonce) {
		t.Fatalf("replayed evidence accepted for another job: %v", res.Err())
	}
	// A provider claiming another driver than the GPU signed is caught.
	back.Identity.DriverVersion = "555.42.02"
	res, _ = attest.VerifyRecord(back, nonce, pol)
	if !errors.Is(res.Err(), attest.ErrDriverMismatch) {
		t.Fatalf("driver claim: %v", res.Err())
	}
}
