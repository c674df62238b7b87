// Package gputest replays a recorded GPU in confidential-computing mode with test device
// chains, for the tests of the collector and of the provider node. NVIDIA's recorded report was
// signed over NVIDIA's own nonce by a GPU whose key nobody has; a replayed GPU must sign over
// the job's nonce, so each replayed device gets a test chain (verifier/attest/attesttest) and
// signs every report it is asked for with its test leaf key, as a real GPU signs over the
// nonce it is given. The revocation cases need this too: NVIDIA publishes no revoked or held
// GPU certificate.
package gputest

import (
	"os"
	"testing"

	"github.com/NVIDIA/go-nvml/pkg/nvml"
	"github.com/NVIDIA/go-nvml/pkg/nvml/mock"

	"github.com/probitylabs/probity/prover/gpu"
	"github.com/probitylabs/probity/verifier/attest"
	"github.com/probitylabs/probity/verifier/attest/attesttest"
)

// System is an NVML library replaying n copies of one recorded GPU in CC mode (an HGX board's
// GPUs: one test root and provisioner CA, a BROM certificate and leaf each).
type System struct {
	Lib     *mock.Interface
	Devices []*attesttest.Device // by NVML index
}

// ReplayCC replays the CC fixture at path as n GPUs whose chains name ocspURL as their OCSP
// responder ("" names none).
func ReplayCC(t testing.TB, path string, n int, ocspURL string) *System {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := &System{}
	var devs []*mock.Device
	for i := range n {
		f, err := gpu.ParseFixture(b) // a fresh copy per device: its chain is replaced
		if err != nil {
			t.Fatal(err)
		}
		rep, err := attest.ParseReport(f.AttestationReport.Value)
		if err != nil {
			t.Fatal(err)
		}
		fwid, _ := rep.Opaque(attest.OpaqueFWID) // NVIDIA's sample names one; the test leaf repeats it
		d := attesttest.NewDevice(t, ocspURL, fwid...)
		if i > 0 {
			d = s.Devices[0].Sibling(t, fwid...)
		}
		f.CertChain.Value = d.Chain
		lib := gpu.Replay(f)
		if i == 0 {
			s.Lib = lib
		}
		h, _ := lib.DeviceGetHandleByIndex(0)
		dev := h.(*mock.Device)
		report := dev.GetConfComputeGpuAttestationReportFunc
		dev.GetConfComputeGpuAttestationReportFunc = func(r *nvml.ConfComputeGpuAttestationReport) nvml.Return {
			ret := report(r)
			copy(r.AttestationReport[:], attesttest.SignReport(t, r.AttestationReport[:r.AttestationReportSize], d.Leaf.Key, &r.Nonce))
			return ret
		}
		s.Devices, devs = append(s.Devices, d), append(devs, dev)
	}
	s.Lib.DeviceGetCountFunc = func() (int, nvml.Return) { return len(devs), nvml.SUCCESS }
	s.Lib.DeviceGetHandleByIndexFunc = func(i int) (nvml.Device, nvml.Return) {
		if i < 0 || i >= len(devs) {
			return nil, nvml.ERROR_INVALID_ARGUMENT
		}
		return devs[i], nvml.SUCCESS
	}
	return s
}

// Collector opens the system's GPU 0 with the others as its peers.
func (s *System) Collector(t testing.TB) *gpu.Collector {
	t.Helper()
	col, err := gpu.OpenLib(s.Lib, 0)
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i < len(s.Devices); i++ {
		if err := col.AddPeers(i); err != nil {
			t.Fatal(err)
		}
	}
	return col
}
