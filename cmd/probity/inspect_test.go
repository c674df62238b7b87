package main

import (
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/probitylabs/probity/attestation"
	"github.com/probitylabs/probity/jobs"
	"github.com/probitylabs/probity/verifier/attest"
)

const nvidiaDir = "../../testdata/nvidia"

// NVIDIA's published reports (testdata/nvidia/PROVENANCE.md) with what the report itself says.
var nvidiaSamples = []struct {
	report, chain, nonce, driver, vbios string
}{
	{"hopper-2023/attestationReport.txt", "hopper-2023/gpuAkCertChain.txt", "4cff7f5380ead8fad8ec2c531c110aca4302a88f603792801a8ca29ee151af2e", "545.00", "96.00.5e.00.01"},
	{"hopper-2025/hopperAttestationReport.txt", "hopper-2025/hopperCertChain.txt", "931d8dd0add203ac3d8b4fbde75e115278eefcdceac5b87671a748f32364dfcb", "550.90.07", "96.00.9f.00.01"},
	{"hopper-535/hopperAttestationReport.txt", "hopper-535/hopperCertChain.txt", "27a328247bf7935c993341cf587be6f05986ccce4fe7ba2c54100bd616a58f66", "535.86.09", "96.00.5e.00.01"},
	{"expected/testdata_hopperAttestationReport.txt", "expected/testdata_hopperCertChain.txt", "5bb22e377702d4e1e8215a903ba094826b9ac7f731dee1fe8102958bf2840aca", "580.159.03", "96.00.74.00.20"},
}

func readNvidiaHex(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(nvidiaDir, path))
	require.NoError(t, err)
	raw, err := hex.DecodeString(strings.TrimSpace(string(b)))
	require.NoError(t, err)
	return raw
}

func TestInspectNvidiaReports(t *testing.T) {
	dir := t.TempDir()
	for _, s := range nvidiaSamples {
		hexPath := filepath.Join(nvidiaDir, s.report)
		code, out, errs := runCLI(t, "inspect", hexPath)
		require.Equal(t, exitOK, code, "%s: %s", s.report, errs)
		assert.Contains(t, out, "NVIDIA attestation report: SPDM 1.1 GET_MEASUREMENTS exchange", s.report)
		assert.Contains(t, out, "nonce 0x"+s.nonce, s.report)
		assert.Contains(t, out, "driver    "+s.driver, s.report)
		assert.Contains(t, out, "VBIOS     "+s.vbios, s.report)
		assert.Contains(t, out, "64 blocks", s.report)
		assert.Contains(t, out, "PROJECT                \"1010\"", s.report)
		assert.Contains(t, out, "board     1010_02", s.report)
		assert.NotContains(t, out, "signature under", "no chain, no signature check")

		// The same bytes as a binary file read the same.
		bin := filepath.Join(dir, filepath.Base(filepath.Dir(s.report))+".bin")
		require.NoError(t, os.WriteFile(bin, readNvidiaHex(t, s.report), 0o644))
		code, outBin, errs := runCLI(t, "inspect", bin)
		require.Equal(t, exitOK, code, errs)
		assert.Equal(t, out, outBin, s.report)

		// With the GPU's chain: subjects, signature, FWID.
		code, out, errs = runCLI(t, "inspect", "--cert-chain", filepath.Join(nvidiaDir, s.chain), hexPath)
		require.Equal(t, exitOK, code, "%s: %s", s.report, errs)
		assert.Contains(t, out, "certificates, leaf first", s.report)
		assert.Contains(t, out, "CN=NVIDIA Device Identity CA", s.report)
		assert.Contains(t, out, "signature under the chain's leaf key: verifies", s.report)
	}
	code, out, _ := runCLI(t, "inspect", "--cert-chain", filepath.Join(nvidiaDir, "hopper-2025/hopperCertChain.txt"), filepath.Join(nvidiaDir, "hopper-2025/hopperAttestationReport.txt"))
	require.Equal(t, exitOK, code)
	assert.Contains(t, out, "[0] subject SERIALNUMBER=53C22BA15E5D68088282DA074ED9FB37AA585771,CN=GH100 A01 GSP FMC LF")
	assert.Contains(t, out, "FWID: report and leaf certificate agree")
	assert.Contains(t, out, "all-zero values: 1, 9, 11, 13-21, 24-25, 29, 42-64")

	// Inspect shows, it does not accept: a report under another GPU's chain says so.
	code, out, _ = runCLI(t, "inspect", "--cert-chain", filepath.Join(nvidiaDir, "hopper-535/hopperCertChain.txt"),
		filepath.Join(nvidiaDir, "negative/hopperAttestationReportInvalidSignature.txt"))
	require.Equal(t, exitOK, code)
	assert.Contains(t, out, "driver    560.00")
	assert.Contains(t, out, "signature under the chain's leaf key: attestation report signature does not verify")
	assert.Contains(t, out, "differs from the leaf certificate's")

	// A chain on its own.
	code, out, _ = runCLI(t, "inspect", filepath.Join(nvidiaDir, "hopper-535/hopperCertChain.txt"))
	require.Equal(t, exitOK, code)
	assert.Contains(t, out, "5 certificates, leaf first")
	assert.Contains(t, out, "[4] subject CN=NVIDIA Device Identity CA,O=NVIDIA")
}

func TestInspectDamagedReports(t *testing.T) {
	dir := t.TempDir()
	raw := readNvidiaHex(t, "hopper-535/hopperAttestationReport.txt")
	for _, c := range []struct {
		name string
		data []byte
		want string
	}{
		{"truncated.bin", raw[:1500], "measurement record length 3520 exceeds the 1455 bytes left"},
		{"short-signature.bin", raw[:len(raw)-1], "95 bytes after the opaque data, want a 96-byte signature"},
		{"trailing.bin", append(append([]byte(nil), raw...), 0), "97 bytes after the opaque data"},
		{"truncated.txt", []byte(hex.EncodeToString(raw)[:3001]), "hex text: encoding/hex: odd length hex string"},
		{"truncated-even.txt", []byte(hex.EncodeToString(raw[:40])), "response header truncated"},
	} {
		p := filepath.Join(dir, c.name)
		require.NoError(t, os.WriteFile(p, c.data, 0o644))
		code, out, errs := runCLI(t, "inspect", p)
		assert.Equal(t, exitInternal, code, c.name)
		assert.Empty(t, out, c.name)
		assert.Contains(t, errs, "probity: error: "+p+": malformed attestation report: "+c.want, c.name)
		assert.Contains(t, errs, "damaged or truncated", c.name)
	}
	notAnything := filepath.Join(dir, "notes.txt")
	require.NoError(t, os.WriteFile(notAnything, []byte("hello"), 0o644))
	code, _, errs := runCLI(t, "inspect", notAnything)
	assert.Equal(t, exitInternal, code)
	assert.Contains(t, errs, notAnything+" is not JSON, an NVIDIA attestation report or a PEM certificate chain")
	code, _, errs = runCLI(t, "inspect", "--cert-chain", notAnything, filepath.Join(nvidiaDir, "hopper-535/hopperAttestationReport.txt"))
	assert.Equal(t, exitInternal, code)
	assert.Contains(t, errs, "--cert-chain "+notAnything)
}

// An attestation record in mode nvml+cc: the record is printed without its hex blobs, which
// are decoded instead.
func TestInspectCCRecord(t *testing.T) {
	s := nvidiaSamples[1]
	nonce, err := hex.DecodeString(s.nonce)
	require.NoError(t, err)
	chain, err := os.ReadFile(filepath.Join(nvidiaDir, s.chain))
	require.NoError(t, err)
	rec := &attestation.Record{
		Version: attestation.Version, Mode: attestation.ModeNVMLCC,
		Identity: &attestation.Identity{Name: "NVIDIA H100 80GB HBM3", DriverVersion: s.driver, VBIOSVersion: "96.00.9F.00.01"},
		CC:       &attestation.CC{Enabled: true, Ready: true, Nonce: nonce, Report: readNvidiaHex(t, s.report), CertChain: chain},
	}
	doc, err := rec.Canonical()
	require.NoError(t, err)
	dir := t.TempDir()
	p := filepath.Join(dir, "record.json")
	require.NoError(t, os.WriteFile(p, doc, 0o644))
	code, out, errs := runCLI(t, "inspect", p)
	require.Equal(t, exitOK, code, errs)
	assert.Contains(t, out, "Attestation record probity.attestation.v0, mode nvml+cc")
	assert.Contains(t, out, `"name": "NVIDIA H100 80GB HBM3"`)
	assert.Contains(t, out, "cc.report (4117 bytes) and cc.certChain")
	assert.NotContains(t, out, hex.EncodeToString(rec.CC.Report[:64]), "the report is decoded, not dumped")
	assert.Contains(t, out, "Certificate chain from cc.certChain: 5 certificates")
	assert.Contains(t, out, "nonce 0x"+s.nonce)
	assert.Contains(t, out, "driver    550.90.07")
	assert.Contains(t, out, "signature under the chain's leaf key: verifies")
	assert.NotContains(t, out, "differs from cc.nonce")

	// A record whose nonce is not the report's says so.
	rec.CC.Nonce = make([]byte, 32)
	doc, err = rec.Canonical()
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(p, doc, 0o644))
	code, out, errs = runCLI(t, "inspect", p)
	require.Equal(t, exitOK, code, errs)
	assert.Contains(t, out, "the report's request nonce differs from cc.nonce 0x0000")

	// A record with a cut report fails and says where.
	rec.CC.Report = rec.CC.Report[:100]
	doc, err = rec.Canonical()
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(p, doc, 0o644))
	code, _, errs = runCLI(t, "inspect", p)
	assert.Equal(t, exitInternal, code)
	assert.Contains(t, errs, p+": cc.report: malformed attestation report")
}

// NVIDIA's serialized evidence: every device's chain and report, every opaque field named by
// its device kind (a switch's 22 is DEVICE_PDI, a GPU's SWITCH_PDI).
func TestInspectSerializedEvidence(t *testing.T) {
	code, out, errs := runCLI(t, "inspect", filepath.Join(nvidiaDir, "serialized/multi_gpu_hopper.json"))
	require.Equal(t, exitOK, code, errs)
	assert.Contains(t, out, "NVIDIA serialized evidence from")
	assert.Contains(t, out, "4 devices")
	assert.Equal(t, 4, strings.Count(out, "arch HOPPER (gpu), nonce 0xe97b23a1718095a0e9e35edca810768c70a6a5a389b705e753b197912bc11576"))
	assert.Equal(t, 4, strings.Count(out, "signature under the chain's leaf key: verifies"))
	assert.Equal(t, 4, strings.Count(out, "FWID: report and leaf certificate agree"))
	assert.Contains(t, out, "SWITCH_PDI             18 links, switch PDIs 3a53b743d811e977")
	assert.Contains(t, out, "FEATURE_FLAG           ppcie (0x0200)")
	assert.Contains(t, out, "PROTECTED_PCIE_STATUS  0xaa")
	assert.NotContains(t, out, "(unnamed)")

	code, out, errs = runCLI(t, "inspect", filepath.Join(nvidiaDir, "serialized/switch_evidence_ls10.json"))
	require.Equal(t, exitOK, code, errs)
	assert.Contains(t, out, "arch LS10 (nvswitch)")
	assert.Contains(t, out, "device    nvswitch")
	assert.Contains(t, out, "VBIOS     96.10.55.00.01")
	assert.NotContains(t, out, "driver ")
	for _, name := range []string{"DEVICE_PDI             0x203eb31ad9ed0008", "SWITCH_GPU_PDIS        GPU PDIs 40b9c6b3d748fd90", "DISABLED_PORTS", "SWITCH_POSITION_ID", "SWITCH_LOCK_STATUS", "MSRSCNT"} {
		assert.Contains(t, out, name)
	}
	assert.NotContains(t, out, "(unnamed)")
	assert.Contains(t, out, "signature under the chain's leaf key: verifies")

	// The raw switch report with its chain reads as a switch's too.
	code, out, errs = runCLI(t, "inspect", "--cert-chain", filepath.Join(nvidiaDir, "switch/switchCertChain.txt"), filepath.Join(nvidiaDir, "switch/switchAttestationReport.txt"))
	require.Equal(t, exitOK, code, errs)
	assert.Contains(t, out, "DEVICE_PDI             0x203eb31ad9ed0008")
	assert.Contains(t, out, "signature under the chain's leaf key: verifies")

	dir := t.TempDir()
	for name, doc := range map[string]string{
		"bad-arch.json":   `[{"arch":"AMPERE","nonce":"00","evidence":"AA==","certificate":"AA=="}]`,
		"bad-base64.json": `[{"arch":"HOPPER","nonce":"` + strings.Repeat("ab", 32) + `","evidence":"not base64!","certificate":"AA=="}]`,
	} {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, []byte(doc), 0o644))
		code, out, errs := runCLI(t, "inspect", p)
		assert.Equal(t, exitInternal, code, name)
		assert.Empty(t, out, name)
		assert.Contains(t, errs, "probity: error: "+p+": malformed NVIDIA serialized evidence: entry 0", name)
		assert.Contains(t, errs, "probity: hint: a JSON array is read as NVIDIA's serialized evidence", name)
	}
}

// A record of a multi-GPU system: cc.gpus and cc.switches are decoded like cc.report.
func TestInspectSystemRecord(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(nvidiaDir, "serialized/multi_gpu_hopper.json"))
	require.NoError(t, err)
	gpus, err := attest.ParseSerializedEvidence(b)
	require.NoError(t, err)
	rec := &attestation.Record{
		Version: attestation.Version, Mode: attestation.ModeNVMLCC,
		Identity: &attestation.Identity{Name: "NVIDIA H100 80GB HBM3", DriverVersion: "590.12", VBIOSVersion: "96.00.a5.00.01"},
		CC:       &attestation.CC{Enabled: true, Ready: true, Nonce: gpus[0].Nonce[:], Report: gpus[0].Report, CertChain: gpus[0].CertChain},
	}
	for _, g := range gpus[1:] {
		rec.CC.GPUs = append(rec.CC.GPUs, attestation.DeviceEvidence{Report: g.Report, CertChain: g.CertChain})
	}
	rec.CC.Switches = []attestation.DeviceEvidence{{Report: readNvidiaHex(t, "switch/switchAttestationReport.txt")}}
	rec.CC.Switches[0].CertChain, err = os.ReadFile(filepath.Join(nvidiaDir, "switch/switchCertChain.txt"))
	require.NoError(t, err)
	doc, err := rec.Canonical()
	require.NoError(t, err)
	p := filepath.Join(t.TempDir(), "record.json")
	require.NoError(t, os.WriteFile(p, doc, 0o644))
	code, out, errs := runCLI(t, "inspect", p)
	require.Equal(t, exitOK, code, errs)
	assert.Contains(t, out, "4 more devices of the system (cc.gpus, cc.switches) decoded below")
	for _, name := range []string{"cc.gpus[0]", "cc.gpus[2]", "cc.switches[0]"} {
		assert.Contains(t, out, "Certificate chain from "+name+".certChain: 5 certificates")
	}
	assert.Equal(t, 5, strings.Count(out, "signature under the chain's leaf key: verifies"))
	assert.Contains(t, out, "cc.switches[0]'s request nonce differs from cc.nonce")
	assert.NotContains(t, out, hex.EncodeToString(rec.CC.GPUs[0].Report[:64]), "reports are decoded, not dumped")
}

// FuzzInspectInput: whatever the file, inspect answers with output or an error, never a panic,
// and a report it parses it also prints.
func FuzzInspectInput(f *testing.F) {
	for _, p := range []string{"hopper-535/hopperAttestationReport.txt", "switch/switchAttestationReport.txt", "serialized/switch_evidence_ls10.json"} {
		b, err := os.ReadFile(filepath.Join(nvidiaDir, p))
		require.NoError(f, err)
		f.Add(b)
	}
	f.Add([]byte("11e0zz"))
	f.Fuzz(func(t *testing.T, data []byte) {
		if raw, ok, err := rawReport(data); ok && err == nil {
			if r, err := attest.ParseReport(raw); err == nil {
				var out strings.Builder
				printSPDMReport(&out, "", r, nil)
				if !strings.Contains(out.String(), "opaque data") {
					t.Fatal("parsed report printed without its opaque data")
				}
			}
		}
		if attest.LooksSerialized(data) {
			if evs, err := attest.ParseSerializedEvidence(data); err == nil {
				var out strings.Builder
				_ = printSerialized(&out, "fuzz", evs)
			}
		}
	})
}

// TestInspectReceipt: inspect prints the receipt vector with its signature checked, an
// attestation record, and names what is wrong with a damaged receipt (exit 3).
func TestInspectReceipt(t *testing.T) {
	code, out, errs := runCLI(t, "inspect", v1Vector("receipt-v1.json"))
	if code != exitOK || !strings.Contains(out, "Receipt probity.receipt.v1") || !strings.Contains(out, "signature: valid") || !strings.Contains(out, "class      test") {
		t.Fatalf("inspect: exit %d\n%s%s", code, out, errs)
	}
	dir := t.TempDir()
	rec := filepath.Join(dir, "record.json")
	_ = os.WriteFile(rec, []byte(`{"version":"probity.attestation.v0","mode":"none"}`), 0o644)
	if code, out, _ = runCLI(t, "inspect", rec); code != exitOK || !strings.Contains(out, `"mode": "none"`) {
		t.Fatalf("inspect record: exit %d\n%s", code, out)
	}
	damaged := filepath.Join(dir, "damaged.json")
	_ = os.WriteFile(damaged, []byte(`{"version":"probity.receipt.v1","jobId":"x"}`), 0o644)
	if code, _, errs := runCLI(t, "inspect", damaged); code != exitInternal || !strings.Contains(errs, damaged+": receipt field jobId") {
		t.Fatalf("inspect damaged receipt: exit %d\n%s", code, errs)
	}
	if code, _, _ = runCLI(t, "inspect"); code != exitUsage {
		t.Fatalf("inspect without file: exit %d", code)
	}
}

// TestInspectJobHardware: inspect names a job file's hardware requirement, its nonce and the
// salt a request must carry to commit to it (specs/trace.md §1.4).
func TestInspectJobHardware(t *testing.T) {
	h := &jobs.Hardware{RequireCC: true, Boards: []string{"1010_0200_882"}}
	j := &jobs.GenJob{Prompt: []int32{1, 2}, New: 1, Hardware: h, HardwareNonce: [32]byte{5}}
	b, err := jobs.EncodeJob(j)
	require.NoError(t, err)
	path := filepath.Join(t.TempDir(), jobs.JobFile)
	require.NoError(t, os.WriteFile(path, b, 0o644))
	code, out, errs := runCLI(t, "inspect", path)
	require.Equal(t, exitOK, code, errs)
	salt, err := h.Salt(j.HardwareNonce)
	require.NoError(t, err)
	assert.Contains(t, out, `hardware   {"cc":true,"boards":["1010_0200_882"]}`)
	assert.Contains(t, out, "nonce 0x05")
	assert.Contains(t, out, salt.Text(16))
}
