package prover_test

import (
	"context"
	"crypto/x509"
	"encoding/hex"
	"math/big"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/probitylabs/probity/attestation"
	"github.com/probitylabs/probity/prover"
	"github.com/probitylabs/probity/prover/gpu"
	"github.com/probitylabs/probity/prover/gpu/gputest"
	"github.com/probitylabs/probity/verifier"
	"github.com/probitylabs/probity/verifier/attest"
	"github.com/probitylabs/probity/verifier/attest/attesttest"
)

const ccFixture = "../testdata/gpu/h100-sxm-cc-on.json"

// ccReplay replays the recorded H100 in CC mode as gpus GPUs (gputest) whose chains name a
// local OCSP responder; the node's collector has the others as peers.
func ccReplay(t *testing.T, gpus int) (*gpu.Collector, *gputest.System, *attesttest.Responder) {
	t.Helper()
	resp := attesttest.NewResponder(t)
	sys := gputest.ReplayCC(t, ccFixture, gpus, resp.URL)
	for _, d := range sys.Devices {
		resp.AddIssuers(d.Root, d.ICA, d.BROM)
	}
	return sys.Collector(t), sys, resp
}

// testRIMs are NVIDIA's hopper-2023 driver and VBIOS RIMs re-signed under a test RIM signer
// whose chain names resp, stating the versions the replayed H100 runs (550.90.07,
// 96.00.9F.00.01), written to files for gpu.rims. With own, each active golden value is the
// replayed report's measurement (NVIDIA publishes no RIMs for that report's driver); without,
// the golden values stay hopper-2023's, which the report does not match.
func testRIMs(t *testing.T, resp *attesttest.Responder, own bool) ([]string, *attesttest.RIMSigner) {
	t.Helper()
	s := attesttest.NewRIMSigner(t, resp.URL)
	resp.AddIssuers(s.Root, s.ICA)
	rep, err := attest.ParseReport(mustFixtureReport(t))
	if err != nil {
		t.Fatal(err)
	}
	active := regexp.MustCompile(`index="(\d+)" active="True" alternatives="\d+" ns2:Hash0="([0-9a-f]+)"`)
	dir := t.TempDir()
	var paths []string
	for _, r := range []struct{ file, from, to string }{
		{"Driver_RIM_test_no_gpu.swidtag", `colloquialVersion="545.00"`, `colloquialVersion="550.90.07"`},
		{"1010_0200_882_96005E0001_test_no_gpu.swidtag", `colloquialVersion="96.00.5E.00.01"`, `colloquialVersion="96.00.9F.00.01"`},
	} {
		doc, err := os.ReadFile(filepath.Join("..", "testdata", "nvidia", "rims", r.file))
		if err != nil {
			t.Fatal(err)
		}
		edits := []string{r.from, r.to}
		for _, m := range active.FindAllStringSubmatch(string(doc), -1) {
			idx, _ := strconv.Atoi(m[1])
			if blk, ok := rep.Block(idx + 1); ok && own {
				edits = append(edits, m[0], strings.Replace(m[0], m[2], hex.EncodeToString(blk.Value), 1))
			}
		}
		p := filepath.Join(dir, r.file)
		if err := os.WriteFile(p, s.Resign(t, doc, edits...), 0o644); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
	}
	return paths, s
}

// TestStapledCCGPU runs CC jobs on replayed H100 systems with gpu.requireCC (gpu.requireOCSP
// follows). Four GPUs whose responder answers good: the offer's record carries the evidence of
// all four (cc.report and three cc.gpus), the node asks about each certificate once, at the
// admission (four BROM certificates, the provisioner CA they share, the RIM signer and its CA),
// staples the cached answers at record time, and an auditor holding the node's RIMs passes the
// record with no AllowMissingOCSPUnsafe opt-out. A BROM certificate on hold, the record's
// GPU's or a peer's, or the RIM signer's:
// the posted job is refused before anything is spent (no lock), reason "revoked". A responder
// that cannot be reached: refused, reason "ocsp". A hold found only at record time abandons a
// locked job; RIMs the GPU does not match refuse an offer (reason "measurements").
func TestStapledCCGPU(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	w := newWorld(t, ctx, 1)
	newNode := func(t *testing.T, col *gpu.Collector, resp *attesttest.Responder, ownRIMs bool, mods ...func(*prover.Options)) (*prover.Node, []string, *attesttest.RIMSigner) {
		cfg := w.config(t, t.TempDir(), w.head(t, ctx))
		cfg.GPU.Mode, cfg.GPU.RequireCC, cfg.GPU.Interval = "require", true, prover.Duration(time.Millisecond)
		cfg.GPU.OCSPTimeout = prover.Duration(2 * time.Second)
		rims, signer := testRIMs(t, resp, ownRIMs)
		cfg.GPU.RIMs = rims
		return w.node(t, ctx, w.provs[0], cfg, func(o *prover.Options) {
			o.GPU = col
			o.Executor = prover.ReferenceExecutor{}
			o.RIMRoots = []*x509.Certificate{signer.Root.Cert}
			for _, m := range mods {
				m(o)
			}
		}), rims, signer
	}
	t.Run("good", func(t *testing.T) {
		col, sys, resp := ccReplay(t, 4)
		n, rims, signer := newNode(t, col, resp, true)
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
		// And once each about the RIM signer and its CA (both RIMs have one signer).
		if resp.Requests(sys.Devices[0].ICA.Cert) != 1 || resp.Requests(signer.Leaf.Cert) != 1 || resp.Total() != 7 {
			t.Errorf("responder asked %d times about the ICA, %d about the RIM signer, %d in all; want 1, 1 and 7",
				resp.Requests(sys.Devices[0].ICA.Cert), resp.Requests(signer.Leaf.Cert), resp.Total())
		}
		doc := readReceipt(t, r)
		att, err := attestation.Parse(doc.Attestation)
		if err != nil {
			t.Fatal(err)
		}
		if att.Mode != attestation.ModeNVMLCC || len(att.CC.GPUs) != 3 || len(att.CC.OCSP) != 7 {
			t.Fatalf("mode %s with %d peer GPUs and %d staples, want nvml+cc with 3 and 7", att.Mode, len(att.CC.GPUs), len(att.CC.OCSP))
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
		// An auditor holding the node's RIMs passes the whole record with them: every GPU's
		// measurements, and the RIM signers' revocation from the staples.
		var policyRIMs [][]byte
		for _, p := range rims {
			b, _ := os.ReadFile(p)
			policyRIMs = append(policyRIMs, b)
		}
		res, err := attest.VerifyRecord(att, doc.Nonce(), &attest.Policy{RequireCC: true, RequireRIMs: true, RIMs: policyRIMs,
			Roots: []*x509.Certificate{sys.Devices[0].Root.Cert}, RIMRoots: []*x509.Certificate{signer.Root.Cert}})
		if err != nil {
			t.Fatal(err)
		}
		if !res.OK() {
			t.Fatal(res.Err())
		}
		for _, name := range []string{attest.CheckDeviceRevocation, "rim.driver.revocation", "rim.vbios.revocation", attest.CheckMeasurements,
			"gpus[2]." + attest.CheckDeviceRevocation, "gpus[2].rim.vbios.revocation", "gpus[2]." + attest.CheckMeasurements} {
			if c, ok := res.Get(name); !ok || c.Status != attest.Passed {
				t.Errorf("%s: %+v", name, c)
			}
		}
	})
	// A hold placed after the lock, once the cached answer has expired (the responder's answers
	// here are reused for 2 s: nextUpdate 5 min 2 s after now, less the 5 min margin): the
	// record's staples are fetched again, say on hold, and the locked job is given back
	// instead of committing a record every audit fails.
	t.Run("held after the lock", func(t *testing.T) {
		col, sys, resp := ccReplay(t, 1)
		resp.Age, resp.Validity = time.Hour, time.Hour+5*time.Minute+2*time.Second
		held := false
		n, _, _ := newNode(t, col, resp, true, func(o *prover.Options) {
			o.Hook = func(_ *big.Int, step prover.Step) error {
				if step == prover.StepLocked && !held {
					held = true
					resp.Hold(sys.Devices[0].BROM.Cert)
					time.Sleep(3 * time.Second)
				}
				return nil
			}
		})
		j := w.job(t, []int32{5, 6}, 6)
		r := runUntil(t, ctx, n, 2*time.Minute, w.post(t, ctx, w.request(t, ctx, j, tokens(1), 0), j.uri))[0]
		if r.Step != prover.StepAbandoned || !strings.Contains(r.Reason, "on hold") {
			t.Fatalf("job ended %s: %s; want abandoned for the hold", r.Step, r.Reason)
		}
		if _, ok := r.Txs["abandon"]; !ok || r.AttestationDigest != (common.Hash{}) {
			t.Fatalf("abandon tx %v, journaled attestation digest %x", r.Txs, r.AttestationDigest)
		}
	})
	// RIMs whose golden values the GPU does not match: the node does not commit a record every
	// audit with those RIMs would fail; the offer, not locked yet, is refused.
	t.Run("measurements", func(t *testing.T) {
		col, _, resp := ccReplay(t, 1)
		n, _, _ := newNode(t, col, resp, false)
		j := w.job(t, []int32{5, 6}, 6)
		o, id := w.offer(t, w.request(t, ctx, j, tokens(1), 0), j.uri)
		n.Consider(o)
		r := runUntil(t, ctx, n, time.Minute, id)[0]
		if r.Step != prover.StepRefused || !strings.Contains(r.Reason, "does not match the RIM") {
			t.Fatalf("job ended %s: %s; want refused for its measurements", r.Step, r.Reason)
		}
		if _, locked := r.Txs["lock"]; locked {
			t.Fatal("the job was locked")
		}
		if v := testutil.ToFloat64(n.Metrics().Refused.WithLabelValues("measurements")); v != 1 {
			t.Fatalf("refused{reason=measurements} = %v", v)
		}
	})
	for _, c := range []struct {
		name, reason, detail string
		spoil                func(*gputest.System, *attesttest.RIMSigner, *attesttest.Responder)
	}{
		{"held", "revoked", "on hold", func(s *gputest.System, _ *attesttest.RIMSigner, r *attesttest.Responder) {
			r.Hold(s.Devices[0].BROM.Cert)
		}},
		{"peer held", "revoked", "on hold", func(s *gputest.System, _ *attesttest.RIMSigner, r *attesttest.Responder) {
			r.Hold(s.Devices[1].BROM.Cert)
		}},
		{"RIM signer held", "revoked", "on hold", func(_ *gputest.System, s *attesttest.RIMSigner, r *attesttest.Responder) { r.Hold(s.Leaf.Cert) }},
		{"unreachable", "ocsp", "no usable OCSP response", func(_ *gputest.System, _ *attesttest.RIMSigner, r *attesttest.Responder) { r.Close() }},
	} {
		t.Run(c.name, func(t *testing.T) {
			col, sys, resp := ccReplay(t, 2)
			n, _, signer := newNode(t, col, resp, true)
			c.spoil(sys, signer, resp)
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
