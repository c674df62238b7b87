package verifier_test

import (
	"context"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/probitylabs/probity/attestation"
	"github.com/probitylabs/probity/prover/gpu"
	"github.com/probitylabs/probity/receipt"
	. "github.com/probitylabs/probity/verifier"
	"github.com/probitylabs/probity/verifier/attest"
)

// recordFrom collects an attestation record from a recorded H100 (NVML replayed from the
// fixture), over nonce when the device has CC on.
func recordFrom(t testing.TB, fixture string, nonce *[32]byte) *attestation.Record {
	t.Helper()
	b, err := os.ReadFile("../testdata/gpu/" + fixture)
	require.NoError(t, err)
	fx, err := gpu.ParseFixture(b)
	require.NoError(t, err)
	c, err := gpu.OpenLib(gpu.Replay(fx), 0)
	require.NoError(t, err)
	defer c.Close()
	s := c.NewSampler(time.Millisecond)
	require.NoError(t, s.Start(context.Background()))
	time.Sleep(3 * time.Millisecond)
	sum, err := s.Stop()
	require.NoError(t, err)
	rec, err := c.BuildRecord(gpu.RecordOptions{Telemetry: sum, PIDs: []uint32{1}, Nonce: nonce, RequireCC: nonce != nil})
	require.NoError(t, err)
	return rec
}

// withRecord returns the fixture receipt carrying rec, bound by its digest and re-signed by
// the node key, as an honest provider with that GPU would have produced it.
func withRecord(t testing.TB, f fixture, rec *attestation.Record) *receipt.Receipt {
	t.Helper()
	rc := f.rc(t)
	canon, err := rec.Canonical()
	require.NoError(t, err)
	dig, err := rec.Digest()
	require.NoError(t, err)
	rc.Attestation, rc.AttestationDigest = canon, receipt.Word(dig)
	require.NoError(t, rc.Sign(f.NodeKey))
	return rc
}

func TestAttestationNVMLRecord(t *testing.T) {
	f := getFixture(t)
	rc := withRecord(t, f, recordFrom(t, "h100-sxm-cc-off.json", nil))
	pol := f.policy()
	pol.AllowNoAttestation = false

	r := mustAudit(t, rc, pol, f.opts())
	require.NoError(t, r.Err())
	require.Contains(t, r.Check(CheckAttestation).Detail, "mode nvml")
	require.Contains(t, r.Check(CheckAttestation).Detail, "NVIDIA H100 80GB HBM3")

	allowed := pol
	allowed.AllowedGPUModels = []string{"NVIDIA H100 80GB HBM3"}
	require.NoError(t, mustAudit(t, rc, allowed, f.opts()).Err())

	other := pol
	other.AllowedGPUModels = []string{"NVIDIA H200"}
	require.ErrorIs(t, mustAudit(t, rc, other, f.opts()).Err(), ErrPolicy)

	cc := pol
	cc.RequireCC = true
	require.ErrorIs(t, mustAudit(t, rc, cc, f.opts()).Err(), ErrPolicy)

	// A record edited after signing no longer matches the signed digest.
	edited := withRecord(t, f, recordFrom(t, "h100-sxm-cc-off.json", nil))
	edited.Attestation = []byte(string(edited.Attestation[:len(edited.Attestation)-1]) + `,"unsupported":["identity.serial"]}`)
	require.ErrorIs(t, mustAudit(t, edited, pol, f.opts()).Err(), ErrAttestation)
}

// TestAttestationCCReportReplay: a genuine H100 CC report (NVIDIA's sample, over NVIDIA's
// nonce) copied into a receipt is refused, because the nonce the auditor derives from the
// receipt's chain, contract, job and output roots is not the one the GPU signed. The
// accepting path of the same evidence under its own nonce is tested in prover/gpu.
func TestAttestationCCReportReplay(t *testing.T) {
	f := getFixture(t)
	b, err := os.ReadFile("../testdata/gpu/h100-sxm-cc-on.json")
	require.NoError(t, err)
	fx, err := gpu.ParseFixture(b)
	require.NoError(t, err)
	nonce := [32]byte(fx.RecordNonce)
	rc := withRecord(t, f, recordFrom(t, "h100-sxm-cc-on.json", &nonce))

	v := Records{At: time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)}
	_, err = v.VerifyRecord(context.Background(), rc)
	require.ErrorIs(t, err, attest.ErrNonce)

	opts := f.opts()
	opts.Attestation = v
	r := mustAudit(t, rc, f.policy(), opts)
	require.ErrorIs(t, r.Err(), ErrAttestation)
	require.Contains(t, r.Check(CheckAttestation).Err.Error(), "nonce")
}

func TestAttestationRecordMalformed(t *testing.T) {
	f := getFixture(t)
	for name, doc := range map[string]string{
		"unknown mode":  `{"version":"probity.attestation.v0","mode":"tpm"}`,
		"wrong version": `{"version":"probity.attestation.v9","mode":"none"}`,
		"not canonical": `{"mode":"none","version":"probity.attestation.v0"}`,
		"nvml no id":    `{"version":"probity.attestation.v0","mode":"nvml"}`,
	} {
		t.Run(name, func(t *testing.T) {
			rc := f.rc(t)
			rc.Attestation = []byte(doc)
			require.NoError(t, rc.Sign(f.NodeKey))
			_, err := Records{}.VerifyRecord(context.Background(), rc)
			require.Error(t, err)
			require.ErrorIs(t, mustAudit(t, rc, f.policy(), f.opts()).Err(), ErrAttestation)
		})
	}
}

// BenchmarkAuditCC audits a receipt carrying a full H100 CC record (report, 5-certificate
// chain): every check of BenchmarkAudit plus the SPDM parse, the P-384 signature, the chain to
// the pinned root, FWID, driver and VBIOS; "chain-cache" as an auditor reading many receipts
// from the same GPU does, with the chain's signatures checked once. The report's nonce is NVIDIA's, so the audit ends in
// a nonce failure, but every check still runs: the cost is that of an accepted receipt.
func BenchmarkAuditCC(b *testing.B) {
	f := getFixture(b)
	raw, err := os.ReadFile("../testdata/gpu/h100-sxm-cc-on.json")
	require.NoError(b, err)
	fx, err := gpu.ParseFixture(raw)
	require.NoError(b, err)
	nonce := [32]byte(fx.RecordNonce)
	rc := withRecord(b, f, recordFrom(b, "h100-sxm-cc-on.json", &nonce))
	doc, err := rc.MarshalIndent()
	require.NoError(b, err)
	o, p := f.opts(), f.policy()
	o.Attestation = Records{At: time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)}
	b.Run("uncached", func(b *testing.B) { benchAudit(b, doc, p, o) })
	o.Attestation = Records{At: time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC), Chains: &attest.ChainCache{}}
	b.Run("chain-cache", func(b *testing.B) { benchAudit(b, doc, p, o) })
}

func benchAudit(b *testing.B, doc []byte, p Policy, o Options) {
	b.ReportAllocs()
	for b.Loop() {
		r, err := AuditJSON(context.Background(), doc, p, o)
		if err != nil || !errors.Is(r.Err(), ErrAttestation) {
			b.Fatal(err, r.Err())
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "receipts/s")
}

// TestAttestationTopologyPolicy: Records passes a protected-PCIe requirement to the record's
// verification. NVIDIA's 4 PPCIE H100s (attested over NVIDIA's nonce, so the nonce check fails
// whatever the policy) fall short of an 8-GPU HGX only when Records requires one.
func TestAttestationTopologyPolicy(t *testing.T) {
	f := getFixture(t)
	b, err := os.ReadFile("../testdata/nvidia/serialized/multi_gpu_hopper.json")
	require.NoError(t, err)
	gpus, err := attest.ParseSerializedEvidence(b)
	require.NoError(t, err)
	rec := &attestation.Record{Version: attestation.Version, Mode: attestation.ModeNVMLCC,
		Identity: &attestation.Identity{Name: "NVIDIA H100 80GB HBM3", Architecture: "hopper", DriverVersion: "590.12", VBIOSVersion: "96.00.a5.00.01"},
		CC:       &attestation.CC{Enabled: true, Ready: true, Nonce: gpus[0].Nonce[:], Report: gpus[0].Report, CertChain: gpus[0].CertChain}}
	for _, g := range gpus[1:] {
		rec.CC.GPUs = append(rec.CC.GPUs, attestation.DeviceEvidence{Report: g.Report, CertChain: g.CertChain})
	}
	rc := withRecord(t, f, rec)
	at := time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)
	_, err = Records{At: at, AllowMissingOCSPUnsafe: true}.VerifyRecord(context.Background(), rc)
	require.ErrorIs(t, err, attest.ErrNonce)
	require.NotErrorIs(t, err, attest.ErrTopology)
	require.Contains(t, err.Error(), "gpus[2].nonce")

	_, err = Records{At: at, AllowMissingOCSPUnsafe: true, Topology: &attest.TopologyPolicy{}}.VerifyRecord(context.Background(), rc)
	require.ErrorIs(t, err, attest.ErrTopology)
	require.Contains(t, err.Error(), "topology.gpus: ")
	require.Contains(t, err.Error(), "4 GPUs, want 8")
}
