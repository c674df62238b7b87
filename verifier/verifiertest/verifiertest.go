// Package verifiertest builds real Probity receipts for tests: one job on the catalogue's tiny
// shape, proved with the circuits package (a real Groth16 proof under a development key), signed
// by a fixed node key, with the tensor files it was computed from. Tests of the verifier, the
// CLI and the SDK share it.
package verifiertest

import (
	"crypto/ecdsa"
	"encoding/json"
	"math/big"
	"math/rand/v2"
	"os"
	"path/filepath"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/probitylabs/probity/attestation"
	"github.com/probitylabs/probity/circuits"
	"github.com/probitylabs/probity/jobs"
	"github.com/probitylabs/probity/protocol"
	"github.com/probitylabs/probity/receipt"
	"github.com/probitylabs/probity/tensor"
	"github.com/probitylabs/probity/verifier"
)

// Fixture is one proved, signed single-layer job on the tiny shape.
type Fixture struct {
	Keys      *circuits.Keys
	Cache     circuits.Cache // holds the tiny shape's keys
	NodeKey   *ecdsa.PrivateKey
	Receipt   []byte // canonical JSON
	Tensors   *verifier.TensorFiles
	TensorDir string
	ChainID   *big.Int
	Contract  common.Address
}

// Build proves the job with keys set up in dir/keys and writes its tensors to dir/tensors.
func Build(dir string) (*Fixture, error) {
	tiny, err := circuits.Lookup("tiny")
	if err != nil {
		return nil, err
	}
	f := &Fixture{
		Cache:    circuits.Cache{Dir: filepath.Join(dir, "keys")},
		ChainID:  big.NewInt(31337),
		Contract: common.HexToAddress("0x5fbdb2315678afecb367f032d93f642f64180aa3"),
	}
	if err := os.MkdirAll(f.Cache.Dir, 0o755); err != nil {
		return nil, err
	}
	if f.Keys, err = f.Cache.Setup(tiny); err != nil {
		return nil, err
	}
	if f.NodeKey, err = crypto.HexToECDSA("8f2a55949038a9610f50fb23b5883af3b4ecb3c3bb792cbcefbd1542c692be63"); err != nil {
		return nil, err
	}
	seed := new(big.Int).Mod(crypto.Keccak256Hash([]byte("fixture seed")).Big(), protocol.R)
	in, err := circuits.RandomInputs(tiny, 5, rand.New(rand.NewPCG(1, 2)), protocol.LayerSeed(seed, 0), true)
	if err != nil {
		return nil, err
	}
	proof, err := circuits.Prove(f.Keys, in)
	if err != nil {
		return nil, err
	}
	pi := proof.PublicInputs
	record := NoneRecord
	rc := &receipt.Receipt{
		Version:  receipt.Version,
		ChainID:  receipt.NewUint(f.ChainID),
		Contract: f.Contract,
		JobID:    receipt.NewUint(big.NewInt(1)),
		Provider: common.HexToAddress("0x70997970c51812dc3a010c7d01b50e0d17dc79c8"),
		Job: receipt.Job{
			InputRoot: receipt.MustWord(pi[0]),
			Rows:      5,
			Layers:    []receipt.Layer{{ShapeID: tiny.ID(), WeightsRoot: receipt.MustWord(pi[1]), Epilogue: receipt.MustWord(pi[4])}},
		},
		OutputRoots:       []receipt.Word{receipt.MustWord(pi[2])},
		AttestationDigest: RecordDigest(record),
		SeedBlock:         9,
		Seed:              receipt.MustWord(seed),
		K:                 tiny.Kn,
		Detection:         receipt.Detection{FloorBps: 1000, ProbabilityBps: 1900},
		Proofs: []receipt.Proof{{
			Layer: 0, ShapeID: tiny.ID(), Proof: proof.Solidity[:],
			PublicInputs: [5]receipt.Word{receipt.MustWord(pi[0]), receipt.MustWord(pi[1]), receipt.MustWord(pi[2]), receipt.MustWord(pi[3]), receipt.MustWord(pi[4])},
		}},
		Attestation: record,
		Timings:     receipt.Timings{ExecuteMs: 1, CommitMs: 1, ProveMs: 100, SubmitMs: 1},
	}
	rc.SpecHash = receipt.Word(rc.JobSpec().Hash())
	if err := rc.Sign(f.NodeKey); err != nil {
		return nil, err
	}
	if f.Receipt, err = rc.MarshalIndent(); err != nil {
		return nil, err
	}
	tdir := filepath.Join(dir, "tensors")
	if err := os.MkdirAll(tdir, 0o755); err != nil {
		return nil, err
	}
	d := jobs.Dir(tdir)
	if err := os.MkdirAll(d.Outputs(), 0o755); err != nil {
		return nil, err
	}
	if err := tensor.SaveActivations(d.Input(), in.Input); err != nil {
		return nil, err
	}
	if err := tensor.SaveModel(d.Model(), tensor.Model{Layers: []tensor.Layer{in.Layer}}); err != nil {
		return nil, err
	}
	if err := jobs.SaveOutput(d.Output(0), in.Output); err != nil {
		return nil, err
	}
	f.TensorDir = tdir
	f.Tensors = &verifier.TensorFiles{Input: d.Input(), Model: d.Model()}
	return f, nil
}

// NoneRecord is the attestation record of a job run without a GPU (spec §9, mode "none").
var NoneRecord = json.RawMessage(`{"version":"probity.attestation.v0","mode":"none"}`)

// RecordDigest is the spec §9 digest of a canonical attestation record; it panics on a
// record that does not parse, which in a test fixture is a bug in the test.
func RecordDigest(record []byte) receipt.Word {
	rec, err := attestation.Parse(record)
	if err != nil {
		panic("verifiertest: " + err.Error())
	}
	d, err := rec.Digest()
	if err != nil {
		panic("verifiertest: " + err.Error())
	}
	return receipt.Word(d)
}
