package jobs

import (
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum/common/hexutil"

	"github.com/probitylabs/probity/internal/testenv"
	"github.com/probitylabs/probity/model"
)

const traceVectorsPath = "../testdata/vectors/trace.json"

type traceVector struct {
	Name, Note, Model, Job, Expect, Trace, Result string
	Tokens                                        []int32
	RowRoots, ColumnRoots                         []string
	JobDigest, TraceRoot, ResultDigest            string
}

func loadTraceVectors(t testing.TB) []traceVector {
	t.Helper()
	b, err := os.ReadFile(traceVectorsPath)
	if err != nil {
		t.Fatal(err)
	}
	var f struct{ Cases []traceVector }
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	return f.Cases
}

// TestTraceVectors re-derives every case of trace.json from its model and job files: files,
// tokens, roots, trace root and digest for valid jobs, the error class for the others.
func TestTraceVectors(t *testing.T) {
	cases := loadTraceVectors(t)
	seen := map[string]int{}
	for _, c := range cases {
		seen[c.Expect]++
		m, err := model.Parse(hexutil.MustDecode(c.Model))
		if err != nil {
			t.Fatalf("%s: model: %v", c.Name, err)
		}
		j, err := ParseJob(hexutil.MustDecode(c.Job))
		if c.Expect == "file" {
			if !errors.Is(err, ErrFile) {
				t.Errorf("%s: %v, want ErrFile", c.Name, err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: job: %v", c.Name, err)
		}
		tr, tokens, err := Generate(m, j)
		if c.Expect == "invalid" {
			if !errors.Is(err, ErrInvalidJob) {
				t.Errorf("%s: %v, want ErrInvalidJob", c.Name, err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", c.Name, err)
		}
		tb, _ := EncodeTrace(m, tr)
		rb, _ := EncodeResult(tokens)
		if hexutil.Encode(tb) != c.Trace || hexutil.Encode(rb) != c.Result {
			t.Errorf("%s: trace or result file differs from the vector", c.Name)
		}
		g, err := mustCheck(t, m, j).Verify(tb, rb, nil)
		if err != nil {
			t.Fatalf("%s: %v", c.Name, err)
		}
		if g.JobDigest.String() != c.JobDigest || g.TraceRoot.String() != c.TraceRoot || g.ResultDigest.String() != c.ResultDigest {
			t.Errorf("%s: trace root or result digest differs", c.Name)
		}
		for id, r := range g.Roots {
			if r.Row.String() != c.RowRoots[id] || r.Col.String() != c.ColumnRoots[id] {
				t.Errorf("%s: tensor %d's roots differ", c.Name, id)
			}
		}
	}
	if seen["ok"] < 3 || seen["invalid"] < 5 || seen["file"] < 1 {
		t.Errorf("vector classes %v: want valid, invalid and file cases", seen)
	}
}

// TestNumPyExecutorVectors runs the independent NumPy executor (tools/model_ref.py) over
// trace.json: it must write every valid case's trace and result byte for byte and refuse the
// others.
func TestNumPyExecutorVectors(t *testing.T) {
	py := testenv.NumPy(t)
	out, err := exec.Command(py, filepath.Join("..", "tools", "model_ref.py"), "--vectors", traceVectorsPath).CombinedOutput()
	if err != nil {
		t.Fatalf("tools/model_ref.py --vectors: %v\n%s", err, out)
	}
	t.Log(strings.TrimSpace(string(out)))
}
