//go:build heavy

package universal

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/probitylabs/probity/circuits"
	"github.com/probitylabs/probity/commit"
	"github.com/probitylabs/probity/jobs"
	"github.com/probitylabs/probity/model"
	"github.com/probitylabs/probity/model/modeltest"
	"github.com/probitylabs/probity/models"
)

func maxRSSMB() float64 {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return float64(ru.Maxrss) / 1024
}

// demoStatement is the demo's text job on the shipped model: 48 tokens after "And God said, ".
func demoStatement(b *testing.B) (*Statement, time.Duration) {
	m, err := models.KJV()
	if err != nil {
		b.Fatal(err)
	}
	root, err := m.Root()
	if err != nil {
		b.Fatal(err)
	}
	j := &jobs.GenJob{ModelRoot: root, Prompt: jobs.ByteTokens([]byte("And God said, ")), New: 48}
	t0 := time.Now()
	tr, tokens, err := jobs.Generate(m, j)
	if err != nil {
		b.Fatal(err)
	}
	return &Statement{Model: m, Job: j, Trace: tr, Tokens: tokens, Seed: commit.Uint(5)}, time.Since(t0)
}

// BenchmarkSmallDemoJob proves the demo job with the small class's cached development keys
// (the first run pays the setup: run `go run ./internal/cmd/genverifier -class small` or let
// this benchmark do it) and reports execute, commit, prove and verify times, the overhead
// (commit + prove) / execute, key sizes and peak RSS. Run with -benchtime=1x or 3x.
func BenchmarkSmallDemoJob(b *testing.B) {
	cl := Small()
	keys, err := Setup(cl)
	if err != nil {
		b.Fatal(err)
	}
	st, execute := demoStatement(b)
	t0 := time.Now()
	if _, err := jobs.CommitTrace(st.Model, st.Trace); err != nil {
		b.Fatal(err)
	}
	commitT := time.Since(t0)
	var p *Proof
	b.ResetTimer()
	for range b.N {
		if p, err = Prove(keys, st); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	prove := b.Elapsed() / time.Duration(b.N)
	t0 = time.Now()
	const nv = 20
	for range nv {
		if err := Verify(keys.VK, p.Groth16, p.Public); err != nil {
			b.Fatal(err)
		}
	}
	verify := time.Since(t0) / nv
	c, _ := circuits.DefaultCache()
	size := func(f string) float64 {
		fi, err := os.Stat(filepath.Join(c.EntryDir(cl), f))
		if err != nil {
			return 0
		}
		return float64(fi.Size()) / 1e6
	}
	b.ReportMetric(float64(keys.CCS.GetNbConstraints()), "constraints")
	b.ReportMetric(execute.Seconds(), "execute_s")
	b.ReportMetric(commitT.Seconds(), "commit_s")
	b.ReportMetric((commitT+prove).Seconds()/execute.Seconds(), "overhead_x")
	b.ReportMetric(float64(verify.Microseconds())/1000, "verify_ms")
	b.ReportMetric(size("pk"), "pk_MB")
	b.ReportMetric(size("vk")*1e6, "vk_B")
	b.ReportMetric(maxRSSMB(), "peakRSS_MB")
}

// BenchmarkGPT2SmallCompile compiles the production class: constraints, time, peak RSS.
func BenchmarkGPT2SmallCompile(b *testing.B) {
	cl := GPT2Small()
	for range b.N {
		ccs, err := cl.Compile()
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(ccs.GetNbConstraints()), "constraints")
	}
	b.ReportMetric(maxRSSMB(), "peakRSS_MB")
}

// BenchmarkGPT2SmallTrace runs a GPT-2-small-shaped decoder (d 768, 12 heads, 12 blocks,
// d_ff 3072, context 1024, vocabulary 3072 so the logits fit the class) on a 64-row trace and
// reports execute, commit and witness-building times: the inputs of the 1k-token overhead
// extrapolation in docs/performance.md.
func BenchmarkGPT2SmallTrace(b *testing.B) {
	m, err := modeltest.Decoder(model.DecoderConfig{Vocab: 3072, Context: 1024, Width: 768, Heads: 12, Blocks: 12}, 1)
	if err != nil {
		b.Fatal(err)
	}
	root, err := m.Root()
	if err != nil {
		b.Fatal(err)
	}
	j := &jobs.GenJob{ModelRoot: root, Prompt: []int32{1, 2, 3, 4, 5, 6, 7, 8}, New: 57}
	cl := GPT2Small()
	if err := cl.Fits(m, j.Rows(), j); err != nil {
		b.Fatal(err)
	}
	for range b.N {
		t0 := time.Now()
		tr, tokens, err := jobs.Generate(m, j)
		if err != nil {
			b.Fatal(err)
		}
		execute := time.Since(t0)
		t0 = time.Now()
		if _, err := jobs.CommitTrace(m, tr); err != nil {
			b.Fatal(err)
		}
		commitT := time.Since(t0)
		t0 = time.Now()
		if _, err := Assign(cl, &Statement{Model: m, Job: j, Trace: tr, Tokens: tokens, Seed: commit.Uint(1)}); err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(len(m.Ops)), "ops")
		b.ReportMetric(execute.Seconds(), "execute_s")
		b.ReportMetric(commitT.Seconds(), "commit_s")
		b.ReportMetric(time.Since(t0).Seconds(), "assign_s")
	}
	b.ReportMetric(maxRSSMB(), "peakRSS_MB")
}

// BenchmarkSmallTargeted proves a targeted element (an op result of the demo job) with the
// small class's cached targeted development keys (the first run pays the setup) and reports
// the constraints, prove and verify times and peak RSS.
func BenchmarkSmallTargeted(b *testing.B) {
	cl := Small()
	keys, err := SetupTargeted(cl)
	if err != nil {
		b.Fatal(err)
	}
	st, _ := demoStatement(b)
	a, err := AssignTargeted(cl, st.Model, st.Trace, st.Job, st.Tokens, jobs.Element{Kind: jobs.ElementOp, Op: 3, Row: 10, Col: 7})
	if err != nil {
		b.Fatal(err)
	}
	var p *Proof
	b.ResetTimer()
	for range b.N {
		if p, err = ProveTargeted(keys, a); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	t0 := time.Now()
	if err := VerifyTargeted(keys.VK, p.Groth16, p.Public); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(keys.CCS.GetNbConstraints()), "constraints")
	b.ReportMetric(float64(time.Since(t0).Microseconds())/1000, "verify_ms")
	b.ReportMetric(maxRSSMB(), "peakRSS_MB")
}
