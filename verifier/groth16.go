package verifier

import (
	"errors"
	"fmt"
	"os"

	"github.com/consensys/gnark-crypto/ecc"
	"github.com/consensys/gnark-crypto/ecc/bn254/fp"
	"github.com/consensys/gnark/backend/groth16"
	groth16bn254 "github.com/consensys/gnark/backend/groth16/bn254"

	"github.com/probitylabs/probity/receipt"
)

// ReadVerifyingKeyFile reads a BN254 Groth16 verifying key in gnark's binary encoding.
func ReadVerifyingKeyFile(path string) (*groth16bn254.VerifyingKey, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("verifying key: %w", err)
	}
	defer f.Close()
	vk := groth16.NewVerifyingKey(ecc.BN254)
	if _, err := vk.ReadFrom(f); err != nil {
		return nil, fmt.Errorf("verifying key %s: %w", path, err)
	}
	bvk, ok := vk.(*groth16bn254.VerifyingKey)
	if !ok {
		return nil, fmt.Errorf("verifying key %s: not a BN254 key", path)
	}
	if len(bvk.G1.K) != numPublicInputs+1 {
		return nil, fmt.Errorf("verifying key %s: %d public inputs, the universal statement has %d",
			path, len(bvk.G1.K)-1, numPublicInputs)
	}
	if len(bvk.CommitmentKeys) != 0 {
		return nil, fmt.Errorf("verifying key %s: uses Pedersen commitments, which spec §7 excludes", path)
	}
	return bvk, nil
}

// numPublicInputs is the universal statement's (specs/circuit.md §1): model root, job digest,
// trace root, result digest, seed.
const numPublicInputs = 5

var errPoint = errors.New("proof point not on the curve or not in the subgroup")

// DecodeProof reads the 256-byte Solidity encoding of spec §7 (A, B with x.a1 x.a0 y.a1 y.a0,
// C), requiring canonical coordinates and points in the prime-order subgroups.
func DecodeProof(b []byte) (*groth16bn254.Proof, error) {
	if len(b) != receipt.ProofSize {
		return nil, fmt.Errorf("proof is %d bytes, want %d", len(b), receipt.ProofSize)
	}
	var p groth16bn254.Proof
	coords := []*fp.Element{
		&p.Ar.X, &p.Ar.Y,
		&p.Bs.X.A1, &p.Bs.X.A0, &p.Bs.Y.A1, &p.Bs.Y.A0,
		&p.Krs.X, &p.Krs.Y,
	}
	for i, c := range coords {
		if err := c.SetBytesCanonical(b[32*i : 32*i+32]); err != nil {
			return nil, fmt.Errorf("proof word %d: %w", i, err)
		}
	}
	if !p.Ar.IsInSubGroup() || !p.Bs.IsInSubGroup() || !p.Krs.IsInSubGroup() || p.Ar.IsInfinity() || p.Krs.IsInfinity() {
		return nil, errPoint
	}
	return &p, nil
}
