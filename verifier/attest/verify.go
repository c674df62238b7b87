package attest

import (
	"crypto/x509"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/probitylabs/probity/attestation"
)

// Errors of the policy and claim checks; chain, signature, FWID, measurement and parse errors
// are declared next to their code.
var (
	ErrNoPolicy        = errors.New("attestation verification needs a policy")
	ErrNonce           = errors.New("attestation nonce is not the job's")
	ErrDriverMismatch  = errors.New("driver version in the report differs from the NVML claim")
	ErrVBIOSMismatch   = errors.New("VBIOS version in the report differs from the NVML claim")
	ErrCCRequired      = errors.New("policy requires a confidential-computing attestation")
	ErrModelNotAllowed = errors.New("GPU model not allowed by the policy")
	ErrDevTools        = errors.New("confidential computing is in devtools mode")
	ErrMalformedRecord = errors.New("malformed attestation record")
)

// Status of one check.
type Status string

const (
	Passed  Status = "passed"
	Failed  Status = "failed"
	Skipped Status = "skipped"
)

// Check names, in the order Verify runs them.
const (
	CheckRecord           = "record"
	CheckMode             = "mode"
	CheckDevice           = "device"       // chip identity from the verified chain
	CheckModelClaims      = "model.claims" // NVML's name and architecture agree with the signed chip
	CheckModel            = "model"        // the policy's allowed models and chips
	CheckDevTools         = "cc.devtools"
	CheckReportParse      = "report.parse"
	CheckChain            = "chain"
	CheckSignature        = "signature"
	CheckDeviceRevocation = "revocation" // stapled OCSP for the device chain
	CheckNonce            = "nonce"
	CheckRecordNonce      = "nonce.record" // cc.nonce in the record vs the job
	CheckFWID             = "fwid"
	CheckDriver           = "driver"
	CheckVBIOS            = "vbios"
	CheckMeasurements     = "measurements"
)

// Check is one named verification step; Err is set when it failed, Reason when it was skipped.
type Check struct {
	Name   string
	Status Status
	Err    error
	Reason string
}

// Result lists every check.
type Result struct {
	Checks []Check
	Report *Report // parsed CC report, nil when there was none or it did not parse
	// Device is the chip identity read from the verified certificate chain; nil when the
	// chain did not verify or there was no CC report.
	Device *DeviceIdentity
	// Features are the signed opaque-data claims (mode, versions); nil when not read.
	Features *Features
	// System is what was read from cc.gpus and cc.switches, in that order (their checks are
	// named gpus[i].<check> and switches[i].<check>).
	System []SystemDevice
}

// OK says whether no check failed.
func (r *Result) OK() bool { return r.Err() == nil }

// Err joins the errors of failed checks (nil when none failed).
func (r *Result) Err() error {
	var errs []error
	for _, c := range r.Checks {
		if c.Status == Failed {
			errs = append(errs, fmt.Errorf("%s: %w", c.Name, c.Err))
		}
	}
	return errors.Join(errs...)
}

// Get returns the check with the given name.
func (r *Result) Get(name string) (Check, bool) {
	for _, c := range r.Checks {
		if c.Name == name {
			return c, true
		}
	}
	return Check{}, false
}

func (r *Result) pass(name string) { r.Checks = append(r.Checks, Check{Name: name, Status: Passed}) }
func (r *Result) fail(name string, err error) {
	r.Checks = append(r.Checks, Check{Name: name, Status: Failed, Err: err})
}
func (r *Result) skip(name, reason string) {
	r.Checks = append(r.Checks, Check{Name: name, Status: Skipped, Reason: reason})
}
func (r *Result) check(name string, err error) {
	if err != nil {
		r.fail(name, err)
	} else {
		r.pass(name)
	}
}

// Policy says what an auditor accepts. There is no default: pass a Policy value built on
// purpose, or PolicyUnsafeAcceptAll.
type Policy struct {
	// RequireCC rejects records without a verified CC report (modes none and nvml).
	RequireCC bool
	// RequireNVML rejects mode none.
	RequireNVML bool
	// AllowedModels lists accepted NVML device names ("NVIDIA H100 80GB HBM3"); empty: any.
	// In mode nvml+cc a name counts only when it agrees with the chip that signed the
	// evidence (check model.claims); in mode nvml it is the provider's unsigned word.
	AllowedModels []string
	// AllowedChips lists accepted chips as NVIDIA's certificates name them ("GH100");
	// empty: any. Only signed evidence can satisfy it, so it fails outside mode nvml+cc.
	AllowedChips []string
	// AllowedBoards lists accepted GPU boards as the signed opaque data names them,
	// PROJECT_PROJECTSKU_CHIPSKU (Report.Board: "1010_0200_882"); empty: any. Like
	// AllowedChips it needs signed evidence, and it applies to every GPU of a multi-GPU record.
	AllowedBoards []string
	// MinMemoryBytes, when set, is the least GPU memory NVML must report (check memory).
	MinMemoryBytes uint64
	// AllowDevTools accepts CC reports from GPUs in devtools mode (not confidential).
	AllowDevTools bool
	// RIMs are NVIDIA's signed SWID RIM files, one driver and one VBIOS RIM, whose golden
	// measurements the report must match. Each must carry a valid XML signature by a chain to
	// NVIDIA's pinned RIM root valid at At, be for the report's chip and its exact driver or
	// VBIOS version. None skips the measurement checks unless RequireRIMs.
	RIMs [][]byte
	// SwitchRIMs are NVIDIA's signed NVSwitch BIOS RIMs, one, for the switches of a
	// multi-GPU record (cc.switches); bound and compared as RIMs are for GPUs.
	SwitchRIMs [][]byte
	// RequireRIMs fails a CC report when the policy gives no RIMs (and an NVSwitch report
	// when it gives no SwitchRIMs).
	RequireRIMs bool
	// Topology, when set, requires a protected-PCIe multi-GPU system: the record's GPUs
	// (cc.report and cc.gpus) all signed mode ppcie, as many GPUs and NVSwitches as it says,
	// wired as NVIDIA's ppcie verifier requires (checks topology.*). A record that carries
	// NVSwitches is checked for the same wiring, at its own counts, without it.
	Topology *TopologyPolicy
	// AllowUnsignedRIMsUnsafe reports RIM signature and chain failures as skipped (golden
	// values then come from the file as given). For NVIDIA test RIMs and forensics only.
	AllowUnsignedRIMsUnsafe bool
	// AllowedModes lists the signed multi-GPU modes accepted (ModeSPT, ModeMPT, ModePPCIE,
	// ModeLegacy for firmware that states none); empty: any. Reports in an opaque-data
	// layout this verifier does not know always fail.
	AllowedModes []string
	// AllowMissingOCSPUnsafe accepts device and RIM chains for whose certificates the record
	// staples no OCSP response (revocation then goes unchecked). Staples that are present
	// must still verify and say good.
	AllowMissingOCSPUnsafe bool
	// RIMRoots overrides the pinned NVIDIA RIM root (tests only).
	RIMRoots []*x509.Certificate
	// Roots overrides the pinned NVIDIA Device Identity CA (tests only).
	Roots []*x509.Certificate
	// At is the time certificates must be valid at; zero means now.
	At time.Time
	// ChainCache, when set, lets verifications share the signature checks of chains they
	// have already verified (an auditor reading many receipts from the same GPUs).
	ChainCache *ChainCache
}

// PolicyUnsafeAcceptAll accepts every mode and model and compares no measurements. Checks of a
// CC report that is present still run and must pass.
var PolicyUnsafeAcceptAll = &Policy{AllowDevTools: true, AllowMissingOCSPUnsafe: true}

// Evidence is a CC report to verify on its own, with the NVML claims to cross-check (optional).
type Evidence struct {
	Report    []byte
	CertChain []byte
	Nonce     [32]byte              // the nonce the verifier expects (attestation.Nonce for the job)
	Claims    *attestation.Identity // NVML identity to cross-check name, architecture, driver and VBIOS; nil skips
	OCSP      [][]byte              // stapled DER OCSP responses for the device and RIM chains
}

// VerifyRecord checks an attestation record under a policy; nonce is the job's
// attestation.Nonce, recomputed by the caller from chain data, never taken from the record.
func VerifyRecord(rec *attestation.Record, nonce [32]byte, p *Policy) (*Result, error) {
	if p == nil {
		return nil, ErrNoPolicy
	}
	res := &Result{}
	if rec == nil {
		res.fail(CheckRecord, fmt.Errorf("%w: nil", ErrMalformedRecord))
		return res, nil
	}
	if err := rec.Validate(); err != nil {
		res.fail(CheckRecord, fmt.Errorf("%w: %w", ErrMalformedRecord, err))
		return res, nil
	}
	res.pass(CheckRecord)
	switch {
	case p.RequireCC && rec.Mode != attestation.ModeNVMLCC:
		res.fail(CheckMode, fmt.Errorf("%w: mode %s", ErrCCRequired, rec.Mode))
	case p.RequireNVML && rec.Mode == attestation.ModeNone:
		res.fail(CheckMode, fmt.Errorf("%w: mode none", ErrCCRequired))
	default:
		res.pass(CheckMode)
	}
	if rec.Mode != attestation.ModeNVMLCC {
		checkModelPolicy(res, rec.Identity, nil, p)
		res.skip(CheckReportParse, "no CC report (mode "+string(rec.Mode)+")")
		if p.Topology != nil {
			res.fail(CheckTopologyMode, fmt.Errorf("%w: the policy requires a protected-PCIe system, the record is mode %s", ErrTopology, rec.Mode))
		}
		return res, nil
	}
	if rec.CC.DevToolsMode && !p.AllowDevTools {
		res.fail(CheckDevTools, ErrDevTools)
	} else {
		res.pass(CheckDevTools)
	}
	if [32]byte(rec.CC.Nonce) != nonce {
		// The report's own request nonce is checked below; this catches a record whose stated
		// nonce disagrees with the job even if the report were swapped for a matching one.
		res.fail(CheckRecordNonce, fmt.Errorf("%w: record states %x, job binds %x", ErrNonce, rec.CC.Nonce, nonce))
	}
	staples := make([][]byte, len(rec.CC.OCSP))
	for i, o := range rec.CC.OCSP {
		staples[i] = o
	}
	verifyReport(res, Evidence{Report: rec.CC.Report, CertChain: rec.CC.CertChain, Nonce: nonce, Claims: rec.Identity, OCSP: staples}, p)
	checkModelPolicy(res, rec.Identity, res.Device, p)
	verifySystem(res, rec.CC, nonce, staples, p)
	return res, nil
}

// checkModelPolicy applies AllowedModels, AllowedChips and AllowedBoards. dev is the signed
// identity (nil without verified CC evidence); with it, the NVML name is trusted only because
// model.claims tied it to the signed chip.
func checkModelPolicy(res *Result, id *attestation.Identity, dev *DeviceIdentity, p *Policy) {
	checkMemory(res, id, p)
	if len(p.AllowedModels) == 0 && !p.restrictsSignedHardware() {
		res.skip(CheckModel, "policy allows any model")
		return
	}
	if err := signedHardwareErr(dev, res.Report, p); err != nil {
		res.fail(CheckModel, err)
		return
	}
	if len(p.AllowedModels) > 0 {
		if c, ok := res.Get(CheckModelClaims); ok && c.Status == Failed {
			res.fail(CheckModel, fmt.Errorf("%w: the NVML name is not backed by the signed evidence: %w", ErrModelNotAllowed, c.Err))
			return
		}
		if id == nil || !slices.Contains(p.AllowedModels, id.Name) {
			name := ""
			if id != nil {
				name = id.Name
			}
			res.fail(CheckModel, fmt.Errorf("%w: %q, policy allows %v", ErrModelNotAllowed, name, p.AllowedModels))
			return
		}
	}
	res.pass(CheckModel)
}

func (p *Policy) restrictsSignedHardware() bool {
	return len(p.AllowedChips) > 0 || len(p.AllowedBoards) > 0
}

// signedHardwareErr applies AllowedChips and AllowedBoards to one GPU's evidence: dev is the
// chip its verified chain names and rep its report (read only with dev, so only when the
// chain verified; its signature is a check of its own).
func signedHardwareErr(dev *DeviceIdentity, rep *Report, p *Policy) error {
	if !p.restrictsSignedHardware() {
		return nil
	}
	if dev == nil || rep == nil {
		return fmt.Errorf("%w: policy allows chips %v and boards %v, and no verified CC evidence names them", ErrModelNotAllowed, p.AllowedChips, p.AllowedBoards)
	}
	if len(p.AllowedChips) > 0 && !slices.Contains(p.AllowedChips, dev.Chip.Name) {
		return fmt.Errorf("%w: signed chip %s, policy allows %v", ErrModelNotAllowed, dev.Chip.Name, p.AllowedChips)
	}
	if len(p.AllowedBoards) > 0 {
		board, ok := rep.Board()
		if !ok {
			return fmt.Errorf("%w: the report names no board (PROJECT, PROJECT_SKU, CHIP_SKU), policy allows %v", ErrModelNotAllowed, p.AllowedBoards)
		}
		if !slices.ContainsFunc(p.AllowedBoards, func(b string) bool { return strings.EqualFold(b, board) }) {
			return fmt.Errorf("%w: signed board %s, policy allows %v", ErrModelNotAllowed, board, p.AllowedBoards)
		}
	}
	return nil
}

// VerifyReport checks a CC report and certificate chain on their own.
func VerifyReport(ev Evidence, p *Policy) (*Result, error) {
	if p == nil {
		return nil, ErrNoPolicy
	}
	res := &Result{}
	verifyReport(res, ev, p)
	return res, nil
}

// VerifySwitchReport checks an NVSwitch's report and certificate chain on their own, with
// the policy's SwitchRIMs. Evidence.Claims is not used (NVML does not describe switches).
func VerifySwitchReport(ev Evidence, p *Policy) (*Result, error) {
	if p == nil {
		return nil, ErrNoPolicy
	}
	res := &Result{}
	ev.Claims = nil
	verifyDevice(res, KindSwitch, ev, p, p.SwitchRIMs)
	return res, nil
}

func verifyReport(res *Result, ev Evidence, p *Policy) { verifyDevice(res, KindGPU, ev, p, p.RIMs) }

// verifyDevice checks one device's report and chain as evidence from a device of kind want;
// rims are the policy's RIMs for that kind. It fills res.Report, res.Device and res.Features.
func verifyDevice(res *Result, want DeviceKind, ev Evidence, p *Policy, rims [][]byte) {
	rep, err := ParseReport(ev.Report)
	if err != nil {
		res.fail(CheckReportParse, err)
		return
	}
	res.Report = rep
	res.pass(CheckReportParse)

	at := p.At
	if at.IsZero() {
		at = time.Now()
	}
	roots := p.Roots
	if len(roots) == 0 {
		roots = []*x509.Certificate{NVIDIADeviceRoot()}
	}
	certs, chainErr := p.ChainCache.verify(ev.CertChain, roots, at)
	res.check(CheckChain, chainErr)
	if chainErr != nil {
		res.skip(CheckDeviceRevocation, "chain did not verify")
	} else {
		// The leaf is made by the device at boot and has no OCSP status; NVIDIA checks from
		// the device certificate up.
		revocationCheck(res, CheckDeviceRevocation, CheckRevocation(certs, 1, roots, ev.OCSP, at), p.AllowMissingOCSPUnsafe)
	}
	// chip is the architecture the verified chain names; the FWID layout and the report's
	// shape are read by it. A chain of the wrong kind fails device but still names its chip.
	var chip *Chip
	switch {
	case chainErr != nil:
		res.skip(CheckDevice, "chain did not verify")
		if ev.Claims != nil {
			res.skip(CheckModelClaims, "chain did not verify")
		}
	default:
		id, err := IdentifyDevice(certs)
		if err == nil {
			chip = &id.Chip
			if id.Chip.Kind != want {
				kindErr := ErrNotGPU
				if want == KindSwitch {
					kindErr = ErrNotSwitch
				}
				err = fmt.Errorf("%w: the chain is a %s's (%s)", kindErr, id.Chip.Kind, id.Chip.Name)
			}
		}
		res.check(CheckDevice, err)
		if err == nil {
			res.Device = &id
			if ev.Claims != nil {
				res.check(CheckModelClaims, checkClaimsAgree(id, ev.Claims.Name, ev.Claims.Architecture))
			}
		} else if ev.Claims != nil {
			res.skip(CheckModelClaims, "no device identity")
		}
	}
	if ev.Claims == nil {
		res.skip(CheckModelClaims, "no NVML claims to compare")
	}
	// The report is read as the kind the policy expects here; when the chain names another
	// kind, device failed already and the shape check fails too.
	res.check(CheckReportKind, rep.CheckKind(want))
	if certs == nil {
		res.skip(CheckSignature, "no certificate to verify with")
	} else {
		res.check(CheckSignature, VerifySignature(rep, certs[0]))
	}
	if rep.Request.Nonce != ev.Nonce {
		res.fail(CheckNonce, fmt.Errorf("%w: report requested %x, job binds %x", ErrNonce, rep.Request.Nonce, ev.Nonce))
	} else {
		res.pass(CheckNonce)
	}
	// FWID: nvtrust skips the comparison when the report carries none (older firmware and
	// NVSwitches).
	repFWID, hasRep := rep.Opaque(OpaqueFWID)
	switch {
	case !hasRep:
		res.skip(CheckFWID, "report has no FWID entry")
	case certs == nil:
		res.skip(CheckFWID, "no leaf certificate")
	case chip == nil:
		res.skip(CheckFWID, "no chip identity to choose the certificate's FWID layout by")
	default:
		certFWID, ok, err := LeafFWID(certs[0], *chip)
		switch {
		case err != nil:
			res.fail(CheckFWID, err)
		case !ok:
			res.fail(CheckFWID, fmt.Errorf("%w: report has an FWID, leaf certificate none", ErrFWID))
		case string(certFWID) != string(repFWID):
			res.fail(CheckFWID, fmt.Errorf("%w: report %x, certificate %x", ErrFWID, repFWID, certFWID))
		default:
			res.pass(CheckFWID)
		}
	}
	checkFeatures(res, rep, want, p)
	vb, hasVB := rep.BIOSVersion(want)
	switch {
	case ev.Claims == nil:
		res.skip(CheckDriver, "no NVML claims to compare")
		res.skip(CheckVBIOS, "no NVML claims to compare")
	default:
		drv, hasDrv := rep.DriverVersion()
		switch {
		case !hasDrv:
			res.fail(CheckDriver, fmt.Errorf("%w: report has no driver version", ErrDriverMismatch))
		case drv != ev.Claims.DriverVersion:
			res.fail(CheckDriver, fmt.Errorf("%w: report %q, NVML %q", ErrDriverMismatch, drv, ev.Claims.DriverVersion))
		default:
			res.pass(CheckDriver)
		}
		switch {
		case !hasVB:
			res.fail(CheckVBIOS, fmt.Errorf("%w: report has no VBIOS version", ErrVBIOSMismatch))
		case !strings.EqualFold(vb, ev.Claims.VBIOSVersion):
			res.fail(CheckVBIOS, fmt.Errorf("%w: report %q, NVML %q", ErrVBIOSMismatch, vb, ev.Claims.VBIOSVersion))
		default:
			res.pass(CheckVBIOS)
		}
	}
	checkRIMs(res, rep, want, res.Device, vb, hasVB, ev.OCSP, rims, p, at)
}
