package prover

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/probitylabs/probity/attestation"
	"github.com/probitylabs/probity/verifier/attest"
)

// TestLoadRIMs checks gpu.rims as an auditor would, on NVIDIA's signed RIMs and their broken
// twins (testdata/nvidia/PROVENANCE.md): a genuine RIM for the version the GPU runs gives the
// OCSP requests for its signer's chain from the signer up, root excluded; a broken signature,
// a chain to another root, another version and a second RIM of one kind are refused, naming
// the file.
func TestLoadRIMs(t *testing.T) {
	nv := func(name string) string { return filepath.Join("..", "testdata", "nvidia", name) }
	const good = "rims-signed/NV_GPU_DRIVER_GH100_550.144.03.xml"
	id := attestation.Identity{DriverVersion: "550.144.03", VBIOSVersion: "96.00.5e.00.01"}
	at := time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)
	reqs, _, err := loadRIMs([]string{nv(good)}, id, nil, at)
	if err != nil {
		t.Fatal(err)
	}
	if len(reqs) == 0 || reqs[0].Cert == nil || attest.IsSelfSigned(reqs[len(reqs)-1].Cert) {
		t.Fatalf("%d requests for the signer's chain", len(reqs))
	}
	t.Logf("%d certificates to staple for the driver RIM's signer, first %q", len(reqs), reqs[0].Subject)
	for name, c := range map[string]struct {
		files []string
		id    attestation.Identity
		want  error
	}{
		"broken signature": {[]string{"rims-signed/incorrect_signature_driver_rim.xml"}, id, attest.ErrRIMSignature},
		"debug root":       {[]string{"rims-signed/incorrect_cert_chain_driver_rim.xml"}, id, attest.ErrRIMChain},
		"other driver":     {[]string{good}, attestation.Identity{DriverVersion: "550.90.07"}, attest.ErrRIMVersion},
		"other VBIOS":      {[]string{"rims/1010_0200_882_96005E0001_test_no_gpu.swidtag"}, attestation.Identity{VBIOSVersion: "96.00.9F.00.01"}, attest.ErrRIMVersion},
		"two drivers":      {[]string{good, good}, id, nil},
	} {
		var files []string
		for _, f := range c.files {
			files = append(files, nv(f))
		}
		_, _, err := loadRIMs(files, c.id, nil, at)
		if err == nil || (c.want != nil && !errors.Is(err, c.want)) || !strings.Contains(err.Error(), filepath.Base(c.files[len(c.files)-1])) {
			t.Errorf("%s: %v, want %v naming the file", name, err, c.want)
		}
	}
}
