package ops_test

import (
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/probitylabs/probity/internal/testenv"
	"github.com/probitylabs/probity/ops/opsvec"
)

var vectorsPath = filepath.Join("..", "testdata", "vectors", "ops.json")

func loadCases(t testing.TB) []opsvec.Case {
	t.Helper()
	b, err := os.ReadFile(vectorsPath)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Cases []opsvec.Case `json:"cases"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	return doc.Cases
}

// TestVectors re-runs every case of ops.json through the reference and checks its class, the
// element it names and its output, and that every op has a valid case and an error case.
func TestVectors(t *testing.T) {
	cases := loadCases(t)
	valid, invalid := map[string]int{}, map[string]int{}
	for n, c := range cases {
		expect, at, out, err := opsvec.Run(&c)
		if err != nil {
			t.Fatalf("case %d (%s): %v", n, c.Note, err)
		}
		if expect != c.Expect || !reflect.DeepEqual(at, c.At) || !reflect.DeepEqual(out, c.Output) {
			t.Errorf("case %d (%s: %s): got %s at %v, file has %s at %v (outputs equal: %v)",
				n, c.Op, c.Note, expect, at, c.Expect, c.At, reflect.DeepEqual(out, c.Output))
		}
		if c.Expect == opsvec.OK {
			valid[c.Op]++
		} else {
			invalid[c.Op]++
		}
	}
	for _, op := range []string{"linear", "matmul", "softmax", "layernorm", "rmsnorm", "lut", "add", "mul", "embed", "argmax", "sample"} {
		if valid[op] == 0 || invalid[op] == 0 {
			t.Errorf("op %s has %d valid and %d error cases; want both", op, valid[op], invalid[op])
		}
	}
}

// TestNumPyReference runs the independent NumPy implementation (tools/ops_ref.py), which must
// reproduce ops.json byte for byte from specs/ops.md alone.
func TestNumPyReference(t *testing.T) {
	py := testenv.NumPy(t)
	cmd := exec.Command(py, filepath.Join("..", "tools", "ops_ref.py"), vectorsPath)
	out, err := cmd.CombinedOutput()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			t.Fatalf("tools/ops_ref.py disagrees with ops.json:\n%s", out)
		}
		t.Fatal(err)
	}
	if !strings.Contains(string(out), "byte for byte") {
		t.Fatalf("unexpected ops_ref.py output:\n%s", out)
	}
	t.Log(strings.TrimSpace(string(out)))
}

// FuzzRunCase parses arbitrary case JSON and runs it: whatever the shapes and parameters, an
// op must return an output or a classified error, never panic or leave its class unnamed, and
// an ok output must be of the dtype and range the spec gives.
func FuzzRunCase(f *testing.F) {
	for _, c := range loadCases(f) {
		b, err := json.Marshal(c)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var c opsvec.Case
		if json.Unmarshal(b, &c) != nil {
			return
		}
		expect, at, out, err := opsvec.Run(&c)
		if err != nil {
			if strings.Contains(err.Error(), "unclassified") {
				t.Fatal(err)
			}
			return // a malformed case (unknown op, missing input), not an op result
		}
		switch expect {
		case opsvec.OK:
			if out == nil || at != nil {
				t.Fatalf("ok without output or with an element: %v %v", out, at)
			}
			for _, v := range out.Data {
				if out.Dtype == "I8" && (v < -128 || v > 127) {
					t.Fatalf("int8 output %d out of range", v)
				}
			}
		case opsvec.Overflow, opsvec.Token:
			if at == nil || out != nil {
				t.Fatalf("%s must name its element and have no output", expect)
			}
		case opsvec.Shape, opsvec.Param:
			if at != nil || out != nil {
				t.Fatalf("%s has an element or an output", expect)
			}
		default:
			t.Fatalf("unknown class %q", expect)
		}
	})
}
