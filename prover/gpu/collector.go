package gpu

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/NVIDIA/go-nvml/pkg/nvml"

	"github.com/probitylabs/probity/attestation"
)

// ErrNoGPU: NVML could not be loaded or found no device; the record's mode is "none".
var ErrNoGPU = errors.New("no NVIDIA driver/GPU present")

// ErrCCOff: a CC report was asked for but confidential computing is not enabled.
var ErrCCOff = errors.New("confidential computing is not enabled on this GPU")

// Lib is the part of nvml.Interface the collector uses; nvml.Interface and go-nvml's
// mock.Interface both satisfy it.
type Lib interface {
	Init() nvml.Return
	Shutdown() nvml.Return
	DeviceGetCount() (int, nvml.Return)
	DeviceGetHandleByIndex(int) (nvml.Device, nvml.Return)
	SystemGetDriverVersion() (string, nvml.Return)
	SystemGetCudaDriverVersion() (int, nvml.Return)
	SystemGetConfComputeState() (nvml.ConfComputeSystemState, nvml.Return)
	SystemGetConfComputeGpusReadyState() (uint32, nvml.Return)
}

// NVMLError is a failed NVML call other than NOT_SUPPORTED.
type NVMLError struct {
	Call string
	Ret  nvml.Return
}

func (e *NVMLError) Error() string {
	return fmt.Sprintf("nvml %s: %s (%d)", e.Call, retName(e.Ret), int32(e.Ret))
}

// unsupported reports whether ret means "this device or driver cannot answer", which is
// recorded rather than fatal.
func unsupported(ret nvml.Return) bool {
	return ret == nvml.ERROR_NOT_SUPPORTED || ret == nvml.ERROR_FUNCTION_NOT_FOUND
}

// unsup collects unsupported field names and the first hard error.
type unsup struct {
	fields map[string]bool
	err    error
}

// ok returns true on SUCCESS; on NOT_SUPPORTED it records field; on any other code it keeps the
// first error.
func (u *unsup) ok(field, call string, ret nvml.Return) bool {
	switch {
	case ret == nvml.SUCCESS:
		return true
	case unsupported(ret):
		if u.fields == nil {
			u.fields = map[string]bool{}
		}
		u.fields[field] = true
	case u.err == nil:
		u.err = fmt.Errorf("%s: %w", field, &NVMLError{call, ret})
	}
	return false
}

func (u *unsup) list() []string {
	out := make([]string, 0, len(u.fields))
	for f := range u.fields {
		out = append(out, f)
	}
	sort.Strings(out)
	return out
}

// Collector reads one device.
type Collector struct {
	lib   Lib
	dev   nvml.Device
	index int
	// peers are the other GPUs of a multi-GPU job (AddPeers), by NVML index peerIdx.
	peers   []nvml.Device
	peerIdx []int
}

// Open initialises the system's NVML and opens device index. Without a driver it returns
// ErrNoGPU.
func Open(index int) (*Collector, error) {
	return OpenLib(nvml.New(), index)
}

// OpenLib is Open over a given library (a mock or a Replay in tests).
func OpenLib(lib Lib, index int) (*Collector, error) {
	switch ret := lib.Init(); ret {
	case nvml.SUCCESS:
	case nvml.ERROR_LIBRARY_NOT_FOUND, nvml.ERROR_DRIVER_NOT_LOADED, nvml.ERROR_FUNCTION_NOT_FOUND, nvml.ERROR_LIB_RM_VERSION_MISMATCH:
		return nil, fmt.Errorf("%w: %w", ErrNoGPU, &NVMLError{"Init", ret})
	default:
		return nil, &NVMLError{"Init", ret}
	}
	n, ret := lib.DeviceGetCount()
	if ret != nvml.SUCCESS {
		lib.Shutdown()
		return nil, &NVMLError{"DeviceGetCount", ret}
	}
	if n == 0 {
		lib.Shutdown()
		return nil, fmt.Errorf("%w: NVML sees no device", ErrNoGPU)
	}
	if index < 0 || index >= n {
		lib.Shutdown()
		return nil, fmt.Errorf("gpu: device index %d, NVML sees %d devices", index, n)
	}
	dev, ret := lib.DeviceGetHandleByIndex(index)
	if ret != nvml.SUCCESS {
		lib.Shutdown()
		return nil, &NVMLError{"DeviceGetHandleByIndex", ret}
	}
	return &Collector{lib: lib, dev: dev, index: index}, nil
}

// Close shuts NVML down.
func (c *Collector) Close() error {
	if ret := c.lib.Shutdown(); ret != nvml.SUCCESS {
		return &NVMLError{"Shutdown", ret}
	}
	return nil
}

// Device is the NVML handle, for callers that need more than the record.
func (c *Collector) Device() nvml.Device { return c.dev }

// Identity reads the device identity; the returned list names unsupported fields.
func (c *Collector) Identity() (attestation.Identity, []string, error) {
	var id attestation.Identity
	var u unsup
	d := c.dev
	var ret nvml.Return
	var s string
	if s, ret = d.GetUUID(); u.ok("identity.uuid", "GetUUID", ret) {
		id.UUID = s
	}
	if s, ret = d.GetName(); u.ok("identity.name", "GetName", ret) {
		id.Name = s
	}
	if s, ret = d.GetSerial(); u.ok("identity.serial", "GetSerial", ret) {
		id.Serial = s
	}
	if s, ret = d.GetBoardPartNumber(); u.ok("identity.boardPartNumber", "GetBoardPartNumber", ret) {
		id.BoardPartNumber = s
	}
	if p, ret := d.GetPciInfo(); u.ok("identity.pci", "GetPciInfo", ret) {
		id.PCI = attestation.PCI{BusID: cString(p.BusId[:]), DeviceID: p.PciDeviceId, SubsystemID: p.PciSubSystemId}
	}
	if a, ret := d.GetArchitecture(); u.ok("identity.architecture", "GetArchitecture", ret) {
		id.Architecture = ArchName(a)
	}
	if m, ret := d.GetMemoryInfo(); u.ok("identity.memoryTotalBytes", "GetMemoryInfo", ret) {
		id.MemoryTotalBytes = m.Total
	}
	if s, ret = c.lib.SystemGetDriverVersion(); u.ok("identity.driverVersion", "SystemGetDriverVersion", ret) {
		id.DriverVersion = s
	}
	if v, ret := c.lib.SystemGetCudaDriverVersion(); u.ok("identity.cudaDriverVersion", "SystemGetCudaDriverVersion", ret) {
		id.CUDADriverVersion = uint32(v)
	}
	if s, ret = d.GetVbiosVersion(); u.ok("identity.vbiosVersion", "GetVbiosVersion", ret) {
		id.VBIOSVersion = s
	}
	if cur, _, ret := d.GetEccMode(); u.ok("identity.eccMode", "GetEccMode", ret) {
		id.ECCMode = enable(cur == nvml.FEATURE_ENABLED)
	}
	if cur, _, ret := d.GetMigMode(); u.ok("identity.migMode", "GetMigMode", ret) {
		id.MIGMode = enable(cur == nvml.DEVICE_MIG_ENABLE)
	}
	if p, ret := d.GetPersistenceMode(); u.ok("identity.persistenceMode", "GetPersistenceMode", ret) {
		id.PersistenceMode = enable(p == nvml.FEATURE_ENABLED)
	}
	if maj, min, ret := d.GetCudaComputeCapability(); u.ok("identity.computeCapability", "GetCudaComputeCapability", ret) {
		id.ComputeCapability = fmt.Sprintf("%d.%d", maj, min)
	}
	return id, u.list(), u.err
}

func enable(b bool) string {
	if b {
		return attestation.Enabled
	}
	return attestation.Disabled
}

func cString(b []int8) string {
	var sb strings.Builder
	for _, c := range b {
		if c == 0 {
			break
		}
		sb.WriteByte(byte(c))
	}
	return sb.String()
}

// ArchName spells an NVML architecture in lower case ("hopper").
func ArchName(a nvml.DeviceArchitecture) string {
	switch a {
	case nvml.DEVICE_ARCH_KEPLER:
		return "kepler"
	case nvml.DEVICE_ARCH_MAXWELL:
		return "maxwell"
	case nvml.DEVICE_ARCH_PASCAL:
		return "pascal"
	case nvml.DEVICE_ARCH_VOLTA:
		return "volta"
	case nvml.DEVICE_ARCH_TURING:
		return "turing"
	case nvml.DEVICE_ARCH_AMPERE:
		return "ampere"
	case nvml.DEVICE_ARCH_ADA:
		return "ada"
	case nvml.DEVICE_ARCH_HOPPER:
		return "hopper"
	case nvml.DEVICE_ARCH_BLACKWELL:
		return "blackwell"
	case nvml.DEVICE_ARCH_RUBIN:
		return "rubin"
	}
	return fmt.Sprintf("unknown(%d)", uint32(a))
}

// CCState reads the system's confidential-computing state. ok is false when the driver does
// not support the query (pre-Hopper GPUs, older drivers).
func (c *Collector) CCState() (cc attestation.CC, ok bool, err error) {
	st, ret := c.lib.SystemGetConfComputeState()
	if unsupported(ret) {
		return cc, false, nil
	}
	if ret != nvml.SUCCESS {
		return cc, false, &NVMLError{"SystemGetConfComputeState", ret}
	}
	cc.Enabled = st.CcFeature == nvml.CC_SYSTEM_FEATURE_ENABLED
	cc.DevToolsMode = st.DevToolsMode == nvml.CC_SYSTEM_DEVTOOLS_MODE_ON
	rdy, ret := c.lib.SystemGetConfComputeGpusReadyState()
	switch {
	case ret == nvml.SUCCESS:
		cc.Ready = rdy == nvml.CC_ACCEPTING_CLIENT_REQUESTS_TRUE
	case unsupported(ret):
	default:
		return cc, false, &NVMLError{"SystemGetConfComputeGpusReadyState", ret}
	}
	return cc, true, nil
}

// CCEvidence asks the GPU for an attestation report over nonce and for its attestation
// certificate chain.
func (c *Collector) CCEvidence(nonce [32]byte) (report, certChain []byte, err error) {
	return ccEvidence(c.dev, nonce)
}

func ccEvidence(dev nvml.Device, nonce [32]byte) (report, chain []byte, err error) {
	var rep nvml.ConfComputeGpuAttestationReport
	rep.Nonce = nonce
	if ret := dev.GetConfComputeGpuAttestationReport(&rep); ret != nvml.SUCCESS {
		if unsupported(ret) {
			return nil, nil, fmt.Errorf("%w: %w", ErrCCOff, &NVMLError{"GetConfComputeGpuAttestationReport", ret})
		}
		return nil, nil, &NVMLError{"GetConfComputeGpuAttestationReport", ret}
	}
	if rep.AttestationReportSize == 0 || int(rep.AttestationReportSize) > len(rep.AttestationReport) {
		return nil, nil, fmt.Errorf("gpu: attestation report size %d out of range", rep.AttestationReportSize)
	}
	if chain, err = certChain(dev); err != nil {
		return nil, nil, err
	}
	return append([]byte(nil), rep.AttestationReport[:rep.AttestationReportSize]...), chain, nil
}

// CertChain reads the GPU's attestation certificate chain without asking for a report: the
// provider checks its revocation before it locks a job (a revoked GPU would fail every audit).
func (c *Collector) CertChain() ([]byte, error) { return certChain(c.dev) }

func certChain(dev nvml.Device) ([]byte, error) {
	cert, ret := dev.GetConfComputeGpuCertificate()
	if ret != nvml.SUCCESS {
		if unsupported(ret) {
			return nil, fmt.Errorf("%w: %w", ErrCCOff, &NVMLError{"GetConfComputeGpuCertificate", ret})
		}
		return nil, &NVMLError{"GetConfComputeGpuCertificate", ret}
	}
	if cert.AttestationCertChainSize == 0 || int(cert.AttestationCertChainSize) > len(cert.AttestationCertChain) {
		return nil, fmt.Errorf("gpu: attestation certificate chain size %d out of range", cert.AttestationCertChainSize)
	}
	return append([]byte(nil), cert.AttestationCertChain[:cert.AttestationCertChainSize]...), nil
}

// Accounting reads NVML's per-process accounting for pids. ok is false when accounting mode is
// off or unsupported (enable it with `nvidia-smi -am 1`); PIDs NVML has no entry for are left
// out.
func (c *Collector) Accounting(pids []uint32) (procs []attestation.Process, ok bool, err error) {
	mode, ret := c.dev.GetAccountingMode()
	if unsupported(ret) || (ret == nvml.SUCCESS && mode != nvml.FEATURE_ENABLED) {
		return nil, false, nil
	}
	if ret != nvml.SUCCESS {
		return nil, false, &NVMLError{"GetAccountingMode", ret}
	}
	for _, pid := range pids {
		st, ret := c.dev.GetAccountingStats(pid)
		if ret == nvml.ERROR_NOT_FOUND {
			continue
		}
		if ret != nvml.SUCCESS {
			return nil, false, fmt.Errorf("pid %d: %w", pid, &NVMLError{"GetAccountingStats", ret})
		}
		procs = append(procs, attestation.Process{PID: pid, GPUUtil: st.GpuUtilization, MemUtil: st.MemoryUtilization, MaxMemoryBytes: st.MaxMemoryUsage, TimeMs: st.Time})
	}
	return procs, true, nil
}

// RecordOptions say what goes into a record beyond the identity.
type RecordOptions struct {
	// Telemetry is the sampler's summary (Sampler.Stop); nil leaves telemetry out.
	Telemetry *Summary
	// PIDs are the job's processes for per-process accounting.
	PIDs []uint32
	// Nonce, when set and CC is on, is sent to the GPU for an attestation report
	// (attestation.Nonce for the job): the record's mode is then nvml+cc.
	Nonce *[32]byte
	// RequireCC fails instead of falling back to mode nvml when no report can be had.
	RequireCC bool
	// OCSP are the DER OCSP responses the provider fetched at job time for the device chain
	// and the RIM signers' chains (StapleRequests says what to ask); in mode nvml+cc they are
	// stapled into cc.ocsp so that auditors check revocation offline. Ignored otherwise.
	OCSP [][]byte
	// Staple, when set, is called in mode nvml+cc with the certificate chain the GPU returned
	// with its report, and with each peer GPU's (AddPeers); the responses it returns are
	// stapled with OCSP. It fetches (or takes from a cache) the responses for exactly the
	// chain that signed the report, and its error (a revoked certificate, or none fetched
	// where they are required) fails the record.
	Staple func(certChain []byte) ([][]byte, error)
}

// BuildRecord assembles the attestation record of the device.
func (c *Collector) BuildRecord(o RecordOptions) (*attestation.Record, error) {
	id, uns, err := c.Identity()
	if err != nil {
		return nil, err
	}
	rec := &attestation.Record{Version: attestation.Version, Mode: attestation.ModeNVML, Identity: &id}
	all := map[string]bool{}
	for _, f := range uns {
		all[f] = true
	}
	if o.Telemetry != nil {
		t := o.Telemetry.Telemetry
		rec.Telemetry = &t
		for _, f := range o.Telemetry.Unsupported {
			all[f] = true
		}
		if len(o.PIDs) > 0 {
			procs, ok, err := c.Accounting(o.PIDs)
			if err != nil {
				return nil, err
			}
			if ok {
				rec.Telemetry.Processes = procs
			} else {
				all["telemetry.processes"] = true
			}
		}
	}
	cc, ok, err := c.CCState()
	if err != nil {
		return nil, err
	}
	if !ok {
		all["cc"] = true
	} else {
		rec.CC = &cc
	}
	switch {
	case ok && cc.Enabled && o.Nonce != nil:
		report, chain, err := c.CCEvidence(*o.Nonce)
		if err != nil {
			return nil, err
		}
		rec.Mode = attestation.ModeNVMLCC
		rec.CC.Nonce, rec.CC.Report, rec.CC.CertChain = append([]byte(nil), o.Nonce[:]...), report, chain
		responses := slices.Clone(o.OCSP)
		if o.Staple != nil {
			fetched, err := o.Staple(chain)
			if err != nil {
				return nil, err
			}
			responses = append(responses, fetched...)
		}
		peers, fetched, err := c.peerEvidence(*o.Nonce, o.Staple)
		if err != nil {
			return nil, err
		}
		rec.CC.GPUs, responses = peers, append(responses, fetched...)
		if err := staple(rec, responses); err != nil {
			return nil, err
		}
	case o.RequireCC && o.Nonce == nil:
		return nil, errors.New("gpu: a CC report needs the job nonce")
	case o.RequireCC:
		return nil, ErrCCOff
	}
	for f := range all {
		rec.Unsupported = append(rec.Unsupported, f)
	}
	sort.Strings(rec.Unsupported)
	if err := rec.Validate(); err != nil {
		return nil, fmt.Errorf("gpu: collected record: %w", err)
	}
	return rec, nil
}

// NoneRecord is the record of a machine without a GPU (mode none).
func NoneRecord() *attestation.Record {
	return &attestation.Record{Version: attestation.Version, Mode: attestation.ModeNone}
}
