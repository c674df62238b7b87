package prover_test

import (
	"context"
	"crypto/x509"
	"math/big"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/probitylabs/probity/jobs"
	"github.com/probitylabs/probity/prover"
	"github.com/probitylabs/probity/prover/gpu"
	"github.com/probitylabs/probity/prover/gpu/gputest"
	"github.com/probitylabs/probity/verifier/attest"
)

// TestHardwareRequirement: a node refuses, before any lock, a job whose hardware requirement
// (committed to by the request's salt) its GPUs do not meet, judged with the auditors' checks
// on its own evidence, and takes one they meet: on a replayed CC H100 (two GPUs, a test device
// chain) a requirement of its signed board and chip, CC and 64 GiB passes and the job settles;
// another board, a Blackwell chip, or more memory than NVML reports is refused (reason
// "hardware"); a node without a GPU refuses any requirement.
func TestHardwareRequirement(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	w := newWorld(t, ctx, 1)
	sys := gputest.ReplayCC(t, ccFixture, 2, "")
	rep, err := attest.ParseReport(mustFixtureReport(t))
	if err != nil {
		t.Fatal(err)
	}
	board, _ := rep.Board()
	node := func(t *testing.T, withGPU bool) *prover.Node {
		cfg := w.config(t, t.TempDir(), w.head(t, ctx))
		cfg.GPU.Interval = prover.Duration(time.Millisecond)
		if withGPU {
			cfg.GPU.Mode = "require"
		}
		return w.node(t, ctx, w.provs[0], cfg, func(o *prover.Options) {
			if withGPU {
				o.GPU = sys.Collector(t)
				o.DeviceRoots = []*x509.Certificate{sys.Devices[0].Root.Cert}
			}
			o.Executor = prover.ReferenceExecutor{}
		})
	}
	// post publishes a job requiring h, its request's salt committing to it.
	post := func(t *testing.T, h *jobs.Hardware) (*job, *big.Int) {
		j := w.job(t, []int32{5, 6}, 6)
		j.gen.Hardware, j.gen.HardwareNonce = h, [32]byte{byte(w.salt.Add(1))}
		b, err := jobs.EncodeJob(j.gen)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(strings.TrimPrefix(j.uri, "file://"), b, 0o644); err != nil {
			t.Fatal(err)
		}
		req := w.request(t, ctx, j, tokens(1), 0)
		if req.Salt, err = h.Salt(j.gen.HardwareNonce); err != nil {
			t.Fatal(err)
		}
		return j, w.post(t, ctx, req, j.uri)
	}
	t.Run("met", func(t *testing.T) {
		n := node(t, true)
		j, id := post(t, &jobs.Hardware{RequireCC: true, Chips: []string{"GH100"}, Boards: []string{board}, MinMemoryBytes: 64 << 30})
		r := runUntil(t, ctx, n, 2*time.Minute, id)[0]
		wantSettled(t, ctx, w, r, j.want, allTimings...)
	})
	for name, c := range map[string]struct {
		gpu  bool
		h    jobs.Hardware
		want string
	}{
		"other board": {true, jobs.Hardware{Boards: []string{"1010_0205_862"}}, "signed board " + board},
		"blackwell":   {true, jobs.Hardware{Chips: []string{"GB100"}}, "signed chip GH100"},
		"memory":      {true, jobs.Hardware{MinMemoryBytes: 1 << 40}, "policy requires 1099511627776"},
		"no GPU":      {false, jobs.Hardware{RequireCC: true}, "no GPU"},
	} {
		t.Run(name, func(t *testing.T) {
			n := node(t, c.gpu)
			_, id := post(t, &c.h)
			r := runUntil(t, ctx, n, time.Minute, id)[0]
			if r.Step != prover.StepRefused || !strings.Contains(r.Reason, c.want) {
				t.Fatalf("job ended %s: %s; want refused for %q", r.Step, r.Reason, c.want)
			}
			if _, locked := r.Txs["lock"]; locked {
				t.Fatal("the job was locked")
			}
			if v := testutil.ToFloat64(n.Metrics().Refused.WithLabelValues("hardware")); v != 1 {
				t.Fatalf("refused{reason=hardware} = %v", v)
			}
		})
	}
}

// mustFixtureReport is the replayed H100's recorded report (its measurements and opaque data;
// gputest re-signs it over each nonce asked).
func mustFixtureReport(t *testing.T) []byte {
	t.Helper()
	b, err := os.ReadFile(ccFixture)
	if err != nil {
		t.Fatal(err)
	}
	f, err := gpu.ParseFixture(b)
	if err != nil {
		t.Fatal(err)
	}
	return f.AttestationReport.Value
}
