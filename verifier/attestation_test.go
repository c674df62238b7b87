package verifier

import (
	"context"
	"crypto/x509"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/crypto"
	"github.com/stretchr/testify/require"

	"github.com/probitylabs/probity/attestation"
	"github.com/probitylabs/probity/model"
	"github.com/probitylabs/probity/prover/gpu"
	"github.com/probitylabs/probity/prover/gpu/gputest"
	"github.com/probitylabs/probity/receipt"
	"github.com/probitylabs/probity/verifier/attest"
)

// vectorNodeKey is the node key that signed the receipt vector (internal/cmd/genvectors).
var vectorNodeKey, _ = crypto.ToECDSA(crypto.Keccak256([]byte("probity receipt-v1 vector: node key")))

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

// withRecord returns the receipt vector carrying rec, bound by its digest and re-signed by the
// node key, as an honest provider with that GPU would have produced it, with the vector's
// policy (GPU evidence required) and model.
func withRecord(t testing.TB, rec *attestation.Record) (*receipt.Receipt, Policy, *model.Model) {
	t.Helper()
	b, p, m := vector(t)
	p.AllowNoAttestation = false
	rc, err := receipt.Parse(b)
	require.NoError(t, err)
	canon, err := rec.Canonical()
	require.NoError(t, err)
	dig, err := rec.Digest()
	require.NoError(t, err)
	rc.Attestation, rc.AttestationDigest = canon, receipt.Word(dig)
	require.NoError(t, rc.Sign(vectorNodeKey))
	return rc, p, m
}

func mustAudit(t testing.TB, rc *receipt.Receipt, p Policy, o Options) *Report {
	t.Helper()
	r, err := Audit(context.Background(), rc, p, o)
	require.NoError(t, err)
	return r
}

// attestationErr is the error of the report's attestation check (nil when it passed). A new
// record changes the commitment, so the seed and with it the proof no longer match the
// vector's: only the attestation check is asserted.
func attestationErr(t testing.TB, r *Report) error {
	t.Helper()
	c := r.Check(CheckAttestation)
	require.NotNil(t, c)
	require.NotEqual(t, Skip, c.Status, c.Detail)
	return c.Err
}

// An NVML record binds the GPU's name: the policy's GPU list and CC requirement judge it, and
// a record edited after signing no longer matches the signed digest.
func TestAttestationNVMLRecord(t *testing.T) {
	rc, pol, m := withRecord(t, recordFrom(t, "h100-sxm-cc-off.json", nil))
	o := Options{Model: m}
	r := mustAudit(t, rc, pol, o)
	require.NoError(t, attestationErr(t, r))
	require.Contains(t, r.Check(CheckAttestation).Detail, "mode nvml")
	require.Contains(t, r.Check(CheckAttestation).Detail, "NVIDIA H100 80GB HBM3")

	allowed := pol
	allowed.AllowedGPUModels = []string{"NVIDIA H100 80GB HBM3"}
	require.NoError(t, attestationErr(t, mustAudit(t, rc, allowed, o)))

	other := pol
	other.AllowedGPUModels = []string{"NVIDIA H200"}
	require.ErrorIs(t, attestationErr(t, mustAudit(t, rc, other, o)), ErrPolicy)

	cc := pol
	cc.RequireCC = true
	require.ErrorIs(t, attestationErr(t, mustAudit(t, rc, cc, o)), ErrPolicy)

	edited, _, _ := withRecord(t, recordFrom(t, "h100-sxm-cc-off.json", nil))
	edited.Attestation = []byte(string(edited.Attestation[:len(edited.Attestation)-1]) + `,"unsupported":["identity.serial"]}`)
	require.NoError(t, edited.Sign(vectorNodeKey))
	require.ErrorIs(t, attestationErr(t, mustAudit(t, edited, pol, o)), ErrAttestation)
}

// The recorded H100's CC report was signed over NVIDIA's nonce, not this receipt's: the audit
// recomputes the nonce from the receipt (never reads it from the record) and fails it. The
// accepting path of the same evidence under its own nonce is tested in prover/gpu.
func TestAttestationCCReportReplay(t *testing.T) {
	b, err := os.ReadFile("../testdata/gpu/h100-sxm-cc-on.json")
	require.NoError(t, err)
	fx, err := gpu.ParseFixture(b)
	require.NoError(t, err)
	nonce := [32]byte(fx.RecordNonce)
	rc, pol, m := withRecord(t, recordFrom(t, "h100-sxm-cc-on.json", &nonce))
	require.NotEqual(t, nonce, rc.Nonce())

	v := Records{At: time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)}
	_, err = v.VerifyRecord(context.Background(), rc.Attestation, rc.AttestationDigest, rc.Nonce())
	require.ErrorIs(t, err, attest.ErrNonce)

	r := mustAudit(t, rc, pol, Options{Model: m, Attestation: &v})
	require.ErrorIs(t, attestationErr(t, r), ErrAttestation)
	require.Contains(t, r.Check(CheckAttestation).Err.Error(), "nonce")
}

func TestAttestationRecordMalformed(t *testing.T) {
	for name, doc := range map[string]string{
		"unknown mode":  `{"version":"probity.attestation.v0","mode":"tpm"}`,
		"wrong version": `{"version":"probity.attestation.v9","mode":"none"}`,
		"not canonical": `{"mode":"none","version":"probity.attestation.v0"}`,
		"nvml no id":    `{"version":"probity.attestation.v0","mode":"nvml"}`,
	} {
		t.Run(name, func(t *testing.T) {
			b, pol, m := vector(t)
			rc, err := receipt.Parse(b)
			require.NoError(t, err)
			rc.Attestation = []byte(doc)
			require.NoError(t, rc.Sign(vectorNodeKey))
			_, err = Records{}.VerifyRecord(context.Background(), rc.Attestation, rc.AttestationDigest, rc.Nonce())
			require.Error(t, err)
			require.ErrorIs(t, attestationErr(t, mustAudit(t, rc, pol, Options{Model: m})), ErrAttestation)
		})
	}
}

// BenchmarkAuditCC audits a receipt carrying a full H100 CC record (report, 5-certificate
// chain): every check of an audit plus the SPDM parse, the P-384 signature, the chain to the
// pinned root, FWID, driver and VBIOS; "chain-cache" as an auditor reading many receipts from
// the same GPU does, with the chain's signatures checked once. The report's nonce is NVIDIA's,
// so the audit ends in a nonce failure, but every check still runs: the cost is that of an
// accepted receipt.
func BenchmarkAuditCC(b *testing.B) {
	raw, err := os.ReadFile("../testdata/gpu/h100-sxm-cc-on.json")
	require.NoError(b, err)
	fx, err := gpu.ParseFixture(raw)
	require.NoError(b, err)
	nonce := [32]byte(fx.RecordNonce)
	rc, p, m := withRecord(b, recordFrom(b, "h100-sxm-cc-on.json", &nonce))
	doc, err := rc.MarshalIndent()
	require.NoError(b, err)
	at := time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)
	b.Run("uncached", func(b *testing.B) { benchAudit(b, doc, p, Options{Model: m, Attestation: &Records{At: at}}) })
	b.Run("chain-cache", func(b *testing.B) {
		benchAudit(b, doc, p, Options{Model: m, Attestation: &Records{At: at, Chains: &attest.ChainCache{}}})
	})
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
	rc, _, _ := withRecord(t, rec)
	at := time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)
	_, err = Records{At: at, AllowMissingOCSPUnsafe: true}.VerifyRecord(context.Background(), rc.Attestation, rc.AttestationDigest, rc.Nonce())
	require.ErrorIs(t, err, attest.ErrNonce)
	require.NotErrorIs(t, err, attest.ErrTopology)
	require.Contains(t, err.Error(), "gpus[2].nonce")

	_, err = Records{At: at, AllowMissingOCSPUnsafe: true, Topology: &attest.TopologyPolicy{}}.VerifyRecord(context.Background(), rc.Attestation, rc.AttestationDigest, rc.Nonce())
	require.ErrorIs(t, err, attest.ErrTopology)
	require.Contains(t, err.Error(), "topology.gpus: ")
	require.Contains(t, err.Error(), "4 GPUs, want 8")
}

// Records.AllowedChips and AllowedBoards judge what the GPU signed: a CC record from a
// replayed H100 (gputest: its report signed over this receipt's nonce by a test device chain)
// passes for its own chip and board and fails for another board, and an NVML record, whose
// name only the provider vouches for, cannot satisfy either.
func TestAttestationSignedHardware(t *testing.T) {
	b, _, _ := vector(t)
	rc0, err := receipt.Parse(b)
	require.NoError(t, err)
	nonce := rc0.Nonce()
	sys := gputest.ReplayCC(t, "../testdata/gpu/h100-sxm-cc-on.json", 1, "")
	col := sys.Collector(t)
	rec, err := col.BuildRecord(gpu.RecordOptions{Nonce: &nonce, RequireCC: true})
	require.NoError(t, err)
	rc, _, _ := withRecord(t, rec)
	require.Equal(t, nonce, rc.Nonce())
	rep, err := attest.ParseReport(rec.CC.Report)
	require.NoError(t, err)
	board, ok := rep.Board()
	require.True(t, ok)
	v := Records{Roots: []*x509.Certificate{sys.Devices[0].Root.Cert}, AllowMissingOCSPUnsafe: true,
		AllowedChips: []string{"GH100"}, AllowedBoards: []string{board}}
	_, err = v.VerifyRecord(context.Background(), rc.Attestation, rc.AttestationDigest, nonce)
	require.NoError(t, err)
	v.AllowedBoards = []string{"1010_0205_862"}
	_, err = v.VerifyRecord(context.Background(), rc.Attestation, rc.AttestationDigest, nonce)
	require.ErrorIs(t, err, attest.ErrModelNotAllowed)

	nv, _, _ := withRecord(t, recordFrom(t, "h100-sxm-cc-off.json", nil))
	v.AllowedBoards = []string{board}
	_, err = v.VerifyRecord(context.Background(), nv.Attestation, nv.AttestationDigest, nv.Nonce())
	require.ErrorIs(t, err, attest.ErrModelNotAllowed)
}
