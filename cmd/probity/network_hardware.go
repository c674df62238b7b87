package main

import (
	"flag"
	"fmt"

	"github.com/probitylabs/probity/jobs"
)

// hardwareFlags are ask's flags for the hardware a job requires (specs/trace.md §1.4): they go
// into the job file, the request's salt commits to them, providers whose GPUs do not meet them
// refuse the job, and the buyer's receipt check requires the record's evidence to meet them.
type hardwareFlags struct {
	cc                    *bool
	models, chips, boards stringList
	memoryGiB             *uint64
}

const hardwareSynopsis = "[--require-cc] [--gpu-model NAME] [--gpu-chip CHIP] [--gpu-board BOARD] [--gpu-memory-gib N]"

func addHardwareFlags(fs *flag.FlagSet) *hardwareFlags {
	h := &hardwareFlags{
		cc:        fs.Bool("require-cc", false, "require a GPU in confidential-computing mode (a GPU-signed report)"),
		memoryGiB: fs.Uint64("gpu-memory-gib", 0, "require at least `N` GiB of GPU memory (as NVML reports it: unsigned; a board implies it)"),
	}
	fs.Var(&h.models, "gpu-model", "require this NVML GPU `name` (repeatable: any of them), e.g. \"NVIDIA H100 80GB HBM3\"")
	fs.Var(&h.chips, "gpu-chip", "require this `chip` as the GPU's signed certificate chain names it, e.g. GH100 (repeatable)")
	fs.Var(&h.boards, "gpu-board", "require this `board` as the GPU's signed report names it, PROJECT_PROJECTSKU_CHIPSKU, e.g. 1010_0200_882 (repeatable)")
	return h
}

// requirement is the job's hardware requirement, nil when the flags ask for nothing.
func (h *hardwareFlags) requirement() (*jobs.Hardware, error) {
	if *h.memoryGiB > (1<<53-1)>>30 {
		return nil, usageError{fmt.Sprintf("--gpu-memory-gib %d: at most %d", *h.memoryGiB, uint64(1<<53-1)>>30)}
	}
	r := &jobs.Hardware{RequireCC: *h.cc, Models: h.models, Chips: h.chips, Boards: h.boards, MinMemoryBytes: *h.memoryGiB << 30}
	r.Normalize()
	if r.IsZero() {
		return nil, nil
	}
	if err := r.Validate(); err != nil {
		return nil, usageError{"--gpu-*: " + err.Error()}
	}
	return r, nil
}
