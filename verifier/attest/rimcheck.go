package attest

import (
	"crypto/x509"
	"fmt"
	"strings"
	"time"
)

// RIM check names: rim.<kind>.<check> for each RIM the policy gives, kind "driver" or "vbios".
const (
	CheckRIMParse = "rim.parse"
	CheckRIMSet   = "rim.set" // one RIM of each kind the device needs
)

func rimCheck(k RIMKind, what string) string { return "rim." + string(k) + "." + what }

// rimNeeds says which RIMs a device's measurements are described by: a GPU's by its driver
// and VBIOS RIMs, an NVSwitch's by its BIOS RIM alone (it runs no host driver).
func rimNeeds(k DeviceKind) []RIMKind {
	if k == KindSwitch {
		return []RIMKind{RIMVBIOS}
	}
	return []RIMKind{RIMDriver, RIMVBIOS}
}

// chipKey compares chip spellings across NVIDIA's documents: certificates say "LS_10",
// RIMs "LS10".
func chipKey(s string) string { return strings.ToUpper(strings.ReplaceAll(s, "_", "")) }

// checkRIMs authenticates the policy's RIMs, binds them to the report and compares the
// measurements. kind is the device kind the evidence is for; dev is the signed identity (nil
// when the chain did not verify), vbios the report's VBIOS or BIOS version, policyRIMs the
// policy's RIMs for that kind (Policy.RIMs for GPUs, Policy.SwitchRIMs for NVSwitches).
func checkRIMs(res *Result, rep *Report, kind DeviceKind, dev *DeviceIdentity, vbios string, hasVBIOS bool, staples [][]byte, policyRIMs [][]byte, p *Policy, at time.Time) {
	if len(policyRIMs) == 0 {
		if p.RequireRIMs {
			res.fail(CheckRIMSet, fmt.Errorf("%w: the policy requires RIMs and supplies none", ErrRIMSet))
			res.fail(CheckMeasurements, fmt.Errorf("%w: no golden values to compare", ErrRIMSet))
			return
		}
		res.skip(CheckMeasurements, "policy supplies no RIMs")
		return
	}
	roots := p.RIMRoots
	if len(roots) == 0 {
		roots = []*x509.Certificate{NVIDIARIMRoot()}
	}
	byKind := map[RIMKind]*RIM{}
	var setErrs []string
	for i, b := range policyRIMs {
		rim, err := ParseRIM(b)
		if err != nil {
			res.fail(CheckRIMParse, fmt.Errorf("RIM %d: %w", i, err))
			return
		}
		k := rim.Kind()
		if byKind[k] != nil {
			setErrs = append(setErrs, fmt.Sprintf("two %s RIMs (%s and %s)", k, byKind[k].Version, rim.Version))
			continue
		}
		name := func(what string) string { return rimCheck(k, what) }
		signed, err := VerifyRIM(b)
		switch {
		case err == nil:
			rim = signed // read what the signature covers
			res.pass(name("signature"))
			cerr := rimChain(signed.Certificates, roots, at)
			res.check(name("chain"), cerr)
			if cerr != nil {
				res.skip(name("revocation"), "chain did not verify")
			} else {
				revocationCheck(res, name("revocation"), CheckRevocation(signed.Certificates, 0, roots, staples, at), p.AllowMissingOCSPUnsafe)
			}
		case p.AllowUnsignedRIMsUnsafe:
			res.skip(name("signature"), fmt.Sprintf("policy AllowUnsignedRIMsUnsafe (%v)", err))
			res.skip(name("chain"), "policy AllowUnsignedRIMsUnsafe")
			res.skip(name("revocation"), "policy AllowUnsignedRIMsUnsafe")
		default:
			res.fail(name("signature"), err)
			res.skip(name("chain"), "signature did not verify")
			res.skip(name("revocation"), "signature did not verify")
		}
		byKind[k] = rim
		var want string
		var ok bool
		if k == RIMDriver {
			want, ok = rep.DriverVersion()
		} else {
			want, ok = vbios, hasVBIOS
		}
		switch {
		case !ok:
			res.fail(name("version"), fmt.Errorf("%w: the report states no %s version", ErrRIMVersion, k))
		case !strings.EqualFold(rim.Version, want):
			res.fail(name("version"), fmt.Errorf("%w: %s RIM %s, report %s", ErrRIMVersion, k, rim.Version, want))
		default:
			res.pass(name("version"))
		}
		edition := "GPU"
		if kind == KindSwitch {
			edition = "SWITCH"
		}
		switch {
		case dev == nil:
			res.skip(name("product"), "no signed device identity")
		case chipKey(rim.Product) != chipKey(dev.Chip.Name) || chipKey(rim.Name) != chipKey(dev.Chip.Name):
			res.fail(name("product"), fmt.Errorf("%w: RIM for %s (%s), report signed by %s", ErrRIMProduct, rim.Product, rim.Name, dev.Chip.Name))
		case !strings.EqualFold(rim.Edition, edition):
			res.fail(name("product"), fmt.Errorf("%w: RIM edition %q, the device is a %s", ErrRIMProduct, rim.Edition, kind))
		default:
			res.pass(name("product"))
		}
	}
	needs := rimNeeds(kind)
	for _, k := range needs {
		if byKind[k] == nil {
			setErrs = append(setErrs, "no "+string(k)+" RIM")
		}
	}
	if len(byKind) > len(needs) {
		setErrs = append(setErrs, fmt.Sprintf("a %s needs only %v", kind, needs))
	}
	if len(setErrs) > 0 {
		res.fail(CheckRIMSet, fmt.Errorf("%w: %s", ErrRIMSet, strings.Join(setErrs, "; ")))
	} else {
		res.pass(CheckRIMSet)
	}
	rims := make([]*RIM, 0, len(byKind))
	for _, k := range []RIMKind{RIMDriver, RIMVBIOS} {
		if byKind[k] != nil {
			rims = append(rims, byKind[k])
		}
	}
	res.check(CheckMeasurements, CompareMeasurements(rep, rims))
}

func rimChain(certs []*x509.Certificate, roots []*x509.Certificate, at time.Time) error {
	if err := VerifyChain(certs, roots, at); err != nil {
		return fmt.Errorf("%w: %w", ErrRIMChain, err)
	}
	return nil
}
