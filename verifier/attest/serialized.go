package attest

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
)

// NVIDIA's serialized evidence: the JSON its attestation SDK writes for a set of devices
// attested together, an array of {"arch", "nonce", "evidence", "certificate"} with the nonce in
// hex, the report (NVML's or the switch's bytes) and the PEM chain in standard base64. It is how
// NVIDIA's tools hand evidence around; a Probity record carries the same bytes in cc.report,
// cc.certChain, cc.gpus and cc.switches.

// ErrSerialized wraps every parse error of serialized evidence.
var ErrSerialized = errors.New("malformed NVIDIA serialized evidence")

// MaxSerializedSize bounds what ParseSerializedEvidence reads: 16 GPUs and 16 switches, each
// a report and chain in base64, fit well inside.
const MaxSerializedSize = 1 << 21

// Architectures as NVIDIA's serialized evidence names them, and the kind of device each is.
var serializedArch = map[string]DeviceKind{"HOPPER": KindGPU, "BLACKWELL": KindGPU, "LS10": KindSwitch}

// SerializedEvidence is one device's entry.
type SerializedEvidence struct {
	Arch      string // "HOPPER", "BLACKWELL" or "LS10"
	Kind      DeviceKind
	Nonce     [NonceSize]byte
	Report    []byte
	CertChain []byte
}

type serializedJSON struct {
	Arch        string `json:"arch"`
	Nonce       string `json:"nonce"`
	Evidence    string `json:"evidence"`
	Certificate string `json:"certificate"`
}

// ParseSerializedEvidence reads NVIDIA's serialized evidence strictly: one JSON array of
// objects with exactly the four members, a known architecture, a 32-byte hex nonce and
// non-empty base64 evidence and certificate. It checks the shape, not the evidence
// (VerifyReport and VerifySwitchReport do that).
func ParseSerializedEvidence(b []byte) ([]SerializedEvidence, error) {
	if len(b) > MaxSerializedSize {
		return nil, fmt.Errorf("%w: %d bytes, limit %d", ErrSerialized, len(b), MaxSerializedSize)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var raw []*serializedJSON
	if err := dec.Decode(&raw); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrSerialized, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("%w: trailing data after the array", ErrSerialized)
	}
	if len(raw) == 0 {
		return nil, fmt.Errorf("%w: no devices", ErrSerialized)
	}
	out := make([]SerializedEvidence, len(raw))
	for i, r := range raw {
		if r == nil {
			return nil, fmt.Errorf("%w: entry %d is null", ErrSerialized, i)
		}
		e := &out[i]
		var ok bool
		if e.Kind, ok = serializedArch[r.Arch]; !ok {
			return nil, fmt.Errorf("%w: entry %d: arch %q is not HOPPER, BLACKWELL or LS10", ErrSerialized, i, r.Arch)
		}
		e.Arch = r.Arch
		n, err := hex.DecodeString(r.Nonce)
		if err != nil || len(n) != NonceSize {
			return nil, fmt.Errorf("%w: entry %d: nonce %q is not %d bytes of hex", ErrSerialized, i, r.Nonce, NonceSize)
		}
		e.Nonce = [NonceSize]byte(n)
		if e.Report, err = base64.StdEncoding.Strict().DecodeString(r.Evidence); err != nil || len(e.Report) == 0 {
			return nil, fmt.Errorf("%w: entry %d: evidence is not non-empty base64 (%v)", ErrSerialized, i, err)
		}
		if e.CertChain, err = base64.StdEncoding.Strict().DecodeString(r.Certificate); err != nil || len(e.CertChain) == 0 {
			return nil, fmt.Errorf("%w: entry %d: certificate is not non-empty base64 (%v)", ErrSerialized, i, err)
		}
	}
	return out, nil
}

// MarshalSerializedEvidence writes evidence in NVIDIA's serialized form (lower-case hex
// nonce, standard padded base64), indented as NVIDIA's SDK writes it.
func MarshalSerializedEvidence(evs []SerializedEvidence) ([]byte, error) {
	raw := make([]serializedJSON, len(evs))
	for i, e := range evs {
		if _, ok := serializedArch[e.Arch]; !ok {
			return nil, fmt.Errorf("%w: entry %d: arch %q", ErrSerialized, i, e.Arch)
		}
		raw[i] = serializedJSON{Arch: e.Arch, Nonce: hex.EncodeToString(e.Nonce[:]),
			Evidence: base64.StdEncoding.EncodeToString(e.Report), Certificate: base64.StdEncoding.EncodeToString(e.CertChain)}
	}
	return json.MarshalIndent(raw, "", "    ")
}

// LooksSerialized says whether b starts like serialized evidence (a JSON array), so that a
// tool can tell it from records and reports before parsing it strictly.
func LooksSerialized(b []byte) bool {
	return strings.HasPrefix(strings.TrimSpace(string(b[:min(len(b), 64)])), "[")
}
