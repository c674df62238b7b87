package attest

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/probitylabs/probity/attestation"
)

const nvdir = "../../testdata/nvidia"

func readHexFile(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(nvdir, path))
	if err != nil {
		t.Fatal(err)
	}
	out, err := hex.DecodeString(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return out
}

func readFile(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(nvdir, path))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func nonce32(t testing.TB, s string) (n [32]byte) {
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != 32 {
		t.Fatalf("bad nonce %q", s)
	}
	return [32]byte(b)
}

// NVIDIA's samples come without OCSP responses (NVIDIA's verifiers fetch them online), so
// tests on them run with AllowMissingOCSPUnsafe; revocation is tested with a test CA
// (revocation_test.go).

// sampleAt is a date when every sample certificate is valid.
var sampleAt = time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)

// The valid NVIDIA samples (testdata/nvidia/README.md): nonce, driver and VBIOS as NVIDIA
// documents them for each.
var samples = []struct {
	name, report, chain, nonce, driver, vbios string
	fwid                                      Status
}{
	{"hopper-2023", "hopper-2023/attestationReport.txt", "hopper-2023/gpuAkCertChain.txt", "4cff7f5380ead8fad8ec2c531c110aca4302a88f603792801a8ca29ee151af2e", "545.00", "96.00.5E.00.01", Skipped},
	{"hopper-2025", "hopper-2025/hopperAttestationReport.txt", "hopper-2025/hopperCertChain.txt", "931d8dd0add203ac3d8b4fbde75e115278eefcdceac5b87671a748f32364dfcb", "550.90.07", "96.00.9F.00.01", Passed},
	{"hopper-535", "hopper-535/hopperAttestationReport.txt", "hopper-535/hopperCertChain.txt", "27a328247bf7935c993341cf587be6f05986ccce4fe7ba2c54100bd616a58f66", "535.86.09", "96.00.5E.00.01", ""},
	{"expected", "expected/testdata_hopperAttestationReport.txt", "expected/testdata_hopperCertChain.txt", "5bb22e377702d4e1e8215a903ba094826b9ac7f731dee1fe8102958bf2840aca", "580.159.03", "96.00.74.00.20", Passed},
}

// h100Claims is what NVML says on the H100s of the samples.
func h100Claims(driver, vbios string) *attestation.Identity {
	return &attestation.Identity{Name: "NVIDIA H100 80GB HBM3", Architecture: "hopper", DriverVersion: driver, VBIOSVersion: vbios}
}

func TestSamplesVerify(t *testing.T) {
	p := &Policy{At: sampleAt, AllowMissingOCSPUnsafe: true}
	for _, s := range samples {
		t.Run(s.name, func(t *testing.T) {
			ev := Evidence{
				Report: readHexFile(t, s.report), CertChain: readFile(t, s.chain), Nonce: nonce32(t, s.nonce),
				Claims: h100Claims(s.driver, s.vbios),
			}
			res, err := VerifyReport(ev, p)
			if err != nil {
				t.Fatal(err)
			}
			if !res.OK() {
				t.Fatalf("%v\n%+v", res.Err(), res.Checks)
			}
			for _, name := range []string{CheckReportParse, CheckChain, CheckDevice, CheckModelClaims, CheckSignature, CheckNonce, CheckDriver, CheckVBIOS} {
				if c, _ := res.Get(name); c.Status != Passed {
					t.Errorf("%s: %s %s", name, c.Status, c.Reason)
				}
			}
			if res.Device == nil || res.Device.Chip.Name != "GH100" || len(res.Device.UEID) != 16 {
				t.Errorf("signed device identity %+v", res.Device)
			}
			if c, _ := res.Get(CheckFWID); s.fwid != "" && c.Status != s.fwid {
				t.Errorf("fwid: %s, want %s (%s)", c.Status, s.fwid, c.Reason)
			}
			if c, _ := res.Get(CheckMeasurements); c.Status != Skipped {
				t.Errorf("measurements ran without RIMs")
			}
		})
	}
}

func TestNegatives(t *testing.T) {
	p := &Policy{At: sampleAt, AllowMissingOCSPUnsafe: true}
	s := samples[2]
	t.Run("invalid signature", func(t *testing.T) {
		// A report from another GPU checked against hopper-535's chain.
		rep := readHexFile(t, "negative/hopperAttestationReportInvalidSignature.txt")
		r, err := ParseReport(rep)
		if err != nil {
			t.Fatal(err)
		}
		res, _ := VerifyReport(Evidence{Report: rep, CertChain: readFile(t, s.chain), Nonce: r.Request.Nonce}, p)
		if c, _ := res.Get(CheckSignature); c.Status != Failed || !errors.Is(c.Err, ErrSignature) {
			t.Fatalf("signature check %+v", c)
		}
		if !errors.Is(res.Err(), ErrSignature) {
			t.Fatal(res.Err())
		}
	})
	t.Run("invalid chain", func(t *testing.T) {
		res, _ := VerifyReport(Evidence{Report: readHexFile(t, samples[0].report), CertChain: readFile(t, "negative/invalidCertChain.txt"), Nonce: nonce32(t, samples[0].nonce)}, p)
		if c, _ := res.Get(CheckChain); c.Status != Failed || !errors.Is(c.Err, ErrChain) {
			t.Fatalf("chain check %+v", c)
		}
	})
}

// TestTampering flips what each check guards and expects exactly that check to fail.
func TestTampering(t *testing.T) {
	s := samples[1]
	rep := readHexFile(t, s.report)
	chain := readFile(t, s.chain)
	good := Evidence{Report: rep, CertChain: chain, Nonce: nonce32(t, s.nonce), Claims: h100Claims(s.driver, s.vbios)}
	p := &Policy{At: sampleAt, AllowMissingOCSPUnsafe: true}
	run := func(name string, ev Evidence, pol *Policy, check string, want error) {
		t.Run(name, func(t *testing.T) {
			res, err := VerifyReport(ev, pol)
			if err != nil {
				t.Fatal(err)
			}
			c, ok := res.Get(check)
			if !ok || c.Status != Failed || !errors.Is(c.Err, want) {
				t.Fatalf("check %s: %+v, want failure %v", check, c, want)
			}
		})
	}
	flip := func(i int) []byte { b := bytes.Clone(rep); b[i] ^= 1; return b }
	ev := good
	ev.Nonce[0] ^= 1
	run("wrong nonce", ev, p, CheckNonce, ErrNonce)
	ev = good
	ev.Report = flip(RequestSize + 20) // inside measurement block 1's value
	run("measurement bit", ev, p, CheckSignature, ErrSignature)
	ev = good
	ev.Report = flip(4) // request nonce: both signature and nonce fail
	run("request nonce bit", ev, p, CheckSignature, ErrSignature)
	ev = good
	ev.Report = flip(len(rep) - 1)
	run("signature bit", ev, p, CheckSignature, ErrSignature)
	ev = good
	ev.Claims = h100Claims("550.90.08", s.vbios)
	run("driver claim", ev, p, CheckDriver, ErrDriverMismatch)
	ev = good
	ev.Claims = h100Claims(s.driver, "96.00.9F.00.02")
	run("vbios claim", ev, p, CheckVBIOS, ErrVBIOSMismatch)
	ev = good
	ev.Claims = &attestation.Identity{Name: "NVIDIA B200", Architecture: "blackwell", DriverVersion: s.driver, VBIOSVersion: s.vbios}
	run("model claim", ev, p, CheckModelClaims, ErrModelClaim)
	ev = good
	ev.Claims = &attestation.Identity{Name: "NVIDIA H100 80GB HBM3", Architecture: "blackwell", DriverVersion: s.driver, VBIOSVersion: s.vbios}
	run("architecture claim", ev, p, CheckModelClaims, ErrModelClaim)
	ev = good
	ev.Claims = &attestation.Identity{Name: "Probity Accelerator 9000", Architecture: "hopper", DriverVersion: s.driver, VBIOSVersion: s.vbios}
	run("unknown product", ev, p, CheckModelClaims, ErrModelClaim)
	ev = good
	ev.CertChain = readFile(t, samples[2].chain) // another GPU's chain
	run("other GPU's chain", ev, p, CheckSignature, ErrSignature)
	run("expired at", good, &Policy{At: time.Date(2019, 1, 1, 0, 0, 0, 0, time.UTC)}, CheckChain, ErrChain)
	// A chain that ends at its own self-made root is not trusted: pin another root.
	other, _ := ParseCertChain(readFile(t, "roots/verifier_RIM_root.pem"))
	run("other root pinned", good, &Policy{At: sampleAt, AllowMissingOCSPUnsafe: true, Roots: other}, CheckChain, ErrChain)
	// FWID: the report's FWID entry is changed (signature fails too, FWID must still be caught).
	r, _ := ParseReport(rep)
	fw, _ := r.Opaque(OpaqueFWID)
	i := bytes.Index(rep, fw)
	ev = good
	ev.Report = flip(i + 3)
	run("fwid", ev, p, CheckFWID, ErrFWID)
}

func TestChainOrderMatters(t *testing.T) {
	certs, err := ParseCertChain(readFile(t, samples[1].chain))
	if err != nil {
		t.Fatal(err)
	}
	if len(certs) != 5 {
		t.Fatalf("%d certificates", len(certs))
	}
	root := []*x509Cert{NVIDIADeviceRoot()}
	if err := VerifyChain(certs, root, sampleAt); err != nil {
		t.Fatal(err)
	}
	swapped := []*x509Cert{certs[0], certs[2], certs[1], certs[3], certs[4]}
	if err := VerifyChain(swapped, root, sampleAt); !errors.Is(err, ErrChain) {
		t.Fatalf("swapped chain: %v", err)
	}
	// The chain's own last certificate is never what is trusted: without it the chain still
	// verifies (issued by the pinned root), and a self-signed last certificate that is not the
	// pinned root is refused.
	if err := VerifyChain(certs[:4], root, sampleAt); err != nil {
		t.Fatalf("chain without its root: %v", err)
	}
	rimRoot, _ := ParseCertChain(readFile(t, "roots/verifier_RIM_root.pem"))
	if err := VerifyChain(append(certs[:4:4], rimRoot[0]), root, sampleAt); !errors.Is(err, ErrChain) {
		t.Fatalf("foreign root at the end: %v", err)
	}
	// DER concatenation parses like PEM.
	var der []byte
	for _, c := range certs {
		der = append(der, c.Raw...)
	}
	d, err := ParseCertChain(der)
	if err != nil || len(d) != 5 || !bytes.Equal(d[4].Raw, certs[4].Raw) {
		t.Fatalf("DER chain: %v", err)
	}
}

func TestEmbeddedRootIsTestdataRoot(t *testing.T) {
	c, err := ParseCertChain(readFile(t, "roots/verifier_device_root.pem"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(c[0].Raw, NVIDIADeviceRoot().Raw) {
		t.Fatal("embedded root differs from testdata/nvidia/roots/verifier_device_root.pem")
	}
}

func TestLeafFWIDMatchesHopper2025(t *testing.T) {
	certs, _ := ParseCertChain(readFile(t, samples[1].chain))
	gh100, _ := ChipByName("GH100")
	fw, ok, err := LeafFWID(certs[0], gh100)
	if err != nil || !ok || len(fw) != FWIDSize {
		t.Fatalf("fwid %x %v %v", fw, ok, err)
	}
	r, _ := ParseReport(readHexFile(t, samples[1].report))
	rf, _ := r.Opaque(OpaqueFWID)
	if !bytes.Equal(fw, rf) {
		t.Fatalf("cert %x report %x", fw, rf)
	}
}

// TestTCBInfoFWID covers the Blackwell layout: a DICE TcbInfo with fwids[0].
func TestTCBInfoFWID(t *testing.T) {
	digest := bytes.Repeat([]byte{0xab}, 48)
	// SEQUENCE { [0] "NVIDIA", [6] { SEQUENCE { OID sha384, OCTET STRING digest } } }
	fwid := append([]byte{0x30, 0x3d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02, 0x04, 0x30}, digest...)
	fwids := append([]byte{0xa6, byte(len(fwid))}, fwid...)
	body := append([]byte{0x80, 0x06, 'N', 'V', 'I', 'D', 'I', 'A'}, fwids...)
	tcb := append([]byte{0x30, byte(len(body))}, body...)
	got, err := tcbInfoFWID(tcb)
	if err != nil || !bytes.Equal(got, digest) {
		t.Fatalf("%x %v", got, err)
	}
	if _, err := tcbInfoFWID(tcb[:20]); !errors.Is(err, ErrFWID) {
		t.Fatalf("truncated TcbInfo: %v", err)
	}
}

// TestParseMatchesNVIDIA compares the parse with NVIDIA's expected JSON field by field.
func TestParseMatchesNVIDIA(t *testing.T) {
	r, err := ParseReport(readHexFile(t, "expected/testdata_hopperAttestationReport.txt"))
	if err != nil {
		t.Fatal(err)
	}
	var req map[string]string
	if err := json.Unmarshal(readFile(t, "expected/spdm_req_parsed_output.json"), &req); err != nil {
		t.Fatal(err)
	}
	b1 := func(v byte) string { return fmt.Sprintf("0x%02x", v) }
	q := r.Request
	for k, got := range map[string]string{"SPDMVersion": b1(q.SPDMVersion), "RequestResponseCode": b1(q.Code), "Param1": b1(q.Param1), "Param2": b1(q.Param2), "Nonce": "0x" + hex.EncodeToString(q.Nonce[:]), "SlotIDParam": b1(q.SlotID)} {
		if req[k] != got {
			t.Errorf("request %s: %s, NVIDIA %s", k, got, req[k])
		}
	}
	if len(req) != 6 {
		t.Errorf("request has %d fields", len(req))
	}
	var resp struct {
		SPDMVersion, RequestResponseCode, Param1, Param2, Nonce, Signature string
		NumberOfBlocks, MeasurementRecordLength, OpaqueLength              int
		MeasurementRecord                                                  struct {
			NumberOfBlocks    int
			MeasurementBlocks map[string]struct {
				DMTFSpecMeasurementValueType int
				DMTFSpecMeasurementValueSize int
				DMTFSpecMeasurementValue     string
			}
		}
		OpaqueData struct {
			OpaqueDataField map[string]json.RawMessage
		}
	}
	if err := json.Unmarshal(readFile(t, "expected/spdm_parsed_output.json"), &resp); err != nil {
		t.Fatal(err)
	}
	s := r.Response
	eq := func(name string, got, want any) {
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s: %v, NVIDIA %v", name, got, want)
		}
	}
	eq("SPDMVersion", b1(s.SPDMVersion), resp.SPDMVersion)
	eq("RequestResponseCode", b1(s.Code), resp.RequestResponseCode)
	eq("Param1", b1(s.Param1), resp.Param1)
	eq("Param2", b1(s.Param2), resp.Param2)
	eq("NumberOfBlocks", int(s.NumberOfBlocks), resp.NumberOfBlocks)
	eq("MeasurementRecordLength", s.MeasurementRecordLength, resp.MeasurementRecordLength)
	eq("Nonce", "0x"+hex.EncodeToString(s.Nonce[:]), resp.Nonce)
	eq("OpaqueLength", s.OpaqueLength, resp.OpaqueLength)
	eq("Signature", "0x"+hex.EncodeToString(s.Signature), resp.Signature)
	eq("MeasurementRecord.NumberOfBlocks", len(s.Blocks), resp.MeasurementRecord.NumberOfBlocks)
	eq("blocks", len(s.Blocks), len(resp.MeasurementRecord.MeasurementBlocks))
	for _, blk := range s.Blocks {
		w, ok := resp.MeasurementRecord.MeasurementBlocks[strconv.Itoa(int(blk.Index))]
		if !ok {
			t.Errorf("block %d not in NVIDIA's parse", blk.Index)
			continue
		}
		eq(fmt.Sprintf("block %d type", blk.Index), int(blk.ValueType), w.DMTFSpecMeasurementValueType)
		eq(fmt.Sprintf("block %d size", blk.Index), len(blk.Value), w.DMTFSpecMeasurementValueSize)
		eq(fmt.Sprintf("block %d value", blk.Index), "0x"+hex.EncodeToString(blk.Value), w.DMTFSpecMeasurementValue)
	}
	fields := resp.OpaqueData.OpaqueDataField
	// NVIDIA's parser behind this vector drops the types it does not know (34 and 36 here);
	// every field it lists must be ours, byte for byte.
	matched := 0
	for _, f := range s.Opaque {
		name := "OPAQUE_FIELD_ID_" + OpaqueNames[f.Type]
		raw, ok := fields[name]
		if !ok {
			if f.Type <= OpaqueLockSwitchStatus {
				t.Errorf("opaque %s not in NVIDIA's parse", name)
			}
			continue
		}
		matched++
		if f.Type == OpaqueMsrsCnt {
			var want []uint32
			_ = json.Unmarshal(raw, &want)
			got, _ := r.MeasurementCounts()
			eq(name, got, want)
			continue
		}
		var want string
		_ = json.Unmarshal(raw, &want)
		eq(name, "0x"+hex.EncodeToString(f.Value), want)
	}
	eq("opaque fields matched", matched, len(fields))
	if v, _ := r.VBIOSVersion(); v != "96.00.74.00.20" {
		t.Errorf("VBIOS %s", v)
	}
	if v, _ := r.DriverVersion(); v != "580.159.03" {
		t.Errorf("driver %s", v)
	}
}

func TestRIMs(t *testing.T) {
	rep := readHexFile(t, samples[0].report)
	drv := readFile(t, "rims/Driver_RIM_test_no_gpu.swidtag")
	vbTest := readFile(t, "rims/1010_0200_882_96005E0001_test_no_gpu.swidtag")
	vbProd := readFile(t, "rims/1010_0200_882_96005E0001_PROD.swidtag")
	ev := Evidence{Report: rep, CertChain: readFile(t, samples[0].chain), Nonce: nonce32(t, samples[0].nonce)}
	res, _ := VerifyReport(ev, &Policy{At: sampleAt, AllowMissingOCSPUnsafe: true, RIMs: [][]byte{drv, vbTest}})
	if !res.OK() {
		t.Fatal(res.Err())
	}
	if c, _ := res.Get(CheckMeasurements); c.Status != Passed {
		t.Fatalf("%+v", c)
	}
	for _, name := range []string{"rim.driver.signature", "rim.driver.chain", "rim.driver.version", "rim.driver.product", "rim.vbios.signature", "rim.vbios.chain", "rim.vbios.version", "rim.vbios.product", CheckRIMSet} {
		if c, _ := res.Get(name); c.Status != Passed {
			t.Errorf("%s: %+v", name, c)
		}
	}
	res, _ = VerifyReport(ev, &Policy{At: sampleAt, AllowMissingOCSPUnsafe: true, RIMs: [][]byte{drv, vbProd}})
	c, _ := res.Get(CheckMeasurements)
	if c.Status != Failed || !errors.Is(c.Err, ErrMeasurement) {
		t.Fatalf("PROD RIM: %+v", c)
	}
	for _, idx := range []string{"1", "2", "3", "9"} {
		if !strings.Contains(c.Err.Error(), idx) {
			t.Errorf("mismatch list %v lacks %s", c.Err, idx)
		}
	}
	if _, err := ParseRIM([]byte("<SoftwareIdentity><Payload></Payload></SoftwareIdentity>")); !errors.Is(err, ErrMalformedRIM) {
		t.Fatalf("empty RIM: %v", err)
	}
	res, _ = VerifyReport(ev, &Policy{At: sampleAt, AllowMissingOCSPUnsafe: true, RIMs: [][]byte{[]byte("<x")}})
	if c, _ := res.Get(CheckRIMParse); c.Status != Failed || !errors.Is(c.Err, ErrMalformedRIM) {
		t.Fatalf("bad RIM: %+v", c)
	}
}

func TestPolicyRequired(t *testing.T) {
	if _, err := VerifyReport(Evidence{}, nil); !errors.Is(err, ErrNoPolicy) {
		t.Fatal(err)
	}
	if _, err := VerifyRecord(&attestation.Record{Version: attestation.Version, Mode: attestation.ModeNone}, [32]byte{}, nil); !errors.Is(err, ErrNoPolicy) {
		t.Fatal(err)
	}
}

func ccRecord(t *testing.T) (*attestation.Record, [32]byte) {
	s := samples[1]
	n := nonce32(t, s.nonce)
	return &attestation.Record{
		Version: attestation.Version, Mode: attestation.ModeNVMLCC,
		Identity: h100Claims(s.driver, s.vbios),
		CC:       &attestation.CC{Enabled: true, Ready: true, Nonce: n[:], Report: readHexFile(t, s.report), CertChain: readFile(t, s.chain)},
	}, n
}

func TestVerifyRecord(t *testing.T) {
	rec, n := ccRecord(t)
	strict := &Policy{At: sampleAt, AllowMissingOCSPUnsafe: true, RequireCC: true, AllowedModels: []string{"NVIDIA H100 80GB HBM3"}}
	res, err := VerifyRecord(rec, n, strict)
	if err != nil || !res.OK() {
		t.Fatalf("%v %v", err, res.Err())
	}
	none := &attestation.Record{Version: attestation.Version, Mode: attestation.ModeNone}
	res, _ = VerifyRecord(none, n, strict)
	if !errors.Is(res.Err(), ErrCCRequired) {
		t.Fatalf("mode none under RequireCC: %v", res.Err())
	}
	res, _ = VerifyRecord(none, n, PolicyUnsafeAcceptAll)
	if !res.OK() {
		t.Fatalf("mode none under PolicyUnsafeAcceptAll: %v", res.Err())
	}
	res, _ = VerifyRecord(rec, n, &Policy{At: sampleAt, AllowMissingOCSPUnsafe: true, AllowedModels: []string{"NVIDIA B200"}})
	if !errors.Is(res.Err(), ErrModelNotAllowed) {
		t.Fatalf("model: %v", res.Err())
	}
	res, _ = VerifyRecord(rec, n, &Policy{At: sampleAt, AllowMissingOCSPUnsafe: true, AllowedChips: []string{"GH100"}})
	if !res.OK() {
		t.Fatalf("GH100-only policy, GH100 evidence: %v", res.Err())
	}
	res, _ = VerifyRecord(rec, n, &Policy{At: sampleAt, AllowMissingOCSPUnsafe: true, AllowedChips: []string{"GB100"}})
	if c, _ := res.Get(CheckModel); c.Status != Failed || !errors.Is(c.Err, ErrModelNotAllowed) {
		t.Fatalf("GB100-only policy, GH100 evidence: %+v", c)
	}
	other := n
	other[5] ^= 1
	res, _ = VerifyRecord(rec, other, strict)
	if !errors.Is(res.Err(), ErrNonce) {
		t.Fatalf("nonce: %v", res.Err())
	}
	rec.CC.DevToolsMode = true
	res, _ = VerifyRecord(rec, n, strict)
	if !errors.Is(res.Err(), ErrDevTools) {
		t.Fatalf("devtools: %v", res.Err())
	}
	bad := &attestation.Record{Version: "v9", Mode: attestation.ModeNone}
	res, _ = VerifyRecord(bad, n, PolicyUnsafeAcceptAll)
	if !errors.Is(res.Err(), ErrMalformedRecord) {
		t.Fatalf("bad record: %v", res.Err())
	}
	// Unsafe still checks a report that is present.
	rec, _ = ccRecord(t)
	rec.CC.Report[len(rec.CC.Report)-1] ^= 1
	res, _ = VerifyRecord(rec, n, PolicyUnsafeAcceptAll)
	if !errors.Is(res.Err(), ErrSignature) {
		t.Fatalf("unsafe policy accepted a bad signature: %v", res.Err())
	}
}

func TestParseReportErrors(t *testing.T) {
	rep := readHexFile(t, samples[1].report)
	cases := map[string][]byte{
		"empty":             nil,
		"request only":      rep[:RequestSize],
		"truncated":         rep[:len(rep)-1],
		"trailing":          append(bytes.Clone(rep), 0),
		"bad version":       append([]byte{0x10}, rep[1:]...),
		"bad request code":  append([]byte{0x11, 0xe1}, rep[2:]...),
		"bad response code": func() []byte { b := bytes.Clone(rep); b[RequestSize+1] = 0x61; return b }(),
		"block count":       func() []byte { b := bytes.Clone(rep); b[RequestSize+4]++; return b }(),
		"record length":     func() []byte { b := bytes.Clone(rep); b[RequestSize+7] = 0xff; return b }(),
	}
	for name, b := range cases {
		if _, err := ParseReport(b); !errors.Is(err, ErrMalformedReport) {
			t.Errorf("%s: %v", name, err)
		}
	}
	// An unknown opaque type is kept and skipped by the checks.
	r, _ := ParseReport(rep)
	if _, ok := r.Opaque(0x7777); ok {
		t.Fatal("phantom field")
	}
}

func FuzzParseReport(f *testing.F) {
	for _, s := range samples {
		f.Add(readHexFile(f, s.report))
	}
	f.Add(readHexFile(f, "negative/hopperAttestationReportInvalidSignature.txt"))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := ParseReport(b)
		if err != nil {
			if !errors.Is(err, ErrMalformedReport) {
				t.Fatalf("error %v does not wrap ErrMalformedReport", err)
			}
			return
		}
		// Everything parsed lies inside the input: no allocation beyond it.
		if len(r.Signed())+SignatureSize != len(b) {
			t.Fatal("signed part does not cover the report")
		}
		r.DriverVersion()
		r.VBIOSVersion()
		r.MeasurementCounts()
	})
}

func FuzzParseCertChain(f *testing.F) {
	f.Add(readFile(f, samples[1].chain))
	f.Add([]byte{0x30, 0x82, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		certs, err := ParseCertChain(b)
		if err == nil {
			_ = VerifyChain(certs, []*x509Cert{NVIDIADeviceRoot()}, sampleAt)
			IdentifyDevice(certs)
			for _, c := range Chips {
				if _, _, err := LeafFWID(certs[0], c); err != nil && !errors.Is(err, ErrFWID) {
					t.Fatalf("FWID error %v does not wrap ErrFWID", err)
				}
			}
		}
	})
}

func BenchmarkVerifyReport(b *testing.B) {
	s := samples[1]
	ev := Evidence{Report: readHexFile(b, s.report), CertChain: readFile(b, s.chain), Nonce: nonce32(b, s.nonce), Claims: h100Claims(s.driver, s.vbios)}
	p := &Policy{At: sampleAt, AllowMissingOCSPUnsafe: true}
	for b.Loop() {
		res, err := VerifyReport(ev, p)
		if err != nil || !res.OK() {
			b.Fatal(err, res.Err())
		}
	}
}

// TestChainCache: a cached chain answers like an uncached one, for the valid case, an
// expired time, another pinned root and a tampered chain (none of which may be served from a
// success cached earlier).
func TestChainCache(t *testing.T) {
	s := samples[1]
	good := Evidence{Report: readHexFile(t, s.report), CertChain: readFile(t, s.chain), Nonce: nonce32(t, s.nonce), Claims: h100Claims(s.driver, s.vbios)}
	cache := &ChainCache{}
	p := &Policy{At: sampleAt, AllowMissingOCSPUnsafe: true, ChainCache: cache}
	for i := range 2 {
		res, err := VerifyReport(good, p)
		if err != nil || !res.OK() {
			t.Fatalf("run %d: %v %v", i, err, res.Err())
		}
	}
	if len(cache.good) != 1 {
		t.Fatalf("cache holds %d chains, want 1", len(cache.good))
	}
	check := func(name string, ev Evidence, pol *Policy) {
		t.Helper()
		res, _ := VerifyReport(ev, pol)
		c, _ := res.Get(CheckChain)
		if c.Status != Failed || !errors.Is(c.Err, ErrChain) {
			t.Errorf("%s: chain check %+v, want ErrChain", name, c)
		}
	}
	check("expired at, cached chain", good, &Policy{At: time.Date(2019, 1, 1, 0, 0, 0, 0, time.UTC), AllowMissingOCSPUnsafe: true, ChainCache: cache})
	other, _ := ParseCertChain(readFile(t, "roots/verifier_RIM_root.pem"))
	check("other root, cached chain", good, &Policy{At: sampleAt, AllowMissingOCSPUnsafe: true, Roots: other, ChainCache: cache})
	tampered := good
	tampered.CertChain = bytes.Replace(bytes.Clone(good.CertChain), []byte("MII"), []byte("MIJ"), 1)
	check("tampered chain", tampered, p)
	if len(cache.good) != 1 {
		t.Fatalf("a failure was cached: %d chains", len(cache.good))
	}
}

// TestModelFromSignedEvidence: H100 evidence whose NVML claims say "NVIDIA B200" must not
// satisfy a B200-only policy, and the record fails even under a policy allowing any model.
func TestModelFromSignedEvidence(t *testing.T) {
	rec, n := ccRecord(t)
	rec.Identity.Name, rec.Identity.Architecture = "NVIDIA B200", "blackwell"
	res, err := VerifyRecord(rec, n, &Policy{At: sampleAt, AllowMissingOCSPUnsafe: true, RequireCC: true, AllowedModels: []string{"NVIDIA B200"}})
	if err != nil {
		t.Fatal(err)
	}
	if c, _ := res.Get(CheckModel); c.Status != Failed || !errors.Is(c.Err, ErrModelNotAllowed) || !errors.Is(c.Err, ErrModelClaim) {
		t.Fatalf("B200-only policy accepted H100 evidence: %+v", c)
	}
	res, _ = VerifyRecord(rec, n, &Policy{At: sampleAt, AllowMissingOCSPUnsafe: true})
	if c, _ := res.Get(CheckModelClaims); c.Status != Failed || !errors.Is(c.Err, ErrModelClaim) {
		t.Fatalf("NVML claim of a B200 over H100 evidence: %+v", c)
	}
	if !strings.Contains(res.Err().Error(), "GH100") {
		t.Errorf("error does not name the signed chip: %v", res.Err())
	}
	// Without CC evidence a chip policy cannot be met.
	nvml := &attestation.Record{Version: attestation.Version, Mode: attestation.ModeNVML, Identity: h100Claims("550.90.07", "96.00.9F.00.01")}
	res, _ = VerifyRecord(nvml, n, &Policy{AllowedChips: []string{"GH100"}})
	if c, _ := res.Get(CheckModel); c.Status != Failed {
		t.Fatalf("chip policy met by NVML claims: %+v", c)
	}
}

func TestIdentifyDevice(t *testing.T) {
	for _, s := range samples {
		certs, err := ParseCertChain(readFile(t, s.chain))
		if err != nil {
			t.Fatal(err)
		}
		id, err := IdentifyDevice(certs)
		if err != nil || id.Chip.Name != "GH100" || id.Chip.Kind != KindGPU || id.UEID == "" {
			t.Errorf("%s: %+v %v", s.name, id, err)
		}
	}
	certs, _ := ParseCertChain(readFile(t, samples[1].chain))
	// A chain whose device certificate and provisioner CA disagree is refused.
	if _, err := IdentifyDevice([]*x509Cert{certs[0], certs[1], certs[3]}); !errors.Is(err, ErrChipIdentity) {
		t.Fatalf("mismatched issuer: %v", err)
	}
	if _, err := IdentifyDevice(certs[:2]); !errors.Is(err, ErrChipIdentity) {
		t.Fatalf("short chain: %v", err)
	}
	if c, ok := ChipForProduct("NVIDIA H100 80GB HBM3"); !ok || c.Name != "GH100" {
		t.Fatal("H100 product")
	}
	if c, ok := ChipForProduct("NVIDIA B200"); !ok || c.Name != "GB100" {
		t.Fatal("B200 product")
	}
}

func TestOpaqueFeatures(t *testing.T) {
	// NVIDIA's 580 sample states opaque-data version 1 and FEATURE_FLAG SPT; the older
	// samples state neither.
	res := rimResult(t, 3, &Policy{At: sampleAt, AllowMissingOCSPUnsafe: true, AllowedModes: []string{ModeSPT}})
	wantCheck(t, res, CheckOpaqueVersion, Passed, nil)
	wantCheck(t, res, CheckFeatures, Passed, nil)
	if res.Features == nil || res.Features.OpaqueVersion != 1 || res.Features.Mode != ModeSPT || !res.Features.HasProtectedPCIeState {
		t.Fatalf("features %+v", res.Features)
	}
	res = rimResult(t, 3, &Policy{At: sampleAt, AllowMissingOCSPUnsafe: true, AllowedModes: []string{ModePPCIE}})
	wantCheck(t, res, CheckFeatures, Failed, ErrFeature)
	res = rimResult(t, 1, &Policy{At: sampleAt, AllowMissingOCSPUnsafe: true, AllowedModes: []string{ModeSPT}})
	wantCheck(t, res, CheckFeatures, Failed, ErrFeature) // legacy firmware states no mode
	if res.Features.Mode != ModeLegacy {
		t.Fatalf("mode %s", res.Features.Mode)
	}

	// An unknown version or mode is refused (the signature fails too, being edited; the
	// opaque check must catch it by itself).
	r, _ := ParseReport(readHexFile(t, samples[3].report))
	for i, f := range r.Response.Opaque {
		switch f.Type {
		case OpaqueOpaqueDataVersion:
			r.Response.Opaque[i].Value = []byte{2, 0}
		}
	}
	if _, err := r.Features(); !errors.Is(err, ErrOpaqueVersion) {
		t.Fatalf("version 2: %v", err)
	}
	r, _ = ParseReport(readHexFile(t, samples[3].report))
	for i, f := range r.Response.Opaque {
		if f.Type == OpaqueFeatureFlag {
			r.Response.Opaque[i].Value = []byte{7, 0}
		}
	}
	if _, err := r.Features(); !errors.Is(err, ErrOpaqueVersion) {
		t.Fatalf("feature flag 7: %v", err)
	}
	for _, ty := range []uint16{OpaqueSysEnableStatus, OpaqueOpaqueDataVersion, OpaqueChipInfo, OpaqueFeatureFlag} {
		if OpaqueNames[ty] == "" {
			t.Errorf("opaque type %d unnamed", ty)
		}
	}
}
