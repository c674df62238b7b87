package sdk

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/probitylabs/probity/jobs"
	"github.com/probitylabs/probity/model"
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
	tb, err := os.ReadFile(filepath.Join(dir, jobs.TraceFile))
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
