package prover

import (
	"crypto/rand"
	"fmt"
	"time"

	"github.com/probitylabs/probity/attestation"
	"github.com/probitylabs/probity/jobs"
	"github.com/probitylabs/probity/prover/gpu"
	"github.com/probitylabs/probity/verifier/attest"
)

// A job may require hardware (jobs.Hardware: CC, GPU models, signed chips and boards, memory),
// which the buyer's SDK and every auditor check on the receipt's record. The node judges it
// before it takes the job with the auditors' own checks (attest.Policy.WithHardware) over a
// record of its GPUs collected for that purpose, once: their identity and, in CC mode, their
// evidence over a random nonce. Telemetry, staples and RIMs are not what a requirement is
// about, so the record has none and the policy asks for none.

// checkHardware refuses ("hardware") a job whose requirement the node's GPUs do not meet.
func (n *Node) checkHardware(h *jobs.Hardware) (*Refusal, error) {
	if h == nil {
		return nil, nil
	}
	canon, _ := h.Canonical()
	if n.gpu == nil {
		return refuse("hardware", "the job requires %s and the node has no GPU", canon), nil
	}
	rec, nonce, err := n.hardwareRecord()
	if err != nil {
		return nil, err
	}
	p := attest.Policy{AllowDevTools: true, AllowMissingOCSPUnsafe: true, Roots: n.deviceRoots, At: time.Now()}
	res, err := attest.VerifyRecord(rec, nonce, p.WithHardware(h))
	if err != nil {
		return nil, err
	}
	if err := res.Err(); err != nil {
		return refuse("hardware", "the job requires %s: %v", canon, err), nil
	}
	return nil, nil
}

// hardwareRecord is the record checkHardware judges, collected at the first job that states a
// requirement and kept: what the GPUs are does not change while the node runs.
func (n *Node) hardwareRecord() (*attestation.Record, [32]byte, error) {
	n.hwMu.Lock() // not n.mu: collecting asks the GPUs for reports
	defer n.hwMu.Unlock()
	if n.hwRecord != nil {
		return n.hwRecord, n.hwNonce, nil
	}
	var nonce [32]byte
	if _, err := rand.Read(nonce[:]); err != nil {
		return nil, nonce, err
	}
	rec, err := n.gpu.BuildRecord(gpu.RecordOptions{Nonce: &nonce})
	if err != nil {
		return nil, nonce, fmt.Errorf("gpu: the record a hardware requirement is judged on: %w", err)
	}
	n.hwRecord, n.hwNonce = rec, nonce
	return rec, nonce, nil
}
