package attest

import (
	"bytes"
	"errors"
	"testing"
	"time"
)

// rimCase verifies one sample's report under a policy with the given RIM files.
func rimResult(t *testing.T, sample int, p *Policy, rims ...string) *Result {
	t.Helper()
	s := samples[sample]
	for _, r := range rims {
		p.RIMs = append(p.RIMs, readFile(t, r))
	}
	res, err := VerifyReport(Evidence{Report: readHexFile(t, s.report), CertChain: readFile(t, s.chain), Nonce: nonce32(t, s.nonce), Claims: h100Claims(s.driver, s.vbios)}, p)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func wantCheck(t *testing.T, res *Result, name string, st Status, want error) {
	t.Helper()
	c, ok := res.Get(name)
	if !ok || c.Status != st || (want != nil && !errors.Is(c.Err, want)) {
		t.Errorf("%s: %+v, want %s %v", name, c, st, want)
	}
}

const (
	driverRIM2023 = "rims/Driver_RIM_test_no_gpu.swidtag"
	vbiosRIM2023  = "rims/1010_0200_882_96005E0001_test_no_gpu.swidtag"
	driverRIM550  = "rims-signed/NV_GPU_DRIVER_GH100_550.144.03.xml"
)

func TestRIMsAuthenticatedAndBound(t *testing.T) {
	// hopper-2023 with its own signed RIMs: every check passes.
	res := rimResult(t, 0, &Policy{At: sampleAt, AllowMissingOCSPUnsafe: true}, driverRIM2023, vbiosRIM2023)
	if !res.OK() {
		t.Fatal(res.Err())
	}
	wantCheck(t, res, CheckMeasurements, Passed, nil)

	t.Run("expired RIM signer", func(t *testing.T) {
		// The test RIMs' signing certificates expired on 2025-06-22.
		at := time.Date(2025, 7, 1, 0, 0, 0, 0, time.UTC)
		res := rimResult(t, 0, &Policy{At: at, AllowMissingOCSPUnsafe: true, Roots: nil}, driverRIM2023, vbiosRIM2023)
		wantCheck(t, res, "rim.driver.chain", Failed, ErrRIMChain)
		wantCheck(t, res, "rim.vbios.chain", Failed, ErrRIMChain)
	})
	t.Run("broken signature", func(t *testing.T) {
		res := rimResult(t, 1, &Policy{At: sampleAt, AllowMissingOCSPUnsafe: true}, "rims-signed/incorrect_signature_driver_rim.xml")
		wantCheck(t, res, "rim.driver.signature", Failed, ErrRIMSignature)
		wantCheck(t, res, "rim.driver.chain", Skipped, nil)
	})
	t.Run("broken chain", func(t *testing.T) {
		res := rimResult(t, 1, &Policy{At: sampleAt, AllowMissingOCSPUnsafe: true}, "rims-signed/incorrect_cert_chain_driver_rim.xml")
		// Despite its file name it is a GB100 VBIOS RIM (version 97.00.83.00.09), signed under
		// NVIDIA's debug-only root; the chain, chip and version are each caught.
		wantCheck(t, res, "rim.vbios.signature", Passed, nil)
		wantCheck(t, res, "rim.vbios.chain", Failed, ErrRIMChain)
		wantCheck(t, res, "rim.vbios.product", Failed, ErrRIMProduct)
		wantCheck(t, res, "rim.vbios.version", Failed, ErrRIMVersion)
	})
	t.Run("genuine RIM, wrong root pinned", func(t *testing.T) {
		wrong, _ := ParseCertChain(readFile(t, "rims-signed/incorrect_rim_root.crt"))
		res := rimResult(t, 1, &Policy{At: sampleAt, AllowMissingOCSPUnsafe: true, RIMRoots: wrong}, driverRIM550)
		wantCheck(t, res, "rim.driver.signature", Passed, nil)
		wantCheck(t, res, "rim.driver.chain", Failed, ErrRIMChain)
	})
	t.Run("driver RIM for another version", func(t *testing.T) {
		// A genuine 550.144.03 RIM against a report from driver 550.90.07.
		res := rimResult(t, 1, &Policy{At: sampleAt, AllowMissingOCSPUnsafe: true}, driverRIM550)
		wantCheck(t, res, "rim.driver.signature", Passed, nil)
		wantCheck(t, res, "rim.driver.chain", Passed, nil)
		wantCheck(t, res, "rim.driver.product", Passed, nil)
		wantCheck(t, res, "rim.driver.version", Failed, ErrRIMVersion)
		wantCheck(t, res, CheckRIMSet, Failed, ErrRIMSet) // and no VBIOS RIM
	})
	t.Run("VBIOS RIM for another VBIOS", func(t *testing.T) {
		// hopper-2025 runs VBIOS 96.00.9f.00.01; the RIM is for 96.00.5E.00.01.
		res := rimResult(t, 1, &Policy{At: sampleAt, AllowMissingOCSPUnsafe: true}, "rims-signed/NV_GPU_VBIOS_1010_0200_882_96005E0001_measurement_mismatch.xml", driverRIM550)
		wantCheck(t, res, "rim.vbios.signature", Passed, nil)
		wantCheck(t, res, "rim.vbios.version", Failed, ErrRIMVersion)
	})
	t.Run("altered measurements for hopper-535", func(t *testing.T) {
		res := rimResult(t, 2, &Policy{At: sampleAt, AllowMissingOCSPUnsafe: true}, "rims-signed/NV_GPU_DRIVER_GH100_535.86.09_measurement_mismatch.xml", "rims-signed/NV_GPU_VBIOS_1010_0200_882_96005E0001_measurement_mismatch.xml")
		wantCheck(t, res, "rim.driver.version", Passed, nil)
		wantCheck(t, res, "rim.vbios.version", Passed, nil)
		wantCheck(t, res, CheckMeasurements, Failed, ErrMeasurement)
		// The altered driver RIM's signature no longer covers it.
		wantCheck(t, res, "rim.driver.signature", Failed, ErrRIMSignature)
	})
	t.Run("switch RIM for a GPU", func(t *testing.T) {
		res := rimResult(t, 1, &Policy{At: time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)}, "switch/switchVBIOSRim_NV_SWITCH_BIOS_5612_0002_890_9610550001.xml")
		wantCheck(t, res, "rim.vbios.product", Failed, ErrRIMProduct)
	})
	t.Run("two driver RIMs", func(t *testing.T) {
		res := rimResult(t, 0, &Policy{At: sampleAt, AllowMissingOCSPUnsafe: true}, driverRIM2023, driverRIM2023, vbiosRIM2023)
		wantCheck(t, res, CheckRIMSet, Failed, ErrRIMSet)
	})
	t.Run("required", func(t *testing.T) {
		res := rimResult(t, 0, &Policy{At: sampleAt, AllowMissingOCSPUnsafe: true, RequireRIMs: true})
		wantCheck(t, res, CheckRIMSet, Failed, ErrRIMSet)
		wantCheck(t, res, CheckMeasurements, Failed, ErrRIMSet)
		res = rimResult(t, 0, &Policy{At: sampleAt, AllowMissingOCSPUnsafe: true})
		wantCheck(t, res, CheckMeasurements, Skipped, nil)
	})
	t.Run("unsigned opt-out", func(t *testing.T) {
		res := rimResult(t, 1, &Policy{At: sampleAt, AllowMissingOCSPUnsafe: true, AllowUnsignedRIMsUnsafe: true}, "rims-signed/incorrect_signature_driver_rim.xml")
		wantCheck(t, res, "rim.driver.signature", Skipped, nil)
	})
}

// TestRIMGoldenValuesFromSignedBytes: a value that the file shows but the signature does not
// cover cannot reach the comparison. A comment is not signed content, so the file stays
// validly signed; a second Payload written inside a comment must not be read.
func TestRIMGoldenValuesFromSignedBytes(t *testing.T) {
	b := readFile(t, vbiosRIM2023)
	i := bytes.Index(b, []byte("<ns0:Payload"))
	forged := append(append(bytes.Clone(b[:i]), []byte("<!-- <ns0:Payload></ns0:Payload> -->")...), b[i:]...)
	signed, err := VerifyRIM(forged)
	if err != nil {
		t.Fatal(err)
	}
	plain, _ := ParseRIM(b)
	if len(signed.Measurements) != len(plain.Measurements) || signed.Version != plain.Version {
		t.Fatal("signed parse differs")
	}
	if _, err := VerifyRIM(bytes.Replace(b, []byte(`index="9" active="True"`), []byte(`index="9" active="False"`), 1)); !errors.Is(err, ErrRIMSignature) {
		t.Fatalf("deactivated measurement: %v", err)
	}
}

func TestRIMKind(t *testing.T) {
	for v, k := range map[string]RIMKind{"550.144.03": RIMDriver, "96.00.5E.00.01": RIMVBIOS, "545.00": RIMDriver, "96.10.55.00.01": RIMVBIOS, "1.2.3.4.5": RIMDriver} {
		if got := (&RIM{Version: v}).Kind(); got != k {
			t.Errorf("%s: %s, want %s", v, got, k)
		}
	}
}

func TestEmbeddedRIMRootIsTestdataRoot(t *testing.T) {
	for _, f := range []string{"rims-signed/rim_root.crt", "roots/verifier_RIM_root.pem"} {
		c, err := ParseCertChain(readFile(t, f))
		if err != nil || !bytes.Equal(c[0].Raw, NVIDIARIMRoot().Raw) {
			t.Fatalf("%s differs from the embedded RIM root: %v", f, err)
		}
	}
}

func FuzzVerifyRIM(f *testing.F) {
	f.Add(readFile(f, driverRIM550))
	f.Add(readFile(f, vbiosRIM2023))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := VerifyRIM(b)
		if err != nil {
			if !errors.Is(err, ErrRIMSignature) && !errors.Is(err, ErrMalformedRIM) {
				t.Fatalf("error %v wraps neither ErrRIMSignature nor ErrMalformedRIM", err)
			}
			return
		}
		if len(r.Certificates) == 0 || len(r.Measurements) == 0 {
			t.Fatal("verified RIM without signer or measurements")
		}
	})
}
