package circuits

import (
	"errors"
	"fmt"
	"math/big"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/consensys/gnark/frontend"

	"github.com/probitylabs/probity/commit"
	"github.com/probitylabs/probity/tensor"
)

var (
	// ErrInputs reports inputs that do not fit the shape (dimensions, ranges, seed).
	ErrInputs = errors.New("invalid prover inputs")
	// ErrSample reports a sampled element whose committed output is not the layer function
	// of its committed operands: the output tensor is wrong there.
	ErrSample = errors.New("sampled output element is wrong")
)

// SampleError names the failing sample: sample S at output position (I, J).
type SampleError struct {
	S, I, J  int
	Expected int8  // the layer function of the committed operands
	Got      int8  // the committed output element
	Acc      int64 // the accumulator, for diagnosis
	Reason   string
}

func (e *SampleError) Error() string {
	if e.Reason != "" {
		return fmt.Sprintf("%v: sample %d at (%d, %d): %s", ErrSample, e.S, e.I, e.J, e.Reason)
	}
	return fmt.Sprintf("%v: sample %d at (%d, %d): expected %d, got %d (acc %d)", ErrSample, e.S, e.I, e.J, e.Expected, e.Got, e.Acc)
}

func (e *SampleError) Unwrap() error { return ErrSample }

// Inputs is what a prover holds for one layer of a job.
type Inputs struct {
	Shape  Shape
	Input  *tensor.Int8 // A, [M, K]
	Layer  tensor.Layer // W [N, K], b [N], epilogue
	Output *tensor.Int8 // the claimed output, [M, N]
	Seed   *big.Int     // seed_l, below R
}

// Witness is a full assignment of the layer circuit plus what it was derived from.
type Witness struct {
	Shape        Shape
	Assignment   *LayerCircuit
	PublicInputs [5]*big.Int // [inputRoot, weightsRoot, outputRoot, seed_l, epilogue]
	Samples      []commit.Sample
	M            int
}

// BuildWitness commits the three tensors, derives the samples from the seed and assembles the
// assignment. Before anything reaches the prover it checks every sample natively (openings
// and the layer function), so a wrong output fails here with a *SampleError naming the sample
// instead of as an unsatisfied constraint.
func BuildWitness(in Inputs) (*Witness, error) {
	s := in.Shape
	if err := s.Validate(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInputs, err)
	}
	if in.Input == nil || in.Output == nil {
		return nil, fmt.Errorf("%w: missing input or output tensor", ErrInputs)
	}
	K, N, err := in.Layer.Dims()
	if err != nil {
		return nil, fmt.Errorf("%w: layer: %w", ErrInputs, err)
	}
	if K != int(s.K) || N != int(s.N) {
		return nil, fmt.Errorf("%w: layer is %dx%d, shape %s wants N=%d, K=%d", ErrInputs, N, K, s, s.N, s.K)
	}
	M, Ka, err := in.Input.Matrix()
	if err != nil {
		return nil, fmt.Errorf("%w: input: %w", ErrInputs, err)
	}
	Mo, No, err := in.Output.Matrix()
	if err != nil {
		return nil, fmt.Errorf("%w: output: %w", ErrInputs, err)
	}
	if Ka != K || Mo != M || No != N {
		return nil, fmt.Errorf("%w: input [%d,%d] and output [%d,%d] do not fit layer K=%d, N=%d", ErrInputs, M, Ka, Mo, No, K, N)
	}
	if M < 1 || M > 1<<s.D {
		return nil, fmt.Errorf("%w: M = %d rows not in [1, 2^%d]", ErrInputs, M, s.D)
	}
	seed, err := commit.FromBig(in.Seed)
	if err != nil {
		return nil, fmt.Errorf("%w: seed: %w", ErrInputs, err)
	}

	ta, err := commit.CommitActivations(in.Input, int(s.D))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInputs, err)
	}
	tw, err := commit.CommitLayer(in.Layer.Weight, in.Layer.Bias)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInputs, err)
	}
	to, err := commit.CommitActivations(in.Output, int(s.D))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInputs, err)
	}

	a := NewLayerCircuit(s)
	pub := [5]*big.Int{
		commit.ToBig(ta.Root()), commit.ToBig(tw.Root()), commit.ToBig(to.Root()),
		new(big.Int).Set(in.Seed), in.Layer.Epilogue.Word(),
	}
	a.InputRoot, a.WeightsRoot, a.OutputRoot, a.Seed, a.Epilogue = pub[0], pub[1], pub[2], pub[3], pub[4]
	a.M = M
	a.TA, a.TW, a.TO = big_(ta.TreeRoot()), big_(tw.TreeRoot()), big_(to.TreeRoot())

	samples := commit.Samples(seed, int(s.Kn), M, N)
	for si, smp := range samples {
		oa, err := ta.Open(smp.I)
		if err != nil {
			return nil, fmt.Errorf("sample %d: %w", si, err)
		}
		ow, err := tw.Open(smp.J)
		if err != nil {
			return nil, fmt.Errorf("sample %d: %w", si, err)
		}
		oo, err := to.Open(smp.I)
		if err != nil {
			return nil, fmt.Errorf("sample %d: %w", si, err)
		}
		if err := checkSample(si, smp, K, N, int(s.D), ta, tw, to, oa, ow, oo, in); err != nil {
			return nil, err
		}
		sw := &a.Samples[si]
		fill(sw.A, oa.Leaf)
		fill(sw.ASib, oa.Siblings)
		fill(sw.W, ow.Leaf[:len(ow.Leaf)-1])
		sw.Bias = big_(ow.Leaf[len(ow.Leaf)-1])
		fill(sw.WSib, ow.Siblings)
		fill(sw.O, oo.Leaf)
		fill(sw.OSib, oo.Siblings)
	}
	return &Witness{Shape: s, Assignment: a, PublicInputs: pub, Samples: samples, M: M}, nil
}

// checkSample replays what the circuit checks for one sample, on the openings themselves.
func checkSample(si int, smp commit.Sample, K, N, D int, ta, tw, to *commit.Tree, oa, ow, oo *commit.Opening, in Inputs) error {
	fail := func(err error) error {
		return &SampleError{S: si, I: smp.I, J: smp.J, Reason: err.Error()}
	}
	if err := commit.VerifyOpening(ta.Root(), commit.KindActivations, ta.Rows(), K, D, oa); err != nil {
		return fail(fmt.Errorf("input opening: %w", err))
	}
	if err := commit.VerifyOpening(tw.Root(), commit.KindLayer, N, K, tw.Depth(), ow); err != nil {
		return fail(fmt.Errorf("weights opening: %w", err))
	}
	if err := commit.VerifyOpening(to.Root(), commit.KindActivations, to.Rows(), N, D, oo); err != nil {
		return fail(fmt.Errorf("output opening: %w", err))
	}
	la, _ := commit.UnpackLeaf(commit.KindActivations, K, oa.Leaf)
	lw, _ := commit.UnpackLeaf(commit.KindLayer, K, ow.Leaf)
	lo, _ := commit.UnpackLeaf(commit.KindActivations, N, oo.Leaf)
	acc := int64(lw.Bias)
	for t := range K {
		acc += int64(la.Row[t]) * int64(lw.Row[t])
	}
	got := lo.Row[smp.J]
	if acc < -1<<31 || acc >= 1<<31 {
		return &SampleError{S: si, I: smp.I, J: smp.J, Got: got, Acc: acc, Reason: fmt.Sprintf("accumulator %d outside int32", acc)}
	}
	want := in.Layer.Epilogue.Apply(int32(acc))
	if want != got {
		return &SampleError{S: si, I: smp.I, J: smp.J, Expected: want, Got: got, Acc: acc}
	}
	return nil
}

func fill(dst []frontend.Variable, src []fr.Element) {
	for i := range dst {
		dst[i] = big_(src[i])
	}
}

func big_(e fr.Element) *big.Int { return commit.ToBig(e) }
