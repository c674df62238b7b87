package verifier

import (
	"errors"
	"fmt"
	"math"
	"os"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"

	"github.com/probitylabs/probity/circuits"
	"github.com/probitylabs/probity/commit"
	"github.com/probitylabs/probity/jobs"
	"github.com/probitylabs/probity/receipt"
	"github.com/probitylabs/probity/tensor"
)

// TensorFiles locates a job's tensors for the optional recomputation check.
type TensorFiles struct {
	Input string // activation file (tensor "x", spec §3.1)
	Model string // model file (spec §3.1)
	// Outputs, when given, are layer l's output files (jobs.OutputPath). Without them the model is
	// run, which checks every element; with them only the k sampled elements per layer are
	// recomputed, as the circuit does, which stays cheap for big layers.
	Outputs []string
}

// TensorDir returns the TensorFiles of a job directory laid out as package jobs says: the
// directory a buyer published (input and model) and a provider's work directory, whose
// out/layer-<l>.safetensors are what its executor wrote.
func TensorDir(dir string) (*TensorFiles, error) {
	d := jobs.Dir(dir)
	tf := &TensorFiles{Input: d.Input(), Model: d.Model()}
	for _, p := range []string{tf.Input, tf.Model} {
		if _, err := os.Stat(p); err != nil {
			return nil, fmt.Errorf("tensor directory: %w", err)
		}
	}
	tf.Outputs = d.OutputPaths()
	return tf, nil
}

func (a *audit) tensors() {
	if a.opts.Tensors == nil {
		a.r.skip(CheckTensors, "no tensor files given")
		return
	}
	detail, err := checkTensors(a.rc, a.opts.Tensors)
	if err != nil {
		a.r.fail(CheckTensors, ErrTensors, err)
		return
	}
	a.r.pass(CheckTensors, detail)
}

func checkTensors(rc *receipt.Receipt, tf *TensorFiles) (string, error) {
	x, err := tensor.LoadActivations(tf.Input)
	if err != nil {
		return "", err
	}
	model, err := tensor.LoadModel(tf.Model)
	if err != nil {
		return "", err
	}
	if len(model.Layers) != len(rc.Job.Layers) {
		return "", fmt.Errorf("model has %d layers, job has %d", len(model.Layers), len(rc.Job.Layers))
	}
	if len(tf.Outputs) != 0 && len(tf.Outputs) != len(model.Layers) {
		return "", fmt.Errorf("%d output files for %d layers", len(tf.Outputs), len(model.Layers))
	}
	shapes := make([]circuits.Shape, len(rc.Job.Layers))
	for l, ly := range rc.Job.Layers {
		if shapes[l], err = circuits.ByID(ly.ShapeID); err != nil {
			return "", fmt.Errorf("layer %d: %w", l, err)
		}
	}
	D := int(shapes[0].D)
	if M := x.Rows(); M != int(rc.Job.Rows) {
		return "", fmt.Errorf("input has %d rows, job says %d", M, rc.Job.Rows)
	}
	if err := compareRoot("inputRoot", rc.Job.InputRoot, func() (*commit.Tree, error) { return commit.CommitActivations(x, D) }); err != nil {
		return "", err
	}
	var outs []*tensor.Int8
	if len(tf.Outputs) == 0 {
		if outs, err = model.Run(x); err != nil {
			return "", fmt.Errorf("running the model: %w", err)
		}
	}
	cur := x
	sampled := 0
	for l, ly := range model.Layers {
		name := fmt.Sprintf("layers[%d]", l)
		if err := compareRoot(name+".weightsRoot", rc.Job.Layers[l].WeightsRoot, func() (*commit.Tree, error) {
			return commit.CommitLayer(ly.Weight, ly.Bias)
		}); err != nil {
			return "", err
		}
		if w := receipt.MustWord(ly.Epilogue.Word()); w != rc.Job.Layers[l].Epilogue {
			return "", fmt.Errorf("%s.epilogue: model file gives %s, job says %s", name, w, rc.Job.Layers[l].Epilogue)
		}
		var out *tensor.Int8
		if outs != nil {
			out = outs[l]
		} else if out, err = jobs.LoadOutput(tf.Outputs[l]); err != nil {
			return "", err
		}
		if err := compareRoot(fmt.Sprintf("outputRoots[%d]", l), rc.OutputRoots[l], func() (*commit.Tree, error) {
			return commit.CommitActivations(out, D)
		}); err != nil {
			return "", err
		}
		n, err := checkSamples(rc, l, shapes[l], cur, ly, out)
		if err != nil {
			return "", err
		}
		sampled += n
		cur = out
	}
	how := "model run in full"
	if outs == nil {
		how = "output files"
	}
	return fmt.Sprintf("roots recomputed from the files (%s); %d sampled elements recomputed", how, sampled), nil
}

func compareRoot(name string, want receipt.Word, build func() (*commit.Tree, error)) error {
	t, err := build()
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	root := t.Root()
	got := receipt.MustWord(commit.ToBig(root))
	if got != want {
		return fmt.Errorf("%s: files commit to %s, receipt says %s", name, got, want)
	}
	return nil
}

var errSample = errors.New("sampled element wrong")

// checkSamples derives the layer's samples from seed_l (spec §6.3) and recomputes each sampled
// output element with the layer function of §3.2.
func checkSamples(rc *receipt.Receipt, l int, s circuits.Shape, in *tensor.Int8, ly tensor.Layer, out *tensor.Int8) (int, error) {
	var seedL fr.Element
	if err := seedL.SetBytesCanonical(rc.Proofs[l].PublicInputs[3][:]); err != nil {
		return 0, fmt.Errorf("layer %d seed: %w", l, err)
	}
	M := in.Rows()
	N, K, err := ly.Weight.Matrix()
	if err != nil {
		return 0, err
	}
	for _, sm := range commit.Samples(seedL, int(s.Kn), M, N) {
		acc := int64(ly.Bias.Data[sm.J])
		a, w := in.Row(sm.I), ly.Weight.Data[sm.J*K:(sm.J+1)*K]
		for t := range K {
			acc += int64(a[t]) * int64(w[t])
		}
		if acc < math.MinInt32 || acc > math.MaxInt32 {
			return 0, fmt.Errorf("layer %d sample (%d, %d): accumulator %d leaves int32", l, sm.I, sm.J, acc)
		}
		if want, got := ly.Epilogue.Apply(int32(acc)), out.At(sm.I, sm.J); want != got {
			return 0, fmt.Errorf("%w: layer %d (%d, %d): output has %d, layer function gives %d", errSample, l, sm.I, sm.J, got, want)
		}
	}
	return int(s.Kn), nil
}
