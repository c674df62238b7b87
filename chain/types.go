package chain

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/big"
	"os"

	"github.com/ethereum/go-ethereum/common"

	"github.com/probitylabs/probity/contracts/bindings"
)

// Contract struct types, re-exported so that callers need not import the bindings.
type (
	// JobSpec is the job a buyer posts (spec §6.1).
	JobSpec = bindings.JobSpec
	// Layer is one layer of a JobSpec.
	Layer = bindings.Layer
	// Job is the manager's stored record of a job.
	Job = bindings.Job
	// Receipt is the EIP-712 struct a node key signs (spec §8.2).
	Receipt = bindings.Receipt
	// Shape is a ShapeRegistry entry.
	Shape = bindings.Shape
	// Provider is a ProviderRegistry account.
	Provider = bindings.Provider
)

// Manager events, re-exported.
type (
	JobPosted     = bindings.SLAManagerJobPosted
	JobCancelled  = bindings.SLAManagerJobCancelled
	JobLocked     = bindings.SLAManagerJobLocked
	JobCommitted  = bindings.SLAManagerJobCommitted
	SeedFixed     = bindings.SLAManagerSeedFixed
	JobAbandoned  = bindings.SLAManagerJobAbandoned
	JobSettled    = bindings.SLAManagerJobSettled
	ProofRejected = bindings.SLAManagerProofRejected
	JobSlashed    = bindings.SLAManagerJobSlashed
	Credited      = bindings.SLAManagerCredited
	Withdrawn     = bindings.SLAManagerWithdrawn
)

// JobState mirrors the contract's enum (spec §10).
type JobState uint8

// Job states, in the contract's order.
const (
	StateNone JobState = iota
	StateOpen
	StateLocked
	StateCommitted
	StateSettled
	StateSlashed
	StateCancelled
)

var stateNames = [...]string{"None", "Open", "Locked", "Committed", "Settled", "Slashed", "Cancelled"}

func (s JobState) String() string {
	if int(s) < len(stateNames) {
		return stateNames[s]
	}
	return "JobState(" + big.NewInt(int64(s)).String() + ")"
}

// Proof is a Groth16 proof in the 8-word Solidity layout of spec §7.
type Proof [8]*big.Int

// VerifyingKey is a Groth16 verifying key for five public inputs, G2 points in
// EIP-197 word order (x.a1, x.a0, y.a1, y.a0), as the Groth16Verifier constructor
// takes it.
type VerifyingKey struct {
	Alpha [2]*big.Int
	Beta  [4]*big.Int
	Gamma [4]*big.Int
	Delta [4]*big.Int
	IC    [12]*big.Int
}

// Equal reports whether two keys have the same words.
func (vk VerifyingKey) Equal(o VerifyingKey) bool {
	a, b := vk.words(), o.words()
	for i := range a {
		if (a[i] == nil) != (b[i] == nil) || (a[i] != nil && a[i].Cmp(b[i]) != 0) {
			return false
		}
	}
	return true
}

func (vk VerifyingKey) words() []*big.Int {
	var w []*big.Int
	for _, g := range [][]*big.Int{vk.Alpha[:], vk.Beta[:], vk.Gamma[:], vk.Delta[:], vk.IC[:]} {
		w = append(w, g...)
	}
	return w
}

// Addresses locates a deployment.
type Addresses struct {
	Token     common.Address `json:"token"`
	Providers common.Address `json:"providers"`
	Shapes    common.Address `json:"shapes"`
	Manager   common.Address `json:"manager"`
}

// Validate names the first address that is missing.
func (a Addresses) Validate() error {
	for _, f := range []struct {
		name string
		addr common.Address
	}{{"token", a.Token}, {"providers", a.Providers}, {"shapes", a.Shapes}, {"manager", a.Manager}} {
		if f.addr == (common.Address{}) {
			return fmt.Errorf("no %q address", f.name)
		}
	}
	return nil
}

// ReadAddresses reads a deployment file: the JSON object of Addresses that `probity deploy`
// writes, every address present. Unknown fields are errors.
func ReadAddresses(path string) (Addresses, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return Addresses{}, err
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	var a Addresses
	if err := dec.Decode(&a); err != nil {
		return Addresses{}, fmt.Errorf("deployment file %s: %w", path, err)
	}
	if err := a.Validate(); err != nil {
		return Addresses{}, fmt.Errorf("deployment file %s: %w", path, err)
	}
	return a, nil
}
