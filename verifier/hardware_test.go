package verifier

import (
	"crypto/x509"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/probitylabs/probity/attestation"
	"github.com/probitylabs/probity/jobs"
	"github.com/probitylabs/probity/model"
	"github.com/probitylabs/probity/prover/gpu"
	"github.com/probitylabs/probity/prover/gpu/gputest"
	"github.com/probitylabs/probity/receipt"
	"github.com/probitylabs/probity/verifier/attest"
)

// requiring re-states the receipt's job with hardware requirement h and a request salt that
// commits to it (commit false: the vector's salt, which does not), re-signed by the node key.
// The request's hash, and so the job id check, no longer match the vector: only the job and
// attestation checks are asserted.
func requiring(t *testing.T, rc *receipt.Receipt, h *jobs.Hardware, commit bool) *receipt.Receipt {
	t.Helper()
	j, err := jobs.ParseJob(rc.Job)
	require.NoError(t, err)
	j.Hardware, j.HardwareNonce = h, [32]byte{7}
	rc.Job, err = jobs.EncodeJob(j)
	require.NoError(t, err)
	if commit {
		rc.Request.Salt, err = h.Salt(j.HardwareNonce)
		require.NoError(t, err)
	}
	require.NoError(t, rc.Sign(vectorNodeKey))
	return rc
}

// TestAuditHardwareRequirement: a receipt whose job states a hardware requirement is audited
// against it, from the record's evidence: an NVML record fails a CC requirement and a memory
// minimum above what NVML reports, and passes models and memory it meets; a CC record from a
// replayed H100 passes its signed board and fails another; a requirement the request's salt
// does not commit to fails the job check (a provider cannot swap in one it meets).
func TestAuditHardwareRequirement(t *testing.T) {
	nvml := func(t *testing.T) (*receipt.Receipt, Policy, *model.Model) {
		return withRecord(t, recordFrom(t, "h100-sxm-cc-off.json", nil))
	}
	for name, c := range map[string]struct {
		h    jobs.Hardware
		want string // "" passes
	}{
		"cc":           {jobs.Hardware{RequireCC: true}, "confidential"},
		"memory":       {jobs.Hardware{MinMemoryBytes: 1 << 40}, "memory"},
		"model, 64GiB": {jobs.Hardware{Models: []string{"NVIDIA H100 80GB HBM3"}, MinMemoryBytes: 64 << 30}, ""},
		"other model":  {jobs.Hardware{Models: []string{"NVIDIA H200"}}, "not allowed"},
		"board":        {jobs.Hardware{Boards: []string{"1010_0200_882"}}, "no verified CC evidence"},
	} {
		t.Run(name, func(t *testing.T) {
			rc, pol, m := nvml(t)
			r := mustAudit(t, requiring(t, rc, &c.h, true), pol, Options{Model: m})
			require.Equal(t, Pass, r.Check(CheckJob).Status, "%v", r.Check(CheckJob).Err)
			err := attestationErr(t, r)
			if c.want == "" {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			require.Contains(t, err.Error(), c.want)
		})
	}
	t.Run("salt does not commit", func(t *testing.T) {
		rc, pol, m := nvml(t)
		r := mustAudit(t, requiring(t, rc, &jobs.Hardware{MinMemoryBytes: 1}, false), pol, Options{Model: m})
		require.Equal(t, Fail, r.Check(CheckJob).Status)
		require.Contains(t, r.Check(CheckJob).Err.Error(), "does not commit")
	})
	t.Run("buyer's requirement, stripped from the receipt", func(t *testing.T) {
		// The job digest does not cover the requirement, so a provider may deliver the job
		// file without it; the buyer (sdk.Client.Receipt) audits with its own requirement.
		rc, pol, m := nvml(t)
		r := mustAudit(t, rc, pol, Options{Model: m, Attestation: &Records{Hardware: &jobs.Hardware{RequireCC: true}}})
		require.Equal(t, Pass, r.Check(CheckJob).Status)
		require.ErrorContains(t, attestationErr(t, r), "confidential")
	})
	t.Run("signed board", func(t *testing.T) {
		b, _, _ := vector(t)
		rc0, err := receipt.Parse(b)
		require.NoError(t, err)
		nonce := rc0.Nonce()
		sys := gputest.ReplayCC(t, "../testdata/gpu/h100-sxm-cc-on.json", 1, "")
		rec, err := sys.Collector(t).BuildRecord(gpu.RecordOptions{Nonce: &nonce, RequireCC: true})
		require.NoError(t, err)
		v := &Records{Roots: []*x509.Certificate{sys.Devices[0].Root.Cert}, AllowMissingOCSPUnsafe: true}
		for board, ok := range map[string]bool{boardOf(t, rec): true, "1010_0205_862": false} {
			rc, pol, m := withRecord(t, rec)
			r := mustAudit(t, requiring(t, rc, &jobs.Hardware{RequireCC: true, Boards: []string{board}}, true), pol, Options{Model: m, Attestation: v})
			err := attestationErr(t, r)
			if ok {
				require.NoError(t, err, board)
			} else {
				require.ErrorIs(t, err, attest.ErrModelNotAllowed, board)
			}
		}
	})
}

func boardOf(t *testing.T, rec *attestation.Record) string {
	t.Helper()
	rep, err := attest.ParseReport(rec.CC.Report)
	require.NoError(t, err)
	b, ok := rep.Board()
	require.True(t, ok)
	require.True(t, strings.Contains(b, "_"))
	return b
}
