package circuits

import (
	"errors"
	"math/big"
	"testing"

	"github.com/consensys/gnark-crypto/ecc"
	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/consensys/gnark/frontend"
	"github.com/consensys/gnark/test"

	"github.com/probitylabs/probity/commit"
	"github.com/probitylabs/probity/protocol"
)

// rawLayer is a layer given by its leaf elements rather than tensors, so tests can commit to
// leaves no honest packer produces (bytes past the row, bias >= 2^32) and still get roots
// that are consistent with them: the circuit, not the commitment code, must reject them.
type rawLayer struct {
	s          Shape
	M          int
	A, O       [][]fr.Element // M leaves each
	W          [][]fr.Element // N leaves: packed weights then the bias element
	seed       fr.Element
	word       *big.Int
	forceRow   map[int]int // sample -> row opened instead of the derived one
	rootsSwap  bool
	assignedM  int
	siblingBug bool
}

func rawFromInputs(t *testing.T, in Inputs) *rawLayer {
	t.Helper()
	M := in.Input.Rows()
	r := &rawLayer{s: in.Shape, M: M, word: in.Layer.Epilogue.Word(), assignedM: M}
	for i := range M {
		r.A = append(r.A, commit.PackRow(in.Input.Row(i)))
		r.O = append(r.O, commit.PackRow(in.Output.Row(i)))
	}
	for j := range int(in.Shape.N) {
		r.W = append(r.W, commit.LeafLayer(in.Layer.Weight.Row(j), in.Layer.Bias.Data[j]))
	}
	var err error
	if r.seed, err = commit.FromBig(in.Seed); err != nil {
		t.Fatal(err)
	}
	return r
}

// tree returns all levels of a depth-d tree over the leaves (padding leaves are 0).
func tree(leaves [][]fr.Element, d int) [][]fr.Element {
	lv := make([][]fr.Element, d+1)
	lv[0] = make([]fr.Element, 1<<d)
	for i, l := range leaves {
		lv[0][i] = commit.Hash(commit.TagLeaf, l...)
	}
	for h := 1; h <= d; h++ {
		lv[h] = make([]fr.Element, 1<<(d-h))
		for i := range lv[h] {
			lv[h][i] = commit.Node(lv[h-1][2*i], lv[h-1][2*i+1])
		}
	}
	return lv
}

func siblings(lv [][]fr.Element, i int) []fr.Element {
	out := make([]fr.Element, len(lv)-1)
	for h := range out {
		out[h] = lv[h][(i>>h)^1]
	}
	return out
}

func (r *rawLayer) assign() *LayerCircuit {
	s := r.s
	D, dW := int(s.D), s.WeightsDepth()
	ta, tw, to := tree(r.A, D), tree(r.W, dW), tree(r.O, D)
	rootA := commit.ShapeRoot(commit.KindActivations, r.M, int(s.K), D, ta[D][0])
	rootW := commit.ShapeRoot(commit.KindLayer, int(s.N), int(s.K), dW, tw[dW][0])
	rootO := commit.ShapeRoot(commit.KindActivations, r.M, int(s.N), D, to[D][0])
	a := NewLayerCircuit(s)
	a.InputRoot, a.WeightsRoot, a.OutputRoot = big_(rootA), big_(rootW), big_(rootO)
	if r.rootsSwap {
		a.InputRoot, a.OutputRoot = a.OutputRoot, a.InputRoot
	}
	a.Seed, a.Epilogue, a.M = big_(r.seed), r.word, r.assignedM
	a.TA, a.TW, a.TO = big_(ta[D][0]), big_(tw[dW][0]), big_(to[D][0])
	for si, smp := range commit.Samples(r.seed, int(s.Kn), r.M, int(s.N)) {
		i := smp.I
		if f, ok := r.forceRow[si]; ok {
			i = f
		}
		w := &a.Samples[si]
		fill(w.A, r.A[i])
		fill(w.ASib, siblings(ta, i))
		fill(w.W, r.W[smp.J][:len(r.W[smp.J])-1])
		w.Bias = big_(r.W[smp.J][len(r.W[smp.J])-1])
		fill(w.WSib, siblings(tw, smp.J))
		fill(w.O, r.O[i])
		fill(w.OSib, siblings(to, i))
		if r.siblingBug && si == 0 {
			w.ASib[0] = new(big.Int).Add(w.ASib[0].(*big.Int), big.NewInt(1))
		}
	}
	return a
}

func (r *rawLayer) samples() []commit.Sample {
	return commit.Samples(r.seed, int(r.s.Kn), r.M, int(r.s.N))
}

func tinyShape() Shape { s, _ := Lookup("tiny"); return s }

func isSolved(a *LayerCircuit) error {
	return test.IsSolved(NewLayerCircuit(a.shape), a, ecc.BN254.ScalarField())
}

// setOut rewrites output element (i, j) of the raw layer.
func (r *rawLayer) setOut(t *testing.T, i, j int, v int8) {
	t.Helper()
	l, err := commit.UnpackLeaf(commit.KindActivations, int(r.s.N), r.O[i])
	if err != nil {
		t.Fatal(err)
	}
	l.Row[j] = v
	r.O[i] = commit.PackRow(l.Row)
}

func TestLayerHonest(t *testing.T) {
	for seed := uint64(1); seed <= 4; seed++ {
		for _, M := range []int{1, 3, 8} {
			in := tinyInputs(t, seed, M)
			w, err := BuildWitness(in)
			if err != nil {
				t.Fatal(err)
			}
			if err := isSolved(w.Assignment); err != nil {
				t.Fatalf("seed %d M %d: %v", seed, M, err)
			}
			// The raw builder commits exactly like package commit.
			raw := rawFromInputs(t, in).assign()
			for i, v := range []frontend.Variable{raw.InputRoot, raw.WeightsRoot, raw.OutputRoot} {
				if v.(*big.Int).Cmp(w.PublicInputs[i]) != 0 {
					t.Fatalf("raw root %d differs from commit's", i)
				}
			}
		}
	}
}

func TestLayerTampered(t *testing.T) {
	base := func(t *testing.T) (*rawLayer, Inputs) {
		in := tinyInputs(t, 3, 6)
		return rawFromInputs(t, in), in
	}
	cases := map[string]func(t *testing.T, r *rawLayer, in Inputs){
		"wrong product": func(t *testing.T, r *rawLayer, _ Inputs) {
			smp := r.samples()[1]
			l, _ := commit.UnpackLeaf(commit.KindActivations, int(r.s.N), r.O[smp.I])
			v := l.Row[smp.J]
			if v == 127 {
				v--
			} else {
				v++
			}
			r.setOut(t, smp.I, smp.J, v)
		},
		"rounding half down": func(t *testing.T, r *rawLayer, in Inputs) {
			// Round-half-down differs from half-up only on exact ties: force one with s = 1.
			ep := protocol.Epilogue{Multiplier: 1, Shift: 1, ZeroPoint: 0}
			r.word = ep.Word()
			smp := r.samples()[0]
			for _, s := range r.samples() {
				la, _ := commit.UnpackLeaf(commit.KindActivations, int(r.s.K), r.A[s.I])
				lw, _ := commit.UnpackLeaf(commit.KindLayer, int(r.s.K), r.W[s.J])
				acc := int64(lw.Bias)
				for t := range la.Row {
					acc += int64(la.Row[t]) * int64(lw.Row[t])
				}
				r.setOut(t, s.I, s.J, ep.Apply(int32(acc)))
			}
			// Make sample 0's accumulator odd and near zero: bias chosen so acc = 1, whose
			// half-up rounding gives 1 and half-down 0.
			la, _ := commit.UnpackLeaf(commit.KindActivations, int(r.s.K), r.A[smp.I])
			lw, _ := commit.UnpackLeaf(commit.KindLayer, int(r.s.K), r.W[smp.J])
			dot := int64(0)
			for t := range la.Row {
				dot += int64(la.Row[t]) * int64(lw.Row[t])
			}
			r.W[smp.J] = commit.LeafLayer(lw.Row, int32(1-dot))
			for _, s := range r.samples() {
				if s.J == smp.J { // every sample of that column sees the new bias
					la, _ := commit.UnpackLeaf(commit.KindActivations, int(r.s.K), r.A[s.I])
					acc := 1 - dot
					for t := range la.Row {
						acc += int64(la.Row[t]) * int64(lw.Row[t])
					}
					r.setOut(t, s.I, s.J, ep.Apply(int32(acc)))
				}
			}
			// Sanity: the honest version of this layer is accepted...
			if err := isSolved(r.assign()); err != nil {
				t.Fatalf("honest tie layer rejected: %v", err)
			}
			// ...and the half-down output of the tie is not.
			r.setOut(t, smp.I, smp.J, 0)
		},
		"wrong opening sibling": func(t *testing.T, r *rawLayer, _ Inputs) { r.siblingBug = true },
		"byte past the row": func(t *testing.T, r *rawLayer, _ Inputs) {
			// K = 16: set byte 16 of the sampled input row; the tree commits to it.
			i := r.samples()[0].I
			var extra fr.Element
			extra.SetBigInt(new(big.Int).Lsh(big.NewInt(1), 8*16))
			r.A[i][0].Add(&r.A[i][0], &extra)
		},
		"element above 31 bytes": func(t *testing.T, r *rawLayer, _ Inputs) {
			j := r.samples()[0].J
			var extra fr.Element
			extra.SetBigInt(new(big.Int).Lsh(big.NewInt(1), 248))
			r.W[j][0].Add(&r.W[j][0], &extra)
		},
		"wrong index derivation": func(t *testing.T, r *rawLayer, _ Inputs) {
			// Open another row, whose output element is itself correct.
			r.forceRow = map[int]int{0: (r.samples()[0].I + 1) % r.M}
		},
		"swapped roots": func(t *testing.T, r *rawLayer, _ Inputs) { r.rootsSwap = true },
		"wrong M":       func(t *testing.T, r *rawLayer, _ Inputs) { r.assignedM = r.M + 1 },
		"M zero": func(t *testing.T, r *rawLayer, _ Inputs) {
			r.assignedM = 0
		},
		"bias out of range": func(t *testing.T, r *rawLayer, _ Inputs) {
			j := r.samples()[0].J
			var two32 fr.Element
			two32.SetUint64(1 << 32)
			n := len(r.W[j]) - 1
			r.W[j][n].Add(&r.W[j][n], &two32)
		},
		"accumulator overflow": func(t *testing.T, r *rawLayer, in Inputs) {
			smp := r.samples()[0]
			row := make([]int8, r.s.K)
			for t := range row {
				row[t] = 127
			}
			r.A[smp.I] = commit.PackRow(row)
			r.W[smp.J] = commit.LeafLayer(row, 1<<31-1)
			// Any claimed output: the accumulator itself is invalid.
			r.setOut(t, smp.I, smp.J, 127)
		},
		"wrong epilogue word": func(t *testing.T, r *rawLayer, in Inputs) {
			e := in.Layer.Epilogue
			e.Shift++
			r.word = e.Word()
		},
	}
	for name, tamper := range cases {
		t.Run(name, func(t *testing.T) {
			r, in := base(t)
			if err := isSolved(r.assign()); err != nil {
				t.Fatalf("honest base rejected: %v", err)
			}
			tamper(t, r, in)
			if err := isSolved(r.assign()); err == nil {
				t.Fatal("tampered witness accepted")
			}
		})
	}
}

// Prove refuses a wrong output before proving and names the sample.
func TestProveNamesWrongSample(t *testing.T) {
	in := tinyInputs(t, 5, 7)
	w, err := BuildWitness(in)
	if err != nil {
		t.Fatal(err)
	}
	smp := w.Samples[1]
	good := in.Output.At(smp.I, smp.J)
	bad := good + 1
	if good == 127 {
		bad = good - 1
	}
	in.Output = in.Output.Clone()
	in.Output.Data[smp.I*int(in.Shape.N)+smp.J] = bad
	_, err = BuildWitness(in)
	var se *SampleError
	if !errors.As(err, &se) || !errors.Is(err, ErrSample) {
		t.Fatalf("got %v, want a SampleError", err)
	}
	if se.I != smp.I || se.J != smp.J || se.Expected != good || se.Got != bad {
		t.Fatalf("error %+v does not name sample (%d, %d) expected %d got %d", se, smp.I, smp.J, good, bad)
	}
	if se.S != 1 && (w.Samples[0] != smp) {
		t.Fatalf("error names sample %d, want 1", se.S)
	}
	t.Log(err)
}

func TestBuildWitnessRejectsBadInputs(t *testing.T) {
	in := tinyInputs(t, 2, 4)
	bad := in
	bad.Seed = fr.Modulus()
	if _, err := BuildWitness(bad); !errors.Is(err, ErrInputs) {
		t.Errorf("seed = R: got %v", err)
	}
	bad = in
	bad.Shape.K = 17
	if _, err := BuildWitness(bad); !errors.Is(err, ErrInputs) {
		t.Errorf("wrong K: got %v", err)
	}
	bigIn := tinyInputs(t, 2, 9) // M = 9 > 2^3
	if _, err := BuildWitness(bigIn); !errors.Is(err, ErrInputs) {
		t.Errorf("M > 2^D: got %v", err)
	}
}
