package tensor

import (
	"errors"
	"math"
	"math/big"
	"path/filepath"
	"testing"

	"github.com/probitylabs/probity/protocol"
)

// refLinear is §3.2 in big integers, one element at a time.
func refLinear(a *Int8, l Layer) (*Int8, error) {
	M, K := a.Shape[0], a.Shape[1]
	N := l.Weight.Shape[0]
	out := NewInt8(M, N)
	e := l.Epilogue
	for i := range M {
		for j := range N {
			acc := big.NewInt(int64(l.Bias.Data[j]))
			for t := range K {
				acc.Add(acc, big.NewInt(int64(a.Data[i*K+t])*int64(l.Weight.Data[j*K+t])))
			}
			if !acc.IsInt64() || acc.Int64() < -1<<31 || acc.Int64() >= 1<<31 {
				return nil, &OverflowError{Row: i, Col: j}
			}
			y := new(big.Int).Mul(acc, big.NewInt(int64(e.Multiplier)))
			y.Add(y, new(big.Int).Lsh(big.NewInt(1), uint(e.Shift-1)))
			y.Div(y, new(big.Int).Lsh(big.NewInt(1), uint(e.Shift)))
			y.Add(y, big.NewInt(int64(e.ZeroPoint)))
			lo := int64(-128)
			if e.ReLU {
				lo = int64(e.ZeroPoint)
			}
			v := min(max(y.Int64(), lo), 127)
			out.Data[i*N+j] = int8(v)
		}
	}
	return out, nil
}

func TestLinearMatchesReference(t *testing.T) {
	m, err := RandomModel(5, 70, 33, 9)
	if err != nil {
		t.Fatal(err)
	}
	x := RandomInput(6, 13, 70)
	outs, err := m.Run(x)
	if err != nil {
		t.Fatal(err)
	}
	cur := x
	for l, ly := range m.Layers {
		want, err := refLinear(cur, ly)
		if err != nil {
			t.Fatal(err)
		}
		if !outs[l].Equal(want) {
			t.Fatalf("layer %d differs from the big-integer reference", l)
		}
		// Well scaled: neither all clamped nor constant.
		distinct := map[int8]bool{}
		clamped := 0
		for _, v := range want.Data {
			distinct[v] = true
			if v == 127 || v == -128 {
				clamped++
			}
		}
		if len(distinct) < 10 || clamped > len(want.Data)/4 {
			t.Fatalf("layer %d badly scaled: %d distinct values, %d of %d clamped", l, len(distinct), clamped, len(want.Data))
		}
		cur = want
	}
}

func TestLinearOverflow(t *testing.T) {
	K := 140000 // 140000 * 127 * 127 > 2^31
	a := NewInt8(2, K)
	w := NewInt8(3, K)
	for i := range a.Data {
		a.Data[i] = 127
	}
	for i := range w.Data[K:] {
		w.Data[K+i] = 127 // column 1 overflows
	}
	_, err := Linear(a, Layer{Weight: w, Bias: NewInt32(3), Epilogue: protocol.Epilogue{Multiplier: 1, Shift: 1}})
	var oe *OverflowError
	if !errors.As(err, &oe) || !errors.Is(err, ErrOverflow) || oe.Row != 0 || oe.Col != 1 {
		t.Fatalf("err = %v", err)
	}
	// Exactly at the boundary: -2^31 is allowed.
	a2 := &Int8{Shape: []int{1, 1}, Data: []int8{1}}
	w2 := &Int8{Shape: []int{1, 1}, Data: []int8{-1}}
	b2 := &Int32{Shape: []int{1}, Data: []int32{-1<<31 + 1}}
	if _, err := Linear(a2, Layer{Weight: w2, Bias: b2, Epilogue: protocol.Epilogue{Multiplier: 1, Shift: 1}}); err != nil {
		t.Fatalf("acc = -2^31 rejected: %v", err)
	}
}

func TestLinearRejectsShapes(t *testing.T) {
	ep := protocol.Epilogue{Multiplier: 1, Shift: 1}
	if _, err := Linear(NewInt8(2, 3), Layer{Weight: NewInt8(4, 5), Bias: NewInt32(4), Epilogue: ep}); !errors.Is(err, ErrShape) {
		t.Fatalf("K mismatch: %v", err)
	}
	if _, err := Linear(NewInt8(2, 5), Layer{Weight: NewInt8(4, 5), Bias: NewInt32(3), Epilogue: ep}); !errors.Is(err, ErrShape) {
		t.Fatalf("bias mismatch: %v", err)
	}
	if _, err := Linear(NewInt8(2, 5), Layer{Weight: NewInt8(4, 5), Bias: NewInt32(4)}); !errors.Is(err, protocol.ErrEpilogue) {
		t.Fatalf("zero epilogue: %v", err)
	}
}

func TestModelRoundTrip(t *testing.T) {
	m, err := RandomModel(8, 16, 12, 4)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "model.safetensors")
	if err := SaveModel(path, m); err != nil {
		t.Fatal(err)
	}
	got, err := LoadModel(path)
	if err != nil {
		t.Fatal(err)
	}
	for l := range m.Layers {
		if !got.Layers[l].Weight.Equal(m.Layers[l].Weight) || got.Layers[l].Epilogue != m.Layers[l].Epilogue {
			t.Fatalf("layer %d changed", l)
		}
	}
	// A model missing an epilogue field is refused.
	b, _ := m.Builder()
	delete(b.Metadata, "layers.1.relu")
	bad := filepath.Join(dir, "bad.safetensors")
	if err := b.WriteFile(bad); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadModel(bad); !errors.Is(err, ErrModel) {
		t.Fatalf("missing relu: %v", err)
	}
	// Layers that do not chain are refused.
	m.Layers[1], m.Layers[0] = m.Layers[0], m.Layers[1]
	if err := SaveModel(bad, m); !errors.Is(err, ErrShape) {
		t.Fatalf("unchained layers: %v", err)
	}
	x := RandomInput(1, 3, 16)
	xp := filepath.Join(dir, "x.safetensors")
	if err := SaveActivations(xp, x); err != nil {
		t.Fatal(err)
	}
	if gx, err := LoadActivations(xp); err != nil || !gx.Equal(x) {
		t.Fatalf("activations: %v", err)
	}
}

func TestRandomDeterministic(t *testing.T) {
	a, _ := RandomModel(4, 8, 8)
	b, _ := RandomModel(4, 8, 8)
	if !a.Layers[0].Weight.Equal(b.Layers[0].Weight) || a.Layers[0].Epilogue != b.Layers[0].Epilogue {
		t.Fatal("RandomModel is not deterministic")
	}
	if !RandomInput(3, 4, 5).Equal(RandomInput(3, 4, 5)) {
		t.Fatal("RandomInput is not deterministic")
	}
}

func benchmarkLinear(b *testing.B, M, K, N int) {
	m, err := RandomModel(1, K, N)
	if err != nil {
		b.Fatal(err)
	}
	x := RandomInput(2, M, K)
	b.ResetTimer()
	for range b.N {
		if _, err := Linear(x, m.Layers[0]); err != nil {
			b.Fatal(err)
		}
	}
	ops := 2 * float64(M) * float64(K) * float64(N) * float64(b.N)
	b.ReportMetric(ops/b.Elapsed().Seconds()/1e9, "GOPS")
}

func BenchmarkLinear256(b *testing.B)  { benchmarkLinear(b, 256, 256, 256) }
func BenchmarkLinear4096(b *testing.B) { benchmarkLinear(b, 64, 4096, 4096) }

// CheckNoOverflow is exact at the int32 edge: a column whose extreme accumulator is
// 2^31 - 1 passes, one more fails, and the reported extreme is what Linear computes on the
// extreme input.
func TestCheckNoOverflowEdge(t *testing.T) {
	w := NewInt8(1, 4)
	copy(w.Data, []int8{100, -100, 7, 0})
	b := NewInt32(1)
	// hi = b + 127*107 + 128*100
	hi := int64(127*107 + 128*100)
	b.Data[0] = int32(math.MaxInt32 - hi)
	l := Layer{Weight: w, Bias: b, Epilogue: protocol.Epilogue{Multiplier: 1 << 30, Shift: 31}}
	if err := l.CheckNoOverflow(); err != nil {
		t.Fatalf("at the edge: %v", err)
	}
	x := NewInt8(1, 4)
	copy(x.Data, []int8{127, -128, 127, 0})
	if _, err := Linear(x, l); err != nil {
		t.Fatalf("the extreme input overflows although the bound passed: %v", err)
	}
	b.Data[0]++
	var oe *OverflowError
	if err := l.CheckNoOverflow(); !errors.As(err, &oe) || oe.Row != -1 || oe.Col != 0 || oe.Acc != math.MaxInt32+1 {
		t.Fatalf("one past the edge: %v", err)
	}
	if _, err := Linear(x, l); !errors.Is(err, ErrOverflow) {
		t.Fatalf("Linear on the extreme input: %v, want overflow", err)
	}
	// The low side: negative weights at x = 127, positive at -128.
	b.Data[0] = int32(math.MinInt32 + 128*107 + 127*100)
	if err := l.CheckNoOverflow(); err != nil {
		t.Fatalf("at the low edge: %v", err)
	}
	b.Data[0]--
	if err := l.CheckNoOverflow(); !errors.As(err, &oe) || oe.Acc != math.MinInt32-1 {
		t.Fatalf("one below the low edge: %v", err)
	}
}
