package verifier

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/probitylabs/probity/receipt"
)

// Sentinel errors, one per class of check, for errors.Is on a Check's or a Report's error.
var (
	ErrSchema      = errors.New("receipt malformed or of an unsupported version")
	ErrReplay      = errors.New("receipt is for another chain or contract")
	ErrJobID       = errors.New("job id is not the request's EIP-712 digest")
	ErrJob         = errors.New("job file does not match the request")
	ErrClass       = errors.New("class not accepted or not the request's")
	ErrSeed        = errors.New("seed inconsistent with the request and the chain data")
	ErrResult      = errors.New("result does not match its digest or the request")
	ErrProof       = errors.New("proof does not verify")
	ErrNoKey       = errors.New("no verifying key for the class")
	ErrDetection   = errors.New("stated detection bound is wrong")
	ErrPolicy      = errors.New("receipt does not meet the policy")
	ErrAttestation = errors.New("attestation record invalid or unbound")
	// ErrNoAttestation fails the attestation check (with ErrPolicy) of a receipt without GPU
	// evidence, attestation mode "none", when the policy does not allow it.
	ErrNoAttestation = errors.New(`attestation mode "none" (no GPU evidence)`)
	// ErrSignature is the receipt package's: its own check's error then reads once, not as
	// "receipt signature invalid: receipt signature invalid: ...".
	ErrSignature = receipt.ErrSignature
	ErrOnChain   = errors.New("receipt disagrees with the chain")
	// ErrUnconfirmed fails the on-chain check of an audit without a chain whose policy does
	// not allow unconfirmed receipts: nothing in the receipt is wrong, but the seed block's
	// hash (so the seed, so the detection bounds' promise) is only the provider's word.
	ErrUnconfirmed = errors.New("receipt unconfirmed: not checked against the chain")
	// ErrKeyPin fails the proof check when the verifying key is not the one the policy pins
	// or the class's on-chain verifier holds.
	ErrKeyPin = errors.New("verifying key is not the pinned one")
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
	CheckSchema      = "schema"
	CheckReplay      = "replay"
	CheckJobID       = "job-id"
	CheckJob         = "job"
	CheckClass       = "class"
	CheckSeed        = "seed"
	CheckResult      = "result"
	CheckProof       = "proof"
	CheckDetection   = "detection"
	CheckAttestation = "attestation"
	CheckSignature   = "signature"
	CheckOnChain     = "on-chain"
)

// Checks lists every check in the order an audit reports them.
var Checks = []string{CheckSchema, CheckReplay, CheckJobID, CheckJob, CheckClass, CheckSeed, CheckResult,
	CheckProof, CheckDetection, CheckAttestation, CheckSignature, CheckOnChain}

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

func (r *Report) failf(name string, class error, format string, args ...any) {
	r.fail(name, class, fmt.Errorf(format, args...))
}

// MarshalJSON adds the overall outcome: ok (Report.OK) and the verdict (Verdict).
func (r *Report) MarshalJSON() ([]byte, error) {
	type plain Report
	return json.Marshal(struct {
		OK      bool   `json:"ok"`
		Verdict string `json:"verdict"`
		*plain
	}{r.OK(), Verdict(r), (*plain)(r)})
}

// Summary aggregates the reports of a directory audit.
type Summary struct {
	Reports []*Report `json:"reports"`
	Passed  int       `json:"passed"`
	Failed  int       `json:"failed"`
}

// OK reports whether every receipt passed.
func (s *Summary) OK() bool { return s.Failed == 0 }
