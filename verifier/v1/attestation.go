package verifierv1

import (
	"context"
	"errors"
	"fmt"

	"github.com/probitylabs/probity/receipt"
	"github.com/probitylabs/probity/verifier"
	"github.com/probitylabs/probity/verifier/attest"
)

var defaultChains = &attest.ChainCache{}

// attestation checks the record with package verifier's Records: it binds a record to a
// receipt by (chain id, manager, job id, output roots, attestation digest), and a v1 job's one
// committed output root is its trace root, which is also what receiptv1.Receipt.Nonce binds.
// So the v0 record checks run on a v0 receipt carrying exactly those fields of the v1 one.
func (a *audit) attestation(ctx context.Context) {
	rc, p := a.rc, a.policy
	v := verifier.Records{Chains: defaultChains}
	if a.opts.Attestation != nil {
		v = *a.opts.Attestation
	}
	view := &receipt.Receipt{
		ChainID: rc.ChainID, Contract: rc.Manager, JobID: rc.JobID,
		OutputRoots: []receipt.Word{rc.TraceRoot}, AttestationDigest: rc.AttestationDigest, Attestation: rc.Attestation,
	}
	facts, err := v.VerifyRecord(ctx, view)
	if err != nil {
		a.r.fail(CheckAttestation, verifier.ErrAttestation, err)
		return
	}
	switch {
	case facts.Mode == "none" && !p.AllowNoAttestation:
		a.r.fail(CheckAttestation, verifier.ErrPolicy, errors.New(`attestation mode "none" (no GPU evidence); policy does not allow it`))
		return
	case p.RequireCC && (facts.Mode != "cc" || !facts.CCVerified):
		a.r.failf(CheckAttestation, verifier.ErrPolicy, "policy requires a verified confidential-computing report, record has mode %q", facts.Mode)
		return
	}
	for _, m := range facts.GPUModels {
		if !p.gpuAllowed(m) {
			a.r.failf(CheckAttestation, verifier.ErrPolicy, "GPU %q not in the policy's allowed models %v", m, p.AllowedGPUModels)
			return
		}
	}
	if len(p.AllowedGPUModels) > 0 && len(facts.GPUModels) == 0 {
		a.r.fail(CheckAttestation, verifier.ErrPolicy, errors.New("policy lists allowed GPU models, record names no GPU"))
		return
	}
	a.facts = &facts
	detail := "mode " + facts.Mode + ", digest is attestationDigest"
	if facts.Detail != "" {
		detail += ", " + facts.Detail
	}
	a.r.pass(CheckAttestation, fmt.Sprint(detail))
}
