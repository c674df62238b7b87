package verifierv1

import (
	"errors"
	"fmt"

	"github.com/probitylabs/probity/verifier"
)

// Sentinel errors of the checks v0 does not have; the others are package verifier's
// (ErrSchema, ErrReplay, ErrSeed, ErrProof, ErrNoKey, ErrDetection, ErrPolicy, ErrAttestation,
// ErrSignature, ErrOnChain), so errors.Is asks the same question of either audit.
var (
	ErrJobID  = errors.New("job id is not the request's EIP-712 digest")
	ErrJob    = errors.New("job file does not match the request")
	ErrClass  = errors.New("class not accepted or not the request's")
	ErrResult = errors.New("result does not match its digest or the request")
	// ErrUnconfirmed fails the on-chain check of an audit without a chain whose policy does
	// not allow unconfirmed receipts: nothing in the receipt is wrong, but the seed block's
	// hash (so the seed, so the detection bounds' promise) is only the provider's word.
	ErrUnconfirmed = errors.New("receipt unconfirmed: not checked against the chain")
	// ErrKeyPin fails the proof check when the verifying key is not the one the policy pins
	// or the class's on-chain verifier holds.
	ErrKeyPin = errors.New("verifying key is not the pinned one")
)

// Verdicts of a report (Verdict).
const (
	VerdictOK          = "ok"
	VerdictUnconfirmed = "unconfirmed" // every check passed or was skipped but the chain's
	VerdictFailed      = "failed"
)

// Verdict sums a report up: ok, unconfirmed (the only failed check is the on-chain one, for
// want of a chain: ErrUnconfirmed), or failed. Only "ok" is Report.OK().
func Verdict(r *verifier.Report) string {
	verdict := VerdictOK
	for _, c := range r.Checks {
		if c.Status != verifier.Fail {
			continue
		}
		if c.Name != CheckOnChain || !errors.Is(c.Err, ErrUnconfirmed) {
			return VerdictFailed
		}
		verdict = VerdictUnconfirmed
	}
	return verdict
}

// Check names, stable for scripts reading --json output. Those shared with v0 have its names.
const (
	CheckSchema      = verifier.CheckSchema
	CheckReplay      = verifier.CheckReplay
	CheckJobID       = "job-id"
	CheckJob         = "job"
	CheckClass       = "class"
	CheckSeed        = verifier.CheckSeed
	CheckResult      = "result"
	CheckProof       = "proof"
	CheckDetection   = verifier.CheckDetection
	CheckAttestation = verifier.CheckAttestation
	CheckSignature   = verifier.CheckSignature
	CheckOnChain     = verifier.CheckOnChain
)

// Checks lists every check in the order an audit reports them.
var Checks = []string{CheckSchema, CheckReplay, CheckJobID, CheckJob, CheckClass, CheckSeed, CheckResult,
	CheckProof, CheckDetection, CheckAttestation, CheckSignature, CheckOnChain}

type report struct{ *verifier.Report }

func (r report) pass(name, detail string) {
	r.Checks = append(r.Checks, verifier.Check{Name: name, Status: verifier.Pass, Detail: detail})
}

func (r report) skip(name, why string) {
	r.Checks = append(r.Checks, verifier.Check{Name: name, Status: verifier.Skip, Detail: why})
}

// fail records err, wrapped so that errors.Is(err, class) holds.
func (r report) fail(name string, class, err error) {
	if !errors.Is(err, class) {
		err = fmt.Errorf("%w: %w", class, err)
	}
	r.Checks = append(r.Checks, verifier.Check{Name: name, Status: verifier.Fail, Err: err})
}

func (r report) failf(name string, class error, format string, args ...any) {
	r.fail(name, class, fmt.Errorf(format, args...))
}
