package gpu

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"reflect"
	"testing"
	"time"

	"github.com/NVIDIA/go-nvml/pkg/nvml"
	"github.com/NVIDIA/go-nvml/pkg/nvml/mock"

	"github.com/probitylabs/probity/attestation"
)

func loadFixture(t testing.TB, name string) *DeviceFixture {
	t.Helper()
	b, err := os.ReadFile("../../testdata/gpu/" + name)
	if err != nil {
		t.Fatal(err)
	}
	f, err := ParseFixture(b)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func openReplay(t testing.TB, f *DeviceFixture) *Collector {
	t.Helper()
	c, err := OpenLib(Replay(f), 0)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestOpenOnThisMachine: without a driver Open says so with ErrNoGPU; with one it collects.
func TestOpenOnThisMachine(t *testing.T) {
	c, err := Open(0)
	if err != nil {
		if !errors.Is(err, ErrNoGPU) {
			t.Fatalf("Open without a GPU: %v, want ErrNoGPU", err)
		}
		if c, _ := NoneRecord().Canonical(); string(c) != `{"version":"probity.attestation.v0","mode":"none"}` {
			t.Fatal(string(c))
		}
		return
	}
	defer c.Close()
	rec, err := c.BuildRecord(RecordOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if rec.Identity.UUID == "" && !rec.IsUnsupported("identity.uuid") {
		t.Fatal("device without UUID")
	}
}

func TestOpenNoDriver(t *testing.T) {
	for _, ret := range []nvml.Return{nvml.ERROR_LIBRARY_NOT_FOUND, nvml.ERROR_DRIVER_NOT_LOADED} {
		lib := &mock.Interface{InitFunc: func() nvml.Return { return ret }}
		if _, err := OpenLib(lib, 0); !errors.Is(err, ErrNoGPU) {
			t.Errorf("%v: %v", ret, err)
		}
	}
	lib := &mock.Interface{
		InitFunc:           func() nvml.Return { return nvml.SUCCESS },
		ShutdownFunc:       func() nvml.Return { return nvml.SUCCESS },
		DeviceGetCountFunc: func() (int, nvml.Return) { return 0, nvml.SUCCESS },
	}
	if _, err := OpenLib(lib, 0); !errors.Is(err, ErrNoGPU) {
		t.Errorf("no devices: %v", err)
	}
	if len(lib.ShutdownCalls()) != 1 {
		t.Error("NVML left initialised")
	}
	lib.InitFunc = func() nvml.Return { return nvml.ERROR_NO_PERMISSION }
	var ne *NVMLError
	if _, err := OpenLib(lib, 0); errors.Is(err, ErrNoGPU) || !errors.As(err, &ne) {
		t.Errorf("permission error reported as %v", err)
	}
}

func TestIdentityFromFixture(t *testing.T) {
	c := openReplay(t, loadFixture(t, "h100-sxm-cc-off.json"))
	id, uns, err := c.Identity()
	if err != nil || len(uns) != 0 {
		t.Fatal(err, uns)
	}
	want := attestation.Identity{
		UUID: "GPU-6f0e9c1a-3b8d-4e5f-a2c7-d91b04e8f3a6", Name: "NVIDIA H100 80GB HBM3", Serial: "1652923041234",
		BoardPartNumber: "692-2G520-0200-000", PCI: attestation.PCI{BusID: "00000000:18:00.0", DeviceID: 0x233010de, SubsystemID: 0x16c110de},
		Architecture: "hopper", MemoryTotalBytes: 85520809984, DriverVersion: "550.90.07", CUDADriverVersion: 12040,
		VBIOSVersion: "96.00.9F.00.01", ECCMode: "enabled", MIGMode: "disabled", PersistenceMode: "enabled", ComputeCapability: "9.0",
	}
	if id != want {
		t.Fatalf("identity\n%+v\nwant\n%+v", id, want)
	}
}

// TestWholeJobSummary runs the sampler over the fixture's 10 changing samples (Start's sample,
// eight polls, Stop's sample) and checks the summary exactly.
func TestWholeJobSummary(t *testing.T) {
	f := loadFixture(t, "h100-sxm-cc-off.json")
	c := openReplay(t, f)
	clock := time.UnixMilli(1763800000000)
	s := newSampler(c.dev, time.Hour, func() time.Time { return clock })
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := s.Start(context.Background()); !errors.Is(err, ErrSamplerState) {
		t.Fatal("second Start accepted")
	}
	for range 8 {
		s.mu.Lock()
		s.sampleLocked()
		s.mu.Unlock()
	}
	clock = clock.Add(1000 * time.Millisecond)
	sum, err := s.Stop()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Stop(); !errors.Is(err, ErrSamplerState) {
		t.Fatal("second Stop accepted")
	}
	// Expected values computed from the fixture's samples (gen_fixtures.py).
	var e0, e1 uint64
	e0 = f.Samples[0].EnergyMj.Value
	e1 = f.Samples[1].EnergyMj.Value // energy is read twice: at Start and at Stop
	want := attestation.Telemetry{
		StartMs: 1763800000000, EndMs: 1763800001000, Samples: 10,
		UtilGPU: attestation.MinAvgMax{Min: 0, Avg: 68, Max: 100}, UtilMem: attestation.MinAvgMax{Min: 0, Avg: 35, Max: 58},
		MemoryUsedMaxBytes: 20640 << 20,
		SMClockMHz:         attestation.AvgMax{Avg: 1578, Max: 1980}, MemClockMHz: attestation.AvgMax{Avg: 2619, Max: 2619},
		PowerMw:  attestation.AvgMax{Avg: 501064, Max: 700112},
		EnergyMj: e1 - e0, ThrottleReasons: 0x5,
	}
	if !reflect.DeepEqual(sum.Telemetry, want) {
		t.Fatalf("summary\n%+v\nwant\n%+v", sum.Telemetry, want)
	}
	if len(sum.Unsupported) != 0 {
		t.Fatal(sum.Unsupported)
	}
	rec, err := c.BuildRecord(RecordOptions{Telemetry: sum, PIDs: []uint32{4242, 9999}})
	if err != nil {
		t.Fatal(err)
	}
	if rec.Mode != attestation.ModeNVML || rec.CC == nil || rec.CC.Enabled {
		t.Fatalf("mode %s cc %+v", rec.Mode, rec.CC)
	}
	if got := rec.Telemetry.Processes; len(got) != 1 || got[0] != (attestation.Process{PID: 4242, GPUUtil: 84, MemUtil: 43, MaxMemoryBytes: 20640 << 20, TimeMs: 950}) {
		t.Fatalf("processes %+v", got)
	}
	if _, err := rec.Digest(); err != nil {
		t.Fatal(err)
	}
}

// TestSamplerTicks lets the goroutine poll a device whose values change over time.
func TestSamplerTicks(t *testing.T) {
	c := openReplay(t, loadFixture(t, "h100-sxm-cc-off.json"))
	s := c.NewSampler(time.Millisecond)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := s.Start(ctx); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		s.mu.Lock()
		n := s.acc.samples
		s.mu.Unlock()
		if n >= 12 || time.Now().After(deadline) {
			break
		}
		time.Sleep(2 * time.Millisecond)
	}
	sum, err := s.Stop()
	if err != nil {
		t.Fatal(err)
	}
	tm := sum.Telemetry
	if tm.Samples < 12 || tm.UtilGPU.Max != 100 || tm.UtilGPU.Min != 0 || tm.PowerMw.Max != 700112 || tm.ThrottleReasons != 0x5 {
		t.Fatalf("%+v", tm)
	}
	if tm.EndMs < tm.StartMs {
		t.Fatal("window reversed")
	}
}

func TestUnsupportedIsRecorded(t *testing.T) {
	f := loadFixture(t, "h100-sxm-cc-off.json")
	ns := "ERROR_NOT_SUPPORTED"
	f.Serial.Ret = ns
	f.BoardPartNumber.Ret = "ERROR_FUNCTION_NOT_FOUND"
	f.CCState.Ret = ns
	f.AccountingMode.Value = 0
	for i := range f.Samples {
		f.Samples[i].PowerMw.Ret = ns
		f.Samples[i].EnergyMj.Ret = ns
		f.Samples[i].Utilization.Ret = ns
	}
	c := openReplay(t, f)
	s := c.NewSampler(time.Hour)
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	sum, err := s.Stop()
	if err != nil {
		t.Fatal(err)
	}
	rec, err := c.BuildRecord(RecordOptions{Telemetry: sum, PIDs: []uint32{4242}})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"cc", "identity.boardPartNumber", "identity.serial", "telemetry.energyMj", "telemetry.powerMw", "telemetry.processes", "telemetry.utilGpu", "telemetry.utilMem"}
	if !reflect.DeepEqual(rec.Unsupported, want) {
		t.Fatalf("unsupported %v, want %v", rec.Unsupported, want)
	}
	if rec.Identity.Serial != "" || rec.CC != nil || rec.Telemetry.PowerMw != (attestation.AvgMax{}) {
		t.Fatal("unsupported fields not left zero")
	}
	if _, err := rec.Canonical(); err != nil {
		t.Fatal(err)
	}
}

func TestHardErrorIsFatal(t *testing.T) {
	f := loadFixture(t, "h100-sxm-cc-off.json")
	f.UUID.Ret = "ERROR_GPU_IS_LOST"
	c := openReplay(t, f)
	var ne *NVMLError
	if _, err := c.BuildRecord(RecordOptions{}); !errors.As(err, &ne) || ne.Ret != nvml.ERROR_GPU_IS_LOST {
		t.Fatalf("lost GPU: %v", err)
	}
	f = loadFixture(t, "h100-sxm-cc-off.json")
	f.Samples[3].PowerMw.Ret = "ERROR_UNKNOWN"
	c = openReplay(t, f)
	s := newSampler(c.dev, time.Hour, time.Now)
	s.Start(context.Background())
	for range 4 {
		s.mu.Lock()
		s.sampleLocked()
		s.mu.Unlock()
	}
	if _, err := s.Stop(); !errors.As(err, &ne) {
		t.Fatalf("sampling error: %v", err)
	}
}

func TestCCOffFallsBack(t *testing.T) {
	c := openReplay(t, loadFixture(t, "h100-sxm-cc-off.json"))
	n := [32]byte{1}
	rec, err := c.BuildRecord(RecordOptions{Nonce: &n})
	if err != nil || rec.Mode != attestation.ModeNVML {
		t.Fatal(rec.Mode, err)
	}
	if _, err := c.BuildRecord(RecordOptions{Nonce: &n, RequireCC: true}); !errors.Is(err, ErrCCOff) {
		t.Fatal(err)
	}
	if _, _, err := c.CCEvidence(n); !errors.Is(err, ErrCCOff) {
		t.Fatal(err)
	}
}

func TestCCOnRecord(t *testing.T) {
	f := loadFixture(t, "h100-sxm-cc-on.json")
	c := openReplay(t, f)
	n := [32]byte(f.RecordNonce)
	rec, err := c.BuildRecord(RecordOptions{Nonce: &n})
	if err != nil {
		t.Fatal(err)
	}
	if rec.Mode != attestation.ModeNVMLCC || !rec.CC.Enabled || !rec.CC.Ready {
		t.Fatalf("%s %+v", rec.Mode, rec.CC)
	}
	want, _ := hex.DecodeString("931d8dd0add203ac3d8b4fbde75e115278eefcdceac5b87671a748f32364dfcb")
	if string(rec.CC.Nonce) != string(want) || string(rec.CC.Report[4:36]) != string(want) {
		t.Fatal("nonce not carried")
	}
	if !rec.IsUnsupported("telemetry.processes") && rec.Telemetry != nil {
		t.Fatal("accounting off not recorded")
	}
	b, err := rec.Canonical()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := attestation.Parse(b); err != nil {
		t.Fatal(err)
	}
}

// TestRecordFixture records the replayed device and gets the same fixture back.
func TestRecordFixture(t *testing.T) {
	for _, name := range []string{"h100-sxm-cc-off.json", "h100-sxm-cc-on.json"} {
		f := loadFixture(t, name)
		c := openReplay(t, f)
		var nonce *[32]byte
		if len(f.RecordNonce) == 32 {
			n := [32]byte(f.RecordNonce)
			nonce = &n
		}
		var pids []uint32
		if f.Accounting != nil {
			pids = []uint32{4242}
		}
		got := RecordFixture(c, FixtureOptions{Samples: len(f.Samples), PIDs: pids, Nonce: nonce})
		got.Source, got.Synthetic = f.Source, f.Synthetic
		if nonce == nil {
			got.AttestationReport, got.CertChain = f.AttestationReport, f.CertChain
		}
		// Replay serves memory total and used from one call: the identity read consumed sample 0.
		a, _ := json.Marshal(got.Samples[0].Utilization)
		b, _ := json.Marshal(f.Samples[0].Utilization)
		if string(a) != string(b) {
			t.Fatalf("%s: first sample differs", name)
		}
		got.Samples, f.Samples = nil, nil
		ja, _ := json.Marshal(got)
		jb, _ := json.Marshal(f)
		if string(ja) != string(jb) {
			t.Fatalf("%s: recorded\n%s\nwant\n%s", name, ja, jb)
		}
	}
}

func TestParseFixtureRejects(t *testing.T) {
	for name, in := range map[string]string{
		"unknown field": `{"version":"probity.gpu-fixture.v0","bogus":1}`,
		"version":       `{"version":"v9","samples":[{}]}`,
		"no samples":    `{"version":"probity.gpu-fixture.v0"}`,
		"bad ret":       `{"version":"probity.gpu-fixture.v0","uuid":{"ret":"MAYBE"},"samples":[{}]}`,
	} {
		if _, err := ParseFixture([]byte(in)); !errors.Is(err, ErrFixture) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func FuzzParseFixture(f *testing.F) {
	b, _ := os.ReadFile("../../testdata/gpu/h100-sxm-cc-off.json")
	f.Add(b)
	f.Add([]byte(`{"version":"probity.gpu-fixture.v0","samples":[{}]}`))
	f.Fuzz(func(t *testing.T, in []byte) {
		fx, err := ParseFixture(in)
		if err != nil {
			return
		}
		// Any fixture that parses replays without panicking.
		c, err := OpenLib(Replay(fx), 0)
		if err != nil {
			t.Fatal(err)
		}
		n := [32]byte{}
		c.BuildRecord(RecordOptions{Nonce: &n, PIDs: []uint32{1}})
	})
}
