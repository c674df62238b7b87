package verifier

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/probitylabs/probity/attestation"
	"github.com/probitylabs/probity/jobs"
	"github.com/probitylabs/probity/receipt"
	"github.com/probitylabs/probity/verifier/attest"
)

// Records checks attestation records (specs/protocol.md §9), and Audit uses the zero one when
// Options.Attestation is nil. It parses the record strictly, checks that its digest is the
// receipt's attestationDigest (the value the provider signed and committed on chain), and in
// mode nvml+cc verifies the GPU's report: SPDM signature,
// certificate chain to NVIDIA's pinned root, the chip identity the chain names (NVML's device
// name and architecture must agree with it), nonce, FWID, driver and VBIOS against the NVML
// claims and, when RIMs are given, the measurements.
//
// Which modes and models are acceptable is the audit Policy's business (RequireCC,
// AllowNoAttestation, AllowedGPUModels), so Records itself accepts every mode.
type Records struct {
	// RIMs are NVIDIA's signed reference integrity manifests, one driver and one VBIOS RIM,
	// authenticated (XML signature, chain to NVIDIA's pinned RIM root at At) and bound to the
	// report (chip, driver and VBIOS versions) before its measurements are compared with
	// their golden values; none skips that check unless RequireRIMs.
	RIMs [][]byte
	// SwitchRIMs are NVIDIA's signed NVSwitch BIOS RIMs, for the switches of multi-GPU records.
	SwitchRIMs [][]byte
	// RequireRIMs fails CC records when no RIMs are given (and NVSwitch evidence when no
	// SwitchRIMs are).
	RequireRIMs bool
	// Topology, when set, requires a protected-PCIe multi-GPU record: every GPU in mode
	// ppcie, the GPU and NVSwitch counts given, wired as NVIDIA's ppcie verifier requires.
	Topology *attest.TopologyPolicy
	// AllowUnsignedRIMsUnsafe accepts RIMs whose signature or chain does not verify.
	AllowUnsignedRIMsUnsafe bool
	// AllowMissingOCSPUnsafe accepts CC records that staple no OCSP response for some
	// certificate of the device or RIM chains (revocation unchecked); stapled responses
	// must still verify and say good, "on hold" counting as revoked.
	AllowMissingOCSPUnsafe bool
	// AllowDevTools accepts CC reports from GPUs in devtools mode (not confidential).
	AllowDevTools bool
	// AllowedChips and AllowedBoards restrict the GPUs by what they signed: the chip their
	// certificate chain names ("GH100") and the board their report's opaque data names
	// (attest.Report.Board, "1010_0200_882"), for every GPU of the record; empty: any. Only a
	// verified CC record can satisfy them.
	AllowedChips, AllowedBoards []string
	// Hardware is the job's own requirement (jobs.Hardware, from the receipt's job file,
	// committed to by its request): its CC mode, models, chips, boards and memory are
	// required on top of the above. Audit sets it from the receipt.
	Hardware *jobs.Hardware
	// Roots replaces NVIDIA's pinned Device Identity CA (tests only).
	Roots []*x509.Certificate
	// At is when certificates must be valid; zero means now.
	At time.Time
	// Chains, when set, shares verified certificate chains between verifications: a chain's
	// six signatures are most of a CC record's cost and a provider's GPU sends the same
	// chain with every receipt. Audit's default Records uses a process-wide cache.
	Chains *attest.ChainCache
}

// AttestationFacts is what a verified attestation record establishes, for the policy to judge.
type AttestationFacts struct {
	Mode       string   // "none", "nvml" or "cc"
	GPUModels  []string // device names in the record
	CCVerified bool     // the hardware report, chain and nonce verified
	Detail     string
}

// VerifyRecord checks a receipt's attestation record: it parses strictly, its digest is the
// receipt's attestationDigest, and in mode nvml+cc its evidence verifies over nonce, the CC
// nonce the receipt binds (receipt.Receipt.Nonce), never one read from the record.
func (v Records) VerifyRecord(ctx context.Context, record []byte, digest receipt.Word, nonce [32]byte) (AttestationFacts, error) {
	if err := ctx.Err(); err != nil {
		return AttestationFacts{}, err
	}
	if len(record) == 0 {
		return AttestationFacts{}, errors.New("receipt carries no attestation record")
	}
	rec, err := attestation.Parse(record)
	if err != nil {
		return AttestationFacts{}, err
	}
	dig, err := rec.Digest()
	if err != nil {
		return AttestationFacts{}, err
	}
	if receipt.Word(dig) != digest {
		return AttestationFacts{}, fmt.Errorf("record digest %s differs from the receipt's attestationDigest %s",
			receipt.Word(dig), digest)
	}
	res, err := attest.VerifyRecord(rec, nonce, attest.Policy{
		AllowDevTools: v.AllowDevTools, AllowedChips: v.AllowedChips, AllowedBoards: v.AllowedBoards, RIMs: v.RIMs, SwitchRIMs: v.SwitchRIMs, Topology: v.Topology, RequireRIMs: v.RequireRIMs, AllowUnsignedRIMsUnsafe: v.AllowUnsignedRIMsUnsafe,
		AllowMissingOCSPUnsafe: v.AllowMissingOCSPUnsafe, Roots: v.Roots, At: v.At, ChainCache: v.Chains,
	}.WithHardware(v.Hardware))
	if err != nil {
		return AttestationFacts{}, err
	}
	if err := res.Err(); err != nil {
		return AttestationFacts{}, err
	}
	facts := AttestationFacts{Mode: factsMode(rec.Mode)}
	if rec.Identity != nil && rec.Identity.Name != "" {
		facts.GPUModels = []string{rec.Identity.Name}
	}
	if rec.Mode == attestation.ModeNVMLCC {
		// attest.VerifyRecord failed the record unless NVML's name agrees with the chip that
		// signed the evidence, so in this mode GPUModels is backed by the signature.
		facts.CCVerified = true
		facts.Detail = "CC report verified (" + passedChecks(res) + ")"
		if res.Device != nil {
			facts.Detail += "; signed chip " + res.Device.Chip.Name + " (device " + res.Device.UEID + ")"
		}
		if n := len(rec.CC.GPUs) + len(rec.CC.Switches); n > 0 {
			facts.Detail += fmt.Sprintf("; system of %d GPUs and %d NVSwitches verified", 1+len(rec.CC.GPUs), len(rec.CC.Switches))
		}
	}
	if rec.Identity != nil {
		d := fmt.Sprintf("%s, driver %s, VBIOS %s", rec.Identity.Name, rec.Identity.DriverVersion, rec.Identity.VBIOSVersion)
		facts.Detail = strings.TrimPrefix(facts.Detail+"; "+d, "; ")
	}
	return facts, nil
}

// factsMode maps a record mode to the audit's mode names ("none", "nvml", "cc").
func factsMode(m attestation.Mode) string {
	if m == attestation.ModeNVMLCC {
		return "cc"
	}
	return string(m)
}

func passedChecks(res *attest.Result) string {
	var names []string
	for _, c := range res.Checks {
		if c.Status == attest.Passed {
			names = append(names, c.Name)
		}
	}
	return strings.Join(names, ", ")
}
