package prover_test

import (
	"context"
	"crypto/x509"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/probitylabs/probity/attestation"
	"github.com/probitylabs/probity/prover"
	"github.com/probitylabs/probity/prover/gpu"
	"github.com/probitylabs/probity/prover/gpu/gputest"
	"github.com/probitylabs/probity/verifier"
	"github.com/probitylabs/probity/verifier/attest"
	"github.com/probitylabs/probity/verifier/attest/attesttest"
)

// ccReplay replays the recorded H100 in CC mode as gpus GPUs (gputest) whose chains name a
// local OCSP responder; the node's collector has the others as peers.
func ccReplay(t *testing.T, gpus int) (*gpu.Collector, *gputest.System, *attesttest.Responder) {
	t.Helper()
	resp := attesttest.NewResponder(t)
	sys := gputest.ReplayCC(t, "../testdata/gpu/h100-sxm-cc-on.json", gpus, resp.URL)
	for _, d := range sys.Devices {
		resp.AddIssuers(d.Root, d.ICA, d.BROM)
	}
	return sys.Collector(t), sys, resp
}

// TestStapledCCGPU runs CC jobs on replayed H100 systems with gpu.requireCC (gpu.requireOCSP
// follows). Four GPUs whose responder answers good: the offer's record carries the evidence of
// all four (cc.report and three cc.gpus), the node asks about each certificate once, at the
// admission (four BROM certificates and the provisioner CA they share), staples the cached
// answers at record time, and an auditor passes the receipt's attestation with no
// AllowMissingOCSPUnsafe opt-out. A BROM certificate on hold, the record's GPU's or a peer's:
// the posted job is refused before anything is spent (no lock), reason "revoked". A responder
// that cannot be reached: refused, reason "ocsp".
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
		col, sys, resp := ccReplay(t, 4)
		n := newNode(t, col)
		j := w.job(t, []int32{5, 6}, 6)
		o, id := w.offer(t, w.request(t, ctx, j, tokens(1), 0), j.uri)
		n.Consider(o)
		r := runUntil(t, ctx, n, 2*time.Minute, id)[0]
		wantSettled(t, ctx, w, r, j.want, allTimings...)
		// One request per certificate: four BROM certificates and the provisioner CA they share.
		for i, d := range sys.Devices {
			if resp.Requests(d.BROM.Cert) != 1 {
				t.Errorf("responder asked %d times about GPU %d's BROM certificate, want once", resp.Requests(d.BROM.Cert), i)
			}
		}
		if resp.Requests(sys.Devices[0].ICA.Cert) != 1 || resp.Total() != 5 {
			t.Errorf("responder asked %d times about the ICA, %d in all; want 1 and 5", resp.Requests(sys.Devices[0].ICA.Cert), resp.Total())
		}
		doc := readReceipt(t, r)
		att, err := attestation.Parse(doc.Attestation)
		if err != nil {
			t.Fatal(err)
		}
		if att.Mode != attestation.ModeNVMLCC || len(att.CC.GPUs) != 3 || len(att.CC.OCSP) != 5 {
			t.Fatalf("mode %s with %d peer GPUs and %d staples, want nvml+cc with 3 and 5", att.Mode, len(att.CC.GPUs), len(att.CC.OCSP))
		}
		pol := w.policy()
		pol.AllowNoAttestation, pol.RequireCC = false, true
		rep, err := verifier.AuditFile(ctx, r.ReceiptPath, pol, verifier.Options{Model: w.m,
			Attestation: &verifier.Records{Roots: []*x509.Certificate{sys.Devices[0].Root.Cert}}})
		if err != nil {
			t.Fatal(err)
		}
		if c := rep.Check(verifier.CheckAttestation); c.Status != verifier.Pass {
			t.Fatalf("attestation check %s: %v", c.Status, c.Err)
		}
		// The staples are what the auditor's revocation check passes on, for every GPU.
		staples := make([][]byte, len(att.CC.OCSP))
		for i, s := range att.CC.OCSP {
			staples[i] = s
		}
		for i, chain := range append([]attestation.Hex{att.CC.CertChain}, att.CC.GPUs[0].CertChain, att.CC.GPUs[2].CertChain) {
			certs, _ := attest.ParseCertChain(chain)
			if err := attest.CheckRevocation(certs, 1, nil, staples, time.Now()); err != nil {
				t.Fatalf("chain %d: %v", i, err)
			}
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
			col, sys, resp := ccReplay(t, 1)
			c.spoil(sys.Devices[0], resp)
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
