package model

import (
	"errors"
	"slices"
	"testing"

	"github.com/probitylabs/probity/tensor"
)

// TestPassBlocksEqualOnePass is the KV-cache property of specs/trace.md §2: a causal model's
// rows computed as a prefill and then one row per decode step are, tensor by tensor, bit for
// bit the rows of one pass over the whole sequence (including the masked columns of the
// attention scores and probabilities).
func TestPassBlocksEqualOnePass(t *testing.T) {
	m := randomDecoder(t, DecoderConfig{Vocab: 32, Context: 16, Width: 16, Heads: 2, Blocks: 2}, 11)
	if !m.IsCausal() {
		t.Fatal("the decoder has a non-causal matmul")
	}
	const T = 9
	ids := tensor.NewInt32(T)
	for i := range ids.Data {
		ids.Data[i] = int32((i*13 + 5) % 32)
	}
	whole, err := Run(m, Value{I32: ids})
	if err != nil {
		t.Fatal(err)
	}
	for _, blocks := range [][]int{{4, 5, 6, 7, 8, 9}, {1, 9}, {3, 4, 9}} {
		p, err := NewPass(m, T)
		if err != nil {
			t.Fatal(err)
		}
		for _, hi := range blocks {
			copy(p.Input().I32.Data[p.Rows():hi], ids.Data[p.Rows():hi])
			if err := p.Extend(hi); err != nil {
				t.Fatal(err)
			}
		}
		for id := range whole.Tensors {
			a, b := whole.Tensors[id], p.Tensor(id)
			if (a.I8 != nil && !a.I8.Equal(b.I8)) || (a.I32 != nil && !slices.Equal(a.I32.Data, b.I32.Data)) {
				t.Fatalf("blocks %v: tensor %d differs from the one-pass trace", blocks, id)
			}
		}
	}
}

// TestPassRefusesBlocksOfNonCausalModel: a matmul that reads every row of its operand cannot
// be computed before those rows exist, so such a model runs in one block only.
func TestPassRefusesBlocksOfNonCausalModel(t *testing.T) {
	m := randomDecoder(t, DecoderConfig{Vocab: 8, Context: 8, Width: 4, Heads: 2, Blocks: 1}, 3)
	for i := range m.Ops {
		if m.Ops[i].Kind == KindMatmul {
			m.Ops[i].Causal = false
			break
		}
	}
	p, err := NewPass(m, 4)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Extend(2); err == nil {
		t.Fatal("a non-causal model computed a prefix block")
	}
	if err := p.Extend(4); err != nil {
		t.Fatalf("one block: %v", err)
	}
}

// TestPositionBeyondContext: a sequence longer than the position table is ErrContext, naming
// the first row without a position.
func TestPositionBeyondContext(t *testing.T) {
	m := randomDecoder(t, DecoderConfig{Vocab: 8, Context: 4, Width: 4, Heads: 2, Blocks: 1}, 3)
	_, err := Run(m, Value{I32: tensor.NewInt32(5)})
	if !errors.Is(err, ErrContext) {
		t.Fatalf("T = 5 over a 4-row position table: %v, want ErrContext", err)
	}
	if _, err := Run(m, Value{I32: tensor.NewInt32(4)}); err != nil {
		t.Fatalf("T = 4: %v", err)
	}
}
