package verifier

import (
	"context"
	"errors"
	"fmt"

	"github.com/probitylabs/probity/verifier/attest"
)

var defaultChains = &attest.ChainCache{}

// attestation checks the record with Records, bound to the receipt by its attestation digest
// and by the CC nonce over (chain id, manager, job id, trace root) (receipt.Receipt.Nonce).
func (a *audit) attestation(ctx context.Context) {
	rc, p := a.rc, a.policy
	v := Records{Chains: defaultChains}
	if a.opts.Attestation != nil {
		v = *a.opts.Attestation
	}
	if a.genJob != nil && a.genJob.Hardware != nil {
		// The buyer's requirement, which the job check bound to the signed request.
		v.Hardware = a.genJob.Hardware
	}
	facts, err := v.VerifyRecord(ctx, rc.Attestation, rc.AttestationDigest, rc.Nonce())
	if err != nil {
		a.r.fail(CheckAttestation, ErrAttestation, err)
		return
	}
	switch {
	case facts.Mode == "none" && !p.AllowNoAttestation:
		a.r.fail(CheckAttestation, ErrPolicy, fmt.Errorf("%w; policy does not allow it", ErrNoAttestation))
		return
	case p.RequireCC && (facts.Mode != "cc" || !facts.CCVerified):
		a.r.failf(CheckAttestation, ErrPolicy, "policy requires a verified confidential-computing report, record has mode %q", facts.Mode)
		return
	}
	for _, m := range facts.GPUModels {
		if !p.gpuAllowed(m) {
			a.r.failf(CheckAttestation, ErrPolicy, "GPU %q not in the policy's allowed models %v", m, p.AllowedGPUModels)
			return
		}
	}
	if len(p.AllowedGPUModels) > 0 && len(facts.GPUModels) == 0 {
		a.r.fail(CheckAttestation, ErrPolicy, errors.New("policy lists allowed GPU models, record names no GPU"))
		return
	}
	a.facts = &facts
	detail := "mode " + facts.Mode + ", digest is attestationDigest"
	if facts.Detail != "" {
		detail += ", " + facts.Detail
	}
	a.r.pass(CheckAttestation, fmt.Sprint(detail))
}
