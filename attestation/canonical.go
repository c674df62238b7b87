package attestation

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/ethereum/go-ethereum/crypto"
)

// DigestTag is the domain tag hashed in front of the canonical record.
const DigestTag = "probity/attestation/v0"

// MaxRecordSize bounds what Parse reads; a CC report and chain are about 15 KB.
const MaxRecordSize = 1 << 20

// Canonical returns the record's canonical JSON: encoding/json output of the types in this
// package, compact, keys in field order, HTML escaping off, no trailing newline. It validates
// first, so an invalid record has no canonical form.
func (r *Record) Canonical() ([]byte, error) {
	if err := r.Validate(); err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(r); err != nil {
		return nil, fmt.Errorf("encoding attestation record: %w", err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// Digest is keccak256("probity/attestation/v0" || Canonical()), the attestationDigest of §6.2.
func (r *Record) Digest() ([32]byte, error) {
	c, err := r.Canonical()
	if err != nil {
		return [32]byte{}, err
	}
	return crypto.Keccak256Hash([]byte(DigestTag), c), nil
}

// ErrNotCanonical: the document decodes but is not spelled canonically (key order or case,
// duplicate keys, number or string spelling, empty optional fields written out).
var ErrNotCanonical = errors.New("attestation record is not in canonical form")

// Parse decodes a record strictly: unknown fields, trailing data, a version other than
// Version, an invalid record and any spelling other than the canonical one (up to
// insignificant whitespace) are rejected.
func Parse(b []byte) (*Record, error) {
	if len(b) > MaxRecordSize {
		return nil, fmt.Errorf("%w: %d bytes, limit %d", ErrInvalid, len(b), MaxRecordSize)
	}
	// Version first, so a future record gets a version error rather than an unknown-field one.
	var head struct {
		Version *string `json:"version"`
	}
	if err := json.Unmarshal(b, &head); err != nil {
		return nil, decodeErr(err)
	}
	if head.Version == nil {
		return nil, fieldErr("version", "missing")
	}
	if *head.Version != Version {
		return nil, fieldErr("version", "%q, want %q", *head.Version, Version)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var r Record
	if err := dec.Decode(&r); err != nil {
		if errors.Is(err, errHex) {
			return nil, hexFieldErr(b, err)
		}
		return nil, decodeErr(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("%w: trailing data after the record", ErrInvalid)
	}
	canon, err := r.Canonical()
	if err != nil {
		return nil, err
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, b); err != nil {
		return nil, decodeErr(err)
	}
	if !bytes.Equal(compact.Bytes(), canon) {
		return nil, fmt.Errorf("%w: %w (first difference at byte %d)", ErrInvalid, ErrNotCanonical, firstDiff(compact.Bytes(), canon))
	}
	return &r, nil
}

func firstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

func decodeErr(err error) error {
	var ute *json.UnmarshalTypeError
	if errors.As(err, &ute) && ute.Field != "" {
		return &FieldError{ute.Field, fmt.Errorf("JSON %s cannot be a %s", ute.Value, ute.Type)}
	}
	if msg := err.Error(); strings.HasPrefix(msg, "json: unknown field ") {
		return &FieldError{strings.Trim(strings.TrimPrefix(msg, "json: unknown field "), `"`), errors.New("unknown field")}
	}
	return fmt.Errorf("%w: %w", ErrInvalid, err)
}

// hexFieldErr names the hex field that failed: encoding/json reports text-unmarshaler errors
// without their path, and only cc has hex fields.
func hexFieldErr(b []byte, err error) error {
	var probe struct {
		CC map[string]json.RawMessage `json:"cc"`
	}
	if json.Unmarshal(b, &probe) == nil {
		for _, name := range []string{"nonce", "report", "certChain"} {
			var s string
			if raw, ok := probe.CC[name]; ok && json.Unmarshal(raw, &s) == nil {
				var h Hex
				if e := h.UnmarshalText([]byte(s)); e != nil {
					return &FieldError{"cc." + name, e}
				}
			}
		}
		var list []string
		if raw, ok := probe.CC["ocsp"]; ok && json.Unmarshal(raw, &list) == nil {
			for i, s := range list {
				var h Hex
				if e := h.UnmarshalText([]byte(s)); e != nil {
					return &FieldError{fmt.Sprintf("cc.ocsp[%d]", i), e}
				}
			}
		}
		for _, name := range []string{"gpus", "switches"} {
			var devs []map[string]string
			raw, ok := probe.CC[name]
			if !ok || json.Unmarshal(raw, &devs) != nil {
				continue
			}
			for i, d := range devs {
				for _, f := range []string{"report", "certChain"} {
					var h Hex
					if s, ok := d[f]; ok {
						if e := h.UnmarshalText([]byte(s)); e != nil {
							return &FieldError{fmt.Sprintf("cc.%s[%d].%s", name, i, f), e}
						}
					}
				}
			}
		}
	}
	return fmt.Errorf("%w: %w", ErrInvalid, err)
}
