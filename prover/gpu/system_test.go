package gpu_test

import (
	"bytes"
	"crypto/x509"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/NVIDIA/go-nvml/pkg/nvml"
	"github.com/NVIDIA/go-nvml/pkg/nvml/mock"
	"golang.org/x/crypto/ocsp"

	"github.com/probitylabs/probity/attestation"
	"github.com/probitylabs/probity/prover/gpu"
	"github.com/probitylabs/probity/prover/gpu/gputest"
	"github.com/probitylabs/probity/verifier/attest"
	"github.com/probitylabs/probity/verifier/attest/attesttest"
)

const ccFixture = "../../testdata/gpu/h100-sxm-cc-on.json"

// TestPeerGPUEvidence: a collector with three peer GPUs puts, in one CC record, the evidence of
// all four over the job's nonce (cc.report for its own GPU, cc.gpus for the peers in index
// order), asks Staple about every GPU's chain, and staples the responses once each (the shared
// provisioner CA's response is the same bytes for every GPU). An auditor verifies every GPU's
// report, chain and stapled revocation with no opt-out, and the system checks pass.
func TestPeerGPUEvidence(t *testing.T) {
	sys := gputest.ReplayCC(t, ccFixture, 4, "")
	col := sys.Collector(t)
	defer col.Close()
	if got := col.Peers(); len(got) != 3 || got[0] != 1 || got[2] != 3 {
		t.Fatalf("peers %v", got)
	}
	now := time.Now()
	cache := map[*x509.Certificate][]byte{}
	good := func(c, issuer *attesttest.Cert) []byte {
		if cache[c.Cert] == nil {
			cache[c.Cert] = attesttest.Staple(t, c, issuer, nil, ocsp.Good, 0, now.Add(-time.Hour), now.Add(time.Hour))
		}
		return cache[c.Cert]
	}
	var asked []string
	staple := func(chain []byte) ([][]byte, error) {
		for i, d := range sys.Devices {
			if string(d.Chain) == string(chain) {
				asked = append(asked, string(rune('0'+i)))
				return [][]byte{good(d.BROM, d.ICA), good(d.ICA, d.Root)}, nil
			}
		}
		t.Fatal("Staple asked about a chain no GPU returned")
		return nil, nil
	}
	nonce := attestation.Nonce(bigOne(), [20]byte{7}, bigOne(), [32]byte{9})
	rec, err := col.BuildRecord(gpu.RecordOptions{Nonce: &nonce, RequireCC: true, Staple: staple})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(asked, ",") != "0,1,2,3" {
		t.Fatalf("Staple asked about GPUs %v, want 0,1,2,3", asked)
	}
	if len(rec.CC.GPUs) != 3 || string(rec.CC.GPUs[2].CertChain) != string(sys.Devices[3].Chain) {
		t.Fatalf("cc.gpus has %d entries, or not in index order", len(rec.CC.GPUs))
	}
	if len(rec.CC.OCSP) != 5 { // four BROM certificates and the one provisioner CA
		t.Fatalf("%d staples, want 5", len(rec.CC.OCSP))
	}
	canon, err := rec.Canonical()
	if err != nil {
		t.Fatal(err)
	}
	back, err := attestation.Parse(canon)
	if err != nil {
		t.Fatal(err)
	}
	pol := &attest.Policy{RequireCC: true, Roots: []*x509.Certificate{sys.Devices[0].Root.Cert}, At: now}
	res, err := attest.VerifyRecord(back, nonce, pol)
	if err != nil {
		t.Fatal(err)
	}
	if !res.OK() {
		t.Fatalf("%v\n%+v", res.Err(), res.Checks)
	}
	for _, name := range []string{attest.CheckSignature, attest.CheckDeviceRevocation, "gpus[0]." + attest.CheckSignature,
		"gpus[2]." + attest.CheckNonce, "gpus[2]." + attest.CheckDeviceRevocation, attest.CheckSystemUnique, attest.CheckSystemDriver} {
		if ch, ok := res.Get(name); !ok || ch.Status != attest.Passed {
			t.Errorf("%s: %+v (present %v)", name, ch, ok)
		}
	}
	// With only the first GPU's staples the peers' revocation fails the record: every GPU's
	// chain is judged.
	d0 := sys.Devices[0]
	back.CC.OCSP = []attestation.Hex{good(d0.BROM, d0.ICA), good(d0.ICA, d0.Root)}
	slices.SortFunc(back.CC.OCSP, func(a, b attestation.Hex) int { return bytes.Compare(a, b) })
	res, _ = attest.VerifyRecord(back, nonce, pol)
	if ch, _ := res.Get("gpus[0]." + attest.CheckDeviceRevocation); res.OK() || ch.Status != attest.Failed {
		t.Fatalf("a record whose peer GPUs have no staples: ok %v, gpus[0].revocation %+v", res.OK(), ch)
	}
}

// TestAddPeersRefuses: a peer index must exist, differ from the collector's own GPU and be
// named once, and a peer that cannot give a report fails the record naming it.
func TestAddPeersRefuses(t *testing.T) {
	sys := gputest.ReplayCC(t, ccFixture, 3, "")
	col, err := gpu.OpenLib(sys.Lib, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, idx := range [][]int{{0}, {3}, {-1}, {1, 1}} {
		if err := col.AddPeers(idx...); err == nil {
			t.Errorf("AddPeers(%v) accepted", idx)
		}
	}
	if err := col.AddPeers(2); err != nil {
		t.Fatal(err)
	}
	if err := col.AddPeers(2); err == nil {
		t.Fatal("AddPeers accepted a peer twice")
	}
	if got := col.Peers(); len(got) != 1 || got[0] != 2 {
		t.Fatalf("peers %v after refused additions, want [2]", got)
	}
	h, _ := sys.Lib.DeviceGetHandleByIndex(2)
	h.(*mock.Device).GetConfComputeGpuAttestationReportFunc = func(*nvml.ConfComputeGpuAttestationReport) nvml.Return { return nvml.ERROR_UNKNOWN }
	nonce := [32]byte{1}
	if _, err := col.BuildRecord(gpu.RecordOptions{Nonce: &nonce, RequireCC: true}); err == nil || !strings.Contains(err.Error(), "peer GPU 2") {
		t.Fatalf("a peer without a report: %v", err)
	}
}
