package jobs

import (
	"testing"

	"github.com/probitylabs/probity/model"
	"github.com/probitylabs/probity/model/modeltest"
)

// benchGenerate measures the reference executor on a decoder of config c: a prompt of P
// tokens and n new ones (the prefill, then n-1 KV-cached decode steps), reported as generated
// tokens per second. The job check (model root) is outside the timing.
func benchGenerate(b *testing.B, c model.DecoderConfig, P, n int) {
	m, err := modeltest.Decoder(c, 1)
	if err != nil {
		b.Fatal(err)
	}
	j := &GenJob{Prompt: make([]int32, P), New: n}
	for i := range j.Prompt {
		j.Prompt[i] = int32(i * 7 % c.Vocab)
	}
	// The job is not checked (no model root: the weights are random, so the job has none).
	ck := &Checked{Model: m, Job: j, Vocab: c.Vocab}
	b.ResetTimer()
	for range b.N {
		if _, _, err := ck.Generate(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "tokens/s")
}

// BenchmarkGenerateKJV is the shipped model's shape (testdata/models/kjv-gpt2): byte-level,
// context 128, width 64, 4 heads, 2 blocks; a 16-byte prompt and 64 new bytes.
func BenchmarkGenerateKJV(b *testing.B) {
	benchGenerate(b, model.DecoderConfig{Vocab: 256, Context: 128, Width: 64, Heads: 4, Blocks: 2}, 16, 64)
}

// BenchmarkGenerateGPT2Small is GPT-2 small's shape (124M parameters: vocabulary 50257,
// context 1024, width 768, 12 heads, 12 blocks) with a 32-token prompt and 16 new tokens.
func BenchmarkGenerateGPT2Small(b *testing.B) {
	if testing.Short() {
		b.Skip("GPT-2 small: 124M parameters")
	}
	benchGenerate(b, model.DecoderConfig{Vocab: 50257, Context: 1024, Width: 768, Heads: 12, Blocks: 12}, 32, 16)
}
