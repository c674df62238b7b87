package prover

import (
	"crypto/x509"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/probitylabs/probity/attestation"
	"github.com/probitylabs/probity/prover/gpu"
	"github.com/probitylabs/probity/verifier/attest"
)

// The RIMs an auditor compares a report with are signed by NVIDIA's RIM signers, whose chains it
// checks for revocation from the record's staples as it does the GPU's (spec §9.4 step 11,
// rim.<kind>.revocation). Only the provider can staple at job time, so a node given its GPU's
// driver and VBIOS RIMs (gpu.rims, NVIDIA's signed XML for exactly the versions it runs) asks
// about their signers' chains too. They are checked when the node starts, as an auditor checks
// them: a RIM whose signature or chain does not verify, a second RIM of one kind, or a version
// the GPU does not run would only make every receipt's audit fail; and every record's reports
// are compared with their golden values before the record is committed, for the same reason.

// loadRIMs reads and checks the node's RIM files against the GPU's NVML identity and returns
// them with the OCSP requests for their signers' chains (every certificate but the root).
func loadRIMs(paths []string, id attestation.Identity, roots []*x509.Certificate, now time.Time) ([]gpu.StapleRequest, []*attest.RIM, error) {
	if len(roots) == 0 {
		roots = []*x509.Certificate{attest.NVIDIARIMRoot()}
	}
	var reqs []gpu.StapleRequest
	var rims []*attest.RIM
	seen := map[attest.RIMKind]string{}
	for _, p := range paths {
		b, err := readBounded(p, attest.MaxRIMSize)
		if err != nil {
			return nil, nil, err
		}
		r, err := attest.VerifyRIM(b)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", p, err)
		}
		if err := attest.VerifyChain(r.Certificates, roots, now); err != nil {
			return nil, nil, fmt.Errorf("%s: %w: %w", p, attest.ErrRIMChain, err)
		}
		k := r.Kind()
		if other, dup := seen[k]; dup {
			return nil, nil, fmt.Errorf("%s: a second %s RIM (the first is %s): an auditor needs one of each", p, k, other)
		}
		seen[k] = p
		want := id.DriverVersion
		if k == attest.RIMVBIOS {
			want = id.VBIOSVersion
		}
		if !strings.EqualFold(r.Version, want) {
			return nil, nil, fmt.Errorf("%s: %w: %s RIM %s, the GPU runs %q", p, attest.ErrRIMVersion, k, r.Version, want)
		}
		rq, err := gpu.CertStapleRequests(r.Certificates, 0, roots...)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", p, err)
		}
		reqs, rims = append(reqs, rq...), append(rims, r)
	}
	return reqs, rims, nil
}

// checkMeasurements compares every GPU report of a CC record (cc.report and cc.gpus) with the
// golden values of the node's RIMs, as an auditor holding them does (spec §9.4 step 11): a GPU
// whose firmware is not the one NVIDIA signed for would fail every such audit.
func checkMeasurements(rec *attestation.Record, rims []*attest.RIM) error {
	if len(rims) == 0 || rec.CC == nil || len(rec.CC.Report) == 0 {
		return nil
	}
	reports := []attestation.Hex{rec.CC.Report}
	for _, g := range rec.CC.GPUs {
		reports = append(reports, g.Report)
	}
	for i, b := range reports {
		rep, err := attest.ParseReport(b)
		if err == nil {
			err = attest.CompareMeasurements(rep, rims)
		}
		if err != nil {
			name := "cc.report"
			if i > 0 {
				name = fmt.Sprintf("cc.gpus[%d]", i-1)
			}
			return fmt.Errorf("%s against gpu.rims: %w", name, err)
		}
	}
	return nil
}

func readBounded(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%s: larger than %d bytes", path, limit)
	}
	return b, nil
}
