package verifier

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Sentinel errors, one per class of check, for errors.Is on a Check's or a Report's error.
var (
	ErrSchema       = errors.New("receipt malformed or of an unsupported version")
	ErrReplay       = errors.New("receipt is for another chain or contract")
	ErrSignature    = errors.New("receipt signature invalid")
	ErrSpecHash     = errors.New("spec hash does not match the job")
	ErrSeed         = errors.New("layer seed inconsistent with the receipt seed")
	ErrPublicInputs = errors.New("public inputs differ from those rebuilt from the receipt")
	ErrProof        = errors.New("proof does not verify")
	ErrNoKey        = errors.New("no verifying key for the shape")
	ErrDetection    = errors.New("stated detection bound is wrong")
	ErrPolicy       = errors.New("receipt does not meet the policy")
	ErrAttestation  = errors.New("attestation record invalid or unbound")
	ErrTensors      = errors.New("tensor files disagree with the receipt")
	ErrOnChain      = errors.New("receipt disagrees with the chain")
)

// Status is the outcome of one check.
type Status string

// Statuses.
const (
	Pass Status = "pass"
	Fail Status = "fail"
	Skip Status = "skip" // not run: not asked for, or an earlier failure makes it meaningless
)

// Check names, stable for scripts reading --json output.
const (
	CheckSchema       = "schema"
	CheckReplay       = "replay"
	CheckSignature    = "signature"
	CheckSpecHash     = "spec-hash"
	CheckSeed         = "seed"
	CheckPublicInputs = "public-inputs"
	CheckProofs       = "proofs"
	CheckDetection    = "detection"
	CheckAttestation  = "attestation"
	CheckTensors      = "tensors"
	CheckOnChain      = "on-chain"
)

// Check is one named result. Detail says what was checked when it passed or why it was
// skipped; Err says why it failed.
type Check struct {
	Name   string
	Status Status
	Detail string
	Err    error
}

// MarshalJSON writes the error as its message.
func (c Check) MarshalJSON() ([]byte, error) {
	v := struct {
		Name   string `json:"name"`
		Status Status `json:"status"`
		Detail string `json:"detail,omitempty"`
		Error  string `json:"error,omitempty"`
	}{c.Name, c.Status, c.Detail, ""}
	if c.Err != nil {
		v.Error = c.Err.Error()
	}
	return json.Marshal(v)
}

// Report is the result of auditing one receipt.
type Report struct {
	Source   string        `json:"source,omitempty"` // file name, when audited from a file
	ChainID  string        `json:"chainId,omitempty"`
	Contract string        `json:"contract,omitempty"`
	JobID    string        `json:"jobId,omitempty"`
	Checks   []Check       `json:"checks"`
	Elapsed  time.Duration `json:"elapsedNs"`
}

// OK reports whether no check failed.
func (r *Report) OK() bool { return r.Err() == nil }

// Err joins the errors of the failed checks (nil when none failed), so errors.Is(r.Err(),
// ErrProof) asks "did a proof fail?".
func (r *Report) Err() error {
	var errs []error
	for _, c := range r.Checks {
		if c.Status == Fail {
			errs = append(errs, fmt.Errorf("%s: %w", c.Name, c.Err))
		}
	}
	return errors.Join(errs...)
}

// Check returns the named check, or nil.
func (r *Report) Check(name string) *Check {
	for i := range r.Checks {
		if r.Checks[i].Name == name {
			return &r.Checks[i]
		}
	}
	return nil
}

func (r *Report) pass(name, detail string) {
	r.Checks = append(r.Checks, Check{name, Pass, detail, nil})
}
func (r *Report) skip(name, why string) { r.Checks = append(r.Checks, Check{name, Skip, why, nil}) }

// fail records err, wrapped so that errors.Is(err, class) holds.
func (r *Report) fail(name string, class, err error) {
	if !errors.Is(err, class) {
		err = fmt.Errorf("%w: %w", class, err)
	}
	r.Checks = append(r.Checks, Check{name, Fail, "", err})
}

// MarshalJSON adds the overall verdict.
func (r *Report) MarshalJSON() ([]byte, error) {
	type plain Report
	return json.Marshal(struct {
		OK bool `json:"ok"`
		*plain
	}{r.OK(), (*plain)(r)})
}
