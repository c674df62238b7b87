// Package modeltest builds models for tests of the packages above model: a GPT-2-style
// decoder (model.Decoder) with parameters drawn from a seeded stream, in ranges that keep
// activations away from saturation so that a changed element shows downstream.
package modeltest

import (
	"math/rand/v2"

	"github.com/probitylabs/probity/model"
)

// Decoder returns model.Decoder(c) with seeded random weights, biases, multipliers and norm
// parameters.
func Decoder(c model.DecoderConfig, seed uint64) (*model.Model, error) {
	m, err := model.Decoder(c)
	if err != nil {
		return nil, err
	}
	r := rand.New(rand.NewPCG(seed, 2))
	for i := range m.Ops {
		op := &m.Ops[i]
		switch op.Kind {
		case model.KindEmbed, model.KindPosition:
			for k := range op.Weight.Data {
				op.Weight.Data[k] = int8(r.IntN(161) - 80)
			}
		case model.KindLinear:
			K := op.Weight.Shape[1]
			for k := range op.Weight.Data {
				op.Weight.Data[k] = int8(r.IntN(255) - 127)
			}
			// acc ~ sqrt(K)·40·73 for inputs of about ±40: scale it to about ±60 at shift 38.
			for k := range op.Bias.Data {
				op.Bias.Data[k] = int32(r.IntN(4001) - 2000)
				op.Scales.Data[k] = int32(min(1<<31-1, 60*(1<<38)/(6000*isqrt(K))*int64(900+r.IntN(200))/1000))
			}
		case model.KindLayerNorm, model.KindRMSNorm:
			for k := range op.Gamma.Data {
				op.Gamma.Data[k] = int32(15 + r.IntN(16)) // output scale about 1/20 at shift 12
				op.Beta.Data[k] = int32(r.IntN(21) - 10)
			}
		}
	}
	return m, nil
}

func isqrt(k int) int64 {
	s := int64(1)
	for (s+1)*(s+1) <= int64(k) {
		s++
	}
	return s
}
