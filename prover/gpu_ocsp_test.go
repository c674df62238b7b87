package prover_test

import (
	"context"
	"crypto/x509"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/NVIDIA/go-nvml/pkg/nvml"
	"github.com/NVIDIA/go-nvml/pkg/nvml/mock"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/probitylabs/probity/attestation"
	"github.com/probitylabs/probity/prover"
	"github.com/probitylabs/probity/prover/gpu"
	"github.com/probitylabs/probity/verifier"
	"github.com/probitylabs/probity/verifier/attest"
	"github.com/probitylabs/probity/verifier/attest/attesttest"
)

// ccReplay replays the recorded H100 in CC mode with a test device chain whose certificates
// name a local OCSP responder: the replayed GPU signs each report over the nonce it is asked
// for with the test leaf key, as a real GPU signs over the job's nonce. NVIDIA publishes no
// chain with a revoked or held certificate, so the revocation cases need a test CA.
func ccReplay(t *testing.T) (*gpu.Collector, *attesttest.Device, *attesttest.Responder) {
	t.Helper()
	b, err := os.ReadFile("../testdata/gpu/h100-sxm-cc-on.json")
	if err != nil {
		t.Fatal(err)
	}
	f, err := gpu.ParseFixture(b)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := attest.ParseReport(f.AttestationReport.Value)
	if err != nil {
		t.Fatal(err)
	}
	fwid, _ := rep.Opaque(attest.OpaqueFWID) // NVIDIA's sample names one; the test leaf repeats it
	resp := attesttest.NewResponder(t)
	d := attesttest.NewDevice(t, resp.URL, fwid...)
	resp.AddIssuers(d.Root, d.ICA, d.BROM)
	f.CertChain.Value = d.Chain
	lib := gpu.Replay(f)
	h, _ := lib.DeviceGetHandleByIndex(0)
	dev := h.(*mock.Device)
	report := dev.GetConfComputeGpuAttestationReportFunc
	dev.GetConfComputeGpuAttestationReportFunc = func(r *nvml.ConfComputeGpuAttestationReport) nvml.Return {
		ret := report(r)
		copy(r.AttestationReport[:], attesttest.SignReport(t, r.AttestationReport[:r.AttestationReportSize], d.Leaf.Key, &r.Nonce))
		return ret
	}
	col, err := gpu.OpenLib(lib, 0)
	if err != nil {
		t.Fatal(err)
	}
	return col, d, resp
}

// TestStapledCCGPU runs a CC offer and a posted CC job on the replayed H100 with
// gpu.requireCC (gpu.requireOCSP follows). A GPU whose responder answers good: the node asks
// about each certificate of the device chain once, at the first admission, staples the
// cached answers at record time, and an auditor passes the receipt's revocation check with no
// AllowMissingOCSPUnsafe opt-out. A GPU whose BROM certificate is on hold: the job is refused
// before anything is spent (no lock), counted as reason "revoked". A responder that cannot
// be reached: refused as reason "ocsp".
func TestStapledCCGPU(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	w := newWorld(t, ctx, 1)
	newNode := func(t *testing.T, col *gpu.Collector) *prover.Node {
		cfg := w.config(t, t.TempDir(), w.head(t, ctx))
		cfg.GPU.Mode, cfg.GPU.RequireCC, cfg.GPU.Interval = "require", true, prover.Duration(time.Millisecond)
		cfg.GPU.OCSPTimeout = prover.Duration(2 * time.Second)
		return w.node(t, ctx, w.provs[0], cfg, func(o *prover.Options) {
			o.GPU = col
			o.Executor = prover.ReferenceExecutor{}
		})
	}
	t.Run("good", func(t *testing.T) {
		col, d, resp := ccReplay(t)
		n := newNode(t, col)
		j := w.job(t, []int32{5, 6}, 6)
		o, id := w.offer(t, w.request(t, ctx, j, tokens(1), 0), j.uri)
		n.Consider(o)
		r := runUntil(t, ctx, n, 2*time.Minute, id)[0]
		wantSettled(t, ctx, w, r, j.want, allTimings...)
		if resp.Requests(d.BROM.Cert) != 1 || resp.Requests(d.ICA.Cert) != 1 || resp.Total() != 2 {
			t.Errorf("responder asked %d times about the BROM, %d about the ICA, %d in all; want once each",
				resp.Requests(d.BROM.Cert), resp.Requests(d.ICA.Cert), resp.Total())
		}
		doc := readReceipt(t, r)
		att, err := attestation.Parse(doc.Attestation)
		if err != nil {
			t.Fatal(err)
		}
		if att.Mode != attestation.ModeNVMLCC || len(att.CC.OCSP) != 2 {
			t.Fatalf("mode %s with %d staples, want nvml+cc with 2", att.Mode, len(att.CC.OCSP))
		}
		pol := w.policy()
		pol.AllowNoAttestation, pol.RequireCC = false, true
		rep, err := verifier.AuditFile(ctx, r.ReceiptPath, pol, verifier.Options{Model: w.m,
			Attestation: &verifier.Records{Roots: []*x509.Certificate{d.Root.Cert}}})
		if err != nil {
			t.Fatal(err)
		}
		if c := rep.Check(verifier.CheckAttestation); c.Status != verifier.Pass {
			t.Fatalf("attestation check %s: %v", c.Status, c.Err)
		}
		// The staples are what the auditor's revocation check passes on.
		staples := make([][]byte, len(att.CC.OCSP))
		for i, s := range att.CC.OCSP {
			staples[i] = s
		}
		certs, _ := attest.ParseCertChain(att.CC.CertChain)
		if err := attest.CheckRevocation(certs, 1, nil, staples, time.Now()); err != nil {
			t.Fatal(err)
		}
	})
	for _, c := range []struct {
		name, reason, detail string
		spoil                func(*attesttest.Device, *attesttest.Responder)
	}{
		{"held", "revoked", "on hold", func(d *attesttest.Device, r *attesttest.Responder) { r.Hold(d.BROM.Cert) }},
		{"unreachable", "ocsp", "no usable OCSP response", func(_ *attesttest.Device, r *attesttest.Responder) { r.Close() }},
	} {
		t.Run(c.name, func(t *testing.T) {
			col, d, resp := ccReplay(t)
			c.spoil(d, resp)
			n := newNode(t, col)
			j := w.job(t, []int32{5, 6}, 6)
			r := runUntil(t, ctx, n, time.Minute, w.post(t, ctx, w.request(t, ctx, j, tokens(1), 0), j.uri))[0]
			if r.Step != prover.StepRefused || !strings.Contains(r.Reason, c.detail) {
				t.Fatalf("job ended %s: %s; want refused for %q", r.Step, r.Reason, c.detail)
			}
			if _, locked := r.Txs["lock"]; locked {
				t.Fatal("the job was locked")
			}
			if v := testutil.ToFloat64(n.Metrics().Refused.WithLabelValues(c.reason)); v != 1 {
				t.Fatalf("refused{reason=%s} = %v", c.reason, v)
			}
			if v, want := testutil.ToFloat64(n.Metrics().OCSPMissing), map[string]float64{"revoked": 0, "ocsp": 2}[c.reason]; v != want {
				t.Fatalf("ocsp_missing = %v, want %v", v, want)
			}
		})
	}
}
