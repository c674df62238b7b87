package convert

import (
	"fmt"
	"math"

	"github.com/probitylabs/probity/model"
	"github.com/probitylabs/probity/tensor"
)

// Agreement compares the integer model with the float one on held-out tokens: at every
// position that has a next token, whether both pick the same next token (top-1, the integer
// model's first maximum), and the cross-entropy of the true next token under each (the
// integer logits dequantized with logitScale). Losses are in nats per token.
type Agreement struct {
	Positions int     `json:"positions"`
	Top1      float64 `json:"top1Agreement"`
	FloatLoss float64 `json:"floatLoss"`
	IntLoss   float64 `json:"integerLoss"`
}

// FloatPerplexity and IntPerplexity are exp(loss).
func (a Agreement) FloatPerplexity() float64 { return math.Exp(a.FloatLoss) }
func (a Agreement) IntPerplexity() float64   { return math.Exp(a.IntLoss) }

func (a Agreement) String() string {
	return fmt.Sprintf("top-1 agreement %.1f%% over %d positions; loss %.4f (float) vs %.4f (integer) nats/token, perplexity %.3f vs %.3f",
		100*a.Top1, a.Positions, a.FloatLoss, a.IntLoss, a.FloatPerplexity(), a.IntPerplexity())
}

// Agree measures the agreement over windows of held-out tokens.
func Agree(g *GPT2, m *model.Model, logitScale float64, windows [][]int32) (Agreement, error) {
	var a Agreement
	same := 0
	for _, w := range windows {
		fl, err := g.Forward(w, nil)
		if err != nil {
			return a, err
		}
		tr, err := model.Run(m, model.Value{I32: &tensor.Int32{Shape: []int{len(w)}, Data: w}})
		if err != nil {
			return a, err
		}
		logits := tr.Output().I8
		V := logits.Shape[1]
		for t := 0; t+1 < len(w); t++ {
			row := logits.Data[t*V : (t+1)*V]
			deq := make([]float64, V)
			best := 0
			for v, c := range row {
				deq[v] = float64(c) * logitScale
				if c > row[best] {
					best = v
				}
			}
			if best == argmaxF(fl[t]) {
				same++
			}
			next := int(w[t+1])
			a.FloatLoss += logSumExp(fl[t]) - fl[t][next]
			a.IntLoss += logSumExp(deq) - deq[next]
			a.Positions++
		}
	}
	if a.Positions == 0 {
		return a, fmt.Errorf("agreement: no held-out position has a next token")
	}
	n := float64(a.Positions)
	a.Top1, a.FloatLoss, a.IntLoss = float64(same)/n, a.FloatLoss/n, a.IntLoss/n
	return a, nil
}

func argmaxF(xs []float64) int {
	best := 0
	for i, x := range xs {
		if x > xs[best] {
			best = i
		}
	}
	return best
}

func logSumExp(xs []float64) float64 {
	mx := math.Inf(-1)
	for _, x := range xs {
		mx = math.Max(mx, x)
	}
	var s float64
	for _, x := range xs {
		s += math.Exp(x - mx)
	}
	return mx + math.Log(s)
}
