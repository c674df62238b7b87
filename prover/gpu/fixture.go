package gpu

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/NVIDIA/go-nvml/pkg/nvml"
	"github.com/NVIDIA/go-nvml/pkg/nvml/mock"

	"github.com/probitylabs/probity/attestation"
)

// FixtureVersion names the DeviceFixture format.
const FixtureVersion = "probity.gpu-fixture.v0"

// DeviceFixture is what every NVML call the collector makes returned on one device: value and
// return code, so a replay reproduces NOT_SUPPORTED answers too. Samples hold the telemetry
// calls in the order they were polled; a replay steps through them per call and repeats the
// last one.
type DeviceFixture struct {
	Version string `json:"version"`
	// Source says where the data comes from ("recorded on ..." or synthetic-from-spec).
	Source string `json:"source"`
	// Synthetic marks a hand-made fixture that a real recording should replace.
	Synthetic bool `json:"synthetic"`

	DriverVersion     Call[string]                      `json:"driverVersion"`
	CUDADriverVersion Call[int]                         `json:"cudaDriverVersion"`
	CCState           Call[nvml.ConfComputeSystemState] `json:"ccState"`
	CCReady           Call[uint32]                      `json:"ccReady"`

	UUID              Call[string]                          `json:"uuid"`
	Name              Call[string]                          `json:"name"`
	Serial            Call[string]                          `json:"serial"`
	BoardPartNumber   Call[string]                          `json:"boardPartNumber"`
	PCI               Call[FixturePCI]                      `json:"pci"`
	Architecture      Call[uint32]                          `json:"architecture"`
	MemoryTotal       Call[uint64]                          `json:"memoryTotal"`
	VBIOSVersion      Call[string]                          `json:"vbiosVersion"`
	ECCMode           Call[[2]uint32]                       `json:"eccMode"` // current, pending
	MIGMode           Call[[2]int]                          `json:"migMode"` // current, pending
	PersistenceMode   Call[uint32]                          `json:"persistenceMode"`
	ComputeCapability Call[[2]int]                          `json:"computeCapability"`
	AccountingMode    Call[uint32]                          `json:"accountingMode"`
	Accounting        map[string]Call[nvml.AccountingStats] `json:"accounting,omitempty"` // by decimal pid

	// CC evidence as returned for RecordNonce; replays return it whatever nonce is asked.
	RecordNonce       attestation.Hex       `json:"recordNonce,omitempty"`
	AttestationReport Call[attestation.Hex] `json:"attestationReport"`
	CertChain         Call[attestation.Hex] `json:"certChain"`

	Samples []FixtureSample `json:"samples"`
}

// FixturePCI is the part of nvmlPciInfo_t the collector reads.
type FixturePCI struct {
	BusID       string `json:"busId"`
	DeviceID    uint32 `json:"deviceId"`
	SubsystemID uint32 `json:"subsystemId"`
}

// FixtureSample is one poll of the telemetry calls.
type FixtureSample struct {
	Utilization    Call[nvml.Utilization] `json:"utilization"`
	MemoryUsed     Call[uint64]           `json:"memoryUsed"`
	SMClock        Call[uint32]           `json:"smClock"`
	MemClock       Call[uint32]           `json:"memClock"`
	PowerMw        Call[uint32]           `json:"powerMw"`
	EnergyMj       Call[uint64]           `json:"energyMj"`
	ClockEventMask Call[uint64]           `json:"clockEventReasons"`
}

// Call is one NVML answer: Ret is the NVML return code name ("SUCCESS", "ERROR_NOT_SUPPORTED",
// ...), Value is meaningful on SUCCESS only.
type Call[T any] struct {
	Ret   string `json:"ret"`
	Value T      `json:"value"`
}

func (c Call[T]) get() (T, nvml.Return) {
	r, ok := retByName[c.Ret]
	if !ok {
		r = nvml.ERROR_UNKNOWN
	}
	return c.Value, r
}

func call[T any](v T, r nvml.Return) Call[T] {
	if r != nvml.SUCCESS {
		var zero T
		return Call[T]{Ret: retName(r), Value: zero}
	}
	return Call[T]{Ret: "SUCCESS", Value: v}
}

var retByName = map[string]nvml.Return{
	"SUCCESS": nvml.SUCCESS, "ERROR_UNINITIALIZED": nvml.ERROR_UNINITIALIZED, "ERROR_INVALID_ARGUMENT": nvml.ERROR_INVALID_ARGUMENT,
	"ERROR_NOT_SUPPORTED": nvml.ERROR_NOT_SUPPORTED, "ERROR_NO_PERMISSION": nvml.ERROR_NO_PERMISSION, "ERROR_NOT_FOUND": nvml.ERROR_NOT_FOUND,
	"ERROR_INSUFFICIENT_SIZE": nvml.ERROR_INSUFFICIENT_SIZE, "ERROR_DRIVER_NOT_LOADED": nvml.ERROR_DRIVER_NOT_LOADED,
	"ERROR_TIMEOUT": nvml.ERROR_TIMEOUT, "ERROR_LIBRARY_NOT_FOUND": nvml.ERROR_LIBRARY_NOT_FOUND, "ERROR_FUNCTION_NOT_FOUND": nvml.ERROR_FUNCTION_NOT_FOUND,
	"ERROR_GPU_IS_LOST": nvml.ERROR_GPU_IS_LOST, "ERROR_NO_DATA": nvml.ERROR_NO_DATA, "ERROR_NOT_READY": nvml.ERROR_NOT_READY,
	"ERROR_INVALID_STATE": nvml.ERROR_INVALID_STATE, "ERROR_UNKNOWN": nvml.ERROR_UNKNOWN,
}

func retName(r nvml.Return) string {
	for n, v := range retByName {
		if v == r {
			return n
		}
	}
	return fmt.Sprintf("ERROR_%d", int32(r))
}

// ErrFixture wraps fixture parse errors.
var ErrFixture = errors.New("invalid device fixture")

// ParseFixture decodes a fixture strictly.
func ParseFixture(b []byte) (*DeviceFixture, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var f DeviceFixture
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrFixture, err)
	}
	if f.Version != FixtureVersion {
		return nil, fmt.Errorf("%w: version %q, want %q", ErrFixture, f.Version, FixtureVersion)
	}
	if len(f.Samples) == 0 {
		return nil, fmt.Errorf("%w: no samples", ErrFixture)
	}
	check := func(field, name string) error {
		if _, ok := retByName[name]; !ok {
			return fmt.Errorf("%w: %s: unknown return code %q", ErrFixture, field, name)
		}
		return nil
	}
	for field, name := range map[string]string{
		"driverVersion": f.DriverVersion.Ret, "cudaDriverVersion": f.CUDADriverVersion.Ret, "ccState": f.CCState.Ret, "ccReady": f.CCReady.Ret,
		"uuid": f.UUID.Ret, "name": f.Name.Ret, "serial": f.Serial.Ret, "boardPartNumber": f.BoardPartNumber.Ret, "pci": f.PCI.Ret,
		"architecture": f.Architecture.Ret, "memoryTotal": f.MemoryTotal.Ret, "vbiosVersion": f.VBIOSVersion.Ret, "eccMode": f.ECCMode.Ret,
		"migMode": f.MIGMode.Ret, "persistenceMode": f.PersistenceMode.Ret, "computeCapability": f.ComputeCapability.Ret,
		"accountingMode": f.AccountingMode.Ret, "attestationReport": f.AttestationReport.Ret, "certChain": f.CertChain.Ret,
	} {
		if err := check(field, name); err != nil {
			return nil, err
		}
	}
	for i, s := range f.Samples {
		for field, name := range map[string]string{"utilization": s.Utilization.Ret, "memoryUsed": s.MemoryUsed.Ret, "smClock": s.SMClock.Ret,
			"memClock": s.MemClock.Ret, "powerMw": s.PowerMw.Ret, "energyMj": s.EnergyMj.Ret, "clockEventReasons": s.ClockEventMask.Ret} {
			if err := check(fmt.Sprintf("samples[%d].%s", i, field), name); err != nil {
				return nil, err
			}
		}
	}
	return &f, nil
}

// RecordOptions for RecordFixture.
type FixtureOptions struct {
	Samples  int           // telemetry polls (at least 1)
	Interval time.Duration // between polls
	PIDs     []uint32      // accounting entries to record
	Nonce    *[32]byte     // when set, ask for CC evidence with it
}

// RecordFixture records what the collector's NVML calls return on c's device.
func RecordFixture(c *Collector, o FixtureOptions) *DeviceFixture {
	d := c.dev
	f := &DeviceFixture{Version: FixtureVersion, Source: "recorded with prover/gpu.RecordFixture at " + time.Now().UTC().Format(time.RFC3339)}
	f.DriverVersion = call(c.lib.SystemGetDriverVersion())
	f.CUDADriverVersion = call(c.lib.SystemGetCudaDriverVersion())
	f.CCState = call(c.lib.SystemGetConfComputeState())
	f.CCReady = call(c.lib.SystemGetConfComputeGpusReadyState())
	f.UUID = call(d.GetUUID())
	f.Name = call(d.GetName())
	f.Serial = call(d.GetSerial())
	f.BoardPartNumber = call(d.GetBoardPartNumber())
	p, ret := d.GetPciInfo()
	f.PCI = call(FixturePCI{cString(p.BusId[:]), p.PciDeviceId, p.PciSubSystemId}, ret)
	a, ret := d.GetArchitecture()
	f.Architecture = call(uint32(a), ret)
	m, ret := d.GetMemoryInfo()
	f.MemoryTotal = call(m.Total, ret)
	f.VBIOSVersion = call(d.GetVbiosVersion())
	ec, ep, ret := d.GetEccMode()
	f.ECCMode = call([2]uint32{uint32(ec), uint32(ep)}, ret)
	mc, mp, ret := d.GetMigMode()
	f.MIGMode = call([2]int{mc, mp}, ret)
	pm, ret := d.GetPersistenceMode()
	f.PersistenceMode = call(uint32(pm), ret)
	maj, mn, ret := d.GetCudaComputeCapability()
	f.ComputeCapability = call([2]int{maj, mn}, ret)
	am, ret := d.GetAccountingMode()
	f.AccountingMode = call(uint32(am), ret)
	for _, pid := range o.PIDs {
		if f.Accounting == nil {
			f.Accounting = map[string]Call[nvml.AccountingStats]{}
		}
		f.Accounting[fmt.Sprint(pid)] = call(d.GetAccountingStats(pid))
	}
	if o.Nonce != nil {
		f.RecordNonce = append(attestation.Hex(nil), o.Nonce[:]...)
		var rep nvml.ConfComputeGpuAttestationReport
		rep.Nonce = *o.Nonce
		ret := d.GetConfComputeGpuAttestationReport(&rep)
		n := min(int(rep.AttestationReportSize), len(rep.AttestationReport))
		f.AttestationReport = call(attestation.Hex(append([]byte(nil), rep.AttestationReport[:n]...)), ret)
		cert, ret := d.GetConfComputeGpuCertificate()
		n = min(int(cert.AttestationCertChainSize), len(cert.AttestationCertChain))
		f.CertChain = call(attestation.Hex(append([]byte(nil), cert.AttestationCertChain[:n]...)), ret)
	} else {
		f.AttestationReport = Call[attestation.Hex]{Ret: "ERROR_NOT_SUPPORTED"}
		f.CertChain = Call[attestation.Hex]{Ret: "ERROR_NOT_SUPPORTED"}
	}
	for i := range max(o.Samples, 1) {
		if i > 0 {
			time.Sleep(o.Interval)
		}
		var s FixtureSample
		s.Utilization = call(d.GetUtilizationRates())
		mi, ret := d.GetMemoryInfo()
		s.MemoryUsed = call(mi.Used, ret)
		s.SMClock = call(d.GetClockInfo(nvml.CLOCK_SM))
		s.MemClock = call(d.GetClockInfo(nvml.CLOCK_MEM))
		s.PowerMw = call(d.GetPowerUsage())
		s.EnergyMj = call(d.GetTotalEnergyConsumption())
		s.ClockEventMask = call(d.GetCurrentClocksEventReasons())
		f.Samples = append(f.Samples, s)
	}
	return f
}

// Replay builds an NVML library on go-nvml's mock that answers as the fixture's device did.
// Each telemetry call steps through the samples on its own and then repeats the last one.
func Replay(f *DeviceFixture) *mock.Interface {
	var mu sync.Mutex
	step := map[string]int{}
	next := func(name string) FixtureSample {
		mu.Lock()
		defer mu.Unlock()
		i := min(step[name], len(f.Samples)-1)
		step[name]++
		return f.Samples[i]
	}
	dev := &mock.Device{
		GetUUIDFunc:            f.UUID.get,
		GetNameFunc:            f.Name.get,
		GetSerialFunc:          f.Serial.get,
		GetBoardPartNumberFunc: f.BoardPartNumber.get,
		GetPciInfoFunc: func() (nvml.PciInfo, nvml.Return) {
			v, r := f.PCI.get()
			var p nvml.PciInfo
			for i := 0; i < len(v.BusID) && i < len(p.BusId)-1; i++ {
				p.BusId[i] = int8(v.BusID[i])
			}
			p.PciDeviceId, p.PciSubSystemId = v.DeviceID, v.SubsystemID
			return p, r
		},
		GetArchitectureFunc: func() (nvml.DeviceArchitecture, nvml.Return) {
			v, r := f.Architecture.get()
			return nvml.DeviceArchitecture(v), r
		},
		GetMemoryInfoFunc: func() (nvml.Memory, nvml.Return) {
			// Identity reads Total, the sampler reads Used: serve both from one call.
			t, r := f.MemoryTotal.get()
			if r != nvml.SUCCESS {
				return nvml.Memory{}, r
			}
			u, r := next("memory").MemoryUsed.get()
			if r != nvml.SUCCESS {
				return nvml.Memory{}, r
			}
			return nvml.Memory{Total: t, Used: u, Free: t - min(u, t)}, nvml.SUCCESS
		},
		GetVbiosVersionFunc: f.VBIOSVersion.get,
		GetEccModeFunc: func() (nvml.EnableState, nvml.EnableState, nvml.Return) {
			v, r := f.ECCMode.get()
			return nvml.EnableState(v[0]), nvml.EnableState(v[1]), r
		},
		GetMigModeFunc: func() (int, int, nvml.Return) {
			v, r := f.MIGMode.get()
			return v[0], v[1], r
		},
		GetPersistenceModeFunc: func() (nvml.EnableState, nvml.Return) {
			v, r := f.PersistenceMode.get()
			return nvml.EnableState(v), r
		},
		GetCudaComputeCapabilityFunc: func() (int, int, nvml.Return) {
			v, r := f.ComputeCapability.get()
			return v[0], v[1], r
		},
		GetAccountingModeFunc: func() (nvml.EnableState, nvml.Return) {
			v, r := f.AccountingMode.get()
			return nvml.EnableState(v), r
		},
		GetAccountingStatsFunc: func(pid uint32) (nvml.AccountingStats, nvml.Return) {
			c, ok := f.Accounting[fmt.Sprint(pid)]
			if !ok {
				return nvml.AccountingStats{}, nvml.ERROR_NOT_FOUND
			}
			return c.get()
		},
		GetConfComputeGpuAttestationReportFunc: func(rep *nvml.ConfComputeGpuAttestationReport) nvml.Return {
			v, r := f.AttestationReport.get()
			if r != nvml.SUCCESS {
				return r
			}
			if len(v) > len(rep.AttestationReport) {
				return nvml.ERROR_INSUFFICIENT_SIZE
			}
			rep.AttestationReportSize = uint32(copy(rep.AttestationReport[:], v))
			return nvml.SUCCESS
		},
		GetConfComputeGpuCertificateFunc: func() (nvml.ConfComputeGpuCertificate, nvml.Return) {
			var c nvml.ConfComputeGpuCertificate
			v, r := f.CertChain.get()
			if r != nvml.SUCCESS {
				return c, r
			}
			if len(v) > len(c.AttestationCertChain) {
				return c, nvml.ERROR_INSUFFICIENT_SIZE
			}
			c.AttestationCertChainSize = uint32(copy(c.AttestationCertChain[:], v))
			return c, nvml.SUCCESS
		},
		GetUtilizationRatesFunc: func() (nvml.Utilization, nvml.Return) { return next("util").Utilization.get() },
		GetClockInfoFunc: func(ct nvml.ClockType) (uint32, nvml.Return) {
			switch ct {
			case nvml.CLOCK_SM:
				return next("sm").SMClock.get()
			case nvml.CLOCK_MEM:
				return next("mem").MemClock.get()
			}
			return 0, nvml.ERROR_NOT_SUPPORTED
		},
		GetPowerUsageFunc:                func() (uint32, nvml.Return) { return next("power").PowerMw.get() },
		GetTotalEnergyConsumptionFunc:    func() (uint64, nvml.Return) { return next("energy").EnergyMj.get() },
		GetCurrentClocksEventReasonsFunc: func() (uint64, nvml.Return) { return next("reasons").ClockEventMask.get() },
		GetCurrentClocksThrottleReasonsFunc: func() (uint64, nvml.Return) {
			return 0, nvml.ERROR_NOT_SUPPORTED
		},
	}
	return &mock.Interface{
		InitFunc:           func() nvml.Return { return nvml.SUCCESS },
		ShutdownFunc:       func() nvml.Return { return nvml.SUCCESS },
		DeviceGetCountFunc: func() (int, nvml.Return) { return 1, nvml.SUCCESS },
		DeviceGetHandleByIndexFunc: func(i int) (nvml.Device, nvml.Return) {
			if i != 0 {
				return nil, nvml.ERROR_INVALID_ARGUMENT
			}
			return dev, nvml.SUCCESS
		},
		SystemGetDriverVersionFunc:             f.DriverVersion.get,
		SystemGetCudaDriverVersionFunc:         f.CUDADriverVersion.get,
		SystemGetConfComputeStateFunc:          f.CCState.get,
		SystemGetConfComputeGpusReadyStateFunc: f.CCReady.get,
	}
}
