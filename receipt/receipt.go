package receipt

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"reflect"

	"github.com/ethereum/go-ethereum/common"

	"github.com/probitylabs/probity/protocol"
)

// Version is the only receipt version this package reads and writes.
const Version = "probity.receipt.v1"

// ProofSize is the length of the Groth16 proof in the Solidity encoding (8 words).
const ProofSize = 256

// NumFamilies is the number of sample-slot families of a class (specs/circuit.md §2): op kinds
// 1..13, then input and select. Class.Slots lists them in that order.
const NumFamilies = 15

// MaxSize bounds a receipt document. The job file dominates: a prompt of the largest class
// (1024 rows) is 4 KiB of ids and its hex 8 KiB, so 16 MiB leaves room for CC certificate
// chains of multi-GPU systems while keeping a decoder from buffering unbounded input.
const MaxSize = 16 << 20

// Receipt is the document of settlement.md §9. Field order here is the canonical JSON order.
type Receipt struct {
	Version           string          `json:"version"`
	ChainID           *Uint           `json:"chainId"`
	Manager           common.Address  `json:"manager"`
	JobID             *Uint           `json:"jobId"`
	Request           Request         `json:"request"`
	Job               Bytes           `json:"job"`
	Class             Class           `json:"class"`
	Provider          common.Address  `json:"provider"`
	NodeKey           common.Address  `json:"nodeKey"`
	Stake             *Uint           `json:"stake"`
	TraceRoot         Word            `json:"traceRoot"`
	AttestationDigest Word            `json:"attestationDigest"`
	Seed              Seed            `json:"seed"`
	Result            Result          `json:"result"`
	Proof             Bytes           `json:"proof"`
	Detection         []Bound         `json:"detection"`
	Attestation       json.RawMessage `json:"attestation"`
	Timings           Timings         `json:"timings"`
	Signature         Bytes           `json:"signature"`
}

// Class names the width class that proved the job (specs/circuit.md §2): its identifier, its
// catalogue name and its sample slots per family. An auditor checks all three against the
// class its policy knows by that name.
type Class struct {
	ID    Word   `json:"id"`
	Name  string `json:"name"`
	Slots []int  `json:"slots"`
}

// Seed is the job's challenge seed with the chain data it derives from (settlement.md §4):
// Value = SeedV2(chainId, manager, jobId, commitment, BlockHash, Secret). BlockHash is the hash
// of block Block, which only the chain confirms; Secret is zero when the buyer's reveal did not
// fix the seed.
type Seed struct {
	Block     uint64 `json:"block"`
	BlockHash Word   `json:"blockHash"`
	Secret    Word   `json:"secret"`
	Value     Word   `json:"value"`
}

// Result is what the buyer paid for: the generated tokens and their result digest
// (specs/trace.md §4), public input 3 of the proof.
type Result struct {
	Tokens []uint32 `json:"tokens"`
	Digest Word     `json:"digest"`
}

// Bound is the detection bound of one slot family for this job (universal.Bound, circuit.md
// §3): with Slots slots drawn among Units units, a provider falsifying one whole unit is caught
// with probability Instance, one element of the smallest result (Elements elements) with
// probability Element. Not signed: an auditor with the model recomputes it.
type Bound struct {
	Family   string  `json:"family"`
	Slots    int     `json:"slots"`
	Units    int     `json:"units"`
	Elements int     `json:"elements"`
	Instance float64 `json:"instance"`
	Element  float64 `json:"element"`
}

// Parse decodes a receipt from its JSON bytes strictly: the size bound, unknown keys, trailing
// data, a wrong version, structurally invalid fields and any spelling but the canonical one
// are errors (ErrMalformed, ErrVersion, ErrNonCanonical; field errors
// are *FieldError).
func Parse(data []byte) (*Receipt, error) {
	if len(data) > MaxSize {
		return nil, fmt.Errorf("%w: larger than %d bytes", ErrMalformed, MaxSize)
	}
	// One JSON value and nothing after it; syntax errors are reported by offset here, so the
	// field-by-field decoding below only meets well-formed JSON.
	dec := json.NewDecoder(bytes.NewReader(data))
	var doc json.RawMessage
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("%w: trailing data after the receipt", ErrMalformed)
	}
	// The version first: a document of another version is named as such, not by the first
	// field this version's layout misses in it.
	var head struct {
		Version *string `json:"version"`
	}
	if json.Unmarshal(doc, &head) == nil && head.Version != nil && *head.Version != Version {
		return nil, fmt.Errorf("%w: %q (want %q)", ErrVersion, *head.Version, Version)
	}
	var rc Receipt
	if err := decodeValue(doc, reflect.ValueOf(&rc).Elem(), ""); err != nil {
		return nil, err
	}
	if err := rc.Validate(); err != nil {
		return nil, err
	}
	if err := checkCanonical(&rc, data); err != nil {
		return nil, err
	}
	return &rc, nil
}

// Decode reads one receipt from r; see Parse.
func Decode(r io.Reader) (*Receipt, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxSize+1))
	if err != nil {
		return nil, fmt.Errorf("reading receipt: %w", err)
	}
	return Parse(data)
}

func fieldErr(name, format string, args ...any) error {
	return &FieldError{Field: name, Err: fmt.Errorf(format, args...)}
}

// Validate checks the structure of a receipt: presence, ranges, lengths and field elements.
// What the fields claim (the job id, digests, the proof, the signature) is package verifier's.
func (rc *Receipt) Validate() error {
	if rc.Version != Version {
		return fmt.Errorf("%w: %q (want %q)", ErrVersion, rc.Version, Version)
	}
	switch {
	case rc.ChainID == nil || rc.ChainID.Sign() == 0:
		return fieldErr("chainId", "missing or zero")
	case rc.Manager == (common.Address{}):
		return fieldErr("manager", "zero address")
	case rc.JobID == nil:
		return fieldErr("jobId", "missing")
	}
	if err := validateRequest(rc.Request.Request); err != nil {
		return err
	}
	switch {
	case len(rc.Job) == 0:
		return fieldErr("job", "empty (the job file, hex)")
	case rc.Class.Name == "":
		return fieldErr("class.name", "empty")
	case len(rc.Class.Slots) != NumFamilies:
		return fieldErr("class.slots", "%d entries, want one per family (%d)", len(rc.Class.Slots), NumFamilies)
	case rc.Provider == (common.Address{}):
		return fieldErr("provider", "zero address")
	case rc.NodeKey == (common.Address{}):
		return fieldErr("nodeKey", "zero address")
	case rc.Stake == nil:
		return fieldErr("stake", "missing")
	}
	for f, n := range rc.Class.Slots {
		if n < 0 {
			return fieldErr(fmt.Sprintf("class.slots[%d]", f), "negative")
		}
	}
	for _, w := range []struct {
		name string
		w    Word
	}{{"traceRoot", rc.TraceRoot}, {"seed.value", rc.Seed.Value}, {"result.digest", rc.Result.Digest}} {
		if err := checkField(w.name, w.w); err != nil {
			return err
		}
	}
	switch {
	case len(rc.Result.Tokens) == 0:
		return fieldErr("result.tokens", "no tokens")
	case len(rc.Result.Tokens) > protocol.MaxNewTokens:
		return fieldErr("result.tokens", "%d tokens, at most %d", len(rc.Result.Tokens), protocol.MaxNewTokens)
	}
	for i, t := range rc.Result.Tokens {
		if t >= 1<<24 {
			return fieldErr(fmt.Sprintf("result.tokens[%d]", i), "%d is not below 2^24", t)
		}
	}
	if len(rc.Proof) != ProofSize {
		return fieldErr("proof", "want %d bytes, got %d", ProofSize, len(rc.Proof))
	}
	if len(rc.Detection) == 0 {
		return fieldErr("detection", "no families")
	}
	for i, b := range rc.Detection {
		name := fmt.Sprintf("detection[%d]", i)
		switch {
		case b.Family == "":
			return fieldErr(name+".family", "empty")
		case b.Slots < 0 || b.Units < 0 || b.Elements < 0:
			return fieldErr(name, "negative count")
		case !isProbability(b.Instance):
			return fieldErr(name+".instance", "%v is not a probability", b.Instance)
		case !isProbability(b.Element):
			return fieldErr(name+".element", "%v is not a probability", b.Element)
		}
	}
	switch {
	case len(rc.Attestation) == 0:
		return fieldErr("attestation", `missing (a receipt without a GPU carries mode "none")`)
	case !isJSONObject(rc.Attestation):
		return fieldErr("attestation", "not a JSON object")
	case len(rc.Signature) != 65:
		return fieldErr("signature", "want 65 bytes, got %d", len(rc.Signature))
	}
	return nil
}

func isProbability(p float64) bool { return !math.IsNaN(p) && p >= 0 && p <= 1 }

// checkField requires a field element: roots, digests and the seed are public inputs.
func checkField(name string, w Word) error {
	if w.Big().Cmp(protocol.R) >= 0 {
		return fieldErr(name, "%s is not below the field modulus R", w)
	}
	return nil
}

func isJSONObject(b []byte) bool {
	b = bytes.TrimLeft(b, " \t\r\n")
	return len(b) > 0 && b[0] == '{' && json.Valid(b)
}

// Marshal returns the compact canonical JSON of the receipt.
func (rc *Receipt) Marshal() ([]byte, error) {
	b, err := rc.MarshalIndent()
	if err != nil {
		return nil, err
	}
	var c bytes.Buffer
	if err := json.Compact(&c, b); err != nil {
		return nil, err
	}
	return c.Bytes(), nil
}

// MarshalIndent returns the canonical JSON with two-space indentation and a trailing newline,
// the form receipts are published in. Parse(MarshalIndent(r)) gives r back.
func (rc *Receipt) MarshalIndent() ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	// The attestation record is embedded verbatim but re-indented, so compact it first: one
	// canonical spelling whatever indentation it arrived with.
	cp := *rc
	if len(rc.Attestation) > 0 {
		var c bytes.Buffer
		if err := json.Compact(&c, rc.Attestation); err != nil {
			return nil, &FieldError{Field: "attestation", Err: err}
		}
		cp.Attestation = c.Bytes()
	}
	if err := enc.Encode(&cp); err != nil {
		return nil, fmt.Errorf("encoding receipt: %w", err)
	}
	return buf.Bytes(), nil
}

// Encode writes MarshalIndent's bytes to w.
func (rc *Receipt) Encode(w io.Writer) error {
	b, err := rc.MarshalIndent()
	if err != nil {
		return err
	}
	_, err = w.Write(b)
	return err
}
