package receipt

import (
	"crypto/ecdsa"
	"encoding/json"
	"math/big"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/probitylabs/probity/protocol"
)

// testKey is a fixed node key so fixtures are reproducible.
func testKey(t testing.TB) *ecdsa.PrivateKey {
	t.Helper()
	k, err := crypto.HexToECDSA("4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318")
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func fieldWord(tag string) Word {
	h := crypto.Keccak256([]byte(tag))
	return MustWord(new(big.Int).Mod(new(big.Int).SetBytes(h), protocol.R))
}

// testReceipt returns a structurally valid, signed two-layer receipt. Its proofs are not real
// Groth16 proofs: this package checks structure and signatures, the verifier checks proofs.
func testReceipt(t testing.TB) *Receipt {
	t.Helper()
	epi := protocol.Epilogue{Multiplier: 1 << 30, Shift: 31, ZeroPoint: -3, ReLU: true}
	shape := Word(protocol.ShapeID(16, 4, 3, 2))
	rc := &Receipt{
		Version:  Version,
		ChainID:  NewUint(big.NewInt(31337)),
		Contract: common.HexToAddress("0x5FbDB2315678afecb367f032d93F642f64180aa3"),
		JobID:    NewUint(big.NewInt(7)),
		Provider: common.HexToAddress("0x70997970C51812dc3A010C7d01b50e0d17dc79C8"),
		Job: Job{
			InputRoot: fieldWord("input"),
			Rows:      5,
			Layers: []Layer{
				{ShapeID: shape, WeightsRoot: fieldWord("w0"), Epilogue: MustWord(epi.Word())},
				{ShapeID: shape, WeightsRoot: fieldWord("w1"), Epilogue: MustWord(epi.Word())},
			},
		},
		OutputRoots:       []Word{fieldWord("out0"), fieldWord("out1")},
		AttestationDigest: Word(crypto.Keccak256Hash([]byte("attestation"))),
		SeedBlock:         12,
		Seed:              fieldWord("seed"),
		K:                 2,
		Detection:         Detection{FloorBps: 1000, ProbabilityBps: 1900},
		Attestation:       json.RawMessage(`{"version":"probity.attestation.v0","mode":"none"}`),
		Timings:           Timings{ExecuteMs: 1, CommitMs: 2, ProveMs: 3, SubmitMs: 4},
	}
	rc.SpecHash = Word(rc.JobSpec().Hash())
	for l := range rc.Job.Layers {
		proof := make([]byte, ProofSize)
		copy(proof, crypto.Keccak256([]byte{byte(l)}))
		pi, err := rc.ExpectedPublicInputs(l)
		if err != nil {
			t.Fatal(err)
		}
		rc.Proofs = append(rc.Proofs, Proof{Layer: uint32(l), ShapeID: shape, Proof: proof, PublicInputs: pi})
	}
	if err := rc.Sign(testKey(t)); err != nil {
		t.Fatal(err)
	}
	return rc
}
