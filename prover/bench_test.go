package prover_test

import (
	"context"
	"math/big"
	"path/filepath"
	"testing"
	"time"

	"github.com/probitylabs/probity/circuits"
	"github.com/probitylabs/probity/prover"
	"github.com/probitylabs/probity/sdk"
)

// BenchmarkJobLatency measures one job end to end on the simulated chain (blocks every
// 20 ms) and reports the journal's step timings: execute (run + output commitments +
// attestation record), commit (transaction), prove (every layer), submit (transaction),
// and the wall time from JobPosted to settlement. Keys are built before the timer.
//
//	go test -run '^$' -bench JobLatency -benchtime 5x ./prover/
func BenchmarkJobLatency(b *testing.B) {
	for _, c := range []struct {
		shape string
		rows  int
		dims  []int
	}{
		{"tiny", 5, []int{16, 4}},
		{"demo-64", 16, []int{64, 64, 64}},
	} {
		b.Run(c.shape, func(b *testing.B) {
			s, _ := circuits.Lookup(c.shape)
			if _, err := sharedKeys.Setup(s); err != nil {
				b.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
			defer cancel()
			w := newWorld(b, ctx, c.shape)
			shapes := make([]string, len(c.dims)-1)
			for i := range shapes {
				shapes[i] = c.shape
			}
			var exec, com, prove, sub, wall float64
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				dir := b.TempDir()
				in, mf := writeFiles(b, dir, uint64(i+1), c.rows, c.dims...)
				start := w.head(b, ctx)
				b.StartTimer()
				t0 := time.Now()
				job, err := w.buyer.PostJob(ctx, sdk.JobRequest{InputFile: in, ModelFile: mf, PublishDir: filepath.Join(dir, "pub"),
					Shapes: shapes, Price: big.NewInt(1e17)})
				if err != nil {
					b.Fatal(err)
				}
				n := w.node(b, ctx, w.config(filepath.Join(dir, "node"), start), nil)
				rec := runUntil(b, ctx, n, job.ID, 10*time.Minute)
				if rec.Step != prover.StepDone {
					b.Fatalf("job ended at %s: %s", rec.Step, rec.Reason)
				}
				wall += float64(time.Since(t0).Milliseconds())
				exec += float64(rec.Timings["executeMs"])
				com += float64(rec.Timings["commitMs"])
				prove += float64(rec.Timings["proveMs"])
				sub += float64(rec.Timings["submitMs"])
			}
			N := float64(b.N)
			b.ReportMetric(exec/N, "execute-ms")
			b.ReportMetric(com/N, "commit-ms")
			b.ReportMetric(prove/N, "prove-ms")
			b.ReportMetric(sub/N, "submit-ms")
			b.ReportMetric(wall/N, "post-to-done-ms")
		})
	}
}
