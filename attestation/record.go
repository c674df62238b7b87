package attestation

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"sort"
	"strings"
)

// Version is the only record version this package reads and writes.
const Version = "probity.attestation.v0"

// Mode says what backs a record.
type Mode string

const (
	// ModeNone: no NVIDIA driver or GPU was present; the record carries nothing else.
	ModeNone Mode = "none"
	// ModeNVML: identity and telemetry read through NVML, vouched for only by the provider's
	// signature on the receipt.
	ModeNVML Mode = "nvml"
	// ModeNVMLCC: as ModeNVML plus a GPU-signed attestation report over the job nonce.
	ModeNVMLCC Mode = "nvml+cc"
)

// Enable-state spellings used by Identity's mode fields.
const (
	Enabled  = "enabled"
	Disabled = "disabled"
)

// Record is the attestation record of §9. Field order here is the canonical key order.
type Record struct {
	Version   string     `json:"version"`
	Mode      Mode       `json:"mode"`
	Identity  *Identity  `json:"identity,omitempty"`
	Telemetry *Telemetry `json:"telemetry,omitempty"`
	CC        *CC        `json:"cc,omitempty"`
	// Unsupported names, as JSON paths like "identity.serial" or "telemetry.energyMj", the fields
	// the driver answered NOT_SUPPORTED for; those fields hold their zero value. Sorted, unique.
	Unsupported []string `json:"unsupported,omitempty"`
}

// Identity is what NVML reports about the device.
type Identity struct {
	UUID              string `json:"uuid"`
	Name              string `json:"name"`
	Serial            string `json:"serial"`
	BoardPartNumber   string `json:"boardPartNumber"`
	PCI               PCI    `json:"pci"`
	Architecture      string `json:"architecture"`
	MemoryTotalBytes  uint64 `json:"memoryTotalBytes"`
	DriverVersion     string `json:"driverVersion"`
	CUDADriverVersion uint32 `json:"cudaDriverVersion"` // NVML's integer form: 12080 is CUDA 12.8
	VBIOSVersion      string `json:"vbiosVersion"`
	ECCMode           string `json:"eccMode"`           // "enabled", "disabled", or "" when unsupported
	MIGMode           string `json:"migMode"`           // likewise
	PersistenceMode   string `json:"persistenceMode"`   // likewise
	ComputeCapability string `json:"computeCapability"` // "major.minor", e.g. "9.0"
}

// PCI locates the device and names its PCI ids.
type PCI struct {
	BusID       string `json:"busId"`       // domain:bus:device.function as NVML prints it
	DeviceID    uint32 `json:"deviceId"`    // combined device and vendor id (0x233010de for H100 SXM)
	SubsystemID uint32 `json:"subsystemId"` // combined subsystem device and vendor id
}

// Telemetry summarises NVML samples taken over the job window.
type Telemetry struct {
	StartMs            uint64    `json:"startMs"` // unix milliseconds
	EndMs              uint64    `json:"endMs"`
	Samples            uint32    `json:"samples"`
	UtilGPU            MinAvgMax `json:"utilGpu"` // percent
	UtilMem            MinAvgMax `json:"utilMem"` // percent
	MemoryUsedMaxBytes uint64    `json:"memoryUsedMaxBytes"`
	SMClockMHz         AvgMax    `json:"smClockMHz"`
	MemClockMHz        AvgMax    `json:"memClockMHz"`
	PowerMw            AvgMax    `json:"powerMw"`
	EnergyMj           uint64    `json:"energyMj"`        // total-energy counter at end minus at start
	ThrottleReasons    uint64    `json:"throttleReasons"` // OR of every sample's clock event reasons
	Processes          []Process `json:"processes,omitempty"`
}

// MinAvgMax is a summary of integer samples; Avg is floor(sum / count).
type MinAvgMax struct {
	Min uint32 `json:"min"`
	Avg uint32 `json:"avg"`
	Max uint32 `json:"max"`
}

// AvgMax is a summary of integer samples; Avg is floor(sum / count).
type AvgMax struct {
	Avg uint32 `json:"avg"`
	Max uint32 `json:"max"`
}

// Process is NVML's accounting entry for one job process.
type Process struct {
	PID            uint32 `json:"pid"`
	GPUUtil        uint32 `json:"gpuUtil"` // percent
	MemUtil        uint32 `json:"memUtil"` // percent
	MaxMemoryBytes uint64 `json:"maxMemoryBytes"`
	TimeMs         uint64 `json:"timeMs"`
}

// CC is the confidential-computing part: the system state and, in mode nvml+cc, the GPU's
// attestation report over Nonce and its certificate chain.
type CC struct {
	Enabled      bool `json:"enabled"`
	DevToolsMode bool `json:"devToolsMode"`
	Ready        bool `json:"ready"`
	Nonce        Hex  `json:"nonce,omitempty"`
	Report       Hex  `json:"report,omitempty"`    // SPDM GET_MEASUREMENTS request || response
	CertChain    Hex  `json:"certChain,omitempty"` // PEM or DER certificates, leaf first
	// OCSP are DER OCSP responses the provider fetched at job time for the certificates of
	// the device chain and of the RIM chains, so that an auditor can check revocation
	// offline. Sorted ascending by bytes, unique, at most MaxOCSPResponses.
	OCSP []Hex `json:"ocsp,omitempty"`
	// GPUs and Switches carry the evidence of the other devices of a multi-GPU system (an
	// HGX node in protected-PCIe mode attests its GPUs and NVSwitches together, over one
	// nonce): every GPU that ran the job besides the one identity and report describe, and
	// the NVSwitches joining them. Mode nvml+cc only; each list at most MaxSystemDevices.
	GPUs     []DeviceEvidence `json:"gpus,omitempty"`
	Switches []DeviceEvidence `json:"switches,omitempty"`
}

// DeviceEvidence is one device's signed report over the record's nonce and its certificate
// chain, as cc.report and cc.certChain are for the first GPU.
type DeviceEvidence struct {
	Report    Hex `json:"report"`    // SPDM GET_MEASUREMENTS request || response
	CertChain Hex `json:"certChain"` // PEM or DER certificates, leaf first
}

// MaxOCSPResponses bounds cc.ocsp for a one-GPU record: a GPU chain needs 3 and each RIM
// chain 3. Each device in cc.gpus and cc.switches adds OCSPPerDevice (its own device
// certificate and, for a chip not yet present, its provisioner CAs).
const (
	MaxOCSPResponses = 16
	OCSPPerDevice    = 4
)

// MaxSystemDevices bounds cc.gpus and cc.switches each: an HGX node has 8 GPUs and 4
// NVSwitches; the bound leaves room for larger systems and keeps a record under
// MaxRecordSize.
const MaxSystemDevices = 16

// MaxOCSP is the bound on len(cc.ocsp) for this CC section.
func (c *CC) MaxOCSP() int { return MaxOCSPResponses + OCSPPerDevice*(len(c.GPUs)+len(c.Switches)) }

// Hex is a byte string spelled in JSON as "0x" followed by lower-case hex.
type Hex []byte

// MarshalText implements encoding.TextMarshaler.
func (h Hex) MarshalText() ([]byte, error) {
	out := make([]byte, 2+hex.EncodedLen(len(h)))
	copy(out, "0x")
	hex.Encode(out[2:], h)
	return out, nil
}

// UnmarshalText accepts only the canonical spelling.
func (h *Hex) UnmarshalText(b []byte) error {
	if len(b) < 2 || b[0] != '0' || b[1] != 'x' {
		return fmt.Errorf("%w: must start with 0x", errHex)
	}
	b = b[2:]
	for _, c := range b {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return fmt.Errorf("%w: character %q (lower-case hex only)", errHex, c)
		}
	}
	if len(b)%2 != 0 {
		return fmt.Errorf("%w: odd number of digits", errHex)
	}
	*h = make([]byte, len(b)/2)
	_, err := hex.Decode(*h, b)
	return err
}

var errHex = errors.New("bad hex")

// ErrInvalid is wrapped by every validation and parse error.
var ErrInvalid = errors.New("invalid attestation record")

// FieldError names the field that made a record invalid.
type FieldError struct {
	Field string
	Err   error
}

func (e *FieldError) Error() string {
	return fmt.Sprintf("attestation record: %s: %v", e.Field, e.Err)
}
func (e *FieldError) Unwrap() []error { return []error{ErrInvalid, e.Err} }

func fieldErr(field, format string, a ...any) error {
	return &FieldError{field, fmt.Errorf(format, a...)}
}

// maxJSONInt is the largest integer every JSON reader holds exactly (2^53 - 1).
const maxJSONInt = 1<<53 - 1

// Validate checks the record's structure: version, the sections its mode requires or forbids,
// the unsupported list, integer ranges and nonce length. It does not verify the CC report.
func (r *Record) Validate() error {
	if r.Version != Version {
		return fieldErr("version", "%q, want %q", r.Version, Version)
	}
	switch r.Mode {
	case ModeNone:
		switch {
		case r.Identity != nil:
			return fieldErr("identity", "present in mode none")
		case r.Telemetry != nil:
			return fieldErr("telemetry", "present in mode none")
		case r.CC != nil:
			return fieldErr("cc", "present in mode none")
		case len(r.Unsupported) > 0:
			return fieldErr("unsupported", "present in mode none")
		}
	case ModeNVML, ModeNVMLCC:
		if r.Identity == nil {
			return fieldErr("identity", "missing in mode %s", r.Mode)
		}
	default:
		return fieldErr("mode", "%q is not none, nvml or nvml+cc", r.Mode)
	}
	if r.Mode == ModeNVMLCC {
		switch {
		case r.CC == nil:
			return fieldErr("cc", "missing in mode nvml+cc")
		case !r.CC.Enabled:
			return fieldErr("cc.enabled", "false in mode nvml+cc")
		case len(r.CC.Nonce) != 32:
			return fieldErr("cc.nonce", "%d bytes, want 32", len(r.CC.Nonce))
		case len(r.CC.Report) == 0:
			return fieldErr("cc.report", "missing in mode nvml+cc")
		case len(r.CC.CertChain) == 0:
			return fieldErr("cc.certChain", "missing in mode nvml+cc")
		}
	}
	if r.CC != nil && len(r.CC.OCSP) > 0 {
		if r.Mode != ModeNVMLCC {
			return fieldErr("cc.ocsp", "present in mode %s", r.Mode)
		}
		if len(r.CC.OCSP) > r.CC.MaxOCSP() {
			return fieldErr("cc.ocsp", "%d responses, limit %d", len(r.CC.OCSP), r.CC.MaxOCSP())
		}
		for i, o := range r.CC.OCSP {
			if len(o) == 0 {
				return fieldErr(fmt.Sprintf("cc.ocsp[%d]", i), "empty")
			}
			if i > 0 && bytes.Compare(r.CC.OCSP[i-1], o) >= 0 {
				return fieldErr("cc.ocsp", "not sorted ascending by bytes or not unique (entry %d)", i)
			}
		}
	}
	if r.CC != nil {
		if err := r.CC.validateSystem(r.Mode); err != nil {
			return err
		}
	}
	if r.Mode == ModeNVML && r.CC != nil {
		// Mode nvml may record the CC state (off, or on but without a report), never a report.
		switch {
		case len(r.CC.Nonce) > 0:
			return fieldErr("cc.nonce", "present in mode nvml")
		case len(r.CC.Report) > 0:
			return fieldErr("cc.report", "present in mode nvml")
		case len(r.CC.CertChain) > 0:
			return fieldErr("cc.certChain", "present in mode nvml")
		}
	}
	if id := r.Identity; id != nil {
		for _, f := range []struct{ name, v string }{{"identity.eccMode", id.ECCMode}, {"identity.migMode", id.MIGMode}, {"identity.persistenceMode", id.PersistenceMode}} {
			if f.v != "" && f.v != Enabled && f.v != Disabled {
				return fieldErr(f.name, "%q is not enabled, disabled or empty", f.v)
			}
		}
		if id.MemoryTotalBytes > maxJSONInt {
			return fieldErr("identity.memoryTotalBytes", "above 2^53-1")
		}
	}
	if t := r.Telemetry; t != nil {
		ints := []struct {
			name string
			v    uint64
		}{{"telemetry.startMs", t.StartMs}, {"telemetry.endMs", t.EndMs}, {"telemetry.memoryUsedMaxBytes", t.MemoryUsedMaxBytes}, {"telemetry.energyMj", t.EnergyMj}, {"telemetry.throttleReasons", t.ThrottleReasons}}
		for i, p := range t.Processes {
			ints = append(ints, struct {
				name string
				v    uint64
			}{fmt.Sprintf("telemetry.processes[%d].maxMemoryBytes", i), p.MaxMemoryBytes}, struct {
				name string
				v    uint64
			}{fmt.Sprintf("telemetry.processes[%d].timeMs", i), p.TimeMs})
		}
		for _, f := range ints {
			if f.v > maxJSONInt {
				return fieldErr(f.name, "above 2^53-1")
			}
		}
		if t.EndMs < t.StartMs {
			return fieldErr("telemetry.endMs", "before startMs")
		}
		for _, s := range []struct {
			name string
			m    MinAvgMax
		}{{"telemetry.utilGpu", t.UtilGPU}, {"telemetry.utilMem", t.UtilMem}} {
			if t.Samples > 0 && !(s.m.Min <= s.m.Avg && s.m.Avg <= s.m.Max) {
				return fieldErr(s.name, "not min <= avg <= max")
			}
		}
	}
	for i, u := range r.Unsupported {
		if u == "" || strings.TrimSpace(u) != u {
			return fieldErr(fmt.Sprintf("unsupported[%d]", i), "empty or padded name %q", u)
		}
	}
	if !sort.StringsAreSorted(r.Unsupported) {
		return fieldErr("unsupported", "not sorted")
	}
	for i := 1; i < len(r.Unsupported); i++ {
		if r.Unsupported[i] == r.Unsupported[i-1] {
			return fieldErr("unsupported", "duplicate %q", r.Unsupported[i])
		}
	}
	return nil
}

// validateSystem checks cc.gpus and cc.switches: mode nvml+cc only, bounded, every entry
// complete, and no report given twice (one device's evidence repeated would count as two
// devices in a topology check).
func (c *CC) validateSystem(mode Mode) error {
	if len(c.GPUs) == 0 && len(c.Switches) == 0 {
		return nil
	}
	if mode != ModeNVMLCC {
		if len(c.GPUs) > 0 {
			return fieldErr("cc.gpus", "present in mode %s", mode)
		}
		return fieldErr("cc.switches", "present in mode %s", mode)
	}
	seen := map[string]string{string(c.Report): "cc.report"}
	for _, list := range []struct {
		name    string
		entries []DeviceEvidence
	}{{"cc.gpus", c.GPUs}, {"cc.switches", c.Switches}} {
		if len(list.entries) > MaxSystemDevices {
			return fieldErr(list.name, "%d devices, limit %d", len(list.entries), MaxSystemDevices)
		}
		for i, d := range list.entries {
			field := fmt.Sprintf("%s[%d]", list.name, i)
			switch {
			case len(d.Report) == 0:
				return fieldErr(field+".report", "missing")
			case len(d.CertChain) == 0:
				return fieldErr(field+".certChain", "missing")
			}
			if prev, ok := seen[string(d.Report)]; ok {
				return fieldErr(field+".report", "the same report as %s", prev)
			}
			seen[string(d.Report)] = field + ".report"
		}
	}
	return nil
}

// IsUnsupported says whether field (a JSON path) is in the unsupported list.
func (r *Record) IsUnsupported(field string) bool {
	i := sort.SearchStrings(r.Unsupported, field)
	return i < len(r.Unsupported) && r.Unsupported[i] == field
}
