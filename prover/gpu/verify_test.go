package gpu_test

import (
	"bytes"
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
	// NVIDIA's sample has no OCSP responses to staple (they are fetched online at job time).
	pol := &attest.Policy{RequireCC: true, AllowedModels: []string{"NVIDIA H100 80GB HBM3"}, At: time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC), AllowMissingOCSPUnsafe: true}
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

// TestStaple: the provider's OCSP requests cover the device chain from the device certificate
// up (not the leaf, not the root), and responses land in cc.ocsp sorted and unique.
func TestStaple(t *testing.T) {
	b, err := os.ReadFile("../../testdata/gpu/h100-sxm-cc-on.json")
	if err != nil {
		t.Fatal(err)
	}
	f, err := gpu.ParseFixture(b)
	if err != nil {
		t.Fatal(err)
	}
	reqs, err := gpu.StapleRequests(f.CertChain.Value, 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(reqs) != 3 || reqs[0].Subject != "GH100 A01 GSP BROM" || len(reqs[0].DER) == 0 {
		t.Fatalf("%d requests: %+v", len(reqs), reqs)
	}
	c, err := gpu.OpenLib(gpu.Replay(f), 0)
	if err != nil {
		t.Fatal(err)
	}
	nonce := [32]byte(f.RecordNonce)
	rec, err := c.BuildRecord(gpu.RecordOptions{Nonce: &nonce, RequireCC: true, OCSP: [][]byte{{3}, {1}, {3}, {2}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(rec.CC.OCSP) != 3 || rec.CC.OCSP[0][0] != 1 || rec.CC.OCSP[2][0] != 3 {
		t.Fatalf("cc.ocsp %x", rec.CC.OCSP)
	}
	if err := rec.Validate(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.BuildRecord(gpu.RecordOptions{Nonce: &nonce, RequireCC: true, OCSP: [][]byte{{}}}); err == nil {
		t.Fatal("empty OCSP response stapled")
	}
	// RecordOptions.Staple is asked about exactly the chain that came with the report, and its
	// error (a revoked certificate) fails the record.
	var asked []byte
	rec, err = c.BuildRecord(gpu.RecordOptions{Nonce: &nonce, RequireCC: true, OCSP: [][]byte{{1}},
		Staple: func(chain []byte) ([][]byte, error) { asked = chain; return [][]byte{{4}}, nil }})
	if err != nil || !bytes.Equal(asked, f.CertChain.Value) || len(rec.CC.OCSP) != 2 {
		t.Fatalf("staple callback: %v, asked %d bytes, cc.ocsp %x", err, len(asked), rec.CC.OCSP)
	}
	revoked := errors.New("revoked")
	if _, err := c.BuildRecord(gpu.RecordOptions{Nonce: &nonce, RequireCC: true,
		Staple: func([]byte) ([][]byte, error) { return nil, revoked }}); !errors.Is(err, revoked) {
		t.Fatalf("staple error: %v", err)
	}
}
