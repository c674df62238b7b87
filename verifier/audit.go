package verifier

import (
	"context"
	"errors"
	"time"

	groth16bn254 "github.com/consensys/gnark/backend/groth16/bn254"

	"github.com/probitylabs/probity/circuits/universal"
	"github.com/probitylabs/probity/jobs"
	"github.com/probitylabs/probity/model"
	"github.com/probitylabs/probity/receipt"
)

// Options are the optional inputs of an audit.
type Options struct {
	// Model, when set, is the model file the auditor holds: if its root is the request's, the
	// job is checked against it and the detection bounds recomputed.
	Model *model.Model
	// Keys supplies the verifying key of an accepted class whose policy entry has none. When
	// nil, the key is the class's on-chain verifier's (with Chain), or the key cache's when
	// the policy pins its hash (Class.VKHash); an unpinned key is never read from the cache.
	Keys func(*universal.Class) (*groth16bn254.VerifyingKey, error)
	// Attestation checks the record's CC evidence; nil means Records{} (NVIDIA's
	// pinned root, no RIMs) with a process-wide cache of verified certificate chains.
	Attestation *Records
	// Chain, when set, cross-checks the receipt against the chain (and the verifying key
	// against the class's on-chain verifier). Without it the report is at best unconfirmed
	// (ErrUnconfirmed), unless the policy allows unconfirmed receipts.
	Chain Chain
}

// AuditFile reads and audits one receipt file.
func AuditFile(ctx context.Context, path string, policy Policy, opts Options) (*Report, error) {
	if policy.IsZero() {
		return nil, ErrNoPolicy
	}
	data, err := receipt.ReadFile(path) // bounded, regular files only
	if err != nil {
		return nil, err
	}
	r, err := AuditJSON(ctx, data, policy, opts)
	if r != nil {
		r.Source = path
	}
	return r, err
}

// AuditJSON parses (strictly, receipt.Parse) and audits one receipt document; a document
// that does not parse is a report whose schema check failed.
func AuditJSON(ctx context.Context, data []byte, policy Policy, opts Options) (*Report, error) {
	if policy.IsZero() {
		return nil, ErrNoPolicy
	}
	start := time.Now()
	rc, err := receipt.Parse(data)
	if err != nil {
		r := &Report{}
		r.fail(CheckSchema, ErrSchema, err)
		r.Elapsed = time.Since(start)
		return r, nil
	}
	return Audit(ctx, rc, policy, opts)
}

// Audit runs every check on rc under policy. It returns an error only when it cannot run (no
// policy, a cancelled context); a failed check is in the Report.
func Audit(ctx context.Context, rc *receipt.Receipt, policy Policy, opts Options) (*Report, error) {
	if policy.IsZero() {
		return nil, ErrNoPolicy
	}
	start := time.Now()
	r := &Report{}
	defer func() { r.Elapsed = time.Since(start) }()
	if rc.ChainID != nil {
		r.ChainID = rc.ChainID.String()
	}
	if rc.JobID != nil {
		r.JobID = rc.JobID.String()
	}
	r.Contract = rc.Manager.Hex()
	if err := rc.Validate(); err != nil {
		r.fail(CheckSchema, ErrSchema, err)
		return r, nil // the other checks rely on what Validate guarantees
	}
	r.pass(CheckSchema, receipt.Version)

	a := &audit{rc: rc, policy: policy, opts: opts, r: r}
	a.replay()
	a.jobID()
	a.job()
	a.class()
	a.seed()
	a.result()
	if err := ctx.Err(); err != nil {
		return r, err
	}
	a.proof(ctx)
	a.detection()
	a.attestation(ctx)
	a.signature()
	a.onChain(ctx)
	return r, ctx.Err()
}

type audit struct {
	rc     *receipt.Receipt
	policy Policy
	opts   Options
	r      *Report

	genJob *jobs.GenJob // the parsed job file, when it parsed
	cl     *Class       // the accepted class, when the class check passed
	m      *model.Model // the auditor's model, when its root is the request's
	facts  *AttestationFacts
}

var errNoClass = errors.New("no accepted class (see the class check)")
