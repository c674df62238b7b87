package receipt

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/ethereum/go-ethereum/common"

	"github.com/probitylabs/probity/protocol"
)

// Version is the only receipt version this package reads and writes.
const Version = "probity.receipt.v0"

// ProofSize is the length of a Groth16 proof in the Solidity encoding (8 words).
const ProofSize = 256

// NumPublicInputs is the number of public inputs of the sampled-layer statement (spec §7):
// inputRoot, weightsRoot, outputRoot, seed_l, epilogue.
const NumPublicInputs = 5

// MaxSize bounds a receipt document; a receipt with many layers and a CC certificate chain
// stays well below it, and a decoder must not be made to buffer unbounded input.
const MaxSize = 8 << 20

// Receipt is the document of spec §8.1. Field order here is the canonical JSON order.
type Receipt struct {
	Version           string          `json:"version"`
	ChainID           *Uint           `json:"chainId"`
	Contract          common.Address  `json:"contract"`
	JobID             *Uint           `json:"jobId"`
	Provider          common.Address  `json:"provider"`
	NodeKey           common.Address  `json:"nodeKey"`
	Job               Job             `json:"job"`
	SpecHash          Word            `json:"specHash"`
	OutputRoots       []Word          `json:"outputRoots"`
	AttestationDigest Word            `json:"attestationDigest"`
	SeedBlock         uint64          `json:"seedBlock"`
	Seed              Word            `json:"seed"`
	K                 uint16          `json:"k"`
	Detection         Detection       `json:"detection"`
	Proofs            []Proof         `json:"proofs"`
	Attestation       json.RawMessage `json:"attestation"`
	Timings           Timings         `json:"timings"`
	Signature         Bytes           `json:"signature"`
}

// Job carries the fields of the JobSpec struct (spec §6.1).
type Job struct {
	InputRoot Word    `json:"inputRoot"`
	Rows      uint32  `json:"rows"`
	Layers    []Layer `json:"layers"`
}

// Layer is one entry of JobSpec.layers.
type Layer struct {
	ShapeID     Word `json:"shapeId"`
	WeightsRoot Word `json:"weightsRoot"`
	Epilogue    Word `json:"epilogue"`
}

// Detection states the detection bound of spec §11 for this receipt: a provider that falsified
// at least FloorBps/10000 of a layer's outputs would have been caught with probability at least
// ProbabilityBps/10000 (rounded down).
type Detection struct {
	FloorBps       uint32 `json:"floorBps"`
	ProbabilityBps uint32 `json:"probabilityBps"`
}

// Proof is one layer's Groth16 proof with the public inputs it was verified against.
type Proof struct {
	Layer        uint32                `json:"layer"`
	ShapeID      Word                  `json:"shapeId"`
	Proof        Bytes                 `json:"proof"`
	PublicInputs [NumPublicInputs]Word `json:"publicInputs"`
}

// Timings are advisory wall-clock durations measured by the provider; they are not signed.
type Timings struct {
	ExecuteMs uint64 `json:"executeMs"`
	CommitMs  uint64 `json:"commitMs"`
	ProveMs   uint64 `json:"proveMs"`
	SubmitMs  uint64 `json:"submitMs"`
}

// Sentinel errors, so callers can tell classes of failure apart with errors.Is.
var (
	ErrMalformed = errors.New("malformed receipt")
	ErrVersion   = errors.New("unsupported receipt version")
	// ErrNonCanonical wraps ErrMalformed: the receipt decodes but is not spelled canonically
	// (key order or case, duplicate keys, null, address case, string escapes).
	ErrNonCanonical = fmt.Errorf("%w: not in canonical form", ErrMalformed)
)

// FieldError says which field of a receipt is wrong.
type FieldError struct {
	Field string
	Err   error
}

func (e *FieldError) Error() string { return fmt.Sprintf("receipt field %s: %v", e.Field, e.Err) }

// Unwrap lets errors.Is(err, ErrMalformed) match every field error.
func (e *FieldError) Unwrap() []error { return []error{ErrMalformed, e.Err} }

// Decode reads one receipt strictly: unknown fields, trailing data, a wrong version and
// structurally invalid fields are errors.
func Decode(r io.Reader) (*Receipt, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxSize+1))
	if err != nil {
		return nil, fmt.Errorf("reading receipt: %w", err)
	}
	return Parse(data)
}

// Parse decodes a receipt from its JSON bytes; see Decode.
func Parse(data []byte) (*Receipt, error) {
	if len(data) > MaxSize {
		return nil, fmt.Errorf("%w: larger than %d bytes", ErrMalformed, MaxSize)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var rc Receipt
	if err := dec.Decode(&rc); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if dec.More() {
		return nil, fmt.Errorf("%w: trailing data after the receipt", ErrMalformed)
	}
	if err := rc.Validate(); err != nil {
		return nil, err
	}
	if err := rc.checkCanonical(data); err != nil {
		return nil, err
	}
	return &rc, nil
}

// checkCanonical requires data to be the canonical encoding up to insignificant whitespace.
// encoding/json matches keys case-insensitively, keeps the last of duplicate keys, turns null
// into zero values and accepts any address case; comparing against the re-encoding closes all
// of those at once, so one receipt has one spelling.
func (rc *Receipt) checkCanonical(data []byte) error {
	want, err := rc.MarshalIndent()
	if err != nil {
		return err
	}
	var got, canon bytes.Buffer
	if err := json.Compact(&got, data); err != nil {
		return fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if err := json.Compact(&canon, want); err != nil {
		return fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	g, c := got.Bytes(), canon.Bytes()
	if bytes.Equal(g, c) {
		return nil
	}
	i := 0
	for i < len(g) && i < len(c) && g[i] == c[i] {
		i++
	}
	return fmt.Errorf("%w: at byte %d of the compact form: found %q, canonical is %q",
		ErrNonCanonical, i, snippet(g, i), snippet(c, i))
}

func snippet(b []byte, i int) string {
	lo, hi := max(0, i-24), min(len(b), i+24)
	return string(b[lo:hi])
}

// Validate checks the structure of a receipt (not its signature, proofs or attestation, which
// the verifier package checks under a policy).
func (rc *Receipt) Validate() error {
	if rc.Version != Version {
		return fmt.Errorf("%w: %q (want %q)", ErrVersion, rc.Version, Version)
	}
	switch {
	case rc.ChainID == nil || rc.ChainID.Sign() == 0:
		return &FieldError{"chainId", errors.New("missing or zero")}
	case rc.JobID == nil:
		return &FieldError{"jobId", errors.New("missing")}
	case rc.Contract == (common.Address{}):
		return &FieldError{"contract", errors.New("zero address")}
	case rc.Provider == (common.Address{}):
		return &FieldError{"provider", errors.New("zero address")}
	case rc.NodeKey == (common.Address{}):
		return &FieldError{"nodeKey", errors.New("zero address")}
	case len(rc.Job.Layers) == 0:
		return &FieldError{"job.layers", errors.New("a job has at least one layer")}
	case rc.Job.Rows == 0:
		return &FieldError{"job.rows", errors.New("zero rows")}
	case len(rc.OutputRoots) != len(rc.Job.Layers):
		return &FieldError{"outputRoots", fmt.Errorf("%d roots for %d layers", len(rc.OutputRoots), len(rc.Job.Layers))}
	case len(rc.Proofs) != len(rc.Job.Layers):
		return &FieldError{"proofs", fmt.Errorf("%d proofs for %d layers", len(rc.Proofs), len(rc.Job.Layers))}
	case rc.K == 0:
		return &FieldError{"k", errors.New("zero samples")}
	case rc.Detection.FloorBps > 10000 || rc.Detection.ProbabilityBps > 10000:
		return &FieldError{"detection", errors.New("basis points above 10000")}
	case len(rc.Attestation) == 0:
		return &FieldError{"attestation", errors.New("missing (a receipt without a GPU carries mode \"none\")")}
	case !isJSONObject(rc.Attestation):
		return &FieldError{"attestation", errors.New("not a JSON object")}
	case len(rc.Signature) != 65:
		return &FieldError{"signature", fmt.Errorf("want 65 bytes, got %d", len(rc.Signature))}
	}
	if err := checkField("job.inputRoot", rc.Job.InputRoot); err != nil {
		return err
	}
	for i, l := range rc.Job.Layers {
		if err := checkField(fmt.Sprintf("job.layers[%d].weightsRoot", i), l.WeightsRoot); err != nil {
			return err
		}
		if _, err := protocol.ParseEpilogueWord(l.Epilogue.Big()); err != nil {
			return &FieldError{fmt.Sprintf("job.layers[%d].epilogue", i), err}
		}
	}
	for i, r := range rc.OutputRoots {
		if err := checkField(fmt.Sprintf("outputRoots[%d]", i), r); err != nil {
			return err
		}
	}
	if err := checkField("seed", rc.Seed); err != nil {
		return err
	}
	for i, p := range rc.Proofs {
		if p.Layer != uint32(i) {
			return &FieldError{fmt.Sprintf("proofs[%d].layer", i), fmt.Errorf("is %d", p.Layer)}
		}
		if len(p.Proof) != ProofSize {
			return &FieldError{fmt.Sprintf("proofs[%d].proof", i), fmt.Errorf("want %d bytes, got %d", ProofSize, len(p.Proof))}
		}
		if p.ShapeID != rc.Job.Layers[i].ShapeID {
			return &FieldError{fmt.Sprintf("proofs[%d].shapeId", i), errors.New("differs from job.layers")}
		}
		for j, w := range p.PublicInputs {
			if err := checkField(fmt.Sprintf("proofs[%d].publicInputs[%d]", i, j), w); err != nil {
				return err
			}
		}
	}
	return nil
}

// checkField requires a field element: roots, seeds and public inputs all live in F (spec §1).
func checkField(name string, w Word) error {
	if w.Big().Cmp(protocol.R) >= 0 {
		return &FieldError{name, fmt.Errorf("%s is not below the field modulus R", w)}
	}
	return nil
}

func isJSONObject(b []byte) bool {
	b = bytes.TrimLeft(b, " \t\r\n")
	return len(b) > 0 && b[0] == '{' && json.Valid(b)
}

// Encode writes the canonical JSON of the receipt: the field order of the Go types, two-space
// indentation for people, a trailing newline. Parse(Encode(r)) gives r back.
func (rc *Receipt) Encode(w io.Writer) error {
	b, err := rc.MarshalIndent()
	if err != nil {
		return err
	}
	_, err = w.Write(b)
	return err
}

// MarshalIndent returns the canonical JSON bytes written by Encode.
func (rc *Receipt) MarshalIndent() ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	// The attestation record is embedded verbatim but re-indented, so compact it first to keep
	// one canonical spelling whatever the indentation it arrived with.
	cp := *rc
	if len(rc.Attestation) > 0 {
		var c bytes.Buffer
		if err := json.Compact(&c, rc.Attestation); err != nil {
			return nil, &FieldError{"attestation", err}
		}
		cp.Attestation = c.Bytes()
	}
	if err := enc.Encode(&cp); err != nil {
		return nil, fmt.Errorf("encoding receipt: %w", err)
	}
	return buf.Bytes(), nil
}
