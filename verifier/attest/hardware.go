package attest

import (
	"fmt"

	"github.com/probitylabs/probity/attestation"
	"github.com/probitylabs/probity/jobs"
)

// A job may state what hardware it requires (jobs.Hardware, committed to by its request). The
// requirement is a policy like any other and is checked by this package's checks, so that the
// node that takes a job, the buyer's SDK and an auditor judge it with one implementation:
// CC mode (mode), NVML models bound to the signed chip, signed chips and boards on every GPU
// (model), and the memory NVML reports (memory).

// CheckMemory names the check of Policy.MinMemoryBytes.
const CheckMemory = "memory"

// WithHardware returns a copy of p that also requires h (nil: p unchanged). Its lists replace
// p's where h gives one: a job's requirement is narrower than an auditor's general policy.
func (p Policy) WithHardware(h *jobs.Hardware) *Policy {
	if h == nil {
		return &p
	}
	p.RequireCC = p.RequireCC || h.RequireCC
	if len(h.Models) > 0 {
		p.AllowedModels = h.Models
	}
	if len(h.Chips) > 0 {
		p.AllowedChips = h.Chips
	}
	if len(h.Boards) > 0 {
		p.AllowedBoards = h.Boards
	}
	p.MinMemoryBytes = max(p.MinMemoryBytes, h.MinMemoryBytes)
	return &p
}

// checkMemory applies MinMemoryBytes to the record's NVML identity: the provider's word, as
// NVML names are in mode nvml (NVIDIA signs no memory size; a board implies one).
func checkMemory(res *Result, id *attestation.Identity, p *Policy) {
	switch {
	case p.MinMemoryBytes == 0:
		return
	case id == nil:
		res.fail(CheckMemory, fmt.Errorf("%w: policy requires %d bytes of GPU memory, the record names no GPU", ErrModelNotAllowed, p.MinMemoryBytes))
	case id.MemoryTotalBytes < p.MinMemoryBytes:
		res.fail(CheckMemory, fmt.Errorf("%w: NVML reports %d bytes of GPU memory, policy requires %d", ErrModelNotAllowed, id.MemoryTotalBytes, p.MinMemoryBytes))
	default:
		res.pass(CheckMemory)
	}
}
