//go:build heavy

package circuits

import (
	"bytes"
	"math/big"
	"math/rand/v2"
	"syscall"
	"testing"
	"time"

	"github.com/consensys/gnark-crypto/ecc"
	"github.com/consensys/gnark/backend/groth16"
	"github.com/consensys/gnark/frontend"
)

func maxRSSMB() float64 {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return float64(ru.Maxrss) / 1024
}

// benchShape measures one catalogue shape: constraints, setup, prove, verify, key sizes and
// the process's peak RSS. Run with -benchtime=1x (each iteration proves once).
func benchShape(b *testing.B, name string, M int) {
	s, err := Lookup(name)
	if err != nil {
		b.Fatal(err)
	}
	t0 := time.Now()
	ccs, err := Compile(s)
	if err != nil {
		b.Fatal(err)
	}
	compile := time.Since(t0)
	t0 = time.Now()
	pk, vk, err := groth16.Setup(ccs)
	if err != nil {
		b.Fatal(err)
	}
	setup := time.Since(t0)
	keys := &Keys{Shape: s, CCS: ccs, PK: pk, VK: vk}
	var pkb, vkb bytes.Buffer
	pk.WriteTo(&pkb)
	vk.WriteTo(&vkb)
	in, err := RandomInputs(s, M, rand.New(rand.NewPCG(1, 1)), big.NewInt(77), true)
	if err != nil {
		b.Fatal(err)
	}
	w, err := BuildWitness(in)
	if err != nil {
		b.Fatal(err)
	}
	var p *Proof
	b.ResetTimer()
	for range b.N {
		if p, err = ProveWitness(keys, w); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	t0 = time.Now()
	const nv = 20
	for range nv {
		if err := Verify(vk, p, p.PublicInputs); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(ccs.GetNbConstraints()), "constraints")
	b.ReportMetric(compile.Seconds(), "compile_s")
	b.ReportMetric(setup.Seconds(), "setup_s")
	b.ReportMetric(float64(time.Since(t0).Microseconds())/nv/1000, "verify_ms")
	b.ReportMetric(float64(pkb.Len())/1e6, "pk_MB")
	b.ReportMetric(float64(vkb.Len()), "vk_B")
	b.ReportMetric(maxRSSMB(), "peakRSS_MB")
}

func BenchmarkTiny(b *testing.B)   { benchShape(b, "tiny", 8) }
func BenchmarkDemo64(b *testing.B) { benchShape(b, "demo-64", 16) }
func BenchmarkMLP256(b *testing.B) { benchShape(b, "mlp-256", 1024) }

// BenchmarkLLM4096Compile only compiles: setup and proving keys at 4M constraints exceed
// what a 2-core development machine does in reasonable time.
func BenchmarkLLM4096Compile(b *testing.B) {
	s, _ := Lookup("llm-4096")
	for range b.N {
		ccs, err := Compile(s)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(ccs.GetNbConstraints()), "constraints")
	}
	b.ReportMetric(maxRSSMB(), "peakRSS_MB")
}

// Side by side: the sampled circuit against one circuit that checks every output element of
// the same layer (demo-64 dimensions, M = 16) against the same commitments.
func BenchmarkFullVsSampledDemo64(b *testing.B) {
	s, _ := Lookup("demo-64")
	const M = 16
	in, err := RandomInputs(s, M, rand.New(rand.NewPCG(1, 1)), big.NewInt(5), true)
	if err != nil {
		b.Fatal(err)
	}
	full := newFullLayerCircuit(s, M)
	t0 := time.Now()
	ccs, err := compileCircuit(full, "full demo-64")
	if err != nil {
		b.Fatal(err)
	}
	compile := time.Since(t0)
	t0 = time.Now()
	pk, vk, err := groth16.Setup(ccs)
	if err != nil {
		b.Fatal(err)
	}
	setup := time.Since(t0)
	a, pub := assignFull(b, in)
	wit, err := frontend.NewWitness(a, ecc.BN254.ScalarField())
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	var pr groth16.Proof
	for range b.N {
		if pr, err = groth16.Prove(ccs, pk, wit); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	if err := Verify(vk, &Proof{Groth16: pr}, pub); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(ccs.GetNbConstraints()), "constraints")
	b.ReportMetric(compile.Seconds(), "compile_s")
	b.ReportMetric(setup.Seconds(), "setup_s")
	b.ReportMetric(maxRSSMB(), "peakRSS_MB")
}

// benchProveCached measures proving alone, with keys from the default key cache (the first
// run pays the setup once). Run with -benchtime=3x on a quiet machine.
func benchProveCached(b *testing.B, name string, M int) {
	s, _ := Lookup(name)
	keys, err := Setup(s)
	if err != nil {
		b.Fatal(err)
	}
	in, err := RandomInputs(s, M, rand.New(rand.NewPCG(1, 1)), big.NewInt(77), true)
	if err != nil {
		b.Fatal(err)
	}
	w, err := BuildWitness(in)
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for range b.N {
		if _, err := ProveWitness(keys, w); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(maxRSSMB(), "peakRSS_MB")
}

func BenchmarkProveCachedDemo64(b *testing.B) { benchProveCached(b, "demo-64", 16) }
func BenchmarkProveCachedMLP256(b *testing.B) { benchProveCached(b, "mlp-256", 1024) }
