package attestation

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"math/big"
	"os"
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum/common"
)

func sampleRecord() *Record {
	nonce := Nonce(big.NewInt(31337), common.HexToAddress("0x5FbDB2315678afecb367f032d93F642f64180aa3"), big.NewInt(7), [32]byte{1})
	return &Record{
		Version: Version,
		Mode:    ModeNVMLCC,
		Identity: &Identity{
			UUID: "GPU-4d5c7b3e-1f2a-4b6c-9d8e-0a1b2c3d4e5f", Name: "NVIDIA H100 80GB HBM3", Serial: "1654123456789",
			BoardPartNumber: "692-2G520-0200-000",
			PCI:             PCI{BusID: "00000000:18:00.0", DeviceID: 0x233010de, SubsystemID: 0x16c110de},
			Architecture:    "hopper", MemoryTotalBytes: 85520809984, DriverVersion: "550.90.07", CUDADriverVersion: 12040,
			VBIOSVersion: "96.00.9F.00.01", ECCMode: Enabled, MIGMode: Disabled, PersistenceMode: Enabled, ComputeCapability: "9.0",
		},
		Telemetry: &Telemetry{
			StartMs: 1763800000000, EndMs: 1763800004000, Samples: 40,
			UtilGPU: MinAvgMax{0, 81, 100}, UtilMem: MinAvgMax{0, 40, 63}, MemoryUsedMaxBytes: 12 << 30,
			SMClockMHz: AvgMax{1755, 1980}, MemClockMHz: AvgMax{2619, 2619}, PowerMw: AvgMax{512000, 690123},
			EnergyMj: 2048000, ThrottleReasons: 0x1 | 0x4,
			Processes: []Process{{PID: 4242, GPUUtil: 80, MemUtil: 39, MaxMemoryBytes: 11 << 30, TimeMs: 3900}},
		},
		CC:          &CC{Enabled: true, DevToolsMode: false, Ready: true, Nonce: nonce[:], Report: Hex{0x11, 0xe0}, CertChain: Hex("-----BEGIN CERTIFICATE-----\n<x>&\n")},
		Unsupported: []string{"identity.serial", "telemetry.processes"},
	}
}

// TestNonceVector pins the nonce against Foundry's abi.encodePacked and keccak256
// (cast abi-encode --packed "f(string,uint256,address,uint256,bytes32)" ... | cast keccak).
func TestNonceVector(t *testing.T) {
	var od [32]byte
	for i := range od {
		od[i] = 0x11
	}
	got := Nonce(big.NewInt(31337), common.HexToAddress("0x5FbDB2315678afecb367f032d93F642f64180aa3"), big.NewInt(7), od)
	const want = "2eeaa6f2f3ad6922798ffeb92b5f903246bfd2cd156ae2f6f95013e02d5dd4f2"
	if hex.EncodeToString(got[:]) != want {
		t.Fatalf("nonce %x, want %s", got, want)
	}
	// Every input moves the nonce.
	other := []([32]byte){
		Nonce(big.NewInt(31338), common.HexToAddress("0x5FbDB2315678afecb367f032d93F642f64180aa3"), big.NewInt(7), od),
		Nonce(big.NewInt(31337), common.HexToAddress("0x5FbDB2315678afecb367f032d93F642f64180aa4"), big.NewInt(7), od),
		Nonce(big.NewInt(31337), common.HexToAddress("0x5FbDB2315678afecb367f032d93F642f64180aa3"), big.NewInt(8), od),
		Nonce(big.NewInt(31337), common.HexToAddress("0x5FbDB2315678afecb367f032d93F642f64180aa3"), big.NewInt(7), [32]byte{}),
	}
	for i, o := range other {
		if o == got {
			t.Errorf("change %d did not move the nonce", i)
		}
	}
}

func TestNoncePanicsOnNonUint256(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("negative job id accepted")
		}
	}()
	Nonce(big.NewInt(1), common.Address{}, big.NewInt(-1), [32]byte{})
}

func TestNonceOutputsDigestIsZeroAttestation(t *testing.T) {
	roots := []*big.Int{big.NewInt(1), big.NewInt(2)}
	a := NonceOutputsDigest(roots)
	b := NonceOutputsDigest([]*big.Int{big.NewInt(1), big.NewInt(3)})
	if a == b {
		t.Fatal("output roots do not move the digest")
	}
}

// TestModeNoneMatchesReceipt: the receipt fixtures embed this exact spelling.
func TestModeNoneCanonical(t *testing.T) {
	c, err := (&Record{Version: Version, Mode: ModeNone}).Canonical()
	if err != nil {
		t.Fatal(err)
	}
	if string(c) != `{"version":"probity.attestation.v0","mode":"none"}` {
		t.Fatalf("got %s", c)
	}
}

type vectorFile struct {
	Comment string `json:"comment"`
	Vectors []struct {
		Name      string          `json:"name"`
		Record    json.RawMessage `json:"record"`
		Canonical string          `json:"canonical"`
		Digest    string          `json:"digest"`
	} `json:"vectors"`
}

// TestVectors pins canonical form and digest of testdata/vectors.json. Regenerate with
// PROBITY_UPDATE_VECTORS=1 go test ./attestation -run TestVectors (only when the spec changes).
func TestVectors(t *testing.T) {
	recs := map[string]*Record{"none": {Version: Version, Mode: ModeNone}, "nvml+cc": sampleRecord()}
	nvml := sampleRecord()
	nvml.Mode, nvml.CC = ModeNVML, &CC{Enabled: false}
	recs["nvml"] = nvml
	// cc.ocsp (stapled OCSP responses; the bytes here are placeholders, the vector pins the
	// encoding: a list of hex strings, sorted, after certChain).
	stapled := sampleRecord()
	stapled.CC.OCSP = []Hex{{0x30, 0x03, 0x0a, 0x01, 0x00}, {0x30, 0x82}}
	recs["nvml+cc+ocsp"] = stapled
	// cc.gpus and cc.switches (a multi-GPU system; placeholder bytes, the vector pins the
	// encoding: lists of {report, certChain} after ocsp). verifier/attest's tests verify real
	// NVIDIA evidence in this form.
	system := sampleRecord()
	system.CC.GPUs = []DeviceEvidence{{Report: Hex{0x11, 0xe0, 0x01}, CertChain: Hex{0x30, 0x01}}}
	system.CC.Switches = []DeviceEvidence{{Report: Hex{0x11, 0xe0, 0x02}, CertChain: Hex{0x30, 0x02}}}
	recs["nvml+cc+system"] = system
	if os.Getenv("PROBITY_UPDATE_VECTORS") != "" {
		var vf vectorFile
		vf.Comment = "generated by PROBITY_UPDATE_VECTORS=1 go test ./attestation -run TestVectors; digest = keccak256(\"probity/attestation/v0\" || canonical)"
		for _, name := range []string{"none", "nvml", "nvml+cc", "nvml+cc+ocsp", "nvml+cc+system"} {
			c, err := recs[name].Canonical()
			if err != nil {
				t.Fatal(err)
			}
			d, _ := recs[name].Digest()
			vf.Vectors = append(vf.Vectors, struct {
				Name      string          `json:"name"`
				Record    json.RawMessage `json:"record"`
				Canonical string          `json:"canonical"`
				Digest    string          `json:"digest"`
			}{name, c, string(c), "0x" + hex.EncodeToString(d[:])})
		}
		b, _ := json.MarshalIndent(vf, "", "  ")
		if err := os.WriteFile("testdata/vectors.json", append(b, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	b, err := os.ReadFile("testdata/vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var vf vectorFile
	if err := json.Unmarshal(b, &vf); err != nil {
		t.Fatal(err)
	}
	if len(vf.Vectors) != len(recs) {
		t.Fatalf("%d vectors", len(vf.Vectors))
	}
	for _, v := range vf.Vectors {
		// The indented copy parses (whitespace is free) and re-encodes to the pinned spelling.
		r, err := Parse(v.Record)
		if err != nil {
			t.Fatalf("%s: %v", v.Name, err)
		}
		c, _ := r.Canonical()
		if string(c) != v.Canonical {
			t.Fatalf("%s: canonical\n%s\nwant\n%s", v.Name, c, v.Canonical)
		}
		d, _ := r.Digest()
		if "0x"+hex.EncodeToString(d[:]) != v.Digest {
			t.Fatalf("%s: digest %x, want %s", v.Name, d, v.Digest)
		}
		want, _ := recs[v.Name].Canonical()
		if !bytes.Equal(c, want) {
			t.Fatalf("%s: the Go record no longer encodes to the vector", v.Name)
		}
	}
}

func TestParseRejects(t *testing.T) {
	good, err := sampleRecord().Canonical()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Parse(good); err != nil {
		t.Fatal(err)
	}
	sub := func(old, new string) []byte {
		if !strings.Contains(string(good), old) {
			t.Fatalf("fixture lacks %q", old)
		}
		return []byte(strings.Replace(string(good), old, new, 1))
	}
	cases := []struct {
		name  string
		in    []byte
		field string // "" when the error is not about one field
	}{
		{"unknown field", sub(`"mode":"nvml+cc"`, `"mode":"nvml+cc","extra":1`), "extra"},
		{"wrong version", sub(`probity.attestation.v0`, `probity.attestation.v1`), "version"},
		{"missing version", sub(`"version":"probity.attestation.v0",`, ``), "version"},
		{"bad mode", sub(`"mode":"nvml+cc"`, `"mode":"tpm"`), "mode"},
		{"upper-case hex", sub(`"report":"0x11e0"`, `"report":"0x11E0"`), "cc.report"},
		{"odd hex", sub(`"report":"0x11e0"`, `"report":"0x11e"`), "cc.report"},
		{"no 0x", sub(`"report":"0x11e0"`, `"report":"11e0"`), "cc.report"},
		{"short nonce", sub(`"nonce":"0x`, `"nonce":"0x00`), ""},
		{"cc off in nvml+cc", sub(`"enabled":true`, `"enabled":false`), "cc.enabled"},
		{"key order", sub(`"version":"probity.attestation.v0","mode":"nvml+cc"`, `"mode":"nvml+cc","version":"probity.attestation.v0"`), ""},
		{"duplicate key", sub(`"mode":"nvml+cc"`, `"mode":"nvml","mode":"nvml+cc"`), ""},
		{"key case", sub(`"uuid"`, `"UUID"`), ""},
		{"number spelling", sub(`"samples":40`, `"samples":4e1`), ""},
		{"string type", sub(`"samples":40`, `"samples":"40"`), "telemetry.samples"},
		{"negative", sub(`"samples":40`, `"samples":-40`), "telemetry.samples"},
		{"unsorted unsupported", sub(`["identity.serial","telemetry.processes"]`, `["telemetry.processes","identity.serial"]`), "unsupported"},
		{"duplicate unsupported", sub(`["identity.serial","telemetry.processes"]`, `["identity.serial","identity.serial"]`), "unsupported"},
		{"empty unsupported written out", sub(`,"unsupported":["identity.serial","telemetry.processes"]`, `,"unsupported":[]`), ""},
		{"bad enable state", sub(`"eccMode":"enabled"`, `"eccMode":"on"`), "identity.eccMode"},
		{"huge integer", sub(`"energyMj":2048000`, `"energyMj":9007199254740992`), "telemetry.energyMj"},
		{"end before start", sub(`"endMs":1763800004000`, `"endMs":1763799999999`), "telemetry.endMs"},
		{"trailing data", append(append([]byte{}, good...), []byte(` {}`)...), ""},
		{"null identity", sub(`"identity":{`, `"identity":null,"x":{`), ""},
		{"not json", []byte(`{"version":`), ""},
	}
	for _, c := range cases {
		_, err := Parse(c.in)
		if err == nil {
			t.Errorf("%s: accepted", c.name)
			continue
		}
		if !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: %v does not wrap ErrInvalid", c.name, err)
		}
		if c.field != "" {
			var fe *FieldError
			if !errors.As(err, &fe) || fe.Field != c.field {
				t.Errorf("%s: %v does not name field %s", c.name, err, c.field)
			}
		}
	}
}

func TestModeRules(t *testing.T) {
	none := &Record{Version: Version, Mode: ModeNone, Identity: &Identity{}}
	if _, err := none.Canonical(); err == nil {
		t.Error("mode none with identity encoded")
	}
	nvml := sampleRecord()
	nvml.Mode = ModeNVML
	if _, err := nvml.Canonical(); err == nil {
		t.Error("mode nvml with a CC report encoded")
	}
	nvml.CC = nil
	if _, err := nvml.Canonical(); err != nil {
		t.Error(err)
	}
	nvml.Identity = nil
	if _, err := nvml.Canonical(); err == nil {
		t.Error("mode nvml without identity encoded")
	}
}

// TestDigestCoversEveryField flips one field at a time and expects a new digest.
func TestDigestCoversEveryField(t *testing.T) {
	base, _ := sampleRecord().Digest()
	muts := []func(r *Record){
		func(r *Record) { r.Identity.UUID += "x" },
		func(r *Record) { r.Identity.PCI.DeviceID++ },
		func(r *Record) { r.Identity.DriverVersion = "550.90.08" },
		func(r *Record) { r.Telemetry.EnergyMj++ },
		func(r *Record) { r.Telemetry.Processes[0].PID++ },
		func(r *Record) { r.CC.Report[0] ^= 1 },
		func(r *Record) { r.CC.Nonce[31] ^= 1 },
		func(r *Record) { r.CC.DevToolsMode = true },
		func(r *Record) { r.Unsupported = r.Unsupported[:1] },
	}
	for i, m := range muts {
		r := sampleRecord()
		m(r)
		d, err := r.Digest()
		if err != nil {
			t.Fatal(err)
		}
		if d == base {
			t.Errorf("mutation %d kept the digest", i)
		}
	}
}

func FuzzParse(f *testing.F) {
	good, _ := sampleRecord().Canonical()
	f.Add(good)
	f.Add([]byte(`{"version":"probity.attestation.v0","mode":"none"}`))
	f.Add([]byte(`{"version":"probity.attestation.v0","mode":"nvml","identity":{}}`))
	f.Add([]byte(`{"version":"probity.attestation.v0","mode":"nvml+cc","cc":{"nonce":"0x00"}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := Parse(b)
		if err != nil {
			return
		}
		c1, err := r.Canonical()
		if err != nil {
			t.Fatalf("parsed record has no canonical form: %v", err)
		}
		r2, err := Parse(c1)
		if err != nil {
			t.Fatalf("canonical form does not parse: %v\n%s", err, c1)
		}
		c2, _ := r2.Canonical()
		if !bytes.Equal(c1, c2) {
			t.Fatalf("encode(parse(encode(x))) != encode(x)\n%s\n%s", c1, c2)
		}
	})
}

func TestOCSPField(t *testing.T) {
	ok := sampleRecord()
	ok.CC.OCSP = []Hex{{1}, {1, 0}, {2}}
	if err := ok.Validate(); err != nil {
		t.Fatal(err)
	}
	for name, list := range map[string][]Hex{"unsorted": {{2}, {1}}, "duplicate": {{1}, {1}}, "empty entry": {{}}} {
		r := sampleRecord()
		r.CC.OCSP = list
		var fe *FieldError
		if err := r.Validate(); !errors.As(err, &fe) || !strings.HasPrefix(fe.Field, "cc.ocsp") {
			t.Errorf("%s: %v", name, err)
		}
	}
	r := sampleRecord()
	r.CC.OCSP = make([]Hex, MaxOCSPResponses+1)
	for i := range r.CC.OCSP {
		r.CC.OCSP[i] = Hex{byte(i + 1)}
	}
	if err := r.Validate(); !errors.Is(err, ErrInvalid) {
		t.Errorf("too many: %v", err)
	}
	nv := sampleRecord()
	nv.Mode, nv.CC = ModeNVML, &CC{OCSP: []Hex{{1}}}
	if err := nv.Validate(); !errors.Is(err, ErrInvalid) {
		t.Errorf("ocsp in mode nvml: %v", err)
	}
	c, _ := ok.Canonical()
	if !strings.Contains(string(c), `"certChain":"0x`) || !strings.Contains(string(c), `","ocsp":["0x01","0x0100","0x02"]}`) {
		t.Errorf("canonical form %s", c)
	}
	bad := strings.Replace(string(c), `"0x0100"`, `"0x01G0"`, 1)
	var fe *FieldError
	if _, err := Parse([]byte(bad)); !errors.As(err, &fe) || fe.Field != "cc.ocsp[1]" {
		t.Errorf("bad hex in cc.ocsp: %v", err)
	}
}

func TestSystemField(t *testing.T) {
	dev := func(b byte) DeviceEvidence {
		return DeviceEvidence{Report: Hex{0x11, 0xe0, b}, CertChain: Hex{0x30, b}}
	}
	ok := sampleRecord()
	ok.CC.GPUs = []DeviceEvidence{dev(1), dev(2)}
	ok.CC.Switches = []DeviceEvidence{dev(3)}
	if err := ok.Validate(); err != nil {
		t.Fatal(err)
	}
	c, _ := ok.Canonical()
	if !strings.Contains(string(c), `,"gpus":[{"report":"0x11e001","certChain":"0x3001"},{"report":"0x11e002","certChain":"0x3002"}],"switches":[{"report":"0x11e003","certChain":"0x3003"}]},`) {
		t.Errorf("canonical form %s", c)
	}
	if r, err := Parse(c); err != nil || len(r.CC.GPUs) != 2 || len(r.CC.Switches) != 1 {
		t.Fatalf("round trip: %v", err)
	}
	cases := map[string]struct {
		mod   func(r *Record)
		field string
	}{
		"no report":             {func(r *Record) { r.CC.GPUs = []DeviceEvidence{{CertChain: Hex{1}}} }, "cc.gpus[0].report"},
		"no chain":              {func(r *Record) { r.CC.Switches = []DeviceEvidence{{Report: Hex{1}}} }, "cc.switches[0].certChain"},
		"report repeated":       {func(r *Record) { r.CC.GPUs = []DeviceEvidence{dev(1), dev(1)} }, "cc.gpus[1].report"},
		"switch repeats a GPU":  {func(r *Record) { r.CC.GPUs, r.CC.Switches = []DeviceEvidence{dev(1)}, []DeviceEvidence{dev(1)} }, "cc.switches[0].report"},
		"first report repeated": {func(r *Record) { r.CC.GPUs = []DeviceEvidence{{Report: r.CC.Report, CertChain: r.CC.CertChain}} }, "cc.gpus[0].report"},
		"too many": {func(r *Record) {
			for i := range MaxSystemDevices + 1 {
				r.CC.Switches = append(r.CC.Switches, dev(byte(i+1)))
			}
		}, "cc.switches"},
		"in mode nvml": {func(r *Record) { r.Mode, r.CC = ModeNVML, &CC{GPUs: []DeviceEvidence{dev(1)}} }, "cc.gpus"},
	}
	for name, tc := range cases {
		r := sampleRecord()
		tc.mod(r)
		var fe *FieldError
		if err := r.Validate(); !errors.As(err, &fe) || fe.Field != tc.field || !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: %v, want an error on %s", name, err, tc.field)
		}
	}
	// More devices allow more stapled responses.
	r := sampleRecord()
	r.CC.GPUs = []DeviceEvidence{dev(1)}
	for i := range MaxOCSPResponses + OCSPPerDevice {
		r.CC.OCSP = append(r.CC.OCSP, Hex{byte(i + 1)})
	}
	if err := r.Validate(); err != nil {
		t.Errorf("%d staples for two GPUs: %v", len(r.CC.OCSP), err)
	}
	r.CC.OCSP = append(r.CC.OCSP, Hex{0xff})
	if err := r.Validate(); !errors.Is(err, ErrInvalid) {
		t.Errorf("%d staples for two GPUs accepted", len(r.CC.OCSP))
	}
	bad := strings.Replace(string(c), `"0x3002"`, `"0x30G2"`, 1)
	var fe *FieldError
	if _, err := Parse([]byte(bad)); !errors.As(err, &fe) || fe.Field != "cc.gpus[1].certChain" {
		t.Errorf("bad hex in cc.gpus: %v", err)
	}
}
