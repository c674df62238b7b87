package prover_test

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/probitylabs/probity/attestation"
	"github.com/probitylabs/probity/prover"
	"github.com/probitylabs/probity/prover/gpu"
)

func replayed(t *testing.T, fixture string) *gpu.Collector {
	t.Helper()
	b, err := os.ReadFile("../testdata/gpu/" + fixture)
	if err != nil {
		t.Fatal(err)
	}
	f, err := gpu.ParseFixture(b)
	if err != nil {
		t.Fatal(err)
	}
	col, err := gpu.OpenLib(gpu.Replay(f), 0)
	if err != nil {
		t.Fatal(err)
	}
	return col
}

// TestReplayedGPU runs jobs with the NVML collector replaying a recorded H100: with CC off a
// posted job computed by an external executor gets a mode nvml record with the device's
// identity and the job window's telemetry; with CC on an offer's record is nvml+cc over the
// nonce that binds the job and its trace root, as receipt.Receipt.Nonce rebuilds it. Either way the
// record's digest is the committed one.
func TestReplayedGPU(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	w := newWorld(t, ctx, 1)
	for _, c := range []struct {
		fixture string
		mode    attestation.Mode
		offer   bool
	}{{"h100-sxm-cc-off.json", attestation.ModeNVML, false}, {"h100-sxm-cc-on.json", attestation.ModeNVMLCC, true}} {
		t.Run(string(c.mode), func(t *testing.T) {
			j := w.job(t, []int32{5, 6}, 6)
			req := w.request(t, ctx, j, tokens(1), 0)
			cfg := w.config(t, t.TempDir(), w.head(t, ctx))
			cfg.GPU.Mode, cfg.GPU.Interval = "auto", prover.Duration(time.Millisecond)
			n := w.node(t, ctx, w.provs[0], cfg, func(o *prover.Options) {
				o.GPU = replayed(t, c.fixture)
				o.Executor = prover.ReferenceExecutor{}
			})
			var r *prover.Record
			if c.offer {
				o, id := w.offer(t, req, j.uri)
				n.Consider(o)
				r = runUntil(t, ctx, n, 2*time.Minute, id)[0]
			} else {
				r = runUntil(t, ctx, n, 2*time.Minute, w.post(t, ctx, req, j.uri))[0]
			}
			wantSettled(t, ctx, w, r, j.want, allTimings...)
			doc := readReceipt(t, r)
			att, err := attestation.Parse(doc.Attestation)
			if err != nil {
				t.Fatal(err)
			}
			if att.Mode != c.mode || att.Identity == nil || att.Telemetry == nil {
				t.Fatalf("record mode %s, identity %v, telemetry %v", att.Mode, att.Identity, att.Telemetry)
			}
			if d, _ := att.Digest(); d != [32]byte(doc.AttestationDigest) || d != [32]byte(r.AttestationDigest) {
				t.Fatal("the committed attestation digest is not the record's")
			}
			if c.mode == attestation.ModeNVMLCC {
				if nonce := doc.Nonce(); att.CC == nil || string(att.CC.Nonce) != string(nonce[:]) {
					t.Fatalf("CC nonce %x, the receipt's %x", att.CC.Nonce, nonce)
				}
			}
			t.Logf("attested %s, %d samples", att.Identity.Name, att.Telemetry.Samples)
		})
	}
}
