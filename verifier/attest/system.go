package attest

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/probitylabs/probity/attestation"
)

// Multi-GPU systems. An HGX node in protected-PCIe (PPCIE) mode puts its GPUs and NVSwitches in
// one trusted computing base: the CVM attests every GPU and every NVSwitch over one nonce, and
// the NVLink fabric is trusted only if the devices attested are the ones wired together. Each
// GPU names, per NVLink, the switch at the far end (SWITCH_PDI); each switch names itself
// (DEVICE_PDI) and the GPUs it connects (SWITCH_GPU_PDIS). NVIDIA's ppcie verifier requires
// 8 GPUs and 4 switches; every GPU to see exactly the 4 switches (all-zero PDIs are disabled
// links), all GPUs the same ones; every switch to be one of them, each once; and every switch
// to see the same 8 GPUs. Those are the topology checks here, over evidence each device's own
// checks verified (prefixed gpus[i]. and switches[i]. in the Result).

// Check names of the system and topology checks.
const (
	CheckSystemUnique     = "system.unique"     // no device's evidence given twice
	CheckSystemDriver     = "system.driver"     // every GPU runs the first GPU's driver
	CheckTopologyMode     = "topology.mode"     // every GPU signed mode ppcie
	CheckTopologyGPUs     = "topology.gpus"     // GPU count; every GPU sees the same switches
	CheckTopologySwitches = "topology.switches" // switch count; switches are those; they see the same GPUs
)

// Errors of the system and topology checks.
var (
	ErrDuplicateDevice = errors.New("the same device's evidence is given twice")
	ErrSystemDriver    = errors.New("GPUs of one system run different drivers")
	ErrTopology        = errors.New("multi-GPU topology is not the one NVIDIA's protected-PCIe verifier accepts")
)

// NVIDIA's HGX protected-PCIe system: 8 GPUs, 4 NVSwitches.
const (
	PPCIEGPUs     = 8
	PPCIESwitches = 4
)

// TopologyPolicy requires a protected-PCIe multi-GPU system of the given size.
type TopologyPolicy struct {
	GPUs     int // GPUs in the system, the record's first one included; 0 means PPCIEGPUs
	Switches int // NVSwitches; 0 means PPCIESwitches
}

func (t TopologyPolicy) counts() (gpus, switches int) {
	gpus, switches = t.GPUs, t.Switches
	if gpus == 0 {
		gpus = PPCIEGPUs
	}
	if switches == 0 {
		switches = PPCIESwitches
	}
	return gpus, switches
}

// SystemDevice is what the verifier read from one entry of cc.gpus or cc.switches; fields are
// nil where the device's checks did not get that far.
type SystemDevice struct {
	Kind     DeviceKind
	Index    int // in cc.gpus or cc.switches
	Report   *Report
	Device   *DeviceIdentity
	Features *Features
}

// merge appends sub's checks to res under prefix.
func (res *Result) merge(prefix string, sub *Result) {
	for _, c := range sub.Checks {
		c.Name = prefix + c.Name
		res.Checks = append(res.Checks, c)
	}
}

// verifySystem checks cc.gpus and cc.switches (each device on its own, then together) and
// the topology when the policy requires it or the record carries NVSwitches.
func verifySystem(res *Result, cc *attestation.CC, nonce [32]byte, staples [][]byte, p *Policy) {
	lists := []struct {
		kind    DeviceKind
		prefix  string
		entries []attestation.DeviceEvidence
		rims    [][]byte
	}{{KindGPU, "gpus", cc.GPUs, p.RIMs}, {KindSwitch, "switches", cc.Switches, p.SwitchRIMs}}
	for _, l := range lists {
		for i, d := range l.entries {
			sub := &Result{}
			verifyDevice(sub, l.kind, Evidence{Report: d.Report, CertChain: d.CertChain, Nonce: nonce, OCSP: staples}, p, l.rims)
			if l.kind == KindGPU && p.restrictsSignedHardware() {
				// A buyer who asked for a chip or board asked for it on every GPU of the job.
				sub.check(CheckModel, signedHardwareErr(sub.Device, sub.Report, p))
			}
			res.merge(fmt.Sprintf("%s[%d].", l.prefix, i), sub)
			res.System = append(res.System, SystemDevice{Kind: l.kind, Index: i, Report: sub.Report, Device: sub.Device, Features: sub.Features})
		}
	}
	if len(res.System) > 0 {
		res.check(CheckSystemUnique, checkUnique(res))
		res.check(CheckSystemDriver, checkSameDriver(res))
	}
	if p.Topology == nil && len(cc.Switches) == 0 {
		res.skip(CheckTopologyMode, "policy requires no protected-PCIe topology and the record has no NVSwitches")
		return
	}
	// Without a policy the record's own counts are the ones checked: a record that brings
	// switches must still be wired as it says.
	tp := TopologyPolicy{GPUs: 1 + len(cc.GPUs), Switches: len(cc.Switches)}
	if p.Topology != nil {
		tp.GPUs, tp.Switches = p.Topology.counts()
	}
	gpus := []*Report{res.Report}
	var gpuFeatures []*Features
	gpuFeatures = append(gpuFeatures, res.Features)
	var switches []*Report
	for _, d := range res.System {
		if d.Kind == KindGPU {
			gpus = append(gpus, d.Report)
			gpuFeatures = append(gpuFeatures, d.Features)
		} else {
			switches = append(switches, d.Report)
		}
	}
	res.check(CheckTopologyMode, checkPPCIEMode(gpuFeatures))
	switchSet, err := checkGPUTopology(gpus, tp)
	res.check(CheckTopologyGPUs, err)
	res.check(CheckTopologySwitches, checkSwitchTopology(switches, switchSet, tp))
}

// gpuName names the i-th GPU of the system as the record does.
func gpuName(i int) string {
	if i == 0 {
		return "cc.report"
	}
	return fmt.Sprintf("cc.gpus[%d]", i-1)
}

// checkUnique: every device of the record is a different chip (device certificates differ).
// Repeating one GPU's evidence must not make a system look larger than it is.
func checkUnique(res *Result) error {
	type dev struct {
		name string
		cert []byte
	}
	var devs []dev
	if res.Device != nil {
		devs = append(devs, dev{"cc.report", res.Device.DeviceCertificate})
	}
	for _, d := range res.System {
		if d.Device == nil {
			continue // its own checks failed
		}
		name := fmt.Sprintf("cc.gpus[%d]", d.Index)
		if d.Kind == KindSwitch {
			name = fmt.Sprintf("cc.switches[%d]", d.Index)
		}
		devs = append(devs, dev{name, d.Device.DeviceCertificate})
	}
	for i := range devs {
		for j := range i {
			if bytes.Equal(devs[i].cert, devs[j].cert) {
				return fmt.Errorf("%w: %s and %s are signed by the same chip", ErrDuplicateDevice, devs[j].name, devs[i].name)
			}
		}
	}
	return nil
}

// checkSameDriver: one CVM runs one driver for all its GPUs; a GPU reporting another was not
// in the same system.
func checkSameDriver(res *Result) error {
	if res.Report == nil {
		return fmt.Errorf("%w: the first GPU's report did not parse", ErrSystemDriver)
	}
	want, _ := res.Report.DriverVersion()
	for _, d := range res.System {
		if d.Kind != KindGPU || d.Report == nil {
			continue
		}
		if got, _ := d.Report.DriverVersion(); got != want {
			return fmt.Errorf("%w: cc.report states %q, cc.gpus[%d] %q", ErrSystemDriver, want, d.Index, got)
		}
	}
	return nil
}

func checkPPCIEMode(features []*Features) error {
	for i, f := range features {
		switch {
		case f == nil:
			return fmt.Errorf("%w: %s's operating mode was not read", ErrTopology, gpuName(i))
		case f.Mode != ModePPCIE:
			return fmt.Errorf("%w: %s signed mode %s, not %s", ErrTopology, gpuName(i), f.Mode, ModePPCIE)
		}
	}
	return nil
}

// checkGPUTopology returns the switches every GPU sees.
func checkGPUTopology(gpus []*Report, tp TopologyPolicy) (map[PDI]bool, error) {
	if len(gpus) != tp.GPUs {
		return nil, fmt.Errorf("%w: %d GPUs, want %d", ErrTopology, len(gpus), tp.GPUs)
	}
	var first map[PDI]bool
	for i, r := range gpus {
		if r == nil {
			return nil, fmt.Errorf("%w: %s did not parse", ErrTopology, gpuName(i))
		}
		pdis, ok, err := r.SwitchPDIs()
		switch {
		case err != nil:
			return nil, fmt.Errorf("%w: %s: %w", ErrTopology, gpuName(i), err)
		case !ok:
			return nil, fmt.Errorf("%w: %s states no SWITCH_PDI", ErrTopology, gpuName(i))
		}
		set := activeSet(pdis)
		if len(set) != tp.Switches {
			return nil, fmt.Errorf("%w: %s sees %d switches (%s), want %d", ErrTopology, gpuName(i), len(set), pdiList(set), tp.Switches)
		}
		if first == nil {
			first = set
		} else if !maps.Equal(first, set) {
			return nil, fmt.Errorf("%w: %s sees switches %s, %s sees %s", ErrTopology, gpuName(0), pdiList(first), gpuName(i), pdiList(set))
		}
	}
	return first, nil
}

// checkSwitchTopology: the switches are the ones the GPUs see, each once, and all see the same
// GPUs, as many as the system has. gpuSeen is nil when the GPU check failed.
func checkSwitchTopology(switches []*Report, gpuSeen map[PDI]bool, tp TopologyPolicy) error {
	if len(switches) != tp.Switches {
		return fmt.Errorf("%w: %d NVSwitches, want %d", ErrTopology, len(switches), tp.Switches)
	}
	self := map[PDI]bool{}
	var firstGPUs map[PDI]bool
	for i, r := range switches {
		if r == nil {
			return fmt.Errorf("%w: cc.switches[%d] did not parse", ErrTopology, i)
		}
		pdi, ok := r.DevicePDI()
		if !ok {
			return fmt.Errorf("%w: cc.switches[%d] states no DEVICE_PDI", ErrTopology, i)
		}
		if self[pdi] {
			return fmt.Errorf("%w: two NVSwitches state DEVICE_PDI %s", ErrTopology, pdi)
		}
		self[pdi] = true
		if gpuSeen != nil && !gpuSeen[pdi] {
			return fmt.Errorf("%w: cc.switches[%d] (DEVICE_PDI %s) is not among the switches the GPUs see (%s)", ErrTopology, i, pdi, pdiList(gpuSeen))
		}
		gpuPDIs, ok, err := r.GPUPDIs()
		switch {
		case err != nil:
			return fmt.Errorf("%w: cc.switches[%d]: %w", ErrTopology, i, err)
		case !ok:
			return fmt.Errorf("%w: cc.switches[%d] states no SWITCH_GPU_PDIS", ErrTopology, i)
		}
		set := activeSet(gpuPDIs)
		if len(set) != tp.GPUs {
			return fmt.Errorf("%w: cc.switches[%d] connects %d distinct GPUs (%s), want %d", ErrTopology, i, len(set), pdiList(set), tp.GPUs)
		}
		if firstGPUs == nil {
			firstGPUs = set
		} else if !maps.Equal(firstGPUs, set) {
			return fmt.Errorf("%w: cc.switches[0] connects GPUs %s, cc.switches[%d] %s", ErrTopology, pdiList(firstGPUs), i, pdiList(set))
		}
	}
	if gpuSeen == nil {
		return fmt.Errorf("%w: the GPUs' view of the switches did not check", ErrTopology)
	}
	return nil
}

// pdiList spells a PDI set sorted, for error messages that must read the same every run.
func pdiList(set map[PDI]bool) string {
	names := make([]string, 0, len(set))
	for p := range set {
		names = append(names, p.String())
	}
	slices.Sort(names)
	return strings.Join(names, ", ")
}
