package attest

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
)

// SPDM message constants of a GET_MEASUREMENTS exchange as NVIDIA GPUs produce it.
const (
	SPDMVersion11       = 0x11
	CodeGetMeasurements = 0xe0
	CodeMeasurements    = 0x60
	RequestSize         = 37 // version, code, param1, param2, nonce[32], slot id
	NonceSize           = 32
	SignatureSize       = 96 // ECDSA P-384 r || s
	// MaxReportSize bounds what ParseReport accepts (NVML's buffer is 8192 bytes).
	MaxReportSize     = 1 << 16
	dmtfSpecification = 0x01 // MeasurementSpecification bit 0: DMTF
)

// ErrMalformedReport wraps every parse error of a report.
var ErrMalformedReport = errors.New("malformed attestation report")

// Request is the SPDM GET_MEASUREMENTS request that opens the report.
type Request struct {
	SPDMVersion byte
	Code        byte
	Param1      byte
	Param2      byte
	Nonce       [NonceSize]byte
	SlotID      byte
}

// MeasurementBlock is one DMTF measurement block.
type MeasurementBlock struct {
	Index         byte
	Specification byte
	ValueType     byte
	Value         []byte
}

// OpaqueField is one NVIDIA opaque-data entry (type and length little-endian u16).
type OpaqueField struct {
	Type  uint16
	Value []byte
}

// Response is the SPDM MEASUREMENTS response.
type Response struct {
	SPDMVersion             byte
	Code                    byte
	Param1                  byte
	Param2                  byte
	NumberOfBlocks          byte
	MeasurementRecordLength int
	Blocks                  []MeasurementBlock
	Nonce                   [NonceSize]byte
	OpaqueLength            int
	Opaque                  []OpaqueField
	Signature               []byte
}

// Report is a parsed attestation report.
type Report struct {
	Raw      []byte
	Request  Request
	Response Response
}

// Signed is what the signature covers: the request and the response up to the signature.
func (r *Report) Signed() []byte { return r.Raw[:len(r.Raw)-SignatureSize] }

// Opaque-data field types, as NVIDIA numbers them.
const (
	OpaqueCertIssuerName      = 1
	OpaqueCertAuthorityKeyID  = 2
	OpaqueDriverVersion       = 3
	OpaqueGPUInfo             = 4
	OpaqueSKU                 = 5
	OpaqueVBIOSVersion        = 6
	OpaqueManufacturerID      = 7
	OpaqueTamperDetection     = 8
	OpaqueSMC                 = 9
	OpaqueVPR                 = 10
	OpaqueNVDEC0Status        = 11
	OpaqueMsrsCnt             = 12
	OpaqueCPRInfo             = 13
	OpaqueBoardID             = 14
	OpaqueChipSKU             = 15
	OpaqueChipSKUMod          = 16
	OpaqueProject             = 17
	OpaqueProjectSKU          = 18
	OpaqueProjectSKUMod       = 19
	OpaqueFWID                = 20
	OpaqueProtectedPCIeStatus = 21
	OpaqueSwitchPDI           = 22
	OpaqueFloorsweptPorts     = 23
	OpaquePositionID          = 24
	OpaqueLockSwitchStatus    = 25
	OpaqueGPULinkConn         = 32
)

// OpaqueNames maps opaque-data types to NVIDIA's names (OPAQUE_FIELD_ID_<name>).
var OpaqueNames = map[uint16]string{
	1: "CERT_ISSUER_NAME", 2: "CERT_AUTHORITY_KEY_IDENTIFIER", 3: "DRIVER_VERSION", 4: "GPU_INFO",
	5: "SKU", 6: "VBIOS_VERSION", 7: "MANUFACTURER_ID", 8: "TAMPER_DETECTION", 9: "SMC", 10: "VPR",
	11: "NVDEC0_STATUS", 12: "MSRSCNT", 13: "CPRINFO", 14: "BOARD_ID", 15: "CHIP_SKU",
	16: "CHIP_SKU_MOD", 17: "PROJECT", 18: "PROJECT_SKU", 19: "PROJECT_SKU_MOD", 20: "FWID",
	21: "PROTECTED_PCIE_STATUS", 22: "SWITCH_PDI", 23: "FLOORSWEPT_PORTS", 24: "POSITION_ID",
	25: "LOCK_SWITCH_STATUS", 32: "GPU_LINK_CONN", 34: "OPAQUE_DATA_VERSION",
}

func malformed(format string, a ...any) error {
	return fmt.Errorf("%w: %s", ErrMalformedReport, fmt.Sprintf(format, a...))
}

// ParseReport parses request || response as NVML returns it. Unknown opaque-data types are
// kept (and ignored by the checks); trailing bytes after the signature are rejected.
func ParseReport(b []byte) (*Report, error) {
	if len(b) > MaxReportSize {
		return nil, malformed("%d bytes, limit %d", len(b), MaxReportSize)
	}
	if len(b) < RequestSize {
		return nil, malformed("%d bytes, shorter than the %d-byte request", len(b), RequestSize)
	}
	r := &Report{Raw: b}
	q := &r.Request
	q.SPDMVersion, q.Code, q.Param1, q.Param2 = b[0], b[1], b[2], b[3]
	copy(q.Nonce[:], b[4:36])
	q.SlotID = b[36]
	if q.SPDMVersion != SPDMVersion11 {
		return nil, malformed("request SPDM version 0x%02x, want 0x11", q.SPDMVersion)
	}
	if q.Code != CodeGetMeasurements {
		return nil, malformed("request code 0x%02x, want GET_MEASUREMENTS 0xe0", q.Code)
	}
	if q.Param1&1 == 0 {
		return nil, malformed("request does not ask for a signature (param1 0x%02x)", q.Param1)
	}
	p := b[RequestSize:]
	s := &r.Response
	// Header (4) + number of blocks (1) + record length (3).
	if len(p) < 8 {
		return nil, malformed("response header truncated")
	}
	s.SPDMVersion, s.Code, s.Param1, s.Param2, s.NumberOfBlocks = p[0], p[1], p[2], p[3], p[4]
	if s.SPDMVersion != SPDMVersion11 {
		return nil, malformed("response SPDM version 0x%02x, want 0x11", s.SPDMVersion)
	}
	if s.Code != CodeMeasurements {
		return nil, malformed("response code 0x%02x, want MEASUREMENTS 0x60", s.Code)
	}
	s.MeasurementRecordLength = int(p[5]) | int(p[6])<<8 | int(p[7])<<16
	p = p[8:]
	if s.MeasurementRecordLength > len(p) {
		return nil, malformed("measurement record length %d exceeds the %d bytes left", s.MeasurementRecordLength, len(p))
	}
	rec := p[:s.MeasurementRecordLength]
	p = p[s.MeasurementRecordLength:]
	seen := make(map[byte]bool)
	for len(rec) > 0 {
		if len(rec) < 4 {
			return nil, malformed("measurement block header truncated")
		}
		blk := MeasurementBlock{Index: rec[0], Specification: rec[1]}
		size := int(binary.LittleEndian.Uint16(rec[2:4]))
		rec = rec[4:]
		if size > len(rec) {
			return nil, malformed("measurement block %d size %d exceeds the record", blk.Index, size)
		}
		m := rec[:size]
		rec = rec[size:]
		if blk.Specification&dmtfSpecification == 0 {
			return nil, malformed("measurement block %d is not in DMTF format", blk.Index)
		}
		if len(m) < 3 {
			return nil, malformed("measurement block %d: DMTF header truncated", blk.Index)
		}
		blk.ValueType = m[0]
		vs := int(binary.LittleEndian.Uint16(m[1:3]))
		if vs != len(m)-3 {
			return nil, malformed("measurement block %d: value size %d, block holds %d", blk.Index, vs, len(m)-3)
		}
		blk.Value = m[3:]
		if seen[blk.Index] {
			return nil, malformed("measurement block %d repeated", blk.Index)
		}
		seen[blk.Index] = true
		s.Blocks = append(s.Blocks, blk)
	}
	if len(s.Blocks) != int(s.NumberOfBlocks) {
		return nil, malformed("%d measurement blocks, header says %d", len(s.Blocks), s.NumberOfBlocks)
	}
	if len(p) < NonceSize+2 {
		return nil, malformed("response nonce or opaque length truncated")
	}
	copy(s.Nonce[:], p[:NonceSize])
	s.OpaqueLength = int(binary.LittleEndian.Uint16(p[NonceSize:]))
	p = p[NonceSize+2:]
	if s.OpaqueLength > len(p) {
		return nil, malformed("opaque length %d exceeds the %d bytes left", s.OpaqueLength, len(p))
	}
	op := p[:s.OpaqueLength]
	p = p[s.OpaqueLength:]
	for len(op) > 0 {
		if len(op) < 4 {
			return nil, malformed("opaque entry header truncated")
		}
		f := OpaqueField{Type: binary.LittleEndian.Uint16(op[0:2])}
		n := int(binary.LittleEndian.Uint16(op[2:4]))
		op = op[4:]
		if n > len(op) {
			return nil, malformed("opaque entry type %d length %d exceeds the data", f.Type, n)
		}
		f.Value = op[:n]
		op = op[n:]
		s.Opaque = append(s.Opaque, f)
	}
	if len(p) != SignatureSize {
		return nil, malformed("%d bytes after the opaque data, want a %d-byte signature", len(p), SignatureSize)
	}
	s.Signature = p
	return r, nil
}

// Opaque returns the first opaque field of type t.
func (r *Report) Opaque(t uint16) ([]byte, bool) {
	for _, f := range r.Response.Opaque {
		if f.Type == t {
			return f.Value, true
		}
	}
	return nil, false
}

// DriverVersion is the opaque driver version, a NUL-terminated string.
func (r *Report) DriverVersion() (string, bool) {
	v, ok := r.Opaque(OpaqueDriverVersion)
	if !ok {
		return "", false
	}
	return strings.TrimRight(string(v), "\x00"), true
}

// Board is the board the GPU's signed opaque data names, spelled as NVIDIA's VBIOS RIM
// identifiers begin: PROJECT_PROJECTSKU_CHIPSKU ("1010_0200_882" for the H100 of NVIDIA's
// samples). Products built on one chip (H100 and H200 on GH100) differ here, not in the
// certificate chain. ok is false when a field is missing or empty.
func (r *Report) Board() (string, bool) {
	var parts []string
	for _, t := range []uint16{OpaqueProject, OpaqueProjectSKU, OpaqueChipSKU} {
		v, ok := r.Opaque(t)
		s := strings.TrimRight(string(v), "\x00")
		if !ok || s == "" {
			return "", false
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, "_"), true
}

// VBIOSVersion is the opaque VBIOS version in NVML's xx.xx.xx.xx.xx spelling (lower-case):
// the field read as a little-endian integer, its hex halves swapped, the low byte of the upper
// half appended, as nvtrust formats it.
func (r *Report) VBIOSVersion() (string, bool) {
	v, ok := r.Opaque(OpaqueVBIOSVersion)
	if !ok || len(v) < 2 || len(v)%2 != 0 {
		return "", false
	}
	rev := make([]byte, len(v))
	for i := range v {
		rev[i] = v[len(v)-1-i]
	}
	h := fmt.Sprintf("%x", rev)
	half := len(h) / 2
	t := h[half:] + h[half-2:half]
	parts := make([]string, 0, len(t)/2)
	for i := 0; i+2 <= len(t); i += 2 {
		parts = append(parts, t[i:i+2])
	}
	return strings.Join(parts, "."), true
}

// MeasurementCounts decodes OPAQUE_FIELD_ID_MSRSCNT, little-endian u32s.
func (r *Report) MeasurementCounts() ([]uint32, bool) {
	v, ok := r.Opaque(OpaqueMsrsCnt)
	if !ok || len(v)%4 != 0 {
		return nil, false
	}
	out := make([]uint32, len(v)/4)
	for i := range out {
		out[i] = binary.LittleEndian.Uint32(v[4*i:])
	}
	return out, true
}

// Block returns the measurement block with the given (1-based) index.
func (r *Report) Block(index int) (*MeasurementBlock, bool) {
	for i := range r.Response.Blocks {
		if int(r.Response.Blocks[i].Index) == index {
			return &r.Response.Blocks[i], true
		}
	}
	return nil, false
}
