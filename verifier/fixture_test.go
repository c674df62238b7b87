package verifier

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/probitylabs/probity/circuits"
	"github.com/probitylabs/probity/protocol"
	"github.com/probitylabs/probity/receipt"
	"github.com/probitylabs/probity/tensor"
)

// fixture is one real job on the tiny shape: a Groth16 proof from the circuits package, the
// signed receipt built from it, and the tensor files it was computed from. Tests share one
// setup (the slow part) through sync.Once.
type fixture struct {
	keys     *circuits.Keys
	cache    circuits.Cache
	nodeKey  *ecdsa.PrivateKey
	receipt  []byte // canonical JSON
	tensors  *TensorFiles
	chainID  *big.Int
	contract common.Address
}

var (
	fixOnce sync.Once
	fix     *fixture
	fixErr  error
)

func getFixture(t testing.TB) *fixture {
	t.Helper()
	fixOnce.Do(func() { fix, fixErr = buildFixture() })
	if fixErr != nil {
		t.Fatal(fixErr)
	}
	return fix
}

// fixtureDir outlives single tests (the fixture is shared), so it lives in TestMain's tempdir.
var fixtureDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "probity-verifier-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	fixtureDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func buildFixture() (*fixture, error) {
	tiny, err := circuits.Lookup("tiny")
	if err != nil {
		return nil, err
	}
	f := &fixture{
		cache:    circuits.Cache{Dir: filepath.Join(fixtureDir, "keys")},
		chainID:  big.NewInt(31337),
		contract: common.HexToAddress("0x5fbdb2315678afecb367f032d93f642f64180aa3"),
	}
	if err := os.MkdirAll(f.cache.Dir, 0o755); err != nil {
		return nil, err
	}
	if f.keys, err = f.cache.Setup(tiny); err != nil {
		return nil, err
	}
	if f.nodeKey, err = crypto.HexToECDSA("8f2a55949038a9610f50fb23b5883af3b4ecb3c3bb792cbcefbd1542c692be63"); err != nil {
		return nil, err
	}
	seed := new(big.Int).Mod(crypto.Keccak256Hash([]byte("fixture seed")).Big(), protocol.R)
	in, err := circuits.RandomInputs(tiny, 5, rand.New(rand.NewPCG(1, 2)), protocol.LayerSeed(seed, 0), true)
	if err != nil {
		return nil, err
	}
	proof, err := circuits.Prove(f.keys, in)
	if err != nil {
		return nil, err
	}
	pi := proof.PublicInputs
	record := json.RawMessage(`{"version":"probity.attestation.v0","mode":"none"}`)
	rc := &receipt.Receipt{
		Version:  receipt.Version,
		ChainID:  receipt.NewUint(f.chainID),
		Contract: f.contract,
		JobID:    receipt.NewUint(big.NewInt(1)),
		Provider: common.HexToAddress("0x70997970c51812dc3a010c7d01b50e0d17dc79c8"),
		Job: receipt.Job{
			InputRoot: receipt.MustWord(pi[0]),
			Rows:      5,
			Layers:    []receipt.Layer{{ShapeID: tiny.ID(), WeightsRoot: receipt.MustWord(pi[1]), Epilogue: receipt.MustWord(pi[4])}},
		},
		OutputRoots:       []receipt.Word{receipt.MustWord(pi[2])},
		AttestationDigest: testRecordDigest(record),
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
	if err := rc.Sign(f.nodeKey); err != nil {
		return nil, err
	}
	if f.receipt, err = rc.MarshalIndent(); err != nil {
		return nil, err
	}
	tdir := filepath.Join(fixtureDir, "tensors")
	if err := os.MkdirAll(tdir, 0o755); err != nil {
		return nil, err
	}
	if err := tensor.SaveActivations(filepath.Join(tdir, InputFileName), in.Input); err != nil {
		return nil, err
	}
	if err := tensor.SaveModel(filepath.Join(tdir, ModelFileName), tensor.Model{Layers: []tensor.Layer{in.Layer}}); err != nil {
		return nil, err
	}
	if err := tensor.SaveActivations(filepath.Join(tdir, OutputFileName(0)), in.Output); err != nil {
		return nil, err
	}
	f.tensors = &TensorFiles{Input: filepath.Join(tdir, InputFileName), Model: filepath.Join(tdir, ModelFileName)}
	return f, nil
}

// A fresh copy of the fixture receipt, safe to tamper with.
func (f *fixture) rc(t testing.TB) *receipt.Receipt {
	t.Helper()
	rc, err := receipt.Parse(f.receipt)
	if err != nil {
		t.Fatal(err)
	}
	return rc
}

func (f *fixture) opts() Options {
	return Options{Keys: &CacheKeys{Cache: f.cache}, Attestation: testAttestation{}}
}

func (f *fixture) policy() Policy {
	p := DefaultPolicy()
	p.ExpectedChainID = f.chainID
	c := f.contract
	p.ExpectedContract = &c
	p.AllowNoAttestation = true
	return p
}

// testAttestation stands in for the attestation package's verifier: it binds the record by
// keccak256 of its compact JSON and reads its mode. The real record format and digest are the
// attestation package's (spec §9); this double only lets the verifier's own logic be tested.
type testAttestation struct{}

func testRecordDigest(record []byte) receipt.Word {
	var c bytes.Buffer
	_ = json.Compact(&c, record)
	return receipt.Word(crypto.Keccak256Hash(c.Bytes()))
}

func (testAttestation) VerifyRecord(_ context.Context, rc *receipt.Receipt) (AttestationFacts, error) {
	if d := testRecordDigest(rc.Attestation); d != rc.AttestationDigest {
		return AttestationFacts{}, fmt.Errorf("record digest %s, receipt binds %s", d, rc.AttestationDigest)
	}
	var rec struct {
		Mode string `json:"mode"`
		GPU  string `json:"gpu"`
	}
	if err := json.Unmarshal(rc.Attestation, &rec); err != nil {
		return AttestationFacts{}, err
	}
	if rec.Mode == "" {
		return AttestationFacts{}, errors.New("record has no mode")
	}
	f := AttestationFacts{Mode: rec.Mode}
	if rec.GPU != "" {
		f.GPUModels = []string{rec.GPU}
	}
	return f, nil
}
