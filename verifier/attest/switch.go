package attest

import (
	"errors"
	"fmt"
	"strings"
)

// NVSwitch evidence. An NVSwitch (LS_10) answers the same SPDM GET_MEASUREMENTS exchange as a
// GPU, signed by a chain to the same NVIDIA root, but its opaque data is its own: the BIOS
// version is ASCII ("96.10.55.00.01") where a GPU's VBIOS version is an 8-byte integer, types
// 22 to 27 mean other things (a GPU's 22 lists the switches it sees, a switch's 22 is its own
// PDI), and it states no driver. Which layout a report is read in follows the kind of chip the
// verified chain names, and a report whose shape is not that kind's fails (check report.kind),
// so that switch evidence never passes as a GPU's or the reverse.

// Opaque-data types of NVSwitch reports where they differ from a GPU's (NVIDIA's
// SwitchOpaqueDataType).
const (
	SwitchOpaqueDevicePDI     = 22 // the switch's own PDI, 8 bytes
	SwitchOpaqueDisabledPorts = 23
	SwitchOpaquePositionID    = 24
	SwitchOpaqueLockStatus    = 25
	SwitchOpaqueGPUPDIs       = 26 // 8 PDIs of the GPUs it connects, then port ids
	SwitchOpaquePorts         = 27
)

// SwitchOpaqueNames maps an NVSwitch's opaque types 22 to 27 to NVIDIA's names; the others are
// named as for a GPU (OpaqueNames).
var SwitchOpaqueNames = map[uint16]string{
	22: "DEVICE_PDI", 23: "DISABLED_PORTS", 24: "SWITCH_POSITION_ID", 25: "SWITCH_LOCK_STATUS",
	26: "SWITCH_GPU_PDIS", 27: "SWITCH_PORT",
}

// OpaqueName is NVIDIA's name of opaque type t in a report of a device of kind k ("" when
// NVIDIA names none).
func OpaqueName(k DeviceKind, t uint16) string {
	if k == KindSwitch {
		if n, ok := SwitchOpaqueNames[t]; ok {
			return n
		}
	}
	return OpaqueNames[t]
}

// PDISize is the size of a platform data identifier, the id by which GPUs and NVSwitches name
// each other in their reports.
const PDISize = 8

// switchGPUPDIs is how many GPU PDIs lead SWITCH_GPU_PDIS (NVIDIA: TOTAL_NUMBER_OF_PDI).
const switchGPUPDIs = 8

// ErrReportKind: a report's opaque data is not shaped like the reports of the device kind its
// chain names.
var ErrReportKind = errors.New("report is not shaped like the signing device's reports")

// CheckReportKind is the check that the report's shape matches the chain's device kind.
const CheckReportKind = "report.kind"

// gpuVBIOSSize is the size of a GPU's VBIOS_VERSION field.
const gpuVBIOSSize = 8

// SwitchBIOSVersion is an NVSwitch's BIOS version, written by the switch as NUL-padded ASCII
// ("96.10.55.00.01"), in lower case as NVML spells VBIOS versions.
func (r *Report) SwitchBIOSVersion() (string, bool) {
	v, ok := r.Opaque(OpaqueVBIOSVersion)
	if !ok {
		return "", false
	}
	s := strings.TrimRight(string(v), "\x00")
	if !isBIOSVersion(s) {
		return "", false
	}
	return strings.ToLower(s), true
}

// isBIOSVersion says whether s is five dot-separated pairs of hex digits.
func isBIOSVersion(s string) bool {
	parts := strings.Split(s, ".")
	if len(parts) != 5 {
		return false
	}
	for _, p := range parts {
		if len(p) != 2 || !isHex(p[0]) || !isHex(p[1]) {
			return false
		}
	}
	return true
}

func isHex(c byte) bool { return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' }

// BIOSVersion is the report's VBIOS (GPU) or BIOS (NVSwitch) version, read in the format of
// the device kind.
func (r *Report) BIOSVersion(k DeviceKind) (string, bool) {
	if k == KindSwitch {
		return r.SwitchBIOSVersion()
	}
	return r.VBIOSVersion()
}

// CheckKind says whether the report's opaque data has the shape of a k's report: a GPU states
// a driver version and an 8-byte binary VBIOS version; an NVSwitch states no driver, an ASCII
// BIOS version and its own PDI.
func (r *Report) CheckKind(k DeviceKind) error {
	_, hasDriver := r.Opaque(OpaqueDriverVersion)
	bios, hasBIOS := r.Opaque(OpaqueVBIOSVersion)
	switch k {
	case KindGPU:
		switch {
		case !hasDriver:
			return fmt.Errorf("%w: a GPU report states a driver version, this one none", ErrReportKind)
		case !hasBIOS || len(bios) != gpuVBIOSSize:
			return fmt.Errorf("%w: a GPU's VBIOS_VERSION is %d binary bytes, this report's is %d (%q)", ErrReportKind, gpuVBIOSSize, len(bios), bios)
		}
	case KindSwitch:
		pdi, hasPDI := r.Opaque(SwitchOpaqueDevicePDI)
		switch {
		case hasDriver:
			return fmt.Errorf("%w: an NVSwitch runs no host driver, this report states one", ErrReportKind)
		case !hasBIOS || !isBIOSVersion(strings.TrimRight(string(bios), "\x00")):
			return fmt.Errorf("%w: an NVSwitch's BIOS version is ASCII like 96.10.55.00.01, this report's is %x", ErrReportKind, bios)
		case !hasPDI || len(pdi) != PDISize:
			return fmt.Errorf("%w: an NVSwitch states its own %d-byte PDI, this report %d bytes", ErrReportKind, PDISize, len(pdi))
		}
	default:
		return fmt.Errorf("%w: unknown device kind %q", ErrReportKind, k)
	}
	return nil
}

// PDI is a platform data identifier as NVIDIA's topology checks compare it: the bytes an
// NVSwitch states as its DEVICE_PDI.
type PDI [PDISize]byte

func (p PDI) String() string { return fmt.Sprintf("%x", p[:]) }

// ErrPDI: a PDI list in a report is malformed.
var ErrPDI = errors.New("malformed PDI list")

// SwitchPDIs are the NVSwitch PDIs a GPU reports in SWITCH_PDI, one per NVLink. The GPU writes
// each one little-endian, so each is byte-reversed to compare with the switches' DEVICE_PDI
// (NVIDIA's ppcie verifier: read_field_as_little_endian). ok is false without the field.
func (r *Report) SwitchPDIs() (pdis []PDI, ok bool, err error) {
	v, ok := r.Opaque(OpaqueSwitchPDI)
	if !ok {
		return nil, false, nil
	}
	if len(v) == 0 || len(v)%PDISize != 0 {
		return nil, true, fmt.Errorf("%w: SWITCH_PDI is %d bytes, not a multiple of %d", ErrPDI, len(v), PDISize)
	}
	for i := 0; i < len(v); i += PDISize {
		var p PDI
		for j := range PDISize {
			p[j] = v[i+PDISize-1-j]
		}
		pdis = append(pdis, p)
	}
	return pdis, true, nil
}

// DevicePDI is an NVSwitch's own PDI (DEVICE_PDI).
func (r *Report) DevicePDI() (PDI, bool) {
	v, ok := r.Opaque(SwitchOpaqueDevicePDI)
	if !ok || len(v) != PDISize {
		return PDI{}, false
	}
	return PDI(v), true
}

// GPUPDIs are the PDIs of the GPUs an NVSwitch connects: the first 8 PDIs of SWITCH_GPU_PDIS
// (the port ids that follow are not PDIs).
func (r *Report) GPUPDIs() (pdis []PDI, ok bool, err error) {
	v, ok := r.Opaque(SwitchOpaqueGPUPDIs)
	if !ok {
		return nil, false, nil
	}
	if len(v) < switchGPUPDIs*PDISize {
		return nil, true, fmt.Errorf("%w: SWITCH_GPU_PDIS is %d bytes, shorter than %d PDIs", ErrPDI, len(v), switchGPUPDIs)
	}
	for i := range switchGPUPDIs {
		pdis = append(pdis, PDI(v[i*PDISize:(i+1)*PDISize]))
	}
	return pdis, true, nil
}

// activeSet is the set of PDIs without the all-zero PDI of a disabled link.
func activeSet(pdis []PDI) map[PDI]bool {
	out := make(map[PDI]bool, len(pdis))
	for _, p := range pdis {
		if p != (PDI{}) {
			out[p] = true
		}
	}
	return out
}
