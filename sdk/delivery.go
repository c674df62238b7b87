package sdk

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/probitylabs/probity/jobs"
	"github.com/probitylabs/probity/model"
	"github.com/probitylabs/probity/tensor"
)

// CheckDelivery checks a delivered generation before the dApp uses it: the trace and result
// files in dir (trace.safetensors, result.safetensors) against the buyer's own job and model
// file (never a job or model from the delivery, which the provider wrote). It checks both
// files' rules, the input rows and every token against the trace's logits, and recomputes every
// row of every op from the trace with the reference ops: one falsified row can change a token,
// so a sampled recheck would not protect the buyer (specs/trace.md §7). Its roots are what the
// provider's receipt must state.
func CheckDelivery(modelPath string, job *jobs.GenJob, dir string) (*jobs.Generated, error) {
	m, err := model.ReadFile(modelPath)
	if err != nil {
		return nil, err
	}
	c, err := job.Check(m)
	if err != nil {
		return nil, err
	}
	tracePath := filepath.Join(dir, jobs.TraceFile)
	if err := checkTraceRows(tracePath, m, job.Rows()); err != nil {
		return nil, err
	}
	tb, err := os.ReadFile(tracePath)
	if err != nil {
		return nil, err
	}
	rb, err := os.ReadFile(filepath.Join(dir, jobs.ResultFile))
	if err != nil {
		return nil, err
	}
	g, err := c.Verify(tb, rb, nil)
	if err != nil {
		return nil, fmt.Errorf("delivered generation in %s: %w", dir, err)
	}
	return g, nil
}

// checkTraceRows reads only the trace file's header and refuses a trace whose input tensor
// declares another number of rows than the job's: the whole file (rows times every op's width)
// is read, and every op recomputed, only for a trace that can be this job's.
func checkTraceRows(path string, m *model.Model, rows int) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	h, err := tensor.ReadHeader(f)
	if err != nil {
		return fmt.Errorf("%w: %s: %v", jobs.ErrFile, path, err)
	}
	in, err := h.Lookup(m.Input.Name)
	if err != nil {
		return fmt.Errorf("%w: %s: %v", jobs.ErrFile, path, err)
	}
	if len(in.Shape) != 1 || in.Shape[0] != rows {
		return fmt.Errorf("%w: %s declares an input of shape %v in its header, the job has %d rows (prompt + new tokens - 1): not loaded", jobs.ErrFile, path, in.Shape, rows)
	}
	return nil
}
