// Package receipttest builds real probity.receipt.v1 documents for tests and vectors: a
// generation job of a model run by the reference executor, committed, proved with the class's
// keys for a given seed, and signed, so the verifier, the CLI and the vector generator audit
// receipts with nothing synthetic but the chain data they are given.
package receipttest

import (
	"crypto/ecdsa"
	"fmt"
	"math/big"
	"time"

	"github.com/ethereum/go-ethereum/common"

	"github.com/probitylabs/probity/attestation"
	"github.com/probitylabs/probity/circuits"
	"github.com/probitylabs/probity/circuits/universal"
	"github.com/probitylabs/probity/commit"
	"github.com/probitylabs/probity/jobs"
	"github.com/probitylabs/probity/model"
	"github.com/probitylabs/probity/protocol"
	"github.com/probitylabs/probity/receipt"
)

// NoGPU is the attestation record of a node without a GPU (protocol.md §9.2).
const NoGPU = `{"version":"probity.attestation.v0","mode":"none"}`

// Job is a generation job run and committed by the reference executor.
type Job struct {
	Class   *universal.Class
	Keys    *circuits.Keys
	Model   *model.Model
	Job     *jobs.GenJob
	File    []byte // the canonical job file
	Gen     *jobs.Generated
	Execute time.Duration
}

// Run generates and commits the job of prompt and n new tokens on m.
func Run(keys *circuits.Keys, m *model.Model, prompt []int32, n int) (*Job, error) {
	cl, ok := keys.Target.(*universal.Class)
	if !ok {
		return nil, fmt.Errorf("keys are for %s, not a universal class", keys.Target)
	}
	root, err := m.Root()
	if err != nil {
		return nil, err
	}
	j := &jobs.GenJob{ModelRoot: root, Prompt: prompt, New: n}
	start := time.Now()
	checked, err := j.Check(m)
	if err != nil {
		return nil, err
	}
	tr, tokens, err := checked.Generate()
	if err != nil {
		return nil, err
	}
	gen, err := checked.Commit(tr, tokens)
	if err != nil {
		return nil, err
	}
	file, err := jobs.EncodeJob(j)
	if err != nil {
		return nil, err
	}
	return &Job{Class: cl, Keys: keys, Model: m, Job: j, File: file, Gen: gen, Execute: time.Since(start)}, nil
}

// Request is a request for the job with the given terms; the class, model root, job digest
// and token count are the job's.
func (j *Job) Request(buyer common.Address, price *big.Int, lockBy uint64, seedCommitment [32]byte, salt *big.Int) protocol.Request {
	return protocol.Request{
		Buyer: buyer, ClassID: j.Class.ID(), ModelRoot: commit.ToBig(j.Job.ModelRoot), JobDigest: commit.ToBig(j.Gen.JobDigest),
		NewTokens: uint32(j.Job.New), Price: price, LockBy: lockBy, ExecWindow: 3600, ProveWindow: 3600,
		SeedCommitment: seedCommitment, Salt: salt,
	}
}

// Settlement is what the chain fixed for the job: where it ran, who committed with what, and
// the seed with the data it came from.
type Settlement struct {
	Domain      protocol.Domain
	Request     protocol.Request
	Provider    common.Address
	Stake       *big.Int
	Attestation []byte // the record; NoGPU when nil
	SeedBlock   uint64
	BlockHash   [32]byte
	Secret      [32]byte // zero when the seed was fixed without the buyer's reveal
}

// Commitment is the commitment of the job's trace root under s (what the provider commits).
func (j *Job) Commitment(s *Settlement) (*big.Int, [32]byte, error) {
	att, err := attDigest(s.Attestation)
	if err != nil {
		return nil, [32]byte{}, err
	}
	return commit.ToBig(j.Gen.TraceRoot), protocol.Commitment(s.Provider, s.Stake, commit.ToBig(j.Gen.TraceRoot), att), nil
}

// AttestationDigest is the digest of the record (NoGPU when nil).
func AttestationDigest(record []byte) ([32]byte, error) { return attDigest(record) }

func attDigest(record []byte) ([32]byte, error) {
	if record == nil {
		record = []byte(NoGPU)
	}
	rec, err := attestation.Parse(record)
	if err != nil {
		return [32]byte{}, err
	}
	return rec.Digest()
}

// Receipt proves the job for the seed s derives and returns the signed receipt.
func (j *Job) Receipt(s *Settlement, nodeKey *ecdsa.PrivateKey) (*receipt.Receipt, error) {
	record := s.Attestation
	if record == nil {
		record = []byte(NoGPU)
	}
	att, err := attDigest(record)
	if err != nil {
		return nil, err
	}
	req, err := receipt.NewRequest(s.Request)
	if err != nil {
		return nil, err
	}
	jobID := s.Domain.JobID(s.Request)
	traceRoot := commit.ToBig(j.Gen.TraceRoot)
	com := protocol.Commitment(s.Provider, s.Stake, traceRoot, att)
	seed := protocol.SeedV2(s.Domain.ChainID, s.Domain.Contract, jobID, com, s.BlockHash, s.Secret)
	seedFr, err := commit.FromBig(seed)
	if err != nil {
		return nil, err
	}
	start := time.Now()
	p, err := universal.Prove(j.Keys, &universal.Statement{Model: j.Model, Job: j.Job, Trace: j.Gen.Trace, Tokens: j.Gen.Tokens, Seed: seedFr})
	if err != nil {
		return nil, err
	}
	prove := time.Since(start)
	bounds, err := j.Class.Bounds(j.Model, j.Job.Rows(), j.Job.New)
	if err != nil {
		return nil, err
	}
	tokens := make([]uint32, len(j.Gen.Tokens))
	for i, t := range j.Gen.Tokens {
		tokens[i] = uint32(t)
	}
	rc := &receipt.Receipt{
		Version: receipt.Version, ChainID: receipt.NewUint(s.Domain.ChainID), Manager: s.Domain.Contract,
		JobID: receipt.NewUint(jobID), Request: req, Job: j.File, Class: receipt.ClassOf(j.Class),
		Provider: s.Provider, Stake: receipt.NewUint(s.Stake), TraceRoot: receipt.MustWord(traceRoot), AttestationDigest: att,
		Seed:        receipt.Seed{Block: s.SeedBlock, BlockHash: s.BlockHash, Secret: s.Secret, Value: receipt.MustWord(seed)},
		Result:      receipt.Result{Tokens: tokens, Digest: receipt.MustWord(commit.ToBig(j.Gen.ResultDigest))},
		Proof:       p.Solidity[:],
		Detection:   receipt.DetectionOf(bounds),
		Attestation: record,
		Timings:     receipt.Timings{ExecuteMs: uint64(j.Execute.Milliseconds()), ProveMs: uint64(prove.Milliseconds())},
	}
	if err := rc.Sign(nodeKey); err != nil {
		return nil, err
	}
	if err := rc.Validate(); err != nil {
		return nil, fmt.Errorf("built receipt: %w", err)
	}
	return rc, nil
}

// Words returns the proof's eight words, as chain.Market.NewSubmission takes them.
func Words(rc *receipt.Receipt) [8]*big.Int {
	var w [8]*big.Int
	for i := range w {
		w[i] = new(big.Int).SetBytes(rc.Proof[32*i : 32*i+32])
	}
	return w
}
