package attest

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
)

// Opaque-data policy. The opaque TLVs are signed with the report, but their meaning depends
// on a layout version NVIDIA's firmware states in OPAQUE_DATA_VERSION; a verifier that reads
// a layout it does not know could misread a feature flag, so it refuses the report instead.
// Reports from firmware older than the version field (the hopper-2023/2025/535 samples) have
// none and are read as version 0, the layout every field in OpaqueNames was first defined in.

// Opaque-data types NVIDIA added after the first layout.
const (
	OpaqueSysEnableStatus   = 33
	OpaqueOpaqueDataVersion = 34
	OpaqueChipInfo          = 35
	OpaqueFeatureFlag       = 36
	OpaqueInvalid           = 255
)

func init() {
	OpaqueNames[OpaqueSysEnableStatus] = "SYS_ENABLE_STATUS"
	OpaqueNames[OpaqueChipInfo] = "CHIP_INFO"
	OpaqueNames[OpaqueFeatureFlag] = "FEATURE_FLAG"
	OpaqueNames[OpaqueInvalid] = "INVALID"
}

// KnownOpaqueVersions are the OPAQUE_DATA_VERSION values this verifier reads.
var KnownOpaqueVersions = []uint16{1}

// Errors of the opaque-data checks.
var (
	ErrOpaqueVersion = errors.New("report's opaque-data version is not one this verifier reads")
	ErrFeature       = errors.New("GPU's signed operating mode is not one the policy allows")
)

// Check names.
const (
	CheckOpaqueVersion = "opaque.version"
	CheckFeatures      = "opaque.features"
)

// Multi-GPU operating modes, as the signed FEATURE_FLAG states them (NVIDIA: SPT = 0, MPT = 1,
// PPCIE = 2). ModeLegacy is a report without the flag (firmware before it).
const (
	ModeLegacy = "legacy"
	ModeSPT    = "spt"   // single GPU passthrough
	ModeMPT    = "mpt"   // multi-GPU passthrough (NVLink encryption)
	ModePPCIE  = "ppcie" // protected PCIe: several GPUs and the NVSwitches in one TCB
)

// Features are the claims the signed opaque data makes about how the GPU runs.
type Features struct {
	OpaqueVersion uint16 // 0: no OPAQUE_DATA_VERSION entry
	Mode          string // ModeLegacy, ModeSPT, ModeMPT or ModePPCIE
	// ProtectedPCIeStatus is PROTECTED_PCIE_STATUS's raw byte (ok false when absent).
	ProtectedPCIeStatus   byte
	HasProtectedPCIeState bool
}

// Features reads the opaque-data claims; it fails on a malformed or unknown version or mode.
func (r *Report) Features() (Features, error) {
	var f Features
	if v, ok := r.Opaque(OpaqueOpaqueDataVersion); ok {
		if len(v) != 2 {
			return f, fmt.Errorf("%w: OPAQUE_DATA_VERSION is %d bytes, want 2", ErrOpaqueVersion, len(v))
		}
		f.OpaqueVersion = binary.LittleEndian.Uint16(v)
		if !slices.Contains(KnownOpaqueVersions, f.OpaqueVersion) {
			return f, fmt.Errorf("%w: version %d, known %v", ErrOpaqueVersion, f.OpaqueVersion, KnownOpaqueVersions)
		}
	}
	f.Mode = ModeLegacy
	if v, ok := r.Opaque(OpaqueFeatureFlag); ok {
		if len(v) == 0 || len(v) > 4 {
			return f, fmt.Errorf("%w: FEATURE_FLAG is %d bytes", ErrOpaqueVersion, len(v))
		}
		var n uint32
		for i := len(v) - 1; i >= 0; i-- {
			n = n<<8 | uint32(v[i])
		}
		switch n {
		case 0:
			f.Mode = ModeSPT
		case 1:
			f.Mode = ModeMPT
		case 2:
			f.Mode = ModePPCIE
		default:
			return f, fmt.Errorf("%w: FEATURE_FLAG %d is not SPT, MPT or PPCIE", ErrOpaqueVersion, n)
		}
	}
	if v, ok := r.Opaque(OpaqueProtectedPCIeStatus); ok && len(v) == 1 {
		f.ProtectedPCIeStatus, f.HasProtectedPCIeState = v[0], true
	}
	return f, nil
}

// checkFeatures runs opaque.version and opaque.features. The mode is a GPU's claim; an
// NVSwitch states none, and its PPCIE membership is judged by the topology checks.
func checkFeatures(res *Result, rep *Report, kind DeviceKind, p *Policy) {
	f, err := rep.Features()
	res.check(CheckOpaqueVersion, err)
	if err != nil {
		res.skip(CheckFeatures, "opaque data not read")
		return
	}
	res.Features = &f
	switch {
	case kind == KindSwitch:
		res.skip(CheckFeatures, "an NVSwitch states no operating mode")
	case len(p.AllowedModes) == 0:
		res.skip(CheckFeatures, "policy allows any mode (report: "+f.Mode+")")
	case slices.Contains(p.AllowedModes, f.Mode):
		res.pass(CheckFeatures)
	default:
		res.fail(CheckFeatures, fmt.Errorf("%w: %s, policy allows %v", ErrFeature, f.Mode, p.AllowedModes))
	}
}
