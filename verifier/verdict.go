package verifier

import (
	"errors"
)

// Verdicts of a report (Verdict).
const (
	VerdictOK          = "ok"
	VerdictUnconfirmed = "unconfirmed" // every check passed or was skipped but the chain's
	VerdictFailed      = "failed"
)

// Verdict sums a report up: ok, unconfirmed (the only failed check is the on-chain one, for
// want of a chain: ErrUnconfirmed), or failed. Only "ok" is Report.OK().
func Verdict(r *Report) string {
	verdict := VerdictOK
	for _, c := range r.Checks {
		if c.Status != Fail {
			continue
		}
		if c.Name != CheckOnChain || !errors.Is(c.Err, ErrUnconfirmed) {
			return VerdictFailed
		}
		verdict = VerdictUnconfirmed
	}
	return verdict
}
