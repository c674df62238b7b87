package verifier

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"os"
	"time"

	"github.com/probitylabs/probity/circuits"
	"github.com/probitylabs/probity/protocol"
	"github.com/probitylabs/probity/receipt"
)

// Options are the optional inputs of an audit.
type Options struct {
	// Keys supplies verifying keys. Without keys the proofs check fails (never a silent pass).
	Keys Keys
	// Attestation verifies the attestation record (digest binding, nonce, CC report); nil
	// means Records{} (spec §9 records, NVIDIA's pinned root, no RIMs) with a
	// process-wide cache of verified certificate chains.
	Attestation AttestationVerifier
	// Tensors, when set, recomputes the sampled elements from the job's files.
	Tensors *TensorFiles
	// Chain, when set, cross-checks the receipt against the SLA manager.
	Chain ChainView
}

// AttestationFacts is what an AttestationVerifier established about a record.
type AttestationFacts struct {
	Mode       string   // "none", "nvml" or "cc"
	GPUModels  []string // device names in the record
	CCVerified bool     // the hardware report, chain and nonce verified
	Detail     string
}

// AttestationVerifier checks a receipt's attestation record (spec §9): that it parses, that its
// digest is the receipt's attestationDigest, and, in CC mode, that the hardware report and
// certificate chain verify with the nonce bound to the receipt's chain, contract, job and
// output roots.
type AttestationVerifier interface {
	VerifyRecord(ctx context.Context, rc *receipt.Receipt) (AttestationFacts, error)
}

// AuditFile reads and audits one receipt file.
func AuditFile(ctx context.Context, path string, policy Policy, opts Options) (*Report, error) {
	if policy.IsZero() {
		return nil, ErrNoPolicy
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	r, err := AuditJSON(ctx, data, policy, opts)
	if r != nil {
		r.Source = path
	}
	return r, err
}

// AuditJSON parses (strictly, see receipt.Parse) and audits one receipt document.
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

// Audit runs every check on rc under policy. It returns an error only when it cannot run
// (no policy, cancelled context); a failed check is in the Report.
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
	r.Contract = rc.Contract.Hex()

	if err := rc.Validate(); err != nil {
		r.fail(CheckSchema, ErrSchema, err)
		return r, nil // the other checks index into fields Validate guarantees
	}
	r.pass(CheckSchema, receipt.Version)

	a := &audit{rc: rc, policy: policy, opts: opts, r: r}
	a.replay()
	a.signature()
	a.specHash()
	a.seed()
	a.publicInputs()
	if err := ctx.Err(); err != nil {
		return r, err
	}
	a.proofs()
	a.detection()
	a.attestation(ctx)
	a.tensors()
	a.onChain(ctx)
	return r, ctx.Err()
}

type audit struct {
	rc     *receipt.Receipt
	policy Policy
	opts   Options
	r      *Report
}

func (a *audit) replay() {
	p, rc := a.policy, a.rc
	switch {
	case p.ExpectedChainID != nil && p.ExpectedChainID.Cmp(rc.ChainID.Big()) != 0:
		a.r.fail(CheckReplay, ErrReplay, fmt.Errorf("chain id %s, policy expects %s", rc.ChainID, p.ExpectedChainID))
	case p.ExpectedContract != nil && *p.ExpectedContract != rc.Contract:
		a.r.fail(CheckReplay, ErrReplay, fmt.Errorf("contract %s, policy expects %s", rc.Contract.Hex(), p.ExpectedContract.Hex()))
	case p.ExpectedChainID == nil && p.ExpectedContract == nil:
		a.r.skip(CheckReplay, "policy pins no chain or contract")
	default:
		a.r.pass(CheckReplay, fmt.Sprintf("chain %s, contract %s", rc.ChainID, rc.Contract.Hex()))
	}
}

func (a *audit) signature() {
	if err := a.rc.VerifySignature(); err != nil {
		a.r.fail(CheckSignature, ErrSignature, err)
		return
	}
	a.r.pass(CheckSignature, "EIP-712, signed by node key "+a.rc.NodeKey.Hex())
}

func (a *audit) specHash() {
	if err := a.rc.CheckSpecHash(); err != nil {
		a.r.fail(CheckSpecHash, ErrSpecHash, err)
		return
	}
	a.r.pass(CheckSpecHash, a.rc.SpecHash.String())
}

// seed checks that each proof's seed_l derives from the signed seed (spec §6.2 step 4).
func (a *audit) seed() {
	seed := a.rc.Seed.Big()
	for l, p := range a.rc.Proofs {
		want := receipt.MustWord(protocol.LayerSeed(seed, uint32(l)))
		if p.PublicInputs[3] != want {
			a.r.fail(CheckSeed, ErrSeed, fmt.Errorf("layer %d: seed_l %s, keccak(seed, %d) mod R is %s", l, p.PublicInputs[3], l, want))
			return
		}
	}
	a.r.pass(CheckSeed, fmt.Sprintf("%d layer seeds derive from %s", len(a.rc.Proofs), a.rc.Seed))
}

var publicInputNames = [receipt.NumPublicInputs]string{"inputRoot", "weightsRoot", "outputRoot", "seed_l", "epilogue"}

// publicInputs rebuilds every layer's public inputs from the signed fields as the contract
// does, so a proof of a different statement cannot ride along with a valid signature.
func (a *audit) publicInputs() {
	for l, p := range a.rc.Proofs {
		want, err := a.rc.ExpectedPublicInputs(l)
		if err != nil {
			a.r.fail(CheckPublicInputs, ErrPublicInputs, err)
			return
		}
		for i := range want {
			if p.PublicInputs[i] != want[i] {
				a.r.fail(CheckPublicInputs, ErrPublicInputs, fmt.Errorf("layer %d %s: proof has %s, receipt implies %s",
					l, publicInputNames[i], p.PublicInputs[i], want[i]))
				return
			}
		}
	}
	a.r.pass(CheckPublicInputs, fmt.Sprintf("%d layers chained from inputRoot", len(a.rc.Proofs)))
}

// proofs verifies every layer against the public inputs rebuilt from the receipt (not the
// ones the receipt lists), as the contract does.
func (a *audit) proofs() {
	if a.opts.Keys == nil {
		a.r.fail(CheckProofs, ErrNoKey, errors.New("no verifying keys given (a key file, or the shape catalogue's cache)"))
		return
	}
	for l, p := range a.rc.Proofs {
		vk, err := a.opts.Keys.VerifyingKey(p.ShapeID)
		if err != nil {
			a.r.fail(CheckProofs, ErrNoKey, fmt.Errorf("layer %d: %w", l, err))
			return
		}
		pub, _ := a.rc.ExpectedPublicInputs(l)
		if err := VerifyProof(vk, p.Proof, pub); err != nil {
			a.r.fail(CheckProofs, ErrProof, fmt.Errorf("layer %d (shape %s): %w", l, p.ShapeID, err))
			return
		}
	}
	a.r.pass(CheckProofs, fmt.Sprintf("%d Groth16 proofs verify (gnark, BN254)", len(a.rc.Proofs)))
}

// detection recomputes p(f0, k) (spec §11) from the stated floor and k, checks k against the
// catalogue shapes when they are known, and applies the policy's minimums.
func (a *audit) detection() {
	rc, p := a.rc, a.policy
	kmin := uint16(0)
	known := true
	for _, ly := range rc.Job.Layers {
		s, err := circuits.ByID(ly.ShapeID)
		if err != nil {
			known = false
			break
		}
		if kmin == 0 || s.Kn < kmin {
			kmin = s.Kn
		}
	}
	if known && kmin != rc.K {
		a.r.fail(CheckDetection, ErrDetection, fmt.Errorf("k = %d, the layers' shapes give min k = %d", rc.K, kmin))
		return
	}
	fixed, err := protocol.DetectionFixed(rc.K, rc.Detection.FloorBps)
	if err != nil {
		a.r.fail(CheckDetection, ErrDetection, err)
		return
	}
	bps := new(big.Int).Quo(fixed, big.NewInt(1e14)).Uint64()
	if uint32(bps) != rc.Detection.ProbabilityBps {
		a.r.fail(CheckDetection, ErrDetection, fmt.Errorf("k = %d at floor %d bps gives %d bps, receipt states %d",
			rc.K, rc.Detection.FloorBps, bps, rc.Detection.ProbabilityBps))
		return
	}
	if p.ExpectedFloorBps != 0 && rc.Detection.FloorBps != p.ExpectedFloorBps {
		a.r.fail(CheckDetection, ErrPolicy, fmt.Errorf("receipt states a detection floor of %d bps, the deployment's is %d",
			rc.Detection.FloorBps, p.ExpectedFloorBps))
		return
	}
	if rc.K < p.MinK {
		a.r.fail(CheckDetection, ErrPolicy, fmt.Errorf("k = %d, policy requires at least %d", rc.K, p.MinK))
		return
	}
	if rc.Detection.ProbabilityBps < p.MinDetectionBps {
		a.r.fail(CheckDetection, ErrPolicy, fmt.Errorf("detection %d bps, policy requires at least %d", rc.Detection.ProbabilityBps, p.MinDetectionBps))
		return
	}
	a.r.pass(CheckDetection, fmt.Sprintf("k = %d: a provider falsifying >= %.2f%% of a layer is caught with p >= %.2f%%",
		rc.K, float64(rc.Detection.FloorBps)/100, float64(rc.Detection.ProbabilityBps)/100))
}

func (a *audit) attestation(ctx context.Context) {
	rc, p := a.rc, a.policy
	v := a.opts.Attestation
	if v == nil {
		v = Records{Chains: defaultChains}
	}
	facts, err := v.VerifyRecord(ctx, rc)
	if err != nil {
		a.r.fail(CheckAttestation, ErrAttestation, err)
		return
	}
	switch {
	case facts.Mode == "none" && !p.AllowNoAttestation:
		a.r.fail(CheckAttestation, ErrPolicy, errors.New(`attestation mode "none" (no GPU evidence); policy does not allow it`))
		return
	case p.RequireCC && (facts.Mode != "cc" || !facts.CCVerified):
		a.r.fail(CheckAttestation, ErrPolicy, fmt.Errorf("policy requires a verified confidential-computing report, record has mode %q", facts.Mode))
		return
	}
	for _, m := range facts.GPUModels {
		if !p.gpuAllowed(m) {
			a.r.fail(CheckAttestation, ErrPolicy, fmt.Errorf("GPU %q not in the policy's allowed models %v", m, p.AllowedGPUModels))
			return
		}
	}
	if len(p.AllowedGPUModels) > 0 && len(facts.GPUModels) == 0 {
		a.r.fail(CheckAttestation, ErrPolicy, errors.New("policy lists allowed GPU models, record names no GPU"))
		return
	}
	detail := "mode " + facts.Mode
	if facts.Detail != "" {
		detail += ", " + facts.Detail
	}
	a.r.pass(CheckAttestation, detail)
}
