package verifier

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"os"
	"reflect"
	"slices"

	"github.com/ethereum/go-ethereum/common"
)

// ErrNoPolicy is returned by Audit when it is given the zero Policy.
var ErrNoPolicy = errors.New("verifier: no policy (use DefaultPolicy, a policy file, or PolicyUnsafeAcceptAll)")

// Policy says which receipts an auditor accepts beyond their cryptographic validity.
// The zero Policy is refused: a verifier must be told what it is verifying for.
type Policy struct {
	// ExpectedChainID and ExpectedContract pin the deployment; a receipt for another one is a
	// replay (ErrReplay). Nil accepts any.
	ExpectedChainID  *big.Int        `json:"expectedChainId,omitempty"`
	ExpectedContract *common.Address `json:"expectedContract,omitempty"`
	// RequireCC accepts only attestation records in confidential-computing mode whose hardware
	// report verifies.
	RequireCC bool `json:"requireCC,omitempty"`
	// AllowNoAttestation accepts records of mode "none" (no GPU or no driver).
	AllowNoAttestation bool `json:"allowNoAttestation,omitempty"`
	// AllowedGPUModels, when not empty, lists the accepted GPU names (e.g. "NVIDIA H100 80GB HBM3").
	AllowedGPUModels []string `json:"allowedGpuModels,omitempty"`
	// MinK is the least number of samples per layer.
	MinK uint16 `json:"minK,omitempty"`
	// MinDetectionBps is the least detection probability (basis points) at the stated floor.
	MinDetectionBps uint32 `json:"minDetectionBps,omitempty"`
	// ExpectedFloorBps, when set, is the deployment's detection floor f0 (spec §11). The floor
	// a receipt states is not signed, and a higher floor claims a higher probability, so
	// MinDetectionBps means little unless the floor is pinned here or checked on chain.
	ExpectedFloorBps uint32 `json:"expectedFloorBps,omitempty"`

	unsafeAcceptAll bool
}

// DefaultPolicy is what a typical buyer wants: at least 2 samples per layer, a record from a
// real GPU (NVML or CC; "none" refused), any deployment. Pin the deployment with
// ExpectedChainID/ExpectedContract whenever it is known.
func DefaultPolicy() Policy {
	return Policy{MinK: 2}
}

// PolicyUnsafeAcceptAll accepts any receipt whose cryptography verifies, whatever its chain,
// contract, attestation mode or sample count. For tests and forensics only.
func PolicyUnsafeAcceptAll() Policy {
	return Policy{AllowNoAttestation: true, unsafeAcceptAll: true}
}

// IsZero reports whether p is the zero Policy, which Audit refuses.
func (p Policy) IsZero() bool { return reflect.DeepEqual(p, Policy{}) }

// Unsafe reports whether p is PolicyUnsafeAcceptAll.
func (p Policy) Unsafe() bool { return p.unsafeAcceptAll }

// ReadPolicy reads a policy from JSON (the field names of Policy's tags); unknown fields are
// errors, so a misspelt requirement is never silently dropped.
func ReadPolicy(r io.Reader) (Policy, error) {
	var p Policy
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		return Policy{}, fmt.Errorf("reading policy: %w", err)
	}
	if p.IsZero() {
		return Policy{}, fmt.Errorf("reading policy: %w", ErrNoPolicy)
	}
	return p, nil
}

// LoadPolicy reads a policy file.
func LoadPolicy(path string) (Policy, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Policy{}, err
	}
	return ReadPolicy(bytes.NewReader(b))
}

func (p Policy) gpuAllowed(name string) bool {
	return len(p.AllowedGPUModels) == 0 || slices.Contains(p.AllowedGPUModels, name)
}
