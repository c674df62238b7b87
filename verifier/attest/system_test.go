package attest

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha512"
	"crypto/x509"
	"encoding/binary"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/probitylabs/probity/attestation"
)

// NVSwitch and multi-GPU evidence. NVIDIA's samples give real switch evidence, real PPCIE GPU
// evidence (4 H100s in mode ppcie) and real switch evidence repeated four times; they are not
// one system (the GPUs' switches are not the sample switch), so they give the negative
// topology cases, and a test CA below builds a whole HGX system for the positive ones.

// switchAt is when the switch chain and its BIOS RIM's signer are both valid.
var switchAt = time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)

const switchNonce = "931d8dd0add203ac3d8b4fbde75e115278eefcdceac5b87671a748f32364dfcb"

func switchEvidence(t testing.TB) Evidence {
	return Evidence{Report: readHexFile(t, "switch/switchAttestationReport.txt"), CertChain: readFile(t, "switch/switchCertChain.txt"), Nonce: nonce32(t, switchNonce)}
}

func serialized(t testing.TB, name string) []SerializedEvidence {
	t.Helper()
	evs, err := ParseSerializedEvidence(readFile(t, "serialized/"+name))
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

func TestSwitchSampleVerifies(t *testing.T) {
	rim := readFile(t, "switch/switchVBIOSRim_NV_SWITCH_BIOS_5612_0002_890_9610550001.xml")
	res, err := VerifySwitchReport(switchEvidence(t), &Policy{At: switchAt, AllowMissingOCSPUnsafe: true, SwitchRIMs: [][]byte{rim}, RequireRIMs: true})
	if err != nil {
		t.Fatal(err)
	}
	if !res.OK() {
		t.Fatal(res.Err())
	}
	for _, name := range []string{CheckChain, CheckDevice, CheckReportKind, CheckSignature, CheckNonce, "rim.vbios.signature", "rim.vbios.chain", "rim.vbios.version", "rim.vbios.product", CheckRIMSet, CheckMeasurements} {
		wantCheck(t, res, name, Passed, nil)
	}
	wantCheck(t, res, CheckFWID, Skipped, nil) // the switch report carries no FWID
	if res.Device.Chip.Name != "LS_10" || res.Device.Chip.Kind != KindSwitch {
		t.Fatalf("device %+v", res.Device)
	}
	if v, ok := res.Report.SwitchBIOSVersion(); !ok || v != "96.10.55.00.01" {
		t.Fatalf("BIOS version %q %v", v, ok)
	}
	if pdi, ok := res.Report.DevicePDI(); !ok || pdi.String() != "203eb31ad9ed0008" {
		t.Fatalf("device PDI %s", pdi)
	}
	// The serialized copy is the same evidence.
	if evs := serialized(t, "switch_evidence_ls10.json"); len(evs) != 1 || evs[0].Kind != KindSwitch || !bytes.Equal(evs[0].Report, switchEvidence(t).Report) {
		t.Fatal("switch_evidence_ls10.json is not the switch sample")
	}
}

func TestSwitchNegatives(t *testing.T) {
	p := &Policy{At: switchAt, AllowMissingOCSPUnsafe: true}
	ev := switchEvidence(t)
	ev.Report = readHexFile(t, "switch/switchAttestationReportInvalidSignature.txt")
	res, _ := VerifySwitchReport(ev, p)
	wantCheck(t, res, CheckSignature, Failed, ErrSignature)

	for name, tc := range map[string]struct {
		rim   string
		check string
		err   error
	}{
		"invalid signature":    {"switch/NV_SWITCH_BIOS_5612_0002_890_9610550001_invalid_signature.xml", "rim.vbios.signature", nil},
		"measurement mismatch": {"switch/NV_SWITCH_BIOS_5612_0002_890_9610550001_measurement_mismatch.xml", CheckMeasurements, ErrMeasurement},
	} {
		pol := *p
		pol.SwitchRIMs = [][]byte{readFile(t, tc.rim)}
		pol.AllowUnsignedRIMsUnsafe = tc.check == CheckMeasurements // the edited RIM's digest fails too
		res, _ := VerifySwitchReport(switchEvidence(t), &pol)
		if c, _ := res.Get(tc.check); c.Status != Failed || (tc.err != nil && !errors.Is(c.Err, tc.err)) {
			t.Errorf("%s: %s %+v", name, tc.check, c)
		}
	}
	// A GPU's driver RIM set for a switch is refused: a switch has only a BIOS RIM.
	pol := *p
	pol.SwitchRIMs = [][]byte{readFile(t, "rims/Driver_RIM_test_no_gpu.swidtag"), readFile(t, "switch/switchVBIOSRim_NV_SWITCH_BIOS_5612_0002_890_9610550001.xml")}
	pol.AllowUnsignedRIMsUnsafe = true
	res, _ = VerifySwitchReport(switchEvidence(t), &pol)
	wantCheck(t, res, CheckRIMSet, Failed, ErrRIMSet)
}

// TestSwitchIsNotGPU: evidence of one kind never passes as the other, by its chain (device) and
// by its shape (report.kind), even though the signature, chain and nonce verify.
func TestSwitchIsNotGPU(t *testing.T) {
	res, _ := VerifyReport(switchEvidence(t), &Policy{At: switchAt, AllowMissingOCSPUnsafe: true})
	wantCheck(t, res, CheckSignature, Passed, nil)
	wantCheck(t, res, CheckDevice, Failed, ErrNotGPU)
	wantCheck(t, res, CheckReportKind, Failed, ErrReportKind)

	s := samples[1]
	gpu := Evidence{Report: readHexFile(t, s.report), CertChain: readFile(t, s.chain), Nonce: nonce32(t, s.nonce)}
	res, _ = VerifySwitchReport(gpu, &Policy{At: sampleAt, AllowMissingOCSPUnsafe: true})
	wantCheck(t, res, CheckSignature, Passed, nil)
	wantCheck(t, res, CheckDevice, Failed, ErrNotSwitch)
	wantCheck(t, res, CheckReportKind, Failed, ErrReportKind)

	// A switch report under a GPU's chain fails its signature as well.
	mixed := switchEvidence(t)
	mixed.CertChain = gpu.CertChain
	res, _ = VerifySwitchReport(mixed, &Policy{At: sampleAt, AllowMissingOCSPUnsafe: true})
	wantCheck(t, res, CheckSignature, Failed, ErrSignature)
}

// TestFWIDLayoutByArchitecture: the FWID is read in the layout of the chip the chain names. The
// switch chain holds an "NVIDIA GH100 Identity" CA, so a name test would be fooled.
func TestFWIDLayoutByArchitecture(t *testing.T) {
	certs, _ := ParseCertChain(readFile(t, "switch/switchCertChain.txt"))
	id, err := IdentifyDevice(certs)
	if err != nil || id.Chip.Name != "LS_10" || id.Chip.FWID != FWIDTcbInfoTail {
		t.Fatalf("%+v %v", id, err)
	}
	if !strings.Contains(certs[3].Subject.CommonName, "GH100") {
		t.Fatalf("sample no longer has a GH100 CA in a switch chain: %s", certs[3].Subject.CommonName)
	}
	if fw, ok, err := LeafFWID(certs[0], id.Chip); err != nil || !ok || len(fw) != FWIDSize {
		t.Fatalf("LS_10 FWID %x %v %v", fw, ok, err)
	}
	// Hopper evidence read in the Blackwell layout does not give the report's FWID.
	gpu, _ := ParseCertChain(readFile(t, samples[1].chain))
	r, _ := ParseReport(readHexFile(t, samples[1].report))
	want, _ := r.Opaque(OpaqueFWID)
	gb100, _ := ChipByName("GB100")
	if fw, _, _ := LeafFWID(gpu[0], gb100); bytes.Equal(fw, want) {
		t.Fatal("the Blackwell layout read Hopper's FWID")
	}
	if _, _, err := LeafFWID(gpu[0], Chip{Name: "XX"}); !errors.Is(err, ErrFWID) {
		t.Fatalf("unknown layout: %v", err)
	}
}

func TestSwitchOpaqueNames(t *testing.T) {
	r, _ := ParseReport(switchEvidence(t).Report)
	for _, f := range r.Response.Opaque {
		if OpaqueName(KindSwitch, f.Type) == "" {
			t.Errorf("switch opaque type %d unnamed", f.Type)
		}
	}
	if OpaqueName(KindSwitch, 22) != "DEVICE_PDI" || OpaqueName(KindGPU, 22) != "SWITCH_PDI" || OpaqueName(KindSwitch, 3) != "DRIVER_VERSION" {
		t.Fatal("names by kind")
	}
}

// multiGPURecord is a record of NVIDIA's 4 PPCIE H100s (the first in cc.report) and the given
// switches.
func multiGPURecord(t testing.TB, switches ...SerializedEvidence) (*attestation.Record, [32]byte) {
	t.Helper()
	gpus := serialized(t, "multi_gpu_hopper.json")
	r, err := ParseReport(gpus[0].Report)
	if err != nil {
		t.Fatal(err)
	}
	vb, _ := r.VBIOSVersion()
	drv, _ := r.DriverVersion()
	rec := &attestation.Record{Version: attestation.Version, Mode: attestation.ModeNVMLCC, Identity: h100Claims(drv, vb),
		CC: &attestation.CC{Enabled: true, Ready: true, Nonce: gpus[0].Nonce[:], Report: gpus[0].Report, CertChain: gpus[0].CertChain}}
	for _, g := range gpus[1:] {
		rec.CC.GPUs = append(rec.CC.GPUs, attestation.DeviceEvidence{Report: g.Report, CertChain: g.CertChain})
	}
	for _, s := range switches {
		rec.CC.Switches = append(rec.CC.Switches, attestation.DeviceEvidence{Report: s.Report, CertChain: s.CertChain})
	}
	if err := rec.Validate(); err != nil {
		t.Fatal(err)
	}
	return rec, gpus[0].Nonce
}

func TestMultiGPUSample(t *testing.T) {
	rec, n := multiGPURecord(t)
	p := &Policy{At: sampleAt, AllowMissingOCSPUnsafe: true, AllowedModes: []string{ModePPCIE}}
	res, err := VerifyRecord(rec, n, p)
	if err != nil {
		t.Fatal(err)
	}
	if !res.OK() {
		t.Fatal(res.Err())
	}
	if len(res.System) != 3 {
		t.Fatalf("%d system devices", len(res.System))
	}
	for i := range 3 {
		for _, c := range []string{CheckChain, CheckDevice, CheckReportKind, CheckSignature, CheckNonce, CheckFWID, CheckFeatures} {
			wantCheck(t, res, fmt.Sprintf("gpus[%d].%s", i, c), Passed, nil)
		}
	}
	wantCheck(t, res, CheckSystemUnique, Passed, nil)
	wantCheck(t, res, CheckSystemDriver, Passed, nil)
	wantCheck(t, res, CheckTopologyMode, Skipped, nil)

	// The 4 GPUs agree on their 4 switches and are in mode ppcie; a 4-GPU policy fails only
	// for want of the switches.
	p.Topology = &TopologyPolicy{GPUs: 4, Switches: 4}
	res, _ = VerifyRecord(rec, n, p)
	wantCheck(t, res, CheckTopologyMode, Passed, nil)
	wantCheck(t, res, CheckTopologyGPUs, Passed, nil)
	wantCheck(t, res, CheckTopologySwitches, Failed, ErrTopology)
	// NVIDIA's 8-GPU default.
	p.Topology = &TopologyPolicy{}
	res, _ = VerifyRecord(rec, n, p)
	wantCheck(t, res, CheckTopologyGPUs, Failed, ErrTopology)

	// The sample switch is not one of these GPUs' switches.
	sw := serialized(t, "switch_evidence_ls10.json")
	rec, _ = multiGPURecord(t, sw...)
	res, _ = VerifyRecord(rec, n, &Policy{At: switchAt, AllowMissingOCSPUnsafe: true})
	wantCheck(t, res, "switches[0].signature", Passed, nil)
	wantCheck(t, res, "switches[0].device", Passed, nil)
	wantCheck(t, res, "switches[0].nonce", Failed, ErrNonce) // attested over another nonce
	wantCheck(t, res, CheckTopologyGPUs, Failed, ErrTopology)
}

func TestTopologyNegativesFromSamples(t *testing.T) {
	var gpus []*Report
	for _, g := range serialized(t, "multi_gpu_hopper.json") {
		r, err := ParseReport(g.Report)
		if err != nil {
			t.Fatal(err)
		}
		gpus = append(gpus, r)
	}
	seen, err := checkGPUTopology(gpus, TopologyPolicy{GPUs: 4, Switches: 4})
	if err != nil || len(seen) != 4 {
		t.Fatalf("%v %v", seen, err)
	}
	var switches []*Report
	for _, s := range serialized(t, "multi_switch_ls10.json") {
		r, err := ParseReport(s.Report)
		if err != nil {
			t.Fatal(err)
		}
		switches = append(switches, r)
	}
	// As if the GPUs saw the sample switch (and three others), and the switches connected the
	// 7 GPUs the sample switch lists: only the repetition is left to fail.
	seenSample := map[PDI]bool{mustDevicePDI(t, switches[0]): true, {1}: true, {2}: true, {3}: true}
	for name, tc := range map[string]struct {
		switches []*Report
		seen     map[PDI]bool
		tp       TopologyPolicy
		want     string
	}{
		"one switch four times":   {switches, seenSample, TopologyPolicy{GPUs: 7, Switches: 4}, "two NVSwitches state DEVICE_PDI 203eb31ad9ed0008"},
		"another system's switch": {switches[:1], seen, TopologyPolicy{GPUs: 4, Switches: 1}, "is not among the switches the GPUs see"},
		"too few switches":        {switches[:1], seen, TopologyPolicy{GPUs: 4, Switches: 4}, "1 NVSwitches, want 4"},
	} {
		err := checkSwitchTopology(tc.switches, tc.seen, tc.tp)
		if !errors.Is(err, ErrTopology) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v", name, err)
		}
	}
	// The sample switch lists one GPU PDI twice: 7 distinct GPUs, not NVIDIA's 8.
	err = checkSwitchTopology(switches[:1], map[PDI]bool{mustDevicePDI(t, switches[0]): true}, TopologyPolicy{GPUs: 8, Switches: 1})
	if !errors.Is(err, ErrTopology) || !strings.Contains(err.Error(), "connects 7 distinct GPUs") {
		t.Errorf("7 GPUs: %v", err)
	}
	// A GPU whose links name a fifth switch.
	tampered := *gpus[3]
	tampered.Response.Opaque = append([]OpaqueField(nil), gpus[3].Response.Opaque...)
	for i, f := range tampered.Response.Opaque {
		if f.Type == OpaqueSwitchPDI {
			v := bytes.Clone(f.Value)
			v[0] ^= 1
			tampered.Response.Opaque[i].Value = v
		}
	}
	if _, err := checkGPUTopology([]*Report{gpus[0], gpus[1], gpus[2], &tampered}, TopologyPolicy{GPUs: 4, Switches: 4}); !errors.Is(err, ErrTopology) {
		t.Errorf("fifth switch: %v", err)
	}
}

func mustDevicePDI(t testing.TB, r *Report) PDI {
	p, ok := r.DevicePDI()
	if !ok {
		t.Fatal("no DEVICE_PDI")
	}
	return p
}

// TestSameDeviceTwice: two reports of one switch (the sample and its bad-signature twin)
// count as one device.
func TestSameDeviceTwice(t *testing.T) {
	bad := SerializedEvidence{Report: readHexFile(t, "switch/switchAttestationReportInvalidSignature.txt"), CertChain: readFile(t, "switch/switchCertChain.txt")}
	good := serialized(t, "switch_evidence_ls10.json")[0]
	rec, n := multiGPURecord(t, good, bad)
	res, _ := VerifyRecord(rec, n, &Policy{At: switchAt, AllowMissingOCSPUnsafe: true})
	wantCheck(t, res, CheckSystemUnique, Failed, ErrDuplicateDevice)
	wantCheck(t, res, "switches[1].signature", Failed, ErrSignature)
}

// A test HGX system: 8 GPUs and 4 NVSwitches with chains from a test CA shaped like NVIDIA's
// (leaf, BROM, provisioner CA), reports signed by each leaf and wired as NVIDIA requires.

type testDevice struct {
	chain []byte
	leaf  *testCert
	pdi   PDI
}

type hgx struct {
	root     *testCert
	gpus     []testDevice
	switches []testDevice
	nonce    [32]byte
}

func newHGX(t testing.TB) *hgx {
	h := &hgx{root: issue(t, "Probity Test Device Identity CA", nil, true, nil)}
	copy(h.nonce[:], "probity multi-GPU test nonce....")
	icas := map[string]*testCert{}
	mk := func(chip, stage string) testDevice {
		ica := icas[chip]
		if ica == nil {
			ica = issue(t, "NVIDIA "+chip+" Provisioner ICA 1", h.root, true, nil)
			icas[chip] = ica
		}
		brom := issue(t, chip+" A01 "+stage+" BROM", ica, true, nil)
		leaf := issue(t, chip+" A01 "+stage+" FMC LF", brom, false, nil)
		var pem []byte
		for _, c := range []*testCert{leaf, brom, ica} {
			pem = append(pem, pemCert(c.Cert)...)
		}
		var pdi PDI
		if _, err := rand.Read(pdi[:]); err != nil {
			t.Fatal(err)
		}
		return testDevice{chain: pem, leaf: leaf, pdi: pdi}
	}
	for range PPCIEGPUs {
		h.gpus = append(h.gpus, mk("GH100", "GSP"))
	}
	for range PPCIESwitches {
		h.switches = append(h.switches, mk("LS_10", "FSP"))
	}
	return h
}

func pemCert(c *x509.Certificate) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
}

type opaqueTLV struct {
	typ uint16
	val []byte
}

// spdmReport builds a signed GET_MEASUREMENTS exchange with one measurement block.
func spdmReport(t testing.TB, key *ecdsa.PrivateKey, nonce [32]byte, opaque []opaqueTLV) []byte {
	t.Helper()
	b := []byte{SPDMVersion11, CodeGetMeasurements, 0x01, 0xff}
	b = append(b, nonce[:]...)
	b = append(b, 0) // slot
	digest := bytes.Repeat([]byte{0x42}, 48)
	blk := append([]byte{1, dmtfSpecification, byte(3 + len(digest)), 0, 0x01, byte(len(digest)), 0}, digest...)
	b = append(b, SPDMVersion11, CodeMeasurements, 0, 0, 1, byte(len(blk)), 0, 0)
	b = append(b, blk...)
	b = append(b, bytes.Repeat([]byte{0x77}, NonceSize)...)
	var op []byte
	for _, f := range opaque {
		op = binary.LittleEndian.AppendUint16(op, f.typ)
		op = binary.LittleEndian.AppendUint16(op, uint16(len(f.val)))
		op = append(op, f.val...)
	}
	b = binary.LittleEndian.AppendUint16(b, uint16(len(op)))
	b = append(b, op...)
	h := sha512.Sum384(b)
	r, s, err := ecdsa.Sign(rand.Reader, key, h[:])
	if err != nil {
		t.Fatal(err)
	}
	sig := make([]byte, SignatureSize)
	r.FillBytes(sig[:48])
	s.FillBytes(sig[48:])
	return append(b, sig...)
}

var testVBIOS = []byte{0x00, 0xa5, 0x00, 0x96, 0x01, 0x00, 0x00, 0x00}

// gpuReport: driver 590.12, mode, and 18 NVLinks spread over the switches (little-endian, as
// GPUs write them), two links disabled.
func (h *hgx) gpuReport(t testing.TB, d testDevice, mode uint16, switches []PDI) []byte {
	var links []byte
	for l := range 18 {
		var p PDI
		if l < 16 {
			p = switches[l%len(switches)]
		}
		for j := range PDISize {
			links = append(links, p[PDISize-1-j])
		}
	}
	return spdmReport(t, d.leaf.Key, h.nonce, []opaqueTLV{
		{OpaqueDriverVersion, []byte("590.12\x00")}, {OpaqueVBIOSVersion, testVBIOS},
		{OpaqueOpaqueDataVersion, []byte{1, 0}}, {OpaqueFeatureFlag, binary.LittleEndian.AppendUint16(nil, mode)},
		{OpaqueSwitchPDI, links},
	})
}

func (h *hgx) switchReport(t testing.TB, d testDevice, gpus []PDI) []byte {
	var list []byte
	for _, p := range gpus {
		list = append(list, p[:]...)
	}
	list = append(list, bytes.Repeat([]byte{0xff}, 64)...) // port ids follow the PDIs
	return spdmReport(t, d.leaf.Key, h.nonce, []opaqueTLV{
		{OpaqueVBIOSVersion, []byte("96.10.55.00.01\x00\x00")}, {SwitchOpaqueDevicePDI, d.pdi[:]},
		{SwitchOpaqueGPUPDIs, list},
	})
}

func (h *hgx) pdis(devs []testDevice) []PDI {
	var out []PDI
	for _, d := range devs {
		out = append(out, d.pdi)
	}
	return out
}

// record is the HGX's record; mod may change each device's report inputs first.
func (h *hgx) record(t testing.TB, gpuMode func(i int) uint16, gpuSwitches func(i int) []PDI, switchGPUs func(i int) []PDI) *attestation.Record {
	t.Helper()
	rec := &attestation.Record{Version: attestation.Version, Mode: attestation.ModeNVMLCC, Identity: h100Claims("590.12", "96.00.a5.00.01"),
		CC: &attestation.CC{Enabled: true, Ready: true, Nonce: h.nonce[:]}}
	for i, g := range h.gpus {
		rep := h.gpuReport(t, g, gpuMode(i), gpuSwitches(i))
		if i == 0 {
			rec.CC.Report, rec.CC.CertChain = rep, g.chain
			continue
		}
		rec.CC.GPUs = append(rec.CC.GPUs, attestation.DeviceEvidence{Report: rep, CertChain: g.chain})
	}
	for i, s := range h.switches {
		rec.CC.Switches = append(rec.CC.Switches, attestation.DeviceEvidence{Report: h.switchReport(t, s, switchGPUs(i)), CertChain: s.chain})
	}
	if err := rec.Validate(); err != nil {
		t.Fatal(err)
	}
	return rec
}

func TestHGXTopology(t *testing.T) {
	h := newHGX(t)
	ppcie := func(int) uint16 { return 2 }
	allSwitches := func(int) []PDI { return h.pdis(h.switches) }
	allGPUs := func(int) []PDI { return h.pdis(h.gpus) }
	policy := &Policy{At: sampleAt, AllowMissingOCSPUnsafe: true, Roots: []*x509.Certificate{h.root.Cert}, Topology: &TopologyPolicy{}, AllowedModes: []string{ModePPCIE}}

	rec := h.record(t, ppcie, allSwitches, allGPUs)
	res, err := VerifyRecord(rec, h.nonce, policy)
	if err != nil {
		t.Fatal(err)
	}
	if !res.OK() {
		t.Fatal(res.Err())
	}
	for _, c := range []string{CheckSystemUnique, CheckSystemDriver, CheckTopologyMode, CheckTopologyGPUs, CheckTopologySwitches, "switches[3].report.kind", "gpus[6].report.kind"} {
		wantCheck(t, res, c, Passed, nil)
	}
	// The canonical record of a whole system stays under the record size limit.
	if c, err := rec.Canonical(); err != nil || len(c) > attestation.MaxRecordSize {
		t.Fatalf("canonical: %d bytes, %v", len(c), err)
	}

	other := newHGX(t)
	cases := []struct {
		name  string
		rec   func() *attestation.Record
		check string
		err   error
	}{
		{"a GPU in mode mpt", func() *attestation.Record {
			return h.record(t, func(i int) uint16 { return uint16(min(i, 1)) + 1 }, allSwitches, allGPUs)
		}, CheckTopologyMode, ErrTopology},
		{"a GPU sees three switches", func() *attestation.Record {
			return h.record(t, ppcie, func(i int) []PDI {
				if i == 5 {
					return h.pdis(h.switches[:3])
				}
				return h.pdis(h.switches)
			}, allGPUs)
		}, CheckTopologyGPUs, ErrTopology},
		{"a GPU sees another switch", func() *attestation.Record {
			return h.record(t, ppcie, func(i int) []PDI {
				if i == 2 {
					return append(h.pdis(h.switches[:3]), other.switches[0].pdi)
				}
				return h.pdis(h.switches)
			}, allGPUs)
		}, CheckTopologyGPUs, ErrTopology},
		{"a switch sees another GPU", func() *attestation.Record {
			return h.record(t, ppcie, allSwitches, func(i int) []PDI {
				g := h.pdis(h.gpus)
				if i == 1 {
					g[7] = PDI{9, 9, 9}
				}
				return g
			})
		}, CheckTopologySwitches, ErrTopology},
		{"a switch sees seven GPUs", func() *attestation.Record {
			return h.record(t, ppcie, allSwitches, func(i int) []PDI {
				g := h.pdis(h.gpus)
				g[7] = PDI{}
				return g
			})
		}, CheckTopologySwitches, ErrTopology},
		{"a switch from another system", func() *attestation.Record {
			rec := h.record(t, ppcie, allSwitches, allGPUs)
			rec.CC.Switches[2] = attestation.DeviceEvidence{Report: other.switchReport(t, other.switches[2], h.pdis(h.gpus)), CertChain: other.switches[2].chain}
			return rec
		}, "switches[2].chain", ErrChain},
		{"a switch in the GPU list", func() *attestation.Record {
			rec := h.record(t, ppcie, allSwitches, allGPUs)
			rec.CC.GPUs[0], rec.CC.Switches[0] = rec.CC.Switches[0], rec.CC.GPUs[0]
			return rec
		}, "gpus[0].device", ErrNotGPU},
		{"a GPU in the switch list", func() *attestation.Record {
			rec := h.record(t, ppcie, allSwitches, allGPUs)
			rec.CC.GPUs[0], rec.CC.Switches[0] = rec.CC.Switches[0], rec.CC.GPUs[0]
			return rec
		}, "switches[0].report.kind", ErrReportKind},
		{"one GPU given twice", func() *attestation.Record {
			rec := h.record(t, ppcie, allSwitches, allGPUs)
			again := h.gpuReport(t, h.gpus[1], 2, h.pdis(h.switches)) // fresh signature, same chip
			rec.CC.GPUs[1] = attestation.DeviceEvidence{Report: again, CertChain: h.gpus[1].chain}
			return rec
		}, CheckSystemUnique, ErrDuplicateDevice},
		{"a GPU with another driver", func() *attestation.Record {
			rec := h.record(t, ppcie, allSwitches, allGPUs)
			d := h.gpus[4]
			rep := spdmReport(t, d.leaf.Key, h.nonce, []opaqueTLV{{OpaqueDriverVersion, []byte("580.00\x00")}, {OpaqueVBIOSVersion, testVBIOS}})
			rec.CC.GPUs[3] = attestation.DeviceEvidence{Report: rep, CertChain: d.chain}
			return rec
		}, CheckSystemDriver, ErrSystemDriver},
		{"a GPU missing", func() *attestation.Record {
			rec := h.record(t, ppcie, allSwitches, allGPUs)
			rec.CC.GPUs = rec.CC.GPUs[:6]
			return rec
		}, CheckTopologyGPUs, ErrTopology},
	}
	for _, tc := range cases {
		res, err := VerifyRecord(tc.rec(), h.nonce, policy)
		if err != nil {
			t.Fatal(err)
		}
		if c, _ := res.Get(tc.check); c.Status != Failed || !errors.Is(c.Err, tc.err) {
			t.Errorf("%s: %s is %+v, want failed with %v", tc.name, tc.check, c, tc.err)
		}
		if res.OK() {
			t.Errorf("%s: record accepted", tc.name)
		}
	}
	// A one-GPU record cannot meet a topology policy, nor can mode nvml.
	single := h.record(t, ppcie, allSwitches, allGPUs)
	single.CC.GPUs, single.CC.Switches = nil, nil
	res, _ = VerifyRecord(single, h.nonce, policy)
	wantCheck(t, res, CheckTopologyGPUs, Failed, ErrTopology)
	res, _ = VerifyRecord(&attestation.Record{Version: attestation.Version, Mode: attestation.ModeNVML, Identity: h100Claims("590.12", "96.00.a5.00.01")}, h.nonce, policy)
	wantCheck(t, res, CheckTopologyMode, Failed, ErrTopology)
}

func FuzzParseSerializedEvidence(f *testing.F) {
	for _, name := range []string{"multi_gpu_hopper.json", "switch_evidence_ls10.json"} {
		f.Add(readFile(f, "serialized/"+name))
	}
	f.Add([]byte(`[{"arch":"LS10","nonce":"00","evidence":"AA==","certificate":"AA=="}]`))
	f.Fuzz(func(t *testing.T, b []byte) {
		evs, err := ParseSerializedEvidence(b)
		if err != nil {
			if !errors.Is(err, ErrSerialized) {
				t.Fatalf("error %v does not wrap ErrSerialized", err)
			}
			return
		}
		// parse(encode(parse(x))) == parse(x)
		out, err := MarshalSerializedEvidence(evs)
		if err != nil {
			t.Fatal(err)
		}
		again, err := ParseSerializedEvidence(out)
		if err != nil || len(again) != len(evs) {
			t.Fatalf("re-parse: %v", err)
		}
		for i := range evs {
			a, b := evs[i], again[i]
			if a.Arch != b.Arch || a.Kind != b.Kind || a.Nonce != b.Nonce || !bytes.Equal(a.Report, b.Report) || !bytes.Equal(a.CertChain, b.CertChain) {
				t.Fatalf("entry %d changed in a round trip", i)
			}
		}
	})
}

func TestParseSerializedEvidence(t *testing.T) {
	evs := serialized(t, "multi_gpu_hopper.json")
	if len(evs) != 4 || evs[0].Arch != "HOPPER" || evs[0].Kind != KindGPU {
		t.Fatalf("%d entries", len(evs))
	}
	for name, in := range map[string]string{
		"not an array":   `{"arch":"HOPPER"}`,
		"empty":          `[]`,
		"unknown member": `[{"arch":"HOPPER","nonce":"` + strings.Repeat("00", 32) + `","evidence":"AA==","certificate":"AA==","x":1}]`,
		"unknown arch":   `[{"arch":"AMPERE","nonce":"` + strings.Repeat("00", 32) + `","evidence":"AA==","certificate":"AA=="}]`,
		"short nonce":    `[{"arch":"HOPPER","nonce":"00","evidence":"AA==","certificate":"AA=="}]`,
		"bad base64":     `[{"arch":"HOPPER","nonce":"` + strings.Repeat("00", 32) + `","evidence":"A!==","certificate":"AA=="}]`,
		"no certificate": `[{"arch":"HOPPER","nonce":"` + strings.Repeat("00", 32) + `","evidence":"AA=="}]`,
		"null entry":     `[null]`,
		"trailing data":  `[{"arch":"HOPPER","nonce":"` + strings.Repeat("00", 32) + `","evidence":"AA==","certificate":"AA=="}] []`,
	} {
		if _, err := ParseSerializedEvidence([]byte(in)); !errors.Is(err, ErrSerialized) {
			t.Errorf("%s: %v", name, err)
		}
	}
}
