package ops

import (
	"testing"

	"github.com/probitylabs/probity/protocol"
	"github.com/probitylabs/probity/tensor"
)

// GPT-2-small-like sizes: d = 768, 12 heads of 64, MLP width 3072, a 128-token context.
const (
	benchT, benchD, benchH, benchFF = 128, 768, 12, 3072
	benchHead                       = benchD / benchH
)

// reportMACs reports multiply-accumulates per second, the figure comparable across sizes.
func reportMACs(b *testing.B, macs int) {
	b.ReportMetric(float64(macs)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GMAC/s")
}

// BenchmarkLinear is the MLP up-projection: [128, 768] by [3072, 768]ᵀ.
func BenchmarkLinear(b *testing.B) {
	rng := &SplitMix64{State: 10}
	a, w := randInt8(rng, benchT, benchD), randInt8(rng, benchFF, benchD)
	bias := tensor.NewInt32(benchFF)
	ms := make([]uint32, benchFF)
	for j := range ms {
		ms[j] = 1<<20 + uint32(j)
	}
	p := LinearParams{Multipliers: ms, Shift: 40}
	b.ResetTimer()
	for range b.N {
		if _, err := Linear(a, w, bias, p); err != nil {
			b.Fatal(err)
		}
	}
	reportMACs(b, benchT*benchD*benchFF)
}

// BenchmarkMatmulScores is one head's attention scores Q·Kᵀ: [128, 64] by [128, 64]ᵀ.
func BenchmarkMatmulScores(b *testing.B) {
	rng := &SplitMix64{State: 11}
	q, k := randInt8(rng, benchT, benchHead), randInt8(rng, benchT, benchHead)
	p := MatmulParams{TransB: true, Epilogue: protocol.Epilogue{Multiplier: 1 << 20, Shift: 32}}
	b.ResetTimer()
	for range b.N {
		if _, err := Matmul(q, k, p); err != nil {
			b.Fatal(err)
		}
	}
	reportMACs(b, benchT*benchHead*benchT)
}

// BenchmarkMatmulSquare is a [128, 768] by [768, 768] activation product, linear-sized, to
// compare the int16 kernel with tensor.Linear's int8 one.
func BenchmarkMatmulSquare(b *testing.B) {
	rng := &SplitMix64{State: 12}
	x, y := randInt8(rng, benchT, benchD), randInt8(rng, benchD, benchD)
	p := MatmulParams{ZeroA: -128, Epilogue: protocol.Epilogue{Multiplier: 1 << 20, Shift: 40}}
	b.ResetTimer()
	for range b.N {
		if _, err := Matmul(x, y, p); err != nil {
			b.Fatal(err)
		}
	}
	reportMACs(b, benchT*benchD*benchD)
}

// BenchmarkSoftmax is causal softmax over all 12 heads' scores: 12·128 rows of 128.
func BenchmarkSoftmax(b *testing.B) {
	rng := &SplitMix64{State: 13}
	x := randInt8(rng, benchH*benchT, benchT)
	p := SoftmaxParams{Table: expTab(0.05)}
	b.SetBytes(int64(len(x.Data)))
	b.ResetTimer()
	for range b.N {
		if _, err := Softmax(x, p); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLayerNorm normalizes 128 rows of 768.
func BenchmarkLayerNorm(b *testing.B) {
	rng := &SplitMix64{State: 14}
	x := randInt8(rng, benchT, benchD)
	g, bb := tensor.NewInt32(benchD), tensor.NewInt32(benchD)
	for j := range g.Data {
		g.Data[j] = 4096
	}
	b.SetBytes(int64(len(x.Data)))
	b.ResetTimer()
	for range b.N {
		if _, err := LayerNorm(x, NormParams{Gamma: g, Beta: bb, Shift: 16}); err != nil {
			b.Fatal(err)
		}
	}
}
