package verifier

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"slices"

	groth16bn254 "github.com/consensys/gnark/backend/groth16/bn254"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"

	"github.com/probitylabs/probity/circuits/universal"
	"github.com/probitylabs/probity/receipt"
)

// ErrNoPolicy is returned by Audit when it is given the zero Policy.
var ErrNoPolicy = errors.New("verifier: no policy (a policy file, DefaultPolicy, or PolicyUnsafeAcceptAll)")

// Class is a width class the auditor accepts, with the verifying key its proofs are checked
// against, pinned: the key itself (VK), or its KeyHash (VKHash, then read from Options.Keys,
// the chain or the key cache and checked), or neither, when the key is the class's on-chain
// verifier's (Options.Chain) or Options.Keys's. Both set: VK must hash to VKHash.
type Class struct {
	Class  *universal.Class
	VK     *groth16bn254.VerifyingKey
	VKHash [32]byte
}

// Policy says which receipts an auditor accepts beyond their cryptographic validity. The zero
// Policy is refused: a verifier must be told what it is verifying for.
type Policy struct {
	// ChainID and Manager pin the deployment; a receipt for another is a replay. Nil accepts any.
	ChainID *big.Int
	Manager *common.Address
	// Classes are the accepted width classes, matched by name; empty accepts the catalogue
	// (universal.Classes) with keys from Options.Keys or the chain (never an unpinned cache).
	Classes []Class
	// RequireCC accepts only confidential-computing records whose report verifies;
	// AllowNoAttestation accepts records of mode "none"; AllowedGPUModels, when not empty,
	// lists the accepted GPU names.
	RequireCC          bool
	AllowNoAttestation bool
	AllowedGPUModels   []string
	// MinSlots is the least number of sample slots of every family the job uses, and
	// MinInstance the least probability (recomputed from the model) that a falsified unit of
	// any family is caught. MinInstance needs the model: without it the detection check fails.
	MinSlots    int
	MinInstance float64
	// AllowUnconfirmed accepts a receipt audited without a chain: its seed block's hash,
	// hence its seed and what the detection bounds promise, are then the provider's word.
	// Without it such an audit's verdict is unconfirmed (ErrUnconfirmed), not OK.
	AllowUnconfirmed bool

	unsafeAcceptAll bool
}

// DefaultPolicy accepts the catalogue's classes with their on-chain verifiers' keys (or the
// caller's, Options.Keys) and a record from a real GPU (mode "none" refused) from any
// deployment, confirmed on chain. Pin the deployment whenever it is known.
func DefaultPolicy() Policy { return Policy{MinSlots: 1} }

// PolicyUnsafeAcceptAll accepts any receipt whose cryptography verifies, whatever its chain,
// manager, attestation mode or detection, and whether or not the chain confirmed it. For
// tests and forensics only.
func PolicyUnsafeAcceptAll() Policy {
	return Policy{AllowNoAttestation: true, AllowUnconfirmed: true, unsafeAcceptAll: true}
}

// IsZero reports whether p is the zero Policy, which Audit refuses.
func (p Policy) IsZero() bool {
	return p.ChainID == nil && p.Manager == nil && len(p.Classes) == 0 && !p.RequireCC && !p.AllowNoAttestation &&
		len(p.AllowedGPUModels) == 0 && p.MinSlots == 0 && p.MinInstance == 0 && !p.AllowUnconfirmed && !p.unsafeAcceptAll
}

// Unsafe reports whether p is PolicyUnsafeAcceptAll.
func (p Policy) Unsafe() bool { return p.unsafeAcceptAll }

func (p Policy) gpuAllowed(name string) bool {
	return len(p.AllowedGPUModels) == 0 || slices.Contains(p.AllowedGPUModels, name)
}

// class returns the accepted class of that name.
func (p Policy) class(name string) (Class, bool) {
	list := p.Classes
	if len(list) == 0 {
		for _, c := range universal.Classes() {
			list = append(list, Class{Class: c})
		}
	}
	for _, c := range list {
		if c.Class.Name == name {
			return c, true
		}
	}
	return Class{}, false
}

// policyFile is the JSON form of a Policy. A class is a catalogue name alone, or a full class
// definition; vk is a verifying key file (gnark binary) relative to the policy file, vkHash
// the key's KeyHash (0x and 64 hex digits).
type policyFile struct {
	ChainID            *receipt.Uint   `json:"chainId,omitempty"`
	Manager            *common.Address `json:"manager,omitempty"`
	Classes            []classFile     `json:"classes,omitempty"`
	RequireCC          bool            `json:"requireCC,omitempty"`
	AllowNoAttestation bool            `json:"allowNoAttestation,omitempty"`
	AllowedGPUModels   []string        `json:"allowedGpuModels,omitempty"`
	MinSlots           int             `json:"minSlots,omitempty"`
	MinInstance        float64         `json:"minInstance,omitempty"`
	AllowUnconfirmed   bool            `json:"allowUnconfirmed,omitempty"`
}

type classFile struct {
	Name       string `json:"name"`
	Elems      int    `json:"elems,omitempty"`
	RowDepth   int    `json:"rowDepth,omitempty"`
	OpDepth    int    `json:"opDepth,omitempty"`
	ParamDepth int    `json:"paramDepth,omitempty"`
	Slots      []int  `json:"slots,omitempty"`
	VK         string `json:"vk,omitempty"`
	VKHash     string `json:"vkHash,omitempty"`
}

// ReadPolicy reads a policy from JSON; unknown keys are errors, so a misspelt requirement is
// never silently dropped. Key files are resolved against dir.
func ReadPolicy(data []byte, dir string) (Policy, error) {
	var f policyFile
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return Policy{}, fmt.Errorf("reading policy: %w", err)
	}
	p := Policy{Manager: f.Manager, RequireCC: f.RequireCC, AllowNoAttestation: f.AllowNoAttestation,
		AllowedGPUModels: f.AllowedGPUModels, MinSlots: f.MinSlots, MinInstance: f.MinInstance, AllowUnconfirmed: f.AllowUnconfirmed}
	if f.ChainID != nil {
		p.ChainID = f.ChainID.Big()
	}
	if f.MinInstance < 0 || f.MinInstance > 1 {
		return Policy{}, fmt.Errorf("reading policy: minInstance %v is not a probability", f.MinInstance)
	}
	for i, c := range f.Classes {
		cl, err := c.class()
		if err != nil {
			return Policy{}, fmt.Errorf("reading policy: classes[%d]: %w", i, err)
		}
		pc := Class{Class: cl}
		if c.VK != "" {
			path := c.VK
			if !filepath.IsAbs(path) {
				path = filepath.Join(dir, path)
			}
			if pc.VK, err = ReadVerifyingKeyFile(path); err != nil {
				return Policy{}, fmt.Errorf("reading policy: classes[%d]: %w", i, err)
			}
		}
		if c.VKHash != "" {
			h, err := hexutil.Decode(c.VKHash)
			if err != nil || len(h) != 32 {
				return Policy{}, fmt.Errorf("reading policy: classes[%d]: vkHash %q is not 0x and 64 hex digits", i, c.VKHash)
			}
			pc.VKHash = [32]byte(h)
			if pc.VK != nil {
				if kh, err := KeyHash(pc.VK); err != nil || kh != pc.VKHash {
					return Policy{}, fmt.Errorf("reading policy: classes[%d]: %w: the vk file does not hash to vkHash %s", i, ErrKeyPin, c.VKHash)
				}
			}
		}
		p.Classes = append(p.Classes, pc)
	}
	if p.IsZero() {
		return Policy{}, fmt.Errorf("reading policy: %w", ErrNoPolicy)
	}
	return p, nil
}

func (c classFile) class() (*universal.Class, error) {
	if c.Elems == 0 && c.RowDepth == 0 && c.OpDepth == 0 && c.ParamDepth == 0 && c.Slots == nil {
		for _, cl := range universal.Classes() {
			if cl.Name == c.Name {
				return cl, nil
			}
		}
		return nil, fmt.Errorf("%q is not a catalogue class; define it (elems, rowDepth, opDepth, paramDepth, slots)", c.Name)
	}
	cl := &universal.Class{Name: c.Name, Elems: c.Elems, RowDepth: c.RowDepth, OpDepth: c.OpDepth, ParamDepth: c.ParamDepth}
	if len(c.Slots) != len(cl.Slots)-1 {
		return nil, fmt.Errorf("class %s: %d slot counts, want one per family (%d)", c.Name, len(c.Slots), len(cl.Slots)-1)
	}
	copy(cl.Slots[1:], c.Slots)
	if err := cl.Validate(); err != nil {
		return nil, err
	}
	return cl, nil
}

// LoadPolicy reads a policy file; key files are relative to its directory.
func LoadPolicy(path string) (Policy, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Policy{}, err
	}
	return ReadPolicy(b, filepath.Dir(path))
}
